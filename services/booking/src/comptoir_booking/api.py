"""Booking HTTP routes: parse, authorise, run one use case in one transaction, answer.

Every POST honours ``Idempotency-Key`` with Stripe's semantics.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from opentelemetry import trace
from pydantic import BaseModel

from comptoir_booking import context, reports, service
from comptoir_booking.domain import (
    LEAD_TIME_LABELS,
    Rules,
    Status,
    agenda_window,
    iso_week_label,
    observatory_period,
    sales_close_at,
    seats_left,
)
from comptoir_booking.schemas import (
    AgendaSlot,
    Availability,
    AvailabilityStatus,
    Calendar,
    CalendarSlot,
    CancelIn,
    CategoryFigures,
    CheckedIn,
    CheckInIn,
    CheckInOut,
    CommuneFigures,
    LeadTime,
    LeadTimeBucket,
    Observatory,
    ObservatoryTotals,
    RebookIn,
    ReservationCreated,
    ReservationIn,
    ReservationPublic,
    SlotCancellationOut,
    SlotCheckIns,
    WaitlistEntryOut,
    WaitlistIn,
    WaitlistJoined,
    WeekFigures,
)
from comptoir_booking.store import Activity, Reservation, Slot, WaitlistEntry
from comptoir_common.auth import CurrentPrincipal, Principal, StaffPrincipal
from comptoir_common.events.v1 import Visitor
from comptoir_common.idempotency import run_idempotent
from comptoir_common.problems import PROBLEM_RESPONSES, Problem
from comptoir_common.service import Runtime, RuntimeDep, SessionDep
from comptoir_common.telemetry import ATTR_RESERVATION_ID, ATTR_SLOT_ID

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


async def _once(
    runtime: Runtime,
    scope: str,
    key: str | None,
    body: Any,
    execute: Callable[[], Awaitable[tuple[int, BaseModel]]],
) -> Response:
    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"booking:{scope}",
        key=key,
        body=body,
        execute=execute,
    )


def _who(principal: Principal | None) -> str:
    return principal.subject if principal else "public"


def public_view(shown: service.ListedReservation) -> ReservationPublic:
    r = shown.reservation
    return ReservationPublic(
        id=r.id,
        status=r.status,
        slot_id=r.slot_id,
        activity_id=r.activity_id,
        provider_id=r.provider_id,
        units=r.units,  # type: ignore[arg-type]
        seats=r.seats,
        total_cents=r.total_cents,
        currency=r.currency,
        expires_at=r.expires_at,
        created_at=r.created_at,
        status_reason=r.status_reason,
        visitor={"name": r.visitor_name, "email": r.visitor_email, "locale": r.visitor_locale},
        cancellation_policy=r.cancellation_policy,  # type: ignore[arg-type]
        refund_cents=r.refund_cents,
        refund_status=r.refund_status,  # type: ignore[arg-type]
        ticket_code=service.ticket_code_of(r)
        if r.status in (Status.CONFIRMED, Status.REDEEMED)
        else None,
        redeemed_at=r.redeemed_at,
        redeemed_by=r.redeemed_by,
        slot_start=shown.slot_start,
        activity_title=shown.activity_title,  # type: ignore[arg-type]
    )


def _annotate(reservation: Reservation) -> None:
    span = trace.get_current_span()
    span.set_attribute(ATTR_RESERVATION_ID, str(reservation.id))
    span.set_attribute(ATTR_SLOT_ID, str(reservation.slot_id))


# --- reservations ----------------------------------------------------------------------


@router.post(
    "/reservations",
    tags=["reservations"],
    status_code=201,
    response_model=ReservationCreated,
    summary="Hold seats on a slot for a visitor",
)
async def create_reservation(
    body: ReservationIn,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Holds the seats until `expires_at` and answers a visitor token for this reservation.
    Prices and seats come from the activity, never from the request."""
    ctx = context.current()
    assert ctx.holds_pool is not None, "booking's hold connections are not open"
    pool = ctx.holds_pool

    async def execute() -> tuple[int, BaseModel]:
        visitor = body.visitor
        hold = service.HoldRequest(
            slot_id=body.slot_id,
            units=[(u.id, u.quantity) for u in body.units],
            # already validated as VisitorIn: the same fields, the same rules
            visitor=Visitor.model_construct(
                name=visitor.name, email=visitor.email, locale=visitor.locale
            ),
        )
        held = await service.place_hold(pool, hold, ctx.hold_for, guarded=ctx.seat_guard)
        facts = held.facts
        span = trace.get_current_span()
        span.set_attribute(ATTR_RESERVATION_ID, str(held.id))
        span.set_attribute(ATTR_SLOT_ID, str(facts.slot_id))
        return 201, ReservationCreated(
            id=held.id,
            status=Status.ON_HOLD,
            slot_id=facts.slot_id,
            activity_id=facts.activity_id,
            provider_id=facts.provider_id,
            units=[line.as_dict() for line in held.lines],  # type: ignore[misc]
            seats=held.seats,
            total_cents=held.total_cents,
            currency=facts.currency,
            expires_at=held.expires_at,
            created_at=held.created_at,
            visitor={"name": visitor.name, "email": visitor.email, "locale": visitor.locale},
            cancellation_policy=facts.cancellation_policy,  # type: ignore[arg-type]
            visitor_token=service.visitor_token(held.id, facts.territory_id, facts.start),
            slot_start=facts.start,
            activity_title=facts.title,
        )

    return await _once(runtime, "reservations", idempotency_key, body, execute)


