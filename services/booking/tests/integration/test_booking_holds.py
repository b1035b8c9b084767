"""Holds in one statement, against the real PostgreSQL: seats, reservation and event are
written together or not at all, and remembered sale facts never sell at old prices."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
import pytest
from sqlmodel import SQLModel

from comptoir_booking import service
from comptoir_common.db import make_driver_pool, make_engine, make_session_factory
from comptoir_common.events import v1
from comptoir_common.problems import Problem
from comptoir_ops import infra

DB = "comptoir_booking_holds_test"
URL = f"postgresql+asyncpg://comptoir:comptoir@127.0.0.1:5432/{DB}"
HOLD_FOR = timedelta(minutes=15)


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


class Offer:
    """One activity with one slot in booking's projection, changed through catalog events."""

    def __init__(self, capacity: int) -> None:
        self.activity_id, self.slot_id = uuid.uuid4(), uuid.uuid4()
        self.provider_id, self.territory_id = uuid.uuid4(), uuid.uuid4()
        self.start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
        self.capacity = capacity

    def activity(
        self, version: int, adult_cents: int, *, bookable: bool = True
    ) -> v1.ActivityUpdated:
        return v1.ActivityUpdated(
            activity_id=self.activity_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            version=version,
            title=v1.Localized(fr="Kayak", en="Kayak"),
            category="nautical",
            commune="Embrun",
            currency="EUR",
            timezone="Europe/Paris",
            units=[v1.UnitPrice(id="adult", type="ADULT", price_cents=adult_cents)],
            bookable=bookable,
            not_bookable_reason=None if bookable else "Stripe onboarding not finished.",
        )

    def slot(self, version: int, status: Literal["OPEN", "CLOSED"] = "OPEN") -> v1.SlotUpdated:
        return v1.SlotUpdated(
            slot_id=self.slot_id,
            activity_id=self.activity_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            version=version,
            start=self.start,
            duration_minutes=90,
            capacity=self.capacity,
            status=status,
        )

    def hold(self, adults: int) -> service.HoldRequest:
        return service.HoldRequest(
            slot_id=self.slot_id,
            units=[("adult", adults)],
            visitor=v1.Visitor(name="Jeanne Martin", email="jeanne@example.org", locale="fr"),
        )


def run(database: str, scenario: Callable[[asyncpg.Pool, Any], Awaitable[None]]) -> None:
    async def main() -> None:
        engine = make_engine(database, pool_size=2)
        sessions = make_session_factory(engine)
        pool = await make_driver_pool(database, max_size=4)

        async def apply(event: v1.EventPayload) -> None:
            async with sessions() as session, session.begin():
                if isinstance(event, v1.ActivityUpdated):
                    await service.apply_activity(session, event)
                else:
                    assert isinstance(event, v1.SlotUpdated)
                    await service.apply_slot(session, event)

        try:
            await scenario(pool, apply)
        finally:
            await pool.close()
            await engine.dispose()

    asyncio.run(main())


async def written(pool: asyncpg.Pool, offer: Offer) -> tuple[int, list[int], list[str]]:
    """Seats held on the slot, the reservations' totals, the hold-placed events' slots."""
    held = await pool.fetchval("SELECT held FROM slot WHERE id = $1", offer.slot_id)
    totals = [
        r["total_cents"]
        for r in await pool.fetch(
            "SELECT total_cents FROM reservation WHERE slot_id = $1 ORDER BY created_at",
            offer.slot_id,
        )
    ]
    events = [
        json.loads(r["envelope"])["data"]["total_cents"]
        for r in await pool.fetch(
            "SELECT envelope FROM outbox WHERE topic = 'booking.hold-placed.v1' "
            "AND envelope->'data'->>'slot_id' = $1 ORDER BY id",
            str(offer.slot_id),
        )
    ]
    return held, totals, events


def test_a_hold_writes_seats_reservation_and_event_together(database: str) -> None:
    offer = Offer(capacity=5)

    async def scenario(pool: asyncpg.Pool, apply: Any) -> None:
        await apply(offer.activity(1, adult_cents=3500))
        await apply(offer.slot(1))
        hold = await service.place_hold(pool, offer.hold(3), HOLD_FOR)
        assert (hold.seats, hold.total_cents) == (3, 10500)
        with pytest.raises(Problem) as refused:
            await service.place_hold(pool, offer.hold(3), HOLD_FOR)
        assert refused.value.status == 409
        assert refused.value.extra["remaining"] == 2
        assert await written(pool, offer) == (3, [10500], [10500])

    run(database, scenario)


def test_new_prices_apply_to_the_next_hold(database: str) -> None:
    offer = Offer(capacity=10)

    async def scenario(pool: asyncpg.Pool, apply: Any) -> None:
        await apply(offer.activity(1, adult_cents=3500))
        await apply(offer.slot(1))
        await service.place_hold(pool, offer.hold(1), HOLD_FOR)  # remembers version 1
        await apply(offer.activity(2, adult_cents=4200))
        hold = await service.place_hold(pool, offer.hold(1), HOLD_FOR)
        assert hold.total_cents == 4200
        assert await written(pool, offer) == (2, [3500, 4200], [3500, 4200])

    run(database, scenario)


def test_a_closed_slot_sells_nothing_even_to_a_remembered_offer(database: str) -> None:
    offer = Offer(capacity=10)

    async def scenario(pool: asyncpg.Pool, apply: Any) -> None:
        await apply(offer.activity(1, adult_cents=3500))
        await apply(offer.slot(1))
        await service.place_hold(pool, offer.hold(1), HOLD_FOR)
        await apply(offer.slot(2, status="CLOSED"))
        with pytest.raises(Problem) as refused:
            await service.place_hold(pool, offer.hold(1), HOLD_FOR)
        assert (refused.value.status, refused.value.kind) == (409, "slot-closed")
        assert await written(pool, offer) == (1, [3500], [3500])

    run(database, scenario)


def test_an_unknown_slot_is_not_found(database: str) -> None:
    offer = Offer(capacity=10)

    async def scenario(pool: asyncpg.Pool, apply: Any) -> None:
        with pytest.raises(Problem) as refused:
            await service.place_hold(pool, offer.hold(1), HOLD_FOR)
        assert refused.value.status == 404

    run(database, scenario)


def test_no_hold_while_the_provider_cannot_take_payments(database: str) -> None:
    offer = Offer(capacity=5)

    async def scenario(pool: asyncpg.Pool, apply: Any) -> None:
        await apply(offer.activity(1, adult_cents=3500))
        await apply(offer.slot(1))
        await service.place_hold(pool, offer.hold(1), HOLD_FOR)  # facts now in memory
        await apply(offer.activity(2, adult_cents=3500, bookable=False))
        with pytest.raises(Problem) as refused:
            await service.place_hold(pool, offer.hold(2), HOLD_FOR)
        assert refused.value.status == 409
        assert refused.value.extra["reason"] == "Stripe onboarding not finished."
        assert (await written(pool, offer))[0] == 1, "nothing taken while not bookable"
        await apply(offer.activity(3, adult_cents=3500))
        hold = await service.place_hold(pool, offer.hold(2), HOLD_FOR)
        assert hold.seats == 2
        assert (await written(pool, offer))[0] == 3

    run(database, scenario)
