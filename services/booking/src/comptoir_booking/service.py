"""Booking use cases. Every change of a reservation's state happens in this file.

Seats are counted on the slot row and changed only by guarded ``UPDATE`` statements
(``held + confirmed + n <= capacity``), so concurrent requests, in one process or many,
can never take more seats than the slot has. A reservation row is locked before its
status changes, and the state machine in ``domain.py`` says which changes are legal, so a
hold is released once and only once, whoever gets there first (the expiry loop of any
process, a payment failure, the visitor).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import case, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_booking import context
from comptoir_booking.domain import (
    Outcome,
    PricedLine,
    Rules,
    Status,
    check_transition,
    on_payment_failed,
    on_payment_succeeded,
    price_lines,
    refund_under_policy,
    sales_close_at,
    seats_left,
    seats_of,
    total_of,
)
from comptoir_booking.store import Activity, Reservation, Slot, WaitlistEntry
from comptoir_booking.tickets import read_ticket, ticket_code
from comptoir_common.auth import Principal
from comptoir_common.events import v1
from comptoir_common.outbox import OUTBOX_COLUMNS, add_event, outbox_row
from comptoir_common.problems import Problem, not_found
from comptoir_common.projections import upsert_newer
from comptoir_common.telemetry import current_trace_carrier

SERVICE = "booking"


@dataclass(frozen=True)
class HoldRequest:
    slot_id: uuid.UUID
    units: list[tuple[str, int]]
    visitor: v1.Visitor


def _now() -> datetime:
    return datetime.now(UTC)


def rules_of(activity: Activity) -> Rules:
    return Rules(activity.min_units, activity.max_units, activity.cutoff_minutes)


# --- seats -----------------------------------------------------------------------------


async def take_seats(
    session: AsyncSession,
    slot_id: uuid.UUID,
    seats: int,
    *,
    confirmed: bool = False,
    guarded: bool = True,
) -> bool:
    """Hold (or directly confirm) ``seats`` if they are free; False when they are not.

    The check and the increment are one statement, so two requests can never both take
    the last seat. ``guarded=False`` exists only to prove, in tests, that the checks do
    catch the classic read-then-write race; production refuses it.
    """
    column = "confirmed" if confirmed else "held"
    if not guarded:
        return await _take_seats_unguarded(session, slot_id, seats, column)
    row = (
        await session.execute(
            text(
                f"UPDATE slot SET {column} = {column} + :n, "  # noqa: S608 - fixed column names
                "availability_version = availability_version + 1, availability_trace = :trace "
                "WHERE id = :id AND status = 'OPEN' AND NOT capacity_lowered "
                "AND held + confirmed + :n <= capacity RETURNING id"
            ),
            {"n": seats, "id": slot_id, "trace": _trace_json()},
        )
    ).first()
    return row is not None


async def _take_seats_unguarded(
    session: AsyncSession, slot_id: uuid.UUID, seats: int, column: str
) -> bool:
    """Read, check in Python, write the new total: loses updates under concurrency."""
    row = (
        await session.execute(
            text("SELECT capacity, held, confirmed FROM slot WHERE id = :id AND status = 'OPEN'"),
            {"id": slot_id},
        )
    ).first()
    if row is None or row.held + row.confirmed + seats > row.capacity:
        return False
    await session.execute(
        text(
            f"UPDATE slot SET {column} = :total, "  # noqa: S608 - fixed column names
            "availability_version = availability_version + 1, availability_trace = :trace "
            "WHERE id = :id"
        ),
        {"total": getattr(row, column) + seats, "id": slot_id, "trace": _trace_json()},
    )
    return True


async def move_seats(
    session: AsyncSession, slot_id: uuid.UUID, *, held: int = 0, confirmed: int = 0
) -> None:
    """Release or convert seats already counted on the slot (never adds new ones)."""
    await session.execute(
        text(
            "UPDATE slot SET held = held + :h, confirmed = confirmed + :c, "
            "availability_version = availability_version + 1, availability_trace = :trace "
            "WHERE id = :id"
        ),
        {"h": held, "c": confirmed, "id": slot_id, "trace": _trace_json()},
    )


def _trace_json() -> str:
    return json.dumps(current_trace_carrier())


async def publish_availability(session: AsyncSession, limit: int = 500) -> int:
    """Tell the other services how many seats each changed slot has left.

    Seat changes only bump the slot's ``availability_version`` (and keep the trace of
    the change); this publishes one event per changed slot with its latest counts,
    however many holds hit it since the last round: the hot path stays one statement,
    and a popular slot does not flood catalog with events it would overwrite anyway.
    Slots being changed right now (locked) are taken on the next round.
    """
    rows = (
        await session.execute(
            text(
                "SELECT id, activity_id, territory_id, capacity, held, confirmed, "
                "capacity_lowered, status, availability_version, availability_trace FROM slot "
                "WHERE availability_version > availability_published_version "
                "ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
            ),
            {"limit": limit},
        )
    ).all()
    for row in rows:
        open_for_sale = row.status == "OPEN"
        left = seats_left(row.capacity, row.held, row.confirmed, row.capacity_lowered)
        add_event(
            session,
            v1.SlotAvailabilityChanged(
                slot_id=row.id,
                activity_id=row.activity_id,
                territory_id=row.territory_id,
                version=row.availability_version,
                capacity=row.capacity,
                on_hold=row.held,
                confirmed=row.confirmed,
                remaining=left if open_for_sale else 0,
            ),
            producer=SERVICE,
            territory_id=row.territory_id,
            trace_carrier=row.availability_trace or {},
        )
    if rows:
        # The rows are locked: their version cannot have moved since they were read.
        await session.execute(
            text(
                "UPDATE slot SET availability_published_version = availability_version "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": [row.id for row in rows]},
        )
    return len(rows)


def _check_on_sale(slot: Slot, activity: Activity) -> None:
    if slot.status != "OPEN":
        raise _slot_closed()
    if not activity.bookable:
        raise not_bookable(activity.not_bookable_reason)
    _check_cutoff(slot.start, rules_of(activity))


def _slot_closed() -> Problem:
    return Problem(409, "This slot is closed for booking.", kind="slot-closed")


def not_bookable(reason: str | None) -> Problem:
    """The provider cannot take payments now (catalog says why, for the office)."""
    return Problem(
        409,
        "This activity cannot be booked at the moment: its provider cannot take payments yet.",
        kind="activity-not-bookable",
        reason=reason,
    )


def _check_cutoff(start: datetime, rules: Rules) -> None:
    if _now() >= sales_close_at(start, rules):
        raise Problem(
            409,
            f"Bookings for this slot have closed ({rules.cutoff_minutes} minutes before "
            "the start).",
            kind="booking-closed",
        )


async def _slot_and_activity(session: AsyncSession, slot_id: uuid.UUID) -> tuple[Slot, Activity]:
    slot = await session.get(Slot, slot_id)
    activity = await session.get(Activity, slot.activity_id) if slot else None
    if slot is None or activity is None:
        raise not_found("slot")
    return slot, activity


# --- holds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleFacts:
    """What a hold needs of a slot and its activity, true while both keep these versions.

    Booking keeps them in memory per slot: the hold statement takes seats only if the
    slot and the activity still have these versions, so an outdated copy never sells at
    old prices or times; it is read again and the hold retried.
    """

    slot_id: uuid.UUID
    slot_version: int
    activity_id: uuid.UUID
    activity_version: int
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    start: datetime
    title: v1.Localized
    currency: str
    units: list[dict[str, Any]]
    rules: Rules
    cancellation_policy: list[dict[str, int]]
    policy_json: str
    bookable: bool
    not_bookable_reason: str | None

    @property
    def versions(self) -> tuple[int, int]:
        return self.slot_version, self.activity_version


@dataclass(frozen=True)
class SlotNow:
    """A slot's sale facts with its status and seat counts, as just read."""

    facts: SaleFacts
    status: str
    capacity: int
    held: int
    confirmed: int
    capacity_lowered: bool


