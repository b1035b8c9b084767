"""Notifications HTTP routes: parse, authorise, call the use case, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from comptoir_common.auth import StaffPrincipal
from comptoir_common.problems import PROBLEM_RESPONSES
from comptoir_common.service import SessionDep
from comptoir_notifications import service
from comptoir_notifications.schemas import MessagePublic, Page

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)


@router.get("/messages", tags=["messages"], response_model=Page[MessagePublic])
async def list_messages(
    principal: StaffPrincipal,
    session: SessionDep,
    reservation_id: uuid.UUID | None = None,
    slot_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[MessagePublic]:
    """Messages sent (or to send) about reservations, with their delivery status.

    Office staff see their territory's, a provider its own reservations'. With
    ``reservation_id`` (or ``slot_id``), a reservation (or departure) the caller cannot
    see answers 404.
    A message in status ``UNKNOWN`` may or may not have reached its recipient: the
    sender was interrupted while talking to the mail server, and a message is never
    sent twice.
    """
    return await service.list_messages(
        session, principal, reservation_id, limit, offset, slot_id=slot_id
    )
