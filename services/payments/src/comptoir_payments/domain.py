"""Pure payment rules: the payment state machine, Stripe idempotency keys, request shapes.

No I/O here. Where a reservation's payment changes state, the decision is made by one of
the functions below; ``service.py`` only loads, applies and saves.

States::

    PENDING ──(PaymentIntent created)──> REQUIRES_PAYMENT ──(succeeded)──> SUCCEEDED
       │                                   │        ▲                        (final)
       │                                   (failed) │(succeeded: paid with another card)
       │                                   ▼        │
       ├──(no usable account / refused)──> FAILED ──┘
       └──(hold released)──> CANCELED ──(succeeded: paid as the hold ended)──> SUCCEEDED

A SUCCEEDED payment never changes again: money that Stripe says was taken is never
forgotten, whatever arrives later or twice. A late success after a cancellation is
still recorded (and announced) so that booking can confirm or refund it.

Refunds (one per cancellation of a paid reservation)::

    PENDING ──(Stripe: succeeded)──> SUCCEEDED ──(Stripe: failed, the bank sent it back)──┐
       │                                                                                  ▼
       └──────(Stripe: failed or canceled, or a definitive refusal)─────────────────> FAILED

FAILED never changes again; SUCCEEDED only becomes FAILED when Stripe says so (a card
refund can fail days after it succeeded: the bank returns it). Nothing goes back to PENDING.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from comptoir_common.money import fee_cents


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    REQUIRES_PAYMENT = "REQUIRES_PAYMENT"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class RefundStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PayoutStatus(StrEnum):
    PAID = "PAID"
    FAILED = "FAILED"


StripeOutcome = Literal["succeeded", "failed"]

#: Stripe event types this service acts on; any other verified event is acknowledged.
PAYMENT_SUCCEEDED = "payment_intent.succeeded"
PAYMENT_FAILED = "payment_intent.payment_failed"
ACCOUNT_UPDATED = "account.updated"
OUTCOME_OF_EVENT: dict[str, StripeOutcome] = {
    PAYMENT_SUCCEEDED: "succeeded",
    PAYMENT_FAILED: "failed",
}
#: Events whose object is a Refund (on the provider's connected account). ``refund.created``
#: tells us Stripe's id even when its answer to our request was lost.
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
#: Payouts of a provider's balance to their bank (events of the connected account).
PAYOUT_EVENTS: dict[str, PayoutStatus] = {
    "payout.paid": PayoutStatus.PAID,
    "payout.failed": PayoutStatus.FAILED,
}


def account_requirements(account: dict[str, Any]) -> dict[str, Any]:
    """What a connected account object says Stripe still needs, and why it cannot charge."""
    requirements = account.get("requirements")
    if not isinstance(requirements, dict):
        return {"disabled_reason": None, "requirements_due": []}
    due: list[str] = []
    for key in ("past_due", "currently_due"):
        items = requirements.get(key)
        if isinstance(items, list):
            due += [str(i) for i in items if isinstance(i, str) and str(i) not in due]
    reason = requirements.get("disabled_reason")
    return {
        "disabled_reason": str(reason)[:255] if isinstance(reason, str) and reason else None,
        "requirements_due": due[:50],
    }


#: A visitor's bank disputes a charge (events of the provider's connected account).
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)
#: Stripe's dispute statuses that end a dispute: nothing changes it afterwards.
DISPUTE_FINAL_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})
DISPUTE_STATUSES = DISPUTE_FINAL_STATUSES | {
    "warning_needs_response",
    "warning_under_review",
    "needs_response",
    "under_review",
}


def after_dispute_event(current: str | None, reported: str) -> str | None:
    """A dispute's Stripe status after an event reports ``reported``; None: unchanged.

    A closed dispute (won, lost...) stays closed, so a late or replayed
    ``charge.dispute.created`` or ``updated`` never reopens it.
    """
    if reported not in DISPUTE_STATUSES or current == reported:
        return None
    if current in DISPUTE_FINAL_STATUSES:
        return None
    return reported


def dispute_takes_funds(status: str) -> bool:
    """Whether Stripe took the disputed amount from the provider's balance.

    Inquiries (``warning_*``) and prevented disputes take nothing; any real dispute
    takes the amount when it opens, and gives it back only when it is won.
    """
    return not status.startswith("warning_") and status != "prevented"


CHECKOUT_COMPLETED = "checkout.session.completed"


def return_page_allowed(url: str, allowed_origins: Sequence[str]) -> bool:
    """Whether ``url`` is a page of one of ``allowed_origins`` (scheme, host and, when the
    entry has one, port); an entry without a port allows any port of its host."""
    page = urlsplit(url)
    if page.scheme not in ("http", "https") or not page.hostname or page.username:
        return False
    for origin in allowed_origins:
        allowed = urlsplit(origin)
        if (allowed.scheme, allowed.hostname) != (page.scheme, page.hostname):
            continue
        if allowed.port is None or allowed.port == page.port:
            return True
    return False


def application_fee(total_cents: int, fee_rate_bps: int) -> int:
    """The territory's visible office fee on a payment (0 by default: no commission)."""
    return fee_cents(total_cents, fee_rate_bps)