@dataclass(frozen=True)
class Hold:
    """A hold just placed: everything its answer says."""

    id: uuid.UUID
    facts: SaleFacts
    lines: list[PricedLine]
    seats: int
    total_cents: int
    visitor: v1.Visitor
    expires_at: datetime
    created_at: datetime


_sale_facts: dict[uuid.UUID, SaleFacts] = {}
#: Slots whose sale facts are kept in memory at most (then the copy starts afresh).
SALE_FACTS_KEPT = 10_000

_READ_SLOT = """
SELECT s.version AS slot_version, s.activity_id, s.provider_id, s.territory_id, s.start,
       s.status, s.capacity, s.held, s.confirmed, s.capacity_lowered,
       a.version AS activity_version, a.title, a.currency, a.units, a.min_units,
       a.max_units, a.cutoff_minutes, a.cancellation_policy, a.bookable,
       a.not_bookable_reason
FROM slot s JOIN activity a ON a.id = s.activity_id
WHERE s.id = $1
"""

#: The whole hold in one statement, so one implicit transaction: the seats, the
#: reservation and its ``hold-placed`` event are written together or not at all, and
#: the slot's row is locked only while PostgreSQL runs it, never while Python works.
#: The seats are taken only if they are free (``held + confirmed + n <= capacity``,
#: re-checked on the newest row after waiting for its lock) and only if the slot and
#: the activity still have the versions the prices and times were taken from.
_HOLD = """
WITH seat AS (
    UPDATE slot SET {seats},
        availability_version = availability_version + 1,
        availability_trace = $15::jsonb
    WHERE id = $1 AND version = $3 AND status = 'OPEN' AND NOT capacity_lowered {guard}
      AND EXISTS (SELECT FROM activity WHERE id = $5 AND version = $4)
    RETURNING id
), reservation_row AS (
    INSERT INTO reservation (id, slot_id, activity_id, provider_id, territory_id, status,
        units, seats, total_cents, currency, expires_at, visitor_name, visitor_email,
        visitor_locale, trace_headers, created_at, updated_at, cancellation_policy)
    SELECT $6, seat.id, $5, $7, $8, 'ON_HOLD', $9::jsonb, $2, $10, $11, $12, $13, $14,
        $16, $15::jsonb, $17, $17, $18::jsonb
    FROM seat
), event_row AS (
    INSERT INTO outbox ({outbox_columns})
    SELECT $19, $20, $21, $22::jsonb, $15::jsonb, $17 FROM seat
)
SELECT count(*) FROM seat
"""
_HOLD_GUARDED = _HOLD.format(
    seats="held = held + $2",
    guard="AND held + confirmed + $2 <= capacity",
    outbox_columns=OUTBOX_COLUMNS,
)
#: Only to prove in tests that the checks catch overselling: the seat count was read
#: and checked before, and is now overwritten with that count plus the new seats.
_HOLD_UNGUARDED = _HOLD.format(seats="held = $23", guard="", outbox_columns=OUTBOX_COLUMNS)


