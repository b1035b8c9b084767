"""What the provider portal shows, computed without I/O: the agenda by day, prices typed
in euros, local dates and times typed in a form, the bookings export as CSV."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import comptoir_web.portal_words  # noqa: F401 - the export's column names
from comptoir_web import i18n
from comptoir_web.csvfile import Cell, amount, csv_bytes
from comptoir_web.i18n import DEFAULT_TZ, local_date, typed_date
from comptoir_web.views import parse_time

Json = dict[str, Any]

#: The agenda's periods: how many local days from today each one covers.
PERIODS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30}
DEFAULT_PERIOD = "7d"
#: The export covers at most this many days at once (booking pages 500 at a time).
EXPORT_MAX_DAYS = 366
#: Departures added at once by the "repeat every day" field, at most.
MAX_REPEAT_DAYS = 31


def period_window(period: str, now: datetime, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """``[from, to)`` in UTC: from local midnight today (so that this morning's departures
    stay on the board for the check-in), for the period's number of local days."""
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    today = local_date(now, tz)
    return local_midnight(today, tz), local_midnight(today + timedelta(days=days), tz)


def local_midnight(day: date, tz: str = DEFAULT_TZ) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(tz or DEFAULT_TZ)).astimezone(UTC)


@dataclass
class AgendaDay:
    day: date
    is_today: bool
    slots: list[Json] = field(default_factory=list)

    @property
    def seats_sold(self) -> int:
        return sum(int(s["confirmed"]) for s in self.slots if s["status"] != "CANCELLED")


def agenda_days(slots: list[Json], now: datetime, tz: str = DEFAULT_TZ) -> list[AgendaDay]:
    """Today first (even without departures, so the page says so), then each day that has
    departures, each in order of start. A slot's day is the local day of its own time zone."""
    today = local_date(now, tz)
    days: dict[date, AgendaDay] = {today: AgendaDay(today, True)}
    for slot in sorted(slots, key=lambda s: parse_time(s["start"])):
        day = local_date(parse_time(slot["start"]), slot.get("timezone") or tz)
        days.setdefault(day, AgendaDay(day, False)).slots.append(slot)
    return sorted(days.values(), key=lambda d: d.day)


# --- form values ------------------------------------------------------------------------

_EUROS = re.compile(r"^(\d{1,6})(?:[.,](\d{1,2}))?$")


def parse_euros(raw: str) -> int:
    """A price typed in euros (``12``, ``12.5``, ``12,50``, ``1 200``) as integer cents,
    exactly (no float on the way). Anything else raises ``ValueError``: a stray letter,
    a sign, a third decimal, an empty field."""
    text = raw.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    text = text.removesuffix("€")
    found = _EUROS.match(text)
    if not found:
        raise ValueError(raw)
    euros, decimals = found.group(1), (found.group(2) or "").ljust(2, "0")
    return int(euros) * 100 + int(decimals)


def euros_text(cents: int) -> str:
    """Cents as the price field shows them: ``35`` or ``12.50``."""
    value = Decimal(cents) / 100
    return f"{value:.2f}".removesuffix(".00")


def parse_int(raw: str, low: int, high: int) -> int:
    """A whole number in ``[low, high]`` typed in a field; else ``ValueError``."""
    text = raw.strip()
    if not re.fullmatch(r"\d{1,9}", text):
        raise ValueError(raw)
    value = int(text)
    if not low <= value <= high:
        raise ValueError(raw)
    return value


class NoSuchLocalTime(ValueError):
    """A local time the clocks skip (the spring change: 02:30 does not exist that night)."""


def parse_local(day: str, clock: str, tz: str = DEFAULT_TZ) -> datetime:
    """A date and a time typed in the activity's time zone, as an aware UTC instant.
    A time that happens twice (the autumn change) is its first occurrence; one that never
    happens raises :class:`NoSuchLocalTime`; a malformed one ``ValueError``."""
    zone = ZoneInfo(tz or DEFAULT_TZ)
    naive = datetime.combine(typed_date(day), time.fromisoformat(clock.strip()))
    local = naive.replace(tzinfo=zone, fold=0)
    moment = local.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        raise NoSuchLocalTime(f"{day} {clock}")
    return moment


def local_iso(value: str | datetime | None, tz: str = DEFAULT_TZ) -> str:
    """An instant in local time, ISO 8601 with its offset, to the minute (for the export)."""
    if value is None or value == "":
        return ""
    moment = parse_time(value).astimezone(ZoneInfo(tz or DEFAULT_TZ))
    return moment.isoformat(timespec="minutes")


def tickets_text(units: list[Json], lang: str) -> str:
    """``2 adult + 1 child``: the tickets of a reservation in words."""
    return " + ".join(
        f"{int(u['quantity'])} {i18n.unit_name(lang, str(u['id'])).lower()}" for u in units
    )


# --- the bookings export ------------------------------------------------------------------

EXPORT_COLUMNS = (
    "p_csv_id",
    "p_csv_activity",
    "p_csv_departure",
    "p_csv_status",
    "p_csv_name",
    "p_csv_email",
    "p_csv_tickets",
    "p_csv_seats",
    "p_csv_total",
    "p_csv_currency",
    "p_csv_checked_in",
)


def bookings_csv(reservations: list[Json], timezones: dict[str, str], lang: str) -> bytes:
    """The export: one row per reservation, earliest departure first, written by
    :func:`comptoir_web.csvfile.csv_bytes` (UTF-8 with a BOM, ``;`` and decimal commas in
    French, every text cell guarded against formulas). Departures and check-ins are in
    each activity's own time zone (``timezones``), with their offset."""
    rows: list[list[Cell]] = []
    ordered = sorted(
        reservations, key=lambda r: (parse_time(r["slot_start"]), str(r["created_at"]))
    )
    for r in ordered:
        tz = timezones.get(str(r["activity_id"]), DEFAULT_TZ)
        title = r.get("activity_title") or {}
        visitor = r.get("visitor") or {}
        rows.append(
            [
                str(r["id"]),
                title.get(lang) or title.get("fr") or "",
                local_iso(r["slot_start"], tz),
                i18n.translate(lang, f"p_status_{r['status']}"),
                visitor.get("name", ""),
                visitor.get("email", ""),
                tickets_text(r.get("units") or [], lang),
                int(r["seats"]),
                amount(int(r["total_cents"]), lang),
                str(r["currency"]),
                local_iso(r.get("redeemed_at"), tz),
            ]
        )
    headers = [i18n.translate(lang, key) for key in EXPORT_COLUMNS]
    return csv_bytes(headers, rows, lang)
