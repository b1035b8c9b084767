"""Refunds: booking cancels a paid reservation, payments gives the money back through Stripe.

Same discipline as the payments themselves. The refund is recorded (``PENDING``) in the
inbox transaction of ``booking.cancelled.v1``. The background loop claims it with a lease,
commits, calls Stripe outside any transaction under the cancellation's trace, and stores
the answer in a new transaction. Stripe's webhooks settle what was still pending. The
Stripe idempotency key is derived from our refund id, itself derived from the
cancellation, so a redelivered event, a retry or a crash never refunds twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import stripe
from opentelemetry import trace
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_common.db import SessionFactory, utcnow
from comptoir_common.events import v1
from comptoir_common.outbox import add_event
from comptoir_common.telemetry import (
    ATTR_PROVIDER_ID,
    ATTR_RESERVATION_ID,
    ATTR_TERRITORY_ID,
    context_from_carrier,
    current_trace_carrier,
    tracer,
)
from comptoir_payments import domain, ledger
from comptoir_payments.domain import PaymentStatus, RefundStatus
from comptoir_payments.store import Payment, Refund
from comptoir_payments.stripe_gateway import (
    CreatedRefund,
    StripeGateway,
    VerifiedStripeEvent,
    is_transient,
)
from comptoir_payments.tracing import (
    ATTR_PAYMENT_INTENT_ID,
    ATTR_REFUND_ID,
    ATTR_STRIPE_EVENT_ID,
    SERVICE,
    continue_booking_trace,
    metadata_uuid,
)

log = logging.getLogger("comptoir.payments.refunds")

#: A refund is money owed: Stripe being down postpones it (up to this apart), never fails it.
MAX_BACKOFF = timedelta(minutes=5)


# --- booking.cancelled.v1 ----------------------------------------------------------------


async def refunded_so_far(session: AsyncSession, reservation_id: uuid.UUID) -> int:
    """What is already given back or on its way (PENDING and SUCCEEDED refunds)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
            Refund.reservation_id == reservation_id,  # type: ignore[arg-type]
            Refund.status != RefundStatus.FAILED,  # type: ignore[arg-type]
        )
    )
    return int(total or 0)


async def record_cancellation_refund(
    session: AsyncSession, event: v1.ReservationCancelled, trace_carrier: dict[str, str]
) -> Refund | None:
    """Record the refund a cancellation asks for (the worker asks Stripe after commit).

    Nothing is recorded when nothing is owed: no refund asked, no payment captured, or
    nothing left of the payment to give back.
    """
    extra = {"reservation_id": str(event.reservation_id), "refund_cents": event.refund_cents}
    if event.refund_cents <= 0:
        return None
    # The payment row is the lock of its refunds: the cap below sees every earlier one.
    payment = await session.get(Payment, event.reservation_id, with_for_update=True)
    if payment is None:
        log.warning(
            "cancellation of a reservation payments never saw; nothing to refund", extra=extra
        )
        return None
    if payment.status != PaymentStatus.SUCCEEDED or payment.payment_intent_id is None:
        log.warning(
            "cancellation of a payment that was never captured; nothing to refund",
            extra=extra | {"status": payment.status},
        )
        return None
    if event.currency != payment.currency:
        log.error(
            "cancellation refund in another currency than the payment; nothing refunded",
            extra=extra | {"currency": event.currency, "payment_currency": payment.currency},
        )
        return None
    request_key = domain.cancellation_refund_key(event.reservation_id)
    refund_id = domain.refund_id_for(request_key)
    existing = await session.get(Refund, refund_id)
    if existing is not None:
        log.info("cancellation refund already recorded", extra=extra)
        return existing
    already = await refunded_so_far(session, payment.reservation_id)
    amount = domain.refund_amount(event.refund_cents, payment.amount_cents, already)
    if amount <= 0:
        log.warning(
            "the payment is already refunded in full; nothing more to refund",
            extra=extra | {"paid_cents": payment.amount_cents, "refunded_cents": already},
        )
        return None
    if amount < event.refund_cents:
        log.warning(
            "refund capped to what is left of the payment",
            extra=extra | {"amount_cents": amount, "refunded_cents": already},
        )
    refund = Refund(
        id=refund_id,
        reservation_id=payment.reservation_id,
        request_key=request_key,
        reason=event.reason,
        requested_cents=event.refund_cents,
        amount_cents=amount,
        currency=payment.currency,
        refund_application_fee=domain.refunds_application_fee(payment.application_fee_cents),
        status=RefundStatus.PENDING,
        trace_carrier=trace_carrier,
    )
    session.add(refund)
    _announce(session, refund, payment, trace_carrier)
    return refund


