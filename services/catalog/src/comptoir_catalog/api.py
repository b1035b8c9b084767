"""Catalog HTTP routes: parse, authorise, call the use case, shape the answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy import func, select

from comptoir_catalog import service
from comptoir_catalog.schemas import (
    ActivityIn,
    ActivityPatch,
    ActivityPublic,
    Page,
    ProviderIn,
    ProviderPublic,
    SlotIn,
    SlotPatch,
    SlotPublic,
    TerritoryIn,
    TerritoryPublic,
)
from comptoir_catalog.store import Activity, Provider, Slot, Territory
from comptoir_common.auth import AdminPrincipal, StaffPrincipal
from comptoir_common.idempotency import run_idempotent
from comptoir_common.problems import PROBLEM_RESPONSES, not_found
from comptoir_common.service import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@router.put("/territories/{territory_id}", tags=["territories"], response_model=TerritoryPublic)
async def put_territory(
    territory_id: uuid.UUID,
    body: TerritoryIn,
    principal: AdminPrincipal,
    session: SessionDep,
    response: Response,
) -> Territory:
    """Set up or change the caller's territory (its staff only)."""
    if not principal.sees_territory(territory_id):
        raise not_found("territory")
    async with session.begin():
        territory, created = await service.put_territory(session, territory_id, body)
    response.status_code = 201 if created else 200
    return territory


@router.get("/territories/{territory_id}", tags=["territories"], response_model=TerritoryPublic)
async def get_territory(territory_id: uuid.UUID, session: SessionDep) -> Territory:
    territory = await session.get(Territory, territory_id)
    if territory is None:
        raise not_found("territory")
    return territory


@router.post("/providers", tags=["providers"], status_code=201, response_model=ProviderPublic)
async def create_provider(
    body: ProviderIn,
    principal: AdminPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register a provider in the caller's territory."""

    async def execute() -> tuple[int, ProviderPublic]:
        async with session.begin():
            provider = await service.register_provider(session, principal, body)
        return 201, ProviderPublic.model_validate(provider, from_attributes=True)

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"catalog:providers:{principal.subject}",
        key=idempotency_key,
        body=body,
        execute=execute,
    )


