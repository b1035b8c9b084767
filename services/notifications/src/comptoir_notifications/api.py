"""Notifications HTTP routes: parse, authorise, call the use case, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from comptoir_common.auth import AdminPrincipal, StaffPrincipal
from comptoir_common.idempotency import run_idempotent
from comptoir_common.problems import PROBLEM_RESPONSES
from comptoir_common.service import RuntimeDep, SessionDep
from comptoir_notifications import service, webhooks
from comptoir_notifications.schemas import (
    DeliveryPublic,
    MessagePublic,
    NotificationPreferences,
    NotificationPreferencesIn,
    Page,
    SignInLinkAccepted,
    SignInLinkIn,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointPublic,
    WebhookSecret,
)
from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.store import DeliveryStatus

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


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


@router.get(
    "/providers/{provider_id}/notification-preferences",
    tags=["preferences"],
    response_model=NotificationPreferences,
)
async def get_notification_preferences(
    provider_id: uuid.UUID, principal: StaffPrincipal, session: SessionDep
) -> NotificationPreferences:
    """How the provider hears of its bookings: one e-mail each (the default) or a daily
    digest. The provider itself and its territory's office staff read them."""
    return await service.get_preferences(session, principal, provider_id)


@router.put(
    "/providers/{provider_id}/notification-preferences",
    tags=["preferences"],
    response_model=NotificationPreferences,
)
async def put_notification_preferences(
    provider_id: uuid.UUID,
    body: NotificationPreferencesIn,
    principal: StaffPrincipal,
    session: SessionDep,
) -> NotificationPreferences:
    """Choose one e-mail per booking, rebooking and cancellation (``EACH``) or one
    ``DAILY_DIGEST`` at ``digest_hour`` local time (nothing is sent on a day without
    any). Webhooks are not affected. The provider itself or its office staff."""
    async with session.begin():
        return await service.put_preferences(session, principal, provider_id, body)


def _settings(runtime: RuntimeDep) -> NotificationsSettings:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    return settings


# --- sign-in links ---------------------------------------------------------------------


