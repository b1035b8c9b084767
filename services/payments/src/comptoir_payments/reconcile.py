"""Reconciliation: Stripe's balance transactions on each connected account against the ledger.

``python -m comptoir_payments.reconcile --since 2026-06-01`` lists, for every connected
account we know, Stripe's balance transactions created since then
(``GET /v1/balance_transactions`` with ``Stripe-Account``) and compares them with the
ledger's movements on that provider's balance: missing on our side, missing at Stripe,
amounts that differ. It prints a table and exits 1 when anything differs.

A ledger movement and a balance transaction are the same when they are on the same
account, about the same Stripe object (``source``: ``ch_``, ``re_``, ``po_``) and of the
same class (charge, refund, payout, and their failures). The amount compared is the gross
``amount`` of the balance transaction (signed as on the provider's balance); fees are not
compared (Stripe's ``fee`` holds the office fee and its own). Disputes are Stripe's
``adjustment`` transactions whose source is the dispute (``dp_``). Stripe's fee lines and
other types (``stripe_fee``, ``application_fee``, other adjustments) are left out.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from comptoir_payments import ledger
from comptoir_payments.store import ConnectedAccount, LedgerEntry, LedgerTransaction

#: Stripe balance transaction type -> the class we compare on.
STRIPE_CLASSES = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "refund_failure": "refund_failure",
    "payment_failure_refund": "refund_failure",
    "payout": "payout",
    "payout_failure": "payout_failure",
}
#: Our transaction kinds -> the same classes.
LEDGER_CLASSES = {
    "payment": "charge",
    "refund": "refund",
    "refund-failed": "refund_failure",
    "payout": "payout",
    "payout-failed": "payout_failure",
    "dispute": "dispute",
    "dispute-won": "dispute_reversal",
}


@dataclass(frozen=True)
class Line:
    """One movement on a connected account's balance, as either side sees it."""

    account: str
    ref: str
    kind: str
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class Difference:
    account: str
    ref: str
    kind: str
    problem: str
    ours_cents: int | None
    stripe_cents: int | None
    currency: str


def diff(ours: Iterable[Line], theirs: Iterable[Line]) -> list[Difference]:
    """What differs between the ledger's lines and Stripe's. Pure."""
    mine = {(x.account, x.ref, x.kind): x for x in ours}
    stripes = {(x.account, x.ref, x.kind): x for x in theirs}
    found: list[Difference] = []
    for key in sorted(mine.keys() | stripes.keys()):
        a, b = mine.get(key), stripes.get(key)
        line = a or b
        assert line is not None
        if b is None:
            problem = "missing at Stripe"
        elif a is None:
            problem = "missing on our side"
        elif (a.amount_cents, a.currency) != (b.amount_cents, b.currency):
            problem = "amounts differ"
        else:
            continue
        found.append(
            Difference(
                account=line.account,
                ref=line.ref,
                kind=line.kind,
                problem=problem,
                ours_cents=a.amount_cents if a else None,
                stripe_cents=b.amount_cents if b else None,
                currency=line.currency,
            )
        )
    return found


def stripe_line(account: str, txn: dict[str, Any]) -> Line | None:
    """A balance transaction as a comparable line (None for types we do not book)."""
    kind = STRIPE_CLASSES.get(str(txn.get("type")))
    source = txn.get("source")
    if isinstance(source, dict):
        source = source.get("id")
    if not isinstance(source, str):
        return None
    if txn.get("type") == "adjustment" and source.startswith("dp_"):
        # A dispute takes the amount (negative), a won dispute gives it back.
        kind = "dispute" if int(txn.get("amount") or 0) < 0 else "dispute_reversal"
    if kind is None:
        return None
    return Line(
        account, source, kind, int(txn.get("amount") or 0), str(txn.get("currency")).upper()
    )


