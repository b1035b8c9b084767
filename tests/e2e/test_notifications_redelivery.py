"""Exactly what was asked, once: every booking event of a few reservations (confirmed,
rebooked, cancelled and refunded) is put back on Kafka three more times, and the
mailbox and a provider's real webhook receiver still got each (event, recipient,
channel) exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from comptoir_ops import infra
from comptoir_ops.platform import Platform
from comptoir_ops.tokens import office_token
from tests.e2e.conftest import (
    Territory,
    make_offer,
    produce,
    wait_consumed,
    wait_for,
)
from tests.e2e.test_booking_engine import _confirmed_hold, _get, _post

pytestmark = pytest.mark.e2e

#: Every topic carrying events about a reservation that notifications consumes.
RESERVATION_TOPICS = (
    "booking.hold-placed.v1",
    "booking.confirmed.v1",
    "booking.rebooked.v1",
    "booking.cancelled.v1",
    "payments.refund-updated.v1",
)


@contextmanager
def notifications_with(platform: Platform, env: dict[str, str]) -> Iterator[None]:
    """Run the platform's notifications process with extra settings, then as before."""
    tuned = dataclasses.replace(platform, env=platform.env | env)
    platform.stop(services=["notifications"])
    tuned.start(services=["notifications"])
    try:
        tuned.wait_ready(services=["notifications"])
        yield
    finally:
        tuned.stop(services=["notifications"])
        platform.start(services=["notifications"])
        platform.wait_ready(services=["notifications"])


