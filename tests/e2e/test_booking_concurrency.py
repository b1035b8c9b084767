"""500 visitors rush for the 10 seats of one slot, through two booking processes.

The guarded platform sells exactly 10 seats and refuses everyone else with a 409 problem.
The negative control runs the very same burst and the very same check against two
booking processes started with ``COMPTOIR_SEAT_GUARD=false`` (a naive read-then-write):
the check must catch their overselling, which proves it can fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from comptoir_ops.platform import Platform
from tests.e2e.booking_support import (
    SeatAudit,
    audit_seats,
    booking_processes,
    burst,
    snapshot,
)
from tests.e2e.conftest import Territory, make_offer

pytestmark = pytest.mark.e2e

CAPACITY = 10
REQUESTS = 500
CONCURRENCY = 50
#: The negative control repeats its burst (each on a fresh slot) until the race shows.
CONTROL_BURSTS = 5


# Function-scoped: only one pair of booking processes at a time, since each may open up to
# 30 PostgreSQL connections (the local server allows 100 in all).
@pytest.fixture
def guarded_urls(platform: Platform) -> Iterator[list[str]]:
    """The platform's booking process and a second one on the same database."""
    with booking_processes(platform, [platform.ports["booking"] + 10]) as extra:
        yield [platform.url("booking"), extra[0].url]


@pytest.fixture
def unguarded_urls(platform: Platform) -> Iterator[list[str]]:
    """Two booking processes with the naive read-then-write seat check."""
    with booking_processes(
        platform,
        [platform.ports["booking"] + 20, platform.ports["booking"] + 21],
        {"COMPTOIR_SEAT_GUARD": "false"},
    ) as pair:
        yield [p.url for p in pair]


def rush(platform: Platform, t: Territory, urls: list[str], slot_id: str) -> SeatAudit:
    """The burst, then the one check: answers, availability and the office's list."""
    result = asyncio.run(
        burst(urls, slot_id, requests=REQUESTS, concurrency=CONCURRENCY, timeout=120)
    )
    print(f"slot {slot_id} via {urls}: {result.summary()}")
    token = t.admin.headers["Authorization"].split()[1]
    seats, reservations = snapshot(platform.url("booking"), token, slot_id)
    audit = audit_seats(CAPACITY, result, seats, reservations)
    print(f"audit: {audit}")
    return audit


def test_five_hundred_visitors_for_ten_seats_get_exactly_ten(
    platform: Platform, territory: Territory, guarded_urls: list[str]
) -> None:
    offer = make_offer(platform, territory, capacity=CAPACITY)
    audit = rush(platform, territory, guarded_urls, offer.slot_id)
    assert audit.findings == [], audit.findings
    assert not audit.oversold
    assert audit.refusals == REQUESTS - CAPACITY


def test_the_check_catches_overselling_without_the_seat_guard(
    platform: Platform, territory: Territory, unguarded_urls: list[str]
) -> None:
    """Negative control: the same burst and check against a naive read-then-write."""
    start = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    offer = make_offer(
        platform,
        territory,
        capacity=CAPACITY,
        starts=[start + timedelta(hours=i) for i in range(CONTROL_BURSTS)],
    )
    caught = []
    for attempt, slot_id in enumerate(offer.slot_ids, start=1):
        audit = rush(platform, territory, unguarded_urls, slot_id)
        if audit.oversold:
            caught.append((attempt, audit))
            break
    print(f"negative control: overselling caught at burst {[a for a, _ in caught]}")
    assert caught, f"{CONTROL_BURSTS} bursts without the seat guard never oversold"
    _, audit = caught[0]
    assert audit.active_seats > CAPACITY
    assert audit.findings, "an oversold slot must fail the check"
