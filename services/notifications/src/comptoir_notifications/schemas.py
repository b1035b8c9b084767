"""Response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field


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


class WebhookEndpointIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    event_types: list[str] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=500)


class WebhookEndpointPublic(BaseModel):
    """A provider's webhook endpoint (never its secret)."""

    id: uuid.UUID
    provider_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None


class WebhookEndpointCreated(WebhookEndpointPublic):
    #: ``whsec_`` + base64: shown in this answer only.
    secret: str


class WebhookSecret(BaseModel):
    id: uuid.UUID
    #: The new signing secret, shown in this answer only.
    secret: str
    #: Until then the replaced secret signs alongside it.
    previous_secret_expires_at: datetime | None


class DeliveryPublic(BaseModel):
    """One event sent (or to send) to one endpoint; DEAD ones are the dead-letter list."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Literal["PENDING", "DELIVERED", "DEAD"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
