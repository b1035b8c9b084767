"""Catalog use cases: one function per command, one transaction each, events via the outbox."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_catalog.domain import seats_for_sale
from comptoir_catalog.schemas import (
    ActivityIn,
    ActivityPatch,
    ProviderIn,
    SlotIn,
    SlotPatch,
    TerritoryIn,
)
from comptoir_catalog.store import Activity, Provider, Slot, Territory
from comptoir_common.auth import Principal
from comptoir_common.events import v1
from comptoir_common.outbox import add_event
from comptoir_common.problems import Problem, not_found

SERVICE = "catalog"

log = logging.getLogger("comptoir.catalog")


def _territory_event(t: Territory) -> v1.TerritoryUpdated:
    return v1.TerritoryUpdated(
        territory_id=t.id,
        version=t.version,
        name=t.name,
        currency=t.currency,
        fee_rate_bps=t.fee_rate_bps,
        timezone=t.timezone,
    )


async def put_territory(
    session: AsyncSession, territory_id: uuid.UUID, data: TerritoryIn
) -> tuple[Territory, bool]:
    territory = await session.get(Territory, territory_id, with_for_update=True)
    created = territory is None
    if territory is None:
        territory = Territory(id=territory_id, **data.model_dump())
        session.add(territory)
    else:
        changed = data.model_dump() != {
            k: getattr(territory, k) for k in ("name", "currency", "fee_rate_bps", "timezone")
        }
        if not changed:
            return territory, False
        for key, value in data.model_dump().items():
            setattr(territory, key, value)
        territory.version += 1
        territory.updated_at = datetime.now(UTC)
    add_event(session, _territory_event(territory), producer=SERVICE, territory_id=territory.id)
    return territory, created


async def territory_of(session: AsyncSession, principal: Principal) -> Territory:
    territory = await session.get(Territory, principal.territory_id)
    if territory is None:
        raise Problem(
            409,
            "This territory is not set up yet: PUT /v1/territories/{id} first.",
            kind="territory-not-set-up",
        )
    return territory


async def register_provider(
    session: AsyncSession, principal: Principal, data: ProviderIn
) -> Provider:
    territory = await territory_of(session, principal)
    provider = Provider(territory_id=territory.id, name=data.name, email=str(data.email))
    session.add(provider)
    await session.flush()
    add_event(
        session,
        v1.ProviderUpdated(
            provider_id=provider.id,
            territory_id=provider.territory_id,
            version=provider.version,
            name=provider.name,
            email=provider.email,
        ),
        producer=SERVICE,
        territory_id=territory.id,
    )
    return provider


async def visible_provider(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID
) -> Provider:
    provider = await session.get(Provider, provider_id)
    if provider is None or not principal.sees_provider(provider.id, provider.territory_id):
        raise not_found("provider")
    return provider


def activity_event(activity: Activity) -> v1.ActivityUpdated:
    return v1.ActivityUpdated(
        activity_id=activity.id,
        provider_id=activity.provider_id,
        territory_id=activity.territory_id,
        version=activity.version,
        title=v1.Localized(**activity.title),
        category=activity.category,
        commune=activity.commune,
        currency=activity.currency,
        timezone=activity.timezone,
        units=[v1.UnitPrice(**u) for u in activity.units],
        meeting_point=activity.meeting_point,
        what_to_bring=activity.what_to_bring,
        min_units=activity.min_units,
        max_units=activity.max_units,
        cutoff_minutes=activity.cutoff_minutes,
        cancellation_policy=[v1.RefundTier(**t) for t in activity.cancellation_policy],
        bookable=activity.bookable,
        not_bookable_reason=activity.not_bookable_reason,
    )


def _editable(data: ActivityIn) -> dict[str, Any]:
    """The columns of an activity that its provider or office write (as stored)."""
    return {
        "title": data.title.model_dump(),
        "description": data.description.model_dump(),
        "category": data.category,
        "commune": data.commune,
        "meeting_point": data.meeting_point,
        "what_to_bring": data.what_to_bring,
        "units": [u.model_dump() for u in data.units],
        "min_units": data.min_units,
        "max_units": data.max_units,
        "cutoff_minutes": data.cutoff_minutes,
        "cancellation_policy": [t.model_dump() for t in data.cancellation_policy],
        "photos": [p.model_dump() for p in data.photos],
    }


async def publish_activity(
    session: AsyncSession, principal: Principal, data: ActivityIn
) -> Activity:
    territory = await territory_of(session, principal)
    provider = await visible_provider(session, principal, data.provider_id)
    if data.currency != territory.currency:
        raise Problem(
            422,
            f"This territory sells in {territory.currency}, not {data.currency}.",
            kind="currency-mismatch",
        )
    activity = Activity(
        territory_id=territory.id,
        provider_id=provider.id,
        currency=data.currency,
        timezone=territory.timezone,
        bookable=provider.bookable,
        not_bookable_reason=provider.not_bookable_reason,
        **_editable(data),
    )
    session.add(activity)
    await session.flush()
    add_event(session, activity_event(activity), producer=SERVICE, territory_id=territory.id)
    return activity


async def visible_activity(
    session: AsyncSession, principal: Principal, activity_id: uuid.UUID, *, lock: bool = False
) -> Activity:
    """The activity if the caller may change it (its provider, its territory's office)."""
    activity = await session.get(Activity, activity_id, with_for_update=lock)
    if activity is None or not principal.sees_provider(activity.provider_id, activity.territory_id):
        raise not_found("activity")
    return activity


def _invalid_result(exc: ValidationError) -> Problem:
    return Problem(
        422,
        "With these changes the activity would not be valid; see errors for each field.",
        kind="validation",
        errors=[
            {"location": ["body", *e["loc"]], "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ],
    )


async def edit_activity(
    session: AsyncSession, principal: Principal, activity_id: uuid.UUID, patch: ActivityPatch
) -> Activity:
    """Apply a provider's or office's changes. The merged activity passes every rule of a
    new one (``min_units <= max_units`` across the held and sent values...). A real change
    is a new version published to booking and notifications (new prices and policy apply
    to the next holds); a patch that changes nothing publishes nothing."""
    activity = await visible_activity(session, principal, activity_id, lock=True)
    held = {"provider_id": activity.provider_id, "currency": activity.currency} | {
        key: getattr(activity, key) for key in ActivityPatch.model_fields
    }
    try:
        merged = ActivityIn.model_validate(held | patch.changes())
    except ValidationError as exc:
        raise _invalid_result(exc) from exc
    new = _editable(merged)
    if all(getattr(activity, key) == value for key, value in new.items()):
        return activity
    for key, value in new.items():
        setattr(activity, key, value)
    activity.version += 1
    add_event(
        session, activity_event(activity), producer=SERVICE, territory_id=activity.territory_id
    )
    return activity


def slot_event(slot: Slot) -> v1.SlotUpdated:
    """Catalog speaks of OPEN and CLOSED slots only: CANCELLED is booking's word, and a
    cancelled slot never changes again."""
    return v1.SlotUpdated(
        slot_id=slot.id,
        activity_id=slot.activity_id,
        provider_id=slot.provider_id,
        territory_id=slot.territory_id,
        version=slot.version,
        start=slot.start,
        duration_minutes=slot.duration_minutes,
        capacity=slot.capacity,
        status=slot.status,  # type: ignore[arg-type]
    )


async def schedule_slot(
    session: AsyncSession, principal: Principal, activity_id: uuid.UUID, data: SlotIn
) -> Slot:
    activity = await visible_activity(session, principal, activity_id)
    if data.start <= datetime.now(UTC):
        raise Problem(422, "A slot must start in the future.", kind="slot-in-the-past")
    slot = Slot(
        activity_id=activity.id,
        provider_id=activity.provider_id,
        territory_id=activity.territory_id,
        start=data.start.astimezone(UTC),
        duration_minutes=data.duration_minutes,
        capacity=data.capacity,
        remaining=data.capacity,
    )
    session.add(slot)
    await session.flush()
    add_event(session, slot_event(slot), producer=SERVICE, territory_id=slot.territory_id)
    return slot


async def change_slot(
    session: AsyncSession, principal: Principal, slot_id: uuid.UUID, patch: SlotPatch
) -> Slot:
    """Change a future slot's capacity or close / reopen its sales. Booking owns the seats:
    it keeps every reservation made, stops selling when the capacity falls below them and
    offers freed seats to the waitlist. A departure that started, or that booking
    cancelled, stays as it is."""
    slot = await session.get(Slot, slot_id, with_for_update=True)
    if slot is None or not principal.sees_provider(slot.provider_id, slot.territory_id):
        raise not_found("slot")
    if slot.start <= datetime.now(UTC):
        raise Problem(
            409,
            f"This slot started at {slot.start.isoformat()}: it can no longer be changed.",
            kind="slot-started",
        )
    if slot.status == "CANCELLED":
        raise Problem(
            409,
            "This departure was cancelled: it can no longer be changed.",
            kind="slot-cancelled",
        )
    capacity = slot.capacity if patch.capacity is None else patch.capacity
    status = slot.status if patch.status is None else patch.status
    if (capacity, status) == (slot.capacity, slot.status):
        return slot
    slot.capacity, slot.status = capacity, status
    # What booking will report once it applies this version (it reports only when seats
    # move, so search would otherwise show the old count).
    slot.remaining = seats_for_sale(capacity, slot.seats_taken, status)
    slot.version += 1
    add_event(session, slot_event(slot), producer=SERVICE, territory_id=slot.territory_id)
    return slot


async def apply_provider_account(
    session: AsyncSession, event: v1.ProviderAccountUpdated
) -> list[Activity]:
    """Payments reports the provider's Stripe account: keep it, and when that changes
    whether its activities can be booked, say so in a new version of each of them
    (``catalog.activity-updated.v1``, ``bookable`` and ``not_bookable_reason``)."""
    provider = await session.get(Provider, event.provider_id, with_for_update=True)
    if provider is None or provider.territory_id != event.territory_id:
        log.warning(
            "account state of a provider catalog does not know; ignored",
            extra={"provider_id": str(event.provider_id)},
        )
        return []
    provider.stripe_account_id = event.account_id
    provider.charges_enabled = event.charges_enabled
    provider.payouts_enabled = event.payouts_enabled
    provider.details_submitted = event.details_submitted
    provider.payment_disabled_reason = event.disabled_reason
    provider.requirements_due = list(event.requirements_due)
    state = provider.bookability()
    activities = (
        await session.scalars(
            select(Activity)
            .where(Activity.provider_id == provider.id)  # type: ignore[arg-type]
            .order_by(Activity.created_at, Activity.id)  # type: ignore[arg-type]
            .with_for_update()
        )
    ).all()
    changed = []
    for activity in activities:
        if (activity.bookable, activity.not_bookable_reason) == (state.bookable, state.reason):
            continue
        activity.bookable = state.bookable
        activity.not_bookable_reason = state.reason
        activity.version += 1
        add_event(
            session, activity_event(activity), producer=SERVICE, territory_id=activity.territory_id
        )
        changed.append(activity)
    return changed


async def apply_availability(session: AsyncSession, event: v1.SlotAvailabilityChanged) -> None:
    """Keep booking's seat count for search; older reports never overwrite newer ones."""
    await session.execute(
        update(Slot)
        .where(Slot.id == event.slot_id)  # type: ignore[arg-type]
        .where(Slot.availability_version < event.version)  # type: ignore[arg-type]
        .where(Slot.status != "CANCELLED")  # type: ignore[arg-type]
        .values(
            remaining=event.remaining,
            seats_taken=event.on_hold + event.confirmed,
            availability_version=event.version,
        )
    )


async def apply_slot_cancelled(session: AsyncSession, event: v1.SlotCancelled) -> None:
    """Booking cancelled the departure: search stops offering it."""
    await session.execute(
        update(Slot).where(Slot.id == event.slot_id).values(status="CANCELLED", remaining=0)  # type: ignore[arg-type]
    )


async def list_slots(
    session: AsyncSession, activity_id: uuid.UUID, start_from: datetime, until: datetime | None
) -> list[Slot]:
    query = (
        select(Slot)
        .where(Slot.activity_id == activity_id)  # type: ignore[arg-type]
        .where(Slot.start >= start_from)  # type: ignore[arg-type]
        .order_by(Slot.start)  # type: ignore[arg-type]
        .limit(500)
    )
    if until is not None:
        query = query.where(Slot.start < until)  # type: ignore[arg-type]
    return list((await session.scalars(query)).all())