@router.get("/providers", tags=["providers"], response_model=Page[ProviderPublic])
async def list_providers(
    principal: StaffPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ProviderPublic]:
    """Office staff see every provider of their territory; a provider sees itself."""
    query = select(Provider).where(Provider.territory_id == principal.territory_id)  # type: ignore[arg-type]
    if not principal.is_admin:
        query = query.where(Provider.id == principal.provider_id)  # type: ignore[arg-type]
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(Provider.name).limit(limit).offset(offset))  # type: ignore[arg-type]
    items = [ProviderPublic.model_validate(p, from_attributes=True) for p in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/providers/{provider_id}", tags=["providers"], response_model=ProviderPublic)
async def get_provider(
    provider_id: uuid.UUID, principal: StaffPrincipal, session: SessionDep
) -> Provider:
    return await service.visible_provider(session, principal, provider_id)


@router.post("/activities", tags=["activities"], status_code=201, response_model=ActivityPublic)
async def create_activity(
    body: ActivityIn,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Publish an activity of a provider (office staff, or the provider itself)."""

    async def execute() -> tuple[int, ActivityPublic]:
        async with session.begin():
            activity = await service.publish_activity(session, principal, body)
        return 201, ActivityPublic.model_validate(activity, from_attributes=True)

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"catalog:activities:{principal.subject}",
        key=idempotency_key,
        body=body,
        execute=execute,
    )


@router.get("/activities", tags=["activities"], response_model=Page[ActivityPublic])
async def list_activities(
    session: SessionDep,
    territory_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    category: str | None = None,
    commune: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ActivityPublic]:
    """Public search of the catalogue."""
    query = select(Activity)
    if territory_id:
        query = query.where(Activity.territory_id == territory_id)  # type: ignore[arg-type]
    if provider_id:
        query = query.where(Activity.provider_id == provider_id)  # type: ignore[arg-type]
    if category:
        query = query.where(Activity.category == category)  # type: ignore[arg-type]
    if commune:
        query = query.where(Activity.commune == commune)  # type: ignore[arg-type]
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Activity.created_at, Activity.id).limit(limit).offset(offset)  # type: ignore[arg-type]
    )
    items = [ActivityPublic.model_validate(a, from_attributes=True) for a in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/activities/{activity_id}", tags=["activities"], response_model=ActivityPublic)
async def get_activity(activity_id: uuid.UUID, session: SessionDep) -> Activity:
    activity = await session.get(Activity, activity_id)
    if activity is None:
        raise not_found("activity")
    return activity


@router.patch("/activities/{activity_id}", tags=["activities"], response_model=ActivityPublic)
async def edit_activity(
    activity_id: uuid.UUID,
    body: ActivityPatch,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Change an activity (its provider, or its territory's office staff): any subset of
    its fields but ``provider_id`` and ``currency``; the result must be a valid activity.
    Booking and notifications learn the new version (``catalog.activity-updated.v1``)."""

    async def execute() -> tuple[int, ActivityPublic]:
        async with session.begin():
            activity = await service.edit_activity(session, principal, activity_id, body)
        return 200, ActivityPublic.model_validate(activity, from_attributes=True)

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"catalog:activity-edits:{principal.subject}:{activity_id}",
        key=idempotency_key,
        # the fields sent, not their defaults: {} and {"meeting_point": null} differ
        body=body.changes(),
        execute=execute,
    )


@router.post(
    "/activities/{activity_id}/slots",
    tags=["slots"],
    status_code=201,
    response_model=SlotPublic,
)
async def create_slot(
    activity_id: uuid.UUID,
    body: SlotIn,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Schedule a time slot (start, duration, capacity) of an activity."""

    async def execute() -> tuple[int, SlotPublic]:
        async with session.begin():
            slot = await service.schedule_slot(session, principal, activity_id, body)
        return 201, SlotPublic.model_validate(slot, from_attributes=True)

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"catalog:slots:{principal.subject}:{activity_id}",
        key=idempotency_key,
        body=body,
        execute=execute,
    )


@router.get("/activities/{activity_id}/slots", tags=["slots"], response_model=list[SlotPublic])
async def list_slots(
    activity_id: uuid.UUID,
    session: SessionDep,
    start_from: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> list[SlotPublic]:
    """Upcoming slots of an activity with the seats booking last reported free."""
    if await session.get(Activity, activity_id) is None:
        raise not_found("activity")
    slots = await service.list_slots(session, activity_id, start_from or datetime.now(UTC), until)
    return [SlotPublic.model_validate(s, from_attributes=True) for s in slots]


@router.get("/slots/{slot_id}", tags=["slots"], response_model=SlotPublic)
async def get_slot(slot_id: uuid.UUID, session: SessionDep) -> Slot:
    """One slot, whatever its status or date, with the seats booking last reported free."""
    slot = await session.get(Slot, slot_id)
    if slot is None:
        raise not_found("slot")
    return slot


@router.patch("/slots/{slot_id}", tags=["slots"], response_model=SlotPublic)
async def change_slot(
    slot_id: uuid.UUID,
    body: SlotPatch,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Change the capacity of a slot that has not started, or close / reopen its sales
    (its provider, or its territory's office staff). Reservations already made stay."""

    async def execute() -> tuple[int, SlotPublic]:
        async with session.begin():
            slot = await service.change_slot(session, principal, slot_id, body)
        return 200, SlotPublic.model_validate(slot, from_attributes=True)

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"catalog:slot-edits:{principal.subject}:{slot_id}",
        key=idempotency_key,
        body=body.model_dump(exclude_unset=True),
        execute=execute,
    )