def after_stripe_outcome(current: PaymentStatus, outcome: StripeOutcome) -> PaymentStatus | None:
    """The status after a verified Stripe payment outcome, or None when nothing changes."""
    if current == PaymentStatus.SUCCEEDED:
        return None
    if outcome == "succeeded":
        if current == PaymentStatus.PENDING:
            # We never handed out this PaymentIntent: the caller rejects it as a mismatch.
            return None
        return PaymentStatus.SUCCEEDED
    if current == PaymentStatus.REQUIRES_PAYMENT:
        return PaymentStatus.FAILED
    return None


@dataclass(frozen=True)
class ReleaseDecision:
    status: PaymentStatus | None
    cancel_at_stripe: bool


def after_hold_released(current: PaymentStatus, has_payment_intent: bool) -> ReleaseDecision:
    """A released hold cancels whatever has not been paid, at Stripe too if an intent exists."""
    if current in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED):
        return ReleaseDecision(status=None, cancel_at_stripe=False)
    return ReleaseDecision(status=PaymentStatus.CANCELED, cancel_at_stripe=has_payment_intent)


def is_payable(status: PaymentStatus, payment_intent_id: str | None) -> bool:
    """Whether the visitor may still (re)try paying: an intent exists and the hold stands."""
    return payment_intent_id is not None and status in (
        PaymentStatus.REQUIRES_PAYMENT,
        PaymentStatus.FAILED,
    )


# --- refunds -----------------------------------------------------------------------------

#: Our refund ids are derived (uuid5) from what asked for them: one cancellation, one refund.
_REFUND_NAMESPACE = uuid.UUID("5b0d3f8e-6c1a-4f2e-9b7d-0c6a2e4f1d93")


def cancellation_refund_key(reservation_id: uuid.UUID) -> str:
    """What makes a refund unique: a reservation is cancelled (and refunded) once."""
    return f"cancellation:{reservation_id}"


def refund_id_for(request_key: str) -> uuid.UUID:
    return uuid.uuid5(_REFUND_NAMESPACE, request_key)


def refund_amount(requested_cents: int, paid_cents: int, already_refunded_cents: int) -> int:
    """What can go back: what was asked, never more than what is left of the payment."""
    return max(0, min(requested_cents, paid_cents - already_refunded_cents))


