"""The demo data against the real platform: `make up`'s seed builds the territory, its
providers, activities and departures, and visitors' paid bookings, once. A second run
adds nothing."""

from __future__ import annotations

from typing import Any

import pytest

from comptoir_ops import demo
from comptoir_ops.platform import Platform, demo_state_path
from comptoir_ops.tokens import office_token
from tests.e2e.conftest import _client

pytestmark = pytest.mark.e2e


def _observatory(platform: Platform) -> dict[str, Any]:
    token = office_token(role="admin", territory_id=demo.DEMO_TERRITORY_ID)
    answer = _client(platform, "booking", token).get(
        f"/v1/territories/{demo.DEMO_TERRITORY_ID}/observatory"
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_demo_seed_books_paid_visits_once(platform: Platform) -> None:
    demo_state_path(platform.label).unlink(missing_ok=True)
    said: list[str] = []
    state = demo.seed(platform, said.append)
    bookings = state["bookings"]["items"]
    assert 40 <= len(bookings) <= 60
    totals = _observatory(platform)["totals"]
    cancelled = sum(1 for b in bookings if b.get("cancel"))
    # Every planned booking was paid and confirmed by the platform itself; the cancelled
    # ones were refunded.
    assert totals["bookings"] == len(bookings) - cancelled
    assert totals["cancelled_reservations"] == cancelled
    assert totals["seats_sold"] > 0 and totals["revenue_cents"] > 0

    again: list[str] = []
    demo.seed(platform, again.append)
    assert _observatory(platform)["totals"] == totals
    assert any(line.startswith("demo bookings already made") for line in again)
