"""Disputes: a visitor's bank contests a charge made on the provider's connected account.

``charge.dispute.created``, ``.updated``, ``.closed``, ``.funds_withdrawn`` and
``.funds_reinstated`` come from the provider's account (``event.account``; a direct
charge: the provider is the merchant of record and answers the dispute from its own
Stripe dashboard). Each one records or updates a ``dispute`` row, books the ledger and
announces ``payments.dispute-updated.v1`` through the outbox, in the webhook's
transaction. Stripe event ids are applied once (``stripe_event``).

Ledger: when a real dispute opens, Stripe takes the amount from the provider's balance
(``dispute:<dp_...>``); a won dispute gives it back (``dispute-won:<dp_...>``); a lost
one keeps it gone. Inquiries (``warning_*``) move no money. Both postings are keyed by
the dispute, so events in any order, or twice, book each movement once; a closed
dispute never reopens.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from sqlalchemy import String, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_common.db import utcnow
from comptoir_common.events import v1
from comptoir_common.outbox import add_event
from comptoir_common.telemetry import ATTR_PROVIDER_ID, ATTR_RESERVATION_ID
from comptoir_payments import domain, ledger
from comptoir_payments.store import Dispute, Payment
from comptoir_payments.stripe_gateway import VerifiedStripeEvent
from comptoir_payments.tracing import SERVICE, continue_booking_trace


def _evidence_due(obj: dict[str, Any]) -> datetime | None:
    details = obj.get("evidence_details")
    raw = details.get("due_by") if isinstance(details, dict) else None
    return datetime.fromtimestamp(raw, UTC) if isinstance(raw, int) and raw > 0 else None


def dispute_event(dispute: Dispute) -> v1.DisputeUpdated:
    return v1.DisputeUpdated(
        dispute_id=dispute.id,
        reservation_id=dispute.reservation_id,
        provider_id=dispute.provider_id,
        territory_id=dispute.territory_id,
        amount_cents=dispute.amount_cents,
        currency=dispute.currency,
        reason=dispute.reason,
        status=dispute.status,
        funds_withdrawn=domain.dispute_takes_funds(dispute.status) and dispute.status != "won",
        evidence_due_by=dispute.evidence_due_by,
    )


async def _payment_of(session: AsyncSession, obj: dict[str, Any]) -> Payment | None:
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    if not isinstance(intent, str) or not intent:
        return None
    payment: Payment | None = await session.scalar(
        select(Payment).where(Payment.payment_intent_id == intent)  # type: ignore[arg-type]
    )
    return payment


async def apply_dispute_event(session: AsyncSession, event: VerifiedStripeEvent) -> str:
    """A dispute's state on a provider's charge, checked against the payment it contests."""
    obj = event.data.object
    dispute_id = obj.get("id")
    if not isinstance(dispute_id, str) or not dispute_id.startswith("dp_"):
        return "ignored: no dispute id"
    payment = await _payment_of(session, obj)
    if payment is None or payment.status != domain.PaymentStatus.SUCCEEDED:
        return "ignored: mismatch: not a payment we took"
    if event.account is None or event.account != payment.stripe_account_id:
        return "ignored: mismatch: not the provider's connected account"
    amount, currency = obj.get("amount"), str(obj.get("currency") or "").upper()
    if not isinstance(amount, int) or not 0 < amount <= payment.amount_cents:
        return "ignored: mismatch: amount differs"
    if currency != payment.currency:
        return "ignored: mismatch: amount or currency differ"
    reported = str(obj.get("status") or "")
    if reported not in domain.DISPUTE_STATUSES:
        return f"ignored: unknown dispute status {reported[:40]!r}"
    attributes = {
        ATTR_RESERVATION_ID: str(payment.reservation_id),
        ATTR_PROVIDER_ID: str(payment.provider_id),
    }
    trace.get_current_span().set_attributes(attributes)
    charge = obj.get("charge")
    # Concurrent first deliveries of one dispute: one row, the other waits on its lock.
    inserted = await session.scalar(
        insert(Dispute)
        .values(
            id=dispute_id,
            reservation_id=payment.reservation_id,
            provider_id=payment.provider_id,
            territory_id=payment.territory_id,
            stripe_account_id=event.account,
            charge_id=charge if isinstance(charge, str) else None,
            amount_cents=amount,
            currency=currency,
            reason=str(obj.get("reason") or "general")[:64],
            status=reported,
            evidence_due_by=_evidence_due(obj),
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(literal_column("id", String()))
    )
    dispute = await session.get(Dispute, dispute_id, with_for_update=True, populate_existing=True)
    assert dispute is not None
    if inserted is None:
        if dispute.reservation_id != payment.reservation_id or dispute.amount_cents != amount:
            return "ignored: mismatch: not this dispute's charge or amount"
        new = domain.after_dispute_event(dispute.status, reported)
        if new is None:
            return f"no change: dispute is {dispute.status}"
        previous = dispute.status
        dispute.status = new
        dispute.evidence_due_by = _evidence_due(obj) or dispute.evidence_due_by
        dispute.updated_at = utcnow()
    else:
        previous = "new"
    await _book(session, dispute)
    with continue_booking_trace(
        payment.trace_carrier, f"payments.{event.type}", attributes
    ) as carrier:
        add_event(
            session,
            dispute_event(dispute),
            producer=SERVICE,
            territory_id=dispute.territory_id,
            trace_carrier=carrier,
        )
    return f"applied: dispute {previous} -> {dispute.status}"


async def _book(session: AsyncSession, dispute: Dispute) -> None:
    """Money out of the provider's balance once the dispute is real; back once it is won."""
    if not domain.dispute_takes_funds(dispute.status):
        return
    taken = ledger.dispute_posting(
        dispute_id=dispute.id,
        reservation_id=dispute.reservation_id,
        provider_id=dispute.provider_id,
        territory_id=dispute.territory_id,
        amount_cents=dispute.amount_cents,
        currency=dispute.currency,
    )
    await ledger.post(session, taken)
    if dispute.status == "won":
        await ledger.post(session, taken.reversed(f"dispute-won:{dispute.id}", "dispute-won"))


async def disputes_of(
    session: AsyncSession,
    *,
    territory_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
) -> list[Dispute]:
    """A territory's or a provider's disputes, newest first."""
    query = select(Dispute)
    if territory_id is not None:
        query = query.where(Dispute.territory_id == territory_id)  # type: ignore[arg-type]
    if provider_id is not None:
        query = query.where(Dispute.provider_id == provider_id)  # type: ignore[arg-type]
    rows = await session.scalars(
        query.order_by(Dispute.created_at.desc(), Dispute.id).limit(500)  # type: ignore[attr-defined]
    )
    return list(rows.all())


__all__ = ["apply_dispute_event", "dispute_event", "disputes_of"]
