"""Response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator


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


class NotificationPreferencesIn(BaseModel):
    """How a provider hears of its bookings, rebookings and cancellations."""

    #: ``EACH``: one e-mail per event (the default); ``DAILY_DIGEST``: one a day.
    booking_notices: Literal["EACH", "DAILY_DIGEST"]
    #: Local hour (0-23) of the daily digest.
    digest_hour: int = Field(default=18, ge=0, le=23)
    #: IANA time zone of ``digest_hour``; by default the provider's activities' zone
    #: (``Europe/Paris`` if none is known).
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("not a known IANA time zone") from exc
        return value


class NotificationPreferences(BaseModel):
    provider_id: uuid.UUID
    booking_notices: Literal["EACH", "DAILY_DIGEST"]
    digest_hour: int
    timezone: str
    #: When the next digest goes out (null: one e-mail per event, nothing waiting).
    next_digest_at: datetime | None
    #: The local day of the last digest decided.
    last_digest_date: date | None
