"""What visitors should bring: written with the activity, returned, carried in its events."""

from __future__ import annotations

from typing import Any

import httpx
from catalog_support import ACTIVITY_TOPIC, Deliver, Office, account_event, outbox

from comptoir_common.db import SessionFactory

BRING = "Chaussures fermées, gourde d'eau, veste coupe-vent."


async def publish(client: httpx.AsyncClient, office: Office, **extra: Any) -> httpx.Response:
    provider = await client.post(
        "/v1/providers",
        json={"name": "Canyoning du Verdon", "email": "canyon@verdon.example"},
        headers=office.headers,
    )
    assert provider.status_code == 201, provider.text
    return await client.post(
        "/v1/activities",
        json={
            "provider_id": provider.json()["id"],
            "title": {"fr": "Canyon du Verdon", "en": "Verdon canyoning"},
            "description": {"fr": "Une demi-journée.", "en": "Half a day."},
            "category": "canyoning",
            "commune": "Castellane",
            "currency": "EUR",
            "units": [{"id": "adult", "price_cents": 5500}],
            "meeting_point": "Parking du pont de Soleils",
        }
        | extra,
        headers=office.headers,
    )


async def test_what_to_bring_is_kept_returned_and_published(
    client: httpx.AsyncClient, office: Office, deliver: Deliver, sessions: SessionFactory
) -> None:
    created = await publish(client, office, what_to_bring=BRING)
    assert created.status_code == 201, created.text
    assert created.json()["what_to_bring"] == BRING
    activity_id = created.json()["id"]
    assert (await client.get(f"/v1/activities/{activity_id}")).json()["what_to_bring"] == BRING
    listed = (await client.get("/v1/activities", params={"commune": "Castellane"})).json()
    assert [item["what_to_bring"] for item in listed["items"]] == [BRING]

    # every version of the activity says it, not only the first
    provider_id = created.json()["provider_id"]
    assert await deliver(account_event(provider_id, office.territory_id)) == "applied"
    events = [e["data"] for e in await outbox(sessions, ACTIVITY_TOPIC)]
    assert [(e["version"], e["what_to_bring"]) for e in events] == [(1, BRING), (2, BRING)]
    assert events[0]["meeting_point"] == "Parking du pont de Soleils"


async def test_an_activity_without_it_says_none(
    client: httpx.AsyncClient, office: Office, sessions: SessionFactory
) -> None:
    created = await publish(client, office)
    assert created.status_code == 201, created.text
    assert created.json()["what_to_bring"] is None
    [event] = await outbox(sessions, ACTIVITY_TOPIC)
    assert event["data"]["what_to_bring"] is None


async def test_too_long_a_text_is_a_clear_problem_and_publishes_nothing(
    client: httpx.AsyncClient, office: Office, sessions: SessionFactory
) -> None:
    refused = await publish(client, office, what_to_bring="x" * 501)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/validation")
    [error] = problem["errors"]
    assert error["location"] == ["body", "what_to_bring"]
    assert "500 characters" in error["message"]
    assert await outbox(sessions, ACTIVITY_TOPIC) == []
