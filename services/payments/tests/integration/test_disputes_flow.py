"""Disputes and failed refunds as the office and the provider follow them up."""

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

from comptoir_common.db import SessionFactory
from comptoir_common.service import Runtime
from comptoir_ops import stripe_sim
from comptoir_payments import ledger
from comptoir_payments.worker import process_due_refunds

DISPUTE_TOPIC = "payments.dispute-updated.v1"
REFUND_TOPIC = "payments.refund-updated.v1"


async def report(client: httpx.AsyncClient, tokens: Tokens, territory_id: uuid.UUID) -> Any:
    today = datetime.now(UTC).date()
    answer = await client.get(
        f"/v1/territories/{territory_id}/report",
        params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
        headers=tokens.admin(territory_id),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_dispute_takes_the_amount_from_the_provider_once_and_a_win_gives_it_back(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens, total_cents=7000)
    payment = await payment_answer(client, tokens, p, hold)
    opened = stripe_sim.dispute_object(payment, "dp_test1", "needs_response")
    review = stripe_sim.dispute_object(payment, "dp_test1", "under_review")
    won = stripe_sim.dispute_object(payment, "dp_test1", "won")
    deliveries = [
        ("charge.dispute.created", opened),
        ("charge.dispute.funds_withdrawn", opened),
        ("charge.dispute.updated", review),
        ("charge.dispute.closed", won),
        ("charge.dispute.funds_reinstated", won),
        ("charge.dispute.updated", review),  # late: a closed dispute never reopens
    ]
    outcomes = await stripe_outcomes(client, deliveries, account=p.account_id)
    assert outcomes == [
        "applied: dispute new -> needs_response",
        "no change: dispute is needs_response",
        "applied: dispute needs_response -> under_review",
        "applied: dispute under_review -> won",
        "no change: dispute is won",
        "no change: dispute is won",
    ]
    events = await outbox(sessions, DISPUTE_TOPIC)
    assert [(e["data"]["status"], e["data"]["funds_withdrawn"]) for e in events] == [
        ("needs_response", True),
        ("under_review", True),
        ("won", False),
    ]
    assert {e["aggregate_id"] for e in events} == {str(hold.reservation_id)}

    async with sessions() as session:
        taken = await ledger.posting_of(session, "dispute:dp_test1")
        back = await ledger.posting_of(session, "dispute-won:dp_test1")
        assert await ledger.ledger_balances(session) == []
    assert taken is not None and back is not None
    provider = f"provider:{p.provider_id}"
    assert {e.account: e.amount_cents for e in taken.entries} == {
        provider: -7000,
        "disputes": 7000,
    }
    assert {e.account: e.amount_cents for e in back.entries} == {
        provider: 7000,
        "disputes": -7000,
    }
    [totals] = (await report(client, tokens, p.territory_id))["totals"]
    assert (totals["disputed_cents"], totals["disputes"], totals["gross_cents"]) == (0, 1, 7000)

    for url, headers in [
        (f"/v1/territories/{p.territory_id}/disputes", tokens.admin(p.territory_id)),
        (
            f"/v1/providers/{p.provider_id}/disputes",
            tokens.provider(p.territory_id, p.provider_id),
        ),
    ]:
        listed = await client.get(url, headers=headers)
        assert listed.status_code == 200, listed.text
        [dispute] = listed.json()
        assert (dispute["dispute_id"], dispute["status"], dispute["amount_cents"]) == (
            "dp_test1",
            "won",
            7000,
        )
        assert dispute["reservation_id"] == str(hold.reservation_id)
        assert dispute["funds_withdrawn"] is False and dispute["evidence_due_by"] is not None
    for url, headers in [
        (f"/v1/territories/{p.territory_id}/disputes", tokens.admin(uuid.uuid4())),
        (
            f"/v1/territories/{p.territory_id}/disputes",
            tokens.provider(p.territory_id, p.provider_id),
        ),
        (f"/v1/providers/{p.provider_id}/disputes", tokens.provider(p.territory_id, uuid.uuid4())),
    ]:
        assert (await client.get(url, headers=headers)).status_code == 404


async def test_a_lost_dispute_seen_first_keeps_the_money_gone_and_is_reported(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens, total_cents=4200)
    payment = await payment_answer(client, tokens, p, hold)
    lost = stripe_sim.dispute_object(payment, "dp_lost1", "lost", amount_cents=2000)
    opened = stripe_sim.dispute_object(payment, "dp_lost1", "needs_response", amount_cents=2000)
    # Stripe's deliveries out of order: the closing event first, the opening one late.
    deliveries = [
        ("charge.dispute.closed", lost),
        ("charge.dispute.created", opened),
        ("charge.dispute.closed", lost),
    ]
    assert await stripe_outcomes(client, deliveries, account=p.account_id) == [
        "applied: dispute new -> lost",
        "no change: dispute is lost",
        "no change: dispute is lost",
    ]
    async with sessions() as session:
        assert await ledger.posting_of(session, "dispute:dp_lost1") is not None
        assert await ledger.posting_of(session, "dispute-won:dp_lost1") is None
        assert await ledger.ledger_balances(session) == []
    assert len(await outbox(sessions, DISPUTE_TOPIC)) == 1
    [totals] = (await report(client, tokens, p.territory_id))["totals"]
    assert (totals["disputed_cents"], totals["disputes"]) == (2000, 1)
    [line] = (await report(client, tokens, p.territory_id))["providers"]
    assert line["disputed_cents"] == 2000


async def test_disputes_that_do_not_match_our_records_move_no_money(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens, total_cents=4200)
    payment = await payment_answer(client, tokens, p, hold)
    inquiry = stripe_sim.dispute_object(payment, "dp_inquiry", "warning_needs_response")
    cases = [
        (stripe_sim.dispute_object(payment, "dp_x", "needs_response"), "acct_other"),
        (
            stripe_sim.dispute_object(payment, "dp_x", "needs_response", amount_cents=9999),
            p.account_id,
        ),
        (stripe_sim.dispute_object(payment, "dp_x", "needs_response") | {"currency": "usd"}, None),
        (
            stripe_sim.dispute_object(payment, "dp_x", "needs_response")
            | {"payment_intent": "pi_unknown"},
            p.account_id,
        ),
    ]
    for obj, account in cases:
        sent = await post_stripe_event(client, "charge.dispute.created", obj, account=account)
        assert sent.status_code == 200
        assert sent.json()["outcome"].startswith("ignored: mismatch"), sent.json()
    sent = await post_stripe_event(client, "charge.dispute.created", inquiry, account=p.account_id)
    assert sent.json()["outcome"] == "applied: dispute new -> warning_needs_response"
    async with sessions() as session:
        assert await ledger.posting_of(session, "dispute:dp_inquiry") is None
    assert [e["data"]["funds_withdrawn"] for e in await outbox(sessions, DISPUTE_TOPIC)] == [False]


async def test_a_failed_refund_is_listed_for_the_office_and_in_the_report(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens, total_cents=4200)
    await deliver(cancelled_event(hold, refund_cents=4200))
    # Stripe accepts the refund but it is still pending; the bank refuses it later.
    stripe_http.answer_fields = {"status": "pending"}
    assert await process_due_refunds(runtime) == 1
    payment = await payment_answer(client, tokens, p, hold)
    [refund] = payment["refunds"]
    pending = await client.get(
        f"/v1/territories/{p.territory_id}/refunds",
        params={"status": "PENDING"},
        headers=tokens.admin(p.territory_id),
    )
    assert [r["status"] for r in pending.json()] == ["PENDING"]
    failed = stripe_sim.refund_object(refund, "failed", payment=payment)
    sent = await post_stripe_event(client, "refund.failed", failed, account=p.account_id)
    assert sent.json()["outcome"] == "applied: refund PENDING -> FAILED"

    listed = await client.get(
        f"/v1/territories/{p.territory_id}/refunds",
        params={"status": "FAILED"},
        headers=tokens.admin(p.territory_id),
    )
    assert listed.status_code == 200, listed.text
    [row] = listed.json()
    assert row["reservation_id"] == str(hold.reservation_id)
    assert row["provider_id"] == str(p.provider_id)
    assert (row["amount_cents"], row["status"], row["reason"]) == (4200, "FAILED", "VISITOR")
    assert row["failure_reason"] == "the refund failed at Stripe: expired_or_canceled_card"
    none_pending = await client.get(
        f"/v1/territories/{p.territory_id}/refunds",
        params={"status": "PENDING"},
        headers=tokens.admin(p.territory_id),
    )
    assert none_pending.json() == []
    assert [e["data"]["status"] for e in await outbox(sessions, REFUND_TOPIC)] == [
        "PENDING",
        "FAILED",
    ]
    body = await report(client, tokens, p.territory_id)
    [reported] = body["failed_refunds"]
    assert reported["reservation_id"] == str(hold.reservation_id)
    assert reported["failure_reason"] == row["failure_reason"]
    assert body["totals"][0]["refunds_cents"] == 0
    for headers in (tokens.admin(uuid.uuid4()), tokens.provider(p.territory_id, p.provider_id)):
        denied = await client.get(f"/v1/territories/{p.territory_id}/refunds", headers=headers)
        assert denied.status_code == 404
    bad = await client.get(
        f"/v1/territories/{p.territory_id}/refunds",
        params={"status": "LOST"},
        headers=tokens.admin(p.territory_id),
    )
    assert bad.status_code == 422
