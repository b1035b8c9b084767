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
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from comptoir_common.money import fee_cents


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    REQUIRES_PAYMENT = "REQUIRES_PAYMENT"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


StripeOutcome = Literal["succeeded", "failed"]

#: Stripe event types this service acts on; any other verified event is acknowledged.
PAYMENT_SUCCEEDED = "payment_intent.succeeded"
PAYMENT_FAILED = "payment_intent.payment_failed"
ACCOUNT_UPDATED = "account.updated"
OUTCOME_OF_EVENT: dict[str, StripeOutcome] = {
    PAYMENT_SUCCEEDED: "succeeded",
    PAYMENT_FAILED: "failed",
}


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


# --- Stripe idempotency keys: derived, so a retry (timeout, 5xx, crash) never doubles ----


def account_idempotency_key(provider_id: uuid.UUID) -> str:
    return f"comptoir-connect-account-{provider_id}"


def payment_intent_idempotency_key(reservation_id: uuid.UUID) -> str:
    return f"comptoir-payment-intent-{reservation_id}"


def cancel_idempotency_key(reservation_id: uuid.UUID) -> str:
    return f"comptoir-payment-intent-cancel-{reservation_id}"


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