def _announce(
    session: AsyncSession, refund: Refund, payment: Payment, carrier: dict[str, str]
) -> None:
    add_event(
        session,
        v1.RefundUpdated(
            reservation_id=payment.reservation_id,
            provider_id=payment.provider_id,
            territory_id=payment.territory_id,
            refund_id=refund.stripe_refund_id,
            amount_cents=refund.amount_cents,
            currency=refund.currency,
            status=RefundStatus(refund.status).value,  # type: ignore[arg-type]
            failure_reason=refund.failure_reason,
        ),
        producer=SERVICE,
        territory_id=payment.territory_id,
        trace_carrier=carrier,
    )


def _move(
    session: AsyncSession,
    refund: Refund,
    payment: Payment,
    new: RefundStatus,
    carrier: dict[str, str],
    failure_reason: str | None = None,
) -> None:
    refund.status = new
    refund.failure_reason = failure_reason[:500] if failure_reason else None
    refund.updated_at = utcnow()
    _announce(session, refund, payment, carrier)


async def _book(
    session: AsyncSession, refund: Refund, payment: Payment, previous: RefundStatus
) -> None:
    """The ledger side of a refund's outcome: booked when it succeeds, reversed when a
    refund that had succeeded fails (the bank sent it back); nothing otherwise."""
    new = RefundStatus(refund.status)
    if new == RefundStatus.SUCCEEDED:
        kinds = ("refund", "refund-failed")
        fee_account = ledger.office_fee_account(payment.territory_id)
        fee = (payment.application_fee_cents or 0) if refund.refund_application_fee else 0
        share = ledger.refund_fee_share(
            fee_cents=fee,
            paid_cents=payment.amount_cents,
            refunded_before_cents=await ledger.account_total(
                session, ledger.REFUNDS, reservation_id=payment.reservation_id, kinds=kinds
            ),
            fee_returned_before_cents=-await ledger.account_total(
                session, fee_account, reservation_id=payment.reservation_id, kinds=kinds
            ),
            refund_cents=refund.amount_cents,
        )
        await ledger.post(
            session,
            ledger.refund_posting(
                refund_id=refund.id,
                reservation_id=payment.reservation_id,
                provider_id=payment.provider_id,
                territory_id=payment.territory_id,
                amount_cents=refund.amount_cents,
                fee_share_cents=share,
                currency=refund.currency,
                stripe_ref=refund.stripe_refund_id,
            ),
        )
    elif new == RefundStatus.FAILED and previous == RefundStatus.SUCCEEDED:
        booked = await ledger.posting_of(session, f"refund:{refund.id}")
        if booked is not None:
            await ledger.post(
                session, booked.reversed(f"refund-failed:{refund.id}", "refund-failed")
            )


def _stripe_failure(reason: str | None) -> str:
    return f"the refund failed at Stripe: {reason or 'unknown'}"


# --- the worker: Refunds at Stripe, outside any transaction -------------------------------


@dataclass(frozen=True)
class RefundJob:
    refund_id: uuid.UUID
    reservation_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    stripe_account: str
    trace_carrier: dict[str, str]
    params: dict[str, Any]
    attempts: int = 0


