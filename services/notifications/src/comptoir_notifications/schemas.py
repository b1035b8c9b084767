"""Response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel


class MessagePublic(BaseModel):
    """One message about a reservation, as staff see it (never its recipient's address)."""

    id: uuid.UUID
    reservation_id: uuid.UUID
    event_type: str
    recipient_kind: Literal["visitor", "provider"]
    channel: Literal["email"]
    status: Literal["PENDING", "SENDING", "SENT", "FAILED", "UNKNOWN"]
    subject: str
    created_at: datetime
    sent_at: datetime | None
    error: str | None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
