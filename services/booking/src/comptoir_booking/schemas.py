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


class RefundTierOut(BaseModel):
    hours_before: int
    refund_percent: int


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
    cancellation_policy: list[RefundTierOut] = Field(
        description="Frozen when the reservation was made: cancelled at least hours_before "
        "the start, refund_percent of the price comes back; otherwise nothing."
    )
    refund_cents: int | None = None
    refund_status: Literal["PENDING", "SUCCEEDED", "FAILED"] | None = None
    ticket_code: str | None = Field(
        default=None,
        description="The signed code of the e-ticket (its QR code), once CONFIRMED",
    )
    redeemed_at: datetime | None = Field(default=None, description="When it was checked in")
    redeemed_by: str | None = Field(default=None, description="Who checked it in")


class ReservationCreated(ReservationPublic):
    visitor_token: str = Field(description="Bearer token that opens this reservation only")


AvailabilityStatus = Literal["AVAILABLE", "LIMITED", "SOLD_OUT", "CLOSED"]


class Availability(BaseModel):
    slot_id: uuid.UUID
    capacity: int
    on_hold: int
    confirmed: int
    remaining: int
    status: AvailabilityStatus = Field(
        description="AVAILABLE; LIMITED under half the seats left; SOLD_OUT; CLOSED when "
        "the slot is closed, cancelled or past its booking cutoff, or its activity cannot "
        "be booked"
    )
    bookable: bool = Field(
        default=True,
        description="False while the provider cannot take payments (its Stripe account is "
        "not ready): no hold can be placed then",
    )
    not_bookable_reason: str | None = Field(
        default=None, description="Why not, in words for the office and the provider"
    )


class CalendarSlot(Availability):
    start: datetime
    duration_minutes: int


class Calendar(BaseModel):
    activity_id: uuid.UUID
    start_from: datetime = Field(serialization_alias="from")
    until: datetime = Field(serialization_alias="to")
    slots: list[CalendarSlot]


Note = Annotated[str, Field(max_length=500)]


class CancelIn(Strict):
    note: Note | None = Field(default=None, description="Shown to the visitor")


class SlotCancellationOut(BaseModel):
    slot_id: uuid.UUID
    status: Literal["CANCELLED"] = "CANCELLED"
    reservations_cancelled: int
    holds_released: int
    refunds_cents: int
    waitlist_cancelled: int


class RebookIn(Strict):
    slot_id: uuid.UUID


class WaitlistIn(Strict):
    units: list[UnitQuantity] = Field(min_length=1, max_length=8)
    visitor: VisitorIn


class WaitlistEntryOut(BaseModel):
    id: uuid.UUID
    slot_id: uuid.UUID
    status: Literal["WAITING", "OFFERED", "BOOKED", "LAPSED", "LEFT", "CANCELLED"]
    position: int = Field(description="1 is next in line; 0 once no longer waiting")
    seats: int
    reservation_id: uuid.UUID | None = Field(
        description="The hold offered to this visitor, once seats freed up"
    )
    created_at: datetime


class WaitlistJoined(WaitlistEntryOut):
    visitor_token: str = Field(description="Opens this place on the waitlist only")


class CheckInIn(Strict):
    code: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="The ticket code, as scanned from the QR code or typed (any case, "
        "dashes and spaces optional)"
    )


class CheckInOut(BaseModel):
    reservation_id: uuid.UUID
    slot_id: uuid.UUID
    activity_id: uuid.UUID
    status: Literal["REDEEMED"] = "REDEEMED"
    seats: int
    units: list[UnitLineOut]
    visitor_name: str
    redeemed_at: datetime
    redeemed_by: str


class CheckedIn(BaseModel):
    reservation_id: uuid.UUID
    seats: int
    redeemed_at: datetime
    redeemed_by: str


class SlotCheckIns(BaseModel):
    slot_id: uuid.UUID
    seats_expected: int = Field(description="Seats of the slot's confirmed reservations")
    seats_checked_in: int
    check_ins: list[CheckedIn]
