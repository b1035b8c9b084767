"""The demo's visitors: what they book, and that a second seed books nothing more.

The platform is played in memory (an ``httpx.MockTransport`` answering the public calls
the seed makes), so these tests need no running service."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from comptoir_ops import demo
from comptoir_ops.demo import PARIS, PROVIDERS, DemoBooking, Departure, plan_bookings
from comptoir_ops.platform import Platform

ACTIVITIES = [a for _, _, activities in PROVIDERS for a in activities]
# A Wednesday, 18:00 in Paris: the departures of Thursday morning are within 24 hours.
NOW = datetime(2026, 7, 1, 18, 0, tzinfo=PARIS).astimezone(UTC)


def departures(now: datetime = NOW, first_day: int = 0) -> list[Departure]:
    """The demo's departures of the next three weeks, all seats free."""
    result = []
    for i, activity in enumerate(ACTIVITIES):
        for start in demo.slot_starts(activity, now.astimezone(PARIS).date(), days=21):
            if start > now + timedelta(days=first_day):
                result.append(
                    Departure(
                        slot_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{i}-{start}")),
                        activity=activity,
                        start=start,
                        duration_minutes=activity.duration_minutes,
                        capacity=activity.capacity,
                        remaining=activity.capacity,
                    )
                )
    return result


def seats_by_departure(plan: list[DemoBooking]) -> Counter[str]:
    taken: Counter[str] = Counter()
    for b in plan:
        taken[b.slot_id] += b.seats
    return taken


def test_the_plan_is_the_same_for_the_same_day_and_differs_another_day() -> None:
    assert plan_bookings(departures(), NOW) == plan_bookings(departures(), NOW)
    later = NOW + timedelta(days=1)
    assert plan_bookings(departures(later), later) != plan_bookings(departures(), NOW)


def test_the_plan_fills_one_lake_departure_and_never_overbooks() -> None:
    deps = {d.slot_id: d for d in departures()}
    plan = plan_bookings(list(deps.values()), NOW)

    assert 40 <= len(plan) <= 60
    taken = seats_by_departure(plan)
    assert all(taken[slot] <= deps[slot].capacity for slot in taken)
    sold_out = [slot for slot, n in taken.items() if n == deps[slot].capacity]
    assert len(sold_out) == 1
    assert deps[sold_out[0]].activity.category == "nautical"
    assert deps[sold_out[0]].weekend
    nearly_full = [s for s, n in taken.items() if 0 < deps[s].capacity - n <= 2]
    assert len(nearly_full) >= 2
    # Nobody cancels on the sold-out departure: it must stay sold out.
    assert not any(b.cancel for b in plan if b.slot_id == sold_out[0])


def test_the_lake_and_weekends_sell_more_than_workshops() -> None:
    deps = {d.slot_id: d for d in departures()}
    plan = plan_bookings(list(deps.values()), NOW)
    by_category = Counter(deps[b.slot_id].activity.category for b in plan)
    assert by_category["nautical"] > 2 * by_category["workshop"]
    weekend_share = sum(deps[b.slot_id].weekend for b in plan) / len(plan)
    assert weekend_share > 6 / 21  # weekends are 6 days of 21


def test_tickets_match_each_activity_and_visitors_are_obviously_fictitious() -> None:
    deps = {d.slot_id: d for d in departures()}
    plan = plan_bookings(list(deps.values()), NOW)
    for b in plan:
        activity = deps[b.slot_id].activity
        offered = {unit for unit, _ in activity.units}
        assert set(b.units) <= offered and all(n > 0 for n in b.units.values())
        assert 1 <= b.seats <= 4
        if activity.units[0][0] == "child":  # children's workshop: with an adult
            assert b.units.get("adult") == 1 and b.units.get("child", 0) >= 1
        assert b.name.endswith(" Demo")
        assert re.fullmatch(r"(visiteur|visitor)-\d{2}@demo\.example", b.email)
        body = b.hold_body()
        assert body["slot_id"] == b.slot_id and body["visitor"]["locale"] == b.locale
    assert {b.locale for b in plan} == {"fr", "en"}
    assert len({b.email for b in plan}) == len(plan)


