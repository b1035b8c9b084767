"""End-to-end harness: the real infrastructure and the real service processes.

The platform under test is isolated from a running demo: its own ports (1800x), its own
databases (``comptoir_e2e_<service>``, recreated), and its own Kafka topics under a
namespace unique to the run (deleted afterwards).

``COMPTOIR_E2E_SLOT=N`` (1-9) moves a run to ports 18N00-18N04 (18N00: the storefront)
and databases ``comptoir_e2eN_<service>``, so that several runs can share one machine.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from comptoir_common.settings import DEV_STRIPE_WEBHOOK_SECRET
from comptoir_ops import infra, stripe_sim
from comptoir_ops.platform import Platform
from comptoir_ops.tokens import office_token

T = TypeVar("T")

pytestmark = pytest.mark.e2e


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    """Poll until ``check`` answers something truthy; fail with ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    infra.up(timeout=180, browser=True)
    run = uuid.uuid4().hex[:8]
    slot = int(os.environ.get("COMPTOIR_E2E_SLOT", "0"))
    if not 0 <= slot <= 9:
        raise pytest.UsageError("COMPTOIR_E2E_SLOT is a digit, 0 to 9")
    base = 18000 + 100 * slot
    platform = Platform(
        label=f"e2e{slot or ''}-",
        ports={
            "catalog": base + 1,
            "booking": base + 2,
            "payments": base + 3,
            "notifications": base + 4,
            "web": base + 0,
        },
        kafka_namespace=f"e2e-{run}.",
        env={
            "COMPTOIR_ENVIRONMENT": "test",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            # a waitlist offer lapses after 4 s, so the tests see the next one offered
            "COMPTOIR_WAITLIST_OFFER_MINUTES": "0.066",
        },
    )
    platform.stop()
    platform.prepare(fresh=True)
    platform.start()
    try:
        platform.wait_ready(timeout=120)
        yield platform
    finally:
        platform.stop()
        platform.drop_topics()


@dataclass
class Territory:
    id: uuid.UUID
    admin: httpx.Client
    catalog: httpx.Client
    booking: httpx.Client
    payments: httpx.Client
    notifications: httpx.Client


def _client(platform: Platform, service: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=platform.url(service), headers=headers, timeout=15)


@pytest.fixture
def territory(platform: Platform) -> Territory:
    """A fresh territory (EUR, no fee) with its office staff's clients."""
    territory_id = uuid.uuid4()
    token = office_token(role="admin", territory_id=territory_id, subject="e2e-office")
    catalog = _client(platform, "catalog", token)
    answer = catalog.put(
        f"/v1/territories/{territory_id}", json={"name": "Serre-Ponçon", "currency": "EUR"}
    )
    assert answer.status_code == 201, answer.text
    return Territory(
        id=territory_id,
        admin=catalog,
        catalog=catalog,
        booking=_client(platform, "booking", token),
        payments=_client(platform, "payments", token),
        notifications=_client(platform, "notifications", token),
    )


@dataclass
class Offer:
    provider_id: str
    provider_email: str
    activity_id: str
    slot_id: str
    account_id: str
    slot_ids: list[str]


def send_webhook(
    platform: Platform,
    event_type: str,
    obj: dict[str, Any],
    account: str | None,
    secret: str = DEV_STRIPE_WEBHOOK_SECRET,
) -> httpx.Response:
    payload = stripe_sim.build_event(event_type, obj, account=account)
    return httpx.post(
        platform.url("payments") + "/v1/stripe/webhook",
        content=payload,
        headers={
            "Stripe-Signature": stripe_sim.sign(payload, secret),
            "Content-Type": "application/json",
        },
        timeout=15,
    )