async def read_slot(pool: asyncpg.Pool, slot_id: uuid.UUID) -> SlotNow:
    """The slot and its activity as they are now; remembers their sale facts."""
    row = await pool.fetchrow(_READ_SLOT, slot_id)
    if row is None:
        _sale_facts.pop(slot_id, None)
        raise not_found("slot")
    policy = json.loads(row["cancellation_policy"])
    facts = SaleFacts(
        slot_id=slot_id,
        slot_version=row["slot_version"],
        activity_id=row["activity_id"],
        activity_version=row["activity_version"],
        provider_id=row["provider_id"],
        territory_id=row["territory_id"],
        start=row["start"],
        title=v1.Localized(**json.loads(row["title"])),
        currency=row["currency"],
        units=json.loads(row["units"]),
        rules=Rules(row["min_units"], row["max_units"], row["cutoff_minutes"]),
        cancellation_policy=policy,
        policy_json=json.dumps(policy),
        bookable=row["bookable"],
        not_bookable_reason=row["not_bookable_reason"],
    )
    if len(_sale_facts) >= SALE_FACTS_KEPT:
        _sale_facts.clear()
    _sale_facts[slot_id] = facts
    return SlotNow(
        facts,
        row["status"],
        row["capacity"],
        row["held"],
        row["confirmed"],
        row["capacity_lowered"],
    )


async def place_hold(
    pool: asyncpg.Pool, request: HoldRequest, hold_for: timedelta, *, guarded: bool = True
) -> Hold:
    """Hold seats for a visitor: one statement, one round trip to PostgreSQL.

    Prices, rules and times come from the slot's sale facts (in memory, or read when
    missing); when the statement takes nothing, the slot is read again to say why, or
    to retry with newer facts. ``guarded=False`` reads, checks in Python and then
    writes: it exists only to prove, in tests, that the checks catch overselling.
    """
    facts = _sale_facts.get(request.slot_id)
    now = await read_slot(pool, request.slot_id) if facts is None or not guarded else None
    for _ in range(5):
        if now is not None:
            if now.status != "OPEN":
                raise _slot_closed()
            facts = now.facts
        assert facts is not None
        if not facts.bookable:
            if now is None:  # a remembered refusal may be outdated: read the activity again
                now = await read_slot(pool, request.slot_id)
                continue
            raise not_bookable(facts.not_bookable_reason)
        _check_cutoff(facts.start, facts.rules)
        lines = price_lines(request.units, facts.units, facts.rules)
        seats = seats_of(lines)
        if not guarded:
            assert now is not None
            _check_seats(now, seats)
        hold = _new_hold_facts(facts, lines, seats, request.visitor, hold_for)
        if await _write_hold(pool, hold, None if guarded else now):
            return hold
        now = await read_slot(pool, request.slot_id)
        if now.facts.versions == facts.versions:
            _check_seats(now, seats)  # otherwise seats were freed meanwhile: try again
    raise Problem(503, "This slot is changing too fast; retry shortly.", kind="slot-busy")


def _check_seats(slot: SlotNow, seats: int) -> None:
    if slot.status != "OPEN":
        raise _slot_closed()
    remaining = seats_left(slot.capacity, slot.held, slot.confirmed, slot.capacity_lowered)
    if seats > remaining:
        raise Problem(
            409,
            f"Only {remaining} seat(s) left on this slot; {seats} requested.",
            kind="not-enough-seats",
            remaining=remaining,
        )


def _new_hold_facts(
    facts: SaleFacts,
    lines: list[PricedLine],
    seats: int,
    visitor: v1.Visitor,
    hold_for: timedelta,
) -> Hold:
    now = _now()
    return Hold(
        id=uuid.uuid4(),
        facts=facts,
        lines=lines,
        seats=seats,
        total_cents=total_of(lines),
        visitor=visitor,
        expires_at=now + hold_for,
        created_at=now,
    )


async def _write_hold(pool: asyncpg.Pool, hold: Hold, unguarded_read: SlotNow | None) -> bool:
    """The hold statement; ``unguarded_read`` only for the read-then-write proof."""
    facts = hold.facts
    carrier = current_trace_carrier()
    units = [line.as_dict() for line in hold.lines]
    event = outbox_row(
        v1.HoldPlaced(
            reservation_id=hold.id,
            slot_id=facts.slot_id,
            activity_id=facts.activity_id,
            provider_id=facts.provider_id,
            territory_id=facts.territory_id,
            slot_start=facts.start,
            activity_title=facts.title,
            units=[v1.UnitLine(**u) for u in units],
            total_cents=hold.total_cents,
            currency=facts.currency,
            expires_at=hold.expires_at,
            visitor=hold.visitor,
        ),
        producer=SERVICE,
        territory_id=facts.territory_id,
        trace_carrier=carrier,
    )
    arguments: list[Any] = [
        facts.slot_id,
        hold.seats,
        facts.slot_version,
        facts.activity_version,
        facts.activity_id,
        hold.id,
        facts.provider_id,
        facts.territory_id,
        json.dumps(units),
        hold.total_cents,
        facts.currency,
        hold.expires_at,
        hold.visitor.name,
        str(hold.visitor.email),
        event.trace_headers,
        hold.visitor.locale,
        hold.created_at,
        facts.policy_json,
        event.event_id,
        event.topic,
        event.key,
        event.envelope,
    ]
    statement = _HOLD_GUARDED
    if unguarded_read is not None:
        statement = _HOLD_UNGUARDED
        arguments.append(unguarded_read.held + hold.seats)
    return bool(await pool.fetchval(statement, *arguments))