@router.post(
    "/sign-in-links",
    tags=["sign-in"],
    status_code=202,
    response_model=SignInLinkAccepted,
    summary="E-mail a sign-in link the web front end built",
    responses={
        429: {
            **PROBLEM_RESPONSES[422],
            "description": "Too many sign-in links to this address; see Retry-After",
        },
        503: {
            **PROBLEM_RESPONSES[422],
            "description": "The storefront's address is not configured",
        },
    },
)
async def send_sign_in_link(
    body: SignInLinkIn,
    principal: AdminPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Send ``link`` (already signed by the web front end) to ``email``, in ``locale``,
    saying when it expires (the territory's local time) and that it works once.

    Office staff tokens only (the web front end uses its own for the territory); others
    403. ``link`` must start with the storefront's address followed by ``/``, else 422
    ``link-not-allowed``; without a configured storefront, 503
    ``storefront-not-configured``. ``expires_at`` must be in the future and at most one
    hour ahead. At most 5 mails per address per 15 minutes (429 with ``Retry-After``; a
    retry under the same ``Idempotency-Key`` is not counted again). Answers 202 once the
    mail is recorded: the sender sends it within seconds, and it shows in
    ``GET /v1/messages`` as ``notifications.sign-in`` without its link.
    """
    settings = _settings(runtime)
    service.check_sign_in_link(body.link, settings.storefront_url)
    scope = f"notifications:sign-in-links:{principal.territory_id}:{principal.subject}"
    await service.count_sign_in_mail(
        runtime.redis,
        str(body.email),
        f"{scope}:{idempotency_key}" if idempotency_key else str(uuid.uuid4()),
        limit=settings.sign_in_mail_limit,
        window_seconds=settings.sign_in_mail_window_seconds,
        namespace=settings.kafka_namespace,
    )

    async def execute() -> tuple[int, SignInLinkAccepted]:
        async with session.begin():
            accepted = await service.record_sign_in_link(session, principal, body)
        return 202, accepted

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=scope,
        key=idempotency_key,
        body=body,
        execute=execute,
    )


# --- provider webhooks -----------------------------------------------------------------


@router.post(
    "/webhook-endpoints",
    tags=["webhooks"],
    status_code=201,
    response_model=WebhookEndpointCreated,
)
async def create_webhook_endpoint(
    body: WebhookEndpointIn,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register an endpoint of the calling provider for some of its events.

    The answer holds the signing secret (``whsec_...``), shown this once. Deliveries
    follow Standard Webhooks: headers ``webhook-id`` (the event id, for deduplication),
    ``webhook-timestamp`` and ``webhook-signature``. In production the URL must be
    https and its host must resolve to public addresses only.
    """

    async def execute() -> tuple[int, WebhookEndpointCreated]:
        async with session.begin():
            created = await webhooks.create_endpoint(session, principal, body, _settings(runtime))
        return 201, created

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"notifications:webhook-endpoints:{principal.subject}",
        key=idempotency_key,
        body=body,
        execute=execute,
    )


@router.get("/webhook-endpoints", tags=["webhooks"], response_model=Page[WebhookEndpointPublic])
async def list_webhook_endpoints(
    principal: StaffPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[WebhookEndpointPublic]:
    """A provider's own endpoints; office staff see their territory's."""
    return await webhooks.list_endpoints(session, principal, limit, offset)


@router.get(
    "/webhook-endpoints/{endpoint_id}", tags=["webhooks"], response_model=WebhookEndpointPublic
)
async def get_webhook_endpoint(
    endpoint_id: uuid.UUID, principal: StaffPrincipal, session: SessionDep
) -> WebhookEndpointPublic:
    endpoint = await webhooks.visible_endpoint(session, principal, endpoint_id)
    return WebhookEndpointPublic.model_validate(endpoint, from_attributes=True)


@router.delete("/webhook-endpoints/{endpoint_id}", tags=["webhooks"], status_code=204)
async def disable_webhook_endpoint(
    endpoint_id: uuid.UUID, principal: StaffPrincipal, session: SessionDep
) -> Response:
    """Disable the endpoint: nothing more is sent to it; its queued deliveries are DEAD."""
    async with session.begin():
        await webhooks.disable_endpoint(session, principal, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    tags=["webhooks"],
    response_model=WebhookSecret,
)
async def rotate_webhook_secret(
    endpoint_id: uuid.UUID,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new signing secret. For 24 hours deliveries carry two signatures (space
    separated in ``webhook-signature``), one per secret, so receivers can switch over."""

    async def execute() -> tuple[int, WebhookSecret]:
        async with session.begin():
            rotated = await webhooks.rotate_secret(session, principal, endpoint_id)
        return 200, rotated

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"notifications:webhook-rotate:{principal.subject}:{endpoint_id}",
        key=idempotency_key,
        body={},
        execute=execute,
    )


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    tags=["webhooks"],
    response_model=Page[DeliveryPublic],
)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID,
    principal: StaffPrincipal,
    session: SessionDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DeliveryPublic]:
    """The endpoint's delivery log, newest first; ``status=DEAD`` is its dead letters."""
    return await webhooks.list_deliveries(session, principal, endpoint_id, status, limit, offset)


@router.post(
    "/webhook-deliveries/{delivery_id}/replay", tags=["webhooks"], response_model=DeliveryPublic
)
async def replay_webhook_delivery(
    delivery_id: uuid.UUID,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Queue a DEAD (or DELIVERED) delivery again, with a fresh retry schedule."""

    async def execute() -> tuple[int, DeliveryPublic]:
        async with session.begin():
            replayed = await webhooks.replay_delivery(session, principal, delivery_id)
        return 200, replayed

    return await run_idempotent(
        runtime.redis,
        namespace=runtime.settings.kafka_namespace,
        scope=f"notifications:webhook-replay:{principal.subject}:{delivery_id}",
        key=idempotency_key,
        body={},
        execute=execute,
    )
