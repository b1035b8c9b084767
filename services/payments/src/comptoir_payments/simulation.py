"""Simulated payments, for development with stripe-mock only (never with a real key).

stripe-mock answers Stripe's API but sends no webhooks, so a visitor's payment would
never be confirmed locally. ``simulate_payment`` plays the visitor and Stripe: it
confirms the reservation's PaymentIntent with Stripe's test card on stripe-mock (the
request shape is checked there), then builds the ``payment_intent.succeeded`` event
Stripe would send, signs it with the webhook secret and hands it to the very same
verification and handling as ``POST /v1/stripe/webhook``. Nothing skips a check: an
event that would not match our records is ignored exactly as a real one would be.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import stripe
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_common.auth import Principal
from comptoir_payments import domain, service
from comptoir_payments.store import Payment
from comptoir_payments.stripe_gateway import StripeGateway, verify_webhook


def _signature(payload: bytes, secret: str, timestamp: int) -> str:
    """``Stripe-Signature`` as Stripe computes it (HMAC-SHA256 of ``"t.body"``)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def succeeded_event(payment: Payment, charge_id: str | None, now: int) -> bytes:
    """The ``payment_intent.succeeded`` event of the provider's account for ``payment``."""
    fee = payment.application_fee_cents or None
    intent: dict[str, Any] = {
        "id": payment.payment_intent_id,
        "object": "payment_intent",
        "amount": payment.amount_cents,
        "amount_received": payment.amount_cents,
        "application_fee_amount": fee,
        "currency": payment.currency.lower(),
        "latest_charge": charge_id,
        "livemode": False,
        "metadata": {
            "reservation_id": str(payment.reservation_id),
            "provider_id": str(payment.provider_id),
            "territory_id": str(payment.territory_id),
        },
        "status": "succeeded",
    }
    event = {
        "id": f"evt_simulated{uuid.uuid4().hex}",
        "object": "event",
        "api_version": stripe.api_version,
        "created": now,
        "livemode": False,
        "type": domain.PAYMENT_SUCCEEDED,
        "account": payment.stripe_account_id,
        "data": {"object": intent},
    }
    return json.dumps(event, separators=(",", ":")).encode()


async def simulate_payment(
    session: AsyncSession,
    gateway: StripeGateway,
    principal: Principal,
    reservation_id: uuid.UUID,
    webhook_secret: str,
) -> str:
    """The visitor pays with Stripe's test card; Stripe's signed event is handled as a
    webhook would be. Answers the outcome of that handling."""
    async with session.begin():
        payment = await service.payable_payment(session, principal, reservation_id)
    assert payment.payment_intent_id is not None and payment.stripe_account_id is not None
    try:
        confirmed = await gateway.confirm_payment_intent(
            stripe_account=payment.stripe_account_id,
            reservation_id=reservation_id,
            payment_intent_id=payment.payment_intent_id,
        )
    except stripe.StripeError as exc:
        raise service.stripe_problem(exc) from exc
    now = int(time.time())
    payload = succeeded_event(payment, confirmed.charge_id, now)
    event = verify_webhook(payload, _signature(payload, webhook_secret, now), webhook_secret)
    async with session.begin():
        return await service.apply_stripe_event(session, event)
