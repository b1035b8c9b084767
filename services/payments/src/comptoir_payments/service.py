"""Payments use cases: one function per command; events via the outbox.

No database transaction is ever open while Stripe is called: a command that talks to
Stripe reads and commits first, calls Stripe, then records the answer in a new
transaction. Stripe idempotency keys derived from our ids make every call safe to repeat.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import stripe
from opentelemetry import trace
from sqlalchemy import String, Uuid, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_common.auth import Principal
from comptoir_common.db import SessionFactory, utcnow
from comptoir_common.events import v1
from comptoir_common.outbox import add_event
from comptoir_common.problems import Problem, not_found
from comptoir_common.projections import upsert_newer
from comptoir_common.telemetry import (
    ATTR_PROVIDER_ID,
    ATTR_RESERVATION_ID,
    ATTR_TERRITORY_ID,
    context_from_carrier,
    current_trace_carrier,
    tracer,
)
from comptoir_payments import disputes, domain, ledger, payouts, refunds
from comptoir_payments.domain import PaymentStatus
from comptoir_payments.schemas import AccountPublic, DashboardLinkPublic, OnboardingPublic
from comptoir_payments.store import (
    ConnectedAccount,
    Payment,
    Provider,
    ReleasedHold,
    StripeEvent,
    Territory,
)
from comptoir_payments.stripe_gateway import (
    AccountState,
    CreatedIntent,
    StripeGateway,
    VerifiedStripeEvent,
    is_transient,
)
from comptoir_payments.tracing import (
    ATTR_PAYMENT_INTENT_ID,
    ATTR_STRIPE_EVENT_ID,
    ATTR_STRIPE_EVENT_TYPE,
    SERVICE,
    continue_booking_trace,
    metadata_uuid,
)

log = logging.getLogger("comptoir.payments")


# --- projections of catalog --------------------------------------------------------------


async def apply_territory(session: AsyncSession, event: v1.TerritoryUpdated) -> None:
    """Keep a territory's fee rate and currency; an older version never overwrites a newer."""
    values: dict[str, Any] = {
        "id": event.territory_id,
        "currency": event.currency,
        "fee_rate_bps": event.fee_rate_bps,
        "timezone": event.timezone,
        "version": event.version,
        "updated_at": utcnow(),
    }
    await upsert_newer(session, Territory, values)


async def apply_provider(session: AsyncSession, event: v1.ProviderUpdated) -> None:
    values: dict[str, Any] = {
        "id": event.provider_id,
        "territory_id": event.territory_id,
        "name": event.name,
        "email": str(event.email),
        "version": event.version,
        "updated_at": utcnow(),
    }
    await upsert_newer(session, Provider, values)


# --- provider onboarding -----------------------------------------------------------------


async def visible_provider(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID
) -> Provider:
    """The office's staff see their territory's providers, a provider itself; else 404."""
    provider = await session.get(Provider, provider_id)
    if provider is None or not principal.sees_provider(provider.id, provider.territory_id):
        raise not_found("provider")
    return provider


def account_event(account: ConnectedAccount) -> v1.ProviderAccountUpdated:
    return v1.ProviderAccountUpdated(
        provider_id=account.provider_id,
        territory_id=account.territory_id,
        account_id=account.account_id,
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
        details_submitted=account.details_submitted,
        disabled_reason=account.disabled_reason,
        requirements_due=list(account.requirements_due),
    )


def stripe_problem(exc: stripe.StripeError) -> Problem:
    if is_transient(exc):
        return Problem(
            503,
            "Stripe did not answer in time; retry shortly.",
            kind="stripe-unavailable",
            headers={"Retry-After": "5"},
        )
    return Problem(
        502,
        f"Stripe refused the request: {exc.user_message or exc.code or type(exc).__name__}",
        kind="stripe-refused",
    )


