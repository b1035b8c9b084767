"""Request and response bodies of the booking API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from comptoir_common.events.v1 import Locale

UnitId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitQuantity(Strict):
    id: UnitId
    quantity: int = Field(ge=1, le=50)


class VisitorIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr
    locale: Locale = "fr"

    @field_validator("name")
    @classmethod
    def _single_line(cls, value: str) -> str:
        if any(c in value for c in "\r\n\t") or not value.strip():
            raise ValueError("a name is one line of text")
        return value.strip()


class ReservationIn(Strict):
    slot_id: uuid.UUID
    units: list[UnitQuantity] = Field(min_length=1, max_length=8)
    visitor: VisitorIn


class UnitLineOut(BaseModel):
    id: str
    quantity: int
    unit_price_cents: int


class ReservationPublic(BaseModel):
    id: uuid.UUID
    status: str
    slot_id: uuid.UUID
    activity_id: uuid.UUID
    provider_id: uuid.UUID
    units: list[UnitLineOut]
    seats: int
    total_cents: int
    currency: str
    expires_at: datetime
    created_at: datetime
    status_reason: str | None = None
    visitor: dict[str, str]


class ReservationCreated(ReservationPublic):
    visitor_token: str = Field(description="Bearer token that opens this reservation only")


class Availability(BaseModel):
    slot_id: uuid.UUID
    capacity: int
    on_hold: int
    confirmed: int
    remaining: int
    status: Literal["AVAILABLE", "LIMITED", "SOLD_OUT", "CLOSED"]
