"""The visitor's checkout: simulated with stripe-mock, or Stripe's hosted Checkout page."""

from __future__ import annotations

import uuid

import httpx
import pytest
from payments_support import (
    Deliver,
    RecordingTransport,
    Tokens,
    World,
    hold_awaiting_payment,
    outbox,
    payment_answer,
    post_stripe_event,
)

from comptoir_common.db import SessionFactory
from comptoir_common.service import Runtime
from comptoir_ops import stripe_sim
from comptoir_payments.main import PaymentsSettings

SUCCEEDED_TOPIC = "payments.payment-succeeded.v1"
SHOP = {"success_url": "http://127.0.0.1:5173/paid", "cancel_url": "http://127.0.0.1:5173/cart"}


async def test_a_simulated_payment_confirms_at_stripe_mock_and_runs_the_webhook_handling(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    sessions: SessionFactory,
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime, total_cents=7000)
    url = f"/v1/reservations/{hold.reservation_id}/payment/simulate"
    visitor = tokens.visitor(p.territory_id, hold.reservation_id)
    answer = await client.post(url, headers=visitor)
    assert answer.status_code == 202, answer.text
    assert (answer.json()["status"], answer.json()["amount_cents"]) == ("SUCCEEDED", 7000)
    assert answer.json() == await payment_answer(client, tokens, p, hold)
    intent = answer.json()["payment_intent_id"]
    [confirm] = stripe_http.to("POST", f"/v1/payment_intents/{intent}/confirm")
    assert confirm.form == {"payment_method": "pm_card_visa"}
    assert confirm.headers["stripe-account"] == p.account_id
    assert confirm.headers["idempotency-key"] == (
        f"comptoir-payment-intent-confirm-{hold.reservation_id}"
    )
    [succeeded] = await outbox(sessions, SUCCEEDED_TOPIC)
    assert succeeded["data"]["amount_cents"] == 7000
    assert succeeded["data"]["application_fee_cents"] == 175

    again = await client.post(url, headers=visitor)
    assert again.status_code == 409
    assert "SUCCEEDED" in again.json()["detail"]
    assert len(await outbox(sessions, SUCCEEDED_TOPIC)) == 1
    stranger = tokens.visitor(p.territory_id, uuid.uuid4())
    assert (await client.post(url, headers=stranger)).status_code == 404


async def test_simulated_payments_do_not_exist_with_a_real_key_or_in_production(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    settings: PaymentsSettings,
    monkeypatch: pytest.MonkeyPatch,
    sessions: SessionFactory,
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime)
    url = f"/v1/reservations/{hold.reservation_id}/payment/simulate"
    visitor = tokens.visitor(p.territory_id, hold.reservation_id)
    for name, value in (
        ("stripe_secret_key", "sk_test_realaccountkey"),
        ("environment", "production"),
    ):
        with monkeypatch.context() as patch:
            patch.setattr(settings, name, value)
            answer = await client.post(url, headers=visitor)
        assert answer.status_code == 404
        assert answer.json()["detail"] == (
            "Simulated payments exist only with stripe-mock in development."
        )
    assert await outbox(sessions, SUCCEEDED_TOPIC) == []
    assert (await payment_answer(client, tokens, p, hold))["status"] == "REQUIRES_PAYMENT"


async def test_a_checkout_session_is_a_direct_charge_with_the_office_fee_and_our_key(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime, total_cents=4200)
    url = f"/v1/reservations/{hold.reservation_id}/payment/checkout-session"
    visitor = tokens.visitor(p.territory_id, hold.reservation_id)
    answer = await client.post(url, json=SHOP, headers=visitor)
    assert answer.status_code == 201, answer.text
    assert answer.json()["url"].startswith("https://")
    [sent] = stripe_http.to("POST", "/v1/checkout/sessions")
    assert sent.headers["stripe-account"] == p.account_id
    assert sent.headers["idempotency-key"].startswith(
        f"comptoir-checkout-session-{hold.reservation_id}-"
    )
    assert sent.form == {
        "mode": "payment",
        "client_reference_id": str(hold.reservation_id),
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "4200",
        "line_items[0][price_data][product_data][name]": f"Reservation {hold.reservation_id}",
        "payment_intent_data[application_fee_amount]": "105",
        "payment_intent_data[metadata][reservation_id]": str(hold.reservation_id),
        "payment_intent_data[metadata][provider_id]": str(p.provider_id),
        "payment_intent_data[metadata][territory_id]": str(p.territory_id),
        "metadata[reservation_id]": str(hold.reservation_id),
        "metadata[provider_id]": str(p.provider_id),
        "metadata[territory_id]": str(p.territory_id),
        "success_url": SHOP["success_url"],
        "cancel_url": SHOP["cancel_url"],
    }
    again = await client.post(url, json=SHOP, headers=visitor)
    assert again.status_code == 201
    keys = {s.headers["idempotency-key"] for s in stripe_http.to("POST", "/v1/checkout/sessions")}
    assert len(keys) == 1, "the same pages reuse the same Stripe idempotency key"


@pytest.mark.parametrize(
    "body",
    [
        SHOP | {"success_url": "https://evil.example/paid"},
        SHOP | {"cancel_url": "http://127.0.0.1.evil.example/cart"},
        SHOP | {"success_url": "javascript:alert(1)"},
        {"success_url": SHOP["success_url"]},
        SHOP | {"amount_cents": 1},
    ],
)
async def test_a_checkout_session_refuses_foreign_return_pages_and_client_amounts(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    stripe_http: RecordingTransport,
    body: dict[str, object],
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime)
    answer = await client.post(
        f"/v1/reservations/{hold.reservation_id}/payment/checkout-session",
        json=body,
        headers=tokens.visitor(p.territory_id, hold.reservation_id),
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert stripe_http.to("POST", "/v1/checkout/sessions") == []


async def test_a_completed_checkout_session_pays_the_reservation_once(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    sessions: SessionFactory,
) -> None:
    p, hold = await hold_awaiting_payment(world, deliver, runtime, total_cents=4200)
    payment = await payment_answer(client, tokens, p, hold)
    completed = stripe_sim.checkout_session_object(payment, "pi_checkout123")
    session_intent = stripe_sim.payment_intent_object(
        payment | {"payment_intent_id": "pi_checkout123"}, "succeeded"
    )
    outcomes = []
    for event_type, obj, account in [
        ("payment_intent.succeeded", session_intent, p.account_id),  # before the session
        ("checkout.session.completed", completed | {"amount_total": 1}, p.account_id),
        ("checkout.session.completed", completed, "acct_other"),
        ("checkout.session.completed", completed, p.account_id),
        ("checkout.session.completed", completed, p.account_id),
        ("payment_intent.succeeded", session_intent, p.account_id),
    ]:
        sent = await post_stripe_event(client, event_type, obj, account=account)
        assert sent.status_code == 200
        outcomes.append(sent.json()["outcome"])
    assert outcomes == [
        "ignored: mismatch: not this reservation's PaymentIntent",
        "ignored: mismatch: amount or currency differ",
        "ignored: mismatch: not the provider's connected account",
        "applied: payment REQUIRES_PAYMENT -> SUCCEEDED",
        "no change: payment is SUCCEEDED",
        "no change: payment is SUCCEEDED",
    ]
    [succeeded] = await outbox(sessions, SUCCEEDED_TOPIC)
    assert succeeded["data"]["payment_intent_id"] == "pi_checkout123"
    assert succeeded["data"]["amount_cents"] == 4200