def _new_hold(
    session: AsyncSession,
    slot: Slot,
    activity: Activity,
    lines: list[PricedLine],
    visitor: v1.Visitor,
    expires_at: datetime,
    *,
    waitlist_entry_id: uuid.UUID | None = None,
    trace_carrier: dict[str, str] | None = None,
) -> Reservation:
    reservation = Reservation(
        id=uuid.uuid4(),
        slot_id=slot.id,
        activity_id=activity.id,
        provider_id=slot.provider_id,
        territory_id=slot.territory_id,
        status=Status.ON_HOLD,
        units=[line.as_dict() for line in lines],
        seats=seats_of(lines),
        total_cents=total_of(lines),
        currency=activity.currency,
        expires_at=expires_at,
        visitor_name=visitor.name,
        visitor_email=str(visitor.email),
        visitor_locale=visitor.locale,
        trace_headers=trace_carrier or current_trace_carrier(),
        cancellation_policy=list(activity.cancellation_policy),
        waitlist_entry_id=waitlist_entry_id,
    )
    session.add(reservation)
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
            visitor=visitor,
        ),
    )
    return reservation


def _facts(r: Reservation) -> dict[str, Any]:
    return {
        "reservation_id": r.id,
        "slot_id": r.slot_id,
        "activity_id": r.activity_id,
        "provider_id": r.provider_id,
        "territory_id": r.territory_id,
    }


def _visitor(r: Reservation | WaitlistEntry) -> v1.Visitor:
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
    await move_seats(session, r.slot_id, held=-r.seats)
    released = "EXPIRED" if target == Status.EXPIRED else _release_reason(reason)
    _emit(session, r, v1.HoldReleased(**_facts(r), reason=released))  # type: ignore[arg-type]
    if r.waitlist_entry_id:
        await _set_entry(session, r.waitlist_entry_id, "LAPSED")
    await offer_freed_seats(session, r.slot_id)


def _release_reason(reason: str) -> str:
    return "PAYMENT_FAILED" if reason == "PAYMENT_FAILED" else "CANCELLED"


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


async def _confirm(session: AsyncSession, r: Reservation, application_fee_cents: int) -> None:
    if r.status == Status.ON_HOLD:
        _set_status(r, Status.CONFIRMED)
    else:
        r.status, r.status_reason, r.updated_at = Status.CONFIRMED, "LATE_PAYMENT", _now()
    slot, activity = await _slot_and_activity(session, r.slot_id)
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
            slot_duration_minutes=slot.duration_minutes,
            ticket_code=ticket_code_of(r),
            cancellation_policy=[v1.RefundTier(**t) for t in r.cancellation_policy],
            application_fee_cents=application_fee_cents,
        ),
    )
    if r.waitlist_entry_id:
        await _set_entry(session, r.waitlist_entry_id, "BOOKED")


async def payment_succeeded(session: AsyncSession, event: v1.PaymentSucceeded) -> None:
    r = await _locked(session, event.reservation_id)
    if r is None:
        raise LookupError(f"payment for unknown reservation {event.reservation_id}")
    outcome = on_payment_succeeded(r.status, r.status_reason)
    if outcome == Outcome.CONFIRM:
        await move_seats(session, r.slot_id, held=-r.seats, confirmed=r.seats)
        await _confirm(session, r, event.application_fee_cents)
    elif outcome in (Outcome.REVIVE, Outcome.REFUND):
        # Money arrived after the hold ended: keep the booking if the hold merely ran
        # out and the seats are still free, otherwise give every cent back.
        # Never money taken without a seat.
        revived = outcome == Outcome.REVIVE and await take_seats(
            session, r.slot_id, r.seats, confirmed=True
        )
        if revived:
            await _confirm(session, r, event.application_fee_cents)
            return
        cancelled_by = r.status_reason if r.status_reason in _CANCELLERS else None
        r.status_reason = cancelled_by or "NO_SEATS_AFTER_LATE_PAYMENT"
        r.refund_cents, r.updated_at = event.amount_cents, _now()
        _emit(
            session,
            r,
            v1.ReservationCancelled(
                **_facts(r),
                reason=r.status_reason,  # type: ignore[arg-type]
                refund_cents=event.amount_cents,
                currency=event.currency,
                visitor=_visitor(r),
                total_cents=r.total_cents,
                refund_percent=100,
            ),
        )


_CANCELLERS = ("VISITOR", "PROVIDER", "OFFICE", "SLOT_CANCELLED")


async def payment_failed(session: AsyncSession, event: v1.PaymentFailed) -> None:
    r = await _locked(session, event.reservation_id)
    if r is None:
        raise LookupError(f"payment failure for unknown reservation {event.reservation_id}")
    if on_payment_failed(r.status) == Outcome.RELEASE:
        await release_hold(session, r, Status.CANCELLED, "PAYMENT_FAILED")


async def refund_updated(session: AsyncSession, event: v1.RefundUpdated) -> None:
    """Record the refund's outcome on the reservation; a final outcome is never undone."""
    r = await _locked(session, event.reservation_id)
    if r is None:
        raise LookupError(f"refund for unknown reservation {event.reservation_id}")
    if r.refund_status in ("SUCCEEDED", "FAILED") and event.status == "PENDING":
        return
    r.refund_status = event.status
    r.updated_at = _now()


# --- cancellations ---------------------------------------------------------------------


def _canceller(principal: Principal) -> str:
    return {"visitor": "VISITOR", "provider": "PROVIDER", "admin": "OFFICE"}[principal.role]


