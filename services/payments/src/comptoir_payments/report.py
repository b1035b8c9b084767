"""The transparency report of a territory: where the visitors' money went, from the ledger.

Days are the territory's local days (its IANA time zone from catalog's
``TerritoryUpdated``; UTC when unknown): ``from`` and ``to`` are inclusive, so the period
is ``[from 00:00 local, to + 1 day 00:00 local)``. A movement counts on the day it was
booked in the ledger (the payment's or refund's success), whatever the slot's date.

Per currency, and per provider and currency:

- ``gross_cents``: what visitors paid (succeeded payments);
- ``refunds_cents``: what went back to visitors (refunds that failed later are taken off);
- ``net_cents`` = gross - refunds;
- ``paid_to_providers_cents``: the providers' share of ``net`` (on their Stripe accounts);
- ``office_fee_cents``: the territory's visible fee, net of the share refunded with refunds;
  ``net = paid_to_providers + office_fee`` always;
- ``stripe_fees_cents``: Stripe's own fees, paid by the providers (when Stripe told us);
- ``payouts_cents``: what Stripe paid out to the providers' banks (failed payouts taken off);
- ``disputed_cents``: what visitors' banks took back from the providers' balances by
  disputes (disputes won are taken off); ``disputes``: how many disputes took money;
- ``payments`` and ``refunds``: how many (refunds that failed later are not counted).

Next to the totals, the report lists the refunds that failed in the period (the visitor
has not got the money back: the office follows them up).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from comptoir_payments import ledger
from comptoir_payments.domain import RefundStatus
from comptoir_payments.store import LedgerEntry, LedgerTransaction, Payment, Refund

BOOKING_KINDS = frozenset({"payment", "refund", "refund-failed"})


@dataclass(frozen=True)
class Row:
    """A sum of entries: one kind of transaction, one account, one provider, one currency."""

    kind: str
    provider_id: uuid.UUID | None
    account: str
    currency: str
    amount_cents: int
    transactions: int


@dataclass
class Totals:
    currency: str
    gross_cents: int = 0
    refunds_cents: int = 0
    net_cents: int = 0
    paid_to_providers_cents: int = 0
    office_fee_cents: int = 0
    stripe_fees_cents: int = 0
    payouts_cents: int = 0
    payments: int = 0
    refunds: int = 0
    disputed_cents: int = 0
    disputes: int = 0


def _add(totals: Totals, row: Row) -> None:
    account = row.account
    if account == ledger.VISITOR_PAYMENTS:
        totals.gross_cents -= row.amount_cents
        totals.payments += row.transactions
    elif account == ledger.REFUNDS:
        totals.refunds_cents += row.amount_cents
        totals.refunds += row.transactions if row.kind == "refund" else -row.transactions
    elif account.startswith("provider:") and row.kind in BOOKING_KINDS:
        totals.paid_to_providers_cents += row.amount_cents
    elif account.startswith("office_fee:"):
        totals.office_fee_cents += row.amount_cents
    elif account == ledger.STRIPE_FEES:
        totals.stripe_fees_cents += row.amount_cents
    elif account.startswith("provider_bank:"):
        totals.payouts_cents += row.amount_cents
    elif account == ledger.DISPUTES:
        totals.disputed_cents += row.amount_cents
        totals.disputes += row.transactions if row.kind == "dispute" else 0
    totals.net_cents = totals.gross_cents - totals.refunds_cents


def summarize(rows: Iterable[Row]) -> tuple[list[Totals], list[tuple[uuid.UUID, Totals]]]:
    """Per currency, and per (provider, currency), from the ledger's sums. Pure."""
    by_currency: dict[str, Totals] = {}
    by_provider: dict[tuple[uuid.UUID, str], Totals] = {}
    for row in rows:
        _add(by_currency.setdefault(row.currency, Totals(row.currency)), row)
        if row.provider_id is not None:
            key = (row.provider_id, row.currency)
            _add(by_provider.setdefault(key, Totals(row.currency)), row)
    currencies = [by_currency[c] for c in sorted(by_currency)]
    providers = [(p, by_provider[(p, c)]) for p, c in sorted(by_provider, key=str)]
    return currencies, providers


def zone_of(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def period(start: date, end: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in ``zone``, as aware datetimes."""
    return (
        datetime.combine(start, time(), zone),
        datetime.combine(end + timedelta(days=1), time(), zone),
    )


async def ledger_rows(
    session: AsyncSession, territory_id: uuid.UUID, since: datetime, until: datetime
) -> list[Row]:
    result = await session.execute(
        select(
            col(LedgerTransaction.kind),
            col(LedgerTransaction.provider_id),
            col(LedgerEntry.account),
            col(LedgerEntry.currency),
            func.sum(LedgerEntry.amount_cents),
            func.count(func.distinct(LedgerTransaction.id)),
        )
        .join(LedgerEntry, col(LedgerEntry.transaction_id) == col(LedgerTransaction.id))
        .where(col(LedgerTransaction.territory_id) == territory_id)
        .where(col(LedgerTransaction.occurred_at) >= since)
        .where(col(LedgerTransaction.occurred_at) < until)
        .group_by(
            col(LedgerTransaction.kind),
            col(LedgerTransaction.provider_id),
            col(LedgerEntry.account),
            col(LedgerEntry.currency),
        )
    )
    return [
        Row(kind, provider_id, account, currency, int(total), int(count))
        for kind, provider_id, account, currency, total, count in result.all()
    ]


async def failed_refunds(
    session: AsyncSession, territory_id: uuid.UUID, since: datetime, until: datetime
) -> list[tuple[Refund, Payment]]:
    """The territory's refunds that ended FAILED in the period, oldest first."""
    return await refunds_of_territory(
        session, territory_id, RefundStatus.FAILED, since=since, until=until
    )


async def refunds_of_territory(
    session: AsyncSession,
    territory_id: uuid.UUID,
    status: RefundStatus | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[tuple[Refund, Payment]]:
    """A territory's refunds (of one status, last changed in a period), with their payment."""
    query = (
        select(Refund, Payment)
        .join(Payment, col(Payment.reservation_id) == col(Refund.reservation_id))
        .where(col(Payment.territory_id) == territory_id)
    )
    if status is not None:
        query = query.where(col(Refund.status) == status)
    if since is not None:
        query = query.where(col(Refund.updated_at) >= since)
    if until is not None:
        query = query.where(col(Refund.updated_at) < until)
    result = await session.execute(
        query.order_by(col(Refund.updated_at), col(Refund.id)).limit(limit)
    )
    return [(refund, payment) for refund, payment in result.all()]
