"""Provider webhooks without I/O: signatures, rotation, URL policy, retry schedule."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from comptoir_common.events import Envelope, v1
from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.store import WebhookEndpoint
from comptoir_notifications.webhooks import (
    UnsafeUrl,
    body_of,
    check_url,
    new_secret,
    retry_delay,
    signed_headers,
    signing_secrets,
    webhook_payload,
)


def settings(environment: str = "production", allowed: str = "") -> NotificationsSettings:
    # Built as test settings (production would want real keys), then switched.
    built = NotificationsSettings(environment="test", webhook_allowed_hosts=allowed)
    return built.model_copy(update={"environment": environment})


def test_secret_shape() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 32
    assert new_secret() != secret


def test_signature_verifies_with_the_standardwebhooks_library() -> None:
    secret = new_secret()
    body = body_of({"event_id": "e1", "type": "booking.confirmed.v1", "data": {"a": "é"}})
    headers = signed_headers("msg_1", datetime.now(UTC), body, [secret])
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["data"] == {"a": "é"}
    with pytest.raises(Exception):  # noqa: B017 - WebhookVerificationError
        Webhook(new_secret()).verify(body, headers)


def test_rotation_signs_with_both_secrets_for_a_day() -> None:
    now = datetime.now(UTC)
    endpoint = WebhookEndpoint(
        territory_id=uuid.uuid4(),
        provider_id=uuid.uuid4(),
        url="https://hooks.example.com/x",
        event_types=["booking.confirmed.v1"],
        secret=new_secret(),
        previous_secret=new_secret(),
        previous_secret_expires_at=now + timedelta(hours=24),
    )
    both = signing_secrets(endpoint, now)
    assert both == [endpoint.secret, endpoint.previous_secret]
    body = '{"x":1}'
    headers = signed_headers("msg_2", now, body, both)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in both:
        Webhook(secret).verify(body, headers)
    assert signing_secrets(endpoint, now + timedelta(hours=25)) == [endpoint.secret]


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # not https
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://0.0.0.0/x",
        "https://224.0.0.1/x",
        "https://localhost/x",  # resolves to loopback
        "https://user:pw@hooks.example.com/x",
        "ftp://hooks.example.com/x",
    ],
)
async def test_production_refuses_unsafe_urls(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check_url(url, settings("production", allowed="127.0.0.1,localhost"))


async def test_production_accepts_a_public_address() -> None:
    await check_url("https://93.184.215.14/hook", settings("production"))


async def test_development_allow_list_opens_those_hosts_only() -> None:
    dev = settings("development", allowed="127.0.0.1, localhost")
    await check_url("http://127.0.0.1:8080/hook", dev)
    await check_url("http://localhost:8080/hook", dev)
    with pytest.raises(UnsafeUrl):
        await check_url("http://10.0.0.5/hook", dev)
    with pytest.raises(UnsafeUrl):
        await check_url("https://169.254.169.254/", dev)
    with pytest.raises(UnsafeUrl):
        await check_url("http://127.0.0.1/hook", settings("development"))


def test_retry_schedule_spans_more_than_a_day_then_gives_up() -> None:
    schedule = settings().webhook_retry_schedule_seconds
    waits = [retry_delay(n, schedule) for n in range(1, len(schedule) + 1)]
    assert waits == [30, 120, 600, 1800, 7200, 21600, 43200, 86400]
    assert sum(schedule) >= 86400
    assert retry_delay(len(schedule) + 1, schedule) is None


def test_payload_keeps_the_visitor_name_only() -> None:
    event = v1.ReservationCancelled(
        reservation_id=uuid.uuid4(),
        slot_id=uuid.uuid4(),
        activity_id=uuid.uuid4(),
        provider_id=uuid.uuid4(),
        territory_id=uuid.uuid4(),
        reason="VISITOR",
        refund_cents=100,
        currency="EUR",
        visitor=v1.Visitor(name="Marie Dupont", email="marie@example.org", locale="fr"),
    )
    envelope = Envelope.wrap(event, producer="booking", territory_id=None)
    payload = webhook_payload(envelope)
    assert set(payload) == {"event_id", "type", "occurred_at", "data"}
    assert payload["data"]["visitor"] == {"name": "Marie Dupont"}
    assert "marie@example.org" not in json.dumps(payload)
