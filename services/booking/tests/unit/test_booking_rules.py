"""Seats, limits and the cancellation policy, and the state machine under any order of
payment outcomes (property-based)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comptoir_booking.domain import (
    TRANSITIONS,
    Outcome,
    Rules,
    Status,
    check_transition,
    on_payment_failed,
    on_payment_succeeded,
    price_lines,
    refund_under_policy,
    sales_close_at,
    seats_of,
    total_of,
)
from comptoir_common.problems import Problem

UNITS = [
    {"id": "adult", "price_cents": 3500, "type": "ADULT", "seats": 1},
    {"id": "family", "price_cents": 9900, "type": "FAMILY", "seats": 4},
    {"id": "infant", "price_cents": 0, "type": "INFANT", "seats": 0},
]
POLICY = [{"hours_before": 24, "refund_percent": 100}, {"hours_before": 2, "refund_percent": 50}]
START = datetime(2027, 8, 14, 18, 0, tzinfo=UTC)


def test_a_family_ticket_takes_four_seats() -> None:
    lines = price_lines([("family", 1), ("adult", 1), ("infant", 1)], UNITS)
    assert seats_of(lines) == 5
    assert total_of(lines) == 13_400


def test_units_per_reservation_are_bounded() -> None:
    with pytest.raises(Problem) as caught:
        price_lines([("adult", 5)], UNITS, Rules(min_units=1, max_units=4))
    assert caught.value.kind == "unit-count" and caught.value.status == 422
    with pytest.raises(Problem):
        price_lines([("adult", 1)], UNITS, Rules(min_units=2, max_units=4))


def test_a_reservation_must_take_a_seat() -> None:
    with pytest.raises(Problem) as caught:
        price_lines([("infant", 1)], UNITS)
    assert caught.value.kind == "no-seats"


def test_sales_close_at_the_cutoff() -> None:
    assert sales_close_at(START, Rules(cutoff_minutes=90)) == START - timedelta(minutes=90)


@pytest.mark.parametrize(
    ("hours_left", "percent", "cents"),
    [(72, 100, 7000), (24, 100, 7000), (23.9, 50, 3500), (2, 50, 3500), (1.5, 0, 0), (0, 0, 0)],
)
def test_the_cancellation_policy_gives_back_the_right_share(
    hours_left: float, percent: int, cents: int
) -> None:
    refund = refund_under_policy(POLICY, 7000, START, START - timedelta(hours=hours_left))
    assert (refund.percent, refund.cents) == (percent, cents)


def test_refunds_round_to_the_nearest_cent() -> None:
    policy = [{"hours_before": 0, "refund_percent": 33}]
    assert refund_under_policy(policy, 1001, START, START - timedelta(hours=1)).cents == 330


def test_no_policy_means_no_refund() -> None:
    assert refund_under_policy([], 7000, START, START - timedelta(days=30)).cents == 0


# --- the state machine under any sequence of payment outcomes -----------------------


def _apply(
    status: Status, reason: str | None, event: str, seats_free: bool
) -> tuple[Status, str | None]:
    """What service.py does with a payment outcome, reduced to the status it leaves."""
    if event == "succeeded":
        outcome = on_payment_succeeded(status, reason)
        if outcome == Outcome.CONFIRM:
            return check_transition(status, Status.CONFIRMED), None
        if outcome == Outcome.REVIVE and seats_free:
            return Status.CONFIRMED, "LATE_PAYMENT"
        return status, reason
    if event == "failed":
        if on_payment_failed(status) == Outcome.RELEASE:
            return check_transition(status, Status.CANCELLED), "PAYMENT_FAILED"
        return status, reason
    if event == "expired" and status == Status.ON_HOLD:
        return check_transition(status, Status.EXPIRED), "EXPIRED"
    return status, reason


events = st.lists(st.sampled_from(["succeeded", "failed"]), min_size=1, max_size=12)


@given(events, st.booleans())
def test_any_order_and_multiplicity_of_payment_outcomes_ends_the_same(
    sequence: list[str], expired_first: bool
) -> None:
    status, reason = Status.ON_HOLD, None
    if expired_first:
        status, reason = _apply(status, reason, "expired", True)
    for event in sequence:
        status, reason = _apply(status, reason, event, seats_free=True)
    # Whatever the order and however often each arrived: paid means confirmed; a
    # failure alone ends the hold; redelivery changes nothing.
    if "succeeded" in sequence:
        assert status == Status.CONFIRMED
    elif expired_first:
        assert status == Status.EXPIRED
    else:
        assert status == Status.CANCELLED
    again = status
    for event in sequence:
        again, _ = _apply(again, reason, event, seats_free=True)
    assert again == status


@given(st.lists(st.sampled_from(list(Status)), min_size=1, max_size=10))
def test_no_path_leaves_a_terminal_state(path: list[Status]) -> None:
    status = Status.ON_HOLD
    for target in path:
        if target in TRANSITIONS[status]:
            status = check_transition(status, target)
        else:
            with pytest.raises(Problem):
                check_transition(status, target)
    if status in (Status.EXPIRED, Status.CANCELLED, Status.REDEEMED):
        for target in Status:
            with pytest.raises(Problem):
                check_transition(status, target)


@given(events)
def test_a_paid_hold_that_lost_its_seats_is_refunded_never_kept(sequence: list[str]) -> None:
    status, reason = _apply(Status.ON_HOLD, None, "expired", True)
    for event in sequence:
        status, reason = _apply(status, reason, event, seats_free=False)
    assert status == Status.EXPIRED  # not confirmed: service.py refunds the payment
    assert on_payment_succeeded(status, reason) in (Outcome.REVIVE, Outcome.REFUND)
