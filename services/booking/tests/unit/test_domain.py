from __future__ import annotations

import pytest

from comptoir_booking.domain import (
    TRANSITIONS,
    IllegalTransition,
    Status,
    check_transition,
    late_payment_revives,
    price_lines,
    seats_of,
    total_of,
)
from comptoir_common.problems import Problem

UNITS = [{"id": "adult", "price_cents": 3500}, {"id": "child", "price_cents": 2000}]


def test_prices_come_from_the_activity() -> None:
    lines = price_lines([("adult", 2), ("child", 1)], UNITS)
    assert total_of(lines) == 9000
    assert seats_of(lines) == 3


@pytest.mark.parametrize(
    ("requested", "kind"),
    [([("senior", 1)], "unknown-unit"), ([("adult", 1), ("adult", 2)], "duplicate-unit")],
)
def test_bad_units_are_refused(requested: list[tuple[str, int]], kind: str) -> None:
    with pytest.raises(Problem) as caught:
        price_lines(requested, UNITS)
    assert caught.value.status == 422 and caught.value.kind == kind


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_only_listed_transitions_are_legal(current: Status, target: Status) -> None:
    if target in TRANSITIONS[current]:
        assert check_transition(current, target) == target
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(current, target)
        assert caught.value.status == 409
        assert current.value in caught.value.detail


def test_terminal_states_go_nowhere() -> None:
    for status in (Status.EXPIRED, Status.CANCELLED, Status.REDEEMED):
        assert not TRANSITIONS[status]


def test_a_late_payment_revives_only_an_expired_or_failed_hold() -> None:
    assert late_payment_revives(Status.EXPIRED, "EXPIRED")
    assert late_payment_revives(Status.CANCELLED, "PAYMENT_FAILED")
    assert not late_payment_revives(Status.CANCELLED, "VISITOR")
    assert not late_payment_revives(Status.CONFIRMED, None)