async def cancel_reservation(
    session: AsyncSession, principal: Principal, reservation_id: uuid.UUID, note: str | None
) -> Reservation:
    """The visitor cancels under the policy frozen in the reservation; the provider or
    the office cancel with a full refund."""
    r = await _locked(session, reservation_id)
    if r is None or not principal.sees_reservation(r.id, r.provider_id, r.territory_id):
        raise not_found("reservation")
    reason = _canceller(principal)
    if r.status == Status.ON_HOLD:
        await release_hold(session, r, Status.CANCELLED, reason)
        return r
    check_transition(r.status, Status.CANCELLED)
    slot = await session.get(Slot, r.slot_id)
    assert slot is not None
    if reason == "VISITOR":
        if _now() >= slot.start:
            raise Problem(
                409,
                "The activity has started; it can no longer be cancelled.",
                kind="already-started",
            )
        refund = refund_under_policy(r.cancellation_policy, r.total_cents, slot.start, _now())
        percent, cents = refund.percent, refund.cents
    else:
        percent, cents = 100, r.total_cents
    await _cancel_confirmed(session, r, slot, reason, percent, cents, note)
    await offer_freed_seats(session, r.slot_id)
    return r


async def _cancel_confirmed(
    session: AsyncSession,
    r: Reservation,
    slot: Slot,
    reason: str,
    percent: int,
    refund_cents: int,
    note: str | None,
) -> None:
    _set_status(r, Status.CANCELLED, reason)
    r.refund_cents = refund_cents
    r.refund_status = "PENDING" if refund_cents else None
    await move_seats(session, r.slot_id, confirmed=-r.seats)
    _emit(
        session,
        r,
        v1.ReservationCancelled(
            **_facts(r),
            reason=reason,  # type: ignore[arg-type]
            refund_cents=refund_cents,
            currency=r.currency,
            visitor=_visitor(r),
            total_cents=r.total_cents,
            refund_percent=percent,
            slot_start=slot.start,
            note=note,
        ),
    )


async def _lock_active(session: AsyncSession, slot_id: uuid.UUID) -> list[Reservation]:
    rows = await session.scalars(
        select(Reservation)
        .where(Reservation.slot_id == slot_id)  # type: ignore[arg-type]
        .where(Reservation.status.in_([Status.ON_HOLD, Status.CONFIRMED]))  # type: ignore[attr-defined]
        .order_by(Reservation.id)  # type: ignore[arg-type]
        .with_for_update()
    )
    return list(rows.all())


@dataclass(frozen=True)
class SlotCancellation:
    slot_id: uuid.UUID
    reservations_cancelled: int
    holds_released: int
    refunds_cents: int
    waitlist_cancelled: int


async def cancel_slot(
    session: AsyncSession, principal: Principal, slot_id: uuid.UUID, note: str | None
) -> SlotCancellation:
    """A departure is cancelled (weather...): every reservation on it, with full refunds.

    Locks the reservations before the slot, in the order every other use case does, so
    it never deadlocks with the expiry loop or a payment."""
    slot = await session.get(Slot, slot_id)
    if slot is None or principal.role == "visitor":
        raise not_found("slot")
    if not principal.sees_provider(slot.provider_id, slot.territory_id):
        raise not_found("slot")
    await _lock_active(session, slot_id)
    await session.refresh(slot, with_for_update=True)
    if slot.status == "CANCELLED":
        raise Problem(409, "This departure is already cancelled.", kind="slot-cancelled")
    slot.status = "CANCELLED"
    # Again, now that no new hold can slip in: one placed while we waited for the slot.
    active = await _lock_active(session, slot_id)
    cancelled = released = refunds = 0
    for r in active:
        if r.status == Status.ON_HOLD:
            _set_status(r, Status.CANCELLED, "SLOT_CANCELLED")
            await move_seats(session, slot_id, held=-r.seats)
            _emit(session, r, v1.HoldReleased(**_facts(r), reason="CANCELLED"))
            released += 1
        else:
            await _cancel_confirmed(session, r, slot, "SLOT_CANCELLED", 100, r.total_cents, note)
            cancelled += 1
            refunds += r.total_cents
    waiting = (
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.slot_id == slot_id)  # type: ignore[arg-type]
            .where(WaitlistEntry.status.in_(["WAITING", "OFFERED"]))  # type: ignore[attr-defined]
            .with_for_update()
        )
    ).all()
    for entry in waiting:
        entry.status, entry.updated_at = "CANCELLED", _now()
    await move_seats(session, slot_id)  # publishes the cancelled slot's availability
    cancelled_by = "OFFICE" if principal.is_admin else "PROVIDER"
    add_event(
        session,
        v1.SlotCancelled(
            slot_id=slot.id,
            activity_id=slot.activity_id,
            provider_id=slot.provider_id,
            territory_id=slot.territory_id,
            slot_start=slot.start,
            cancelled_by=cancelled_by,
            note=note,
            reservations_cancelled=cancelled,
        ),
        producer=SERVICE,
        territory_id=slot.territory_id,
    )
    return SlotCancellation(slot_id, cancelled, released, refunds, len(waiting))


# --- tickets and check-in --------------------------------------------------------------

#: A ticket is checked in from this long before its slot starts...
CHECK_IN_OPENS_BEFORE = timedelta(hours=24)
#: ...until this long after the slot ended (a late group, a slow door).
CHECK_IN_CLOSES_AFTER = timedelta(hours=1)


def ticket_code_of(r: Reservation) -> str:
    """The reservation's signed ticket code (derived, never stored)."""
    return ticket_code(context.current().ticket_secret, r.id)


def check_in_window(slot: Slot) -> tuple[datetime, datetime]:
    end = slot.start + timedelta(minutes=slot.duration_minutes)
    return slot.start - CHECK_IN_OPENS_BEFORE, end + CHECK_IN_CLOSES_AFTER