def slot_availability(platform: Platform, slot_id: str) -> dict[str, Any]:
    """Booking's public seat counts of a slot."""
    answer = httpx.get(platform.url("booking") + f"/v1/slots/{slot_id}/availability")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def reservation_of(platform: Platform, reservation_id: str, token: str) -> dict[str, Any]:
    """A reservation as booking shows it to ``token`` (the visitor's, or staff's)."""
    answer = httpx.get(
        platform.url("booking") + f"/v1/reservations/{reservation_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_status(platform: Platform, hold: dict[str, Any], status: str) -> dict[str, Any]:
    """The reservation once booking shows it in ``status`` (to its visitor)."""
    return wait_for(
        lambda: (
            (r := reservation_of(platform, hold["id"], hold["visitor_token"]))["status"] == status
            and r
        ),
        f"reservation {hold['id']} to be {status}",
    )


def pay_simulated(platform: Platform, t: Territory, hold: dict[str, Any]) -> dict[str, Any]:
    """Pay a hold the way the storefront does in test mode (payments' simulated path), and
    wait until booking confirms it."""
    wait_payment(t, hold["id"])
    paid = httpx.post(
        platform.url("payments") + f"/v1/reservations/{hold['id']}/payment/simulate",
        headers={"Authorization": f"Bearer {hold['visitor_token']}"},
        timeout=15,
    )
    assert paid.status_code == 202, paid.text
    return wait_status(platform, hold, "CONFIRMED")


def make_offer(
    platform: Platform,
    t: Territory,
    *,
    capacity: int = 12,
    activity: dict[str, Any] | None = None,
    starts: list[datetime] | None = None,
) -> Offer:
    """A provider onboarded for payments, one activity (``activity`` overrides fields of
    the body), and its slots (one, 30 days ahead, unless ``starts`` says) known to
    booking."""
    email = f"provider-{uuid.uuid4().hex[:8]}@kayak.example"
    provider = t.catalog.post("/v1/providers", json={"name": "Kayak Embrun", "email": email})
    assert provider.status_code == 201, provider.text
    provider_id = provider.json()["id"]
    body = {
        "provider_id": provider_id,
        "title": {"fr": "Kayak au coucher du soleil", "en": "Sunset kayak tour"},
        "description": {"fr": "Deux heures sur le lac.", "en": "Two hours on the lake."},
        "category": "nautical",
        "commune": "Embrun",
        "currency": "EUR",
        "units": [{"id": "adult", "price_cents": 3500}, {"id": "child", "price_cents": 2000}],
    }
    created = t.catalog.post("/v1/activities", json=body | (activity or {}))
    assert created.status_code == 201, created.text
    slot_ids = []
    for start in starts or [(datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)]:
        slot = t.catalog.post(
            f"/v1/activities/{created.json()['id']}/slots",
            json={"start": start.isoformat(), "duration_minutes": 120, "capacity": capacity},
        )
        assert slot.status_code == 201, slot.text
        slot_ids.append(slot.json()["id"])
    onboarding = wait_for(
        lambda: (
            (r := t.payments.post(f"/v1/providers/{provider_id}/onboarding")).status_code == 200
            and r.json()
        ),
        "payments to know the provider and onboard it",
    )
    account = onboarding["account_id"]
    assert (
        send_webhook(
            platform, "account.updated", stripe_sim.account_object(account), account
        ).status_code
        == 200
    )
    wait_for(
        lambda: (
            t.booking.get(f"/v1/activities/{created.json()['id']}/availability").status_code == 200
        ),
        "booking to learn the activity",
    )
    for slot_id in slot_ids:
        wait_for(
            lambda slot_id=slot_id: (
                (r := t.booking.get(f"/v1/slots/{slot_id}/availability")).status_code == 200
                and r.json()["bookable"]
            ),
            "booking to learn the slot, bookable once the provider's charges are enabled",
        )
    wait_for(
        lambda: (
            t.payments.get(f"/v1/providers/{provider_id}/account").json().get("charges_enabled")
        ),
        "the provider's charges to be enabled",
    )
    return Offer(provider_id, email, created.json()["id"], slot_ids[0], account, slot_ids)


def reserve(
    platform: Platform,
    offer: Offer,
    *,
    adults: int = 2,
    email: str | None = None,
    key: str | None = None,
    slot_id: str | None = None,
    units: list[dict[str, Any]] | None = None,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return httpx.post(
        platform.url("booking") + "/v1/reservations",
        json={
            "slot_id": slot_id or offer.slot_id,
            "units": units or [{"id": "adult", "quantity": adults}],
            "visitor": {
                "name": "Jeanne Martin",
                "email": email or f"visitor-{uuid.uuid4().hex[:8]}@example.org",
                "locale": "fr",
            },
        },
        headers=headers,
        timeout=15,
    )


def wait_payment(t: Territory, reservation_id: str) -> dict[str, Any]:
    def created() -> dict[str, Any] | None:
        answer = t.payments.get(f"/v1/reservations/{reservation_id}/payment")
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 and body.get("payment_intent_id") else None

    return wait_for(created, "the PaymentIntent to be created")


def mails_to(address: str) -> list[Any]:
    messages = [m for m in infra.list_messages() if address in str(m["to"])]
    return [infra.read_message(m["id"]) for m in messages]


def produce(
    platform: Platform,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9092", enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(
                platform.kafka_namespace + topic, value, key=key, headers=headers or []
            )
        finally:
            await producer.stop()

    asyncio.run(send())


@pytest.fixture(autouse=True)
def _no_proxy() -> None:
    os.environ.pop("HTTP_PROXY", None)
    os.environ.pop("HTTPS_PROXY", None)


def wait_consumed(platform: Platform, service: str, topic: str, timeout: float = 30) -> None:
    """Wait until ``service``'s consumer group has committed every message of ``topic``."""
    full = platform.kafka_namespace + topic
    group = platform.kafka_namespace + service

    async def lag() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:9092")
        consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9092", group_id=None)
        await admin.start()
        await consumer.start()
        try:
            partitions = [TopicPartition(full, p) for p in range(platform.partitions)]
            ends = await consumer.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group)
            return sum(
                ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions
            )
        finally:
            await consumer.stop()
            await admin.close()

    wait_for(lambda: asyncio.run(lag()) == 0, f"{service} to consume all of {topic}", timeout)


@pytest.fixture(autouse=True)
def ledger_balances_after_each_test(platform: Platform) -> Iterator[None]:
    """The money invariant, after every end-to-end test: every ledger transaction of the
    platform sums to zero (payments answers how many problems it found)."""
    yield
    admin = office_token(role="admin", territory_id=uuid.uuid4(), subject="e2e-ledger-check")
    check = httpx.get(
        platform.url("payments") + "/v1/ledger/check",
        headers={"Authorization": f"Bearer {admin}"},
        timeout=15,
    )
    assert check.status_code == 200, check.text
    assert check.json()["balanced"], f"the ledger does not balance: {check.json()}"
