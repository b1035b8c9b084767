"""Helpers of catalog's integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from comptoir_common.auth import OFFICE_ISSUER, Role, TokenIssuer
from comptoir_common.db import SessionFactory
from comptoir_common.events import EventPayload, v1
from comptoir_common.outbox import OutboxMessage

Deliver = Callable[[EventPayload], Awaitable[str]]

KEYS = Path(__file__).resolve().parents[4] / ".local" / "keys"


@dataclass
class Office:
    territory_id: uuid.UUID
    headers: dict[str, str]


async def outbox(sessions: SessionFactory, topic: str) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        )
        return [row.envelope for row in rows]


def bearer(
    role: Role, territory_id: uuid.UUID, provider_id: uuid.UUID | str | None = None
) -> dict[str, str]:
    """Headers of an office token: ``admin`` of a territory or ``provider`` of one provider."""
    issuer = TokenIssuer(str(KEYS / "office.pem"), OFFICE_ISSUER)
    token = issuer.issue(
        role=role,
        subject=f"{role}@test",
        territory_id=territory_id,
        provider_id=uuid.UUID(str(provider_id)) if provider_id else None,
    )
    return {"Authorization": f"Bearer {token}"}


ACTIVITY_TOPIC = "catalog.activity-updated.v1"


def account_event(
    provider_id: str, territory_id: uuid.UUID, **state: Any
) -> v1.ProviderAccountUpdated:
    values: dict[str, Any] = {
        "charges_enabled": True,
        "payouts_enabled": True,
        "details_submitted": True,
    } | state
    return v1.ProviderAccountUpdated(
        provider_id=uuid.UUID(provider_id),
        territory_id=territory_id,
        account_id="acct_1Verdon",
        **values,
    )


async def provider_with_activity(
    client: httpx.AsyncClient, office: Office, name: str = "Kayak du Verdon", **extra: Any
) -> tuple[str, dict[str, Any]]:
    provider = await client.post(
        "/v1/providers",
        json={"name": name, "email": f"{uuid.uuid4().hex[:8]}@verdon.example"},
        headers=office.headers,
    )
    assert provider.status_code == 201, provider.text
    activity = await client.post(
        "/v1/activities",
        json={
            "provider_id": provider.json()["id"],
            "title": {"fr": "Descente des gorges", "en": "Down the gorges"},
            "description": {"fr": "Trois heures.", "en": "Three hours."},
            "category": "nautical",
            "commune": "Castellane",
            "currency": "EUR",
            "units": [{"id": "adult", "price_cents": 4500}, {"id": "child", "price_cents": 3000}],
            "min_units": 1,
            "max_units": 6,
        }
        | extra,
        headers=office.headers,
    )
    assert activity.status_code == 201, activity.text
    return provider.json()["id"], activity.json()