async def record_connected_account(
    session: AsyncSession, provider: Provider, state: AccountState
) -> tuple[ConnectedAccount, bool]:
    """Store the provider's account once; a concurrent onboarding finds it already there."""
    inserted = await session.scalar(
        insert(ConnectedAccount)
        .values(
            provider_id=provider.id,
            territory_id=provider.territory_id,
            account_id=state.account_id,
            charges_enabled=state.charges_enabled,
            payouts_enabled=state.payouts_enabled,
            details_submitted=state.details_submitted,
        )
        .on_conflict_do_nothing(index_elements=["provider_id"])
        .returning(literal_column("provider_id", Uuid()))
    )
    account = await session.get(ConnectedAccount, provider.id, populate_existing=True)
    assert account is not None
    if inserted is None:
        if account.account_id != state.account_id:
            log.warning(
                "provider already has another connected account; keeping the stored one",
                extra={"provider_id": str(provider.id), "account_id": account.account_id},
            )
        return account, False
    add_event(session, account_event(account), producer=SERVICE, territory_id=account.territory_id)
    return account, True


async def onboard_provider(
    session: AsyncSession,
    gateway: StripeGateway,
    principal: Principal,
    provider_id: uuid.UUID,
    public_base_url: str,
) -> tuple[OnboardingPublic, bool]:
    """Create the provider's Express account once, and a fresh onboarding link each time."""
    async with session.begin():
        provider = await visible_provider(session, principal, provider_id)
        account = await session.get(ConnectedAccount, provider_id)
    trace.get_current_span().set_attributes(
        {ATTR_PROVIDER_ID: str(provider.id), ATTR_TERRITORY_ID: str(provider.territory_id)}
    )
    created = False
    try:
        if account is None:
            state = await gateway.create_connected_account(provider.id, provider.email)
            async with session.begin():
                account, created = await record_connected_account(session, provider, state)
        base = f"{public_base_url.rstrip('/')}/v1/providers/{provider.id}/onboarding"
        url = await gateway.create_onboarding_link(
            account.account_id, refresh_url=f"{base}/refresh", return_url=f"{base}/return"
        )
    except stripe.StripeError as exc:
        log.warning(
            "Stripe onboarding call failed",
            extra={"provider_id": str(provider.id), "error": type(exc).__name__},
        )
        raise stripe_problem(exc) from exc
    answer = OnboardingPublic(
        provider_id=provider.id,
        account_id=account.account_id,
        onboarding_url=url,
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
    )
    return answer, created


async def dashboard_link(
    session: AsyncSession, gateway: StripeGateway, principal: Principal, provider_id: uuid.UUID
) -> DashboardLinkPublic:
    """The provider's own sign-in link to its Express dashboard (balance, payouts, disputes).

    Only the provider itself: the office sees the account's state, never its dashboard.
    """
    async with session.begin():
        provider = await visible_provider(session, principal, provider_id)
        account = await session.get(ConnectedAccount, provider_id)
    if principal.role != "provider":
        raise Problem(
            403,
            "Only the provider itself can open its Stripe dashboard.",
            kind="dashboard-for-the-provider-only",
        )
    if account is None or not account.details_submitted:
        raise Problem(
            409,
            "The provider has not finished its Stripe onboarding yet: "
            "POST /v1/providers/{id}/onboarding first.",
            kind="onboarding-not-finished",
        )
    try:
        url = await gateway.create_login_link(account.account_id)
    except stripe.StripeError as exc:
        log.warning(
            "Stripe login link call failed",
            extra={"provider_id": str(provider.id), "error": type(exc).__name__},
        )
        raise stripe_problem(exc) from exc
    return DashboardLinkPublic(
        provider_id=provider.id, account_id=account.account_id, dashboard_url=url
    )


async def account_state(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID
) -> AccountPublic:
    provider = await visible_provider(session, principal, provider_id)
    account = await session.get(ConnectedAccount, provider_id)
    return AccountPublic(
        provider_id=provider.id,
        territory_id=provider.territory_id,
        account_id=account.account_id if account else None,
        charges_enabled=bool(account and account.charges_enabled),
        payouts_enabled=bool(account and account.payouts_enabled),
        details_submitted=bool(account and account.details_submitted),
        disabled_reason=account.disabled_reason if account else None,
        requirements_due=list(account.requirements_due) if account else [],
    )