@router.get(
    "/reservations/{reservation_id}",
    tags=["reservations"],
    response_model=ReservationPublic,
    summary="A reservation, for its visitor, its provider or the office",
)
async def get_reservation(
    reservation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ReservationPublic:
    r = await service.visible_reservation(session, principal, reservation_id)
    return public_view(await service.shown_with(session, r))


@router.get(
    "/reservations",
    tags=["reservations"],
    response_model=list[ReservationPublic],
    summary="Reservations the caller may see (office: territory, provider: its own)",
)
async def list_reservations(
    principal: StaffPrincipal,
    session: SessionDep,
    slot_id: uuid.UUID | None = None,
    slot_from: Annotated[
        datetime | None,
        Query(alias="from", description="Only reservations on slots starting at or after"),
    ] = None,
    slot_until: Annotated[
        datetime | None, Query(alias="to", description="...and starting before this")
    ] = None,
    activity_id: uuid.UUID | None = None,
    status: Annotated[
        list[Status] | None, Query(description="Only these states (repeat for several)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ReservationPublic]:
    """Newest first, `limit` at a time (page with `offset`). Each carries its slot's
    start and its activity's title, so a list or a CSV export needs no other call.
    `from`/`to` bound the slot's start (ISO date-times, UTC when no offset is given)."""
    start, end = _aware(slot_from), _aware(slot_until)
    if start is not None and end is not None and end <= start:
        raise Problem(422, "`to` must come after `from`.", kind="bad-range")
    rows = await service.list_reservations(
        session,
        principal,
        slot_id=slot_id,
        limit=limit,
        offset=offset,
        slot_from=start,
        slot_until=end,
        activity_id=activity_id,
        statuses=status,
    )
    return [public_view(r) for r in rows]


@router.post(
    "/reservations/{reservation_id}/cancel",
    tags=["reservations"],
    response_model=ReservationPublic,
    summary="Cancel a reservation",
)
async def cancel_reservation(
    reservation_id: uuid.UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    body: Annotated[CancelIn | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The visitor (with their token) cancels under the policy frozen in the reservation;
    the provider or the office cancel with a full refund. A hold not yet paid is simply
    released. Refunds are requested from payments; `refund_status` follows them."""
    payload = body or CancelIn()

    async def execute() -> tuple[int, BaseModel]:
        async with session.begin():
            r = await service.cancel_reservation(session, principal, reservation_id, payload.note)
            shown = await service.shown_with(session, r)
        return 200, public_view(shown)

    scope = f"cancel:{_who(principal)}:{reservation_id}"
    return await _once(runtime, scope, idempotency_key, payload, execute)


@router.post(
    "/reservations/{reservation_id}/rebook",
    tags=["reservations"],
    response_model=ReservationPublic,
    summary="Move a confirmed reservation to another slot of the same activity",
)
async def rebook_reservation(
    reservation_id: uuid.UUID,
    body: RebookIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Atomic: the seats are taken on the new slot and given back on the old one in one
    transaction, or nothing changes. The price paid stays the same."""

    async def execute() -> tuple[int, BaseModel]:
        async with session.begin():
            r = await service.rebook(session, principal, reservation_id, body.slot_id)
            shown = await service.shown_with(session, r)
        return 200, public_view(shown)

    scope = f"rebook:{_who(principal)}:{reservation_id}"
    return await _once(runtime, scope, idempotency_key, body, execute)


# --- check-in ------------------------------------------------------------------------


@router.post(
    "/check-ins",
    tags=["check-in"],
    response_model=CheckInOut,
    summary="Check a visitor in with their ticket code (scanned or typed)",
)
async def check_in(
    body: CheckInIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The provider (its own reservations) or the territory's office staff. The ticket is
    used once: a second scan answers 409 with `redeemed_at` and `redeemed_by` of the
    first. A code whose signature fails answers 422; someone else's reservation 404;
    a reservation not CONFIRMED, or a slot outside the check-in window (from 24 h before
    the start to 1 h after the end), 409."""

    async def execute() -> tuple[int, BaseModel]:
        async with session.begin():
            r = await service.check_in(session, principal, body.code)
        _annotate(r)
        assert r.redeemed_at is not None and r.redeemed_by is not None
        return 200, CheckInOut(
            reservation_id=r.id,
            slot_id=r.slot_id,
            activity_id=r.activity_id,
            seats=r.seats,
            units=r.units,  # type: ignore[arg-type]
            visitor_name=r.visitor_name,
            redeemed_at=r.redeemed_at,
            redeemed_by=r.redeemed_by,
        )

    return await _once(runtime, f"check-in:{principal.subject}", idempotency_key, body, execute)


@router.get(
    "/check-ins",
    tags=["check-in"],
    response_model=SlotCheckIns,
    summary="Who has been checked in on a slot (provider or office staff)",
)
async def list_check_ins(
    slot_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> SlotCheckIns:
    slot, rows = await service.slot_check_ins(session, principal, slot_id)
    return SlotCheckIns(
        slot_id=slot.id,
        seats_expected=slot.confirmed,
        seats_checked_in=sum(r.seats for r in rows),
        check_ins=[
            CheckedIn(
                reservation_id=r.id,
                seats=r.seats,
                redeemed_at=r.redeemed_at,  # type: ignore[arg-type]
                redeemed_by=r.redeemed_by or "",
            )
            for r in rows
        ],
    )


# --- slots -----------------------------------------------------------------------------


def availability_status(
    slot: Slot, activity: Activity | None, remaining: int
) -> AvailabilityStatus:
    rules = Rules(cutoff_minutes=activity.cutoff_minutes) if activity else Rules()
    if (
        slot.status != "OPEN"
        or (activity is not None and not activity.bookable)
        or datetime.now(UTC) >= sales_close_at(slot.start, rules)
    ):
        return "CLOSED"
    if remaining <= 0:
        return "SOLD_OUT"
    if remaining * 2 < slot.capacity:
        return "LIMITED"
    return "AVAILABLE"


def availability_of(slot: Slot, activity: Activity | None) -> Availability:
    remaining = seats_left(slot.capacity, slot.held, slot.confirmed, slot.capacity_lowered)
    return Availability(
        slot_id=slot.id,
        capacity=slot.capacity,
        on_hold=slot.held,
        confirmed=slot.confirmed,
        remaining=remaining,
        status=availability_status(slot, activity, remaining),
        bookable=activity.bookable if activity else True,
        not_bookable_reason=activity.not_bookable_reason if activity else None,
    )


@router.get(
    "/slots/{slot_id}/availability",
    tags=["availability"],
    response_model=Availability,
    summary="Seats of a slot: capacity, on hold, confirmed, remaining (public)",
)
async def get_availability(slot_id: uuid.UUID, session: SessionDep) -> Availability:
    slot = await service.slot_counts(session, slot_id)
    return availability_of(slot, await session.get(Activity, slot.activity_id))


@router.get(
    "/activities/{activity_id}/availability",
    tags=["availability"],
    response_model=Calendar,
    response_model_by_alias=True,
    summary="Availability of every slot of an activity over a date range (public)",
)
async def get_calendar(
    activity_id: uuid.UUID,
    session: SessionDep,
    start_from: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> Calendar:
    """Defaults to the next 30 days; at most 366 days at once."""
    start = _aware(start_from) or datetime.now(UTC)
    end = _aware(until) or start + timedelta(days=30)
    if end <= start or end - start > timedelta(days=366):
        raise Problem(422, "`to` must come after `from`, at most 366 days later.", kind="bad-range")
    activity, slots = await service.activity_calendar(session, activity_id, start, end)
    return Calendar(
        activity_id=activity.id,
        start_from=start,
        until=end,
        slots=[
            CalendarSlot(
                **availability_of(s, activity).model_dump(),
                start=s.start,
                duration_minutes=s.duration_minutes,
            )
            for s in slots
        ],
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.post(
    "/slots/{slot_id}/cancel",
    tags=["availability"],
    response_model=SlotCancellationOut,
    summary="Cancel a whole departure (weather...) with full refunds",
)
async def cancel_slot(
    slot_id: uuid.UUID,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    body: Annotated[CancelIn | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The provider or the office: every reservation on the slot is cancelled and
    refunded in full, every visitor told; the waitlist is closed."""
    payload = body or CancelIn()

    async def execute() -> tuple[int, BaseModel]:
        async with session.begin():
            result = await service.cancel_slot(session, principal, slot_id, payload.note)
        return 200, SlotCancellationOut(
            slot_id=result.slot_id,
            reservations_cancelled=result.reservations_cancelled,
            holds_released=result.holds_released,
            refunds_cents=result.refunds_cents,
            waitlist_cancelled=result.waitlist_cancelled,
        )

    scope = f"cancel-slot:{principal.subject}:{slot_id}"
    return await _once(runtime, scope, idempotency_key, payload, execute)


# --- waitlist --------------------------------------------------------------------------


async def _entry_out(session: SessionDep, entry: WaitlistEntry) -> WaitlistEntryOut:
    return WaitlistEntryOut(
        id=entry.id,
        slot_id=entry.slot_id,
        status=entry.status,  # type: ignore[arg-type]
        position=await service.waitlist_position(session, entry),
        seats=entry.seats,
        reservation_id=entry.reservation_id,
        created_at=entry.created_at,
    )


@router.post(
    "/slots/{slot_id}/waitlist",
    tags=["waitlist"],
    status_code=201,
    response_model=WaitlistJoined,
    summary="Join the waitlist of a sold-out slot",
)
async def join_waitlist(
    slot_id: uuid.UUID,
    body: WaitlistIn,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """When seats free up, the first visitor in line gets a hold offered by e-mail for a
    limited time; if they don't take it, the next one does."""

    async def execute() -> tuple[int, BaseModel]:
        async with session.begin():
            entry, position = await service.join_waitlist(
                session,
                slot_id,
                [(u.id, u.quantity) for u in body.units],
                Visitor(**body.visitor.model_dump()),
            )
            slot = await session.get(Slot, slot_id)
            assert slot is not None
            token = service.waitlist_token(entry, slot)
        out = WaitlistEntryOut(
            id=entry.id,
            slot_id=entry.slot_id,
            status="WAITING",
            position=position,
            seats=entry.seats,
            reservation_id=None,
            created_at=entry.created_at,
        )
        return 201, WaitlistJoined(**out.model_dump(), visitor_token=token)

    return await _once(runtime, f"waitlist:{slot_id}", idempotency_key, body, execute)


@router.get(
    "/waitlist/{entry_id}",
    tags=["waitlist"],
    response_model=WaitlistEntryOut,
    summary="A place on a waitlist: its position, or the hold offered",
)
async def get_waitlist_entry(
    entry_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> WaitlistEntryOut:
    async with session.begin():
        entry = await service.visible_entry(session, principal, entry_id)
        return await _entry_out(session, entry)


@router.delete(
    "/waitlist/{entry_id}",
    tags=["waitlist"],
    response_model=WaitlistEntryOut,
    summary="Leave a waitlist",
)
async def leave_waitlist(
    entry_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> WaitlistEntryOut:
    async with session.begin():
        entry = await service.visible_entry(session, principal, entry_id, lock=True)
        await service.leave_waitlist(session, entry)
        return await _entry_out(session, entry)


# --- agenda and observatory ------------------------------------------------------------


@router.get(
    "/agenda",
    tags=["agenda"],
    response_model=list[AgendaSlot],
    summary="Departures with their seats and bookings (provider: its own; office: territory)",
)
async def get_agenda(
    principal: StaffPrincipal,
    session: SessionDep,
    start_from: Annotated[
        datetime | None,
        Query(alias="from", description="Slots starting at or after (default: 2 hours ago)"),
    ] = None,
    until: Annotated[
        datetime | None,
        Query(alias="to", description="...and before (default: 14 days after `from`)"),
    ] = None,
    provider_id: Annotated[
        uuid.UUID | None, Query(description="Office staff only: one provider's slots")
    ] = None,
    activity_id: uuid.UUID | None = None,
) -> list[AgendaSlot]:
    """The board of departures, earliest first: a provider token sees its own slots (a
    `provider_id` other than its own is 403), an office token every slot of its
    territory or one provider's. `from`/`to` are ISO date-times (UTC when no offset is
    given), a slot is in when its start is in [from, to); at most 92 days, else 422.

    `confirmed` counts the seats of confirmed and checked-in reservations alike, as the
    availability endpoint does (a checked-in visitor keeps their seat); `checked_in` is
    the part already checked in, `reservations` the number of those reservations.
    `status` is the departure's (OPEN, CLOSED, CANCELLED); `availability` what visitors
    see (AVAILABLE, LIMITED, SOLD_OUT, CLOSED)."""
    start, end = agenda_window(_aware(start_from), _aware(until), datetime.now(UTC))
    rows = await reports.agenda(
        session,
        principal,
        start_from=start,
        until=end,
        provider_id=provider_id,
        activity_id=activity_id,
    )
    return [_agenda_slot(row) for row in rows]


def _agenda_slot(row: reports.AgendaRow) -> AgendaSlot:
    slot, activity = row.slot, row.activity
    seats = availability_of(slot, activity)
    return AgendaSlot(
        slot_id=slot.id,
        activity_id=slot.activity_id,
        provider_id=slot.provider_id,
        activity_title=activity.title if activity else None,  # type: ignore[arg-type]
        start=slot.start,
        duration_minutes=slot.duration_minutes,
        timezone=activity.timezone if activity else None,
        capacity=seats.capacity,
        on_hold=seats.on_hold,
        confirmed=seats.confirmed,
        checked_in=row.checked_in,
        remaining=seats.remaining,
        reservations=row.reservations,
        status=slot.status,  # type: ignore[arg-type]
        availability=seats.status,
    )


@router.get(
    "/territories/{territory_id}/observatory",
    tags=["observatory"],
    response_model=Observatory,
    response_model_by_alias=True,
    summary="Fill rates, bookings and lead times of a territory's departures over a period",
)
async def get_observatory(
    territory_id: uuid.UUID,
    principal: StaffPrincipal,
    session: SessionDep,
    start_from: Annotated[
        date | None, Query(alias="from", description="First day (default: 8 weeks ago)")
    ] = None,
    until: Annotated[
        date | None, Query(alias="to", description="Last day, included (default: in 4 weeks)")
    ] = None,
) -> Observatory:
    """For the territory's office staff. A provider token of the territory may read it
    too, but then **every figure is limited to that provider's own departures**
    (`provider_id` in the answer says so); another territory's token gets 403.

    The period is `from`..`to`, both days included (ISO dates); a departure is in when
    its start date, in its activity's time zone, is. Default: 8 weeks before today to 4
    weeks after (today in the time zone of most of the territory's activities); with
    one bound only, the other is 12 weeks from it; at most 366 days, else 422.

    Cancelled departures count in `cancelled_departures` only: not in `slots`,
    `capacity` nor `fill_rate`. `seats_sold` and `bookings` are of CONFIRMED and
    REDEEMED reservations; `fill_rate` = seats_sold / capacity (4 decimals, 0 without
    capacity); `cancelled_reservations` those cancelled after payment (released holds
    are not); `checked_in` seats; `revenue_cents` the total price of the bookings.
    `by_week` has one row per ISO week touching the period, empty weeks included;
    `by_category` and `by_commune` the most seats sold first. `lead_time` is from the
    booking to the departure, over the bookings: `median_hours` and four buckets,
    same day (< 24 h), 1-6 days (< 7 days), 1-4 weeks (< 28 days), over 4 weeks."""
    provider_id = reports.observatory_scope(principal, territory_id)
    currency, zone = await reports.territory_facts(session, territory_id)
    first, last = observatory_period(start_from, until, reports.today_in(zone))
    figures = await reports.observatory(
        session, territory_id, first, last, provider_id=provider_id, currency=currency
    )
    totals = figures.totals
    return Observatory(
        territory_id=territory_id,
        provider_id=figures.provider_id,
        start_from=figures.first,
        until=figures.last,
        totals=ObservatoryTotals(
            **totals.as_dict(),
            cancelled_reservations=figures.cancelled_reservations,
            checked_in=figures.checked_in,
            revenue_cents=figures.revenue_cents,
            currency=figures.currency,
        ),
        by_week=[
            WeekFigures(**f.as_dict(), week=iso_week_label(monday), week_start=monday)
            for monday, f in figures.weeks
        ],
        by_category=[
            CategoryFigures(**f.as_dict(), category=name) for name, f in figures.categories
        ],
        by_commune=[CommuneFigures(**f.as_dict(), commune=name) for name, f in figures.communes],
        lead_time=LeadTime(
            median_hours=figures.median_lead_hours,
            buckets=[
                LeadTimeBucket(label=label, bookings=n)  # type: ignore[arg-type]
                for label, n in zip(LEAD_TIME_LABELS, figures.lead_time_buckets, strict=True)
            ],
        ),
    )
