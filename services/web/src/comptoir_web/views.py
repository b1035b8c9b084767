"""What the pages show, computed without I/O: search filters, the calendar by day, the
refund a cancellation would give, the ticket's QR code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import segno

from comptoir_web.i18n import DEFAULT_TZ, local_date, typed_date

Json = dict[str, Any]

#: How many days the search looks ahead for departures, and the activity calendar shows.
SEARCH_DAYS = 30
CALENDAR_DAYS = 14


@dataclass(frozen=True)
class Filters:
    day: date | None = None
    category: str = ""
    commune: str = ""
    max_price_cents: int | None = None
    available_only: bool = False

    @classmethod
    def parse(cls, query: dict[str, str], today: date) -> Filters:
        """From the search form's query string; what cannot be read is left out."""
        day = None
        try:
            day = typed_date(query["date"]) if query.get("date") else None
        except ValueError:
            day = None
        if day is not None and day < today:
            day = None
        price = None
        raw_price = query.get("price", "").strip().replace(",", ".")
        if raw_price:
            try:
                price = max(0, round(float(raw_price) * 100))
            except ValueError:
                price = None
        return cls(
            day=day,
            category=query.get("category", "").strip(),
            commune=query.get("commune", "").strip(),
            max_price_cents=price,
            available_only=query.get("available") in ("1", "on", "true"),
        )

    def window(self, now: datetime, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
        """The departures the search looks at: the chosen day, or the coming weeks."""
        if self.day is None:
            return now, now + timedelta(days=SEARCH_DAYS)
        return day_bounds(self.day, tz, now)

    @property
    def active(self) -> bool:
        return bool(
            self.day or self.category or self.commune or self.max_price_cents is not None
        ) or (self.available_only)


def day_bounds(day: date, tz: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz or DEFAULT_TZ)
    start = datetime.combine(day, time.min, zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)
    if now is not None and start < now:
        start = now
    return start, end


def lowest_price(activity: Json) -> int:
    return min(int(u["price_cents"]) for u in activity["units"])


def bookable(slot: Json) -> bool:
    return slot["status"] in ("AVAILABLE", "LIMITED") and int(slot["remaining"]) > 0


def matches_catalogue(activity: Json, filters: Filters) -> bool:
    """The filters that need only the catalogue."""
    if filters.category and activity["category"] != filters.category:
        return False
    if filters.commune and activity["commune"] != filters.commune:
        return False
    return not (
        filters.max_price_cents is not None and lowest_price(activity) > filters.max_price_cents
    )


def matches_departures(slots: list[Json], filters: Filters) -> bool:
    """The filters that need booking's seat counts (date, available only)."""
    if filters.available_only:
        return any(bookable(s) for s in slots)
    if filters.day is not None:
        return bool(slots)
    return True


def next_departure(slots: list[Json]) -> Json | None:
    open_slots = [s for s in slots if bookable(s)]
    return min(open_slots, key=lambda s: s["start"]) if open_slots else None


@dataclass(frozen=True)
class CalendarDay:
    day: date
    slots: list[Json]


def calendar_days(slots: list[Json], first: date, days: int, tz: str) -> list[CalendarDay]:
    """Every day of the window, each with its departures in order (possibly none)."""
    by_day: dict[date, list[Json]] = {}
    for slot in sorted(slots, key=lambda s: s["start"]):
        by_day.setdefault(local_date(parse_time(slot["start"]), tz), []).append(slot)
    return [
        CalendarDay(d, by_day.get(d, [])) for d in (first + timedelta(days=i) for i in range(days))
    ]


def parse_time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RefundPreview:
    percent: int
    cents: int


def refund_preview(
    policy: list[Json], total_cents: int, start: datetime, now: datetime
) -> RefundPreview:
    """What cancelling now gives back under the policy frozen in the reservation: the most
    generous tier whose ``hours_before`` is still ahead of the start; none: nothing.
    (Booking applies the same rule when the visitor confirms; its answer is what the
    confirmation page shows.)"""
    hours_left = (start - now).total_seconds() / 3600
    percent = max(
        (int(t["refund_percent"]) for t in policy if hours_left >= int(t["hours_before"])),
        default=0,
    )
    return RefundPreview(percent, (total_cents * percent + 50) // 100)


def qr_svg(code: str) -> str:
    """The ticket code as an inline SVG QR code (what the provider scans)."""
    qr = segno.make(code, error="m", micro=False)
    svg: str = qr.svg_inline(scale=6, border=2, dark="#111", light="#fff", omitsize=True)
    return svg


def wanted_units(form: dict[str, str], units: list[Json]) -> list[Json]:
    """The quantities chosen in the form, per ticket unit of the activity (zeros left out)."""
    chosen = []
    for unit in units:
        raw = form.get(f"qty_{unit['id']}", "").strip() or "0"
        try:
            quantity = int(raw)
        except ValueError:
            quantity = 0
        if quantity > 0:
            chosen.append({"id": unit["id"], "quantity": min(quantity, 50)})
    return chosen
