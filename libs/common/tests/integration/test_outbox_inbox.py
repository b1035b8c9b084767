"""Outbox relay, inbox and idempotency against the real PostgreSQL, Kafka and Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from comptoir_common.db import make_engine, make_session_factory
from comptoir_common.events import Envelope, dlq_topic, v1
from comptoir_common.idempotency import run_idempotent
from comptoir_common.inbox import Consumers, InboxMessage
from comptoir_common.outbox import OutboxMessage, OutboxRelay, add_event
from comptoir_common.problems import Problem
from comptoir_common.service import make_broker
from comptoir_common.settings import ServiceSettings
from comptoir_ops import infra

DB = "comptoir_common_test"
BOOTSTRAP = "127.0.0.1:9092"


@pytest.fixture(scope="module")
def namespace() -> str:
    infra.up(timeout=180)
    infra.recreate_database(DB)
    ns = f"it-{uuid.uuid4().hex[:8]}."
    infra.ensure_topics(
        [
            ns + "booking.slot-availability-changed.v1",
            ns + dlq_topic("booking.slot-availability-changed.v1"),
        ]
    )
    return ns


@pytest.fixture
async def env(namespace: str) -> AsyncIterator[dict[str, Any]]:
    engine = make_engine(f"postgresql+asyncpg://comptoir:comptoir@127.0.0.1:5432/{DB}")
    async with engine.begin() as conn:
        tables = [OutboxMessage.__table__, InboxMessage.__table__]  # type: ignore[attr-defined]
        await conn.run_sync(lambda c: SQLModel.metadata.drop_all(c, tables=tables))
        await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=tables))
    settings = ServiceSettings(service_name="it", kafka_namespace=namespace)
    broker = make_broker(settings)
    await broker.start()
    yield {"sessions": make_session_factory(engine), "broker": broker, "ns": namespace}
    await broker.stop()
    await engine.dispose()


def _event(slot: uuid.UUID, version: int) -> v1.SlotAvailabilityChanged:
    return v1.SlotAvailabilityChanged(
        slot_id=slot,
        activity_id=slot,
        territory_id=slot,
        version=version,
        capacity=100,
        on_hold=version,
        confirmed=0,
        remaining=100 - version,
    )


async def _consume(topic: str, expected: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                records += [r for rs in batch.values() for r in rs]
        await asyncio.sleep(0.5)
        batch = await consumer.getmany(timeout_ms=500)
        records += [r for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return records


async def test_the_relay_publishes_every_event_once_in_order_per_key(env: dict[str, Any]) -> None:
    sessions, broker, ns = env["sessions"], env["broker"], env["ns"]
    slots = [uuid.uuid4() for _ in range(3)]
    for version in range(1, 21):
        for slot in slots:
            async with sessions() as session, session.begin():
                add_event(session, _event(slot, version), producer="it", territory_id=None)
    async with sessions() as session, session.begin():
        add_event(session, _event(slots[0], 99), producer="it", territory_id=None)
        await session.flush()
        await session.rollback()  # a rolled-back change publishes nothing

    first = OutboxRelay(sessions, broker, service="it", topic_prefix=ns, batch_size=25)
    while await first.publish_batch():
        pass
    # A restarted relay finds nothing left to send.
    second = OutboxRelay(sessions, broker, service="it", topic_prefix=ns)
    assert await second.publish_batch() == 0
    assert first.published == 60

    records = await _consume(ns + "booking.slot-availability-changed.v1", 60)
    versions: dict[bytes, list[int]] = defaultdict(list)
    for record in records:
        if record.key in {str(s).encode() for s in slots}:
            versions[record.key].append(json.loads(record.value)["data"]["version"])
    assert len(versions) == 3
    for seen in versions.values():
        assert seen == list(range(1, 21))


async def test_two_relays_never_publish_the_same_batch(env: dict[str, Any]) -> None:
    sessions, broker, ns = env["sessions"], env["broker"], env["ns"]
    slot = uuid.uuid4()
    for version in range(1, 41):
        async with sessions() as session, session.begin():
            add_event(session, _event(slot, version), producer="it", territory_id=None)
    relays = [
        OutboxRelay(sessions, broker, service="it", topic_prefix=ns, batch_size=5) for _ in range(2)
    ]

    async def drain(relay: OutboxRelay) -> None:
        for _ in range(40):
            await relay.publish_batch()

    await asyncio.gather(*(drain(r) for r in relays))
    assert sum(r.published for r in relays) == 40


async def test_the_inbox_applies_an_event_once_and_dead_letters_poison(
    env: dict[str, Any],
) -> None:
    sessions, broker, ns = env["sessions"], env["broker"], env["ns"]
    applied: list[int] = []
    consumers = Consumers(service="it", topic_prefix=ns, max_attempts=2, retry_backoff_seconds=0.01)

    @consumers.on(v1.SlotAvailabilityChanged)
    async def handle(session: AsyncSession, envelope: Envelope, event: Any) -> None:
        if event.version == 13:
            raise RuntimeError("this one always fails")
        await session.execute(text("SELECT 1"))
        applied.append(event.version)

    consumers.sessions, consumers.broker = sessions, broker
    raw = Envelope.wrap(_event(uuid.uuid4(), 1), producer="it", territory_id=None)
    encoded = raw.model_dump_json().encode()
    contract = v1.SlotAvailabilityChanged
    assert await consumers.process(contract, encoded) == "applied"
    assert await consumers.process(contract, encoded) == "duplicate"
    assert applied == [1]
    assert await consumers.process(contract, b"\x00garbage") == "dead-lettered"
    failing = Envelope.wrap(_event(uuid.uuid4(), 13), producer="it", territory_id=None)
    assert await consumers.process(contract, failing.model_dump_json().encode()) == "dead-lettered"
    async with sessions() as session:
        # the failed event is not marked handled: a replay from the DLQ can apply it later
        stored = await session.get(InboxMessage, failing.event_id)
        assert stored is None
    records = await _consume(ns + dlq_topic(contract.event_type), 2)
    reasons = sorted(dict(r.headers)["comptoir-dlq-reason"].decode()[:9] for r in records)
    assert reasons == ["failed: R", "malformed"]


async def test_one_idempotency_key_never_runs_twice_at_once() -> None:
    redis = Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    runs = 0

    async def execute() -> tuple[int, dict[str, int]]:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.3)
        return 201, {"run": runs}

    key = str(uuid.uuid4())
    body = {"seats": 2}

    async def call() -> int:
        try:
            response = await run_idempotent(redis, scope="it", key=key, body=body, execute=execute)
        except Problem as problem:
            return problem.status
        return response.status_code

    statuses = sorted(await asyncio.gather(call(), call(), call()))
    assert statuses == [201, 409, 409]
    replay = await run_idempotent(redis, scope="it", key=key, body=body, execute=execute)
    assert replay.status_code == 201 and json.loads(replay.body) == {"run": 1}
    with pytest.raises(Problem) as caught:
        await run_idempotent(redis, scope="it", key=key, body={"seats": 3}, execute=execute)
    assert caught.value.status == 422
    assert runs == 1
    # Another deployment sharing this Redis (its own namespace) runs the request itself.
    elsewhere = await run_idempotent(
        redis, scope="it", key=key, body=body, execute=execute, namespace="other-run."
    )
    assert elsewhere.status_code == 201 and json.loads(elsewhere.body) == {"run": 2}
    assert runs == 2
    await redis.aclose()
