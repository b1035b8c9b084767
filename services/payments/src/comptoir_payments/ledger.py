"""The double-entry ledger: every money movement, in signed integer cents, balanced.

Each movement is one ``LedgerTransaction`` whose entries sum to zero per currency. It is
written in the same database transaction as the state change that causes it, and at
most once per cause: its ``key`` is unique (``payment:<reservation>``,
``refund:<refund id>``, ``refund-failed:<refund id>``, ``stripe-fee:<txn_...>``,
``payout:<po_...>``, ``payout-failed:<po_...>``, ``dispute:<dp_...>``,
``dispute-won:<dp_...>``).

Accounts and signs (money in from visitors is negative, where it ends up is positive)::

    visitor_payments         what visitors paid                        (-)
    refunds                  what went back to visitors                (+)
    provider:<id>            the provider's balance on its Stripe account
    office_fee:<territory>   the territory's application fee
    stripe_fees              Stripe's processing fee (paid by the provider: direct charges)
    provider_bank:<id>       paid out from the provider's Stripe balance to its bank
    disputes                 taken from the provider's balance by a visitor's bank dispute

A payment of 7000 with an office fee of 175: visitor_payments -7000, provider +6825,
office_fee +175. A refund of 3500 of it: refunds +3500, provider -3412, office_fee -88.

The pure posting rules come first; the few functions that read or write come last.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from comptoir_common.db import utcnow
from comptoir_payments.store import LedgerEntry, LedgerTransaction

VISITOR_PAYMENTS = "visitor_payments"
REFUNDS = "refunds"
STRIPE_FEES = "stripe_fees"
DISPUTES = "disputes"


def provider_account(provider_id: uuid.UUID) -> str:
    return f"provider:{provider_id}"


def office_fee_account(territory_id: uuid.UUID) -> str:
    return f"office_fee:{territory_id}"


def provider_bank_account(provider_id: uuid.UUID) -> str:
    return f"provider_bank:{provider_id}"


# --- pure rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    account: str
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class Posting:
    """A ledger transaction to write: balanced per currency by construction (checked)."""

    key: str
    kind: str
    entries: tuple[Entry, ...]
    reservation_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    territory_id: uuid.UUID | None = None
    stripe_ref: str | None = None
    occurred_at: datetime | None = None

    def reversed(self, key: str, kind: str, stripe_ref: str | None = None) -> Posting:
        return Posting(
            key=key,
            kind=kind,
            entries=tuple(Entry(e.account, -e.amount_cents, e.currency) for e in self.entries),
            reservation_id=self.reservation_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            stripe_ref=stripe_ref or self.stripe_ref,
        )


def imbalance(entries: Iterable[Entry]) -> dict[str, int]:
    """Per currency, what the entries do not balance by (empty when balanced)."""
    sums: dict[str, int] = defaultdict(int)
    for entry in entries:
        sums[entry.currency] += entry.amount_cents
    return {currency: total for currency, total in sums.items() if total != 0}


def _entries(currency: str, *pairs: tuple[str, int]) -> tuple[Entry, ...]:
    """Entries of one currency, leaving out the zero ones (no fee: no office fee line)."""
    return tuple(Entry(account, amount, currency) for account, amount in pairs if amount != 0)


def payment_posting(
    *,
    reservation_id: uuid.UUID,
    provider_id: uuid.UUID,
    territory_id: uuid.UUID,
    amount_cents: int,
    fee_cents: int,
    currency: str,
    stripe_ref: str | None,
) -> Posting:
    """A succeeded direct charge: the visitor's money, the provider's share, the office fee."""
    return Posting(
        key=f"payment:{reservation_id}",
        kind="payment",
        entries=_entries(
            currency,
            (VISITOR_PAYMENTS, -amount_cents),
            (provider_account(provider_id), amount_cents - fee_cents),
            (office_fee_account(territory_id), fee_cents),
        ),
        reservation_id=reservation_id,
        provider_id=provider_id,
        territory_id=territory_id,
        stripe_ref=stripe_ref,
    )


def _half_up_share(fee_cents: int, part_cents: int, whole_cents: int) -> int:
    return (2 * fee_cents * part_cents + whole_cents) // (2 * whole_cents)


def refund_fee_share(
    *,
    fee_cents: int,
    paid_cents: int,
    refunded_before_cents: int,
    fee_returned_before_cents: int,
    refund_cents: int,
) -> int:
    """The office fee that goes back with a refund (Stripe's ``refund_application_fee``).

    In proportion to the amount, computed on the running total and rounded half up:
    ``round(fee * (refunded before + this refund) / paid) - fee already returned``. So
    partial refunds never drift, and refunding the whole payment returns exactly the whole
    fee. 175 on 7000, refund 3500: 87.5 -> 88; the other 3500 then returns 87.
    """
    if fee_cents <= 0 or paid_cents <= 0 or refund_cents <= 0:
        return 0
    refunded_after = min(paid_cents, refunded_before_cents + refund_cents)
    share = _half_up_share(fee_cents, refunded_after, paid_cents) - fee_returned_before_cents
    return max(0, min(share, fee_cents - fee_returned_before_cents))


def refund_posting(
    *,
    refund_id: uuid.UUID,
    reservation_id: uuid.UUID,
    provider_id: uuid.UUID,
    territory_id: uuid.UUID,
    amount_cents: int,
    fee_share_cents: int,
    currency: str,
    stripe_ref: str | None,
) -> Posting:
    """Money back to the visitor: out of the provider's balance and its share of the fee."""
    return Posting(
        key=f"refund:{refund_id}",
        kind="refund",
        entries=_entries(
            currency,
            (REFUNDS, amount_cents),
            (provider_account(provider_id), -(amount_cents - fee_share_cents)),
            (office_fee_account(territory_id), -fee_share_cents),
        ),
        reservation_id=reservation_id,
        provider_id=provider_id,
        territory_id=territory_id,
        stripe_ref=stripe_ref,
    )


def stripe_fee_posting(
    *,
    balance_transaction_id: str,
    reservation_id: uuid.UUID,
    provider_id: uuid.UUID,
    territory_id: uuid.UUID,
    fee_cents: int,
    currency: str,
) -> Posting:
    """Stripe's own fee on a direct charge, taken from the provider's balance."""
    return Posting(
        key=f"stripe-fee:{balance_transaction_id}",
        kind="stripe-fee",
        entries=_entries(
            currency, (provider_account(provider_id), -fee_cents), (STRIPE_FEES, fee_cents)
        ),
        reservation_id=reservation_id,
        provider_id=provider_id,
        territory_id=territory_id,
    )


def payout_posting(
    *,
    payout_id: str,
    provider_id: uuid.UUID,
    territory_id: uuid.UUID,
    amount_cents: int,
    currency: str,
) -> Posting:
    """Stripe paid the provider's balance out to its bank."""
    return Posting(
        key=f"payout:{payout_id}",
        kind="payout",
        entries=_entries(
            currency,
            (provider_account(provider_id), -amount_cents),
            (provider_bank_account(provider_id), amount_cents),
        ),
        provider_id=provider_id,
        territory_id=territory_id,
        stripe_ref=payout_id,
    )


def dispute_posting(
    *,
    dispute_id: str,
    reservation_id: uuid.UUID,
    provider_id: uuid.UUID,
    territory_id: uuid.UUID,
    amount_cents: int,
    currency: str,
) -> Posting:
    """A visitor's bank disputed the charge: Stripe takes the amount from the provider's
    balance (a direct charge: the provider is the merchant of record). Reversed
    (``dispute-won:<dp_...>``) when the provider wins the dispute."""
    return Posting(
        key=f"dispute:{dispute_id}",
        kind="dispute",
        entries=_entries(
            currency, (provider_account(provider_id), -amount_cents), (DISPUTES, amount_cents)
        ),
        reservation_id=reservation_id,
        provider_id=provider_id,
        territory_id=territory_id,
        stripe_ref=dispute_id,
    )


# --- reading and writing -----------------------------------------------------------------


async def post(session: AsyncSession, posting: Posting) -> bool:
    """Write ``posting`` in the caller's transaction, once per key; True when written now."""
    unbalanced = imbalance(posting.entries)
    if unbalanced:
        raise ValueError(f"ledger transaction {posting.key} does not balance: {unbalanced}")
    txn_id = await session.scalar(
        insert(LedgerTransaction)
        .values(
            key=posting.key,
            kind=posting.kind,
            reservation_id=posting.reservation_id,
            provider_id=posting.provider_id,
            territory_id=posting.territory_id,
            stripe_ref=posting.stripe_ref,
            occurred_at=posting.occurred_at or utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(LedgerTransaction.id))
    )
    if txn_id is None:
        return False
    for entry in posting.entries:
        session.add(
            LedgerEntry(
                transaction_id=txn_id,
                account=entry.account,
                amount_cents=entry.amount_cents,
                currency=entry.currency,
            )
        )
    await session.flush()
    return True


async def posting_of(session: AsyncSession, key: str) -> Posting | None:
    """A written transaction read back (to reverse it exactly)."""
    txn = await session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.key == key)  # type: ignore[arg-type]
    )
    if txn is None:
        return None
    rows = await session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.transaction_id == txn.id)  # type: ignore[arg-type]
        .order_by(LedgerEntry.id)  # type: ignore[arg-type]
    )
    return Posting(
        key=txn.key,
        kind=txn.kind,
        entries=tuple(Entry(e.account, e.amount_cents, e.currency) for e in rows.all()),
        reservation_id=txn.reservation_id,
        provider_id=txn.provider_id,
        territory_id=txn.territory_id,
        stripe_ref=txn.stripe_ref,
    )


