"""Helpers of the payments end-to-end tests: Stripe's deliveries, the visitor's return
page, and what each service recorded about one reservation.

- ``booking_events``: every event Stripe sends for a visitor's card payment on the
  provider's connected account, built once each (one event id each, as Stripe does).
- ``deliver``: many deliveries at once, each signed when it is sent (Stripe signs every
  retry anew: same event id, fresh timestamp).
- ``ReturnPage``: the visitor's return page polled in the background (booking's
  reservation and payments' payment, with the visitor's token), every answer kept.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from comptoir_common.settings import DEV_STRIPE_WEBHOOK_SECRET
from comptoir_ops import stripe_sim
from comptoir_ops.platform import Platform
from tests.e2e.conftest import Territory, slot_availability


@dataclass(frozen=True)
class StripeEvent:
    type: str
    payload: bytes


def booking_events(payment: dict[str, Any]) -> list[StripeEvent]:
    """What Stripe sends while a visitor pays a direct charge: the intent is created, the
    charge succeeds (and is updated with its balance transaction), the intent succeeds."""
    account = payment["stripe_account_id"]
    succeeded = stripe_sim.payment_intent_object(payment, "succeeded")
    created = stripe_sim.payment_intent_object(payment, "requires_payment_method") | {
        "last_payment_error": None
    }
    charge = stripe_sim.charge_object(payment, succeeded["latest_charge"])
    return [
        StripeEvent(t, stripe_sim.build_event(t, obj, account=account))
        for t, obj in (
            ("payment_intent.created", created),
            ("charge.succeeded", charge),
            ("charge.updated", charge),
            ("payment_intent.succeeded", succeeded),
        )
    ]


def repeated_and_shuffled(
    events: Sequence[StripeEvent], rng: random.Random, most: int = 5
) -> list[StripeEvent]:
    """Each event 1 to ``most`` times, in a random order."""
    deliveries = [e for e in events for _ in range(rng.randint(1, most))]
    rng.shuffle(deliveries)
    return deliveries


def post_event(
    platform: Platform, payload: bytes, secret: str = DEV_STRIPE_WEBHOOK_SECRET
) -> httpx.Response:
    """One delivery of a Stripe event, signed now."""
    return httpx.post(
        platform.url("payments") + stripe_sim.WEBHOOK_PATH,
        content=payload,
        headers={
            "Stripe-Signature": stripe_sim.sign(payload, secret),
            "Content-Type": "application/json",
        },
        timeout=15,
    )


def deliver(
    platform: Platform, deliveries: Sequence[StripeEvent], workers: int = 4
) -> list[httpx.Response]:
    """Every delivery, ``workers`` at a time (they race each other)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda e: post_event(platform, e.payload), deliveries))


@dataclass
class ReturnPage:
    """What the visitor's return page saw, in order."""

    reservation_statuses: list[str] = field(default_factory=list)
    payment_statuses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def return_page(
    platform: Platform, reservation_id: str, visitor_token: str
) -> Iterator[ReturnPage]:
    """Poll the visitor's return page while the block runs (and once more at its end)."""
    seen = ReturnPage()
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {visitor_token}"}

    def look(booking: httpx.Client, payments: httpx.Client) -> None:
        reservation = booking.get(f"/v1/reservations/{reservation_id}")
        payment = payments.get(f"/v1/reservations/{reservation_id}/payment")
        for answer, into in (
            (reservation, seen.reservation_statuses),
            (payment, seen.payment_statuses),
        ):
            if answer.status_code == 200:
                into.append(answer.json()["status"])
            else:
                seen.errors.append(f"{answer.request.url}: {answer.status_code} {answer.text}")

    def poll() -> None:
        with (
            httpx.Client(base_url=platform.url("booking"), headers=headers, timeout=15) as booking,
            httpx.Client(base_url=platform.url("payments"), headers=headers, timeout=15) as pay,
        ):
            while not stop.is_set():
                look(booking, pay)
            look(booking, pay)

    poller = threading.Thread(target=poll, name="return-page", daemon=True)
    poller.start()
    try:
        yield seen
    finally:
        stop.set()
        poller.join(timeout=30)


def never_goes_back(statuses: Sequence[str], order: Sequence[str]) -> bool:
    """The statuses seen only ever move forward along ``order``."""
    ranks = [order.index(s) for s in statuses]
    return ranks == sorted(ranks)


def topic_messages(platform: Platform, topic: str, key: str) -> list[bytes]:
    """Every message of ``topic`` (in the platform's namespace) keyed by ``key``."""

    async def read() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            platform.kafka_namespace + topic,
            bootstrap_servers="127.0.0.1:9092",
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            found: list[bytes] = []
            batches = await consumer.getmany(timeout_ms=2000)
            while batches:
                for records in batches.values():
                    found += [r.value for r in records if r.key == key.encode() and r.value]
                batches = await consumer.getmany(timeout_ms=500)
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def ledger_of(t: Territory, reservation_id: str) -> list[dict[str, Any]]:
    answer = t.payments.get("/v1/ledger", params={"reservation_id": reservation_id})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


def visitor_messages(t: Territory, reservation_id: str, event_type: str) -> list[dict[str, Any]]:
    """Notifications' messages to the visitor about ``event_type`` of a reservation (none
    while notifications has not heard of the reservation yet)."""
    answer = t.notifications.get("/v1/messages", params={"reservation_id": reservation_id})
    if answer.status_code == 404:
        return []
    assert answer.status_code == 200, answer.text
    return [
        m
        for m in answer.json()["items"]
        if m["recipient_kind"] == "visitor" and m["event_type"] == event_type
    ]


def seats(platform: Platform, slot_id: str) -> tuple[int, int, int]:
    """(on hold, confirmed, remaining) of a slot, as booking counts them."""
    a = slot_availability(platform, slot_id)
    return a["on_hold"], a["confirmed"], a["remaining"]
