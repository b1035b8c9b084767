"""Version 1 of the event contracts.

A contract only ever gains optional fields within a major version; anything else is a
new module (``v2``) and new topics (``...v2``), published side by side until every
consumer has moved.

Catalog events carry the whole current state of their aggregate with a ``version``
that grows by one on every change, so a projection applies an event only when it is
newer than what it holds: redelivered or reordered events change nothing.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from comptoir_common.events.envelope import EventPayload
from comptoir_common.money import Cents, Currency

Locale = Literal["fr", "en"]


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fr: str
    en: str


class UnitPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    price_cents: Cents


class UnitLine(BaseModel):
    """One line of a reservation: a ticket unit, how many, at what price each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    quantity: int = Field(ge=1)
    unit_price_cents: Cents


class Visitor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    email: EmailStr
    locale: Locale


# --- catalog ---------------------------------------------------------------------------


class TerritoryUpdated(EventPayload):
    event_type = "catalog.territory-updated.v1"
    aggregate_field = "territory_id"
    description = "A territory was created or changed (name, currency, office fee)."

    territory_id: uuid.UUID
    version: int
    name: str
    currency: Currency
    fee_rate_bps: int = Field(ge=0, le=10_000)
    timezone: str


class ProviderUpdated(EventPayload):
    event_type = "catalog.provider-updated.v1"
    aggregate_field = "provider_id"
    description = "A provider joined a territory or changed its details."

    provider_id: uuid.UUID
    territory_id: uuid.UUID
    version: int
    name: str
    email: EmailStr


class ActivityUpdated(EventPayload):
    event_type = "catalog.activity-updated.v1"
    aggregate_field = "activity_id"
    description = "An activity was published or changed (titles, ticket units and prices)."

    activity_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    version: int
    title: Localized
    category: str
    commune: str
    currency: Currency
    timezone: str
    units: list[UnitPrice]
    meeting_point: str | None = None


class SlotUpdated(EventPayload):
    event_type = "catalog.slot-updated.v1"
    aggregate_field = "slot_id"
    description = "A time slot of an activity was scheduled or changed."

    slot_id: uuid.UUID
    activity_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    version: int
    start: AwareDatetime
    duration_minutes: int
    capacity: int = Field(ge=0)
    status: Literal["OPEN", "CLOSED"] = "OPEN"


# --- booking ---------------------------------------------------------------------------


class _ReservationFacts(EventPayload):
    aggregate_field = "reservation_id"

    reservation_id: uuid.UUID
    slot_id: uuid.UUID
    activity_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID


class HoldPlaced(_ReservationFacts):
    event_type = "booking.hold-placed.v1"
    description = "Seats are held for a visitor until expires_at, awaiting payment."

    slot_start: AwareDatetime
    activity_title: Localized
    units: list[UnitLine]
    total_cents: Cents
    currency: Currency
    expires_at: AwareDatetime
    visitor: Visitor


class HoldReleased(_ReservationFacts):
    event_type = "booking.hold-released.v1"
    description = "A hold ended without a booking; its seats are free again."

    reason: Literal["EXPIRED", "PAYMENT_FAILED", "CANCELLED"]


class ReservationConfirmed(_ReservationFacts):
    event_type = "booking.confirmed.v1"
    description = "A reservation is paid and its seats are the visitor's."

    slot_start: AwareDatetime
    activity_title: Localized
    units: list[UnitLine]
    total_cents: Cents
    currency: Currency
    visitor: Visitor


class ReservationCancelled(_ReservationFacts):
    event_type = "booking.cancelled.v1"
    description = "A reservation was cancelled; refund_cents of the payment go back."

    reason: Literal["VISITOR", "PROVIDER", "OFFICE", "NO_SEATS_AFTER_LATE_PAYMENT"]
    refund_cents: Cents
    currency: Currency
    visitor: Visitor


class SlotAvailabilityChanged(EventPayload):
    event_type = "booking.slot-availability-changed.v1"
    aggregate_field = "slot_id"
    description = "Seats held or confirmed on a slot changed."

    slot_id: uuid.UUID
    activity_id: uuid.UUID
    territory_id: uuid.UUID
    version: int
    capacity: int
    on_hold: int
    confirmed: int
    remaining: int


# --- payments --------------------------------------------------------------------------


class PaymentSucceeded(EventPayload):
    event_type = "payments.payment-succeeded.v1"
    aggregate_field = "reservation_id"
    description = "The visitor's payment for a reservation went through (Stripe-verified)."

    reservation_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    payment_intent_id: str
    amount_cents: Cents
    application_fee_cents: Cents
    currency: Currency


class PaymentFailed(EventPayload):
    event_type = "payments.payment-failed.v1"
    aggregate_field = "reservation_id"
    description = "A reservation's payment failed or could not be started."

    reservation_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    reason: str


class ProviderAccountUpdated(EventPayload):
    event_type = "payments.provider-account-updated.v1"
    aggregate_field = "provider_id"
    description = "A provider's Stripe connected account changed state."

    provider_id: uuid.UUID
    territory_id: uuid.UUID
    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


CONTRACTS: tuple[type[EventPayload], ...] = (
    TerritoryUpdated,
    ProviderUpdated,
    ActivityUpdated,
    SlotUpdated,
    HoldPlaced,
    HoldReleased,
    ReservationConfirmed,
    ReservationCancelled,
    SlotAvailabilityChanged,
    PaymentSucceeded,
    PaymentFailed,
    ProviderAccountUpdated,
)
