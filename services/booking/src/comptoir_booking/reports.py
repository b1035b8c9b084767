"""Read-only views for the people who run departures: a provider's or an office's agenda,
and the office's observatory. Nothing here changes state; every figure is summed by
PostgreSQL (one row per slot or per group comes back, never one per reservation).

Seats sold are the seats of CONFIRMED and REDEEMED reservations: a checked-in visitor
keeps their seat, and the slot's own ``confirmed`` counter (what the availability
endpoint shows) counts both alike.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_booking.domain import (
    LEAD_TIME_LABELS,
    LEAD_TIME_LIMITS_HOURS,
    Status,
    fill_rate,
    iso_weeks,
)
from comptoir_booking.store import Activity, Reservation, Slot
from comptoir_common.auth import Principal
from comptoir_common.problems import Problem

#: The reservations whose seats are sold: paid, whether checked in yet or not.
SOLD = (Status.CONFIRMED.value, Status.REDEEMED.value)


# --- agenda ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaRow:
    slot: Slot
    activity: Activity | None
    reservations: int
    checked_in: int


def agenda_provider(principal: Principal, provider_id: uuid.UUID | None) -> uuid.UUID | None:
    """Whose slots the caller sees: a provider its own only (asking for another's is
    403); the office any of its territory's, or all of them without a filter."""
    if principal.is_admin:
        return provider_id
    if principal.role != "provider" or principal.provider_id is None:
        raise Problem(
            403, "Only a provider or the office's staff can see an agenda.", kind="forbidden"
        )
    if provider_id is not None and provider_id != principal.provider_id:
        raise Problem(403, "A provider sees its own agenda only.", kind="forbidden")
    return principal.provider_id


async def agenda(
    session: AsyncSession,
    principal: Principal,
    *,
    start_from: datetime,
    until: datetime,
    provider_id: uuid.UUID | None,
    activity_id: uuid.UUID | None,
) -> list[AgendaRow]:
    """The caller's slots starting in ``[start_from, until)``, earliest first, each with
    its activity (None if not heard of yet) and its reservation counts (two index look-ups
    per slot, on ``reservation.slot_id``)."""
    provider = agenda_provider(principal, provider_id)
    reservations = (
        select(func.count())
        .where(Reservation.slot_id == Slot.id)  # type: ignore[arg-type]
        .where(Reservation.status.in_(SOLD))  # type: ignore[attr-defined]
        .scalar_subquery()
    )
    checked_in = (
        select(func.coalesce(func.sum(Reservation.seats), 0))
        .where(Reservation.slot_id == Slot.id)  # type: ignore[arg-type]
        .where(Reservation.status == Status.REDEEMED)  # type: ignore[arg-type]
        .scalar_subquery()
    )
    query = (
        select(Slot, Activity, reservations, checked_in)
        .outerjoin(Activity, Activity.id == Slot.activity_id)  # type: ignore[arg-type]
        .where(Slot.territory_id == principal.territory_id)  # type: ignore[arg-type]
        .where(Slot.start >= start_from)  # type: ignore[arg-type]
        .where(Slot.start < until)  # type: ignore[arg-type]
        .order_by(Slot.start, Slot.id)  # type: ignore[arg-type]
    )
    if provider is not None:
        query = query.where(Slot.provider_id == provider)  # type: ignore[arg-type]
    if activity_id is not None:
        query = query.where(Slot.activity_id == activity_id)  # type: ignore[arg-type]
    rows = await session.execute(query)
    return [AgendaRow(slot, activity, int(n), int(seats)) for slot, activity, n, seats in rows]


# --- observatory -----------------------------------------------------------------------


@dataclass(frozen=True)
class GroupFigures:
    slots: int = 0
    capacity: int = 0
    seats_sold: int = 0
    bookings: int = 0
    cancelled_departures: int = 0

    @property
    def fill_rate(self) -> float:
        return fill_rate(self.seats_sold, self.capacity)

    def as_dict(self) -> dict[str, Any]:
        return {
            "slots": self.slots,
            "capacity": self.capacity,
            "seats_sold": self.seats_sold,
            "fill_rate": self.fill_rate,
            "bookings": self.bookings,
            "cancelled_departures": self.cancelled_departures,
        }


