"""A provider (or its office) changes its activity: new prices, policy, texts and photos
reach booking as a new version of ``catalog.activity-updated.v1``."""

from __future__ import annotations

import uuid

import httpx
from catalog_support import ACTIVITY_TOPIC, Office, bearer, outbox, provider_with_activity

from comptoir_common.db import SessionFactory

KAYAK_PHOTO = {
    "url": "/static/demo/lake-kayak.svg",
    "alt": {"fr": "Un kayak sur le lac au couchant", "en": "A kayak on the lake at sunset"},
}


async def test_a_provider_changes_prices_policy_and_photos_and_booking_is_told(
    client: httpx.AsyncClient, office: Office, sessions: SessionFactory
) -> None:
    provider_id, activity = await provider_with_activity(client, office)
    assert (activity["version"], activity["photos"]) == (1, [])
    own = bearer("provider", office.territory_id, provider_id)

    edited = await client.patch(
        f"/v1/activities/{activity['id']}",
        json={
            "units": [{"id": "adult", "price_cents": 4900}, {"id": "child", "price_cents": 3200}],
            "cancellation_policy": [
                {"hours_before": 48, "refund_percent": 100},
                {"hours_before": 24, "refund_percent": 50},
            ],
            "meeting_point": "Pont de Soleils, rive gauche",
            "photos": [KAYAK_PHOTO],
        },
        headers=own,
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["version"] == 2
    assert [(u["id"], u["price_cents"], u["type"]) for u in body["units"]] == [
        ("adult", 4900, "ADULT"),
        ("child", 3200, "CHILD"),
    ]
    assert body["photos"] == [KAYAK_PHOTO]
    # what was not sent stays as it was
    assert body["title"] == {"fr": "Descente des gorges", "en": "Down the gorges"}
    assert (body["min_units"], body["max_units"], body["currency"]) == (1, 6, "EUR")
    assert (await client.get(f"/v1/activities/{activity['id']}")).json() == body

    events = [e["data"] for e in await outbox(sessions, ACTIVITY_TOPIC)]
    assert [e["version"] for e in events] == [1, 2]
    assert [(u["id"], u["price_cents"]) for u in events[1]["units"]] == [
        ("adult", 4900),
        ("child", 3200),
    ]
    assert events[1]["cancellation_policy"] == [
        {"hours_before": 48, "refund_percent": 100},
        {"hours_before": 24, "refund_percent": 50},
    ]
    assert events[1]["meeting_point"] == "Pont de Soleils, rive gauche"
    assert "photos" not in events[1]

    # the office may change it too; null clears an optional text
    by_office = await client.patch(
        f"/v1/activities/{activity['id']}",
        json={"meeting_point": None, "max_units": 4},
        headers=office.headers,
    )
    assert by_office.status_code == 200, by_office.text
    assert (by_office.json()["version"], by_office.json()["meeting_point"]) == (3, None)
    assert by_office.json()["photos"] == [KAYAK_PHOTO]
    events = [e["data"] for e in await outbox(sessions, ACTIVITY_TOPIC)]
    assert [(e["version"], e["max_units"], e["meeting_point"]) for e in events[2:]] == [
        (3, 4, None)
    ]


async def test_a_patch_that_changes_nothing_publishes_nothing(
    client: httpx.AsyncClient, office: Office, sessions: SessionFactory
) -> None:
    _, activity = await provider_with_activity(client, office)
    for same in ({}, {"commune": "Castellane", "max_units": 6}):
        answer = await client.patch(
            f"/v1/activities/{activity['id']}", json=same, headers=office.headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["version"] == 1
    assert len(await outbox(sessions, ACTIVITY_TOPIC)) == 1


async def test_only_its_provider_and_its_office_may_change_it(
    client: httpx.AsyncClient, office: Office, sessions: SessionFactory
) -> None:
    _, activity = await provider_with_activity(client, office)
    other_provider, _ = await provider_with_activity(client, office, name="Rafting des Gorges")
    url = f"/v1/activities/{activity['id']}"
    change = {"title": {"fr": "Pris", "en": "Taken"}}

    foreign = await client.patch(
        url, json=change, headers=bearer("provider", office.territory_id, other_provider)
    )
    assert foreign.status_code == 404
    assert foreign.json()["type"].endswith("/not-found")
    other_office = await client.patch(url, json=change, headers=bearer("admin", uuid.uuid4()))
    assert other_office.status_code == 404
    anonymous = await client.patch(url, json=change)
    assert anonymous.status_code == 401
    unknown = await client.patch(
        f"/v1/activities/{uuid.uuid4()}", json=change, headers=office.headers
    )
    assert unknown.status_code == 404

    assert (await client.get(url)).json()["title"]["en"] == "Down the gorges"
    assert [e["data"]["version"] for e in await outbox(sessions, ACTIVITY_TOPIC)] == [1, 1]


async def test_bad_changes_are_clear_problems_and_change_nothing(
    client: httpx.AsyncClient, office: Office, sessions: SessionFactory
) -> None:
    _, activity = await provider_with_activity(client, office)
    url = f"/v1/activities/{activity['id']}"

    # min_units above the max_units held: only the merged activity shows it
    above = await client.patch(url, json={"min_units": 8}, headers=office.headers)
    assert above.status_code == 422
    assert above.headers["content-type"].startswith("application/problem+json")
    assert above.json()["type"].endswith("/validation")
    assert "min_units cannot exceed max_units" in above.json()["errors"][0]["message"]

    for url_sent in ("http://example.com/kayak.jpg", "javascript:alert(1)", "images/kayak.svg"):
        photo = {"url": url_sent, "alt": {"fr": "Kayak", "en": "Kayak"}}
        refused = await client.patch(url, json={"photos": [photo]}, headers=office.headers)
        assert refused.status_code == 422, url_sent
        [error] = refused.json()["errors"]
        assert error["location"] == ["body", "photos", 0, "url"]
        assert "https://" in error["message"] and "/static/" in error["message"]

    nine = await client.patch(url, json={"photos": [KAYAK_PHOTO] * 9}, headers=office.headers)
    assert nine.status_code == 422
    assert nine.json()["errors"][0]["location"] == ["body", "photos"]

    for unchangeable in ({"currency": "CHF"}, {"provider_id": str(uuid.uuid4())}):
        refused = await client.patch(url, json=unchangeable, headers=office.headers)
        assert refused.status_code == 422, unchangeable
        assert refused.json()["errors"][0]["type"] == "extra_forbidden"

    null_title = await client.patch(url, json={"title": None}, headers=office.headers)
    assert null_title.status_code == 422
    assert null_title.json()["errors"][0]["location"] == ["body", "title"]

    held = (await client.get(url)).json()
    assert (held["version"], held["min_units"], held["photos"]) == (1, 1, [])
    assert len(await outbox(sessions, ACTIVITY_TOPIC)) == 1


async def test_photos_are_published_with_a_new_activity(
    client: httpx.AsyncClient, office: Office
) -> None:
    https_photo = {
        "url": "https://images.example.org/verdon/kayak.jpg",
        "alt": {"fr": "Kayaks dans les gorges", "en": "Kayaks in the gorge"},
    }
    _, activity = await provider_with_activity(client, office, photos=[KAYAK_PHOTO, https_photo])
    assert activity["photos"] == [KAYAK_PHOTO, https_photo]
    listed = (await client.get("/v1/activities", params={"commune": "Castellane"})).json()
    assert listed["items"][0]["photos"] == [KAYAK_PHOTO, https_photo]
