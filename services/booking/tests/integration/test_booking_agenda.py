"""The agenda and the reservation list, over reservations made the way visitors make
them: holds placed, paid, checked in and cancelled through booking's own use cases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest

from comptoir_booking import service
from comptoir_common.auth import Principal
from comptoir_common.db import SessionFactory
from comptoir_common.events import v1

if TYPE_CHECKING:  # the fixture's type only: another suite's conftest may be loaded too
    from conftest import Tokens

HOLD_FOR = timedelta(minutes=15)
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Board:
    """One territory: provider 1 sells a kayak trip (two departures, one far ahead) and
    a via ferrata; provider 2 a canoe trip."""

    territory_id: uuid.UUID = field(default_factory=uuid.uuid4)
    provider_1: uuid.UUID = field(default_factory=uuid.uuid4)
    provider_2: uuid.UUID = field(default_factory=uuid.uuid4)
    kayak: uuid.UUID = field(default_factory=uuid.uuid4)
    ferrata: uuid.UUID = field(default_factory=uuid.uuid4)
    canoe: uuid.UUID = field(default_factory=uuid.uuid4)
    #: slot name -> id
    slots: dict[str, uuid.UUID] = field(default_factory=dict)
    #: reservation name -> id
    reservations: dict[str, uuid.UUID] = field(default_factory=dict)


def _activity(board: Board, activity_id: uuid.UUID, provider_id: uuid.UUID, title: str) -> Any:
    return v1.ActivityUpdated(
        activity_id=activity_id,
        provider_id=provider_id,
        territory_id=board.territory_id,
        version=1,
        title=v1.Localized(fr=title, en=f"{title} (en)"),
        category="nautical",
        commune="Embrun",
        currency="EUR",
        timezone="Europe/Paris",
        units=[v1.UnitPrice(id="adult", type="ADULT", price_cents=2500)],
    )


def _slot(
    board: Board,
    activity_id: uuid.UUID,
    provider_id: uuid.UUID,
    start: datetime,
    capacity: int,
) -> v1.SlotUpdated:
    return v1.SlotUpdated(
        slot_id=uuid.uuid4(),
        activity_id=activity_id,
        provider_id=provider_id,
        territory_id=board.territory_id,
        version=1,
        start=start,
        duration_minutes=120,
        capacity=capacity,
        status="OPEN",
    )


@pytest.fixture(scope="module")
async def board(reports_sessions: SessionFactory, reports_pool: asyncpg.Pool) -> Board:
    board = Board()
    provider_1 = Principal(
        role="provider",
        subject="provider:one",
        territory_id=board.territory_id,
        provider_id=board.provider_1,
    )
    async with reports_sessions() as session, session.begin():
        await service.apply_activity(
            session, _activity(board, board.kayak, board.provider_1, "Kayak")
        )
        await service.apply_activity(
            session, _activity(board, board.ferrata, board.provider_1, "Via ferrata")
        )
        await service.apply_activity(
            session, _activity(board, board.canoe, board.provider_2, "Canoë")
        )
        for name, activity, provider, start, capacity in (
            ("kayak_soon", board.kayak, board.provider_1, NOW + timedelta(hours=3), 10),
            ("ferrata", board.ferrata, board.provider_1, NOW + timedelta(days=2), 4),
            ("canoe", board.canoe, board.provider_2, NOW + timedelta(hours=5), 6),
            ("kayak_later", board.kayak, board.provider_1, NOW + timedelta(days=20), 10),
        ):
            event = _slot(board, activity, provider, start, capacity)
            await service.apply_slot(session, event)
            board.slots[name] = event.slot_id

    async def hold(slot: str, seats: int, name: str) -> uuid.UUID:
        placed = await service.place_hold(
            reports_pool,
            service.HoldRequest(
                slot_id=board.slots[slot],
                units=[("adult", seats)],
                visitor=v1.Visitor(name=f"Visitor {name}", email="v@example.org", locale="fr"),
            ),
            HOLD_FOR,
        )
        board.reservations[name] = placed.id
        return placed.id

    async def pay(reservation_id: uuid.UUID, provider_id: uuid.UUID, cents: int) -> None:
        async with reports_sessions() as session, session.begin():
            await service.payment_succeeded(
                session,
                v1.PaymentSucceeded(
                    reservation_id=reservation_id,
                    provider_id=provider_id,
                    territory_id=board.territory_id,
                    payment_intent_id=f"pi_{reservation_id.hex}",
                    amount_cents=cents,
                    application_fee_cents=0,
                    currency="EUR",
                ),
            )

    # kayak_soon: 2 seats on hold, 3 confirmed, 1 checked in, 2 cancelled after payment.
    await hold("kayak_soon", 2, "on_hold")
    await pay(await hold("kayak_soon", 3, "confirmed"), board.provider_1, 7500)
    await pay(await hold("kayak_soon", 1, "checked_in"), board.provider_1, 2500)
    await pay(await hold("kayak_soon", 2, "cancelled"), board.provider_1, 5000)
    async with reports_sessions() as session, session.begin():
        code = service.ticket_code_of(
            await service.visible_reservation(session, provider_1, board.reservations["checked_in"])
        )
        await service.check_in(session, provider_1, code)
        await service.cancel_reservation(session, provider_1, board.reservations["cancelled"], None)
    # ferrata: sold out to one party; canoe (provider 2): one seat; kayak_later: one seat.
    await pay(await hold("ferrata", 4, "ferrata"), board.provider_1, 10000)
    await pay(await hold("canoe", 1, "canoe"), board.provider_2, 2500)
    await pay(await hold("kayak_later", 1, "later"), board.provider_1, 2500)
    return board


def _by_slot(answer: httpx.Response) -> dict[uuid.UUID, dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return {uuid.UUID(row["slot_id"]): row for row in answer.json()}


async def test_a_provider_sees_its_own_departures_with_their_counts(
    client: httpx.AsyncClient, board: Board, tokens: Tokens
) -> None:
    answer = await client.get(
        "/v1/agenda", headers=tokens.provider(board.territory_id, board.provider_1)
    )
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    # Default window: from 2 hours ago, 14 days: the kayak in 20 days is not in it.
    assert [uuid.UUID(r["slot_id"]) for r in rows] == [
        board.slots["kayak_soon"],
        board.slots["ferrata"],
    ]
    kayak, ferrata = rows
    assert kayak == {
        "slot_id": str(board.slots["kayak_soon"]),
        "activity_id": str(board.kayak),
        "provider_id": str(board.provider_1),
        "activity_title": {"fr": "Kayak", "en": "Kayak (en)"},
        "start": kayak["start"],
        "duration_minutes": 120,
        "timezone": "Europe/Paris",
        "capacity": 10,
        "on_hold": 2,
        "confirmed": 4,  # 3 confirmed + 1 checked in: a checked-in visitor keeps the seat
        "checked_in": 1,
        "remaining": 4,
        "reservations": 2,
        "status": "OPEN",
        "availability": "LIMITED",
    }
    assert datetime.fromisoformat(kayak["start"]) == NOW + timedelta(hours=3)
    assert (ferrata["confirmed"], ferrata["remaining"], ferrata["reservations"]) == (4, 0, 1)
    assert ferrata["availability"] == "SOLD_OUT"
    assert ferrata["activity_title"]["fr"] == "Via ferrata"


async def test_the_agenda_counts_seats_as_the_availability_endpoint_does(
    client: httpx.AsyncClient, board: Board, tokens: Tokens
) -> None:
    headers = tokens.admin(board.territory_id)
    agenda = _by_slot(await client.get("/v1/agenda", headers=headers))
    for name in ("kayak_soon", "ferrata", "canoe"):
        slot_id = board.slots[name]
        seats = (await client.get(f"/v1/slots/{slot_id}/availability")).json()
        row = agenda[slot_id]
        assert (row["capacity"], row["on_hold"], row["confirmed"], row["remaining"]) == (
            seats["capacity"],
            seats["on_hold"],
            seats["confirmed"],
            seats["remaining"],
        )
        assert row["availability"] == seats["status"]


async def test_providers_never_see_each_others_departures(
    client: httpx.AsyncClient, board: Board, tokens: Tokens
) -> None:
    other = tokens.provider(board.territory_id, board.provider_2)
    assert list(_by_slot(await client.get("/v1/agenda", headers=other))) == [board.slots["canoe"]]
    asking_for_another = await client.get(
        "/v1/agenda", params={"provider_id": str(board.provider_1)}, headers=other
    )
    assert asking_for_another.status_code == 403
    elsewhere = tokens.provider(uuid.uuid4(), board.provider_1)
    assert (await client.get("/v1/agenda", headers=elsewhere)).json() == []
    visitor = tokens.visitor_of(board.territory_id, board.reservations["canoe"])
    assert (await client.get("/v1/agenda", headers=visitor)).status_code == 403
    assert (await client.get("/v1/agenda")).status_code == 401


async def test_the_office_sees_the_territory_and_filters_it(
    client: httpx.AsyncClient, board: Board, tokens: Tokens
) -> None:
    headers = tokens.admin(board.territory_id)
    everything = await client.get("/v1/agenda", headers=headers)
    assert [uuid.UUID(r["slot_id"]) for r in everything.json()] == [
        board.slots["kayak_soon"],  # in 3 hours
        board.slots["canoe"],  # in 5 hours
        board.slots["ferrata"],  # in 2 days
    ]
    one_provider = await client.get(
        "/v1/agenda", params={"provider_id": str(board.provider_2)}, headers=headers
    )
    assert list(_by_slot(one_provider)) == [board.slots["canoe"]]
    month = {
        "from": (NOW - timedelta(hours=1)).isoformat(),
        "to": (NOW + timedelta(days=30)).isoformat(),
        "activity_id": str(board.kayak),
    }
    kayaks = _by_slot(await client.get("/v1/agenda", params=month, headers=headers))
    assert list(kayaks) == [board.slots["kayak_soon"], board.slots["kayak_later"]]
    assert kayaks[board.slots["kayak_later"]]["reservations"] == 1
    other_office = tokens.admin(uuid.uuid4())
    assert (await client.get("/v1/agenda", headers=other_office)).json() == []


async def test_an_agenda_over_92_days_or_backwards_is_refused(
    client: httpx.AsyncClient, board: Board, tokens: Tokens
) -> None:
    headers = tokens.admin(board.territory_id)
    start = datetime(2027, 1, 1, tzinfo=UTC)
    too_long = {"from": start.isoformat(), "to": (start + timedelta(days=93)).isoformat()}
    answer = await client.get("/v1/agenda", params=too_long, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["type"].endswith("bad-range")
    backwards = {"from": start.isoformat(), "to": start.isoformat()}
    assert (await client.get("/v1/agenda", params=backwards, headers=headers)).status_code == 422
    longest = {"from": start.isoformat(), "to": (start + timedelta(days=92)).isoformat()}
    assert (await client.get("/v1/agenda", params=longest, headers=headers)).status_code == 200


# --- the reservation list --------------------------------------------------------------


async def test_listed_reservations_carry_their_slot_start_and_activity_title(
    client: httpx.AsyncClient, board: Board, tokens: Tokens
) -> None:
    headers = tokens.provider(board.territory_id, board.provider_1)
    answer = await client.get("/v1/reservations", headers=headers)
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    names = {v: k for k, v in board.reservations.items()}
    # Newest first, as before; only provider 1's.
    assert [names[uuid.UUID(r["id"])] for r in rows] == [
        "later",
        "ferrata",
        "cancelled",
        "checked_in",
        "confirmed",
        "on_hold",
    ]
    ferrata = rows[1]
    assert ferrata["activity_title"] == {"fr": "Via ferrata", "en": "Via ferrata (en)"}
    assert datetime.fromisoformat(ferrata["slot_start"]) == NOW + timedelta(days=2)
    one = await client.get(f"/v1/reservations/{ferrata['id']}", headers=headers)
    assert one.json()["slot_start"] == ferrata["slot_start"]
    assert one.json()["activity_title"] == ferrata["activity_title"]


async def test_reservations_filter_by_slot_start_activity_and_state(
    client: httpx.AsyncClient, board: Board, tokens: Tokens
) -> None:
    headers = tokens.admin(board.territory_id)
    names = {v: k for k, v in board.reservations.items()}

    async def listed(**params: Any) -> list[str]:
        answer = await client.get("/v1/reservations", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return sorted(names[uuid.UUID(r["id"])] for r in answer.json())

    sold = await listed(status=["CONFIRMED", "REDEEMED"])
    assert sold == ["canoe", "checked_in", "confirmed", "ferrata", "later"]
    assert await listed(status="CANCELLED") == ["cancelled"]
    tomorrow_on = {
        "from": (NOW + timedelta(days=1)).isoformat(),
        "to": (NOW + timedelta(days=10)).isoformat(),
    }
    assert await listed(**tomorrow_on) == ["ferrata"]
    assert await listed(activity_id=str(board.kayak), status="REDEEMED") == ["checked_in"]
    assert await listed(activity_id=str(board.canoe)) == ["canoe"]
    assert len(await listed(limit=2)) == 2
    bad_state = await client.get("/v1/reservations", params={"status": "PAID"}, headers=headers)
    assert bad_state.status_code == 422
    too_many = await client.get("/v1/reservations", params={"limit": 501}, headers=headers)
    assert too_many.status_code == 422
    backwards = {"from": NOW.isoformat(), "to": (NOW - timedelta(days=1)).isoformat()}
    answer = await client.get("/v1/reservations", params=backwards, headers=headers)
    assert answer.status_code == 422


async def test_a_cancelled_or_moved_reservation_answers_with_its_new_slot_and_title(
    client: httpx.AsyncClient,
    reports_sessions: SessionFactory,
    reports_pool: asyncpg.Pool,
    tokens: Tokens,
) -> None:
    board = Board()
    first = _slot(board, board.kayak, board.provider_1, NOW + timedelta(days=10), 5)
    second = _slot(board, board.kayak, board.provider_1, NOW + timedelta(days=11), 5)
    async with reports_sessions() as session, session.begin():
        await service.apply_activity(
            session, _activity(board, board.kayak, board.provider_1, "Kayak")
        )
        await service.apply_slot(session, first)
        await service.apply_slot(session, second)
    placed = await service.place_hold(
        reports_pool,
        service.HoldRequest(
            slot_id=first.slot_id,
            units=[("adult", 2)],
            visitor=v1.Visitor(name="Jeanne", email="jeanne@example.org", locale="fr"),
        ),
        HOLD_FOR,
    )
    async with reports_sessions() as session, session.begin():
        await service.payment_succeeded(
            session,
            v1.PaymentSucceeded(
                reservation_id=placed.id,
                provider_id=board.provider_1,
                territory_id=board.territory_id,
                payment_intent_id="pi_moved",
                amount_cents=5000,
                application_fee_cents=0,
                currency="EUR",
            ),
        )
    headers = tokens.provider(board.territory_id, board.provider_1)
    moved = await client.post(
        f"/v1/reservations/{placed.id}/rebook",
        json={"slot_id": str(second.slot_id)},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["slot_start"]) == second.start
    assert moved.json()["activity_title"] == {"fr": "Kayak", "en": "Kayak (en)"}
    cancelled = await client.post(f"/v1/reservations/{placed.id}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert datetime.fromisoformat(cancelled.json()["slot_start"]) == second.start