@dataclass(frozen=True)
class ObservatoryFigures:
    first: date
    last: date
    provider_id: uuid.UUID | None
    totals: GroupFigures
    cancelled_reservations: int
    checked_in: int
    revenue_cents: int
    currency: str | None
    #: One per ISO week of the period, in order, empty weeks included: (monday, figures).
    weeks: list[tuple[date, GroupFigures]]
    categories: list[tuple[str | None, GroupFigures]]
    communes: list[tuple[str | None, GroupFigures]]
    median_lead_hours: float | None
    #: Bookings per ``LEAD_TIME_LABELS`` bucket, in that order.
    lead_time_buckets: list[int]


def observatory_scope(principal: Principal, territory_id: uuid.UUID) -> uuid.UUID | None:
    """The office's staff of the territory see all of it; a provider of the territory
    only its own departures (the provider id answered limits every figure)."""
    if not principal.sees_territory(territory_id):
        raise Problem(403, "This observatory belongs to another territory.", kind="forbidden")
    if principal.is_admin:
        return None
    if principal.role == "provider" and principal.provider_id is not None:
        return principal.provider_id
    raise Problem(403, "Only the office's staff or its providers can see this.", kind="forbidden")


async def territory_facts(
    session: AsyncSession, territory_id: uuid.UUID
) -> tuple[str | None, ZoneInfo]:
    """The territory's currency and the time zone most of its activities are in (UTC when
    booking knows none), from booking's projection of its activities."""
    row = (
        await session.execute(
            text(
                "SELECT min(currency) AS currency, "
                "mode() WITHIN GROUP (ORDER BY timezone) AS timezone "
                "FROM activity WHERE territory_id = :territory_id"
            ),
            {"territory_id": territory_id},
        )
    ).one()
    return row.currency, _zone(row.timezone)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def today_in(zone: ZoneInfo) -> date:
    return datetime.now(UTC).astimezone(zone).date()


#: The departures of the period: their start date in their activity's time zone falls in
#: ``[:first, :last]``. The UTC bounds only let the index on ``slot.start`` narrow the rows
#: (no time zone is more than a day away from UTC).
_PERIOD_SLOTS = """
WITH period_slot AS (
    SELECT s.id, s.start, s.capacity, s.status = 'CANCELLED' AS cancelled,
           a.category, a.commune,
           date_trunc('week', s.start AT TIME ZONE coalesce(a.timezone, 'UTC'))::date AS week
    FROM slot s LEFT JOIN activity a ON a.id = s.activity_id
    WHERE s.territory_id = :territory_id {provider}
      AND s.start >= :lower AND s.start < :upper
      AND (s.start AT TIME ZONE coalesce(a.timezone, 'UTC'))::date BETWEEN :first AND :last
)
"""

#: Per slot, its reservations summed; then totals, weeks, categories and communes at once
#: (grouping sets). ``cancelled_reservations`` are those cancelled after payment: a
#: refund was decided for them (possibly of 0 under the policy); released holds have none.
_FIGURES = """
, sold AS (
    SELECT r.slot_id,
           count(*) FILTER (WHERE r.status IN ('CONFIRMED', 'REDEEMED')) AS bookings,
           coalesce(sum(r.seats) FILTER (WHERE r.status IN ('CONFIRMED', 'REDEEMED')), 0)
               AS seats_sold,
           coalesce(sum(r.seats) FILTER (WHERE r.status = 'REDEEMED'), 0) AS checked_in,
           coalesce(sum(r.total_cents) FILTER (WHERE r.status IN ('CONFIRMED', 'REDEEMED')), 0)
               AS revenue_cents,
           count(*) FILTER (WHERE r.status = 'CANCELLED' AND r.refund_cents IS NOT NULL)
               AS cancelled_reservations
    FROM reservation r JOIN period_slot p ON p.id = r.slot_id
    WHERE r.status IN ('CONFIRMED', 'REDEEMED', 'CANCELLED')
    GROUP BY r.slot_id
), per_slot AS (
    SELECT p.*, coalesce(sold.bookings, 0) AS bookings,
           coalesce(sold.seats_sold, 0) AS seats_sold,
           coalesce(sold.checked_in, 0) AS checked_in,
           coalesce(sold.revenue_cents, 0) AS revenue_cents,
           coalesce(sold.cancelled_reservations, 0) AS cancelled_reservations
    FROM period_slot p LEFT JOIN sold ON sold.slot_id = p.id
)
SELECT GROUPING(week) = 0 AS by_week, GROUPING(category) = 0 AS by_category,
       GROUPING(commune) = 0 AS by_commune, week, category, commune,
       count(*) FILTER (WHERE NOT cancelled) AS slots,
       coalesce(sum(capacity) FILTER (WHERE NOT cancelled), 0)::bigint AS capacity,
       coalesce(sum(seats_sold) FILTER (WHERE NOT cancelled), 0)::bigint AS seats_sold,
       coalesce(sum(bookings) FILTER (WHERE NOT cancelled), 0)::bigint AS bookings,
       count(*) FILTER (WHERE cancelled) AS cancelled_departures,
       coalesce(sum(cancelled_reservations), 0)::bigint AS cancelled_reservations,
       coalesce(sum(checked_in) FILTER (WHERE NOT cancelled), 0)::bigint AS checked_in,
       coalesce(sum(revenue_cents) FILTER (WHERE NOT cancelled), 0)::bigint AS revenue_cents
FROM per_slot
GROUP BY GROUPING SETS ((), (week), (category), (commune))
"""

