"""Tests against the real local infrastructure: run with PYTHONPATH=ops/src."""

from __future__ import annotations

import asyncio
import json
import os
import smtplib
import subprocess
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import psycopg
import pytest
import redis
import stripe
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from comptoir_ops import infra
from comptoir_ops.infra import kafka, mailbox, procs, stripe_mock


@pytest.fixture(scope="session", autouse=True)
def infrastructure() -> Iterator[dict[str, int | None]]:
    infra.up(timeout=180)
    yield {s["name"]: s["pid"] for s in infra.status()}


def wait_for(check: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


def test_every_component_is_ready() -> None:
    for component in infra.status():
        assert component["ready"], component


def test_second_up_changes_nothing(infrastructure: dict[str, int | None]) -> None:
    assert infra.up() == []
    assert {s["name"]: s["pid"] for s in infra.status()} == infrastructure


def test_kafka_topics_and_round_trip() -> None:
    topic = f"test.infra-{uuid.uuid4().hex[:8]}.v1"
    assert infra.ensure_topics([topic]) == [topic]
    assert infra.ensure_topics([topic]) == []
    assert topic in infra.list_topics()

    async def exercise() -> tuple[int, list[tuple[bytes | None, bytes | None]]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.BOOTSTRAP)
        await admin.start()
        try:
            [described] = await admin.describe_topics([topic])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=kafka.BOOTSTRAP, enable_idempotence=True)
        await producer.start()
        try:
            for i in range(3):
                await producer.send_and_wait(topic, f"event-{i}".encode(), key=b"reservation-1")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka.BOOTSTRAP,
            group_id="test-infra",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            received = []
            async with asyncio.timeout(30):
                async for record in consumer:
                    received.append((record.key, record.value))
                    if len(received) == 3:
                        break
        finally:
            await consumer.stop()
        return len(described["partitions"]), received

    partitions, received = asyncio.run(exercise())
    assert partitions == 3
    assert received == [(b"reservation-1", f"event-{i}".encode()) for i in range(3)]
    infra.delete_topics([topic, "test.infra-never-existed.v1"])
    wait_for(lambda: topic not in infra.list_topics())


def test_postgres_password_login() -> None:
    name = "comptoir_infra_test"
    infra.recreate_database(name)
    infra.ensure_databases([name])  # idempotent
    with psycopg.connect(infra.database_url(name), connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), inet_server_addr()::text"
        ).fetchone()
    assert row == ("comptoir", name, "127.0.0.1/32")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(infra.database_url(name, password="wrong"), connect_timeout=5).close()
    infra.drop_database(name)


def test_redis_ping() -> None:
    client = redis.Redis(host="127.0.0.1", port=6379)
    assert client.ping()
    client.close()


def test_stripe_mock_account_and_payment_intent() -> None:
    client = stripe.StripeClient(stripe_mock.API_KEY, base_addresses={"api": stripe_mock.API_BASE})
    account = client.v1.accounts.create(params={"type": "express", "country": "FR"})
    assert account.id.startswith("acct_")
    intent = client.v1.payment_intents.create(
        params={"amount": 4500, "currency": "eur", "transfer_data": {"destination": account.id}}
    )
    assert intent.id.startswith("pi_")
    assert intent.object == "payment_intent"


def test_mailbox_captures_mail() -> None:
    subject = f"Your reservation {uuid.uuid4().hex[:6]}"
    message = EmailMessage()
    message["From"] = "office@comptoir.test"
    message["To"] = "visitor@example.test"
    message["Subject"] = subject
    message.set_content("See you at the observatory.")
    with smtplib.SMTP("127.0.0.1", mailbox.SMTP_PORT, timeout=5) as smtp:
        smtp.send_message(message, to_addrs=["visitor@example.test", "bcc@example.test"])

    listed = httpx.get(f"{mailbox.API_BASE}/api/messages").json()
    [summary] = [m for m in listed if m["subject"] == subject]
    assert listed[-1] == summary
    assert summary["from"] == "office@comptoir.test"
    assert summary["to"] == ["visitor@example.test", "bcc@example.test"]
    raw = httpx.get(f"{mailbox.API_BASE}/api/messages/{summary['id']}")
    assert raw.status_code == 200 and f"Subject: {subject}" in raw.text
    assert infra.read_message(summary["id"]).get_content().strip() == "See you at the observatory."
    assert httpx.get(f"{mailbox.API_BASE}/api/messages/../../etc").status_code == 404

    assert httpx.delete(f"{mailbox.API_BASE}/api/messages").json()["deleted"] >= 1
    assert infra.list_messages() == []


def test_span_reaches_collector_file() -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "infra-test"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint="http://127.0.0.1:4318/v1/traces"))
    )
    tracer = provider.get_tracer("test_infra")
    marker = uuid.uuid4().hex
    with tracer.start_as_current_span("hold reservation") as parent:
        with tracer.start_as_current_span("insert outbox row") as child:
            child.set_attribute("comptoir.test.marker", marker)
    provider.shutdown()

    def find() -> dict[str, Any] | None:
        return next(
            (
                s
                for s in infra.read_spans()
                if s["attributes"].get("comptoir.test.marker") == marker
            ),
            None,
        )

    span = wait_for(find)
    assert span["name"] == "insert outbox row"
    assert span["service_name"] == "infra-test"
    assert span["trace_id"] == format(parent.get_span_context().trace_id, "032x")
    assert span["parent_span_id"] == format(parent.get_span_context().span_id, "016x")


def test_procs_only_signal_what_they_started() -> None:
    name = "test-sleeper"
    assert procs.start_process(name, ["sleep", "300"])
    assert not procs.start_process(name, ["sleep", "300"])
    pid = procs.process_status(name)
    assert pid is not None
    assert procs.stop_process(name, timeout=5)
    assert procs.process_status(name) is None
    assert not procs.pid_path(name).exists()

    # A pid file naming a process we did not start (pid reused) is never acted on.
    stranger = subprocess.Popen(["sleep", "300"])
    try:
        procs.pid_path(name).write_text(
            json.dumps({"pid": stranger.pid, "start_time": 1, "argv": ["sleep"]})
        )
        assert procs.process_status(name) is None
        assert not procs.stop_process(name)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_status_reports_every_component() -> None:
    names = [s["name"] for s in infra.status()]
    assert names == ["postgres", "redis", "kafka", "stripe-mock", "otelcol", "mailbox"]
    assert all(s["endpoint"].count("127.0.0.1") >= 1 for s in infra.status())
    assert os.path.exists(procs.log_path("kafka"))
