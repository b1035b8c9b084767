"""Replaying catalog's events in any order and multiplicity leaves booking's projection in
the same state, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel

from comptoir_booking import service
from comptoir_booking.store import Slot
from comptoir_common.db import make_engine, make_session_factory
from comptoir_common.events import v1
from comptoir_ops import infra

DB = "comptoir_booking_test"
URL = f"postgresql+asyncpg://comptoir:comptoir@127.0.0.1:5432/{DB}"
START = datetime(2027, 7, 14, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def database() -> str:
    infra.up(timeout=180)
    infra.recreate_database(DB)

    async def create() -> None:
        engine = make_engine(URL)
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        await engine.dispose()

    asyncio.run(create())
    return URL


def _versions(slot_id: uuid.UUID) -> list[v1.SlotUpdated]:
    ids = {"activity_id": uuid.uuid4(), "provider_id": uuid.uuid4(), "territory_id": uuid.uuid4()}
    return [
        v1.SlotUpdated(
            slot_id=slot_id,
            version=n,
            start=START + timedelta(hours=n),
            duration_minutes=60 * n,
            capacity=10 * n,
            status="CLOSED" if n == 3 else "OPEN",
            **ids,
        )
        for n in (1, 2, 3, 4)
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=12))
def test_any_order_of_slot_events_gives_the_newest_state(database: str, order: list[int]) -> None:
    slot_id = uuid.uuid4()
    events = _versions(slot_id)
    delivered = [events[i] for i in order]

    async def replay() -> Slot | None:
        engine = make_engine(database, pool_size=2)
        sessions = make_session_factory(engine)
        for event in delivered:
            async with sessions() as session, session.begin():
                await service.apply_slot(session, event)
        async with sessions() as session:
            slot = await session.get(Slot, slot_id)
        await engine.dispose()
        return slot

    slot = asyncio.run(replay())
    newest = max(delivered, key=lambda e: e.version)
    assert slot is not None
    assert (slot.version, slot.capacity, slot.status) == (
        newest.version,
        newest.capacity,
        newest.status,
    )
    assert slot.start == newest.start


def test_a_cancelled_departure_stays_cancelled_when_catalog_speaks_again(database: str) -> None:
    slot_id = uuid.uuid4()
    first, second, *_ = _versions(slot_id)

    async def scenario() -> str:
        engine = make_engine(database, pool_size=2)
        sessions = make_session_factory(engine)
        async with sessions() as session, session.begin():
            await service.apply_slot(session, first)
        async with sessions() as session, session.begin():
            await session.execute(
                text("UPDATE slot SET status = 'CANCELLED' WHERE id = :id"), {"id": slot_id}
            )
        async with sessions() as session, session.begin():
            await service.apply_slot(session, second)
        async with sessions() as session:
            slot = await session.get(Slot, slot_id)
        await engine.dispose()
        assert slot is not None
        return slot.status

    assert asyncio.run(scenario()) == "CANCELLED"
