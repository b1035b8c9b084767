"""Catalog learns from payments whether a provider can take payments, and says so."""

from __future__ import annotations

import uuid

import httpx
from catalog_support import (
    ACTIVITY_TOPIC,
    Deliver,
    Office,
    account_event,
    outbox,
    provider_with_activity,
)

from comptoir_common.db import SessionFactory


async def provider_and_activity(client: httpx.AsyncClient, office: Office) -> tuple[str, str]:
    provider_id, activity = await provider_with_activity(client, office)
    return provider_id, activity["id"]


async def test_an_activity_is_bookable_only_while_its_provider_can_take_payments(
    client: httpx.AsyncClient, office: Office, deliver: Deliver, sessions: SessionFactory
) -> None:
    provider_id, activity_id = await provider_and_activity(client, office)
    fresh = (await client.get(f"/v1/activities/{activity_id}")).json()
    assert fresh["bookable"] is False
    assert "not started its Stripe onboarding" in fresh["not_bookable_reason"]

    halfway = account_event(
        provider_id,
        office.territory_id,
        charges_enabled=False,
        payouts_enabled=False,
        details_submitted=False,
        requirements_due=["external_account", "individual.dob.day"],
    )
    assert await deliver(halfway) == "applied"
    reason = (await client.get(f"/v1/activities/{activity_id}")).json()["not_bookable_reason"]
    assert "not finished its Stripe onboarding" in reason
    assert "external_account, individual.dob.day" in reason

    assert await deliver(account_event(provider_id, office.territory_id)) == "applied"
    ready = (await client.get(f"/v1/activities/{activity_id}")).json()
    assert (ready["bookable"], ready["not_bookable_reason"]) == (True, None)
    provider = await client.get(f"/v1/providers/{provider_id}", headers=office.headers)
    assert provider.json()["bookable"] is True and provider.json()["charges_enabled"] is True

    paused = account_event(
        provider_id,
        office.territory_id,
        charges_enabled=False,
        disabled_reason="requirements.past_due",
        requirements_due=["company.tax_id"],
    )
    assert await deliver(paused) == "applied"
    listed = (await client.get("/v1/activities", params={"provider_id": provider_id})).json()
    [item] = listed["items"]
    assert item["bookable"] is False
    assert "requirements.past_due" in item["not_bookable_reason"]
    assert "company.tax_id" in item["not_bookable_reason"]

    events = [e["data"] for e in await outbox(sessions, ACTIVITY_TOPIC)]
    assert [(e["version"], e["bookable"]) for e in events] == [
        (1, False),
        (2, False),
        (3, True),
        (4, False),
    ]
    assert events[3]["not_bookable_reason"] == item["not_bookable_reason"]


async def test_an_unchanged_or_redelivered_account_state_publishes_nothing_new(
    client: httpx.AsyncClient, office: Office, deliver: Deliver, sessions: SessionFactory
) -> None:
    provider_id, activity_id = await provider_and_activity(client, office)
    ready = account_event(provider_id, office.territory_id)
    assert await deliver(ready) == "applied"
    assert await deliver(account_event(provider_id, office.territory_id)) == "applied"
    # payouts are not what makes an activity bookable: nothing to tell booking
    payouts_off = account_event(provider_id, office.territory_id, payouts_enabled=False)
    assert await deliver(payouts_off) == "applied"
    events = [e["data"] for e in await outbox(sessions, ACTIVITY_TOPIC)]
    assert [e["bookable"] for e in events] == [False, True]
    provider = await client.get(f"/v1/providers/{provider_id}", headers=office.headers)
    assert provider.json()["payouts_enabled"] is False and provider.json()["bookable"] is True

    # a later activity of a ready provider is bookable from its first version
    second = await client.post(
        "/v1/activities",
        json={
            "provider_id": provider_id,
            "title": {"fr": "Via ferrata", "en": "Via ferrata"},
            "description": {"fr": "Deux heures.", "en": "Two hours."},
            "category": "climbing",
            "commune": "Castellane",
            "currency": "EUR",
            "units": [{"id": "adult", "price_cents": 3900}],
        },
        headers=office.headers,
    )
    assert second.json()["bookable"] is True
    assert (await client.get(f"/v1/activities/{activity_id}")).json()["bookable"] is True


async def test_the_state_of_an_unknown_provider_is_ignored(
    client: httpx.AsyncClient, office: Office, deliver: Deliver, sessions: SessionFactory
) -> None:
    stranger = account_event(str(uuid.uuid4()), office.territory_id)
    assert await deliver(stranger) == "applied"
    provider_id, _ = await provider_and_activity(client, office)
    elsewhere = account_event(provider_id, uuid.uuid4())
    assert await deliver(elsewhere) == "applied"
    provider = await client.get(f"/v1/providers/{provider_id}", headers=office.headers)
    assert provider.json()["bookable"] is False
    assert [e["data"]["bookable"] for e in await outbox(sessions, ACTIVITY_TOPIC)] == [False]