async def payable_payment(
    session: AsyncSession,
    principal: Principal,
    reservation_id: uuid.UUID,
    *,
    visitor_only: bool = False,
) -> Payment:
    """The reservation's payment, which the caller may pay now (inside its transaction).

    404 for whoever may not see it (anyone but its visitor with ``visitor_only``); 409
    while Stripe prepares its PaymentIntent (with ``Retry-After``) or once there is
    nothing left to pay. Checkout and the simulated payment share these rules.
    """
    payment = await session.get(Payment, reservation_id)
    if (
        payment is None
        or (visitor_only and principal.role != "visitor")
        or not principal.sees_reservation(reservation_id, payment.provider_id, payment.territory_id)
    ):
        raise not_found("payment")
    status = PaymentStatus(payment.status)
    ready = payment.stripe_account_id is not None and payment.application_fee_cents is not None
    if not domain.is_payable(status, payment.payment_intent_id) or not ready:
        if status == PaymentStatus.PENDING:
            raise Problem(
                409,
                "The payment is being prepared at Stripe; retry in a moment.",
                kind="payment-not-ready",
                headers={"Retry-After": "1"},
            )
        raise Problem(
            409, f"The payment is {status.value}: nothing to pay.", kind="payment-not-payable"
        )
    return payment


async def checkout_session(
    session: AsyncSession,
    gateway: StripeGateway,
    principal: Principal,
    reservation_id: uuid.UUID,
    *,
    success_url: str,
    cancel_url: str,
    allowed_origins: list[str],
) -> str:
    """A Stripe Checkout Session for the reservation's visitor: its hosted page's URL."""
    for name, url in (("success_url", success_url), ("cancel_url", cancel_url)):
        if not domain.return_page_allowed(url, allowed_origins):
            raise Problem(
                422,
                f"`{name}` is not a page of an allowed storefront.",
                kind="return-page-not-allowed",
            )
    async with session.begin():
        payment = await payable_payment(session, principal, reservation_id, visitor_only=True)
    assert payment.stripe_account_id is not None
    params = domain.checkout_session_params(
        reservation_id=payment.reservation_id,
        provider_id=payment.provider_id,
        territory_id=payment.territory_id,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        application_fee_cents=payment.application_fee_cents or 0,
        success_url=success_url,
        cancel_url=cancel_url,
    )
    key = domain.checkout_session_idempotency_key(reservation_id, success_url, cancel_url)
    try:
        created = await gateway.create_checkout_session(
            stripe_account=payment.stripe_account_id, idempotency_key=key, params=params
        )
    except stripe.StripeError as exc:
        log.warning(
            "Stripe Checkout Session call failed",
            extra={"reservation_id": str(reservation_id), "error": type(exc).__name__},
        )
        raise stripe_problem(exc) from exc
    return created.url


# --- holds from booking ------------------------------------------------------------------


async def record_hold(
    session: AsyncSession, event: v1.HoldPlaced, trace_carrier: dict[str, str]
) -> Payment:
    """A hold awaits payment: record it; the worker creates the PaymentIntent after commit."""
    existing = await session.get(Payment, event.reservation_id)
    if existing is not None:
        return existing
    territory = await session.get(Territory, event.territory_id)
    released = await session.get(ReleasedHold, event.reservation_id)
    payment = Payment(
        reservation_id=event.reservation_id,
        provider_id=event.provider_id,
        territory_id=event.territory_id,
        amount_cents=event.total_cents,
        currency=event.currency,
        application_fee_cents=(
            domain.application_fee(event.total_cents, territory.fee_rate_bps)
            if territory is not None
            else None
        ),
        status=PaymentStatus.CANCELED if released else PaymentStatus.PENDING,
        hold_expires_at=event.expires_at,
        trace_carrier=trace_carrier,
    )
    session.add(payment)
    return payment


async def release_hold(session: AsyncSession, event: v1.HoldReleased) -> None:
    """The hold ended without a booking: what is not paid is cancelled (at Stripe by the worker)."""
    payment = await session.get(Payment, event.reservation_id, with_for_update=True)
    if payment is None:
        await session.execute(
            insert(ReleasedHold)
            .values(reservation_id=event.reservation_id, reason=event.reason)
            .on_conflict_do_nothing()
        )
        return
    decision = domain.after_hold_released(
        PaymentStatus(payment.status), payment.payment_intent_id is not None
    )
    if decision.status is None:
        log.info(
            "hold released; payment kept",
            extra={"reservation_id": str(payment.reservation_id), "status": payment.status},
        )
        return
    payment.status = decision.status
    payment.cancel_at_stripe = decision.cancel_at_stripe
    payment.next_attempt_at = utcnow()
    payment.updated_at = utcnow()


# --- the worker: PaymentIntents and cancellations at Stripe, outside any transaction ----


