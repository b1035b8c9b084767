"""The walking skeleton, end to end over the real Kafka, PostgreSQL, Redis, stripe-mock,
SMTP server and OpenTelemetry Collector."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from comptoir_common.events import Envelope, v1
from comptoir_ops import infra, stripe_sim
from comptoir_ops.platform import Platform
from comptoir_ops.tokens import office_token
from tests.e2e.conftest import (
    Territory,
    mails_to,
    make_offer,
    produce,
    reservation_of,
    reserve,
    send_webhook,
    slot_availability,
    wait_consumed,
    wait_for,
    wait_payment,
)

pytestmark = pytest.mark.e2e


def _pay(platform: Platform, t: Territory, reservation_id: str) -> dict[str, Any]:
    payment = wait_payment(t, reservation_id)
    answer = send_webhook(
        platform,
        "payment_intent.succeeded",
        stripe_sim.payment_intent_object(payment, "succeeded"),
        payment["stripe_account_id"],
    )
    assert answer.status_code == 200, answer.text
    return payment


def test_a_visitor_books_pays_and_both_sides_get_their_email(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory, capacity=12)
    visitor_email = f"jeanne-{uuid.uuid4().hex[:8]}@example.org"

    created = reserve(platform, offer, adults=2, email=visitor_email)
    assert created.status_code == 201, created.text
    hold = created.json()
    assert hold["status"] == "ON_HOLD"
    assert hold["total_cents"] == 7000 and hold["currency"] == "EUR"
    assert hold["expires_at"] > hold["created_at"]
    seats = slot_availability(platform, offer.slot_id)
    assert (seats["on_hold"], seats["confirmed"], seats["remaining"]) == (2, 0, 10)

    payment = _pay(platform, territory, hold["id"])
    assert payment["amount_cents"] == 7000
    assert payment["application_fee_cents"] == 0

    confirmed = wait_for(
        lambda: (
            (r := reservation_of(platform, hold["id"], hold["visitor_token"]))["status"]
            == "CONFIRMED"
            and r
        ),
        "the reservation to be confirmed",
    )
    assert confirmed["seats"] == 2
    seats = slot_availability(platform, offer.slot_id)
    assert (seats["on_hold"], seats["confirmed"], seats["remaining"]) == (0, 2, 10)

    visitor_mail = wait_for(lambda: mails_to(visitor_email), "the visitor's confirmation")
    provider_mail = wait_for(lambda: mails_to(offer.provider_email), "the provider's notice")
    assert len(visitor_mail) == 1 and len(provider_mail) == 1
    visitor_text = visitor_mail[0].get_body(preferencelist=("plain",)).get_content()
    assert "Kayak au coucher du soleil" in visitor_text
    assert "70,00" in visitor_text
    provider_text = provider_mail[0].get_body(preferencelist=("plain",)).get_content()
    assert "2" in provider_text and "Jeanne Martin" in provider_text

    # catalog learns the seats left from booking's events, for search.
    wait_for(
        lambda: any(
            s["id"] == offer.slot_id and s["remaining"] == 10
            for s in territory.catalog.get(f"/v1/activities/{offer.activity_id}/slots").json()
        ),
        "catalog to show 10 seats left",
    )


def test_an_office_fee_is_taken_from_the_payment_and_shown_to_the_provider(
    platform: Platform, territory: Territory
) -> None:
    answer = territory.catalog.put(
        f"/v1/territories/{territory.id}",
        json={"name": "Serre-Ponçon", "currency": "EUR", "fee_rate_bps": 250},
    )
    assert answer.status_code == 200, answer.text
    offer = make_offer(platform, territory, capacity=6)
    created = reserve(platform, offer, adults=2)
    assert created.status_code == 201, created.text
    hold = created.json()

    payment = _pay(platform, territory, hold["id"])
    assert (payment["amount_cents"], payment["application_fee_cents"]) == (7000, 175)
    provider_mail = wait_for(lambda: mails_to(offer.provider_email), "the provider's notice")
    provider_text = provider_mail[0].get_body(preferencelist=("plain",)).get_content()
    assert "Frais de l'office de tourisme : 1,75" in provider_text
    assert "Vous recevez : 68,25" in provider_text


def test_a_failed_payment_gives_the_seats_back(platform: Platform, territory: Territory) -> None:
    offer = make_offer(platform, territory, capacity=4)
    hold = reserve(platform, offer, adults=3).json()
    assert slot_availability(platform, offer.slot_id)["remaining"] == 1
    payment = wait_payment(territory, hold["id"])
    answer = send_webhook(
        platform,
        "payment_intent.payment_failed",
        stripe_sim.payment_intent_object(payment, "requires_payment_method"),
        payment["stripe_account_id"],
    )
    assert answer.status_code == 200
    wait_for(
        lambda: (
            reservation_of(platform, hold["id"], hold["visitor_token"])["status"] == "CANCELLED"
        ),
        "the hold to be released",
    )
    seats = slot_availability(platform, offer.slot_id)
    assert (seats["on_hold"], seats["confirmed"], seats["remaining"]) == (0, 0, 4)


def test_holds_never_exceed_capacity(platform: Platform, territory: Territory) -> None:
    offer = make_offer(platform, territory, capacity=5)
    answers = [reserve(platform, offer, adults=2) for _ in range(4)]
    assert [a.status_code for a in answers].count(201) == 2
    refused = [a for a in answers if a.status_code == 409]
    assert len(refused) == 2
    assert refused[0].headers["content-type"] == "application/problem+json"
    assert refused[0].json()["remaining"] == 1
    assert slot_availability(platform, offer.slot_id)["remaining"] == 1


def test_idempotency_key_replays_the_first_answer(platform: Platform, territory: Territory) -> None:
    offer = make_offer(platform, territory, capacity=10)
    key = f"retry-{uuid.uuid4()}"
    first = reserve(platform, offer, adults=2, email="same@example.org", key=key)
    again = reserve(platform, offer, adults=2, email="same@example.org", key=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    different = reserve(platform, offer, adults=3, email="same@example.org", key=key)
    assert different.status_code == 422
    assert slot_availability(platform, offer.slot_id)["on_hold"] == 2


def test_a_redelivered_webhook_and_event_change_nothing(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory, capacity=6)
    visitor_email = f"twice-{uuid.uuid4().hex[:8]}@example.org"
    hold = reserve(platform, offer, adults=2, email=visitor_email).json()
    payment = wait_payment(territory, hold["id"])
    payload = stripe_sim.build_event(
        "payment_intent.succeeded",
        stripe_sim.payment_intent_object(payment, "succeeded"),
        account=payment["stripe_account_id"],
    )
    for _ in range(3):  # Stripe retries the very same event
        answer = httpx.post(
            platform.url("payments") + "/v1/stripe/webhook",
            content=payload,
            headers={
                "Stripe-Signature": stripe_sim.sign(payload, _secret()),
                "Content-Type": "application/json",
            },
        )
        assert answer.status_code == 200
    wait_for(lambda: mails_to(visitor_email), "the confirmation mail")

    # Kafka redelivers booking.confirmed: notifications must not mail again.
    confirmed = _read_topic(platform, "booking.confirmed.v1", hold["id"])
    produce(platform, "booking.confirmed.v1", confirmed, key=hold["id"].encode())
    # and payments.payment-succeeded: booking must not count the seats twice.
    succeeded = _read_topic(platform, "payments.payment-succeeded.v1", hold["id"])
    produce(platform, "payments.payment-succeeded.v1", succeeded, key=hold["id"].encode())

    wait_consumed(platform, "notifications", "booking.confirmed.v1")
    wait_consumed(platform, "booking", "payments.payment-succeeded.v1")
    time.sleep(1.0)  # give the mail sender a beat: nothing more may arrive
    assert len(mails_to(visitor_email)) == 1
    seats = slot_availability(platform, offer.slot_id)
    assert (seats["confirmed"], seats["on_hold"]) == (2, 0)


def _secret() -> str:
    from comptoir_common.settings import DEV_STRIPE_WEBHOOK_SECRET

    return DEV_STRIPE_WEBHOOK_SECRET


def _read_topic(platform: Platform, topic: str, key: str) -> bytes:
    """The message keyed ``key`` on ``topic``, read back from the broker."""

    async def read() -> bytes:
        consumer = AIOKafkaConsumer(
            platform.kafka_namespace + topic,
            bootstrap_servers="127.0.0.1:9092",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        try:
            async with asyncio.timeout(30):
                async for record in consumer:
                    if record.key == key.encode():
                        return bytes(record.value or b"")
        finally:
            await consumer.stop()
        raise AssertionError(f"no {topic} message for {key}")

    return asyncio.run(read())


def test_a_poison_message_goes_to_the_dlq_and_the_next_one_is_processed(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory, capacity=3)
    produce(platform, "catalog.slot-updated.v1", b"{not json", key=b"poison")
    good_slot = uuid.uuid4()
    event = v1.SlotUpdated(
        slot_id=good_slot,
        activity_id=uuid.UUID(offer.activity_id),
        provider_id=uuid.UUID(offer.provider_id),
        territory_id=territory.id,
        version=1,
        start="2031-07-14T18:00:00Z",  # type: ignore[arg-type]
        duration_minutes=60,
        capacity=7,
    )
    envelope = Envelope.wrap(event, producer="catalog", territory_id=territory.id)
    produce(
        platform,
        "catalog.slot-updated.v1",
        envelope.model_dump_json().encode(),
        key=str(good_slot).encode(),
    )
    seats = wait_for(
        lambda: (
            (
                r := httpx.get(platform.url("booking") + f"/v1/slots/{good_slot}/availability")
            ).status_code
            == 200
            and r.json()
        ),
        "the good message after the poison one",
    )
    assert seats["capacity"] == 7

    async def dead_letters() -> list[Any]:
        consumer = AIOKafkaConsumer(
            platform.kafka_namespace + "catalog.slot-updated.v1.dlq",
            bootstrap_servers="127.0.0.1:9092",
            auto_offset_reset="earliest",
            group_id=None,
        )
        await consumer.start()
        try:
            batch = await consumer.getmany(timeout_ms=5000)
            return [r for records in batch.values() for r in records]
        finally:
            await consumer.stop()

    records = asyncio.run(dead_letters())
    poison = [r for r in records if r.value == b"{not json"]
    assert poison, "the poison message is not in the DLQ"
    headers = dict(poison[0].headers)
    assert headers["comptoir-dlq-reason"].decode().startswith("malformed")
    assert headers["comptoir-dlq-consumer"] == b"booking"


def test_a_forged_or_unsigned_webhook_is_refused(platform: Platform, territory: Territory) -> None:
    offer = make_offer(platform, territory, capacity=4)
    hold = reserve(platform, offer, adults=1).json()
    payment = wait_payment(territory, hold["id"])
    payload = stripe_sim.build_event(
        "payment_intent.succeeded",
        stripe_sim.payment_intent_object(payment, "succeeded"),
        account=payment["stripe_account_id"],
    )
    url = platform.url("payments") + "/v1/stripe/webhook"
    unsigned = httpx.post(url, content=payload, headers={"Content-Type": "application/json"})
    forged = httpx.post(
        url,
        content=payload,
        headers={"Stripe-Signature": stripe_sim.sign(payload, "whsec_not_the_secret")},
    )
    tampered = httpx.post(
        url,
        content=payload.replace(b'"succeeded"', b'"succeeded" '),
        headers={"Stripe-Signature": stripe_sim.sign(payload, _secret())},
    )
    for answer in (unsigned, forged, tampered):
        assert answer.status_code == 400
        assert answer.headers["content-type"] == "application/problem+json"
    assert wait_payment(territory, hold["id"])["status"] != "SUCCEEDED"
    assert reservation_of(platform, hold["id"], hold["visitor_token"])["status"] == "ON_HOLD"


def test_nobody_reads_someone_elses_reservation(platform: Platform, territory: Territory) -> None:
    mine = make_offer(platform, territory)
    theirs = make_offer(platform, territory)
    hold = reserve(platform, mine, adults=1).json()
    other_hold = reserve(platform, theirs, adults=1).json()
    url = platform.url("booking") + f"/v1/reservations/{hold['id']}"

    def status_with(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(url, headers=headers).status_code

    own_provider = office_token(
        role="provider", territory_id=territory.id, provider_id=uuid.UUID(mine.provider_id)
    )
    other_provider = office_token(
        role="provider", territory_id=territory.id, provider_id=uuid.UUID(theirs.provider_id)
    )
    other_office = office_token(role="admin", territory_id=uuid.uuid4())
    assert status_with(hold["visitor_token"]) == 200
    assert status_with(own_provider) == 200
    assert status_with(territory.admin.headers["Authorization"].split()[1]) == 200
    assert status_with(other_provider) == 404
    assert status_with(other_hold["visitor_token"]) == 404
    assert status_with(other_office) == 404
    assert status_with(None) == 401
    assert status_with("not-a-token") == 401
    payments = httpx.get(
        platform.url("payments") + f"/v1/reservations/{hold['id']}/payment",
        headers={"Authorization": f"Bearer {other_provider}"},
    )
    assert payments.status_code == 404


def test_one_booking_is_one_trace_across_the_four_services(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory)
    visitor_email = f"trace-{uuid.uuid4().hex[:8]}@example.org"
    hold = reserve(platform, offer, adults=1, email=visitor_email).json()
    _pay(platform, territory, hold["id"])
    wait_for(lambda: mails_to(visitor_email), "the confirmation mail")

    def trace_services() -> set[str] | None:
        spans = infra.read_spans()
        roots = [
            s
            for s in spans
            if s["service_name"] == "comptoir-booking"
            and s["attributes"].get("comptoir.reservation.id") == hold["id"]
        ]
        if not roots:
            return None
        trace_id = roots[0]["trace_id"]
        services = {s["service_name"] for s in spans if s["trace_id"] == trace_id}
        wanted = {
            "comptoir-catalog",
            "comptoir-booking",
            "comptoir-payments",
            "comptoir-notifications",
        }
        return services if wanted <= services else None

    services = wait_for(trace_services, "spans of all four services in one trace", timeout=30)
    assert len(services) == 4


def test_services_answer_health_readiness_and_docs(platform: Platform) -> None:
    for service in ("catalog", "booking", "payments", "notifications"):
        base = platform.url(service)
        assert httpx.get(base + "/healthz").json()["status"] == "ok"
        ready = httpx.get(base + "/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {
            "database": "ok",
            "redis": "ok",
            "kafka": "ok",
        }
        assert httpx.get(base + "/openapi.json").json()["info"]["title"].startswith("Comptoir")
        assert httpx.get(base + "/docs").status_code == 200
        asyncapi = httpx.get(base + "/asyncapi.json").json()
        assert asyncapi["asyncapi"] == "3.0.0" and asyncapi["operations"]


def test_bad_input_gets_a_problem_detail(platform: Platform, territory: Territory) -> None:
    answer = httpx.post(
        platform.url("booking") + "/v1/reservations",
        json={"slot_id": "nope", "units": [], "visitor": {}},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    fields = {tuple(e["location"]) for e in answer.json()["errors"]}
    assert ("body", "slot_id") in fields
    unknown_slot = httpx.post(
        platform.url("booking") + "/v1/reservations",
        json={
            "slot_id": str(uuid.uuid4()),
            "units": [{"id": "adult", "quantity": 1}],
            "visitor": {"name": "A", "email": "a@example.org", "locale": "fr"},
        },
    )
    assert unknown_slot.status_code == 404
    no_token = httpx.post(
        platform.url("catalog") + "/v1/providers", json={"name": "X", "email": "x@example.org"}
    )
    assert no_token.status_code == 401
    assert json.loads(no_token.text)["status"] == 401
