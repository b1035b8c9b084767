"""DNS rebinding: an attempt resolves the host once, checks every address, and connects
to a checked one; a later answer with a private address is refused before connecting."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.webhook_sender import Claimed, WebhookSender
from comptoir_notifications.webhooks import CheckedUrl, check_url


def production() -> NotificationsSettings:
    built = NotificationsSettings(environment="test")
    return built.model_copy(update={"environment": "production"})


class Rebinding:
    """A resolver whose answer changes: a public address, then a private one."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.answers.pop(0)


def claimed(url: str) -> Claimed:
    return Claimed(
        id=uuid.uuid4(),
        endpoint_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        event_type="booking.confirmed.v1",
        attempt=1,
        url=url,
        secrets=["whsec_" + "A" * 32],
        payload={"event_id": "e", "type": "booking.confirmed.v1", "data": {}},
        trace_headers={},
    )


async def test_each_attempt_connects_to_the_address_it_checked() -> None:
    resolver = Rebinding(["93.184.215.14"], ["10.0.0.7"], ["93.184.215.14", "127.0.0.1"])
    seen: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    sender = WebhookSender(None, production(), resolve=resolver)  # type: ignore[arg-type]
    await sender.client.aclose()
    sender.client = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    item = claimed("https://hooks.example.com:8443/comptoir?x=1")
    try:
        first = await sender.transmit(item)
        second = await sender.transmit(item)
        third = await sender.transmit(item)
    finally:
        await sender.aclose()

    assert first.delivered
    # Resolved once per attempt; the connection went to the checked address, while the
    # Host header and the TLS server name carry the name.
    assert resolver.asked == [("hooks.example.com", 8443)] * 3
    [request] = seen
    assert str(request.url) == "https://93.184.215.14:8443/comptoir?x=1"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    # The name now resolves to a private address (or to one among public ones): refused
    # before any connection.
    for attempt in (second, third):
        assert not attempt.delivered
        assert attempt.error is not None and attempt.error.startswith("URL refused")
    assert len(seen) == 1


async def test_the_checked_target_keeps_the_name_for_host_and_tls() -> None:
    async def v6(host: str, port: int) -> list[str]:
        return ["2606:2800:220:1:248:1893:25c8:1946"]

    checked = await check_url("https://hooks.example.com/x", production(), v6)
    url, headers, extensions = checked.target()
    assert str(url) == "https://[2606:2800:220:1:248:1893:25c8:1946]/x"
    assert headers == {"host": "hooks.example.com"}
    assert extensions == {"sni_hostname": "hooks.example.com"}
    # An allow-listed host (development) is connected to as named.
    named: Any = CheckedUrl("http://127.0.0.1:9000/x", None).target()
    assert named == (httpx.URL("http://127.0.0.1:9000/x"), {}, {})