@dataclass(frozen=True)
class StripeJob:
    kind: Literal["create", "cancel"]
    reservation_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    stripe_account: str
    trace_carrier: dict[str, str]
    params: dict[str, Any]
    payment_intent_id: str | None = None
    attempts: int = 0


def _fail(session: AsyncSession, payment: Payment, reason: str) -> None:
    payment.status = PaymentStatus.FAILED
    payment.failure_reason = reason[:500]
    payment.updated_at = utcnow()
    add_event(
        session,
        v1.PaymentFailed(
            reservation_id=payment.reservation_id,
            provider_id=payment.provider_id,
            territory_id=payment.territory_id,
            reason=reason[:500],
        ),
        producer=SERVICE,
        territory_id=payment.territory_id,
        trace_carrier=current_trace_carrier() or payment.trace_carrier,
    )


async def claim_due(
    sessions: SessionFactory, *, limit: int = 20, lease: timedelta = timedelta(seconds=60)
) -> list[StripeJob]:
    """Take due payments (a lease, so another worker leaves them alone) and commit."""
    now = utcnow()
    jobs: list[StripeJob] = []
    async with sessions() as session, session.begin():
        rows = await session.scalars(
            select(Payment)
            .where(
                or_(
                    Payment.cancel_at_stripe,  # type: ignore[arg-type]
                    (Payment.status == PaymentStatus.PENDING)  # type: ignore[arg-type]
                    & (Payment.hold_expires_at > now),  # type: ignore[operator]
                )
            )
            .where(Payment.next_attempt_at <= now)  # type: ignore[arg-type]
            .order_by(Payment.next_attempt_at)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for payment in rows.all():
            job = await _job_for(session, payment, now)
            if job is not None:
                payment.next_attempt_at = now + lease
                payment.attempts += 1
                jobs.append(job)
    return jobs


def _job(
    payment: Payment,
    kind: Literal["create", "cancel"],
    stripe_account: str,
    params: dict[str, Any],
    payment_intent_id: str | None = None,
) -> StripeJob:
    return StripeJob(
        kind=kind,
        reservation_id=payment.reservation_id,
        provider_id=payment.provider_id,
        territory_id=payment.territory_id,
        stripe_account=stripe_account,
        trace_carrier=payment.trace_carrier,
        params=params,
        payment_intent_id=payment_intent_id,
        attempts=payment.attempts,
    )


async def _job_for(session: AsyncSession, payment: Payment, now: datetime) -> StripeJob | None:
    if payment.cancel_at_stripe:
        if payment.payment_intent_id is None or payment.stripe_account_id is None:
            payment.cancel_at_stripe = False
            return None
        return _job(payment, "cancel", payment.stripe_account_id, {}, payment.payment_intent_id)
    account = await session.get(ConnectedAccount, payment.provider_id)
    if account is None or not account.charges_enabled:
        with _in_trace(payment.trace_carrier, "payments.payment_refused", payment):
            _fail(
                session,
                payment,
                "the provider has no Stripe account yet"
                if account is None
                else "the provider's Stripe account cannot take card payments yet",
            )
        return None
    if payment.application_fee_cents is None:
        territory = await session.get(Territory, payment.territory_id)
        if territory is None:
            log.warning(
                "territory unknown yet; payment postponed",
                extra={"reservation_id": str(payment.reservation_id)},
            )
            payment.next_attempt_at = now + timedelta(seconds=5)
            return None
        payment.application_fee_cents = domain.application_fee(
            payment.amount_cents, territory.fee_rate_bps
        )
    payment.stripe_account_id = account.account_id
    params = domain.payment_intent_params(
        reservation_id=payment.reservation_id,
        provider_id=payment.provider_id,
        territory_id=payment.territory_id,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        application_fee_cents=payment.application_fee_cents,
    )
    return _job(payment, "create", account.account_id, params)


@contextmanager
def _in_trace(carrier: dict[str, str], name: str, payment: Payment) -> Iterator[None]:
    """A span in the booking's trace (the one that placed the hold)."""
    with tracer.start_as_current_span(
        name,
        context=context_from_carrier(carrier),
        attributes={
            ATTR_RESERVATION_ID: str(payment.reservation_id),
            ATTR_PROVIDER_ID: str(payment.provider_id),
            ATTR_TERRITORY_ID: str(payment.territory_id),
        },
    ):
        yield


async def run_job(sessions: SessionFactory, gateway: StripeGateway, job: StripeJob) -> str:
    """Call Stripe for one claimed payment, under its booking's trace; record the answer."""
    with tracer.start_as_current_span(
        f"payments.{job.kind}_payment_intent",
        context=context_from_carrier(job.trace_carrier),
        attributes={
            ATTR_RESERVATION_ID: str(job.reservation_id),
            ATTR_PROVIDER_ID: str(job.provider_id),
            ATTR_TERRITORY_ID: str(job.territory_id),
        },
    ):
        try:
            if job.kind == "create":
                intent = await gateway.create_payment_intent(
                    stripe_account=job.stripe_account,
                    reservation_id=job.reservation_id,
                    params=job.params,
                )
                await _store_intent(sessions, job, intent)
                return "created"
            assert job.payment_intent_id is not None
            status = await gateway.cancel_payment_intent(
                stripe_account=job.stripe_account,
                reservation_id=job.reservation_id,
                payment_intent_id=job.payment_intent_id,
            )
            await _cancel_done(sessions, job, status)
            return "canceled"
        except stripe.StripeError as exc:
            if is_transient(exc) or isinstance(exc, stripe.AuthenticationError):
                # Unknown outcome or our own configuration: the same key will be retried.
                await _postpone(sessions, job, exc)
                return "postponed"
            if job.kind == "cancel":
                log.error(
                    "Stripe refused to cancel a PaymentIntent; giving up",
                    extra={"reservation_id": str(job.reservation_id), "error": str(exc)},
                )
                await _cancel_done(sessions, job, f"refused: {exc.code}")
                return "cancel-refused"
            await _refused(sessions, job, exc)
            return "refused"


async def _store_intent(sessions: SessionFactory, job: StripeJob, intent: CreatedIntent) -> None:
    async with sessions() as session, session.begin():
        payment = await session.get(Payment, job.reservation_id, with_for_update=True)
        assert payment is not None
        trace.get_current_span().set_attribute(ATTR_PAYMENT_INTENT_ID, intent.payment_intent_id)
        payment.payment_intent_id = intent.payment_intent_id
        payment.client_secret = intent.client_secret
        payment.stripe_account_id = job.stripe_account
        payment.next_attempt_at = utcnow()
        payment.updated_at = utcnow()
        if payment.status == PaymentStatus.PENDING:
            payment.status = PaymentStatus.REQUIRES_PAYMENT
        elif payment.status == PaymentStatus.CANCELED:
            # The hold was released while Stripe was creating the intent: cancel it too.
            payment.cancel_at_stripe = True


async def _cancel_done(sessions: SessionFactory, job: StripeJob, outcome: str) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(Payment)
            .where(Payment.reservation_id == job.reservation_id)  # type: ignore[arg-type]
            .values(cancel_at_stripe=False, updated_at=utcnow())
        )
    log.info(
        "PaymentIntent cancelled at Stripe",
        extra={"reservation_id": str(job.reservation_id), "outcome": outcome},
    )


