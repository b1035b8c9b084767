"""Payments against the real PostgreSQL and stripe-mock: onboarding, direct charges, webhooks."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from payments_support import (
    BOOKING_CARRIER,
    BOOKING_TRACE,
    WEBHOOK_SECRET,
    Deliver,
    RecordingTransport,
    Tokens,
    World,
    hold_awaiting_payment,
    hold_event,
    outbox,
    payment_row,
    post_stripe_event,
    provider_event,
    released_event,
    territory_event,
)
from sqlalchemy import func, select

from comptoir_common.db import SessionFactory
from comptoir_common.service import Runtime
from comptoir_ops import stripe_sim
from comptoir_payments import service
from comptoir_payments.store import ConnectedAccount, StripeEvent, Territory
from comptoir_payments.worker import process_due_payments

SUCCEEDED_TOPIC = "payments.payment-succeeded.v1"
FAILED_TOPIC = "payments.payment-failed.v1"
ACCOUNT_TOPIC = "payments.provider-account-updated.v1"


# --- projections -----------------------------------------------------------------------


async def test_projections_apply_only_newer_versions(
    deliver: Deliver, sessions: SessionFactory
) -> None:
    territory_id = uuid.uuid4()
    assert await deliver(territory_event(territory_id, fee_rate_bps=300, version=2)) == "applied"
    assert await deliver(territory_event(territory_id, fee_rate_bps=100, version=1)) == "applied"
    async with sessions() as session:
        territory = await session.get(Territory, territory_id)
    assert territory is not None
    assert (territory.fee_rate_bps, territory.version) == (300, 2)


# --- onboarding --------------------------------------------------------------------------


async def test_onboarding_creates_one_express_account_and_a_fresh_link_each_time(
    deliver: Deliver,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    territory_id, provider_id = uuid.uuid4(), uuid.uuid4()
    await deliver(territory_event(territory_id, fee_rate_bps=0))
    await deliver(provider_event(provider_id, territory_id))

    first = await client.post(
        f"/v1/providers/{provider_id}/onboarding", headers=tokens.admin(territory_id)
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["provider_id"] == str(provider_id)
    assert body["account_id"].startswith("acct_")
    assert body["onboarding_url"].startswith("https://")
    assert body["charges_enabled"] is False and body["payouts_enabled"] is False

    [created] = stripe_http.to("POST", "/v1/accounts")
    assert created.headers["idempotency-key"] == f"comptoir-connect-account-{provider_id}"
    assert created.form["type"] == "express"
    assert created.form["country"] == "FR"
    assert created.form["email"] == "contact@kayak-verdon.example"
    assert created.form["capabilities[card_payments][requested]"] == "true"
    assert created.form["capabilities[transfers][requested]"] == "true"
    [link] = stripe_http.to("POST", "/v1/account_links")
    assert link.form["account"] == body["account_id"]
    assert link.form["type"] == "account_onboarding"
    base = f"https://payments.comptoir.test/v1/providers/{provider_id}/onboarding"
    assert link.form["return_url"] == f"{base}/return"
    assert link.form["refresh_url"] == f"{base}/refresh"

    again = await client.post(
        f"/v1/providers/{provider_id}/onboarding",
        headers=tokens.provider(territory_id, provider_id),
    )
    assert again.status_code == 200
    assert again.json()["account_id"] == body["account_id"]
    assert len(stripe_http.to("POST", "/v1/accounts")) == 1, "the account is created once"
    assert len(stripe_http.to("POST", "/v1/account_links")) == 2, "a new link each time"

    [announced] = await outbox(sessions, ACCOUNT_TOPIC)
    assert announced["data"]["account_id"] == body["account_id"]
    assert announced["data"]["charges_enabled"] is False

    state = await client.get(
        f"/v1/providers/{provider_id}/account", headers=tokens.admin(territory_id)
    )
    assert state.status_code == 200
    assert state.json()["account_id"] == body["account_id"]
    assert state.json()["details_submitted"] is False

    landing = await client.get(f"/v1/providers/{provider_id}/onboarding/return")
    assert landing.status_code == 200 and landing.json()["outcome"] == "return"


async def test_onboarding_is_for_the_providers_office_or_itself_only(
    deliver: Deliver, client: httpx.AsyncClient, tokens: Tokens, stripe_http: RecordingTransport
) -> None:
    territory_id, provider_id = uuid.uuid4(), uuid.uuid4()
    await deliver(territory_event(territory_id, fee_rate_bps=0))
    await deliver(provider_event(provider_id, territory_id))
    url = f"/v1/providers/{provider_id}/onboarding"

    for headers in (
        tokens.admin(uuid.uuid4()),
        tokens.provider(territory_id, uuid.uuid4()),
        tokens.visitor(territory_id, uuid.uuid4()),
    ):
        answer = await client.post(url, headers=headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert (
            await client.get(f"/v1/providers/{provider_id}/account", headers=headers)
        ).status_code == 404
    assert (await client.post(url)).status_code == 401
    unknown = await client.post(
        f"/v1/providers/{uuid.uuid4()}/onboarding", headers=tokens.admin(territory_id)
    )
    assert unknown.status_code == 404, "a provider catalog has not told us about"
    assert (
        await client.post("/v1/providers/not-a-uuid/onboarding", headers=tokens.admin(territory_id))
    ).status_code == 422
    assert stripe_http.sent == [], "nothing reached Stripe"


# --- PaymentIntents ----------------------------------------------------------------------


async def test_a_hold_becomes_a_direct_charge_on_the_providers_account_with_the_office_fee(
    world,  # type: ignore[no-untyped-def]
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p = await world(fee_rate_bps=250)
    hold = hold_event(uuid.uuid4(), p.provider_id, p.territory_id, total_cents=4200)
    envelope_answer = await deliver(hold, trace_carrier=BOOKING_CARRIER)
    assert envelope_answer == "applied"
    pending = await payment_row(sessions, hold.reservation_id)
    assert (pending.status, pending.amount_cents, pending.currency) == ("PENDING", 4200, "EUR")
    assert pending.application_fee_cents == 105
    assert pending.trace_carrier == BOOKING_CARRIER

    assert await process_due_payments(runtime) == 1
    [sent] = stripe_http.to("POST", "/v1/payment_intents")
    assert sent.headers["stripe-account"] == p.account_id, "a direct charge on the provider"
    assert sent.headers["idempotency-key"] == f"comptoir-payment-intent-{hold.reservation_id}"
    assert sent.form["amount"] == "4200"
    assert sent.form["currency"] == "eur"
    assert sent.form["application_fee_amount"] == "105"
    assert sent.form["metadata[reservation_id]"] == str(hold.reservation_id)
    assert sent.form["automatic_payment_methods[enabled]"] == "true"

    payment = await payment_row(sessions, hold.reservation_id)
    assert payment.status == "REQUIRES_PAYMENT"
    assert payment.payment_intent_id and payment.payment_intent_id.startswith("pi_")
    assert payment.stripe_account_id == p.account_id

    visitor = await client.get(
        f"/v1/reservations/{hold.reservation_id}/payment",
        headers=tokens.visitor(p.territory_id, hold.reservation_id),
    )
    assert visitor.status_code == 200
    assert visitor.json() | {"client_secret": None} == {
        "reservation_id": str(hold.reservation_id),
        "status": "REQUIRES_PAYMENT",
        "amount_cents": 4200,
        "currency": "EUR",
        "application_fee_cents": 105,
        "payment_intent_id": payment.payment_intent_id,
        "stripe_account_id": p.account_id,
        "client_secret": None,
        "failure_reason": None,
        "refunds": [],
        "refunded_cents": 0,
    }
    assert "_secret_" in visitor.json()["client_secret"]
    staff = await client.get(
        f"/v1/reservations/{hold.reservation_id}/payment",
        headers=tokens.provider(p.territory_id, p.provider_id),
    )
    assert staff.status_code == 200 and staff.json()["client_secret"] is None
    for headers in (
        tokens.visitor(p.territory_id, uuid.uuid4()),
        tokens.provider(p.territory_id, uuid.uuid4()),
        tokens.admin(uuid.uuid4()),
    ):
        other = await client.get(f"/v1/reservations/{hold.reservation_id}/payment", headers=headers)
        assert other.status_code == 404

    assert await deliver(hold) == "applied", "a re-sent hold (new event id) changes nothing"
    assert await process_due_payments(runtime) == 0
    assert len(stripe_http.to("POST", "/v1/payment_intents")) == 1


async def test_a_zero_fee_territory_takes_no_commission(
    world,
    deliver: Deliver,
    runtime: Runtime,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,  # type: ignore[no-untyped-def]
) -> None:
    _, hold = await hold_awaiting_payment(world, deliver, runtime, fee_rate_bps=0, total_cents=3500)
    [sent] = stripe_http.to("POST", "/v1/payment_intents")
    assert "application_fee_amount" not in sent.form
    assert sent.form["amount"] == "3500"
    payment = await payment_row(sessions, hold.reservation_id)
    assert (payment.status, payment.application_fee_cents) == ("REQUIRES_PAYMENT", 0)


async def test_a_stripe_outage_is_retried_with_the_same_idempotency_key(
    world,
    deliver: Deliver,
    runtime: Runtime,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,  # type: ignore[no-untyped-def]
) -> None:
    p = await world()
    hold = hold_event(uuid.uuid4(), p.provider_id, p.territory_id)
    await deliver(hold)
    stripe_http.fail_next = 2
    assert await process_due_payments(runtime) == 1
    tries = stripe_http.to("POST", "/v1/payment_intents")
    assert len(tries) == 3
    assert {t.headers["idempotency-key"] for t in tries} == {
        f"comptoir-payment-intent-{hold.reservation_id}"
    }
    assert (await payment_row(sessions, hold.reservation_id)).status == "REQUIRES_PAYMENT"


async def test_a_long_outage_postpones_the_payment_without_failing_it(
    world,
    deliver: Deliver,
    runtime: Runtime,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,  # type: ignore[no-untyped-def]
) -> None:
    p = await world()
    hold = hold_event(uuid.uuid4(), p.provider_id, p.territory_id)
    await deliver(hold)
    stripe_http.fail_next = 100
    assert await process_due_payments(runtime) == 1
    payment = await payment_row(sessions, hold.reservation_id)
    assert payment.status == "PENDING" and payment.payment_intent_id is None
    assert await outbox(sessions, FAILED_TOPIC) == []
    assert await process_due_payments(runtime) == 0, "not before its backoff"


@pytest.mark.parametrize(
    ("onboard", "charges_enabled", "reason"),
    [
        (False, False, "the provider has no Stripe account yet"),
        (True, False, "the provider's Stripe account cannot take card payments yet"),
    ],
)
async def test_a_provider_that_cannot_take_payments_fails_the_payment_without_calling_stripe(
    world,  # type: ignore[no-untyped-def]
    deliver: Deliver,
    runtime: Runtime,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
    onboard: bool,
    charges_enabled: bool,
    reason: str,
) -> None:
    p = await world(onboard=onboard, charges_enabled=charges_enabled)
    hold = hold_event(uuid.uuid4(), p.provider_id, p.territory_id)
    await deliver(hold, trace_carrier=BOOKING_CARRIER)
    assert await process_due_payments(runtime) == 0
    assert stripe_http.to("POST", "/v1/payment_intents") == []
    payment = await payment_row(sessions, hold.reservation_id)
    assert (payment.status, payment.failure_reason) == ("FAILED", reason)
    [failed] = await outbox(sessions, FAILED_TOPIC)
    assert failed["data"]["reservation_id"] == str(hold.reservation_id)
    assert failed["data"]["reason"] == reason
    assert failed["traceparent"].split("-")[1] == BOOKING_TRACE


# --- webhooks ----------------------------------------------------------------------------


async def _payment_answer(client: httpx.AsyncClient, tokens: Tokens, p, hold) -> dict:  # type: ignore[no-untyped-def]
    answer = await client.get(
        f"/v1/reservations/{hold.reservation_id}/payment",
        headers=tokens.visitor(p.territory_id, hold.reservation_id),
    )
    assert answer.status_code == 200
    return answer.json()


async def test_a_success_is_applied_once_continues_the_booking_trace_and_never_regresses(
    world,  # type: ignore[no-untyped-def]
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime)
    paid = stripe_sim.payment_intent_object(
        await _payment_answer(client, tokens, p, hold), "succeeded"
    )
    payload = stripe_sim.build_event("payment_intent.succeeded", paid, account=p.account_id)
    signed = {"Stripe-Signature": stripe_sim.sign(payload, WEBHOOK_SECRET)}

    first = await client.post("/v1/stripe/webhook", content=payload, headers=signed)
    assert first.status_code == 200
    assert first.json()["outcome"] == "applied: payment REQUIRES_PAYMENT -> SUCCEEDED"
    payment = await payment_row(sessions, hold.reservation_id)
    assert payment.status == "SUCCEEDED"
    [succeeded] = await outbox(sessions, SUCCEEDED_TOPIC)
    assert succeeded["data"] == {
        "reservation_id": str(hold.reservation_id),
        "provider_id": str(p.provider_id),
        "territory_id": str(p.territory_id),
        "payment_intent_id": payment.payment_intent_id,
        "amount_cents": 4200,
        "application_fee_cents": 105,
        "currency": "EUR",
    }
    assert succeeded["traceparent"].split("-")[1] == BOOKING_TRACE, "one booking, one trace"

    again = await client.post("/v1/stripe/webhook", content=payload, headers=signed)
    assert again.status_code == 200 and again.json()["outcome"].startswith("duplicate")

    declined = stripe_sim.payment_intent_object(
        await _payment_answer(client, tokens, p, hold), "requires_payment_method"
    )
    late = await post_stripe_event(
        client, "payment_intent.payment_failed", declined, account=p.account_id
    )
    assert late.status_code == 200 and late.json()["outcome"] == "no change: payment is SUCCEEDED"
    assert await deliver(released_event(hold, "EXPIRED")) == "applied"

    assert (await payment_row(sessions, hold.reservation_id)).status == "SUCCEEDED"
    assert len(await outbox(sessions, SUCCEEDED_TOPIC)) == 1
    assert await outbox(sessions, FAILED_TOPIC) == []
    assert (await _payment_answer(client, tokens, p, hold))["client_secret"] is None


async def test_forged_stale_or_unsigned_webhooks_are_refused_and_change_nothing(
    world,  # type: ignore[no-untyped-def]
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime)
    paid = stripe_sim.payment_intent_object(
        await _payment_answer(client, tokens, p, hold), "succeeded"
    )
    payload = stripe_sim.build_event("payment_intent.succeeded", paid, account=p.account_id)
    for headers in (
        {"Stripe-Signature": stripe_sim.sign(payload, "whsec_someone_else")},
        {"Stripe-Signature": stripe_sim.sign(payload, WEBHOOK_SECRET, int(time.time()) - 600)},
        {},
    ):
        refused = await client.post("/v1/stripe/webhook", content=payload, headers=headers)
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/invalid-stripe-webhook")
    tampered = json.loads(payload)
    tampered["data"]["object"]["amount"] = 1
    forged = await client.post(
        "/v1/stripe/webhook",
        content=json.dumps(tampered).encode(),
        headers={"Stripe-Signature": stripe_sim.sign(payload, WEBHOOK_SECRET)},
    )
    assert forged.status_code == 400
    assert (await payment_row(sessions, hold.reservation_id)).status == "REQUIRES_PAYMENT"
    assert await outbox(sessions, SUCCEEDED_TOPIC) == []
    async with sessions() as session:
        account_events = await session.scalar(select(func.count()).select_from(StripeEvent))
    assert account_events == 1, "only the account.updated of the set-up was recorded"


async def test_events_that_do_not_match_our_records_are_acknowledged_and_ignored(
    world,  # type: ignore[no-untyped-def]
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime)
    answer = await _payment_answer(client, tokens, p, hold)
    cases = [
        (answer | {"payment_intent_id": "pi_SomeoneElse"}, p.account_id),
        (answer, "acct_NotTheProvider"),
        (answer | {"amount_cents": 1}, p.account_id),
        (answer | {"reservation_id": str(uuid.uuid4())}, p.account_id),
    ]
    for fields, account in cases:
        obj = stripe_sim.payment_intent_object(fields, "succeeded")
        sent = await post_stripe_event(client, "payment_intent.succeeded", obj, account=account)
        assert sent.status_code == 200
        assert sent.json()["outcome"].startswith("ignored: mismatch"), sent.json()
    unknown = await post_stripe_event(
        client, "charge.refunded", {"id": "ch_1"}, account=p.account_id
    )
    assert unknown.status_code == 200 and unknown.json()["outcome"].startswith("ignored")
    assert (await payment_row(sessions, hold.reservation_id)).status == "REQUIRES_PAYMENT"
    assert await outbox(sessions, SUCCEEDED_TOPIC) == []


async def test_a_declined_card_then_a_released_hold_cancels_the_intent_at_stripe(
    world,  # type: ignore[no-untyped-def]
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime)
    declined = stripe_sim.payment_intent_object(
        await _payment_answer(client, tokens, p, hold), "requires_payment_method"
    )
    sent = await post_stripe_event(
        client, "payment_intent.payment_failed", declined, account=p.account_id
    )
    assert sent.json()["outcome"] == "applied: payment REQUIRES_PAYMENT -> FAILED"
    [failed] = await outbox(sessions, FAILED_TOPIC)
    assert failed["data"]["reason"] == "the payment was declined: Your card was declined."
    assert failed["traceparent"].split("-")[1] == BOOKING_TRACE
    assert (await _payment_answer(client, tokens, p, hold))["client_secret"], "may retry a card"

    assert await deliver(released_event(hold, "PAYMENT_FAILED")) == "applied"
    payment = await payment_row(sessions, hold.reservation_id)
    assert (payment.status, payment.cancel_at_stripe) == ("CANCELED", True)
    assert (await _payment_answer(client, tokens, p, hold))["client_secret"] is None

    assert await process_due_payments(runtime) == 1
    [cancel] = stripe_http.to("POST", f"/v1/payment_intents/{payment.payment_intent_id}/cancel")
    assert cancel.headers["stripe-account"] == p.account_id
    assert (
        cancel.headers["idempotency-key"] == f"comptoir-payment-intent-cancel-{hold.reservation_id}"
    )
    assert (await payment_row(sessions, hold.reservation_id)).cancel_at_stripe is False
    assert await process_due_payments(runtime) == 0


async def test_a_hold_released_while_stripe_creates_the_intent_gets_it_cancelled(
    world,
    deliver: Deliver,
    runtime: Runtime,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,  # type: ignore[no-untyped-def]
) -> None:
    p = await world()
    hold = hold_event(uuid.uuid4(), p.provider_id, p.territory_id)
    await deliver(hold)
    [job] = await service.claim_due(runtime.sessions)  # committed: no transaction held
    assert await deliver(released_event(hold, "CANCELLED")) == "applied"
    assert await service.run_job(runtime.sessions, runtime.extras["stripe"], job) == "created"
    payment = await payment_row(sessions, hold.reservation_id)
    assert (payment.status, payment.cancel_at_stripe) == ("CANCELED", True)
    assert await process_due_payments(runtime) == 1
    assert (
        len(stripe_http.to("POST", f"/v1/payment_intents/{payment.payment_intent_id}/cancel")) == 1
    )


async def test_a_hold_released_before_it_arrives_never_reaches_stripe(
    world,
    deliver: Deliver,
    runtime: Runtime,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,  # type: ignore[no-untyped-def]
) -> None:
    p = await world()
    hold = hold_event(uuid.uuid4(), p.provider_id, p.territory_id)
    assert await deliver(released_event(hold, "EXPIRED")) == "applied"
    assert await deliver(hold) == "applied"
    assert (await payment_row(sessions, hold.reservation_id)).status == "CANCELED"
    assert await process_due_payments(runtime) == 0
    assert stripe_http.to("POST", "/v1/payment_intents") == []


async def test_an_expired_hold_is_not_sent_to_stripe(
    world,
    deliver: Deliver,
    runtime: Runtime,
    stripe_http: RecordingTransport,  # type: ignore[no-untyped-def]
) -> None:
    p = await world()
    hold = hold_event(uuid.uuid4(), p.provider_id, p.territory_id, expires_in=timedelta(seconds=-1))
    await deliver(hold)
    assert await process_due_payments(runtime) == 0
    assert stripe_http.to("POST", "/v1/payment_intents") == []


async def test_an_older_account_event_never_overwrites_a_newer_one(
    world,
    client: httpx.AsyncClient,
    sessions: SessionFactory,  # type: ignore[no-untyped-def]
) -> None:
    p = await world(charges_enabled=True)
    older = json.loads(
        stripe_sim.build_event(
            "account.updated",
            stripe_sim.account_object(p.account_id, charges_enabled=False, payouts_enabled=False),
            account=p.account_id,
        )
    )
    older["created"] -= 3600
    payload = json.dumps(older).encode()
    sent = await client.post(
        "/v1/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": stripe_sim.sign(payload, WEBHOOK_SECRET)},
    )
    assert sent.status_code == 200 and sent.json()["outcome"].startswith("ignored: older")
    async with sessions() as session:
        account = await session.get(ConnectedAccount, p.provider_id)
    assert account is not None and account.charges_enabled and account.payouts_enabled
    assert len(await outbox(sessions, ACCOUNT_TOPIC)) == 2, "created, then enabled"


async def test_what_stripe_still_needs_is_kept_and_announced_with_the_account_state(
    world: World, client: httpx.AsyncClient, tokens: Tokens, sessions: SessionFactory
) -> None:
    p = await world(charges_enabled=False)
    assert p.account_id is not None
    restricted = stripe_sim.account_object(
        p.account_id, charges_enabled=False, payouts_enabled=False, details_submitted=False
    )
    sent = await post_stripe_event(client, "account.updated", restricted, account=p.account_id)
    assert sent.json()["outcome"] == "applied: account state updated"
    state = await client.get(
        f"/v1/providers/{p.provider_id}/account",
        headers=tokens.provider(p.territory_id, p.provider_id),
    )
    assert state.json()["disabled_reason"] == "requirements.past_due"
    assert state.json()["requirements_due"] == ["external_account"]
    ready = stripe_sim.account_object(p.account_id)
    sent = await post_stripe_event(client, "account.updated", ready, account=p.account_id)
    assert sent.json()["outcome"] == "applied: account state updated"
    announced = [e["data"] for e in await outbox(sessions, ACCOUNT_TOPIC)]
    assert [(e["charges_enabled"], e["disabled_reason"], e["requirements_due"]) for e in announced][
        -2:
    ] == [(False, "requirements.past_due", ["external_account"]), (True, None, [])]


async def test_the_provider_itself_signs_in_to_its_express_dashboard_once_onboarded(
    world: World, client: httpx.AsyncClient, tokens: Tokens, stripe_http: RecordingTransport
) -> None:
    pending = await world(charges_enabled=False)
    too_early = await client.post(
        f"/v1/providers/{pending.provider_id}/dashboard-link",
        headers=tokens.provider(pending.territory_id, pending.provider_id),
    )
    assert too_early.status_code == 409, too_early.text
    assert "onboarding" in too_early.json()["detail"]

    p = await world(charges_enabled=True)
    office = await client.post(
        f"/v1/providers/{p.provider_id}/dashboard-link", headers=tokens.admin(p.territory_id)
    )
    assert office.status_code == 403, "the office sees the account's state, not its dashboard"
    other = await client.post(
        f"/v1/providers/{p.provider_id}/dashboard-link",
        headers=tokens.provider(p.territory_id, uuid.uuid4()),
    )
    assert other.status_code == 404, "another provider does not even learn it exists"

    answer = await client.post(
        f"/v1/providers/{p.provider_id}/dashboard-link",
        headers=tokens.provider(p.territory_id, p.provider_id),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["account_id"] == p.account_id
    assert answer.json()["dashboard_url"].startswith("https://")
    assert len(stripe_http.to("POST", f"/v1/accounts/{p.account_id}/login_links")) == 1