def test_cancellations_are_days_ahead_and_check_ins_within_24_hours() -> None:
    plan = plan_bookings(departures(), NOW)
    cancelled = [b for b in plan if b.cancel]
    assert len(cancelled) == 4
    assert all(datetime.fromisoformat(b.start) - NOW >= timedelta(days=2) for b in cancelled)
    arriving = [b for b in plan if b.check_in]
    assert 1 <= len(arriving) <= 2
    assert all(datetime.fromisoformat(b.start) - NOW <= timedelta(hours=24) for b in arriving)
    assert not any(b.cancel for b in arriving)


def test_nobody_is_checked_in_without_a_departure_in_the_next_24_hours() -> None:
    plan = plan_bookings(departures(first_day=2), NOW)
    assert plan and not any(b.check_in for b in plan)


# --- the seed against a platform played in memory --------------------------------------


class FakePlatform:
    """Catalog, booking and payments as the seed sees them: holds honour their
    Idempotency-Key, payments learns of a hold one poll late, booking confirms a paid
    reservation one poll late (events take a moment)."""

    label = ""

    def __init__(self, deps: list[Departure], *, pays: bool = True) -> None:
        self.deps = {d.slot_id: d for d in deps}
        self.activity_ids = {a.title_en: str(uuid.uuid4()) for a in ACTIVITIES}
        self.pays = pays
        self.reservations: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}
        self.posts: Counter[str] = Counter()
        self.payment_polls: Counter[str] = Counter()

    def url(self, name: str) -> str:
        return f"http://{name}"

    def state(self) -> dict[str, Any]:
        return {
            "territory_id": str(demo.DEMO_TERRITORY_ID),
            "providers": [
                {
                    "id": str(uuid.uuid5(demo.DEMO_TERRITORY_ID, name)),
                    "name": name,
                    "activities": [
                        {"id": self.activity_ids[a.title_en], "title": a.title_en}
                        for a in activities
                    ],
                }
                for name, _, activities in PROVIDERS
            ],
        }

    def slots_of(self, activity_id: str) -> list[Departure]:
        title = next(t for t, i in self.activity_ids.items() if i == activity_id)
        return [d for d in self.deps.values() if d.activity.title_en == title]

    def handle(self, request: httpx.Request) -> httpx.Response:
        host, method, path = request.url.host, request.method, request.url.path
        if method == "POST":
            self.posts[re.sub(r"[0-9a-f-]{36}", "{id}", f"{host} {path}")] += 1
        if m := re.fullmatch(r"/v1/activities/([^/]+)/slots", path):
            return httpx.Response(
                200,
                json=[{"id": d.slot_id, "status": "OPEN"} for d in self.slots_of(m[1])],
            )
        if m := re.fullmatch(r"/v1/activities/([^/]+)/availability", path):
            slots = [
                {
                    "slot_id": d.slot_id,
                    "start": d.start.isoformat(),
                    "duration_minutes": d.duration_minutes,
                    "capacity": d.capacity,
                    "remaining": d.remaining,
                    "status": "AVAILABLE",
                    "bookable": True,
                }
                for d in self.slots_of(m[1])
            ]
            return httpx.Response(200, json={"slots": slots})
        if (host, method, path) == ("booking", "POST", "/v1/reservations"):
            return self.hold(request)
        if m := re.fullmatch(
            r"/v1/reservations/([^/]+)(/payment|/payment/simulate|/cancel)?", path
        ):
            r = self.reservations[m[1]]
            assert request.headers["Authorization"] == f"Bearer token-{m[1]}"
            return self.visitor_call(r, host, method, m[2] or "")
        if path == "/v1/check-ins":
            code = json.loads(request.content)["code"]
            r = next(r for r in self.reservations.values() if r.get("ticket_code") == code)
            r["status"] = "REDEEMED"
            return httpx.Response(200, json={"reservation_id": r["id"]})
        raise AssertionError(f"unexpected call {method} {request.url}")

    def hold(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        if key in self.keys:
            return httpx.Response(201, json=self.reservations[self.keys[key]])
        body = json.loads(request.content)
        rid = str(uuid.uuid4())
        self.keys[key] = rid
        self.reservations[rid] = {
            "id": rid,
            "status": "ON_HOLD",
            "slot_id": body["slot_id"],
            "provider_id": str(uuid.uuid4()),
            "visitor": body["visitor"],
            "units": body["units"],
            "visitor_token": f"token-{rid}",
            "payment": None,
        }
        return httpx.Response(201, json=self.reservations[rid])

    def visitor_call(self, r: dict[str, Any], host: str, method: str, tail: str) -> httpx.Response:
        if host == "payments" and method == "GET":
            self.payment_polls[r["id"]] += 1
            if self.payment_polls[r["id"]] == 1 or not self.pays:
                return httpx.Response(404, json={"detail": "no payment yet"})
            return httpx.Response(200, json={"status": r["payment"] or "REQUIRES_PAYMENT"})
        if tail == "/payment/simulate":
            r["payment"] = "SUCCEEDED"
            return httpx.Response(202, json={"status": "SUCCEEDED"})
        if tail == "/cancel":
            r["status"] = "CANCELLED"
            return httpx.Response(200, json=r)
        if r["payment"] == "SUCCEEDED" and r["status"] == "ON_HOLD":
            r["status"], r["ticket_code"] = "CONFIRMED", f"TICKET-{r['id']}"
            return httpx.Response(200, json={**r, "status": "ON_HOLD"})
        return httpx.Response(200, json=r)


@pytest.fixture
def state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "demo.json"
    monkeypatch.setattr(demo, "demo_state_path", lambda label="": path)
    monkeypatch.setattr(demo, "office_token", lambda **_: "office-token")
    monkeypatch.setattr(demo, "datetime", _FrozenDatetime)
    return path


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenDatetime:
        return cls.fromtimestamp(NOW.timestamp(), tz)


def run_seed(fake: FakePlatform, state: dict[str, Any]) -> list[str]:
    said: list[str] = []
    demo.seed_bookings(
        cast(Platform, fake), state, said.append, transport=httpx.MockTransport(fake.handle)
    )
    return said


def test_visitors_book_pay_cancel_and_check_in_once(state_file: Path) -> None:
    fake = FakePlatform(departures())
    state = fake.state()
    said = run_seed(fake, state)

    plan = plan_bookings(departures(), NOW)
    statuses = Counter(r["status"] for r in fake.reservations.values())
    assert len(fake.reservations) == len(plan)
    assert statuses == {
        "CONFIRMED": len(plan) - 4 - sum(b.check_in for b in plan),
        "CANCELLED": 4,
        "REDEEMED": sum(b.check_in for b in plan),
    }
    assert fake.posts["payments /v1/reservations/{id}/payment/simulate"] == len(plan)
    assert any(line.startswith(f"bookings: {len(plan)}/{len(plan)} held") for line in said)
    assert json.loads(state_file.read_text())["bookings"]["done"] is True

    # The second seed reads the state file back and posts nothing.
    before = fake.posts.copy()
    again = run_seed(fake, json.loads(state_file.read_text()))
    assert fake.posts == before
    assert again[0].startswith("demo bookings already made")


def test_an_interrupted_seed_resumes_without_booking_twice(
    state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakePlatform(departures(), pays=False)
    monkeypatch.setattr(demo, "CONFIRM_TIMEOUT_SECONDS", 0.5)
    with pytest.raises(RuntimeError, match=r"did not take the payment of .* within 0\.5 s"):
        run_seed(fake, fake.state())
    held = len(fake.reservations)
    assert held > 40
    # One hold lapsed while the platform was down: that visitor books again.
    lapsed = next(iter(fake.reservations.values()))
    lapsed["status"] = "EXPIRED"

    fake.pays = True
    run_seed(fake, json.loads(state_file.read_text()))
    assert len(fake.reservations) == held + 1
    assert fake.posts["booking /v1/reservations"] == held + 1
    assert lapsed["payment"] is None
