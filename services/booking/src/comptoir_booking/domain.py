"""Pure booking rules: the reservation state machine, prices, seats, cancellation policy,
and how the agenda's and the observatory's periods and figures are cut.

No I/O here: ``service.py`` applies these rules inside its transactions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from comptoir_common.problems import Problem


class Status(StrEnum):
    """OCTO booking states."""

    ON_HOLD = "ON_HOLD"
    CONFIRMED = "CONFIRMED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    REDEEMED = "REDEEMED"


#: Every legal move of a reservation, and only those.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ON_HOLD: frozenset({Status.CONFIRMED, Status.EXPIRED, Status.CANCELLED}),
    Status.CONFIRMED: frozenset({Status.CANCELLED, Status.REDEEMED}),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.REDEEMED: frozenset(),
}


class IllegalTransition(Problem):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(
            409,
            f"A reservation that is {current.value} cannot become {target.value}.",
            kind="illegal-transition",
            current_status=current.value,
            requested_status=target.value,
        )


def check_transition(current: Status | str, target: Status) -> Status:
    current = Status(current)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target


def late_payment_revives(current: Status | str, reason: str | None) -> bool:
    """A payment that lands after its hold ended confirms it only if the hold expired or
    an earlier payment attempt failed; a hold someone cancelled is refunded instead."""
    current = Status(current)
    return current == Status.EXPIRED or (current == Status.CANCELLED and reason == "PAYMENT_FAILED")


# --- what a payment outcome does to a reservation --------------------------------------


class Outcome(StrEnum):
    CONFIRM = "CONFIRM"  # ON_HOLD -> CONFIRMED, held seats become confirmed
    REVIVE = "REVIVE"  # ended hold paid late: confirm if the seats can be taken again
    REFUND = "REFUND"  # paid, but there is nothing left to sell: give the money back
    RELEASE = "RELEASE"  # ON_HOLD -> CANCELLED, held seats go back
    NOTHING = "NOTHING"  # already applied, or too late to matter


def on_payment_succeeded(status: Status | str, reason: str | None) -> Outcome:
    status = Status(status)
    if status == Status.ON_HOLD:
        return Outcome.CONFIRM
    if status in (Status.EXPIRED, Status.CANCELLED):
        return Outcome.REVIVE if late_payment_revives(status, reason) else Outcome.REFUND
    return Outcome.NOTHING


def on_payment_failed(status: Status | str) -> Outcome:
    return Outcome.RELEASE if Status(status) == Status.ON_HOLD else Outcome.NOTHING


# --- units, seats, prices --------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    id: str
    quantity: int
    unit_price_cents: int
    seats_each: int = 1

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_price_cents

    @property
    def seats(self) -> int:
        return self.quantity * self.seats_each

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "quantity": self.quantity, "unit_price_cents": self.unit_price_cents}


@dataclass(frozen=True)
class Rules:
    """What an activity allows per reservation."""

    min_units: int = 1
    max_units: int = 20
    cutoff_minutes: int = 0


def price_lines(
    requested: list[tuple[str, int]],
    catalogue_units: list[dict[str, Any]],
    rules: Rules = Rules(),
) -> list[PricedLine]:
    """Price what the visitor asked for from the activity's own units; never from the client."""
    units = {u["id"]: u for u in catalogue_units}
    seen: set[str] = set()
    lines = []
    for unit_id, quantity in requested:
        if unit_id not in units:
            raise Problem(
                422,
                f"This activity has no ticket unit {unit_id!r}; "
                f"it offers: {', '.join(sorted(units))}.",
                kind="unknown-unit",
            )
        if unit_id in seen:
            raise Problem(422, f"Ticket unit {unit_id!r} is listed twice.", kind="duplicate-unit")
        seen.add(unit_id)
        unit = units[unit_id]
        lines.append(
            PricedLine(unit_id, quantity, int(unit["price_cents"]), int(unit.get("seats", 1)))
        )
    count = sum(line.quantity for line in lines)
    if not rules.min_units <= count <= rules.max_units:
        raise Problem(
            422,
            f"This activity takes {rules.min_units} to {rules.max_units} tickets per "
            f"reservation; {count} requested.",
            kind="unit-count",
            min_units=rules.min_units,
            max_units=rules.max_units,
        )
    if seats_of(lines) == 0:
        raise Problem(422, "A reservation must take at least one seat.", kind="no-seats")
    return lines


def seats_of(lines: Iterable[PricedLine]) -> int:
    return sum(line.seats for line in lines)


def total_of(lines: Iterable[PricedLine]) -> int:
    return sum(line.amount_cents for line in lines)


