"""Notifications tables: catalog projections, reservation facts and outgoing mail."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from comptoir_common.db import Timestamp, utcnow
from comptoir_common.inbox import InboxMessage
from comptoir_common.outbox import OutboxMessage


class Provider(SQLModel, table=True):
    """Projection of ``catalog.provider-updated.v1``: where a provider's notices go."""

    id: uuid.UUID = Field(primary_key=True)
    territory_id: uuid.UUID = Field(index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    version: int
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class Activity(SQLModel, table=True):
    """Projection of ``catalog.activity-updated.v1``: what mails say about an activity."""

    id: uuid.UUID = Field(primary_key=True)
    provider_id: uuid.UUID = Field(index=True)
    territory_id: uuid.UUID = Field(index=True)
    title: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    timezone: str = Field(default="Europe/Paris", max_length=64)
    meeting_point: str | None = Field(default=None, max_length=500)
    what_to_bring: str | None = Field(default=None, max_length=500)
    version: int
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class Reservation(SQLModel, table=True):
    """Facts of a reservation from booking's events, for the mails that follow it.

    A cancellation or a refund does not repeat the activity and slot, and a refund does
    not name the visitor: they come from here. ``slot_start`` is the reservation's
    current slot (a rebooking moves it).
    """

    id: uuid.UUID = Field(primary_key=True)
    activity_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID = Field(index=True)
    slot_start: datetime | None = Field(default=None, sa_type=Timestamp(), index=True)
    activity_title: dict[str, str] | None = Field(default=None, sa_column=Column(JSONB))
    #: Where the visitor's mails go (personal data: never logged, never in the API).
    visitor_name: str | None = Field(default=None, sa_column=Column(Text))
    visitor_email: str | None = Field(default=None, max_length=320)
    visitor_locale: str | None = Field(default=None, max_length=8)
    confirmed_at: datetime | None = Field(default=None, sa_type=Timestamp())
    cancelled_at: datetime | None = Field(default=None, sa_type=Timestamp())
    rebooked_at: datetime | None = Field(default=None, sa_type=Timestamp())
    #: When the current slot was booked: the confirmation, or the latest rebooking.
    slot_booked_at: datetime | None = Field(default=None, sa_type=Timestamp())
    #: The slot whose reminder was decided (recorded, or skipped because the slot was
    #: booked too late for one): a rebooking to another slot calls for a new decision.
    reminder_slot_start: datetime | None = Field(default=None, sa_type=Timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class WaitingNotice(SQLModel, table=True):
    """An event whose mail cannot be written yet: it needs the visitor of a reservation
    that no booking event has named yet (a refund handled before its cancellation).

    The first booking event naming the visitor records the mail and deletes this row.
    ``data`` is the event's payload; only events without personal data wait here.
    """

    __tablename__ = "waiting_notice"

    event_id: uuid.UUID = Field(primary_key=True)
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    reservation_id: uuid.UUID = Field(index=True)
    data: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    trace_headers: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class BookingNotices(StrEnum):
    #: One e-mail per booking, rebooking and cancellation (the default).
    EACH = "EACH"
    #: One e-mail a day listing them, at the provider's chosen local hour.
    DAILY_DIGEST = "DAILY_DIGEST"


class ProviderPreference(SQLModel, table=True):
    """How a provider wants to hear of its bookings (no row: one e-mail each)."""

    __tablename__ = "provider_preference"

    provider_id: uuid.UUID = Field(primary_key=True)
    territory_id: uuid.UUID = Field(index=True)
    booking_notices: str = Field(
        default=BookingNotices.EACH, sa_column=Column(String(16), nullable=False)
    )
    #: Local hour (0-23) at which the day's digest goes out, in ``timezone``.
    digest_hour: int = 18
    timezone: str = Field(default="Europe/Paris", max_length=64)
    #: When the next digest is due (``digest_hour`` of its local day); None when the
    #: provider takes one e-mail each and no digest line waits.
    next_digest_at: datetime | None = Field(default=None, sa_type=Timestamp(), index=True)
    #: The local day of the last digest decided (sent, or nothing to tell).
    last_digest_date: date | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class DigestEntry(SQLModel, table=True):
    """One line of a provider's next daily digest: a booking, a rebooking or a
    cancellation recorded instead of its own e-mail (one per event)."""

    __tablename__ = "digest_entry"

    event_id: uuid.UUID = Field(primary_key=True)
    provider_id: uuid.UUID = Field(index=True)
    territory_id: uuid.UUID
    reservation_id: uuid.UUID
    #: ``booking``, ``change`` or ``cancellation``: the digest's section.
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    #: The line as the provider reads it (may name the visitor: never logged).
    line: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    #: The local day of the digest that listed it; None while it waits for one.
    digest_date: date | None = None


class RecipientKind(StrEnum):
    VISITOR = "visitor"
    PROVIDER = "provider"
    #: A member of the tourism office's staff (their sign-in link).
    OFFICE = "office"


class MailStatus(StrEnum):
    #: Recorded, waiting for the sender (or for a retry after a temporary SMTP error).
    PENDING = "PENDING"
    #: Claimed by a sender, which is talking to the SMTP server.
    SENDING = "SENDING"
    #: The SMTP server accepted it.
    SENT = "SENT"
    #: Not sent and never will be (refused, too many temporary errors, no address).
    FAILED = "FAILED"
    #: Maybe sent, maybe not (connection lost during DATA, or the sender stopped while
    #: SENDING). Never retried: a mail goes out at most once.
    UNKNOWN = "UNKNOWN"


EMAIL = "email"

#: ``outgoing_mail.event_type`` of a sign-in link asked for by the web front end (no
#: event causes it). Its bodies hold a link that opens an account: the sender wipes them
#: once the mail is SENT, FAILED or UNKNOWN, and does not send it after ``expires_at``.
SIGN_IN = "notifications.sign-in"


class OutgoingMail(SQLModel, table=True):
    """One message to one recipient about one event, sent at most once.

    The unique (event, recipient, channel) constraint makes recording it idempotent.
    ``dedup_key`` names the fact a mail tells when several events may tell it (the
    same refund announced twice): unique per recipient and channel as well. The status
    only moves PENDING -> SENDING -> SENT | FAILED | UNKNOWN (or back to PENDING after a
    temporary SMTP error that happened before the message was transferred).
    """

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        UniqueConstraint(
            "event_id", "recipient_kind", "channel", name="uq_outgoing_mail_event_recipient"
        ),
        Index(
            "uq_outgoing_mail_dedup_key",
            "dedup_key",
            "recipient_kind",
            "channel",
            unique=True,
            postgresql_where=text("dedup_key IS NOT NULL"),
        ),
        Index(
            "ix_outgoing_mail_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index(
            "ix_outgoing_mail_sending",
            "sending_started_at",
            postgresql_where=text("status = 'SENDING'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_id: uuid.UUID
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    recipient_kind: str = Field(sa_column=Column(String(16), nullable=False))
    channel: str = Field(default=EMAIL, sa_column=Column(String(16), nullable=False))
    #: None for a mail about a whole departure (``booking.slot-cancelled.v1``).
    reservation_id: uuid.UUID | None = Field(default=None, index=True)
    slot_id: uuid.UUID | None = Field(default=None, index=True)
    territory_id: uuid.UUID = Field(index=True)
    #: None for a mail to office staff (a sign-in link): no provider is concerned.
    provider_id: uuid.UUID | None = None
    dedup_key: str | None = Field(default=None, sa_column=Column(String(200)))
    locale: str = Field(max_length=8)
    #: Unknown until the provider's address is (a provider notice may be recorded
    #: before its ``catalog.provider-updated.v1`` arrives).
    to_name: str | None = Field(default=None, sa_column=Column(Text))
    to_address: str | None = Field(default=None, max_length=320)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    #: Files sent with it (``mails.Attachment.to_json``: the e-ticket's QR code, the
    #: .ics invitation), rendered once like the bodies.
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    status: str = Field(default=MailStatus.PENDING, sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    #: W3C trace context of the handler that recorded it: the send joins that trace.
    trace_headers: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    sending_started_at: datetime | None = Field(default=None, sa_type=Timestamp())
    sent_at: datetime | None = Field(default=None, sa_type=Timestamp())
    #: Not worth sending after then (a sign-in link that no longer works): FAILED.
    expires_at: datetime | None = Field(default=None, sa_type=Timestamp())


class WebhookEndpoint(SQLModel, table=True):
    """A provider's HTTPS endpoint that receives its events, signed (Standard Webhooks).

    ``secret`` signs every delivery; after a rotation ``previous_secret`` signs alongside
    it until ``previous_secret_expires_at``. Secrets are never shown again after the
    answer that created them. A disabled endpoint is kept for its delivery log.
    """

    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    territory_id: uuid.UUID = Field(index=True)
    provider_id: uuid.UUID = Field(index=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    event_types: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    secret: str = Field(sa_column=Column(Text, nullable=False))
    previous_secret: str | None = Field(default=None, sa_column=Column(Text))
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=Timestamp())
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    disabled_at: datetime | None = Field(default=None, sa_type=Timestamp())


class DeliveryStatus(StrEnum):
    #: Waiting for its (next) attempt at ``next_attempt_at``; a sender that claims it
    #: moves ``next_attempt_at`` past the attempt (its lease), so a crashed sender's
    #: claim is retried once the lease is over.
    PENDING = "PENDING"
    #: The endpoint answered 2xx.
    DELIVERED = "DELIVERED"
    #: Every attempt failed (or the endpoint was disabled): the dead-letter list.
    DEAD = "DEAD"


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint: unique per (event, endpoint), retried until 2xx or DEAD."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_delivery_event_endpoint"),
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id", index=True)
    event_id: uuid.UUID
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    #: The body sent: ``event_id``, ``type``, ``occurred_at`` and ``data`` (the visitor
    #: reduced to their name, as in the provider's e-mails).
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    status: str = Field(
        default=DeliveryStatus.PENDING, sa_column=Column(String(16), nullable=False)
    )
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    delivered_at: datetime | None = Field(default=None, sa_type=Timestamp())
    trace_headers: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


__all__ = [
    "Activity",
    "BookingNotices",
    "DeliveryStatus",
    "DigestEntry",
    "InboxMessage",
    "MailStatus",
    "OutboxMessage",
    "OutgoingMail",
    "Provider",
    "ProviderPreference",
    "RecipientKind",
    "Reservation",
    "WaitingNotice",
    "WebhookDelivery",
    "WebhookEndpoint",
]
