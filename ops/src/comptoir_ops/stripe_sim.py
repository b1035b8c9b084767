"""Simulated Stripe webhooks for local runs (``make pay``).

stripe-mock answers Stripe API calls with fixtures but never sends an event, so locally
nothing would ever tell payments that a visitor paid, that a provider finished
onboarding, or how a refund ended. This module builds the events Stripe would send,
signs them exactly as Stripe does
(``Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.body">``) with the webhook
secret payments is configured with, and posts them to its webhook endpoint.
The service verifies them like real ones: nothing here bypasses a check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
from stripe._api_version import _ApiVersion

API_VERSION = _ApiVersion.CURRENT
WEBHOOK_PATH = "/v1/stripe/webhook"


def _stripe_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}"


def build_event(event_type: str, obj: dict[str, Any], *, account: str | None) -> bytes:
    """A Stripe event as Stripe sends it; ``account`` is set for Connect (direct) events."""
    event: dict[str, Any] = {
        "id": _stripe_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }
    if account is not None:
        event["account"] = account
    return json.dumps(event, separators=(",", ":")).encode()


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload`` signed with ``secret``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def payment_intent_object(payment: dict[str, Any], status: str) -> dict[str, Any]:
    """A PaymentIntent in ``status``, from the answer of ``GET /v1/reservations/{id}/payment``.

    ``succeeded`` gives the object of ``payment_intent.succeeded``;
    ``requires_payment_method`` (with a card decline) that of ``payment_intent.payment_failed``.
    """
    if not payment.get("payment_intent_id"):
        raise ValueError("this payment has no PaymentIntent yet (is the provider onboarded?)")
    succeeded = status == "succeeded"
    fee = payment.get("application_fee_cents") or None
    obj: dict[str, Any] = {
        "id": payment["payment_intent_id"],
        "object": "payment_intent",
        "amount": payment["amount_cents"],
        "amount_capturable": 0,
        "amount_received": payment["amount_cents"] if succeeded else 0,
        "application_fee_amount": fee,
        "automatic_payment_methods": {"enabled": True},
        "capture_method": "automatic",
        "client_secret": payment.get("client_secret"),
        "created": int(time.time()),
        "currency": str(payment["currency"]).lower(),
        "latest_charge": _stripe_id("ch") if succeeded else None,
        "livemode": False,
        "metadata": {"reservation_id": str(payment["reservation_id"])},
        "payment_method": _stripe_id("pm"),
        "status": status,
        "last_payment_error": None,
    }
    if status == "requires_payment_method":
        obj["last_payment_error"] = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
        }
    return obj


def charge_object(
    payment: dict[str, Any], charge_id: str, status: str = "succeeded"
) -> dict[str, Any]:
    """The Charge of a paid PaymentIntent (``charge.succeeded`` / ``charge.updated``).

    ``payment`` is the answer of ``GET /v1/reservations/{id}/payment``; ``charge_id`` is the
    ``latest_charge`` of the PaymentIntent object sent with it.
    """
    if not payment.get("payment_intent_id"):
        raise ValueError("this payment has no PaymentIntent yet (is the provider onboarded?)")
    paid = status == "succeeded"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": payment["amount_cents"],
        "amount_captured": payment["amount_cents"] if paid else 0,
        "amount_refunded": 0,
        "application_fee_amount": payment.get("application_fee_cents") or None,
        "balance_transaction": _stripe_id("txn") if paid else None,
        "captured": paid,
        "created": int(time.time()),
        "currency": str(payment["currency"]).lower(),
        "livemode": False,
        "metadata": {"reservation_id": str(payment["reservation_id"])},
        "paid": paid,
        "payment_intent": payment["payment_intent_id"],
        "refunded": False,
        "status": status,
    }


def refund_object(
    refund: dict[str, Any],
    status: str,
    *,
    payment: dict[str, Any] | None = None,
    failure_reason: str = "expired_or_canceled_card",
) -> dict[str, Any]:
    """A Refund in ``status``, from an entry of ``refunds`` of the payment's answer.

    ``refund`` is one of ``refunds`` in ``GET /v1/reservations/{id}/payment``.
    It is the object of ``refund.updated`` / ``charge.refund.updated`` (``succeeded``, ``pending``)
    and of ``refund.failed`` (``failed``, with ``failure_reason``). Give the whole answer as
    ``payment`` to fill ``payment_intent`` and ``metadata.reservation_id`` too.
    """
    if not refund.get("refund_id"):
        raise ValueError("this refund has not reached Stripe yet (no refund_id)")
    obj: dict[str, Any] = {
        "id": refund["refund_id"],
        "object": "refund",
        "amount": refund["amount_cents"],
        "balance_transaction": _stripe_id("txn"),
        "charge": _stripe_id("ch"),
        "created": int(time.time()),
        "currency": str(refund["currency"]).lower(),
        "failure_reason": failure_reason if status == "failed" else None,
        "metadata": {},
        "payment_intent": None,
        "reason": "requested_by_customer",
        "status": status,
    }
    if status == "failed":
        obj["failure_balance_transaction"] = _stripe_id("txn")
    if payment is not None:
        obj["payment_intent"] = payment.get("payment_intent_id")
        obj["metadata"] = {"reservation_id": str(payment["reservation_id"])}
    return obj


def account_object(
    account_id: str,
    charges_enabled: bool = True,
    payouts_enabled: bool = True,
    details_submitted: bool = True,
) -> dict[str, Any]:
    """An Express connected account in the given state (the object of ``account.updated``)."""
    return {
        "id": account_id,
        "object": "account",
        "type": "express",
        "country": "FR",
        "default_currency": "eur",
        "charges_enabled": charges_enabled,
        "payouts_enabled": payouts_enabled,
        "details_submitted": details_submitted,
        "capabilities": {
            "card_payments": "active" if charges_enabled else "inactive",
            "transfers": "active" if payouts_enabled else "inactive",
        },
        "requirements": {
            "currently_due": [] if details_submitted else ["external_account"],
            "disabled_reason": None if charges_enabled else "requirements.past_due",
        },
        "created": int(time.time()),
        "livemode": False,
    }


async def send_webhook(
    base_url: str, payload: bytes, secret: str, *, timeout: float = 10.0
) -> httpx.Response:
    """Sign ``payload`` now and POST it to the payments service at ``base_url``."""
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, secret)}
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as client:
        return await client.post(WEBHOOK_PATH, content=payload, headers=headers)


def payout_object(
    payout_id: str,
    amount_cents: int,
    currency: str,
    status: str,
    arrival_date: int | None = None,
    *,
    failure_code: str = "account_closed",
) -> dict[str, Any]:
    """A Payout of a connected account's balance to its bank (``payout.paid`` / ``payout.failed``).

    Send it with ``account=<the provider's acct_...>``. ``arrival_date`` is a Unix time
    (now when not given); ``failed`` adds Stripe's ``failure_code`` and ``failure_message``.
    """
    failed = status == "failed"
    return {
        "id": payout_id,
        "object": "payout",
        "amount": amount_cents,
        "arrival_date": arrival_date if arrival_date is not None else int(time.time()),
        "automatic": True,
        "balance_transaction": _stripe_id("txn"),
        "created": int(time.time()),
        "currency": currency.lower(),
        "destination": _stripe_id("ba"),
        "failure_balance_transaction": _stripe_id("txn") if failed else None,
        "failure_code": failure_code if failed else None,
        "failure_message": "The bank account has been closed." if failed else None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "status": status,
        "type": "bank_account",
    }


def dispute_object(
    payment: dict[str, Any],
    dispute_id: str,
    status: str,
    *,
    amount_cents: int | None = None,
    reason: str = "fraudulent",
    evidence_due_by: int | None = None,
) -> dict[str, Any]:
    """A Dispute of a paid reservation's charge (``charge.dispute.created``, ``.updated``,
    ``.closed``...), from the answer of ``GET /v1/reservations/{id}/payment``.

    Send it with ``account=<the provider's acct_...>``: a direct charge is disputed on the
    provider's own account. ``status``: ``needs_response``, ``under_review``, ``won``,
    ``lost``, or an inquiry's ``warning_needs_response``...
    """
    if not payment.get("payment_intent_id"):
        raise ValueError("this payment has no PaymentIntent yet (is the provider onboarded?)")
    amount = payment["amount_cents"] if amount_cents is None else amount_cents
    due = evidence_due_by if evidence_due_by is not None else int(time.time()) + 7 * 86400
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": _stripe_id("ch"),
        "created": int(time.time()),
        "currency": str(payment["currency"]).lower(),
        "evidence_details": {
            "due_by": due,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment["payment_intent_id"],
        "reason": reason,
        "status": status,
    }


def checkout_session_object(
    payment: dict[str, Any], payment_intent_id: str, payment_status: str = "paid"
) -> dict[str, Any]:
    """A completed Checkout Session of a reservation (``checkout.session.completed``),
    from the answer of ``GET /v1/reservations/{id}/payment``; the session made its own
    PaymentIntent, ``payment_intent_id``. Send it with the provider's ``account``."""
    return {
        "id": _stripe_id("cs_test"),
        "object": "checkout.session",
        "amount_total": payment["amount_cents"],
        "client_reference_id": str(payment["reservation_id"]),
        "created": int(time.time()),
        "currency": str(payment["currency"]).lower(),
        "livemode": False,
        "metadata": {"reservation_id": str(payment["reservation_id"])},
        "mode": "payment",
        "payment_intent": payment_intent_id,
        "payment_status": payment_status,
        "status": "complete",
    }
