"""A booking process dies (SIGKILL) in the middle of a rush and comes back.

Transactions cut short by the crash leave nothing half done: the seats counted on the
slot are exactly the seats of its active reservations, never above capacity, and no hold
is stuck: every hold, including those taken by the killed process and those whose answer
the crash swallowed, expires and gives its seats back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from comptoir_ops.platform import Platform
from tests.e2e.booking_support import (
    Answer,
    BookingProcess,
    active_seats,
    availability,
    booking_processes,
    burst,
    reservations_of,
    snapshot,
)
from tests.e2e.conftest import Territory, make_offer, wait_for

pytestmark = pytest.mark.e2e

CAPACITY = 100
REQUESTS = 300
CONCURRENCY = 30
KILL_AFTER = 100  # answers received before the crash
#: Holds of 3 s, looked for every 0.5 s: a stuck hold would show within seconds.
SHORT_HOLDS = {"COMPTOIR_HOLD_MINUTES": "0.05", "COMPTOIR_EXPIRY_INTERVAL_SECONDS": "0.5"}


@pytest.fixture
def pair(platform: Platform) -> Iterator[list[BookingProcess]]:
    with booking_processes(
        platform, [platform.ports["booking"] + 30, platform.ports["booking"] + 31], SHORT_HOLDS
    ) as processes:
        yield processes


def test_a_booking_process_killed_mid_rush_leaves_exact_counts_and_no_stuck_hold(
    platform: Platform, territory: Territory, pair: list[BookingProcess]
) -> None:
    offer = make_offer(platform, territory, capacity=CAPACITY)
    token = territory.admin.headers["Authorization"].split()[1]
    survivor, victim = pair
    observer = platform.url("booking")  # the platform's own process, alive throughout
    samples: list[dict[str, Any]] = []
    killed_at: list[int] = []

    async def kill_mid_rush(done: int, answer: Answer) -> None:
        if done >= KILL_AFTER and not killed_at:
            killed_at.append(done)
            victim.kill()

    async def watch(stop: asyncio.Event) -> None:
        while not stop.is_set():
            samples.append(await asyncio.to_thread(availability, observer, offer.slot_id))
            await asyncio.sleep(0.05)

    async def rush() -> Any:
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(stop))
        try:
            return await burst(
                [survivor.url, victim.url],
                offer.slot_id,
                requests=REQUESTS,
                concurrency=CONCURRENCY,
                timeout=120,
                on_answer=kill_mid_rush,
            )
        finally:
            stop.set()
            await watcher

    result = asyncio.run(rush())
    print(f"rush: {result.summary()}; killed {victim.name} after {killed_at} answers")
    assert killed_at, "the burst ended before the crash"

    # Every answer is a hold, a refusal, or the crash's connection errors on the victim.
    others = [a for a in result.answers if a.status not in (201, None) and not a.is_refusal]
    assert others == [], [(a.status, a.body) for a in others]
    assert {a.url for a in result.transport_errors} <= {victim.url}
    assert samples and all(s["on_hold"] + s["confirmed"] <= CAPACITY for s in samples)

    # Right after the crash: the counts agree with the reservations, whoever made them.
    seats, reservations = snapshot(observer, token, offer.slot_id)
    assert seats["on_hold"] + seats["confirmed"] == active_seats(reservations) <= CAPACITY
    listed = {r["id"] for r in reservations}
    answered = {a.body["id"] for a in result.created if a.body}
    assert answered <= listed, "a hold answered 201 is missing"
    print(
        f"after the crash: {seats}; {len(listed)} reservations listed, "
        f"{len(listed - answered)} of them made without an answer reaching the visitor"
    )

    # The victim comes back on the same port and serves again.
    victim.stop()
    restarted = time.monotonic()
    victim.start()
    victim.wait_ready()
    print(f"{victim.name} restarted in {time.monotonic() - restarted:.1f}s")
    again = asyncio.run(
        burst([survivor.url, victim.url], offer.slot_id, requests=20, concurrency=10)
    )
    assert {a.status for a in again.answers} <= {201, 409}, again.summary()
    assert any(a.status == 201 and a.url == victim.url for a in again.answers), again.summary()
    seats, reservations = snapshot(observer, token, offer.slot_id)
    assert seats["on_hold"] + seats["confirmed"] == active_seats(reservations) <= CAPACITY

    # No hold is stuck: every one expires and the slot is whole again.
    seats = wait_for(
        lambda: (
            (s := availability(observer, offer.slot_id))["on_hold"] == 0
            and s["remaining"] == CAPACITY
            and s
        ),
        "every hold to expire",
        timeout=30,
    )
    assert (seats["on_hold"], seats["confirmed"], seats["remaining"]) == (0, 0, CAPACITY)
    reservations = reservations_of(observer, token, offer.slot_id)
    assert {r["status"] for r in reservations} == {"EXPIRED"}
    assert active_seats(reservations) == 0