async def _postpone(sessions: SessionFactory, job: StripeJob, exc: stripe.StripeError) -> None:
    delay = timedelta(seconds=min(2 ** min(job.attempts + 1, 6), 60))
    log.warning(
        "Stripe unavailable; payment call postponed",
        extra={
            "reservation_id": str(job.reservation_id),
            "error": type(exc).__name__,
            "retry_in_s": delay.total_seconds(),
        },
    )
    async with sessions() as session, session.begin():
        await session.execute(
            update(Payment)
            .where(Payment.reservation_id == job.reservation_id)  # type: ignore[arg-type]
            .values(next_attempt_at=utcnow() + delay)
        )


async def _refused(sessions: SessionFactory, job: StripeJob, exc: stripe.StripeError) -> None:
    reason = f"Stripe refused the payment: {exc.user_message or exc.code or type(exc).__name__}"
    async with sessions() as session, session.begin():
        payment = await session.get(Payment, job.reservation_id, with_for_update=True)
        assert payment is not None
        if payment.status == PaymentStatus.PENDING:
            _fail(session, payment, reason)


# --- Stripe webhooks ---------------------------------------------------------------------


async def apply_stripe_event(session: AsyncSession, event: VerifiedStripeEvent) -> str:
    """Apply one verified Stripe event at most once; answers what it did."""
    span = trace.get_current_span()
    span.set_attributes({ATTR_STRIPE_EVENT_ID: event.id, ATTR_STRIPE_EVENT_TYPE: event.type})
    claimed = await session.scalar(
        insert(StripeEvent)
        .values(id=event.id, type=event.type, account=event.account)
        .on_conflict_do_nothing()
        .returning(literal_column("id", String()))
    )
    if claimed is None:
        return "duplicate: already handled"
    if event.type in domain.OUTCOME_OF_EVENT:
        outcome = await _apply_payment_outcome(session, event, domain.OUTCOME_OF_EVENT[event.type])
    elif event.type == domain.CHECKOUT_COMPLETED:
        outcome = await _apply_checkout_completed(session, event)
    elif event.type == domain.ACCOUNT_UPDATED:
        outcome = await _apply_account_update(session, event)
    elif event.type in domain.REFUND_EVENTS:
        outcome = await refunds.apply_refund_event(session, event)
    elif event.type in domain.PAYOUT_EVENTS:
        outcome = await payouts.apply_payout_event(session, event)
    elif event.type in domain.DISPUTE_EVENTS:
        outcome = await disputes.apply_dispute_event(session, event)
    else:
        outcome = "ignored: event type not handled"
    if outcome.startswith("ignored: mismatch"):
        log.warning(
            "Stripe event does not match our records; ignored",
            extra={"stripe_event_id": event.id, "type": event.type, "outcome": outcome},
        )
    await session.execute(
        update(StripeEvent)
        .where(StripeEvent.id == event.id)  # type: ignore[arg-type]
        .values(outcome=outcome[:500])
    )
    return outcome