async def check_in(session: AsyncSession, principal: Principal, code: str) -> Reservation:
    """CONFIRMED -> REDEEMED at the door, by the provider (its own reservations) or the
    territory's office. A forged or mistyped code: 422; someone else's reservation: 404;
    a ticket already used: 409 saying when and by whom; a reservation in any other state
    or a slot outside the check-in window: 409 saying why."""
    reservation_id = read_ticket(context.current().ticket_secret, code)
    r = await _locked(session, reservation_id)
    if (
        r is None
        or principal.role == "visitor"
        or not principal.sees_provider(r.provider_id, r.territory_id)
    ):
        raise not_found("reservation")
    if r.status == Status.REDEEMED:
        assert r.redeemed_at is not None
        raise Problem(
            409,
            f"This ticket was already checked in at {r.redeemed_at.isoformat()} "
            f"by {r.redeemed_by}.",
            kind="already-checked-in",
            reservation_id=str(r.id),
            redeemed_at=r.redeemed_at.isoformat(),
            redeemed_by=r.redeemed_by,
        )
    if r.status != Status.CONFIRMED:
        raise Problem(
            409,
            f"This reservation is {r.status}: its ticket cannot be checked in.",
            kind="not-confirmed",
            reservation_id=str(r.id),
            reservation_status=r.status,
        )
    slot = await session.get(Slot, r.slot_id)
    assert slot is not None
    opens_at, closes_at = check_in_window(slot)
    now = _now()
    if not opens_at <= now <= closes_at:
        raise Problem(
            409,
            "Check-in for this ticket is open from "
            f"{opens_at.isoformat()} to {closes_at.isoformat()}.",
            kind="check-in-closed",
            reservation_id=str(r.id),
            slot_start=slot.start.isoformat(),
            opens_at=opens_at.isoformat(),
            closes_at=closes_at.isoformat(),
        )
    _set_status(r, Status.REDEEMED)
    r.redeemed_at, r.redeemed_by = now, principal.subject
    _emit(
        session,
        r,
        v1.ReservationRedeemed(**_facts(r), redeemed_at=now, redeemed_by=principal.subject),
    )
    return r


async def slot_check_ins(
    session: AsyncSession, principal: Principal, slot_id: uuid.UUID
) -> tuple[Slot, list[Reservation]]:
    """The reservations of a slot checked in so far, first come first."""
    slot = await session.get(Slot, slot_id)
    if (
        slot is None
        or principal.role == "visitor"
        or not principal.sees_provider(slot.provider_id, slot.territory_id)
    ):
        raise not_found("slot")
    rows = await session.scalars(
        select(Reservation)
        .where(Reservation.slot_id == slot_id)  # type: ignore[arg-type]
        .where(Reservation.status == Status.REDEEMED)  # type: ignore[arg-type]
        .order_by(Reservation.redeemed_at)  # type: ignore[arg-type]
    )
    return slot, list(rows)


# --- rebooking -------------------------------------------------------------------------


async def rebook(
    session: AsyncSession, principal: Principal, reservation_id: uuid.UUID, to_slot_id: uuid.UUID
) -> Reservation:
    """Move a confirmed reservation to another slot of the same activity: both seat
    counts change in one transaction, so it is never on both slots, nor on neither."""
    r = await _locked(session, reservation_id)
    if r is None or not principal.sees_reservation(r.id, r.provider_id, r.territory_id):
        raise not_found("reservation")
    if r.status != Status.CONFIRMED:
        raise Problem(
            409,
            f"Only a confirmed reservation can be moved; this one is {r.status}.",
            kind="not-confirmed",
        )
    if to_slot_id == r.slot_id:
        raise Problem(422, "The reservation is already on this slot.", kind="same-slot")
    old_slot = await session.get(Slot, r.slot_id)
    new_slot, activity = await _slot_and_activity(session, to_slot_id)
    assert old_slot is not None
    if new_slot.activity_id != r.activity_id:
        raise Problem(
            422,
            "A reservation can only move to a slot of the same activity.",
            kind="other-activity",
        )
    if principal.role == "visitor" and _now() >= old_slot.start:
        raise Problem(
            409, "The activity has started; it can no longer be moved.", kind="already-started"
        )
    _check_on_sale(new_slot, activity)
    if not await take_seats(session, new_slot.id, r.seats, confirmed=True):
        raise Problem(409, "Not enough seats left on that slot.", kind="not-enough-seats")
    await move_seats(session, old_slot.id, confirmed=-r.seats)
    r.slot_id, r.updated_at = new_slot.id, _now()
    _emit(
        session,
        r,
        v1.ReservationRebooked(
            **_facts(r),
            from_slot_id=old_slot.id,
            from_slot_start=old_slot.start,
            slot_start=new_slot.start,
            activity_title=v1.Localized(**activity.title),
            units=[v1.UnitLine(**u) for u in r.units],
            visitor=_visitor(r),
        ),
    )
    await offer_freed_seats(session, old_slot.id)
    return r


# --- waitlist --------------------------------------------------------------------------


