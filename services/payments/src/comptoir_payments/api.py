"""Payments HTTP routes: parse, authorise, call the use case, shape the answer."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select

from comptoir_common.auth import CurrentPrincipal
from comptoir_common.problems import PROBLEM_RESPONSES, Problem, not_found
from comptoir_common.service import RuntimeDep, SessionDep
from comptoir_payments import disputes, domain, ledger, payouts, report, service, simulation
from comptoir_payments.domain import PaymentStatus, PayoutStatus, RefundStatus
from comptoir_payments.schemas import (
    AccountPublic,
    CheckoutSessionIn,
    CheckoutSessionPublic,
    DashboardLinkPublic,
    DisputePublic,
    LedgerCheck,
    LedgerEntryPublic,
    LedgerTransactionPublic,
    OnboardingLanding,
    OnboardingPublic,
    PaymentPublic,
    PayoutPublic,
    ProviderReportLine,
    RefundPublic,
    ReportTotals,
    TerritoryRefundPublic,
    TransparencyReport,
    WebhookAck,
)
from comptoir_payments.store import Dispute, Payment, Provider, Refund, Territory
from comptoir_payments.stripe_gateway import InvalidWebhook, verify_webhook
from comptoir_payments.worker import gateway_of

if TYPE_CHECKING:
    from comptoir_payments.main import PaymentsSettings

log = logging.getLogger("comptoir.payments.ledger")

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


@router.post(
    "/providers/{provider_id}/dashboard-link",
    tags=["providers"],
    response_model=DashboardLinkPublic,
    summary="A single-use sign-in link to the provider's own Stripe Express dashboard",
    responses={
        502: {"description": "Stripe refused the request"},
        503: {"description": "Stripe did not answer; retry"},
    },
)
async def dashboard_link(
    provider_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> DashboardLinkPublic:
    """The provider itself (403 for the office's staff), once its onboarding is submitted."""
    return await service.dashboard_link(session, gateway_of(runtime), principal, provider_id)


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
    return await _payment_view(session, principal, reservation_id)


async def _payment_view(
    session: SessionDep, principal: CurrentPrincipal, reservation_id: uuid.UUID
) -> PaymentPublic:
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
    "/reservations/{reservation_id}/payment/simulate",
    tags=["payments"],
    response_model=PaymentPublic,
    status_code=202,
    summary="Development with stripe-mock only: pay as the visitor would, Stripe's event included",
    responses={
        404: {"description": "no such payment, or payments is not simulated here"},
        409: {"description": "the payment is not payable (or not ready yet)"},
    },
)
async def simulate_payment(
    reservation_id: uuid.UUID,
    principal: CurrentPrincipal,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> PaymentPublic:
    """Exists only without a real Stripe key and outside production (stripe-mock).

    The same callers as ``GET .../payment``. Confirms the PaymentIntent with Stripe's test
    card, then handles the signed ``payment_intent.succeeded`` event Stripe would send
    exactly as ``POST /v1/stripe/webhook`` does. Answers the payment as it is then.
    """
    settings = _settings(request)
    if not settings.simulated_payments:
        raise Problem(
            404,
            "Simulated payments exist only with stripe-mock in development.",
            kind="not-found",
        )
    await simulation.simulate_payment(
        session, gateway_of(runtime), principal, reservation_id, settings.stripe_webhook_secret
    )
    return await _payment_view(session, principal, reservation_id)


@router.post(
    "/reservations/{reservation_id}/payment/checkout-session",
    tags=["payments"],
    response_model=CheckoutSessionPublic,
    status_code=201,
    summary="A Stripe-hosted payment page (Checkout) for the reservation's visitor",
    responses={
        409: {"description": "the payment is not payable (or not ready yet)"},
        422: {"description": "a return page outside the allowed origins"},
        502: {"description": "Stripe refused the request"},
        503: {"description": "Stripe did not answer; retry"},
    },
)
async def create_checkout_session(
    reservation_id: uuid.UUID,
    body: CheckoutSessionIn,
    principal: CurrentPrincipal,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> CheckoutSessionPublic:
    """The reservation's visitor. A direct charge on the provider's account, for booking's
    price with the territory's office fee as application fee; ``success_url`` and
    ``cancel_url`` must be pages of an allowed storefront
    (``COMPTOIR_CHECKOUT_RETURN_ORIGINS``). Stripe's ``checkout.session.completed``
    webhook confirms the payment."""
    url = await service.checkout_session(
        session,
        gateway_of(runtime),
        principal,
        reservation_id,
        success_url=str(body.success_url),
        cancel_url=str(body.cancel_url),
        allowed_origins=_settings(request).checkout_return_origins,
    )
    return CheckoutSessionPublic(url=url)


@router.get(
    "/providers/{provider_id}/payouts",
    tags=["providers"],
    response_model=list[PayoutPublic],
    summary="What Stripe paid out (or failed to) to a provider's bank, newest first",
)
async def list_payouts(
    provider_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[PayoutPublic]:
    """The provider itself, or the office's staff of its territory; 404 for anyone else."""
    async with session.begin():
        await service.visible_provider(session, principal, provider_id)
        rows = await payouts.payouts_of(session, provider_id)
    return [
        PayoutPublic(
            payout_id=p.id,
            provider_id=p.provider_id,
            amount_cents=p.amount_cents,
            currency=p.currency,
            status=PayoutStatus(p.status),
            arrival_date=p.arrival_date,
            failure_reason=p.failure_reason,
        )
        for p in rows
    ]


@router.get(
    "/ledger/check",
    tags=["ledger"],
    response_model=LedgerCheck,
    summary="Whether every ledger transaction balances",
)
async def check_ledger(principal: CurrentPrincipal, session: SessionDep) -> LedgerCheck:
    """Office admins. Every transaction sums to zero per currency, every entry has its
    transaction, every transaction has entries; otherwise the problems are listed."""
    if not principal.is_admin:
        raise Problem(403, "Only office admins may check the ledger.", kind="forbidden")
    async with session.begin():
        problems = await ledger.ledger_balances(session)
        count = await ledger.transaction_count(session)
    for problem in problems:
        log.error("ledger problem", extra={"problem": problem})
    return LedgerCheck(balanced=not problems, transactions=count, problems=len(problems))


@router.get(
    "/ledger",
    tags=["ledger"],
    response_model=list[LedgerTransactionPublic],
    summary="A reservation's ledger transactions, oldest first",
)
async def reservation_ledger(
    reservation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[LedgerTransactionPublic]:
    """Staff who see the reservation's provider (office admin, the provider); else 404."""
    async with session.begin():
        payment = await session.get(Payment, reservation_id)
        if (
            payment is None
            or principal.role == "visitor"
            or not principal.sees_provider(payment.provider_id, payment.territory_id)
        ):
            raise not_found("payment")
        rows = await ledger.transactions_of(session, reservation_id)
    return [
        LedgerTransactionPublic(
            key=t.key,
            kind=t.kind,
            reservation_id=t.reservation_id,
            provider_id=t.provider_id,
            stripe_ref=t.stripe_ref,
            occurred_at=t.occurred_at,
            entries=[
                LedgerEntryPublic(
                    account=e.account, amount_cents=e.amount_cents, currency=e.currency
                )
                for e in entries
            ],
        )
        for t, entries in rows
    ]


@router.get(
    "/territories/{territory_id}/report",
    tags=["ledger"],
    response_model=TransparencyReport,
    summary="Transparency report: where the visitors' money went over a period",
)
async def transparency_report(
    territory_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    from_date: Annotated[date, Query(alias="from")],
    to_date: Annotated[date, Query(alias="to")],
) -> TransparencyReport:
    """The territory's office admins; 404 for anyone else. ``from`` and ``to`` are
    inclusive local days of the territory's time zone (UTC when unknown)."""
    _office_of(principal, territory_id)
    if to_date < from_date:
        raise Problem(422, "`to` is before `from`.", kind="invalid-period")
    async with session.begin():
        territory = await session.get(Territory, territory_id)
        zone_name = territory.timezone if territory is not None else "UTC"
        zone = report.zone_of(zone_name)
        since, until = report.period(from_date, to_date, zone)
        rows = await report.ledger_rows(session, territory_id, since, until)
        totals, lines = report.summarize(rows)
        failed = await report.failed_refunds(session, territory_id, since, until)
        names = {
            p.id: p.name
            for p in (
                await session.scalars(
                    select(Provider).where(Provider.territory_id == territory_id)  # type: ignore[arg-type]
                )
            ).all()
        }
    return TransparencyReport(
        territory_id=territory_id,
        from_date=from_date,
        to_date=to_date,
        timezone=str(zone),
        totals=[ReportTotals(**vars(t)) for t in totals],
        providers=[
            ProviderReportLine(provider_id=p, provider_name=names.get(p), **vars(t))
            for p, t in lines
        ],
        failed_refunds=[_territory_refund(r, p) for r, p in failed],
    )


def _territory_refund(refund: Refund, payment: Payment) -> TerritoryRefundPublic:
    return TerritoryRefundPublic(
        reservation_id=refund.reservation_id,
        provider_id=payment.provider_id,
        refund_id=refund.stripe_refund_id,
        amount_cents=refund.amount_cents,
        currency=refund.currency,
        status=RefundStatus(refund.status),
        reason=refund.reason,
        failure_reason=refund.failure_reason,
        created_at=refund.created_at,
        updated_at=refund.updated_at,
    )


def _office_of(principal: CurrentPrincipal, territory_id: uuid.UUID) -> None:
    """The territory's office admins; 404 for anyone else."""
    if not (principal.is_admin and principal.sees_territory(territory_id)):
        raise not_found("territory")


@router.get(
    "/territories/{territory_id}/refunds",
    tags=["ledger"],
    response_model=list[TerritoryRefundPublic],
    summary="A territory's refunds, by status (FAILED: the visitors still await their money)",
)
async def territory_refunds(
    territory_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    status: RefundStatus | None = None,
) -> list[TerritoryRefundPublic]:
    """The territory's office admins; 404 for anyone else. Oldest change first (500 at most).

    A FAILED refund did not reach the visitor (a closed card, a refusal by Stripe): the
    office contacts the visitor; ``failure_reason`` says what Stripe answered.
    """
    _office_of(principal, territory_id)
    async with session.begin():
        rows = await report.refunds_of_territory(session, territory_id, status)
    return [_territory_refund(r, p) for r, p in rows]


def _dispute_public(dispute: Dispute) -> DisputePublic:
    event = disputes.dispute_event(dispute)
    return DisputePublic(
        dispute_id=dispute.id,
        reservation_id=dispute.reservation_id,
        provider_id=dispute.provider_id,
        amount_cents=dispute.amount_cents,
        currency=dispute.currency,
        reason=dispute.reason,
        status=dispute.status,
        funds_withdrawn=event.funds_withdrawn,
        evidence_due_by=dispute.evidence_due_by,
        created_at=dispute.created_at,
        updated_at=dispute.updated_at,
    )


@router.get(
    "/territories/{territory_id}/disputes",
    tags=["ledger"],
    response_model=list[DisputePublic],
    summary="Payments of a territory disputed by the visitors' banks, newest first",
)
async def territory_disputes(
    territory_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[DisputePublic]:
    """The territory's office admins; 404 for anyone else."""
    _office_of(principal, territory_id)
    async with session.begin():
        rows = await disputes.disputes_of(session, territory_id=territory_id)
    return [_dispute_public(d) for d in rows]


@router.get(
    "/providers/{provider_id}/disputes",
    tags=["providers"],
    response_model=list[DisputePublic],
    summary="A provider's payments disputed by the visitors' banks, newest first",
)
async def provider_disputes(
    provider_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[DisputePublic]:
    """The provider itself, or the office's staff of its territory; 404 for anyone else.
    The provider answers a dispute with evidence from its own Stripe dashboard."""
    async with session.begin():
        await service.visible_provider(session, principal, provider_id)
        rows = await disputes.disputes_of(session, provider_id=provider_id)
    return [_dispute_public(d) for d in rows]


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
    ``account.updated``, ``refund.created``, ``refund.updated``, ``refund.failed``,
    ``charge.refund.updated``, ``payout.paid``, ``payout.failed`` and
    ``charge.dispute.*`` (created, updated, closed, funds withdrawn or reinstated) and
    ``checkout.session.completed`` of the connected accounts; acknowledges any
    other type. A verified event that does not match what we stored (PaymentIntent,
    connected account, amount) is acknowledged, logged and ignored.
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