def _failure_message(obj: dict[str, Any]) -> str:
    error = obj.get("last_payment_error")
    if isinstance(error, dict):
        text = error.get("message") or error.get("decline_code") or error.get("code")
        if text:
            return f"the payment was declined: {text}"
    return "the payment failed at Stripe"


async def _apply_checkout_completed(session: AsyncSession, event: VerifiedStripeEvent) -> str:
    """The visitor paid on Stripe's Checkout page: the session's PaymentIntent becomes the
    reservation's, then the success is applied exactly as ``payment_intent.succeeded``."""
    obj = event.data.object
    reservation_id = metadata_uuid(obj, "reservation_id")
    if reservation_id is None:
        return "ignored: no reservation_id in metadata"
    if obj.get("payment_status") != "paid":
        return f"no change: checkout session is {obj.get('payment_status')}"
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    if not isinstance(intent, str) or not intent.startswith("pi_"):
        return "ignored: no PaymentIntent"
    payment = await session.get(Payment, reservation_id, with_for_update=True)
    if payment is None:
        return "ignored: mismatch: unknown reservation"
    if event.account != payment.stripe_account_id:
        return "ignored: mismatch: not the provider's connected account"
    paid = {
        "id": intent,
        "amount": obj.get("amount_total"),
        "currency": obj.get("currency"),
        "metadata": obj.get("metadata"),
    }
    if payment.payment_intent_id != intent:
        if payment.status == PaymentStatus.SUCCEEDED:
            log.error(
                "a Checkout Session was paid for a reservation already paid otherwise",
                extra={"reservation_id": str(reservation_id), "payment_intent_id": intent},
            )
            return "ignored: mismatch: the reservation is already paid"
        if paid["amount"] != payment.amount_cents:
            return "ignored: mismatch: amount or currency differ"
        payment.payment_intent_id = intent
    return await _apply_payment_outcome(session, event, "succeeded", paid)