async def account_total(
    session: AsyncSession, account: str, *, reservation_id: uuid.UUID, kinds: Sequence[str]
) -> int:
    """Sum of one account's entries over a reservation's transactions of the given kinds."""
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)  # type: ignore[arg-type]
        .where(LedgerTransaction.reservation_id == reservation_id)  # type: ignore[arg-type]
        .where(LedgerTransaction.kind.in_(kinds))  # type: ignore[attr-defined]
        .where(LedgerEntry.account == account)  # type: ignore[arg-type]
    )
    return int(total or 0)


async def ledger_balances(session: AsyncSession) -> list[str]:
    """Every problem found: a transaction that does not sum to zero in some currency, an
    entry whose transaction does not exist, a transaction without entries. Empty: sound."""
    problems: list[str] = []
    unbalanced = await session.execute(
        select(
            col(LedgerTransaction.key),
            col(LedgerEntry.currency),
            func.sum(LedgerEntry.amount_cents),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)  # type: ignore[arg-type]
        .group_by(LedgerTransaction.key, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.amount_cents) != 0)
        .order_by(LedgerTransaction.key)
    )
    for key, currency, total in unbalanced.all():
        problems.append(f"transaction {key} does not balance: {int(total):+d} {currency}")
    orphans = await session.scalars(
        select(col(LedgerEntry.id))
        .outerjoin(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)  # type: ignore[arg-type]
        .where(LedgerTransaction.id.is_(None))  # type: ignore[union-attr]
        .order_by(LedgerEntry.id)  # type: ignore[arg-type]
    )
    problems.extend(f"entry {entry_id} has no transaction" for entry_id in orphans.all())
    empty = await session.scalars(
        select(col(LedgerTransaction.key))
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)  # type: ignore[arg-type]
        .where(LedgerEntry.id.is_(None))  # type: ignore[union-attr]
        .order_by(LedgerTransaction.key)
    )
    problems.extend(f"transaction {key} has no entries" for key in empty.all())
    return problems


async def transaction_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0)


async def transactions_of(
    session: AsyncSession, reservation_id: uuid.UUID
) -> list[tuple[LedgerTransaction, list[LedgerEntry]]]:
    """A reservation's transactions, oldest first, each with its entries."""
    txns = (
        await session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.reservation_id == reservation_id)  # type: ignore[arg-type]
            .order_by(LedgerTransaction.id)  # type: ignore[arg-type]
        )
    ).all()
    if not txns:
        return []
    entries = (
        await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.transaction_id.in_([t.id for t in txns]))  # type: ignore[attr-defined]
            .order_by(LedgerEntry.id)  # type: ignore[arg-type]
        )
    ).all()
    by_txn: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        by_txn[entry.transaction_id].append(entry)
    return [(t, by_txn[t.id or 0]) for t in txns]
