"""Provider webhooks end to end: the API, deliveries recorded by the consumers, and the
sender posting to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from comptoir_common.auth import (
    OFFICE_ISSUER,
    Principal,
    TokenIssuer,
)
from comptoir_common.events import v1
from comptoir_common.problems import Problem
from comptoir_common.settings import dev_key_path
from comptoir_notifications import webhooks
from comptoir_notifications.schemas import WebhookEndpointIn
from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.store import WebhookDelivery
from comptoir_notifications.webhook_sender import WebhookSender

office = TokenIssuer(dev_key_path("office.pem"), OFFICE_ISSUER)


@dataclass
class Receiver:
    """A tiny HTTP server: answers each request with the next scripted reply.

    A reply is a status code, or ``("sleep", seconds)`` to hang before answering 200.
    """

    replies: list[Any]
    requests: list[tuple[dict[str, str], bytes, float]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((headers, body, time.monotonic()))
            reply = self.replies.pop(0) if self.replies else 200
            if isinstance(reply, tuple):
                await asyncio.sleep(reply[1])
                reply = 200
            writer.write(f"HTTP/1.1 {reply} X\r\ncontent-length: 0\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def receivers() -> AsyncIterator[Any]:
    servers: list[asyncio.Server] = []

    async def start(*replies: Any) -> Receiver:
        receiver = Receiver(list(replies))
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        receiver.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return receiver

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def wsettings(settings: NotificationsSettings) -> NotificationsSettings:
    return settings.model_copy(
        update={
            "webhook_allowed_hosts": "127.0.0.1",
            "webhook_retry_schedule_seconds": [0.0, 0.0],
            "webhook_timeout_seconds": 1.0,
        }
    )


@pytest.fixture
async def client(wsettings, sessions, client_with) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_with(wsettings, sessions):
        yield client


@pytest.fixture
async def webhook_sender(wsettings, sessions) -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(sessions, wsettings)
    yield sender
    await sender.aclose()


def as_provider(booking: Any, provider_id: uuid.UUID | None = None) -> dict[str, str]:
    token = office.issue(
        role="provider",
        subject=f"provider-{booking.token}",
        territory_id=booking.territory_id,
        provider_id=provider_id or booking.provider_id,
    )
    return {"Authorization": f"Bearer {token}"}


def as_admin(booking: Any) -> dict[str, str]:
    token = office.issue(role="admin", subject="agent", territory_id=booking.territory_id)
    return {"Authorization": f"Bearer {token}"}


async def register(client, booking, url: str, types: list[str] | None = None) -> dict[str, Any]:
    answer = await client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "event_types": types or ["booking.confirmed.v1"]},
        headers={**as_provider(booking), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def deliveries(sessions) -> list[WebhookDelivery]:
    async with sessions() as session:
        return list(await session.scalars(select(WebhookDelivery)))


async def test_retried_after_500_then_delivered_signed_and_replayable(
    client, consumers, webhook_sender, sessions, receivers, booking, to_wire
) -> None:
    receiver = await receivers(500, 200, 200)
    endpoint = await register(client, booking, receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    wire = to_wire(booking.confirmed())
    await consumers.process(v1.ReservationConfirmed, wire)
    await consumers.process(v1.ReservationConfirmed, wire)  # redelivered: nothing new
    assert len(await deliveries(sessions)) == 1

    assert await webhook_sender.send_due() == 1
    [row] = await deliveries(sessions)
    assert (row.status, row.attempts, row.last_status_code) == ("PENDING", 1, 500)
    assert await webhook_sender.send_due() == 1
    [row] = await deliveries(sessions)
    assert (row.status, row.attempts, row.last_status_code) == ("DELIVERED", 2, 200)

    headers, body, _ = receiver.requests[1]
    payload = Webhook(endpoint["secret"]).verify(body, headers)
    assert headers["webhook-id"] == payload["event_id"] == str(row.event_id)
    assert payload["type"] == "booking.confirmed.v1"
    assert payload["data"]["visitor"] == {"name": "Marie Dupont"}
    assert booking.visitor_email not in body.decode()

    log = await client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=as_admin(booking)
    )
    assert log.status_code == 200
    [item] = log.json()["items"]
    assert item["status"] == "DELIVERED" and item["attempts"] == 2
    assert item["last_status_code"] == 200 and item["delivered_at"]

    replay = await client.post(
        f"/v1/webhook-deliveries/{item['id']}/replay", headers=as_provider(booking)
    )
    assert replay.status_code == 200 and replay.json()["status"] == "PENDING"
    await webhook_sender.send_due()
    assert len(receiver.requests) == 3
    assert (await deliveries(sessions))[0].status == "DELIVERED"


async def test_rotation_signs_with_both_secrets(
    client, consumers, webhook_sender, receivers, booking, to_wire
) -> None:
    receiver = await receivers(200)
    endpoint = await register(client, booking, receiver.url)
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=as_provider(booking)
    )
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != endpoint["secret"] and rotated.json()["previous_secret_expires_at"]
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    await webhook_sender.send_due()
    headers, body, _ = receiver.requests[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(body, headers)
    Webhook(endpoint["secret"]).verify(body, headers)


async def test_a_slow_endpoint_fails_by_timeout_without_delaying_another(
    client, consumers, webhook_sender, sessions, receivers, booking, to_wire
) -> None:
    slow = await receivers(("sleep", 3.0))
    fast = await receivers(200)
    slow_endpoint = await register(client, booking, slow.url)
    await register(client, booking, fast.url)
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    await webhook_sender.send_due()
    # Delivered while the slow endpoint was still hanging (inside its 1 s timeout): the
    # two sends ran side by side, not one after the other.
    assert fast.requests and slow.requests
    assert fast.requests[0][2] < slow.requests[0][2] + 1.0
    rows = {r.endpoint_id: r for r in await deliveries(sessions)}
    slow_row = rows.pop(uuid.UUID(slow_endpoint["id"]))
    [fast_row] = rows.values()
    assert fast_row.status == "DELIVERED"
    assert slow_row.status == "PENDING" and slow_row.attempts == 1
    assert slow_row.last_error == "no answer within 1s"


async def test_dead_after_the_schedule_then_replayed(
    client, consumers, webhook_sender, sessions, receivers, booking, to_wire
) -> None:
    receiver = await receivers(500, 302, 503, 200)
    endpoint = await register(client, booking, receiver.url, ["booking.redeemed.v1"])
    redeemed = v1.ReservationRedeemed(
        reservation_id=booking.reservation_id,
        slot_id=booking.slot_id,
        activity_id=booking.activity_id,
        provider_id=booking.provider_id,
        territory_id=booking.territory_id,
        redeemed_at="2027-07-14T18:05:00Z",  # type: ignore[arg-type]
        redeemed_by="provider-1",
    )
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))  # not subscribed
    await consumers.process(v1.ReservationRedeemed, to_wire(redeemed))
    for _ in range(3):
        await webhook_sender.send_due()
    [row] = await deliveries(sessions)
    assert (row.status, row.attempts, row.last_error) == ("DEAD", 3, "HTTP 503")
    dead = await client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries",
        params={"status": "DEAD"},
        headers=as_provider(booking),
    )
    assert dead.json()["total"] == 1
    assert len(receiver.requests) == 3  # the 302 was not followed
    replay = await client.post(
        f"/v1/webhook-deliveries/{row.id}/replay", headers=as_provider(booking)
    )
    assert replay.status_code == 200
    await webhook_sender.send_due()
    [row] = await deliveries(sessions)
    assert row.status == "DELIVERED"
    assert json.loads(receiver.requests[-1][1])["type"] == "booking.redeemed.v1"


async def test_who_may_do_what(client, consumers, sessions, receivers, booking, to_wire) -> None:
    receiver = await receivers()
    endpoint = await register(client, booking, receiver.url)
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    stranger = as_provider(booking, provider_id=uuid.uuid4())
    assert (await client.get(path, headers=stranger)).status_code == 404
    assert (await client.delete(path, headers=stranger)).status_code == 404
    assert (await client.get("/v1/webhook-endpoints", headers=stranger)).json()["total"] == 0
    admin = await client.get(path, headers=as_admin(booking))
    assert admin.status_code == 200 and "secret" not in admin.json()
    listed = await client.get("/v1/webhook-endpoints", headers=as_provider(booking))
    assert listed.json()["total"] == 1
    refused = await client.post(
        "/v1/webhook-endpoints",
        json={"url": receiver.url, "event_types": ["booking.confirmed.v1"]},
        headers=as_admin(booking),
    )
    assert refused.status_code == 403
    for body in (
        {"url": receiver.url, "event_types": ["booking.waitlist-offered.v1"]},
        {"url": "http://10.0.0.7/hook", "event_types": ["booking.confirmed.v1"]},
        {"url": "https://169.254.169.254/", "event_types": ["booking.confirmed.v1"]},
    ):
        answer = await client.post("/v1/webhook-endpoints", json=body, headers=as_provider(booking))
        assert answer.status_code == 422, body

    assert (await client.delete(path, headers=as_provider(booking))).status_code == 204
    assert (await client.get(path, headers=as_provider(booking))).json()["enabled"] is False
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    assert await deliveries(sessions) == []


async def test_idempotency_key_replays_the_creation(client, receivers, booking) -> None:
    receiver = await receivers()
    headers = {**as_provider(booking), "Idempotency-Key": uuid.uuid4().hex}
    body = {"url": receiver.url, "event_types": ["booking.cancelled.v1"]}
    first = await client.post("/v1/webhook-endpoints", json=body, headers=headers)
    again = await client.post("/v1/webhook-endpoints", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    listed = await client.get("/v1/webhook-endpoints", headers=as_provider(booking))
    assert listed.json()["total"] == 1


async def test_the_background_loop_keeps_sending_while_one_endpoint_hangs(
    client, consumers, wsettings, sessions, receivers, booking, to_wire, spans
) -> None:
    slow = await receivers(("sleep", 3.0))
    fast = await receivers(200, 200)
    await register(client, booking, slow.url)
    await register(client, booking, fast.url, ["booking.confirmed.v1", "booking.cancelled.v1"])
    sender = WebhookSender(sessions, wsettings.model_copy(update={"webhook_poll_seconds": 0.05}))
    loop = asyncio.create_task(sender.run())
    try:
        await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
        await asyncio.sleep(0.3)
        await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled()))
        for _ in range(40):
            if len(fast.requests) == 2:
                break
            await asyncio.sleep(0.02)
        assert len(fast.requests) == 2  # the second event did not wait for the hung one
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await sender.aclose()
    sent = [s for s in spans.get_finished_spans() if s.name == "webhook send"]
    assert sent and all("visitor" not in str(s.attributes) for s in sent)


async def test_a_name_resolving_to_loopback_is_refused_in_production(
    client, consumers, sessions, wsettings, receivers, booking, to_wire
) -> None:
    """``localhost`` resolves to 127.0.0.1: production refuses it when the endpoint is
    registered, and again when a delivery is attempted (an endpoint registered while
    the name still resolved elsewhere, as in DNS rebinding), without connecting."""
    receiver = await receivers(200)
    url = f"https://localhost:{receiver.port}/hook"
    production = wsettings.model_copy(
        update={"environment": "production", "webhook_allowed_hosts": "localhost,127.0.0.1"}
    )
    principal = Principal(
        role="provider",
        subject="p",
        territory_id=booking.territory_id,
        provider_id=booking.provider_id,
    )
    async with sessions() as session, session.begin():
        with pytest.raises(Problem) as refused:
            await webhooks.create_endpoint(
                session,
                principal,
                WebhookEndpointIn(url=url, event_types=["booking.confirmed.v1"]),
                production,
            )
    assert refused.value.status == 422 and "loopback" in refused.value.detail

    # Registered while allowed (not production), then delivered by a production sender.
    allowed = wsettings.model_copy(update={"webhook_allowed_hosts": "localhost"})
    async with sessions() as session, session.begin():
        await webhooks.create_endpoint(
            session,
            principal,
            WebhookEndpointIn(url=url, event_types=["booking.confirmed.v1"]),
            allowed,
        )
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    sender = WebhookSender(sessions, production)
    try:
        assert await sender.send_due() == 1
    finally:
        await sender.aclose()
    [row] = await deliveries(sessions)
    assert row.status == "PENDING" and row.attempts == 1
    assert row.last_error is not None and row.last_error.startswith("URL refused")
    assert "loopback" in row.last_error
    assert receiver.requests == []


async def test_a_pinned_attempt_connects_to_the_checked_address_with_the_name(
    receivers,
) -> None:
    """``CheckedUrl.target`` against a real receiver: the TCP connection goes to the
    checked address, the Host header still names the host."""
    receiver = await receivers(204)
    checked = webhooks.CheckedUrl(f"http://hooks.example.test:{receiver.port}/hook", "127.0.0.1")
    url, host, extensions = checked.target()
    async with httpx.AsyncClient() as http:
        answer = await http.post(url, content=b"{}", headers=host, extensions=extensions)
    assert answer.status_code == 204
    [(headers, body, _)] = receiver.requests
    assert headers["host"] == f"hooks.example.test:{receiver.port}"
    assert body == b"{}"
