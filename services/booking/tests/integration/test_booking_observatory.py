"""The office's observatory over known departures and reservations: every figure is
checked exactly, for the office and for a provider (limited to its own departures)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from comptoir_booking import service
from comptoir_booking.store import Activity, Reservation
from comptoir_common.db import SessionFactory
from comptoir_common.events import v1

if TYPE_CHECKING:  # the fixture's type only: another suite's conftest may be loaded too
    from conftest import Tokens

PARIS = ZoneInfo("Europe/Paris")
#: Four ISO weeks: 2026-W45 (Monday 2 November) to 2026-W48 (Sunday 29 November).
PERIOD = {"from": "2026-11-02", "to": "2026-11-29"}


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@dataclass
class Territory:
    territory_id: uuid.UUID = field(default_factory=uuid.uuid4)
    provider_1: uuid.UUID = field(default_factory=uuid.uuid4)
    provider_2: uuid.UUID = field(default_factory=uuid.uuid4)
    activities: dict[str, tuple[uuid.UUID, uuid.UUID]] = field(default_factory=dict)
    slots: dict[str, tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime]] = field(default_factory=dict)


def _activity(
    t: Territory, activity_id: uuid.UUID, provider_id: uuid.UUID, category: str, commune: str
) -> v1.ActivityUpdated:
    return v1.ActivityUpdated(
        activity_id=activity_id,
        provider_id=provider_id,
        territory_id=t.territory_id,
        version=1,
        title=v1.Localized(fr=category, en=category),
        category=category,
        commune=commune,
        currency="EUR",
        timezone="Europe/Paris",
        units=[v1.UnitPrice(id="adult", type="ADULT", price_cents=1000)],
    )


@pytest.fixture(scope="module")
async def territory(reports_sessions: SessionFactory) -> Territory:
    """Provider 1: a kayak trip (nautical, Embrun) and a castle tour (heritage, Gap);
    provider 2: a canoe trip (nautical, Gap) and a tasting whose category and commune
    booking has not heard of (projected before it kept them)."""
    t = Territory()
    activities = {
        "kayak": (t.provider_1, "nautical", "Embrun"),
        "castle": (t.provider_1, "heritage", "Gap"),
        "canoe": (t.provider_2, "nautical", "Gap"),
        "tasting": (t.provider_2, "gastronomy", "Gap"),
    }
    slots = {
        # name: activity, local start, capacity, status
        "before": ("kayak", local(2026, 11, 1, 12), 3, "OPEN"),  # outside: 1 November
        "s6": ("kayak", local(2026, 11, 2, 0, 30), 6, "OPEN"),  # 1 November in UTC: inside
        "s1": ("kayak", local(2026, 11, 3, 10), 10, "OPEN"),
        "s2": ("castle", local(2026, 11, 10, 14), 8, "OPEN"),
        "s4": ("kayak", local(2026, 11, 11, 9), 10, "CANCELLED"),
        "s3": ("canoe", local(2026, 11, 12, 9), 5, "CLOSED"),  # closed later: still counted
        "s7": ("tasting", local(2026, 11, 18, 10), 4, "OPEN"),
        "s5": ("kayak", local(2026, 11, 30, 0, 30), 6, "OPEN"),  # 29 November in UTC: outside
    }
    async with reports_sessions() as session, session.begin():
        for name, (provider, category, commune) in activities.items():
            activity_id = uuid.uuid4()
            t.activities[name] = (activity_id, provider)
            await service.apply_activity(
                session, _activity(t, activity_id, provider, category, commune)
            )
        tasting_id = t.activities["tasting"][0]
        await session.execute(
            text("UPDATE activity SET category = NULL, commune = NULL WHERE id = :id"),
            {"id": tasting_id},
        )
        for name, (activity, start, capacity, status) in slots.items():
            activity_id, provider = t.activities[activity]
            slot_id = uuid.uuid4()
            t.slots[name] = (slot_id, activity_id, provider, start)
            await service.apply_slot(
                session,
                v1.SlotUpdated(
                    slot_id=slot_id,
                    activity_id=activity_id,
                    provider_id=provider,
                    territory_id=t.territory_id,
                    version=1,
                    start=start,
                    duration_minutes=90,
                    capacity=capacity,
                    status="CLOSED" if status == "CLOSED" else "OPEN",
                ),
            )
            if status == "CANCELLED":
                await session.execute(
                    text("UPDATE slot SET status = 'CANCELLED' WHERE id = :id"), {"id": slot_id}
                )

        def reservation(
            slot: str,
            status: str,
            seats: int,
            hours_before: float,
            refund_cents: int | None = None,
            total_cents: int | None = None,
        ) -> None:
            slot_id, activity_id, provider, start = t.slots[slot]
            session.add(
                Reservation(
                    slot_id=slot_id,
                    activity_id=activity_id,
                    provider_id=provider,
                    territory_id=t.territory_id,
                    status=status,
                    units=[{"id": "adult", "quantity": seats, "unit_price_cents": 1000}],
                    seats=seats,
                    total_cents=seats * 1000 if total_cents is None else total_cents,
                    currency="EUR",
                    expires_at=start - timedelta(hours=hours_before) + timedelta(minutes=15),
                    visitor_name="Visitor",
                    visitor_email="visitor@example.org",
                    visitor_locale="fr",
                    created_at=start - timedelta(hours=hours_before),
                    refund_cents=refund_cents,
                )
            )

        reservation("before", "CONFIRMED", 3, 10)
        reservation("s1", "CONFIRMED", 4, 3)  # same day
        reservation("s1", "REDEEMED", 2, 96)  # 4 days: 1-6 days
        reservation("s1", "ON_HOLD", 1, 1)  # not sold
        reservation("s1", "EXPIRED", 1, 200)  # not sold
        reservation("s1", "CANCELLED", 2, 50, refund_cents=1000)  # cancelled after payment
        reservation("s1", "CANCELLED", 1, 20)  # a hold let go: not a cancelled booking
        reservation("s2", "CONFIRMED", 8, 960)  # 40 days: over 4 weeks
        reservation("s3", "CONFIRMED", 1, 336, total_cents=1500)  # 14 days: 1-4 weeks
        reservation("s3", "CONFIRMED", 2, 12)  # same day
        reservation("s4", "CANCELLED", 3, 100, refund_cents=3000)  # with its departure
        reservation("s7", "CONFIRMED", 1, 30)  # 1-6 days
        reservation("s5", "CONFIRMED", 1, 5)
    return t


def _row(slots: int, capacity: int, sold: int, fill: float, bookings: int, cancelled: int) -> Any:
    return {
        "slots": slots,
        "capacity": capacity,
        "seats_sold": sold,
        "fill_rate": fill,
        "bookings": bookings,
        "cancelled_departures": cancelled,
    }


async def _observatory(
    client: httpx.AsyncClient, territory_id: uuid.UUID, headers: dict[str, str], **params: Any
) -> httpx.Response:
    return await client.get(
        f"/v1/territories/{territory_id}/observatory", params=params, headers=headers
    )


async def test_the_office_sees_every_figure_of_its_territory(
    client: httpx.AsyncClient, territory: Territory, tokens: Tokens
) -> None:
    answer = await _observatory(
        client, territory.territory_id, tokens.admin(territory.territory_id), **PERIOD
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"], body["provider_id"]) == ("2026-11-02", "2026-11-29", None)
    # s1, s2, s3, s6, s7 (s4 cancelled); 6+8+3+0+1 seats sold of 10+8+5+6+4.
    assert body["totals"] == {
        **_row(5, 33, 18, 0.5455, 6, 1),
        "cancelled_reservations": 2,
        "checked_in": 2,
        "revenue_cents": 18500,
        "currency": "EUR",
    }
    assert body["by_week"] == [
        {"week": "2026-W45", "week_start": "2026-11-02", **_row(2, 16, 6, 0.375, 2, 0)},
        {"week": "2026-W46", "week_start": "2026-11-09", **_row(2, 13, 11, 0.8462, 3, 1)},
        {"week": "2026-W47", "week_start": "2026-11-16", **_row(1, 4, 1, 0.25, 1, 0)},
        {"week": "2026-W48", "week_start": "2026-11-23", **_row(0, 0, 0, 0.0, 0, 0)},
    ]
    assert body["by_category"] == [
        {"category": "nautical", **_row(3, 21, 9, 0.4286, 4, 1)},
        {"category": "heritage", **_row(1, 8, 8, 1.0, 1, 0)},
        {"category": None, **_row(1, 4, 1, 0.25, 1, 0)},
    ]
    assert body["by_commune"] == [
        {"commune": "Gap", **_row(2, 13, 11, 0.8462, 3, 0)},
        {"commune": "Embrun", **_row(2, 16, 6, 0.375, 2, 1)},
        {"commune": None, **_row(1, 4, 1, 0.25, 1, 0)},
    ]
    # Booked 3, 12, 30, 96, 336 and 960 hours before their departure.
    assert body["lead_time"] == {
        "median_hours": 63.0,
        "buckets": [
            {"label": "same day", "bookings": 2},
            {"label": "1-6 days", "bookings": 2},
            {"label": "1-4 weeks", "bookings": 1},
            {"label": "over 4 weeks", "bookings": 1},
        ],
    }


async def test_a_provider_reads_figures_of_its_own_departures_only(
    client: httpx.AsyncClient, territory: Territory, tokens: Tokens
) -> None:
    headers = tokens.provider(territory.territory_id, territory.provider_1)
    answer = await _observatory(client, territory.territory_id, headers, **PERIOD)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["provider_id"] == str(territory.provider_1)
    assert body["totals"] == {
        **_row(3, 24, 14, 0.5833, 3, 1),
        "cancelled_reservations": 2,
        "checked_in": 2,
        "revenue_cents": 14000,
        "currency": "EUR",
    }
    assert [w["seats_sold"] for w in body["by_week"]] == [6, 8, 0, 0]
    assert body["by_category"] == [
        {"category": "heritage", **_row(1, 8, 8, 1.0, 1, 0)},
        {"category": "nautical", **_row(2, 16, 6, 0.375, 2, 1)},
    ]
    assert [c["commune"] for c in body["by_commune"]] == ["Gap", "Embrun"]
    assert body["lead_time"]["median_hours"] == 96.0
    assert [b["bookings"] for b in body["lead_time"]["buckets"]] == [1, 1, 0, 1]


async def test_another_territory_is_forbidden(
    client: httpx.AsyncClient, territory: Territory, tokens: Tokens
) -> None:
    other = uuid.uuid4()
    for headers in (
        tokens.admin(other),
        tokens.provider(other, territory.provider_1),
    ):
        answer = await _observatory(client, territory.territory_id, headers, **PERIOD)
        assert answer.status_code == 403, answer.text
    visitor = tokens.visitor_of(territory.territory_id, uuid.uuid4())
    assert (await _observatory(client, territory.territory_id, visitor)).status_code == 403


async def test_a_period_over_366_days_or_backwards_is_refused(
    client: httpx.AsyncClient, territory: Territory, tokens: Tokens
) -> None:
    headers = tokens.admin(territory.territory_id)
    year = await _observatory(
        client, territory.territory_id, headers, **{"from": "2025-12-31", "to": "2026-12-31"}
    )
    assert year.status_code == 200, year.text
    assert len(year.json()["by_week"]) == 53  # 2026-W01 (from 29 Dec 2025) to 2026-W53
    assert year.json()["totals"]["seats_sold"] == 22  # everything, "before" and s5 too
    too_long = await _observatory(
        client, territory.territory_id, headers, **{"from": "2025-12-30", "to": "2026-12-31"}
    )
    assert too_long.status_code == 422
    assert too_long.json()["type"].endswith("bad-range")
    backwards = await _observatory(
        client, territory.territory_id, headers, **{"from": "2026-11-02", "to": "2026-11-01"}
    )
    assert backwards.status_code == 422


async def test_by_default_eight_weeks_back_and_four_ahead(
    client: httpx.AsyncClient, territory: Territory, tokens: Tokens
) -> None:
    before = datetime.now(PARIS).date()
    answer = await _observatory(
        client, territory.territory_id, tokens.admin(territory.territory_id)
    )
    after = datetime.now(PARIS).date()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    today = date.fromisoformat(body["from"]) + timedelta(weeks=8)
    assert today in (before, after)
    assert date.fromisoformat(body["to"]) == today + timedelta(weeks=4)
    assert len(body["lead_time"]["buckets"]) == 4


async def test_an_activity_projected_before_gets_its_category_on_redelivery(
    reports_sessions: SessionFactory,
) -> None:
    t = Territory()
    activity_id = uuid.uuid4()
    event = _activity(t, activity_id, t.provider_1, "nautical", "Embrun")
    async with reports_sessions() as session, session.begin():
        await service.apply_activity(session, event)
        await session.execute(
            text("UPDATE activity SET category = NULL, commune = NULL WHERE id = :id"),
            {"id": activity_id},
        )
    async with reports_sessions() as session, session.begin():
        await service.apply_activity(session, event)  # the same version, redelivered
    async with reports_sessions() as session, session.begin():
        await service.apply_activity(
            session, event.model_copy(update={"category": "old", "commune": "Old"})
        )  # a redelivery never overwrites what is known
    async with reports_sessions() as session:
        row = await session.get(Activity, activity_id)
        assert row is not None
        assert (row.category, row.commune) == ("nautical", "Embrun")
    newer = event.model_copy(update={"version": 2, "category": "heritage", "commune": "Gap"})
    async with reports_sessions() as session, session.begin():
        await service.apply_activity(session, newer)
    async with reports_sessions() as session:
        row = await session.get(Activity, activity_id)
        assert row is not None
        assert (row.category, row.commune) == ("heritage", "Gap")
