"""Helpers of catalog's integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from comptoir_common.db import SessionFactory
from comptoir_common.events import EventPayload
from comptoir_common.outbox import OutboxMessage

Deliver = Callable[[EventPayload], Awaitable[str]]


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