async def join_waitlist(
    session: AsyncSession, slot_id: uuid.UUID, units: list[tuple[str, int]], visitor: v1.Visitor
) -> tuple[WaitlistEntry, int]:
    slot, activity = await _slot_and_activity(session, slot_id)
    _check_on_sale(slot, activity)
    lines = price_lines(units, activity.units, rules_of(activity))
    seats = seats_of(lines)
    if seats > slot.capacity:
        raise Problem(
            422,
            f"This slot has {slot.capacity} seats in all; {seats} requested.",
            kind="more-than-capacity",
        )
    remaining = slot.capacity - slot.held - slot.confirmed
    if remaining >= seats and not slot.capacity_lowered:
        raise Problem(
            409,
            f"{remaining} seat(s) are free: book them directly.",
            kind="seats-available",
            remaining=remaining,
        )
    entry = WaitlistEntry(
        slot_id=slot.id,
        activity_id=slot.activity_id,
        provider_id=slot.provider_id,
        territory_id=slot.territory_id,
        units=[line.as_dict() for line in lines],
        seats=seats,
        visitor_name=visitor.name,
        visitor_email=str(visitor.email),
        visitor_locale=visitor.locale,
        trace_headers=current_trace_carrier(),
    )
    session.add(entry)
    await session.flush()
    return entry, await waitlist_position(session, entry)


async def waitlist_position(session: AsyncSession, entry: WaitlistEntry) -> int:
    if entry.status != "WAITING":
        return 0
    ahead = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(WaitlistEntry.slot_id == entry.slot_id)  # type: ignore[arg-type]
        .where(WaitlistEntry.status == "WAITING")  # type: ignore[arg-type]
        .where(WaitlistEntry.created_at < entry.created_at)  # type: ignore[arg-type]
    )
    return int(ahead or 0) + 1


async def leave_waitlist(session: AsyncSession, entry: WaitlistEntry) -> None:
    if entry.status != "WAITING":
        raise Problem(
            409,
            f"This place on the waitlist is {entry.status}; it cannot be left now.",
            kind="waitlist-not-waiting",
        )
    entry.status, entry.updated_at = "LEFT", _now()


async def _set_entry(session: AsyncSession, entry_id: uuid.UUID, status: str) -> None:
    entry = await session.get(WaitlistEntry, entry_id, with_for_update=True)
    if entry is not None and entry.status == "OFFERED":
        entry.status, entry.updated_at = status, _now()


async def offer_freed_seats(session: AsyncSession, slot_id: uuid.UUID) -> int:
    """Offer free seats to the waitlist, strictly first come, first offered: the first
    visitor in line gets a hold for a limited time; if their party does not fit yet,
    nobody behind them jumps the queue."""
    ctx = context.current()
    offered = 0
    while True:
        entry = await session.scalar(
            select(WaitlistEntry)
            .where(WaitlistEntry.slot_id == slot_id)  # type: ignore[arg-type]
            .where(WaitlistEntry.status == "WAITING")  # type: ignore[arg-type]
            .order_by(WaitlistEntry.created_at)  # type: ignore[arg-type]
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if entry is None or ctx.visitor_tokens is None:
            return offered
        slot, activity = await _slot_and_activity(session, slot_id)
        if (
            slot.status != "OPEN"
            or not activity.bookable
            or _now() >= sales_close_at(slot.start, rules_of(activity))
        ):
            return offered  # a waiting visitor keeps their place until it can be offered
        if not await take_seats(session, slot_id, entry.seats):
            return offered
        lines = price_lines(
            [(u["id"], int(u["quantity"])) for u in entry.units],
            activity.units,
            Rules(min_units=1, max_units=1_000),
        )
        expires_at = min(_now() + ctx.offer_for, sales_close_at(slot.start, rules_of(activity)))
        reservation = _new_hold(
            session,
            slot,
            activity,
            lines,
            _visitor(entry),
            expires_at,
            waitlist_entry_id=entry.id,
            trace_carrier=entry.trace_headers,
        )
        await session.flush()
        entry.status, entry.reservation_id, entry.updated_at = "OFFERED", reservation.id, _now()
        _emit(
            session,
            reservation,
            v1.WaitlistOfferMade(
                **_facts(reservation),
                waitlist_entry_id=entry.id,
                slot_start=slot.start,
                activity_title=v1.Localized(**activity.title),
                units=[v1.UnitLine(**u) for u in reservation.units],
                total_cents=reservation.total_cents,
                currency=reservation.currency,
                expires_at=expires_at,
                visitor=_visitor(entry),
                visitor_token=visitor_token(reservation.id, reservation.territory_id, slot.start),
            ),
        )
        offered += 1


def visitor_token(reservation_id: uuid.UUID, territory_id: uuid.UUID, start: datetime) -> str:
    """The visitor's key to their reservation, valid until a month after the activity
    (which starts at ``start``)."""
    issuer = context.current().visitor_tokens
    assert issuer is not None, "booking's visitor token issuer is not configured"
    return issuer.issue(
        role="visitor",
        subject=f"visitor:{reservation_id}",
        territory_id=territory_id,
        reservation_id=reservation_id,
        ttl=max(start + timedelta(days=30) - _now(), timedelta(days=1)),
    )


def waitlist_token(entry: WaitlistEntry, slot: Slot) -> str:
    """Opens one place on the waitlist (to see it or leave it), nothing else."""
    issuer = context.current().visitor_tokens
    assert issuer is not None, "booking's visitor token issuer is not configured"
    return issuer.issue(
        role="visitor",
        subject=f"waitlist:{entry.id}",
        territory_id=entry.territory_id,
        reservation_id=entry.id,
        ttl=max(slot.start - _now(), timedelta(hours=1)),
    )


# --- catalog projection ----------------------------------------------------------------


async def apply_activity(session: AsyncSession, event: v1.ActivityUpdated) -> None:
    """Keep the newest version of the activity. A redelivery of the version already held
    still fills in a category and commune that a row projected before booking kept them
    lacks (the only columns that can be missing from an otherwise current row)."""
    written = await upsert_newer(
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
            "min_units": event.min_units,
            "max_units": event.max_units,
            "cutoff_minutes": event.cutoff_minutes,
            "cancellation_policy": [t.model_dump() for t in event.cancellation_policy],
            "bookable": event.bookable,
            "not_bookable_reason": None if event.bookable else event.not_bookable_reason,
            "category": event.category,
            "commune": event.commune,
        },
    )
    if not written:
        await session.execute(
            update(Activity)
            .where(Activity.id == event.activity_id)  # type: ignore[arg-type]
            .where(Activity.version == event.version)  # type: ignore[arg-type]
            .where(Activity.category.is_(None))  # type: ignore[union-attr]
            .values(category=event.category, commune=event.commune)
        )