async def claim_due_refunds(
    sessions: SessionFactory, *, limit: int = 20, lease: timedelta = timedelta(seconds=60)
) -> list[RefundJob]:
    """Take refunds not yet sent to Stripe (a lease, so another worker leaves them alone)."""
    now = utcnow()
    jobs: list[RefundJob] = []
    async with sessions() as session, session.begin():
        rows = await session.scalars(
            select(Refund)
            .where(Refund.status == RefundStatus.PENDING)  # type: ignore[arg-type]
            .where(Refund.stripe_refund_id.is_(None))  # type: ignore[union-attr]
            .where(Refund.next_attempt_at <= now)  # type: ignore[arg-type]
            .order_by(Refund.next_attempt_at)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for refund in rows.all():
            payment = await session.get(Payment, refund.reservation_id)
            assert payment is not None  # a foreign key
            if payment.payment_intent_id is None or payment.stripe_account_id is None:
                with tracer.start_as_current_span(
                    "payments.refund_refused", context=context_from_carrier(refund.trace_carrier)
                ):
                    carrier = current_trace_carrier() or refund.trace_carrier
                    _move(
                        session,
                        refund,
                        payment,
                        RefundStatus.FAILED,
                        carrier,
                        "the payment has no charge at Stripe to refund",
                    )
                continue
            refund.next_attempt_at = now + lease
            refund.attempts += 1
            jobs.append(
                RefundJob(
                    refund_id=refund.id,
                    reservation_id=refund.reservation_id,
                    provider_id=payment.provider_id,
                    territory_id=payment.territory_id,
                    stripe_account=payment.stripe_account_id,
                    trace_carrier=refund.trace_carrier,
                    params=domain.refund_params(
                        refund_id=refund.id,
                        reservation_id=refund.reservation_id,
                        payment_intent_id=payment.payment_intent_id,
                        amount_cents=refund.amount_cents,
                        refund_application_fee=refund.refund_application_fee,
                    ),
                    attempts=refund.attempts,
                )
            )
    return jobs


async def run_refund_job(sessions: SessionFactory, gateway: StripeGateway, job: RefundJob) -> str:
    """Ask Stripe for one claimed refund, under the cancellation's trace; record the answer."""
    with tracer.start_as_current_span(
        "payments.create_refund",
        context=context_from_carrier(job.trace_carrier),
        attributes={
            ATTR_RESERVATION_ID: str(job.reservation_id),
            ATTR_PROVIDER_ID: str(job.provider_id),
            ATTR_TERRITORY_ID: str(job.territory_id),
            ATTR_PAYMENT_INTENT_ID: str(job.params["payment_intent"]),
        },
    ):
        try:
            created = await gateway.create_refund(
                stripe_account=job.stripe_account, refund_id=job.refund_id, params=job.params
            )
        except stripe.StripeError as exc:
            if is_transient(exc) or isinstance(exc, stripe.AuthenticationError):
                # Unknown outcome or our own configuration: the same key will be retried.
                await _postpone(sessions, job, exc)
                return "postponed"
            reason = f"Stripe refused the refund: {exc.user_message or type(exc).__name__}"
            if exc.code:
                reason += f" ({exc.code})"
            log.error(
                "Stripe refused a refund",
                extra={"reservation_id": str(job.reservation_id), "error": reason},
            )
            return await _store(sessions, job, None, RefundStatus.FAILED, reason)
        trace.get_current_span().set_attribute(ATTR_REFUND_ID, created.refund_id)
        new = domain.after_refund_outcome(RefundStatus.PENDING, created.status)
        failure = _stripe_failure(created.failure_reason) if new == RefundStatus.FAILED else None
        return await _store(sessions, job, created, new, failure)


async def _store(
    sessions: SessionFactory,
    job: RefundJob,
    created: CreatedRefund | None,
    new: RefundStatus | None,
    failure_reason: str | None,
) -> str:
    async with sessions() as session, session.begin():
        refund = await session.get(Refund, job.refund_id, with_for_update=True)
        payment = await session.get(Payment, job.reservation_id)
        assert refund is not None and payment is not None
        if created is not None and refund.stripe_refund_id is None:
            refund.stripe_refund_id = created.refund_id
        refund.next_attempt_at = utcnow()
        refund.updated_at = utcnow()
        current = RefundStatus(refund.status)
        if new is None or current != RefundStatus.PENDING:
            # Still pending at Stripe (its webhook will tell), or a webhook came first.
            return current.value.lower()
        _move(
            session,
            refund,
            payment,
            new,
            current_trace_carrier() or refund.trace_carrier,
            failure_reason,
        )
        await _book(session, refund, payment, current)
        return new.value.lower()


async def _postpone(sessions: SessionFactory, job: RefundJob, exc: stripe.StripeError) -> None:
    delay = min(timedelta(seconds=2 ** min(job.attempts + 1, 9)), MAX_BACKOFF)
    log.warning(
        "Stripe unavailable; refund postponed",
        extra={
            "reservation_id": str(job.reservation_id),
            "error": type(exc).__name__,
            "retry_in_s": delay.total_seconds(),
        },
    )
    async with sessions() as session, session.begin():
        await session.execute(
            update(Refund)
            .where(Refund.id == job.refund_id)  # type: ignore[arg-type]
            .values(next_attempt_at=utcnow() + delay)
        )


# --- Stripe webhooks: refund.updated, refund.failed, charge.refund.updated ---------------


async def _find_refund(session: AsyncSession, obj: dict[str, Any]) -> Refund | None:
    """By Stripe's id; before we stored it, by our id or reservation id in its metadata."""
    stripe_id = obj.get("id")
    if isinstance(stripe_id, str) and stripe_id:
        refund = await session.scalar(
            select(Refund)
            .where(Refund.stripe_refund_id == stripe_id)  # type: ignore[arg-type]
            .with_for_update()
        )
        if refund is not None:
            return refund
    ours = metadata_uuid(obj, "comptoir_refund_id")
    if ours is not None:
        return await session.get(Refund, ours, with_for_update=True)
    reservation_id = metadata_uuid(obj, "reservation_id")
    if reservation_id is None:
        return None
    candidates = (
        await session.scalars(
            select(Refund)
            .where(Refund.reservation_id == reservation_id)  # type: ignore[arg-type]
            .where(Refund.stripe_refund_id.is_(None))  # type: ignore[union-attr]
            .with_for_update()
        )
    ).all()
    return candidates[0] if len(candidates) == 1 else None


async def apply_refund_event(session: AsyncSession, event: VerifiedStripeEvent) -> str:
    """A refund's outcome from Stripe, checked against what we asked for; never undone."""
    obj = event.data.object
    stripe_id = obj.get("id")
    if not isinstance(stripe_id, str) or not stripe_id:
        return "ignored: no refund id"
    refund = await _find_refund(session, obj)
    if refund is None:
        return "ignored: mismatch: unknown refund"
    if refund.stripe_refund_id not in (None, stripe_id):
        return "ignored: mismatch: not this refund's id"
    payment = await session.get(Payment, refund.reservation_id)
    assert payment is not None
    if event.account != payment.stripe_account_id:
        return "ignored: mismatch: not the provider's connected account"
    intent = obj.get("payment_intent")
    if intent is not None and intent != payment.payment_intent_id:
        return "ignored: mismatch: not this reservation's PaymentIntent"
    if obj.get("amount") != refund.amount_cents or (
        str(obj.get("currency", "")).upper() != refund.currency
    ):
        return "ignored: mismatch: amount or currency differ"
    learned_id = refund.stripe_refund_id is None
    refund.stripe_refund_id = stripe_id  # from now on the worker leaves it to the webhooks
    current = RefundStatus(refund.status)
    stripe_status = str(obj.get("status") or "")
    new = domain.after_refund_outcome(current, stripe_status)
    if new is None:
        said = f"refund is {current.value} (Stripe says {stripe_status or 'nothing'})"
        return f"recorded: Stripe's refund id; {said}" if learned_id else f"no change: {said}"
    if current == RefundStatus.SUCCEEDED:
        log.warning(
            "a refund that had succeeded failed at Stripe: the visitor has not been refunded",
            extra={"reservation_id": str(refund.reservation_id), "refund_id": stripe_id},
        )
    attributes = {
        ATTR_RESERVATION_ID: str(payment.reservation_id),
        ATTR_PROVIDER_ID: str(payment.provider_id),
        ATTR_TERRITORY_ID: str(payment.territory_id),
        ATTR_REFUND_ID: stripe_id,
        ATTR_STRIPE_EVENT_ID: event.id,
    }
    # The cancellation's trace (where the refund was asked and sent), else the booking's.
    carrier = refund.trace_carrier or payment.trace_carrier
    with continue_booking_trace(carrier, f"payments.{event.type}", attributes) as carrier:
        reason = obj.get("failure_reason")
        failure = _stripe_failure(str(reason) if reason else None)
        _move(
            session,
            refund,
            payment,
            new,
            carrier,
            failure if new == RefundStatus.FAILED else None,
        )
        await _book(session, refund, payment, current)
    return f"applied: refund {current.value} -> {new.value}"