def seats_left(capacity: int, held: int, confirmed: int, capacity_lowered: bool) -> int:
    """Seats still for sale; none once catalog lowered capacity below what is taken."""
    return 0 if capacity_lowered else max(0, capacity - held - confirmed)


def sales_close_at(start: datetime, rules: Rules) -> datetime:
    return start - timedelta(minutes=rules.cutoff_minutes)


# --- cancellation policy ---------------------------------------------------------------


@dataclass(frozen=True)
class Refund:
    percent: int
    cents: int


def refund_under_policy(
    policy: list[dict[str, int]], total_cents: int, start: datetime, now: datetime
) -> Refund:
    """The share of ``total_cents`` given back when the visitor cancels at ``now``.

    Tiers read "cancelled at least ``hours_before`` hours before the start gives
    ``refund_percent`` back"; the most generous tier that applies wins; none: nothing.
    """
    hours_left = (start - now).total_seconds() / 3600
    percent = max(
        (int(t["refund_percent"]) for t in policy if hours_left >= int(t["hours_before"])),
        default=0,
    )
    return Refund(percent, (total_cents * percent + 50) // 100)


# --- agenda and observatory ------------------------------------------------------------

#: The agenda shows from a little before now (a departure under way is still on the
#: board) to two weeks ahead, and never more than a quarter at once.
AGENDA_LOOKBACK = timedelta(hours=2)
AGENDA_DEFAULT_SPAN = timedelta(days=14)
AGENDA_MAX_SPAN = timedelta(days=92)

#: The observatory looks 8 weeks back and 4 weeks ahead of today by default, a year at most.
OBSERVATORY_WEEKS_BACK = 8
OBSERVATORY_WEEKS_AHEAD = 4
OBSERVATORY_MAX_DAYS = 366

#: How long before the departure visitors booked: each bucket up to (not including) its
#: limit in hours, the last one without limit. The SQL counts with the same limits.
LEAD_TIME_LIMITS_HOURS: tuple[int, ...] = (24, 7 * 24, 28 * 24)
LEAD_TIME_LABELS: tuple[str, ...] = ("same day", "1-6 days", "1-4 weeks", "over 4 weeks")


def agenda_window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """``[from, to)`` of the agenda: defaults, then at most 92 days, else 422."""
    first = start or now - AGENDA_LOOKBACK
    last = end or first + AGENDA_DEFAULT_SPAN
    if last <= first or last - first > AGENDA_MAX_SPAN:
        raise Problem(
            422,
            f"`to` must come after `from`, at most {AGENDA_MAX_SPAN.days} days later.",
            kind="bad-range",
        )
    return first, last


def observatory_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """Inclusive days ``[from, to]``: by default 8 weeks back to 4 weeks ahead of today;
    with one bound given, the other is 12 weeks from it; at most 366 days, else 422."""
    span = timedelta(weeks=OBSERVATORY_WEEKS_BACK + OBSERVATORY_WEEKS_AHEAD)
    if start is not None and end is not None:
        first, last = start, end
    elif start is not None:
        first, last = start, start + span
    elif end is not None:
        first, last = end - span, end
    else:
        first = today - timedelta(weeks=OBSERVATORY_WEEKS_BACK)
        last = today + timedelta(weeks=OBSERVATORY_WEEKS_AHEAD)
    if last < first or (last - first).days + 1 > OBSERVATORY_MAX_DAYS:
        raise Problem(
            422,
            f"`to` must not come before `from`, and the period is {OBSERVATORY_MAX_DAYS} "
            "days at most.",
            kind="bad-range",
        )
    return first, last


def week_start(day: date) -> date:
    """The Monday of the ISO week of ``day``."""
    return day - timedelta(days=day.weekday())


def iso_week_label(day: date) -> str:
    """``2026-W48``: the ISO year (which may differ from the calendar year in the first
    and last days of a year) and week number of ``day``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def iso_weeks(first: date, last: date) -> list[date]:
    """The Monday of every ISO week that has a day in ``[first, last]``, in order."""
    monday, weeks = week_start(first), []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(weeks=1)
    return weeks


def fill_rate(seats_sold: int, capacity: int) -> float:
    """Seats sold per seat offered, rounded to 4 decimals; 0 when nothing was offered."""
    return round(seats_sold / capacity, 4) if capacity > 0 else 0.0


def lead_time_bucket(hours: float) -> int:
    """Index in ``LEAD_TIME_LABELS`` of a booking made ``hours`` before the departure
    (SQL's ``width_bucket`` over ``LEAD_TIME_LIMITS_HOURS`` gives the same)."""
    return bisect_right(LEAD_TIME_LIMITS_HOURS, hours)