async def apply_slot(session: AsyncSession, event: v1.SlotUpdated) -> None:
    """Catalog owns capacity, start and opening; booking owns the seats held and
    confirmed, and a departure it cancelled stays cancelled. A capacity lowered below
    the seats already taken stops new sales; a capacity raised offers seats to the
    waitlist."""
    written = await upsert_newer(
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
            "capacity_lowered": lambda new: (Slot.held + Slot.confirmed) > new.capacity,
            "status": _keep_cancelled,
        },
    )
    if written:
        await offer_freed_seats(session, event.slot_id)


def _keep_cancelled(new: Any) -> Any:
    return case((Slot.status == "CANCELLED", "CANCELLED"), else_=new.status)  # type: ignore[arg-type]


# --- queries ---------------------------------------------------------------------------


async def visible_reservation(
    session: AsyncSession, principal: Principal, reservation_id: uuid.UUID
) -> Reservation:
    r = await session.get(Reservation, reservation_id)
    if r is None or not principal.sees_reservation(r.id, r.provider_id, r.territory_id):
        raise not_found("reservation")
    return r


async def visible_entry(
    session: AsyncSession, principal: Principal, entry_id: uuid.UUID, *, lock: bool = False
) -> WaitlistEntry:
    entry = await session.get(WaitlistEntry, entry_id, with_for_update=lock)
    if entry is None:
        raise not_found("waitlist entry")
    if principal.role == "visitor":
        allowed = principal.subject == f"waitlist:{entry.id}"
    else:
        allowed = principal.sees_provider(entry.provider_id, entry.territory_id)
    if not allowed:
        raise not_found("waitlist entry")
    return entry


async def slot_counts(session: AsyncSession, slot_id: uuid.UUID) -> Slot:
    slot = await session.get(Slot, slot_id)
    if slot is None:
        raise not_found("slot")
    return slot


async def activity_calendar(
    session: AsyncSession, activity_id: uuid.UUID, start_from: datetime, until: datetime
) -> tuple[Activity, list[Slot]]:
    activity = await session.get(Activity, activity_id)
    if activity is None:
        raise not_found("activity")
    slots = await session.scalars(
        select(Slot)
        .where(Slot.activity_id == activity_id)  # type: ignore[arg-type]
        .where(Slot.start >= start_from)  # type: ignore[arg-type]
        .where(Slot.start < until)  # type: ignore[arg-type]
        .order_by(Slot.start)  # type: ignore[arg-type]
        .limit(1000)
    )
    return activity, list(slots)


@dataclass(frozen=True)
class ListedReservation:
    """A reservation with what a list or an export shows beside it."""

    reservation: Reservation
    slot_start: datetime
    activity_title: dict[str, str]


async def list_reservations(
    session: AsyncSession,
    principal: Principal,
    *,
    slot_id: uuid.UUID | None,
    limit: int,
    offset: int,
    slot_from: datetime | None = None,
    slot_until: datetime | None = None,
    activity_id: uuid.UUID | None = None,
    statuses: list[Status] | None = None,
) -> list[ListedReservation]:
    """The caller's reservations (office: its territory's, provider: its own), newest
    first, optionally on slots starting in ``[slot_from, slot_until)``, of one activity,
    in some states; each with its slot's start and its activity's title (one query)."""
    query = (
        select(Reservation, Slot.start, Activity.title)  # type: ignore[call-overload]
        .join(Slot, Slot.id == Reservation.slot_id)  # type: ignore[arg-type]
        .join(Activity, Activity.id == Reservation.activity_id)  # type: ignore[arg-type]
        .where(Reservation.territory_id == principal.territory_id)  # type: ignore[arg-type]
    )
    if not principal.is_admin:
        query = query.where(Reservation.provider_id == principal.provider_id)  # type: ignore[arg-type]
    if slot_id:
        query = query.where(Reservation.slot_id == slot_id)  # type: ignore[arg-type]
    if slot_from is not None:
        query = query.where(Slot.start >= slot_from)  # type: ignore[arg-type]
    if slot_until is not None:
        query = query.where(Slot.start < slot_until)  # type: ignore[arg-type]
    if activity_id:
        query = query.where(Reservation.activity_id == activity_id)  # type: ignore[arg-type]
    if statuses:
        query = query.where(Reservation.status.in_([s.value for s in statuses]))  # type: ignore[attr-defined]
    query = (
        query.order_by(Reservation.created_at.desc(), Reservation.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
        .offset(offset)
    )
    return [ListedReservation(r, start, title) for r, start, title in await session.execute(query)]


async def shown_with(session: AsyncSession, r: Reservation) -> ListedReservation:
    """A reservation with its slot's start and its activity's title (both always known:
    a reservation is only ever made on a slot and an activity booking holds)."""
    slot, activity = await _slot_and_activity(session, r.slot_id)
    return ListedReservation(r, slot.start, activity.title)
