"""Catalog tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from comptoir_catalog.domain import Bookability, bookability
from comptoir_common.db import Timestamp, utcnow
from comptoir_common.inbox import InboxMessage
from comptoir_common.outbox import OutboxMessage

#: Free cancellation until 24 hours before: what rows made before policies existed get.
DEFAULT_POLICY = '[{"hours_before": 24, "refund_percent": 100}]'


class Territory(SQLModel, table=True):
    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=200)
    currency: str = Field(max_length=3)
    fee_rate_bps: int = 0
    timezone: str = Field(default="Europe/Paris", max_length=64)
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class Provider(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    territory_id: uuid.UUID = Field(foreign_key="territory.id", index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    #: The provider's Stripe account as payments last reported it (none: not onboarded).
    stripe_account_id: str | None = Field(default=None, max_length=255)
    charges_enabled: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    payouts_enabled: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    details_submitted: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    payment_disabled_reason: str | None = Field(default=None, max_length=255)
    requirements_due: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )

    def bookability(self) -> Bookability:
        return bookability(
            has_stripe_account=self.stripe_account_id is not None,
            charges_enabled=self.charges_enabled,
            details_submitted=self.details_submitted,
            disabled_reason=self.payment_disabled_reason,
            requirements_due=self.requirements_due,
        )

    @property
    def bookable(self) -> bool:
        return self.bookability().bookable

    @property
    def not_bookable_reason(self) -> str | None:
        return self.bookability().reason


class Activity(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    territory_id: uuid.UUID = Field(foreign_key="territory.id", index=True)
    provider_id: uuid.UUID = Field(foreign_key="provider.id", index=True)
    title: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    description: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    category: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    commune: str = Field(sa_column=Column(String(120), nullable=False, index=True))
    currency: str = Field(max_length=3)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    meeting_point: str | None = Field(default=None, max_length=500)
    what_to_bring: str | None = Field(default=None, max_length=500)
    units: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    min_units: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    max_units: int = Field(default=20, sa_column_kwargs={"server_default": "20"})
    cutoff_minutes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    cancellation_policy: list[dict[str, int]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=DEFAULT_POLICY),
    )
    #: ``[{"url": ..., "alt": {"fr": ..., "en": ...}}]``, shown in this order; catalog's own
    #: (booking and notifications do not need them, so they stay out of its events).
    photos: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    #: Whether visitors can book it now (its provider's Stripe account takes payments).
    bookable: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    not_bookable_reason: str | None = Field(default=None, max_length=500)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class Slot(SQLModel, table=True):
    __table_args__ = (Index("ix_slot_activity_start", "activity_id", "start"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    activity_id: uuid.UUID = Field(foreign_key="activity.id")
    provider_id: uuid.UUID = Field(foreign_key="provider.id")
    territory_id: uuid.UUID = Field(foreign_key="territory.id", index=True)
    start: datetime = Field(sa_type=Timestamp())
    duration_minutes: int
    capacity: int
    #: OPEN, CLOSED (no new sales) or CANCELLED (the departure is off, as booking reports).
    status: str = Field(default="OPEN", max_length=16)
    version: int = 1
    #: Seats still free, as booking last reported them (booking is the authority).
    remaining: int
    #: Seats held or confirmed, as booking last reported them: what a new capacity or a
    #: reopening leaves for sale until booking reports again.
    seats_taken: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    availability_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


__all__ = ["Activity", "InboxMessage", "OutboxMessage", "Provider", "Slot", "Territory"]