#: Hours from each sale to its departure: the median, and the bookings per bucket
#: (``width_bucket`` over the bucket limits gives the bucket's index).
_LEAD_TIME = """
, lead AS (
    SELECT hours, width_bucket(hours, CAST(:limits AS float8[])) AS bucket
    FROM (
        SELECT extract(epoch FROM p.start - r.created_at)::float8 / 3600 AS hours
        FROM period_slot p JOIN reservation r ON r.slot_id = p.id
        WHERE NOT p.cancelled AND r.status IN ('CONFIRMED', 'REDEEMED')
    ) sale
)
SELECT GROUPING(bucket) = 1 AS overall, bucket, count(*) AS bookings,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median_hours
FROM lead
GROUP BY GROUPING SETS ((), (bucket))
"""


async def observatory(
    session: AsyncSession,
    territory_id: uuid.UUID,
    first: date,
    last: date,
    *,
    provider_id: uuid.UUID | None,
    currency: str | None,
) -> ObservatoryFigures:
    """The figures of the departures whose local start date is in ``[first, last]``,
    limited to ``provider_id``'s when given."""
    params: dict[str, Any] = {
        "territory_id": territory_id,
        "first": first,
        "last": last,
        "lower": datetime.combine(first, time(), UTC) - timedelta(days=1),
        "upper": datetime.combine(last, time(), UTC) + timedelta(days=2),
    }
    provider = ""
    if provider_id is not None:
        provider, params["provider_id"] = "AND s.provider_id = :provider_id", provider_id
    slots = _PERIOD_SLOTS.format(provider=provider)
    groups = (await session.execute(text(slots + _FIGURES), params)).all()
    lead = (
        await session.execute(
            text(slots + _LEAD_TIME), {**params, "limits": list(map(float, LEAD_TIME_LIMITS_HOURS))}
        )
    ).all()

    totals, extra = GroupFigures(), (0, 0, 0)
    weeks: dict[date, GroupFigures] = {}
    categories: list[tuple[str | None, GroupFigures]] = []
    communes: list[tuple[str | None, GroupFigures]] = []
    for row in groups:
        figures = GroupFigures(
            slots=int(row.slots),
            capacity=int(row.capacity),
            seats_sold=int(row.seats_sold),
            bookings=int(row.bookings),
            cancelled_departures=int(row.cancelled_departures),
        )
        if row.by_week:
            weeks[row.week] = figures
        elif row.by_category:
            categories.append((row.category, figures))
        elif row.by_commune:
            communes.append((row.commune, figures))
        else:
            totals = figures
            extra = (int(row.cancelled_reservations), int(row.checked_in), int(row.revenue_cents))

    buckets = [0] * len(LEAD_TIME_LABELS)
    median: float | None = None
    for row in lead:
        if row.overall:
            median = None if row.median_hours is None else round(float(row.median_hours), 1)
        else:
            buckets[int(row.bucket)] = int(row.bookings)

    return ObservatoryFigures(
        first=first,
        last=last,
        provider_id=provider_id,
        totals=totals,
        cancelled_reservations=extra[0],
        checked_in=extra[1],
        revenue_cents=extra[2],
        currency=currency,
        weeks=[(monday, weeks.get(monday, GroupFigures())) for monday in iso_weeks(first, last)],
        categories=_by_seats_sold(categories),
        communes=_by_seats_sold(communes),
        median_lead_hours=median,
        lead_time_buckets=buckets,
    )


def _by_seats_sold(
    rows: list[tuple[str | None, GroupFigures]],
) -> list[tuple[str | None, GroupFigures]]:
    """Most seats sold first; then by name (unknown last), so the order is stable."""
    return sorted(rows, key=lambda r: (-r[1].seats_sold, r[0] is None, r[0] or ""))
