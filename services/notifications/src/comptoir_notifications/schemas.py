"""Response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel


class MessagePublic(BaseModel):
    """One message about a reservation, as staff see it (never its recipient's address).

    A provider's summary of a cancelled departure is about a slot, not one reservation:
    its ``reservation_id`` is null and its ``slot_id`` says which departure.
    """

    id: uuid.UUID
    reservation_id: uuid.UUID | None
    slot_id: uuid.UUID | None
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
