"""Booking HTTP routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from comptoir_booking import service
from comptoir_booking.schemas import (
    Availability,
    ReservationCreated,
    ReservationIn,
    ReservationPublic,
)
from comptoir_booking.store import Reservation, Slot
from comptoir_common.auth import CurrentPrincipal, StaffPrincipal, TokenIssuer
from comptoir_common.events.v1 import Visitor
from comptoir_common.idempotency import run_idempotent
from comptoir_common.problems import PROBLEM_RESPONSES
from comptoir_common.service import RuntimeDep, SessionDep
from comptoir_common.telemetry import ATTR_RESERVATION_ID, ATTR_SLOT_ID

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)


def public_view(r: Reservation) -> ReservationPublic:
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
    )


@router.post(
    "/reservations",
    tags=["reservations"],
    status_code=201,
    response_model=ReservationCreated,
    summary="Hold seats on a slot for a visitor",
)
async def create_reservation(
    body: ReservationIn,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Holds the seats until `expires_at` and answers a visitor token for this reservation.
    Prices come from the activity, never from the request."""
    settings = runtime.settings
    issuer: TokenIssuer = runtime.extras["visitor_token_issuer"]

    async def execute() -> tuple[int, ReservationCreated]:
        hold = service.HoldRequest(
            slot_id=body.slot_id,
            units=[(u.id, u.quantity) for u in body.units],
            visitor=Visitor(**body.visitor.model_dump()),
        )
        async with session.begin():
            reservation = await service.place_hold(
                session,
                hold,
                timedelta(minutes=settings.hold_minutes),  # type: ignore[attr-defined]
            )
        _annotate(request, reservation)
        token = issuer.issue(
            role="visitor",
            subject=f"visitor:{reservation.id}",
            territory_id=reservation.territory_id,
            reservation_id=reservation.id,
            ttl=timedelta(days=400),
        )
        view = public_view(reservation)
        return 201, ReservationCreated(**view.model_dump(), visitor_token=token)

    return await run_idempotent(
        runtime.redis,
        scope="booking:reservations",
        key=idempotency_key,
        body=body,
        execute=execute,
    )


def _annotate(request: Request, reservation: Reservation) -> None:
    from opentelemetry import trace

    span = trace.get_current_span()
    span.set_attribute(ATTR_RESERVATION_ID, str(reservation.id))
    span.set_attribute(ATTR_SLOT_ID, str(reservation.slot_id))


@router.get(
    "/reservations/{reservation_id}",
    tags=["reservations"],
    response_model=ReservationPublic,
    summary="A reservation, for its visitor, its provider or the office",
)
async def get_reservation(
    reservation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ReservationPublic:
    return public_view(await service.visible_reservation(session, principal, reservation_id))


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
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ReservationPublic]:
    rows = await service.list_reservations(
        session, principal, slot_id=slot_id, limit=limit, offset=offset
    )
    return [public_view(r) for r in rows]


def availability_of(slot: Slot) -> Availability:
    remaining = max(0, slot.capacity - slot.held - slot.confirmed)
    if slot.status != "OPEN" or slot.start <= datetime.now(UTC):
        status = "CLOSED"
    elif remaining == 0 or slot.capacity_lowered:
        status = "SOLD_OUT"
    elif remaining * 2 < slot.capacity:
        status = "LIMITED"
    else:
        status = "AVAILABLE"
    return Availability(
        slot_id=slot.id,
        capacity=slot.capacity,
        on_hold=slot.held,
        confirmed=slot.confirmed,
        remaining=0 if slot.capacity_lowered else remaining,
        status=status,  # type: ignore[arg-type]
    )


@router.get(
    "/slots/{slot_id}/availability",
    tags=["availability"],
    response_model=Availability,
    summary="Seats of a slot: capacity, on hold, confirmed, remaining (public)",
)
async def get_availability(slot_id: uuid.UUID, session: SessionDep) -> Availability:
    return availability_of(await service.slot_counts(session, slot_id))


__all__ = ["router"]
