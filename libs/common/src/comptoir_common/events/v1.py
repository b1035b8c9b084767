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


UnitType = Literal["ADULT", "CHILD", "YOUTH", "INFANT", "FAMILY", "SENIOR", "STUDENT", "OTHER"]


class UnitPrice(BaseModel):
    """A ticket unit of an activity (OCTO unit types); ``seats`` it takes (FAMILY: 4)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    price_cents: Cents
    type: UnitType = "OTHER"
    seats: int = Field(default=1, ge=0, le=20)


class RefundTier(BaseModel):
    """Cancelled at least ``hours_before`` the start: ``refund_percent`` of the price back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours_before: int = Field(ge=0, le=24 * 365)
    refund_percent: int = Field(ge=0, le=100)


#: Unless an activity says otherwise: free cancellation until 24 hours before.
DEFAULT_CANCELLATION_POLICY: tuple[RefundTier, ...] = (
    RefundTier(hours_before=24, refund_percent=100),
)


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
    #: What visitors should bring (free text of the provider or the office), if said.
    what_to_bring: str | None = None
    min_units: int = 1
    max_units: int = 20
    #: Bookings close this many minutes before a slot starts.
    cutoff_minutes: int = 0
    cancellation_policy: list[RefundTier] = Field(
        default_factory=lambda: list(DEFAULT_CANCELLATION_POLICY)
    )
    #: Whether visitors can book it now: false while its provider cannot take card
    #: payments on Stripe (``not_bookable_reason`` says why, in words for the office).
    bookable: bool = True
    not_bookable_reason: str | None = None


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
    slot_duration_minutes: int | None = None
    #: Signed by booking; shown as a QR code on the e-ticket and checked at the door.
    ticket_code: str | None = None
    cancellation_policy: list[RefundTier] | None = None
    #: The tourism office's fee taken from the visitor's payment (0 unless the territory
    #: set one); the provider receives ``total_cents`` minus it, and is told so.
    application_fee_cents: Cents = 0


class ReservationRedeemed(_ReservationFacts):
    event_type = "booking.redeemed.v1"
    description = "The visitor was checked in: the ticket has been used."

    redeemed_at: AwareDatetime
    #: Who scanned it (a provider or office subject), never the visitor's data.
    redeemed_by: str


CancellationReason = Literal[
    "VISITOR", "PROVIDER", "OFFICE", "NO_SEATS_AFTER_LATE_PAYMENT", "SLOT_CANCELLED"
]


class ReservationCancelled(_ReservationFacts):
    event_type = "booking.cancelled.v1"
    description = "A paid reservation was cancelled; refund_cents of the payment go back."

    reason: CancellationReason
    refund_cents: Cents
    currency: Currency
    visitor: Visitor
    #: What the visitor paid, and the share of it the cancellation policy gives back.
    total_cents: Cents | None = None
    refund_percent: int | None = None
    slot_start: AwareDatetime | None = None
    #: Free text from the provider or the office (a storm on the lake...).
    note: str | None = None


class ReservationRebooked(_ReservationFacts):
    event_type = "booking.rebooked.v1"
    description = "A confirmed reservation moved to another slot of the same activity."

    from_slot_id: uuid.UUID
    from_slot_start: AwareDatetime
    slot_start: AwareDatetime
    activity_title: Localized
    units: list[UnitLine]
    visitor: Visitor


class SlotCancelled(EventPayload):
    event_type = "booking.slot-cancelled.v1"
    aggregate_field = "slot_id"
    description = "A departure was cancelled (weather...): every reservation on it too."

    slot_id: uuid.UUID
    activity_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    slot_start: AwareDatetime
    cancelled_by: Literal["PROVIDER", "OFFICE"]
    note: str | None = None
    reservations_cancelled: int


class WaitlistOfferMade(_ReservationFacts):
    event_type = "booking.waitlist-offered.v1"
    description = "Seats freed up: the next visitor on the waitlist is offered a hold."

    waitlist_entry_id: uuid.UUID
    slot_start: AwareDatetime
    activity_title: Localized
    units: list[UnitLine]
    total_cents: Cents
    currency: Currency
    expires_at: AwareDatetime
    visitor: Visitor
    #: Opens the offered reservation (and only it) so the visitor can pay or decline.
    visitor_token: str


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


class RefundUpdated(EventPayload):
    event_type = "payments.refund-updated.v1"
    aggregate_field = "reservation_id"
    description = "A refund of a reservation's payment was requested, succeeded or failed."

    reservation_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    refund_id: str | None = None
    amount_cents: Cents
    currency: Currency
    status: Literal["PENDING", "SUCCEEDED", "FAILED"]
    failure_reason: str | None = None


class PayoutUpdated(EventPayload):
    event_type = "payments.payout-updated.v1"
    aggregate_field = "payout_id"
    description = "Stripe paid out (or failed to pay out) a provider's balance to their bank."

    payout_id: str
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    amount_cents: Cents
    currency: Currency
    status: Literal["PAID", "FAILED"]
    arrival_date: AwareDatetime | None = None
    failure_reason: str | None = None


class DisputeUpdated(EventPayload):
    event_type = "payments.dispute-updated.v1"
    aggregate_field = "reservation_id"
    description = (
        "A visitor's bank disputed a reservation's payment, or the dispute moved on "
        "(evidence under review, won, lost)."
    )

    dispute_id: str
    reservation_id: uuid.UUID
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    amount_cents: Cents
    currency: Currency
    #: Stripe's reason (``fraudulent``, ``product_not_received``...).
    reason: str
    #: Stripe's status: ``needs_response``, ``under_review``, ``won``, ``lost``...
    status: str
    #: The disputed amount is out of the provider's Stripe balance (until a win).
    funds_withdrawn: bool
    evidence_due_by: AwareDatetime | None = None


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
    #: Stripe's ``requirements.disabled_reason`` (``requirements.past_due``...), if any.
    disabled_reason: str | None = None
    #: What Stripe still needs from the provider (``currently_due`` and ``past_due``).
    requirements_due: list[str] = Field(default_factory=list)


CONTRACTS: tuple[type[EventPayload], ...] = (
    TerritoryUpdated,
    ProviderUpdated,
    ActivityUpdated,
    SlotUpdated,
    HoldPlaced,
    HoldReleased,
    ReservationConfirmed,
    ReservationCancelled,
    ReservationRebooked,
    ReservationRedeemed,
    SlotCancelled,
    WaitlistOfferMade,
    SlotAvailabilityChanged,
    PaymentSucceeded,
    PaymentFailed,
    RefundUpdated,
    PayoutUpdated,
    ProviderAccountUpdated,
    DisputeUpdated,
)
