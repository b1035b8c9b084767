"""A provider (or its office) changes the capacity of a future slot or closes its sales;
booking learns it as a new version of ``catalog.slot-updated.v1``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from catalog_support import Deliver, Office, bearer, outbox, provider_with_activity
from sqlalchemy import update

from comptoir_catalog.store import Slot
from comptoir_common.db import SessionFactory
from comptoir_common.events import v1

SLOT_TOPIC = "catalog.slot-updated.v1"


async def scheduled(client: httpx.AsyncClient, office: Office) -> tuple[str, dict[str, Any]]:
    provider_id, activity = await provider_with_activity(client, office)
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    slot = await client.post(
        f"/v1/activities/{activity['id']}/slots",
        json={"start": start.isoformat(), "duration_minutes": 120, "capacity": 10},
        headers=office.headers,
    )
    assert slot.status_code == 201, slot.text
    return provider_id, slot.json()


def seats_report(slot: dict[str, Any], territory_id: uuid.UUID, **counts: int) -> Any:
    """Booking's count of the seats on a slot, as catalog receives it."""
    return v1.SlotAvailabilityChanged(
        slot_id=uuid.UUID(slot["id"]),
        activity_id=uuid.UUID(slot["activity_id"]),
        territory_id=territory_id,
        capacity=slot["capacity"],
        **counts,
    )


async def test_a_provider_lowers_raises_closes_and_reopens_its_slot(
    client: httpx.AsyncClient, office: Office, deliver: Deliver, sessions: SessionFactory
) -> None:
    provider_id, slot = await scheduled(client, office)
    url = f"/v1/slots/{slot['id']}"
    own = bearer("provider", office.territory_id, provider_id)
    assert (await client.get(url)).json() == slot
    assert (slot["status"], slot["remaining"], slot["version"]) == ("OPEN", 10, 1)
    # booking reports 6 seats taken (2 held, 4 confirmed)
    report = seats_report(slot, office.territory_id, version=3, on_hold=2, confirmed=4, remaining=4)
    assert await deliver(report) == "applied"

    steps = [
        ({"capacity": 5}, ("OPEN", 5, 0)),  # below the seats taken: sales stop, nobody is out
        ({"capacity": 8}, ("OPEN", 8, 2)),
        ({"status": "CLOSED"}, ("CLOSED", 8, 0)),
        ({"status": "OPEN", "capacity": 12}, ("OPEN", 12, 6)),
    ]
    for version, (change, (status, capacity, remaining)) in enumerate(steps, start=2):
        answer = await client.patch(url, json=change, headers=own)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["status"], body["capacity"], body["remaining"]) == (
            status,
            capacity,
            remaining,
        ), change
        assert body["version"] == version
        assert (await client.get(url)).json() == body

    events = [e["data"] for e in await outbox(sessions, SLOT_TOPIC)]
    assert [(e["version"], e["capacity"], e["status"]) for e in events] == [
        (1, 10, "OPEN"),
        (2, 5, "OPEN"),
        (3, 8, "OPEN"),
        (4, 8, "CLOSED"),
        (5, 12, "OPEN"),
    ]
    assert {e["start"] for e in events} == {events[0]["start"]}

    # the activity's list of slots shows the new state
    listed = (await client.get(f"/v1/activities/{slot['activity_id']}/slots")).json()
    assert [(s["id"], s["capacity"], s["remaining"]) for s in listed] == [(slot["id"], 12, 6)]

    # the same state again publishes nothing
    again = await client.patch(url, json={"capacity": 12}, headers=office.headers)
    assert (again.status_code, again.json()["version"]) == (200, 5)
    assert len(await outbox(sessions, SLOT_TOPIC)) == 5


async def test_a_slot_that_started_or_was_cancelled_cannot_be_changed(
    client: httpx.AsyncClient, office: Office, deliver: Deliver, sessions: SessionFactory
) -> None:
    _, slot = await scheduled(client, office)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Slot)
            .where(Slot.id == uuid.UUID(slot["id"]))  # type: ignore[arg-type]
            .values(start=datetime.now(UTC) - timedelta(minutes=5))
        )
    started = await client.patch(
        f"/v1/slots/{slot['id']}", json={"status": "CLOSED"}, headers=office.headers
    )
    assert started.status_code == 409
    assert started.headers["content-type"].startswith("application/problem+json")
    assert started.json()["type"].endswith("/slot-started")
    assert "can no longer be changed" in started.json()["detail"]

    _, other = await scheduled(client, office)
    cancelled = v1.SlotCancelled(
        slot_id=uuid.UUID(other["id"]),
        activity_id=uuid.UUID(other["activity_id"]),
        provider_id=uuid.uuid4(),
        territory_id=office.territory_id,
        slot_start=datetime.fromisoformat(other["start"]),
        cancelled_by="PROVIDER",
        reservations_cancelled=0,
    )
    assert await deliver(cancelled) == "applied"
    refused = await client.patch(
        f"/v1/slots/{other['id']}", json={"capacity": 20}, headers=office.headers
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/slot-cancelled")

    assert [e["data"]["version"] for e in await outbox(sessions, SLOT_TOPIC)] == [1, 1]
    # the public view still shows them
    assert (await client.get(f"/v1/slots/{other['id']}")).json()["status"] == "CANCELLED"


async def test_only_its_provider_and_its_office_may_change_a_slot(
    client: httpx.AsyncClient, office: Office, sessions: SessionFactory
) -> None:
    _, slot = await scheduled(client, office)
    other_provider, _ = await provider_with_activity(client, office, name="Rafting des Gorges")
    url = f"/v1/slots/{slot['id']}"
    foreign = await client.patch(
        url,
        json={"capacity": 1},
        headers=bearer("provider", office.territory_id, other_provider),
    )
    assert foreign.status_code == 404
    elsewhere = await client.patch(url, json={"capacity": 1}, headers=bearer("admin", uuid.uuid4()))
    assert elsewhere.status_code == 404
    assert (await client.patch(url, json={"capacity": 1})).status_code == 401
    assert (await client.get(f"/v1/slots/{uuid.uuid4()}")).status_code == 404
    assert (await client.get(url)).json()["capacity"] == 10
    assert len(await outbox(sessions, SLOT_TOPIC)) == 1


async def test_bad_slot_changes_are_clear_problems(
    client: httpx.AsyncClient, office: Office
) -> None:
    _, slot = await scheduled(client, office)
    url = f"/v1/slots/{slot['id']}"
    for bad, field in (
        ({"capacity": -1}, "capacity"),
        ({"status": "CANCELLED"}, "status"),
        ({"capacity": None}, "capacity"),
        ({"start": "2030-01-01T10:00:00Z"}, "start"),
    ):
        answer = await client.patch(url, json=bad, headers=office.headers)
        assert answer.status_code == 422, bad
        assert answer.json()["errors"][0]["location"] == ["body", field]
    # capacity 0 is allowed: no seats for sale, the slot stays listed
    zero = await client.patch(url, json={"capacity": 0}, headers=office.headers)
    assert (zero.status_code, zero.json()["remaining"]) == (200, 0)
