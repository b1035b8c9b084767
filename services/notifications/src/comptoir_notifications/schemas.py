"""Response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Generic, Literal, Self, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from comptoir_common.db import utcnow
from comptoir_notifications.mails import has_control_characters, mailbox


class MessagePublic(BaseModel):
    """One message about a reservation, as staff see it (never its recipient's address).

    A provider's summary of a cancelled departure is about a slot, not one reservation:
    its ``reservation_id`` is null and its ``slot_id`` says which departure. A sign-in
    link (``event_type`` ``notifications.sign-in``) is about neither; only office staff
    see it, and only its subject: the link opens an account, so no body is ever shown.
    """

    id: uuid.UUID
    reservation_id: uuid.UUID | None
    slot_id: uuid.UUID | None
    event_type: str
    recipient_kind: Literal["visitor", "provider", "office"]
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


#: How long a sign-in link may stay valid, at most.
SIGN_IN_LINK_MAX_LIFETIME = timedelta(hours=1)
#: Allowance for a caller whose clock runs a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=1)


class SignInLinkIn(BaseModel):
    """A sign-in link the web front end built and signed, to be sent by e-mail.

    Notifications never sees how the link is signed; it checks that the link points at
    the storefront (``link-not-allowed`` otherwise) so that a leaked staff token cannot
    turn our mail server into a phishing relay.
    """

    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    #: The person's name, as the greeting says it (one line).
    name: str = Field(min_length=1, max_length=200)
    #: Who signs in: a provider (their space) or office staff.
    audience: Literal["provider", "office"]
    locale: Literal["fr", "en"]
    #: The absolute URL to open; it must start with the storefront's base URL and ``/``.
    link: str = Field(min_length=1, max_length=2000)
    #: When the link stops working: in the future, at most one hour ahead.
    expires_at: AwareDatetime

    @field_validator("name")
    @classmethod
    def _one_line_name(cls, value: str) -> str:
        if has_control_characters(value):
            raise ValueError("the name contains a line break or control character")
        value = " ".join(value.split())
        if not value:
            raise ValueError("the name is blank")
        return value

    @field_validator("link")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if has_control_characters(value) or any(c.isspace() for c in value):
            raise ValueError("the link contains whitespace or a control character")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the link must be an absolute http or https URL")
        return value

    @field_validator("expires_at")
    @classmethod
    def _soon(cls, value: datetime) -> datetime:
        now = utcnow()
        if value <= now:
            raise ValueError("the link has already expired")
        if value > now + SIGN_IN_LINK_MAX_LIFETIME + CLOCK_SKEW:
            raise ValueError("a sign-in link may be valid for one hour at most")
        return value

    @model_validator(mode="after")
    def _sendable(self) -> Self:
        mailbox(self.name, str(self.email))  # InvalidRecipient is a ValueError: 422
        return self


class SignInLinkAccepted(BaseModel):
    """The sign-in mail is recorded; the sender sends it within seconds."""

    #: The ``id`` of the message in ``GET /v1/messages``.
    message_id: uuid.UUID
    status: Literal["PENDING", "SENDING", "SENT", "FAILED", "UNKNOWN"]
