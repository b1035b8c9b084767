"""How the agenda's and the observatory's periods and figures are cut: ISO weeks across
year ends, lead-time buckets at their edges, fill rates, default and refused periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comptoir_booking.domain import (
    LEAD_TIME_LABELS,
    agenda_window,
    fill_rate,
    iso_week_label,
    iso_weeks,
    lead_time_bucket,
    observatory_period,
    week_start,
)
from comptoir_common.problems import Problem


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2026, 11, 23), "2026-W48"),
        (date(2026, 11, 29), "2026-W48"),  # a Sunday ends its week
        (date(2026, 12, 31), "2026-W53"),  # 2026 has 53 ISO weeks
        (date(2027, 1, 3), "2026-W53"),  # early January can belong to the year before
        (date(2027, 1, 4), "2027-W01"),
        (date(2025, 12, 29), "2026-W01"),  # late December can belong to the year after
        (date(2026, 3, 2), "2026-W10"),
    ],
)
def test_iso_week_labels(day: date, label: str) -> None:
    assert iso_week_label(day) == label


def test_every_week_touching_the_period_is_listed_once_from_its_monday() -> None:
    weeks = iso_weeks(date(2026, 12, 30), date(2027, 1, 12))
    assert weeks == [date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 11)]
    assert [iso_week_label(w) for w in weeks] == ["2026-W53", "2027-W01", "2027-W02"]
    assert iso_weeks(date(2026, 11, 25), date(2026, 11, 25)) == [date(2026, 11, 23)]


@given(
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    days=st.integers(min_value=0, max_value=400),
)
def test_weeks_cover_the_period_without_gaps(first: date, days: int) -> None:
    last = first + timedelta(days=days)
    weeks = iso_weeks(first, last)
    assert weeks[0] == week_start(first) and weeks[-1] == week_start(last)
    assert all(w.weekday() == 0 for w in weeks)
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(weeks))
    assert len({iso_week_label(w) for w in weeks}) == len(weeks)


@pytest.mark.parametrize(
    ("hours", "label"),
    [
        (-1.0, "same day"),  # booked at the door, after the start
        (0.0, "same day"),
        (23.99, "same day"),
        (24.0, "1-6 days"),
        (6 * 24 + 23.9, "1-6 days"),
        (7 * 24, "1-4 weeks"),
        (28 * 24 - 0.01, "1-4 weeks"),
        (28 * 24, "over 4 weeks"),
        (365 * 24, "over 4 weeks"),
    ],
)
def test_lead_time_buckets(hours: float, label: str) -> None:
    assert LEAD_TIME_LABELS[lead_time_bucket(hours)] == label


def test_fill_rate() -> None:
    assert fill_rate(17, 29) == 0.5862
    assert fill_rate(2, 3) == 0.6667
    assert fill_rate(8, 8) == 1.0
    assert fill_rate(0, 0) == 0.0
    assert fill_rate(5, 4) == 1.25  # capacity lowered below seats already sold


def test_observatory_defaults_to_eight_weeks_back_and_four_ahead() -> None:
    today = date(2026, 11, 27)
    assert observatory_period(None, None, today) == (date(2026, 10, 2), date(2026, 12, 25))
    assert observatory_period(date(2026, 1, 1), None, today) == (
        date(2026, 1, 1),
        date(2026, 3, 26),
    )
    assert observatory_period(None, date(2026, 3, 26), today) == (
        date(2026, 1, 1),
        date(2026, 3, 26),
    )
    one_day = date(2026, 5, 1)
    assert observatory_period(one_day, one_day, today) == (one_day, one_day)


def test_observatory_refuses_a_backwards_or_longer_than_366_days_period() -> None:
    today = date(2026, 11, 27)
    assert observatory_period(date(2025, 12, 31), date(2026, 12, 31), today)[0] == date(
        2025, 12, 31
    )
    for first, last in [
        (date(2025, 12, 30), date(2026, 12, 31)),  # 367 days
        (date(2026, 5, 2), date(2026, 5, 1)),
    ]:
        with pytest.raises(Problem) as refused:
            observatory_period(first, last, today)
        assert (refused.value.status, refused.value.kind) == (422, "bad-range")


def test_agenda_window() -> None:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert agenda_window(None, None, now) == (
        datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
        datetime(2026, 12, 11, 8, 0, tzinfo=UTC),
    )
    start = datetime(2027, 1, 1, tzinfo=UTC)
    assert agenda_window(start, None, now) == (start, start + timedelta(days=14))
    assert agenda_window(start, start + timedelta(days=92), now)[1] == start + timedelta(days=92)
    for end in (start, start - timedelta(hours=1), start + timedelta(days=92, seconds=1)):
        with pytest.raises(Problem) as refused:
            agenda_window(start, end, now)
        assert refused.value.status == 422
