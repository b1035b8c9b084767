"""Ledger, payouts, transparency report and reconciliation against PostgreSQL and stripe-mock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from payments_support import (
    Deliver,
    RecordingTransport,
    Tokens,
    World,
    cancelled_event,
    outbox,
    paid_hold,
    payment_answer,
    post_stripe_event,
    stripe_outcomes,
)
from sqlalchemy import select

from comptoir_common.db import SessionFactory
from comptoir_common.service import Runtime
from comptoir_ops import stripe_sim
from comptoir_payments import ledger
from comptoir_payments.reconcile import reconcile
from comptoir_payments.store import LedgerEntry, LedgerTransaction
from comptoir_payments.stripe_gateway import StripeGateway
from comptoir_payments.worker import process_due_refunds

PAYOUT_TOPIC = "payments.payout-updated.v1"


async def ledger_of(
    client: httpx.AsyncClient, tokens: Tokens, territory_id: uuid.UUID, reservation_id: uuid.UUID
) -> list[dict[str, Any]]:
    answer = await client.get(
        "/v1/ledger",
        params={"reservation_id": str(reservation_id)},
        headers=tokens.admin(territory_id),
    )
    assert answer.status_code == 200, answer.text
    body: list[dict[str, Any]] = answer.json()
    return body


def amounts(txn: dict[str, Any]) -> dict[str, int]:
    return {e["account"]: e["amount_cents"] for e in txn["entries"]}


async def test_a_payment_and_a_partial_refund_are_booked_once_and_balance(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens, total_cents=7000)
    answer = await payment_answer(client, tokens, p, hold)
    assert answer["application_fee_cents"] == 175
    paid = stripe_sim.payment_intent_object(answer, "succeeded")
    for _ in range(2):  # Stripe redelivers under new event ids: nothing more is booked
        sent = await post_stripe_event(
            client, "payment_intent.succeeded", paid, account=p.account_id
        )
        assert sent.json()["outcome"] == "no change: payment is SUCCEEDED"

    cancelled = cancelled_event(hold, refund_cents=3500)
    for _ in range(3):
        await deliver(cancelled)
    for _ in range(3):
        await process_due_refunds(runtime)  # stripe-mock answers `succeeded`
    answer = await payment_answer(client, tokens, p, hold)
    [refund] = answer["refunds"]
    assert refund["status"] == "SUCCEEDED"
    for _ in range(3):
        sent = await post_stripe_event(
            client,
            "refund.updated",
            stripe_sim.refund_object(refund, "succeeded", payment=answer),
            account=p.account_id,
        )
        assert sent.status_code == 200

    payment_txn, refund_txn = await ledger_of(client, tokens, p.territory_id, hold.reservation_id)
    assert payment_txn["key"] == f"payment:{hold.reservation_id}"
    assert payment_txn["stripe_ref"].startswith("ch_")
    assert amounts(payment_txn) == {
        "visitor_payments": -7000,
        f"provider:{p.provider_id}": 6825,
        f"office_fee:{p.territory_id}": 175,
    }
    assert refund_txn["kind"] == "refund"
    assert refund_txn["stripe_ref"] == refund["refund_id"]
    assert amounts(refund_txn) == {
        "refunds": 3500,
        f"provider:{p.provider_id}": -3412,
        f"office_fee:{p.territory_id}": -88,
    }
    check = await client.get("/v1/ledger/check", headers=tokens.admin(p.territory_id))
    assert check.json() == {"balanced": True, "transactions": 2, "problems": 0}

    # The refund comes back from the bank: the ledger reverses it, once.
    for _ in range(2):
        await post_stripe_event(
            client,
            "refund.failed",
            stripe_sim.refund_object(refund, "failed", payment=answer),
            account=p.account_id,
        )
    *_, reversal = await ledger_of(client, tokens, p.territory_id, hold.reservation_id)
    assert reversal["kind"] == "refund-failed"
    assert amounts(reversal) == {
        "refunds": -3500,
        f"provider:{p.provider_id}": 3412,
        f"office_fee:{p.territory_id}": 88,
    }
    check = await client.get("/v1/ledger/check", headers=tokens.admin(p.territory_id))
    assert check.json()["transactions"] == 3


async def test_the_ledger_of_a_reservation_is_for_staff_in_scope(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    params = {"reservation_id": str(hold.reservation_id)}
    own = await client.get(
        "/v1/ledger", params=params, headers=tokens.provider(p.territory_id, p.provider_id)
    )
    assert own.status_code == 200 and len(own.json()) == 1
    for headers in (
        tokens.admin(uuid.uuid4()),
        tokens.provider(p.territory_id, uuid.uuid4()),
        tokens.visitor(p.territory_id, hold.reservation_id),
    ):
        answer = await client.get("/v1/ledger", params=params, headers=headers)
        assert answer.status_code == 404
    not_admin = await client.get(
        "/v1/ledger/check", headers=tokens.provider(p.territory_id, p.provider_id)
    )
    assert not_admin.status_code == 403


async def test_the_check_finds_an_unbalanced_transaction(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    async with sessions() as session, session.begin():
        txn_id = await session.scalar(select(LedgerTransaction.id))  # type: ignore[call-overload]
        session.add(
            LedgerEntry(transaction_id=txn_id, account="oops", amount_cents=1, currency="EUR")
        )
        session.add(LedgerTransaction(key="empty:1", kind="payment"))
    async with sessions() as session:
        problems = await ledger.ledger_balances(session)
    assert problems == [
        f"transaction payment:{hold.reservation_id} does not balance: +1 EUR",
        "transaction empty:1 has no entries",
    ]
    check = await client.get("/v1/ledger/check", headers=tokens.admin(p.territory_id))
    assert check.json()["balanced"] is False
    async with sessions() as session:
        try:
            await ledger.post(
                session,
                ledger.Posting(key="bad", kind="payment", entries=(ledger.Entry("a", 1, "EUR"),)),
            )
        except ValueError as exc:
            assert "does not balance" in str(exc)
        else:
            raise AssertionError("an unbalanced posting was written")


async def test_a_paid_payout_that_fails_later_is_announced_and_reversed_once(
    world: World,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p = await world()
    arrival = int((datetime.now(UTC) + timedelta(days=2)).timestamp())
    paid = stripe_sim.payout_object("po_test123", 5000, "EUR", "paid", arrival)
    failed = stripe_sim.payout_object("po_test123", 5000, "EUR", "failed", arrival)
    deliveries = [
        ("payout.paid", paid),
        ("payout.paid", paid),
        ("payout.failed", failed),
        ("payout.failed", failed),
        ("payout.paid", paid),  # late: a failed payout never comes back
    ]
    outcomes = await stripe_outcomes(client, deliveries, account=p.account_id)
    assert outcomes == [
        "applied: payout new -> PAID",
        "no change: payout is PAID",
        "applied: payout PAID -> FAILED",
        "no change: payout is FAILED",
        "no change: payout is FAILED",
    ]
    events = await outbox(sessions, PAYOUT_TOPIC)
    assert [e["data"]["status"] for e in events] == ["PAID", "FAILED"]
    assert events[1]["data"]["failure_reason"] == (
        "the payout failed: The bank account has been closed."
    )
    assert events[1]["data"]["provider_id"] == str(p.provider_id)

    listed = await client.get(
        f"/v1/providers/{p.provider_id}/payouts",
        headers=tokens.provider(p.territory_id, p.provider_id),
    )
    assert listed.status_code == 200
    [payout] = listed.json()
    assert (payout["payout_id"], payout["status"], payout["amount_cents"]) == (
        "po_test123",
        "FAILED",
        5000,
    )
    assert payout["arrival_date"] is not None
    office = await client.get(
        f"/v1/providers/{p.provider_id}/payouts", headers=tokens.admin(p.territory_id)
    )
    assert office.status_code == 200
    for headers in (tokens.admin(uuid.uuid4()), tokens.provider(p.territory_id, uuid.uuid4())):
        other = await client.get(f"/v1/providers/{p.provider_id}/payouts", headers=headers)
        assert other.status_code == 404

    async with sessions() as session:
        paid_txn = await ledger.posting_of(session, "payout:po_test123")
        failed_txn = await ledger.posting_of(session, "payout-failed:po_test123")
        assert await ledger.ledger_balances(session) == []
    assert paid_txn is not None and failed_txn is not None
    provider = f"provider:{p.provider_id}"
    assert {e.account: e.amount_cents for e in paid_txn.entries}[provider] == -5000
    assert {e.account: e.amount_cents for e in failed_txn.entries}[provider] == 5000

    stranger = await post_stripe_event(client, "payout.paid", paid, account="acct_unknown")
    assert stranger.json()["outcome"] == "ignored: mismatch: unknown connected account"


async def test_the_transparency_report_of_a_small_scenario(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens, total_cents=7000)
    await deliver(cancelled_event(hold, refund_cents=3500))
    assert await process_due_refunds(runtime) == 1
    sent = await post_stripe_event(
        client,
        "payout.paid",
        stripe_sim.payout_object("po_report1", 3000, "EUR", "paid"),
        account=p.account_id,
    )
    assert sent.status_code == 200
    today = datetime.now(UTC).date()
    params = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    url = f"/v1/territories/{p.territory_id}/report"
    answer = await client.get(url, params=params, headers=tokens.admin(p.territory_id))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["timezone"] == "Europe/Paris"
    [totals] = body["totals"]
    assert totals == {
        "currency": "EUR",
        "gross_cents": 7000,
        "refunds_cents": 3500,
        "net_cents": 3500,
        "paid_to_providers_cents": 3413,
        "office_fee_cents": 87,
        "stripe_fees_cents": 0,
        "payouts_cents": 3000,
        "payments": 1,
        "refunds": 1,
        "disputed_cents": 0,
        "disputes": 0,
    }
    assert body["failed_refunds"] == []
    [line] = body["providers"]
    assert line["provider_id"] == str(p.provider_id)
    assert line["provider_name"] == "Kayak du Verdon"
    assert line["net_cents"] == 3500

    earlier = {"from": "2020-01-01", "to": "2020-01-31"}
    empty = await client.get(url, params=earlier, headers=tokens.admin(p.territory_id))
    assert empty.json()["totals"] == []
    for headers in (tokens.admin(uuid.uuid4()), tokens.provider(p.territory_id, p.provider_id)):
        denied = await client.get(url, params=params, headers=headers)
        assert denied.status_code == 404


async def test_reconciliation_asks_stripe_per_connected_account(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
    gateway: StripeGateway,
    stripe_http: RecordingTransport,
) -> None:
    p, _ = await paid_hold(world, deliver, runtime, client, tokens, total_cents=7000)
    since = datetime.now(UTC) - timedelta(hours=1)
    async with sessions() as session:
        differences = await reconcile(session, gateway.client, since)
    [call] = stripe_http.to("GET", "/v1/balance_transactions")
    assert call.headers["stripe-account"] == p.account_id
    assert call.query["created[gte]"] == str(int(since.timestamp()))
    # stripe-mock answers a fixture list: our charge is not in it, its charge is not ours.
    found = {(d.problem, d.ours_cents, d.account) for d in differences}
    assert ("missing at Stripe", 7000, p.account_id) in found
    assert any(d.problem == "missing on our side" for d in differences)
