"""Helpers of catalog's integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from comptoir_common.auth import OFFICE_ISSUER, Role, TokenIssuer
from comptoir_common.db import SessionFactory
from comptoir_common.events import EventPayload
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
