"""Request and response bodies of the catalog API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from zoneinfo import available_timezones

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from comptoir_common.events.v1 import UnitType
from comptoir_common.money import Cents, Currency

Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=5000)]
UnitId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]

_ZONES = available_timezones()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TerritoryIn(Strict):
    name: Text
    currency: Currency = "EUR"
    fee_rate_bps: int = Field(default=0, ge=0, le=10_000, description="Office fee, basis points")
    timezone: str = "Europe/Paris"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _ZONES:
            raise ValueError("unknown IANA time zone")
        return value


class TerritoryPublic(BaseModel):
    id: uuid.UUID
    name: str
    currency: str
    fee_rate_bps: int
    timezone: str


class ProviderIn(Strict):
    name: Text
    email: EmailStr


class ProviderPublic(BaseModel):
    id: uuid.UUID
    territory_id: uuid.UUID
    name: str
    email: str
    created_at: datetime
    #: Its Stripe account takes card payments (as payments last reported).
    charges_enabled: bool = False
    payouts_enabled: bool = False
    #: Whether visitors can book its activities now, and why not in words.
    bookable: bool = False
    not_bookable_reason: str | None = None


class LocalizedText(Strict):
    fr: Text
    en: Text


class LocalizedLongText(Strict):
    fr: LongText
    en: LongText


OCTO_TYPES = ("ADULT", "CHILD", "YOUTH", "INFANT", "FAMILY", "SENIOR", "STUDENT", "OTHER")


class UnitIn(Strict):
    id: UnitId
    price_cents: Cents
    type: UnitType | None = Field(
        default=None, description="OCTO unit type; by default from the id (adult: ADULT)"
    )
    seats: int = Field(default=1, ge=0, le=20, description="Seats one ticket takes (FAMILY: 4)")

    @model_validator(mode="after")
    def _default_type(self) -> UnitIn:
        if self.type is None:
            guess = self.id.upper()
            self.type = guess if guess in OCTO_TYPES else "OTHER"  # type: ignore[assignment]
        return self


class RefundTierIn(Strict):
    hours_before: int = Field(ge=0, le=24 * 365)
    refund_percent: int = Field(ge=0, le=100)


class ActivityIn(Strict):
    provider_id: uuid.UUID
    title: LocalizedText
    description: LocalizedLongText
    category: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
    commune: Text
    currency: Currency
    units: list[UnitIn] = Field(min_length=1, max_length=8)
    meeting_point: Annotated[str, Field(max_length=500)] | None = None
    what_to_bring: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, description="What visitors bring (shoes, water...), shown in their mails"
    )
    min_units: int = Field(default=1, ge=1, le=100, description="Tickets per reservation, at least")
    max_units: int = Field(default=20, ge=1, le=100, description="Tickets per reservation, at most")
    cutoff_minutes: int = Field(
        default=0, ge=0, le=14 * 24 * 60, description="Bookings close this long before the start"
    )
    cancellation_policy: list[RefundTierIn] = Field(
        default_factory=lambda: [RefundTierIn(hours_before=24, refund_percent=100)],
        max_length=10,
        description="Cancelled at least hours_before the start gives refund_percent back; "
        "the most generous tier that applies wins; none: no refund. "
        "Default: free cancellation until 24 hours before.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> ActivityIn:
        if self.min_units > self.max_units:
            raise ValueError("min_units cannot exceed max_units")
        hours = [t.hours_before for t in self.cancellation_policy]
        if len(hours) != len(set(hours)):
            raise ValueError("each cancellation tier needs its own hours_before")
        return self

    @field_validator("units")
    @classmethod
    def _unique_units(cls, units: list[UnitIn]) -> list[UnitIn]:
        ids = [u.id for u in units]
        if len(ids) != len(set(ids)):
            raise ValueError("unit ids must be unique")
        return units


class ActivityPublic(BaseModel):
    id: uuid.UUID
    territory_id: uuid.UUID
    provider_id: uuid.UUID
    title: dict[str, str]
    description: dict[str, str]
    category: str
    commune: str
    currency: str
    timezone: str
    meeting_point: str | None
    what_to_bring: str | None
    units: list[UnitIn]
    min_units: int
    max_units: int
    cutoff_minutes: int
    cancellation_policy: list[RefundTierIn]
    #: Whether visitors can book it now (its provider's Stripe account takes payments);
    #: ``not_bookable_reason`` says why not, in words.
    bookable: bool = False
    not_bookable_reason: str | None = None


class SlotIn(Strict):
    start: AwareDatetime
    duration_minutes: int = Field(ge=5, le=24 * 60)
    capacity: int = Field(ge=1, le=10_000)


class SlotPublic(BaseModel):
    id: uuid.UUID
    activity_id: uuid.UUID
    start: datetime
    duration_minutes: int
    capacity: int
    remaining: int
    status: str


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
