"""Refunds against the real PostgreSQL and stripe-mock: booking cancels, payments refunds."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from payments_support import (
    WEBHOOK_SECRET,
    Deliver,
    RecordingTransport,
    Tokens,
    World,
    cancelled_event,
    hold_awaiting_payment,
    hold_event,
    outbox,
    paid_hold,
    payment_answer,
    payment_row,
    post_stripe_event,
)
from sqlalchemy import func, select, update

from comptoir_common.db import SessionFactory
from comptoir_common.events import Envelope
from comptoir_common.service import Runtime
from comptoir_ops import stripe_sim
from comptoir_payments import domain
from comptoir_payments.store import Refund
from comptoir_payments.worker import process_due_payments, process_due_refunds

REFUND_TOPIC = "payments.refund-updated.v1"
CANCEL_TRACE = "0af7651916cd43dd8448eb211c80319c"
CANCEL_CARRIER = {"traceparent": f"00-{CANCEL_TRACE}-b7ad6b7169203331-01"}


def trace_of(envelope: dict[str, Any]) -> str:
    return str(envelope["traceparent"]).split("-")[1]


async def refund_rows(sessions: SessionFactory, reservation_id: uuid.UUID) -> list[Refund]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Refund).where(Refund.reservation_id == reservation_id)  # type: ignore[arg-type]
        )
        return list(rows.all())


async def test_a_cancellation_refunds_once_on_the_providers_account_with_the_office_fee(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    cancelled = cancelled_event(hold, refund_cents=2100)
    envelope = Envelope.wrap(
        cancelled, producer="booking", territory_id=p.territory_id, trace_carrier=CANCEL_CARRIER
    )
    assert await deliver(cancelled, envelope=envelope) == "applied"
    assert await deliver(cancelled, envelope=envelope) == "duplicate"
    assert await deliver(cancelled) == "applied", "re-published with a new event id"

    [refund] = await refund_rows(sessions, hold.reservation_id)
    assert (refund.status, refund.amount_cents, refund.currency) == ("PENDING", 2100, "EUR")
    assert refund.refund_application_fee is True
    assert refund.stripe_refund_id is None
    assert trace_of(refund.trace_carrier) == CANCEL_TRACE
    [pending] = await outbox(sessions, REFUND_TOPIC)
    assert pending["data"] == {
        "reservation_id": str(hold.reservation_id),
        "provider_id": str(p.provider_id),
        "territory_id": str(p.territory_id),
        "refund_id": None,
        "amount_cents": 2100,
        "currency": "EUR",
        "status": "PENDING",
        "failure_reason": None,
    }
    assert trace_of(pending) == CANCEL_TRACE, "the refund continues the cancellation's trace"

    assert await process_due_refunds(runtime) == 1
    [sent] = stripe_http.to("POST", "/v1/refunds")
    payment = await payment_row(sessions, hold.reservation_id)
    assert sent.headers["stripe-account"] == p.account_id, "on the provider's account"
    assert sent.headers["idempotency-key"] == f"comptoir-refund-{refund.id}"
    assert refund.id == domain.refund_id_for(f"cancellation:{hold.reservation_id}")
    assert sent.form["payment_intent"] == payment.payment_intent_id
    assert sent.form["amount"] == "2100"
    assert sent.form["refund_application_fee"] == "true", "the office fee goes back too"
    assert sent.form["metadata[reservation_id]"] == str(hold.reservation_id)
    assert sent.form["metadata[comptoir_refund_id]"] == str(refund.id)

    # stripe-mock answers every refund as succeeded.
    [stored] = await refund_rows(sessions, hold.reservation_id)
    assert stored.status == "SUCCEEDED"
    assert stored.stripe_refund_id and stored.stripe_refund_id.startswith("re_")
    _, succeeded = await outbox(sessions, REFUND_TOPIC)
    assert succeeded["data"]["status"] == "SUCCEEDED"
    assert succeeded["data"]["refund_id"] == stored.stripe_refund_id
    assert trace_of(succeeded) == CANCEL_TRACE

    assert await process_due_refunds(runtime) == 0
    assert await deliver(cancelled) == "applied"
    assert await process_due_refunds(runtime) == 0
    assert len(stripe_http.to("POST", "/v1/refunds")) == 1, "one Stripe refund request"
    assert len(await refund_rows(sessions, hold.reservation_id)) == 1

    answer = await payment_answer(client, tokens, p, hold)
    assert answer["status"] == "SUCCEEDED"
    assert answer["refunded_cents"] == 2100
    [listed] = answer["refunds"]
    assert listed | {"created_at": None} == {
        "refund_id": stored.stripe_refund_id,
        "amount_cents": 2100,
        "currency": "EUR",
        "status": "SUCCEEDED",
        "failure_reason": None,
        "created_at": None,
    }
    staff = await client.get(
        f"/v1/reservations/{hold.reservation_id}/payment",
        headers=tokens.provider(p.territory_id, p.provider_id),
    )
    assert staff.json()["refunds"] == answer["refunds"]


async def test_a_zero_fee_refund_is_capped_to_what_was_paid_and_keeps_no_fee_flag(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    _, hold = await paid_hold(world, deliver, runtime, client, tokens, fee_rate_bps=0)
    assert await deliver(cancelled_event(hold, refund_cents=9999, reason="PROVIDER")) == "applied"
    [refund] = await refund_rows(sessions, hold.reservation_id)
    assert (refund.requested_cents, refund.amount_cents) == (9999, 4200)
    assert refund.refund_application_fee is False
    assert await process_due_refunds(runtime) == 1
    [sent] = stripe_http.to("POST", "/v1/refunds")
    assert sent.form["amount"] == "4200"
    assert "refund_application_fee" not in sent.form


async def test_a_stripe_503_then_success_gives_one_refund(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    _, hold = await paid_hold(world, deliver, runtime, client, tokens)
    await deliver(cancelled_event(hold, refund_cents=4200))
    stripe_http.fail_next = 1
    assert await process_due_refunds(runtime) == 1
    tries = stripe_http.to("POST", "/v1/refunds")
    assert len(tries) == 2
    assert len({t.headers["idempotency-key"] for t in tries}) == 1, "the same key"
    [refund] = await refund_rows(sessions, hold.reservation_id)
    assert refund.status == "SUCCEEDED" and refund.stripe_refund_id
    statuses = [e["data"]["status"] for e in await outbox(sessions, REFUND_TOPIC)]
    assert statuses == ["PENDING", "SUCCEEDED"]


async def test_a_long_outage_postpones_the_refund_and_retries_with_the_same_key(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    _, hold = await paid_hold(world, deliver, runtime, client, tokens)
    await deliver(cancelled_event(hold, refund_cents=4200))
    stripe_http.fail_next = 100
    assert await process_due_refunds(runtime) == 1
    [refund] = await refund_rows(sessions, hold.reservation_id)
    assert refund.status == "PENDING" and refund.stripe_refund_id is None
    assert await process_due_refunds(runtime) == 0, "not before its backoff"
    statuses = [e["data"]["status"] for e in await outbox(sessions, REFUND_TOPIC)]
    assert statuses == ["PENDING"], "an outage never fails a refund"

    stripe_http.fail_next = 0
    async with sessions() as session, session.begin():
        await session.execute(
            update(Refund).values(next_attempt_at=refund.created_at - timedelta(seconds=1))
        )
    assert await process_due_refunds(runtime) == 1
    keys = {t.headers["idempotency-key"] for t in stripe_http.to("POST", "/v1/refunds")}
    assert keys == {f"comptoir-refund-{refund.id}"}
    [done] = await refund_rows(sessions, hold.reservation_id)
    assert done.status == "SUCCEEDED"


async def test_a_definitive_refusal_fails_the_refund_and_says_so(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    await deliver(cancelled_event(hold, refund_cents=4200), trace_carrier=CANCEL_CARRIER)
    stripe_http.fail_next, stripe_http.fail_status = 1, 400
    stripe_http.fail_error = {
        "type": "invalid_request_error",
        "code": "charge_already_refunded",
        "message": "Charge ch_1 has already been refunded.",
    }
    assert await process_due_refunds(runtime) == 1
    assert len(stripe_http.to("POST", "/v1/refunds")) == 1, "a refusal is not retried"
    [refund] = await refund_rows(sessions, hold.reservation_id)
    assert refund.status == "FAILED"
    assert refund.failure_reason and "charge_already_refunded" in refund.failure_reason
    _, failed = await outbox(sessions, REFUND_TOPIC)
    assert failed["data"]["status"] == "FAILED"
    assert failed["data"]["failure_reason"] == refund.failure_reason
    assert trace_of(failed) == CANCEL_TRACE
    assert await process_due_refunds(runtime) == 0
    answer = await payment_answer(client, tokens, p, hold)
    assert answer["refunded_cents"] == 0 and answer["refunds"][0]["status"] == "FAILED"


async def test_a_pending_refund_is_settled_by_its_webhook_once_and_never_undone(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    await deliver(cancelled_event(hold, refund_cents=3000), trace_carrier=CANCEL_CARRIER)
    stripe_http.answer_fields = {"status": "pending"}
    assert await process_due_refunds(runtime) == 1
    stripe_http.answer_fields = {}
    [refund] = await refund_rows(sessions, hold.reservation_id)
    assert refund.status == "PENDING" and refund.stripe_refund_id
    assert len(await outbox(sessions, REFUND_TOPIC)) == 1, "no news while Stripe is pending"
    assert await process_due_refunds(runtime) == 0, "sent: now it waits for the webhook"

    answer = await payment_answer(client, tokens, p, hold)
    [entry] = answer["refunds"]
    assert entry["status"] == "PENDING" and entry["refund_id"] == refund.stripe_refund_id
    failed = stripe_sim.refund_object(entry, "failed", payment=answer)
    payload = stripe_sim.build_event("refund.failed", failed, account=p.account_id)
    signed = {"Stripe-Signature": stripe_sim.sign(payload, WEBHOOK_SECRET)}
    first = await client.post("/v1/stripe/webhook", content=payload, headers=signed)
    assert first.status_code == 200
    assert first.json()["outcome"] == "applied: refund PENDING -> FAILED"
    again = await client.post("/v1/stripe/webhook", content=payload, headers=signed)
    assert again.json()["outcome"].startswith("duplicate")

    [stored] = await refund_rows(sessions, hold.reservation_id)
    assert stored.status == "FAILED"
    assert stored.failure_reason == "the refund failed at Stripe: expired_or_canceled_card"
    _, announced = await outbox(sessions, REFUND_TOPIC)
    assert announced["data"] | {"refund_id": None} == {
        "reservation_id": str(hold.reservation_id),
        "provider_id": str(p.provider_id),
        "territory_id": str(p.territory_id),
        "refund_id": None,
        "amount_cents": 3000,
        "currency": "EUR",
        "status": "FAILED",
        "failure_reason": "the refund failed at Stripe: expired_or_canceled_card",
    }
    assert announced["data"]["refund_id"] == refund.stripe_refund_id
    assert trace_of(announced) == CANCEL_TRACE

    late = await post_stripe_event(
        client,
        "refund.updated",
        stripe_sim.refund_object(entry, "succeeded", payment=answer),
        account=p.account_id,
    )
    assert late.json()["outcome"].startswith("no change: refund is FAILED")
    assert (await refund_rows(sessions, hold.reservation_id))[0].status == "FAILED"
    assert len(await outbox(sessions, REFUND_TOPIC)) == 2


async def test_a_pending_refund_succeeds_by_webhook_and_a_later_bank_failure_is_recorded(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    await deliver(cancelled_event(hold, refund_cents=4200))
    stripe_http.answer_fields = {"status": "pending"}
    await process_due_refunds(runtime)
    stripe_http.answer_fields = {}
    answer = await payment_answer(client, tokens, p, hold)
    [entry] = answer["refunds"]

    succeeded = await post_stripe_event(
        client,
        "charge.refund.updated",
        stripe_sim.refund_object(entry, "succeeded"),
        account=p.account_id,
    )
    assert succeeded.json()["outcome"] == "applied: refund PENDING -> SUCCEEDED"
    pending_again = await post_stripe_event(
        client, "refund.updated", stripe_sim.refund_object(entry, "pending"), account=p.account_id
    )
    assert pending_again.json()["outcome"].startswith("no change: refund is SUCCEEDED")
    assert (await payment_answer(client, tokens, p, hold))["refunded_cents"] == 4200

    bank_returned = await post_stripe_event(
        client, "refund.failed", stripe_sim.refund_object(entry, "failed"), account=p.account_id
    )
    assert bank_returned.json()["outcome"] == "applied: refund SUCCEEDED -> FAILED"
    statuses = [e["data"]["status"] for e in await outbox(sessions, REFUND_TOPIC)]
    assert statuses == ["PENDING", "SUCCEEDED", "FAILED"]
    assert (await payment_answer(client, tokens, p, hold))["refunded_cents"] == 0


async def test_refund_events_that_do_not_match_our_records_are_ignored(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    await deliver(cancelled_event(hold, refund_cents=4200))
    stripe_http.answer_fields = {"status": "pending"}
    await process_due_refunds(runtime)
    stripe_http.answer_fields = {}
    answer = await payment_answer(client, tokens, p, hold)
    [entry] = answer["refunds"]
    cases = [
        (entry, "acct_NotTheProvider"),
        (entry | {"amount_cents": 1}, p.account_id),
        (entry | {"currency": "USD"}, p.account_id),
        (entry | {"refund_id": "re_SomeoneElse"}, p.account_id),
    ]
    for fields, account in cases:
        obj = stripe_sim.refund_object(fields, "succeeded")
        sent = await post_stripe_event(client, "refund.updated", obj, account=account)
        assert sent.status_code == 200
        assert sent.json()["outcome"].startswith("ignored: mismatch"), (fields, sent.json())
    other_intent = stripe_sim.refund_object(entry, "succeeded", payment=answer)
    other_intent["payment_intent"] = "pi_SomeoneElse"
    sent = await post_stripe_event(client, "refund.updated", other_intent, account=p.account_id)
    assert sent.json()["outcome"] == "ignored: mismatch: not this reservation's PaymentIntent"
    [refund] = await refund_rows(sessions, hold.reservation_id)
    assert refund.status == "PENDING"
    assert len(await outbox(sessions, REFUND_TOPIC)) == 1


async def test_a_webhook_before_the_worker_stored_stripes_answer_finds_the_refund_by_metadata(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    await deliver(cancelled_event(hold, refund_cents=4200))
    [refund] = await refund_rows(sessions, hold.reservation_id)
    answer = await payment_answer(client, tokens, p, hold)
    obj = stripe_sim.refund_object(
        answer["refunds"][0] | {"refund_id": "re_FromStripe"}, "succeeded", payment=answer
    )
    obj["metadata"]["comptoir_refund_id"] = str(refund.id)
    sent = await post_stripe_event(client, "refund.updated", obj, account=p.account_id)
    assert sent.json()["outcome"] == "applied: refund PENDING -> SUCCEEDED"
    [stored] = await refund_rows(sessions, hold.reservation_id)
    assert (stored.status, stored.stripe_refund_id) == ("SUCCEEDED", "re_FromStripe")
    assert await process_due_refunds(runtime) == 0, "settled: nothing left to ask Stripe"


async def test_nothing_is_refunded_for_a_payment_never_captured_or_no_refund_asked(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, unpaid = await hold_awaiting_payment(world, deliver, runtime)
    assert await deliver(cancelled_event(unpaid, refund_cents=4200)) == "applied"
    never_seen = hold_event(uuid.uuid4(), p.provider_id, p.territory_id)
    assert await deliver(cancelled_event(never_seen, refund_cents=4200)) == "applied"
    _, paid = await paid_hold(world, deliver, runtime, client, tokens)
    assert await deliver(cancelled_event(paid, refund_cents=0)) == "applied"

    assert await process_due_refunds(runtime) == 0
    assert await process_due_payments(runtime) == 0
    assert stripe_http.to("POST", "/v1/refunds") == []
    assert await outbox(sessions, REFUND_TOPIC) == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Refund)) == 0
    assert (await payment_answer(client, tokens, p, unpaid))["refunds"] == []


async def test_a_refund_created_at_stripe_whose_answer_was_lost_is_not_asked_again(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await paid_hold(world, deliver, runtime, client, tokens)
    await deliver(cancelled_event(hold, refund_cents=4200))
    stripe_http.fail_next = 100  # Stripe may have created it; we never heard back
    assert await process_due_refunds(runtime) == 1
    [refund] = await refund_rows(sessions, hold.reservation_id)
    answer = await payment_answer(client, tokens, p, hold)
    obj = stripe_sim.refund_object(
        answer["refunds"][0] | {"refund_id": "re_Created"}, "pending", payment=answer
    )
    obj["metadata"]["comptoir_refund_id"] = str(refund.id)
    sent = await post_stripe_event(client, "refund.created", obj, account=p.account_id)
    assert sent.json()["outcome"] == (
        "recorded: Stripe's refund id; refund is PENDING (Stripe says pending)"
    )
    stripe_http.fail_next = 0
    async with sessions() as session, session.begin():
        await session.execute(
            update(Refund).values(next_attempt_at=refund.created_at - timedelta(seconds=1))
        )
    sent_before = len(stripe_http.to("POST", "/v1/refunds"))
    assert await process_due_refunds(runtime) == 0, "Stripe has it: the webhooks settle it"
    assert len(stripe_http.to("POST", "/v1/refunds")) == sent_before
    [stored] = await refund_rows(sessions, hold.reservation_id)
    assert (stored.status, stored.stripe_refund_id) == ("PENDING", "re_Created")
