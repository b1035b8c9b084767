"""Booking use cases. Every change of a reservation's state happens in this file.

Seats are counted on the slot row and changed only by guarded ``UPDATE`` statements
(``held + confirmed + n <= capacity``), so concurrent requests, in one process or many,
can never take more seats than the slot has.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_booking.domain import (
    Status,
    check_transition,
    late_payment_revives,
    price_lines,
    seats_of,
    total_of,
)
from comptoir_booking.store import Activity, Reservation, Slot
from comptoir_common.auth import Principal
from comptoir_common.events import v1
from comptoir_common.outbox import add_event
from comptoir_common.problems import Problem, not_found
from comptoir_common.projections import upsert_newer
from comptoir_common.telemetry import current_trace_carrier

SERVICE = "booking"


@dataclass(frozen=True)
class HoldRequest:
    slot_id: uuid.UUID
    units: list[tuple[str, int]]
    visitor: v1.Visitor


@dataclass(frozen=True)
class SeatCounts:
    capacity: int
    held: int
    confirmed: int
    version: int

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.held - self.confirmed)


def _now() -> datetime:
    return datetime.now(UTC)


# --- seats -----------------------------------------------------------------------------


async def take_seats(
    session: AsyncSession, slot_id: uuid.UUID, seats: int, *, confirmed: bool = False
) -> SeatCounts | None:
    """Hold (or directly confirm) ``seats`` if they are free; None when they are not."""
    column = "confirmed" if confirmed else "held"
    row = (
        await session.execute(
            text(
                f"UPDATE slot SET {column} = {column} + :n, "  # noqa: S608 - fixed column names
                "availability_version = availability_version + 1 "
                "WHERE id = :id AND status = 'OPEN' AND NOT capacity_lowered "
                "AND held + confirmed + :n <= capacity "
                "RETURNING capacity, held, confirmed, availability_version"
            ),
            {"n": seats, "id": slot_id},
        )
    ).first()
    return SeatCounts(*row) if row else None


async def move_seats(
    session: AsyncSession, slot_id: uuid.UUID, *, held: int = 0, confirmed: int = 0
) -> SeatCounts:
    """Release or convert seats already counted on the slot (never adds new ones)."""
    row = (
        await session.execute(
            text(
                "UPDATE slot SET held = held + :h, confirmed = confirmed + :c, "
                "availability_version = availability_version + 1 WHERE id = :id "
                "RETURNING capacity, held, confirmed, availability_version"
            ),
            {"h": held, "c": confirmed, "id": slot_id},
        )
    ).one()
    return SeatCounts(*row)


def _availability_event(slot: Slot, counts: SeatCounts) -> v1.SlotAvailabilityChanged:
    return v1.SlotAvailabilityChanged(
        slot_id=slot.id,
        activity_id=slot.activity_id,
        territory_id=slot.territory_id,
        version=counts.version,
        capacity=counts.capacity,
        on_hold=counts.held,
        confirmed=counts.confirmed,
        remaining=counts.remaining,
    )


# --- holds -----------------------------------------------------------------------------


async def place_hold(
    session: AsyncSession, request: HoldRequest, hold_for: timedelta
) -> Reservation:
    slot = await session.get(Slot, request.slot_id)
    if slot is None:
        raise not_found("slot")
    activity = await session.get(Activity, slot.activity_id)
    if activity is None:
        raise not_found("slot")
    if slot.status != "OPEN" or slot.start <= _now():
        raise Problem(409, "This slot is closed for booking.", kind="slot-closed")
    lines = price_lines(request.units, activity.units)
    seats = seats_of(lines)
    counts = await take_seats(session, slot.id, seats)
    if counts is None:
        fresh = await session.get(Slot, slot.id, populate_existing=True)
        remaining = max(0, fresh.capacity - fresh.held - fresh.confirmed) if fresh else 0
        raise Problem(
            409,
            f"Only {remaining} seat(s) left on this slot; {seats} requested.",
            kind="not-enough-seats",
            remaining=remaining,
        )
    carrier = current_trace_carrier()
    reservation = Reservation(
        slot_id=slot.id,
        activity_id=activity.id,
        provider_id=slot.provider_id,
        territory_id=slot.territory_id,
        status=Status.ON_HOLD,
        units=[line.as_dict() for line in lines],
        seats=seats,
        total_cents=total_of(lines),
        currency=activity.currency,
        expires_at=_now() + hold_for,
        visitor_name=request.visitor.name,
        visitor_email=str(request.visitor.email),
        visitor_locale=request.visitor.locale,
        trace_headers=carrier,
    )
    session.add(reservation)
    await session.flush()
    _emit(
        session,
        reservation,
        v1.HoldPlaced(
            **_facts(reservation),
            slot_start=slot.start,
            activity_title=v1.Localized(**activity.title),
            units=[v1.UnitLine(**u) for u in reservation.units],
            total_cents=reservation.total_cents,
            currency=reservation.currency,
            expires_at=reservation.expires_at,
            visitor=request.visitor,
        ),
    )
    _emit(session, reservation, _availability_event(slot, counts))
    return reservation


def _facts(r: Reservation) -> dict[str, Any]:
    return {
        "reservation_id": r.id,
        "slot_id": r.slot_id,
        "activity_id": r.activity_id,
        "provider_id": r.provider_id,
        "territory_id": r.territory_id,
    }


def _visitor(r: Reservation) -> v1.Visitor:
    return v1.Visitor(name=r.visitor_name, email=r.visitor_email, locale=r.visitor_locale)  # type: ignore[arg-type]


def _emit(session: AsyncSession, r: Reservation, payload: v1.EventPayload) -> None:
    """Events about a reservation continue the trace of the request that created it."""
    carrier = current_trace_carrier() or r.trace_headers
    add_event(
        session, payload, producer=SERVICE, territory_id=r.territory_id, trace_carrier=carrier
    )


def _set_status(r: Reservation, target: Status, reason: str | None = None) -> None:
    r.status = check_transition(r.status, target)
    r.status_reason = reason
    r.updated_at = _now()


async def _locked(session: AsyncSession, reservation_id: uuid.UUID) -> Reservation | None:
    return await session.get(Reservation, reservation_id, with_for_update=True)


async def release_hold(session: AsyncSession, r: Reservation, target: Status, reason: str) -> None:
    """ON_HOLD -> EXPIRED or CANCELLED: the held seats go back, exactly once."""
    _set_status(r, target, reason)
    slot = await session.get(Slot, r.slot_id)
    assert slot is not None
    counts = await move_seats(session, r.slot_id, held=-r.seats)
    _emit(session, r, v1.HoldReleased(**_facts(r), reason=reason))  # type: ignore[arg-type]
    _emit(session, r, _availability_event(slot, counts))


async def expire_due_holds(session: AsyncSession, limit: int = 200) -> int:
    """Expire every hold past its time; safe with many booking processes (SKIP LOCKED)."""
    due = (
        await session.scalars(
            select(Reservation)
            .where(Reservation.status == Status.ON_HOLD)  # type: ignore[arg-type]
            .where(Reservation.expires_at <= _now())  # type: ignore[arg-type]
            .order_by(Reservation.expires_at)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for reservation in due:
        await release_hold(session, reservation, Status.EXPIRED, "EXPIRED")
    return len(due)


# --- payment outcomes ------------------------------------------------------------------


async def _confirm(session: AsyncSession, r: Reservation, counts: SeatCounts) -> None:
    if r.status == Status.ON_HOLD:
        _set_status(r, Status.CONFIRMED)
    else:
        r.status, r.status_reason, r.updated_at = Status.CONFIRMED, "LATE_PAYMENT", _now()
    slot = await session.get(Slot, r.slot_id)
    activity = await session.get(Activity, r.activity_id)
    assert slot is not None and activity is not None
    _emit(
        session,
        r,
        v1.ReservationConfirmed(
            **_facts(r),
            slot_start=slot.start,
            activity_title=v1.Localized(**activity.title),
            units=[v1.UnitLine(**u) for u in r.units],
            total_cents=r.total_cents,
            currency=r.currency,
            visitor=_visitor(r),
        ),
    )
    _emit(session, r, _availability_event(slot, counts))


async def payment_succeeded(session: AsyncSession, event: v1.PaymentSucceeded) -> None:
    r = await _locked(session, event.reservation_id)
    if r is None:
        raise LookupError(f"payment for unknown reservation {event.reservation_id}")
    if r.status == Status.ON_HOLD:
        counts = await move_seats(session, r.slot_id, held=-r.seats, confirmed=r.seats)
        await _confirm(session, r, counts)
        return
    if r.status in (Status.EXPIRED, Status.CANCELLED):
        # Money arrived after the hold ended: keep the booking if the hold merely ran
        # out and the seats are still free, otherwise give every cent back.
        # Never money taken without a seat.
        revived: SeatCounts | None = None
        if late_payment_revives(r.status, r.status_reason):
            revived = await take_seats(session, r.slot_id, r.seats, confirmed=True)
        if revived is not None:
            await _confirm(session, r, revived)
            return
        r.status_reason = "NO_SEATS_AFTER_LATE_PAYMENT"
        r.updated_at = _now()
        _emit(
            session,
            r,
            v1.ReservationCancelled(
                **_facts(r),
                reason="NO_SEATS_AFTER_LATE_PAYMENT",
                refund_cents=event.amount_cents,
                currency=event.currency,
                visitor=_visitor(r),
            ),
        )
    # CONFIRMED or REDEEMED: this payment was already applied.


async def payment_failed(session: AsyncSession, event: v1.PaymentFailed) -> None:
    r = await _locked(session, event.reservation_id)
    if r is None:
        raise LookupError(f"payment failure for unknown reservation {event.reservation_id}")
    if r.status == Status.ON_HOLD:
        await release_hold(session, r, Status.CANCELLED, "PAYMENT_FAILED")


# --- catalog projection ----------------------------------------------------------------


async def apply_activity(session: AsyncSession, event: v1.ActivityUpdated) -> None:
    await upsert_newer(
        session,
        Activity,
        {
            "id": event.activity_id,
            "provider_id": event.provider_id,
            "territory_id": event.territory_id,
            "version": event.version,
            "title": event.title.model_dump(),
            "currency": event.currency,
            "timezone": event.timezone,
            "units": [u.model_dump() for u in event.units],
        },
    )


async def apply_slot(session: AsyncSession, event: v1.SlotUpdated) -> None:
    """Catalog owns capacity and start; booking owns the seats held and confirmed. A
    capacity lowered below the seats already taken closes the slot to new sales."""
    await upsert_newer(
        session,
        Slot,
        {
            "id": event.slot_id,
            "activity_id": event.activity_id,
            "provider_id": event.provider_id,
            "territory_id": event.territory_id,
            "version": event.version,
            "start": event.start,
            "duration_minutes": event.duration_minutes,
            "capacity": event.capacity,
            "status": event.status,
        },
        also_set={
            "capacity_lowered": lambda excluded: (Slot.held + Slot.confirmed) > excluded.capacity,
        },
    )


# --- queries ---------------------------------------------------------------------------


async def visible_reservation(
    session: AsyncSession, principal: Principal, reservation_id: uuid.UUID
) -> Reservation:
    r = await session.get(Reservation, reservation_id)
    if r is None or not principal.sees_reservation(r.id, r.provider_id, r.territory_id):
        raise not_found("reservation")
    return r


async def slot_counts(session: AsyncSession, slot_id: uuid.UUID) -> Slot:
    slot = await session.get(Slot, slot_id)
    if slot is None:
        raise not_found("slot")
    return slot


async def list_reservations(
    session: AsyncSession,
    principal: Principal,
    *,
    slot_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[Reservation]:
    query = select(Reservation).where(Reservation.territory_id == principal.territory_id)  # type: ignore[arg-type]
    if not principal.is_admin:
        query = query.where(Reservation.provider_id == principal.provider_id)  # type: ignore[arg-type]
    if slot_id:
        query = query.where(Reservation.slot_id == slot_id)  # type: ignore[arg-type]
    query = query.order_by(Reservation.created_at.desc()).limit(limit).offset(offset)  # type: ignore[attr-defined]
    return list((await session.scalars(query)).all())
