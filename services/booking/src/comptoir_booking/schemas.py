"""Request and response bodies of the booking API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from comptoir_common.events.v1 import Locale, Localized

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
    slot_start: datetime = Field(description="When the slot it is on starts (UTC)")
    activity_title: Localized = Field(description="The activity's title, in French and English")


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


SlotStatus = Literal["OPEN", "CLOSED", "CANCELLED"]


class AgendaSlot(BaseModel):
    """One departure on a provider's or an office's board, with its seats and bookings."""

    slot_id: uuid.UUID
    activity_id: uuid.UUID
    provider_id: uuid.UUID
    activity_title: Localized | None = Field(
        description="Null only while booking has not yet heard of the slot's activity"
    )
    start: datetime
    duration_minutes: int
    timezone: str | None = Field(description="The activity's time zone (IANA), to show local time")
    capacity: int
    on_hold: int = Field(description="Seats held by visitors who have not paid yet")
    confirmed: int = Field(
        description="Seats sold (confirmed and checked-in reservations), as the availability "
        "endpoint counts them"
    )
    checked_in: int = Field(description="Seats of the reservations checked in (REDEEMED)")
    remaining: int
    reservations: int = Field(description="Number of confirmed and checked-in reservations")
    status: SlotStatus = Field(
        description="OPEN or CLOSED as catalog says; CANCELLED once the departure was cancelled"
    )
    availability: AvailabilityStatus = Field(
        description="What visitors see, as `status` of the availability endpoint"
    )


class Figures(BaseModel):
    """Figures over the departures of a period (cancelled departures apart)."""

    slots: int = Field(description="Departures not cancelled")
    capacity: int = Field(description="Seats offered on them")
    seats_sold: int = Field(description="Seats of confirmed and checked-in reservations")
    fill_rate: float = Field(description="seats_sold / capacity, 4 decimals; 0 without capacity")
    bookings: int = Field(description="Confirmed and checked-in reservations")
    cancelled_departures: int


class ObservatoryTotals(Figures):
    cancelled_reservations: int = Field(
        description="Reservations cancelled after payment (by the visitor, the provider, the "
        "office or with their departure); holds let go before payment are not counted"
    )
    checked_in: int = Field(description="Seats checked in")
    revenue_cents: int = Field(description="Total price of confirmed and checked-in reservations")
    currency: str | None = Field(description="The territory's currency; null if none is known yet")


class WeekFigures(Figures):
    week: str = Field(description="ISO week, like 2026-W48", examples=["2026-W48"])
    week_start: date = Field(description="Its Monday")


class CategoryFigures(Figures):
    category: str | None = Field(description="Null for activities not described again since")


class CommuneFigures(Figures):
    commune: str | None = Field(description="Null for activities not described again since")


LeadTimeLabel = Literal["same day", "1-6 days", "1-4 weeks", "over 4 weeks"]


class LeadTimeBucket(BaseModel):
    label: LeadTimeLabel
    bookings: int


class LeadTime(BaseModel):
    median_hours: float | None = Field(
        description="Median time from booking to departure in hours (1 decimal); null "
        "without bookings"
    )
    buckets: list[LeadTimeBucket] = Field(
        description="same day: under 24 h; 1-6 days: under 7 days; 1-4 weeks: under 28 "
        "days; over 4 weeks: the rest. Always the four, in this order"
    )


class Observatory(BaseModel):
    territory_id: uuid.UUID
    provider_id: uuid.UUID | None = Field(
        description="Set when the figures are limited to one provider's departures (a "
        "provider token)"
    )
    start_from: date = Field(serialization_alias="from")
    until: date = Field(serialization_alias="to")
    totals: ObservatoryTotals
    by_week: list[WeekFigures]
    by_category: list[CategoryFigures]
    by_commune: list[CommuneFigures]
    lead_time: LeadTime