@pytest.fixture(scope="module")
def local_webhooks(platform: Platform) -> Iterator[None]:
    """Webhook endpoints on 127.0.0.1 are allowed (a test environment's allow-list)."""
    with notifications_with(platform, {"COMPTOIR_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}):
        yield


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that records every delivery and answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, dict[str, Any]]] = []
        received = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append((self.headers["webhook-id"], json.loads(body)))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/comptoir"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def records_about(
    platform: Platform, topic: str, reservation_ids: set[str]
) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    """The records of ``topic`` about these reservations, as they are on Kafka."""

    async def read() -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
        consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9092", group_id=None)
        await consumer.start()
        try:
            name = platform.kafka_namespace + topic
            partitions = [TopicPartition(name, p) for p in range(platform.partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            found = []
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        data = json.loads(record.value)["data"]
                        if data.get("reservation_id") in reservation_ids:
                            found.append((record.key, record.value, list(record.headers)))
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def _days(n: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=n)).replace(microsecond=0)


def test_every_booking_event_redelivered_three_times_is_told_once(
    platform: Platform, territory: Territory, local_webhooks: None
) -> None:
    offer = make_offer(platform, territory, capacity=6, starts=[_days(20), _days(21)])
    first_slot, second_slot = offer.slot_ids
    provider = office_token(
        role="provider",
        territory_id=territory.id,
        provider_id=uuid.UUID(offer.provider_id),
        subject="e2e-provider",
    )
    with WebhookReceiver() as receiver:
        endpoint = territory.notifications.post(
            "/v1/webhook-endpoints",
            json={
                "url": receiver.url,
                "event_types": [
                    "booking.confirmed.v1",
                    "booking.rebooked.v1",
                    "booking.cancelled.v1",
                ],
            },
            headers={"Authorization": f"Bearer {provider}"},
        )
        assert endpoint.status_code == 201, endpoint.text

        # One reservation moved to another slot, one cancelled by its visitor (refunded).
        moved_email = f"moved-{uuid.uuid4().hex[:8]}@example.org"
        cancelled_email = f"cancelled-{uuid.uuid4().hex[:8]}@example.org"
        moved = _confirmed_hold(platform, territory, offer, slot_id=first_slot, email=moved_email)
        cancelled = _confirmed_hold(
            platform, territory, offer, slot_id=first_slot, email=cancelled_email
        )
        # Booking's topics are not ordered together: a cancellation handled before its
        # confirmation rightly sends no confirmation. Let both confirmations be told first.
        for hold in (moved, cancelled):
            wait_for(
                lambda hold=hold: (
                    (
                        page := territory.notifications.get(
                            "/v1/messages", params={"reservation_id": hold["id"]}
                        )
                    ).status_code
                    == 200
                    and len(page.json()["items"]) >= 2
                ),
                "the visitor's confirmation and the provider's notice to be recorded",
            )
        answer = _post(
            platform,
            f"/v1/reservations/{moved['id']}/rebook",
            moved["visitor_token"],
            {"slot_id": second_slot},
        )
        assert answer.status_code == 200, answer.text
        answer = _post(
            platform, f"/v1/reservations/{cancelled['id']}/cancel", cancelled["visitor_token"]
        )
        assert answer.status_code == 200, answer.text
        wait_for(
            lambda: (
                _get(platform, f"/v1/reservations/{cancelled['id']}", cancelled["visitor_token"])[
                    "refund_status"
                ]
                == "SUCCEEDED"
            ),
            "the refund to go through",
        )
        reservations = {moved["id"], cancelled["id"]}
        # moved: confirmation, rebooking; cancelled: confirmation, cancellation, refund
        expected_visitor = {moved_email: 2, cancelled_email: 3}
        # the provider: two bookings, a rebooking, a cancellation
        expected_provider = 4
        expected_webhooks = 4
        expected_mails = sum(expected_visitor.values()) + expected_provider

        admin = territory.notifications

        def recorded() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            for reservation_id in reservations:
                page = admin.get("/v1/messages", params={"reservation_id": reservation_id})
                assert page.status_code == 200, page.text
                items += page.json()["items"]
            return items

        def settled() -> list[dict[str, Any]] | None:
            """What notifications recorded, once none of it waits to be sent (the API is
            polled, the mailbox read only once everything is out)."""
            items = recorded()
            log = admin.get(f"/v1/webhook-endpoints/{endpoint.json()['id']}/deliveries")
            assert log.status_code == 200, log.text
            deliveries = log.json()["items"]
            waiting = [m for m in items if m["status"] in ("PENDING", "SENDING")]
            waiting += [d for d in deliveries if d["status"] == "PENDING"]
            done = len(items) >= expected_mails and len(deliveries) >= expected_webhooks
            return items if done and not waiting else None

        def told() -> tuple[Counter[str], Counter[str], int]:
            """Mails per address and per Message-ID (one per recorded mail), webhooks."""
            addresses = (*expected_visitor, offer.provider_email)
            mails = [
                (address, infra.read_message(summary["id"]))
                for summary in infra.list_messages()
                for address in addresses
                if address in str(summary["to"])
            ]
            per_address = Counter(address for address, _ in mails)
            per_id = Counter(str(m["Message-ID"]) for _, m in mails)
            return per_address, per_id, len(receiver.deliveries)

        wait_for(settled, "every mail and webhook of the first delivery", 90)
        wait_for(lambda: len(receiver.deliveries) >= expected_webhooks, "the webhooks")
        before = told()

        # Every event about these reservations, three more times, exactly as it was.
        found: dict[str, int] = {}
        for topic in RESERVATION_TOPICS:
            records = records_about(platform, topic, reservations)
            found[topic] = len(records)
            for _ in range(3):
                for key, value, headers in records:
                    produce(platform, topic, value, key=key, headers=headers)
        assert found["booking.hold-placed.v1"] == 2
        assert found["booking.confirmed.v1"] == 2
        assert found["booking.rebooked.v1"] == 1
        assert found["booking.cancelled.v1"] == 1
        assert found["payments.refund-updated.v1"] >= 1  # SUCCEEDED (and PENDING before it)
        for topic in RESERVATION_TOPICS:
            wait_consumed(platform, "notifications", topic, timeout=90)

        # Whatever the redeliveries recorded is on the record now: wait until each of it
        # is settled, then count what arrived.
        messages = wait_for(settled, "every recorded mail and delivery to be settled", 60)
        assert len(messages) == expected_mails
        assert all(m["status"] == "SENT" for m in messages)
        assert Counter((m["event_type"], m["recipient_kind"]) for m in messages) == Counter(
            {
                ("booking.confirmed.v1", "visitor"): 2,
                ("booking.confirmed.v1", "provider"): 2,
                ("booking.rebooked.v1", "visitor"): 1,
                ("booking.rebooked.v1", "provider"): 1,
                ("booking.cancelled.v1", "visitor"): 1,
                ("booking.cancelled.v1", "provider"): 1,
                ("payments.refund-updated.v1", "visitor"): 1,
            }
        )

        after = told()
        assert after == before
        per_address, per_id, delivered = after
        assert per_address == Counter(expected_visitor | {offer.provider_email: expected_provider})
        assert all(count == 1 for count in per_id.values()), per_id
        ids = Counter(webhook_id for webhook_id, _ in receiver.deliveries)
        assert delivered == expected_webhooks and all(n == 1 for n in ids.values()), ids
        assert Counter(body["type"] for _, body in receiver.deliveries) == Counter(
            {"booking.confirmed.v1": 2, "booking.rebooked.v1": 1, "booking.cancelled.v1": 1}
        )
