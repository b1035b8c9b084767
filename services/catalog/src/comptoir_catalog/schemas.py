"""Request and response bodies of the catalog API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from zoneinfo import available_timezones

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, field_validator

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


class LocalizedText(Strict):
    fr: Text
    en: Text


class LocalizedLongText(Strict):
    fr: LongText
    en: LongText


class UnitIn(Strict):
    id: UnitId
    price_cents: Cents


class ActivityIn(Strict):
    provider_id: uuid.UUID
    title: LocalizedText
    description: LocalizedLongText
    category: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
    commune: Text
    currency: Currency
    units: list[UnitIn] = Field(min_length=1, max_length=8)
    meeting_point: Annotated[str, Field(max_length=500)] | None = None

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
    units: list[UnitIn]


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