async def ledger_lines(
    session: AsyncSession, provider_id: uuid.UUID, account: str, since: datetime
) -> list[Line]:
    """The ledger's movements on one provider's Stripe balance since ``since``."""
    result = await session.execute(
        select(
            col(LedgerTransaction.kind),
            col(LedgerTransaction.stripe_ref),
            col(LedgerEntry.amount_cents),
            col(LedgerEntry.currency),
            col(LedgerEntry.account),
        )
        .join(LedgerEntry, col(LedgerEntry.transaction_id) == col(LedgerTransaction.id))
        .where(col(LedgerTransaction.provider_id) == provider_id)
        .where(col(LedgerTransaction.occurred_at) >= since)
        .where(col(LedgerTransaction.kind).in_(LEDGER_CLASSES))
        .where(col(LedgerTransaction.stripe_ref).is_not(None))
    )
    provider = ledger.provider_account(provider_id)
    lines: list[Line] = []
    for kind, ref, amount, currency, entry_account in result.all():
        if kind in ("payment", "refund", "refund-failed"):
            # Stripe's gross amount: the visitor's side of the movement.
            if entry_account not in (ledger.VISITOR_PAYMENTS, ledger.REFUNDS):
                continue
            lines.append(Line(account, ref, LEDGER_CLASSES[kind], -int(amount), currency))
        elif entry_account == provider:
            lines.append(Line(account, ref, LEDGER_CLASSES[kind], int(amount), currency))
    return lines


async def stripe_lines(client: stripe.StripeClient, account: str, since: datetime) -> list[Line]:
    """Every balance transaction of a connected account created since ``since``."""
    page = await client.v1.balance_transactions.list_async(
        {"created": {"gte": int(since.timestamp())}, "limit": 100},
        {"stripe_account": account},
    )
    lines: list[Line] = []
    async for txn in page.auto_paging_iter():
        line = stripe_line(account, txn.to_dict())
        if line is not None:
            lines.append(line)
    return lines


async def reconcile(
    session: AsyncSession, stripe_client: stripe.StripeClient, since: datetime
) -> list[Difference]:
    """Compare every connected account's balance transactions with the ledger."""
    accounts = (
        await session.scalars(select(ConnectedAccount).order_by(col(ConnectedAccount.account_id)))
    ).all()
    differences: list[Difference] = []
    for account in accounts:
        ours = await ledger_lines(session, account.provider_id, account.account_id, since)
        theirs = await stripe_lines(stripe_client, account.account_id, since)
        differences.extend(diff(ours, theirs))
    return differences


def table(differences: Sequence[Difference]) -> str:
    header = ("account", "stripe object", "kind", "problem", "ours", "stripe", "currency")
    rows = [header] + [
        (
            d.account,
            d.ref,
            d.kind,
            d.problem,
            "" if d.ours_cents is None else str(d.ours_cents),
            "" if d.stripe_cents is None else str(d.stripe_cents),
            d.currency,
        )
        for d in differences
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows)


async def _main(since: datetime) -> int:
    from comptoir_common.db import make_engine, make_session_factory
    from comptoir_payments.main import PaymentsSettings

    settings = PaymentsSettings()
    engine = make_engine(settings.database_url, pool_size=1)
    http_client = stripe.HTTPXClient(timeout=30)
    client = stripe.StripeClient(
        settings.stripe_api_key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=http_client,
    )
    try:
        async with make_session_factory(engine)() as session:
            differences = await reconcile(session, client, since)
    finally:
        await http_client.close_async()
        await engine.dispose()
    if not differences:
        print(f"ledger and Stripe agree since {since.isoformat()}")
        return 0
    print(table(differences))
    print(f"\n{len(differences)} difference(s)")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m comptoir_payments.reconcile", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--since", type=date.fromisoformat, required=True, help="YYYY-MM-DD (UTC)")
    args = parser.parse_args(argv)
    return asyncio.run(_main(datetime.combine(args.since, time(), UTC)))


if __name__ == "__main__":
    sys.exit(main())