#: Stripe's refund statuses that end it; ``pending`` and ``requires_action`` do not.
_FINAL_AT_STRIPE: dict[str, RefundStatus] = {
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


def after_refund_outcome(current: RefundStatus, stripe_status: str) -> RefundStatus | None:
    """The refund's status after Stripe reports ``stripe_status``, or None when unchanged."""
    new = _FINAL_AT_STRIPE.get(stripe_status)
    if new is None or new == current or current == RefundStatus.FAILED:
        return None
    if current == RefundStatus.SUCCEEDED and stripe_status != "failed":
        return None
    return new


def refund_params(
    *,
    refund_id: uuid.UUID,
    reservation_id: uuid.UUID,
    payment_intent_id: str,
    amount_cents: int,
    refund_application_fee: bool,
) -> dict[str, Any]:
    """A refund of the direct charge on the provider's account (``Stripe-Account`` header).

    ``refund_application_fee``: the office fee goes back too, in proportion to the amount
    (Stripe's rule), so that the office never keeps a fee on money the visitor got back.
    """
    params: dict[str, Any] = {
        "payment_intent": payment_intent_id,
        "amount": amount_cents,
        "metadata": {"reservation_id": str(reservation_id), "comptoir_refund_id": str(refund_id)},
    }
    if refund_application_fee:
        params["refund_application_fee"] = True
    return params


def refunds_application_fee(application_fee_cents: int | None) -> bool:
    """A charge that carried an office fee gives it back with its refunds."""
    return (application_fee_cents or 0) > 0


def charge_of(payment_intent: dict[str, Any]) -> str | None:
    """The charge id of a succeeded PaymentIntent (``latest_charge``, expanded or not)."""
    charge = payment_intent.get("latest_charge")
    if isinstance(charge, dict):
        charge = charge.get("id")
    return charge if isinstance(charge, str) and charge else None


def stripe_fee_of(payment_intent: dict[str, Any]) -> tuple[str, int, str] | None:
    """Stripe's own fee ``(balance transaction id, cents, currency)`` when the event says it.

    Only an expanded ``latest_charge.balance_transaction`` carries it (real Stripe does not
    expand webhook objects by default, stripe-mock never does): None when it is not there.
    The balance transaction's ``fee`` includes the office fee, so the ``stripe_fee`` lines
    of ``fee_details`` are summed.
    """
    charge = payment_intent.get("latest_charge")
    txn = charge.get("balance_transaction") if isinstance(charge, dict) else None
    if not isinstance(txn, dict) or not isinstance(txn.get("id"), str):
        return None
    details = txn.get("fee_details")
    if not isinstance(details, list):
        return None
    fee = sum(
        int(d.get("amount") or 0)
        for d in details
        if isinstance(d, dict) and d.get("type") == "stripe_fee"
    )
    if fee <= 0:
        return None
    return str(txn["id"]), fee, str(txn.get("currency") or "").upper()


# --- payouts -------------------------------------------------------------------------------


def after_payout_event(current: PayoutStatus | None, reported: PayoutStatus) -> PayoutStatus | None:
    """A payout's status after Stripe reports ``reported``, or None when nothing changes.

    ``PAID -> FAILED`` is legitimate at Stripe (the bank sends the money back days later:
    it returns to the provider's Stripe balance). ``FAILED`` is final, so a late or
    replayed ``payout.paid`` never brings a failed payout back.
    """
    if current == reported or current == PayoutStatus.FAILED:
        return None
    return reported


# --- Stripe idempotency keys: derived, so a retry (timeout, 5xx, crash) never doubles ----


def account_idempotency_key(provider_id: uuid.UUID) -> str:
    return f"comptoir-connect-account-{provider_id}"


def payment_intent_idempotency_key(reservation_id: uuid.UUID) -> str:
    return f"comptoir-payment-intent-{reservation_id}"


def cancel_idempotency_key(reservation_id: uuid.UUID) -> str:
    return f"comptoir-payment-intent-cancel-{reservation_id}"


def refund_idempotency_key(refund_id: uuid.UUID) -> str:
    return f"comptoir-refund-{refund_id}"


def confirm_idempotency_key(reservation_id: uuid.UUID) -> str:
    return f"comptoir-payment-intent-confirm-{reservation_id}"


def checkout_session_idempotency_key(
    reservation_id: uuid.UUID, success_url: str, cancel_url: str
) -> str:
    """One Checkout Session per reservation and pair of return pages (retries share it)."""
    pages = hashlib.sha256(f"{success_url}\n{cancel_url}".encode()).hexdigest()[:16]
    return f"comptoir-checkout-session-{reservation_id}-{pages}"


# --- Stripe request bodies ----------------------------------------------------------------


def connected_account_params(provider_id: uuid.UUID, email: str) -> dict[str, Any]:
    return {
        "type": "express",
        "country": "FR",
        "email": email,
        "capabilities": {
            "card_payments": {"requested": True},
            "transfers": {"requested": True},
        },
        "metadata": {"provider_id": str(provider_id)},
    }


def payment_intent_params(
    *,
    reservation_id: uuid.UUID,
    provider_id: uuid.UUID,
    territory_id: uuid.UUID,
    amount_cents: int,
    currency: str,
    application_fee_cents: int,
) -> dict[str, Any]:
    """A direct charge on the provider's account; the office fee only when there is one."""
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": currency.lower(),
        "automatic_payment_methods": {"enabled": True},
        "metadata": {
            "reservation_id": str(reservation_id),
            "provider_id": str(provider_id),
            "territory_id": str(territory_id),
        },
    }
    if application_fee_cents > 0:
        params["application_fee_amount"] = application_fee_cents
    return params


def checkout_session_params(
    *,
    reservation_id: uuid.UUID,
    provider_id: uuid.UUID,
    territory_id: uuid.UUID,
    amount_cents: int,
    currency: str,
    application_fee_cents: int,
    success_url: str,
    cancel_url: str,
) -> dict[str, Any]:
    """A Stripe-hosted payment page for a direct charge on the provider's account.

    The amount is booking's price snapshot (never the caller's); the office fee is the
    charge's application fee, only when there is one; the metadata ties the session and
    its PaymentIntent to the reservation.
    """
    metadata = {
        "reservation_id": str(reservation_id),
        "provider_id": str(provider_id),
        "territory_id": str(territory_id),
    }
    intent: dict[str, Any] = {"metadata": metadata}
    if application_fee_cents > 0:
        intent["application_fee_amount"] = application_fee_cents
    return {
        "mode": "payment",
        "client_reference_id": str(reservation_id),
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount_cents,
                    "product_data": {"name": f"Reservation {reservation_id}"},
                },
            }
        ],
        "payment_intent_data": intent,
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
