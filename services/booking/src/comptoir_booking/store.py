"""Booking tables: its own projection of catalog's activities and slots, and reservations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from comptoir_common.db import Timestamp, utcnow
from comptoir_common.inbox import InboxMessage
from comptoir_common.outbox import OutboxMessage

#: Free cancellation until 24 hours before: what rows made before policies existed get.
DEFAULT_POLICY = '[{"hours_before": 24, "refund_percent": 100}]'


class Activity(SQLModel, table=True):
    """What booking needs of a catalog activity: who sells it, at what prices, and what and
    where it is (category, commune) for the office's figures."""

    id: uuid.UUID = Field(primary_key=True)
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    version: int
    title: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    currency: str = Field(max_length=3)
    timezone: str = Field(max_length=64)
    units: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    min_units: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    max_units: int = Field(default=20, sa_column_kwargs={"server_default": "20"})
    cutoff_minutes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    cancellation_policy: list[dict[str, int]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=DEFAULT_POLICY)
    )
    #: False while the provider's Stripe account cannot take card payments (catalog says
    #: so, and why): no hold, rebooking or waitlist offer on it then.
    bookable: bool = Field(default=True, sa_column_kwargs={"server_default": "true"})
    not_bookable_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: The catalog's category and commune, for the observatory's figures. NULL only for
    #: activities projected before booking kept them, until catalog speaks of them again.
    category: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    commune: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))


class Slot(SQLModel, table=True):
    """A slot's capacity (from catalog) and its seats held and confirmed (booking's own).

    The check constraint is the last line of defence against overselling; the guarded
    ``UPDATE``s in ``service.py`` (the hold statement, ``take_seats``) are the first.
    """

    __table_args__ = (
        CheckConstraint("held >= 0 AND confirmed >= 0", name="seats_not_negative"),
        CheckConstraint("held + confirmed <= capacity OR capacity_lowered", name="no_oversell"),
    )

    id: uuid.UUID = Field(primary_key=True)
    activity_id: uuid.UUID = Field(index=True)
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    version: int
    start: datetime = Field(sa_type=Timestamp())
    duration_minutes: int
    capacity: int
    #: OPEN or CLOSED as catalog says; CANCELLED once booking cancelled the departure.
    status: str = Field(default="OPEN", max_length=16)
    held: int = 0
    confirmed: int = 0
    #: Set when catalog lowered capacity below seats already sold: nothing new is sold.
    capacity_lowered: bool = False
    #: Grows with every seat change; availability events publish up to it.
    availability_version: int = 0
    availability_published_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: W3C trace context of the latest seat change: the availability event continues it.
    availability_trace: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )


class Reservation(SQLModel, table=True):
    __table_args__ = (
        Index("ix_reservation_hold_expiry", "expires_at", postgresql_where="status = 'ON_HOLD'"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    slot_id: uuid.UUID = Field(foreign_key="slot.id", index=True)
    activity_id: uuid.UUID
    provider_id: uuid.UUID = Field(index=True)
    territory_id: uuid.UUID = Field(index=True)
    status: str = Field(sa_column=Column(String(16), nullable=False))
    units: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    seats: int
    total_cents: int
    currency: str = Field(max_length=3)
    expires_at: datetime = Field(sa_type=Timestamp())
    visitor_name: str = Field(max_length=200)
    visitor_email: str = Field(max_length=320)
    visitor_locale: str = Field(max_length=8)
    #: W3C trace context of the request that created it: later events continue its trace.
    trace_headers: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    status_reason: str | None = Field(default=None, max_length=64)
    #: The activity's cancellation policy when the reservation was made: later changes
    #: to the policy never apply to it.
    cancellation_policy: list[dict[str, int]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=DEFAULT_POLICY)
    )
    refund_cents: int | None = None
    #: PENDING, SUCCEEDED or FAILED, as payments reports it.
    refund_status: str | None = Field(default=None, max_length=16)
    #: Set when the hold was offered to someone on the slot's waitlist.
    waitlist_entry_id: uuid.UUID | None = None
    #: When the visitor was checked in (REDEEMED), and by whom (token subject).
    redeemed_at: datetime | None = Field(default=None, sa_type=Timestamp())
    redeemed_by: str | None = Field(default=None, max_length=200)


class WaitlistEntry(SQLModel, table=True):
    """A visitor waiting for seats on a sold-out slot, first come, first offered."""

    __table_args__ = (
        Index(
            "ix_waitlist_slot_waiting",
            "slot_id",
            "created_at",
            postgresql_where="status = 'WAITING'",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    slot_id: uuid.UUID = Field(foreign_key="slot.id")
    activity_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    #: WAITING, OFFERED (a hold was made for them), BOOKED, LAPSED (the offer ran
    #: out), LEFT (they left the list) or CANCELLED (the departure was cancelled).
    status: str = Field(default="WAITING", max_length=16)
    units: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    seats: int
    visitor_name: str = Field(max_length=200)
    visitor_email: str = Field(max_length=320)
    visitor_locale: str = Field(max_length=8)
    reservation_id: uuid.UUID | None = None
    trace_headers: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


__all__ = ["Activity", "InboxMessage", "OutboxMessage", "Reservation", "Slot", "WaitlistEntry"]
