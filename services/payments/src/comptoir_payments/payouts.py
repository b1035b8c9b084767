"""Payouts: Stripe pays a provider's balance out to its bank; the provider is told.

``payout.paid`` and ``payout.failed`` come from the provider's connected account
(``event.account``). Each one records or updates a ``payout`` row, books the ledger
(``payout:<po_...>``; ``payout-failed:<po_...>`` reverses it when a paid payout fails
later) and announces ``payments.payout-updated.v1`` through the outbox, all in the
webhook's transaction. Stripe event ids are applied once (``stripe_event``).

Order: ``PAID -> FAILED`` is legitimate at Stripe (the bank returns the money days later:
it goes back to the provider's Stripe balance, so the ledger moves it back too).
``FAILED`` is final: a late or replayed ``payout.paid`` never revives it. A payout first
seen as failed never left the balance, so nothing is booked for it.
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
from comptoir_common.telemetry import ATTR_PROVIDER_ID
from comptoir_payments import domain, ledger
from comptoir_payments.domain import PayoutStatus
from comptoir_payments.store import ConnectedAccount, Payout
from comptoir_payments.stripe_gateway import VerifiedStripeEvent
from comptoir_payments.tracing import SERVICE


def _arrival(obj: dict[str, Any]) -> datetime | None:
    raw = obj.get("arrival_date")
    return datetime.fromtimestamp(raw, UTC) if isinstance(raw, int) and raw > 0 else None


def _failure(obj: dict[str, Any]) -> str:
    text = obj.get("failure_message") or obj.get("failure_code") or "unknown"
    return f"the payout failed: {text}"[:500]


def payout_event(payout: Payout) -> v1.PayoutUpdated:
    return v1.PayoutUpdated(
        payout_id=payout.id,
        provider_id=payout.provider_id,
        territory_id=payout.territory_id,
        amount_cents=payout.amount_cents,
        currency=payout.currency,
        status=PayoutStatus(payout.status).value,  # type: ignore[arg-type]
        arrival_date=payout.arrival_date,
        failure_reason=payout.failure_reason,
    )


async def apply_payout_event(session: AsyncSession, event: VerifiedStripeEvent) -> str:
    """A payout's outcome on a provider's connected account; PAID may fail later, never back."""
    obj = event.data.object
    payout_id = obj.get("id")
    if not isinstance(payout_id, str) or not payout_id.startswith("po_"):
        return "ignored: no payout id"
    if event.account is None:
        return "ignored: mismatch: a payout of the platform's own account"
    account = await session.scalar(
        select(ConnectedAccount).where(ConnectedAccount.account_id == event.account)  # type: ignore[arg-type]
    )
    if account is None:
        return "ignored: mismatch: unknown connected account"
    amount, currency = obj.get("amount"), str(obj.get("currency") or "").upper()
    if not isinstance(amount, int) or amount < 0 or len(currency) != 3:
        return "ignored: no amount or currency"
    trace.get_current_span().set_attribute(ATTR_PROVIDER_ID, str(account.provider_id))
    reported = domain.PAYOUT_EVENTS[event.type]
    # Concurrent first deliveries of one payout: one row, the other waits on its lock.
    inserted = await session.scalar(
        insert(Payout)
        .values(
            id=payout_id,
            provider_id=account.provider_id,
            territory_id=account.territory_id,
            stripe_account_id=account.account_id,
            amount_cents=amount,
            currency=currency,
            status=reported.value,
            arrival_date=_arrival(obj),
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(literal_column("id", String()))
    )
    payout = await session.get(Payout, payout_id, with_for_update=True, populate_existing=True)
    assert payout is not None
    if inserted is not None:
        current = None
    elif payout.stripe_account_id != account.account_id:
        return "ignored: mismatch: not this payout's connected account"
    elif payout.amount_cents != amount or payout.currency != currency:
        return "ignored: mismatch: amount or currency differ"
    else:
        current = PayoutStatus(payout.status)
    new = domain.after_payout_event(current, reported)
    if new is None:
        return f"no change: payout is {PayoutStatus(payout.status).value}"
    payout.status = new
    payout.arrival_date = _arrival(obj) or payout.arrival_date
    payout.failure_reason = _failure(obj) if new == PayoutStatus.FAILED else None
    payout.updated_at = utcnow()
    booking = ledger.payout_posting(
        payout_id=payout.id,
        provider_id=payout.provider_id,
        territory_id=payout.territory_id,
        amount_cents=payout.amount_cents,
        currency=payout.currency,
    )
    if new == PayoutStatus.PAID:
        await ledger.post(session, booking)
    elif current == PayoutStatus.PAID:
        await ledger.post(session, booking.reversed(f"payout-failed:{payout.id}", "payout-failed"))
    add_event(session, payout_event(payout), producer=SERVICE, territory_id=payout.territory_id)
    return f"applied: payout {current.value if current else 'new'} -> {new.value}"


async def payouts_of(session: AsyncSession, provider_id: uuid.UUID) -> list[Payout]:
    """A provider's payouts, newest first."""
    rows = await session.scalars(
        select(Payout)
        .where(Payout.provider_id == provider_id)  # type: ignore[arg-type]
        .order_by(Payout.created_at.desc(), Payout.id)  # type: ignore[attr-defined]
    )
    return list(rows.all())


__all__ = ["apply_payout_event", "payout_event", "payouts_of"]