async def _apply_payment_outcome(
    session: AsyncSession,
    event: VerifiedStripeEvent,
    outcome: domain.StripeOutcome,
    paid: dict[str, Any] | None = None,
) -> str:
    obj = event.data.object if paid is None else paid
    reservation_id = metadata_uuid(obj, "reservation_id")
    if reservation_id is None:
        return "ignored: no reservation_id in metadata"
    payment = await session.get(Payment, reservation_id, with_for_update=True)
    if payment is None:
        return "ignored: mismatch: unknown reservation"
    if obj.get("id") != payment.payment_intent_id:
        return "ignored: mismatch: not this reservation's PaymentIntent"
    if event.account != payment.stripe_account_id:
        return "ignored: mismatch: not the provider's connected account"
    if obj.get("amount") != payment.amount_cents or (
        str(obj.get("currency", "")).upper() != payment.currency
    ):
        return "ignored: mismatch: amount or currency differ"
    current = PaymentStatus(payment.status)
    new = domain.after_stripe_outcome(current, outcome)
    if new is None:
        return f"no change: payment is {current.value}"
    attributes = {
        ATTR_RESERVATION_ID: str(payment.reservation_id),
        ATTR_PROVIDER_ID: str(payment.provider_id),
        ATTR_TERRITORY_ID: str(payment.territory_id),
        ATTR_PAYMENT_INTENT_ID: str(payment.payment_intent_id),
        ATTR_STRIPE_EVENT_ID: event.id,
    }
    with continue_booking_trace(
        payment.trace_carrier, f"payments.{event.type}", attributes
    ) as carrier:
        payment.status = new
        payment.updated_at = utcnow()
        if new == PaymentStatus.SUCCEEDED:
            payment.failure_reason = None
            payment.cancel_at_stripe = False
            await _book_payment(session, payment, obj)
            payload: v1.PaymentSucceeded | v1.PaymentFailed = v1.PaymentSucceeded(
                reservation_id=payment.reservation_id,
                provider_id=payment.provider_id,
                territory_id=payment.territory_id,
                payment_intent_id=str(payment.payment_intent_id),
                amount_cents=payment.amount_cents,
                application_fee_cents=payment.application_fee_cents or 0,
                currency=payment.currency,
            )
        else:
            payment.failure_reason = _failure_message(obj)[:500]
            payload = v1.PaymentFailed(
                reservation_id=payment.reservation_id,
                provider_id=payment.provider_id,
                territory_id=payment.territory_id,
                reason=payment.failure_reason,
            )
        add_event(
            session,
            payload,
            producer=SERVICE,
            territory_id=payment.territory_id,
            trace_carrier=carrier,
        )
    return f"applied: payment {current.value} -> {new.value}"


async def _book_payment(session: AsyncSession, payment: Payment, obj: dict[str, Any]) -> None:
    """The ledger side of a success: the payment, and Stripe's fee when the event has it."""
    await ledger.post(
        session,
        ledger.payment_posting(
            reservation_id=payment.reservation_id,
            provider_id=payment.provider_id,
            territory_id=payment.territory_id,
            amount_cents=payment.amount_cents,
            fee_cents=payment.application_fee_cents or 0,
            currency=payment.currency,
            stripe_ref=domain.charge_of(obj) or payment.payment_intent_id,
        ),
    )
    stripe_fee = domain.stripe_fee_of(obj)
    if stripe_fee is not None:
        txn_id, fee, currency = stripe_fee
        await ledger.post(
            session,
            ledger.stripe_fee_posting(
                balance_transaction_id=txn_id,
                reservation_id=payment.reservation_id,
                provider_id=payment.provider_id,
                territory_id=payment.territory_id,
                fee_cents=fee,
                currency=currency or payment.currency,
            ),
        )


async def _apply_account_update(session: AsyncSession, event: VerifiedStripeEvent) -> str:
    obj = event.data.object
    account_id = obj.get("id")
    if not isinstance(account_id, str) or not account_id.startswith("acct_"):
        return "ignored: no account id"
    if event.account is not None and event.account != account_id:
        return "ignored: mismatch: event account differs from its object"
    account = await session.scalar(
        select(ConnectedAccount)
        .where(ConnectedAccount.account_id == account_id)  # type: ignore[arg-type]
        .with_for_update()
    )
    if account is None:
        return "ignored: mismatch: unknown connected account"
    if event.created < account.stripe_event_created:
        return "ignored: older than the state we hold"
    account.stripe_event_created = event.created
    flags: dict[str, Any] = {
        "charges_enabled": bool(obj.get("charges_enabled")),
        "payouts_enabled": bool(obj.get("payouts_enabled")),
        "details_submitted": bool(obj.get("details_submitted")),
        **domain.account_requirements(obj),
    }
    if all(getattr(account, k) == v for k, v in flags.items()):
        return "no change: account state unchanged"
    for key, value in flags.items():
        setattr(account, key, value)
    account.updated_at = utcnow()
    trace.get_current_span().set_attribute(ATTR_PROVIDER_ID, str(account.provider_id))
    add_event(session, account_event(account), producer=SERVICE, territory_id=account.territory_id)
    return "applied: account state updated"
