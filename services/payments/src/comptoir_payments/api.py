"""Payments HTTP routes: parse, authorise, call the use case, shape the answer."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Header, Request, Response
from sqlalchemy import select

from comptoir_common.auth import CurrentPrincipal
from comptoir_common.problems import PROBLEM_RESPONSES, Problem, not_found
from comptoir_common.service import RuntimeDep, SessionDep
from comptoir_payments import domain, service
from comptoir_payments.domain import PaymentStatus, RefundStatus
from comptoir_payments.schemas import (
    AccountPublic,
    OnboardingLanding,
    OnboardingPublic,
    PaymentPublic,
    RefundPublic,
    WebhookAck,
)
from comptoir_payments.store import Payment, Refund
from comptoir_payments.stripe_gateway import InvalidWebhook, verify_webhook
from comptoir_payments.worker import gateway_of

if TYPE_CHECKING:
    from comptoir_payments.main import PaymentsSettings

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)

#: Stripe's events are a few kilobytes; anything far bigger is not one.
MAX_WEBHOOK_BYTES = 512 * 1024


def _settings(request: Request) -> PaymentsSettings:
    settings: PaymentsSettings = request.app.state.settings
    return settings


@router.post(
    "/providers/{provider_id}/onboarding",
    tags=["providers"],
    response_model=OnboardingPublic,
    status_code=200,
    summary="Start or resume a provider's Stripe Connect (Express) onboarding",
    responses={
        201: {"description": "the account was created now", "model": OnboardingPublic},
        502: {"description": "Stripe refused the request"},
        503: {"description": "Stripe did not answer; retry"},
    },
)
async def start_onboarding(
    provider_id: uuid.UUID,
    principal: CurrentPrincipal,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    response: Response,
) -> OnboardingPublic:
    """The office's staff of the provider's territory, or the provider itself.

    Creates the provider's Express account once (FR, card payments and transfers), then
    answers a fresh single-use onboarding link to open in the provider's browser.
    """
    answer, created = await service.onboard_provider(
        session,
        gateway_of(runtime),
        principal,
        provider_id,
        _settings(request).public_base_url,
    )
    response.status_code = 201 if created else 200
    return answer


@router.get(
    "/providers/{provider_id}/onboarding/{outcome}",
    tags=["providers"],
    response_model=OnboardingLanding,
    summary="Where Stripe sends the provider back after onboarding (return or refresh)",
)
async def onboarding_landing(
    provider_id: uuid.UUID, outcome: Literal["return", "refresh"]
) -> OnboardingLanding:
    """A plain landing page: it reveals nothing and changes nothing.

    The account's state changes only when Stripe confirms it by a signed webhook.
    """
    if outcome == "return":
        message = (
            "Thank you. Stripe is checking the details you gave; the account can take "
            "payments once Stripe confirms it (see GET /v1/providers/{id}/account)."
        )
    else:
        message = (
            "This onboarding link has expired. Ask for a new one from the back-office "
            "(POST /v1/providers/{id}/onboarding)."
        )
    return OnboardingLanding(provider_id=provider_id, outcome=outcome, message=message)


@router.get(
    "/providers/{provider_id}/account",
    tags=["providers"],
    response_model=AccountPublic,
    summary="A provider's Stripe connected account state",
)
async def get_account(
    provider_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> AccountPublic:
    """The office's staff of the provider's territory, or the provider itself."""
    async with session.begin():
        return await service.account_state(session, principal, provider_id)


@router.get(
    "/reservations/{reservation_id}/payment",
    tags=["payments"],
    response_model=PaymentPublic,
    summary="The payment of a reservation (client_secret for its visitor while payable)",
)
async def get_payment(
    reservation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> PaymentPublic:
    """The visitor token of the reservation, or staff who see its provider.

    A visitor gets the PaymentIntent's ``client_secret`` to pay with Stripe.js while the
    payment is payable; staff never get it. ``refunds`` lists the money given back after a
    cancellation; ``refunded_cents`` sums those that succeeded.
    """
    async with session.begin():
        payment = await session.get(Payment, reservation_id)
        refunds = (
            await session.scalars(
                select(Refund)
                .where(Refund.reservation_id == reservation_id)  # type: ignore[arg-type]
                .order_by(Refund.created_at)  # type: ignore[arg-type]
            )
        ).all()
    if payment is None or not principal.sees_reservation(
        reservation_id, payment.provider_id, payment.territory_id
    ):
        raise not_found("payment")
    status = PaymentStatus(payment.status)
    payable = domain.is_payable(status, payment.payment_intent_id)
    return PaymentPublic(
        reservation_id=payment.reservation_id,
        status=status,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        application_fee_cents=payment.application_fee_cents,
        payment_intent_id=payment.payment_intent_id,
        stripe_account_id=payment.stripe_account_id,
        client_secret=payment.client_secret if principal.role == "visitor" and payable else None,
        failure_reason=payment.failure_reason,
        refunds=[
            RefundPublic(
                refund_id=r.stripe_refund_id,
                amount_cents=r.amount_cents,
                currency=r.currency,
                status=RefundStatus(r.status),
                failure_reason=r.failure_reason,
                created_at=r.created_at,
            )
            for r in refunds
        ],
        refunded_cents=sum(r.amount_cents for r in refunds if r.status == RefundStatus.SUCCEEDED),
    )


@router.post(
    "/stripe/webhook",
    tags=["stripe"],
    response_model=WebhookAck,
    summary="Stripe's webhook endpoint (signed events: payments and connected accounts)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "A Stripe event, exactly as Stripe signed it",
        }
    },
)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookAck:
    """Verifies ``Stripe-Signature`` on the raw body; applies each event id once.

    Handles ``payment_intent.succeeded``, ``payment_intent.payment_failed``,
    ``account.updated``, ``refund.updated``, ``refund.failed`` and
    ``charge.refund.updated``; acknowledges any other type. A verified event that does not
    match what we stored (PaymentIntent, connected account, amount) is acknowledged,
    logged and ignored.
    """
    payload = await request.body()
    if len(payload) > MAX_WEBHOOK_BYTES:
        raise Problem(413, "A Stripe event is never this large.", kind="payload-too-large")
    try:
        event = verify_webhook(payload, stripe_signature, _settings(request).stripe_webhook_secret)
    except InvalidWebhook as exc:
        raise Problem(400, str(exc), kind="invalid-stripe-webhook") from exc
    async with session.begin():
        outcome = await service.apply_stripe_event(session, event)
    return WebhookAck(event_id=event.id, outcome=outcome)
