"""Request and response bodies of the catalog API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
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


def _unique_unit_ids(units: list[UnitIn]) -> list[UnitIn]:
    ids = [u.id for u in units]
    if len(ids) != len(set(ids)):
        raise ValueError("unit ids must be unique")
    return units


def _distinct_tiers(tiers: list[RefundTierIn]) -> list[RefundTierIn]:
    hours = [t.hours_before for t in tiers]
    if len(hours) != len(set(hours)):
        raise ValueError("each cancellation tier needs its own hours_before")
    return tiers


Category = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
Units = Annotated[list[UnitIn], Field(min_length=1, max_length=8), AfterValidator(_unique_unit_ids)]
Note = Annotated[str, Field(max_length=500)]
UnitsPerReservation = Annotated[int, Field(ge=1, le=100)]
CutoffMinutes = Annotated[
    int,
    Field(ge=0, le=14 * 24 * 60, description="Bookings close this long before the start"),
]
CancellationPolicy = Annotated[
    list[RefundTierIn],
    Field(
        max_length=10,
        description="Cancelled at least hours_before the start gives refund_percent back; "
        "the most generous tier that applies wins; none: no refund. "
        "Default: free cancellation until 24 hours before.",
    ),
    AfterValidator(_distinct_tiers),
]

#: Where the storefront's own images are served from (``services/web`` static files).
STOREFRONT_STATIC = "/static/"
MAX_PHOTOS = 8


def _photo_url(url: str) -> str:
    """An image the storefront can show without trusting arbitrary schemes: an absolute
    ``https://`` address, or one of the storefront's own files under ``/static/``."""
    if any(c.isspace() or not c.isprintable() or c in "\\\"'<>" for c in url):
        raise ValueError("a photo url cannot contain spaces, quotes, angle brackets or backslashes")
    if url.startswith(STOREFRONT_STATIC):
        if ".." in url.split("?")[0].split("/"):
            raise ValueError("a /static/ photo path cannot contain '..'")
        if len(url) == len(STOREFRONT_STATIC):
            raise ValueError("a /static/ photo path must name a file")
        return url
    if url.startswith("https://"):
        if not urlsplit(url).hostname:
            raise ValueError("an https:// photo url needs a host name")
        return url
    raise ValueError(
        "a photo url must be an absolute https:// address "
        "or a storefront path starting with /static/"
    )


PhotoUrl = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_photo_url)]


class Photo(Strict):
    """A picture of the activity, with the words that describe it to who cannot see it."""

    url: PhotoUrl
    alt: LocalizedText


Photos = Annotated[
    list[Photo],
    Field(max_length=MAX_PHOTOS, description=f"At most {MAX_PHOTOS}; the first one leads"),
]


class ActivityIn(Strict):
    provider_id: uuid.UUID
    title: LocalizedText
    description: LocalizedLongText
    category: Category
    commune: Text
    currency: Currency
    units: Units
    meeting_point: Note | None = None
    what_to_bring: Note | None = Field(
        default=None, description="What visitors bring (shoes, water...), shown in their mails"
    )
    min_units: UnitsPerReservation = Field(
        default=1, description="Tickets per reservation, at least"
    )
    max_units: UnitsPerReservation = Field(
        default=20, description="Tickets per reservation, at most"
    )
    cutoff_minutes: CutoffMinutes = 0
    cancellation_policy: CancellationPolicy = Field(
        default_factory=lambda: [RefundTierIn(hours_before=24, refund_percent=100)]
    )
    photos: Photos = Field(default_factory=list)

    @model_validator(mode="after")
    def _coherent(self) -> ActivityIn:
        if self.min_units > self.max_units:
            raise ValueError("min_units cannot exceed max_units")
        return self


#: What a patch may leave out but never set to null (``meeting_point`` and
#: ``what_to_bring`` can be cleared with null: an activity may have neither).
NOT_NULLABLE = (
    "title",
    "description",
    "category",
    "commune",
    "units",
    "min_units",
    "max_units",
    "cutoff_minutes",
    "cancellation_policy",
    "photos",
)


class ActivityPatch(Strict):
    """Any subset of an activity's fields but its provider and currency (those would make
    it another offer: publish a new activity instead). The fields sent replace the held
    ones whole (a list of units or photos is replaced, not merged); the result must pass
    every rule of a new activity."""

    title: LocalizedText | None = None
    description: LocalizedLongText | None = None
    category: Category | None = None
    commune: Text | None = None
    units: Units | None = None
    meeting_point: Note | None = None
    what_to_bring: Note | None = None
    min_units: UnitsPerReservation | None = None
    max_units: UnitsPerReservation | None = None
    cutoff_minutes: CutoffMinutes | None = None
    cancellation_policy: CancellationPolicy | None = None
    photos: Photos | None = None

    @field_validator(*NOT_NULLABLE, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields sent (whole, nested defaults included), as the activity stores them."""
        return self.model_dump(include=self.model_fields_set)


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
    photos: list[Photo] = []
    #: Grows by one on every change (the version of its ``catalog.activity-updated.v1``).
    version: int = 1
    #: Whether visitors can book it now (its provider's Stripe account takes payments);
    #: ``not_bookable_reason`` says why not, in words.
    bookable: bool = False
    not_bookable_reason: str | None = None


class SlotIn(Strict):
    start: AwareDatetime
    duration_minutes: int = Field(ge=5, le=24 * 60)
    capacity: int = Field(ge=1, le=10_000)


class SlotPatch(Strict):
    """What a provider or its office may change on a scheduled slot. Lowering the
    capacity below the seats already sold cancels nobody: booking stops selling it."""

    capacity: int | None = Field(default=None, ge=0, le=10_000)
    status: Literal["OPEN", "CLOSED"] | None = Field(
        default=None, description="CLOSED: no new sales (reservations made stay valid)"
    )

    @field_validator("capacity", "status", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value


class SlotPublic(BaseModel):
    id: uuid.UUID
    activity_id: uuid.UUID
    start: datetime
    duration_minutes: int
    capacity: int
    #: Seats still for sale, as booking last reported them (0 unless OPEN).
    remaining: int
    #: OPEN, CLOSED (no new sales) or CANCELLED (the departure is off).
    status: str
    version: int = 1


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
