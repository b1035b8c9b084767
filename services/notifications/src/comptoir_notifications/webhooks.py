"""Provider webhooks: endpoints, the URL policy, Standard Webhooks signatures, and the
deliveries recorded by the event handlers (``webhook_sender.py`` sends them).

A delivery row is written in the inbox transaction of the event it carries, unique per
(event, endpoint): a redelivered event records nothing new.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from standardwebhooks import Webhook

from comptoir_common.auth import Principal
from comptoir_common.db import utcnow
from comptoir_common.events import Envelope, v1
from comptoir_common.problems import Problem, not_found
from comptoir_common.telemetry import current_trace_carrier
from comptoir_notifications.schemas import (
    DeliveryPublic,
    Page,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointPublic,
    WebhookSecret,
)
from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.store import DeliveryStatus, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("comptoir.notifications.webhooks")

#: Events a provider may subscribe to: each concerns one provider.
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (
    v1.ReservationConfirmed.event_type,
    v1.ReservationCancelled.event_type,
    v1.ReservationRebooked.event_type,
    v1.SlotCancelled.event_type,
    v1.ReservationRedeemed.event_type,
    v1.PayoutUpdated.event_type,
)

#: How long the secret replaced by a rotation keeps signing alongside the new one.
PREVIOUS_SECRET_VALIDITY = timedelta(hours=24)

METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254")})


# --- URL policy ------------------------------------------------------------------------


class UnsafeUrl(ValueError):
    """A webhook URL that must not be called (scheme, or where its host resolves)."""


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address in METADATA_ADDRESSES
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


#: Resolves a host name to the addresses to check (and connect to): ``(host, port)``.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%")[0] for info in infos]


@dataclass(frozen=True)
class CheckedUrl:
    """A webhook URL that passed the policy, and the address it was checked with."""

    url: str
    #: The checked address to connect to; None for an allow-listed host (outside
    #: production), connected to as named.
    address: str | None

    def target(self) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        """What to ask httpx for: the URL with its host replaced by the checked address,
        the ``Host`` header, and the TLS server name (``sni_hostname``, also the name the
        certificate is verified against), both carrying the name.

        The connection goes to the address that was checked, so a second DNS answer
        (rebinding to a private address after the check) is never used.
        """
        named = httpx.URL(self.url)
        if self.address is None:
            return named, {}, {}
        pinned = named.copy_with(host=self.address)
        return pinned, {"host": named.netloc.decode("ascii")}, {"sni_hostname": named.host}


async def check_url(
    url: str, settings: NotificationsSettings, resolve: Resolver = system_resolver
) -> CheckedUrl:
    """Refuse a URL unless it is https and its host resolves to public addresses only.

    Outside production, hosts of ``COMPTOIR_WEBHOOK_ALLOWED_HOSTS`` may be http and
    resolve anywhere. Checked at registration and again before every attempt (the
    host's DNS answer may have changed since): the host is resolved once, every address
    it resolves to is checked, and the attempt connects to one of those very addresses
    (``CheckedUrl.target``).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise UnsafeUrl("the URL must be http(s)://host/...")
    if parts.username or parts.password:
        raise UnsafeUrl("the URL must not carry credentials")
    if host in settings.webhook_allowed_host_set:
        return CheckedUrl(url, None)
    if parts.scheme != "https":
        raise UnsafeUrl("the URL must use https")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = await resolve(host, port or 443)
            addresses = [ipaddress.ip_address(a) for a in found]
        except (OSError, ValueError) as exc:
            raise UnsafeUrl(f"the host does not resolve: {exc}") from exc
    if not addresses or any(_forbidden(a) for a in addresses):
        raise UnsafeUrl(
            "the host resolves to a loopback, private, link-local, multicast, "
            "unspecified or metadata address"
        )
    return CheckedUrl(url, str(addresses[0]))


# --- secrets and signatures ------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one during the day after a rotation."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


def body_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signed_headers(
    message_id: str, timestamp: datetime, body: str, secrets_: list[str]
) -> dict[str, str]:
    """Standard Webhooks headers; one ``v1,...`` signature per secret, space separated."""
    signatures = [Webhook(secret).sign(message_id, timestamp, body) for secret in secrets_]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }


def retry_delay(attempts: int, schedule: list[float]) -> float | None:
    """Wait before the next attempt after ``attempts`` failed ones; None: give up."""
    return schedule[attempts - 1] if 1 <= attempts <= len(schedule) else None


# --- recording deliveries (inside the inbox transaction) -------------------------------


def webhook_payload(envelope: Envelope) -> dict[str, Any]:
    """What a provider receives: the event without the visitor's contact details."""
    data = dict(envelope.data)
    visitor = data.get("visitor")
    if isinstance(visitor, dict):
        data["visitor"] = {"name": visitor.get("name")}
    data.pop("visitor_token", None)
    return {
        "event_id": str(envelope.event_id),
        "type": envelope.type,
        "occurred_at": envelope.occurred_at.isoformat(),
        "data": data,
    }


async def record_deliveries(
    session: AsyncSession, envelope: Envelope, provider_id: uuid.UUID, territory_id: uuid.UUID
) -> int:
    """One delivery per enabled endpoint of the provider subscribed to this event type."""
    if envelope.type not in WEBHOOK_EVENT_TYPES:
        return 0
    endpoint_ids = (
        await session.scalars(
            select(col(WebhookEndpoint.id))
            .where(col(WebhookEndpoint.provider_id) == provider_id)
            .where(col(WebhookEndpoint.territory_id) == territory_id)
            .where(col(WebhookEndpoint.enabled).is_(True))
            .where(col(WebhookEndpoint.event_types).contains([envelope.type]))
        )
    ).all()
    if not endpoint_ids:
        return 0
    payload = webhook_payload(envelope)
    carrier = current_trace_carrier()
    recorded = await session.scalars(
        insert(WebhookDelivery)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "endpoint_id": endpoint_id,
                    "event_id": envelope.event_id,
                    "event_type": envelope.type,
                    "payload": payload,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": utcnow(),
                    "trace_headers": carrier,
                    "created_at": utcnow(),
                }
                for endpoint_id in endpoint_ids
            ]
        )
        .on_conflict_do_nothing(constraint="uq_webhook_delivery_event_endpoint")
        .returning(col(WebhookDelivery.id))
    )
    count = len(recorded.all())
    log.info(
        "webhook deliveries recorded",
        extra={"event_id": str(envelope.event_id), "deliveries": count},
    )
    return count


# --- endpoints (HTTP use cases) --------------------------------------------------------


def _require_provider(principal: Principal) -> uuid.UUID:
    if principal.role != "provider" or principal.provider_id is None:
        raise Problem(403, "Only the provider manages its webhook endpoints.", kind="forbidden")
    return principal.provider_id


def _public(endpoint: WebhookEndpoint) -> WebhookEndpointPublic:
    return WebhookEndpointPublic.model_validate(endpoint, from_attributes=True)


async def create_endpoint(
    session: AsyncSession,
    principal: Principal,
    body: WebhookEndpointIn,
    settings: NotificationsSettings,
) -> WebhookEndpointCreated:
    provider_id = _require_provider(principal)
    unknown = sorted(set(body.event_types) - set(WEBHOOK_EVENT_TYPES))
    if unknown:
        raise Problem(
            422,
            f"Unknown or unsubscribable event types: {', '.join(unknown)}. "
            f"Known: {', '.join(WEBHOOK_EVENT_TYPES)}.",
            kind="unknown-event-type",
        )
    try:
        await check_url(body.url, settings)
    except UnsafeUrl as exc:
        raise Problem(422, f"This URL is refused: {exc}", kind="unsafe-webhook-url") from exc
    endpoint = WebhookEndpoint(
        territory_id=principal.territory_id,
        provider_id=provider_id,
        url=body.url,
        event_types=sorted(set(body.event_types)),
        description=body.description,
        secret=new_secret(),
    )
    session.add(endpoint)
    await session.flush()
    return WebhookEndpointCreated(**_public(endpoint).model_dump(), secret=endpoint.secret)


async def visible_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(col(WebhookEndpoint.id) == endpoint_id)
    if lock:
        query = query.with_for_update()
    endpoint = await session.scalar(query)
    if endpoint is None or not principal.sees_provider(endpoint.provider_id, endpoint.territory_id):
        raise not_found("webhook endpoint")
    return endpoint


async def list_endpoints(
    session: AsyncSession, principal: Principal, limit: int, offset: int
) -> Page[WebhookEndpointPublic]:
    """A provider sees its own endpoints; office staff their territory's."""
    query = select(WebhookEndpoint).where(
        col(WebhookEndpoint.territory_id) == principal.territory_id
    )
    if not principal.is_admin:
        query = query.where(col(WebhookEndpoint.provider_id) == principal.provider_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(col(WebhookEndpoint.created_at)).limit(limit).offset(offset)
    )
    return Page(items=[_public(e) for e in rows], total=total, limit=limit, offset=offset)


async def disable_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> None:
    """Stop sending to it; its pending deliveries become DEAD (replayable elsewhere: no)."""
    _require_provider(principal)
    endpoint = await visible_endpoint(session, principal, endpoint_id, lock=True)
    if not endpoint.enabled:
        return
    endpoint.enabled = False
    endpoint.disabled_at = utcnow()
    await session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.endpoint_id) == endpoint.id)
        .where(col(WebhookDelivery.status) == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.DEAD, last_error="endpoint disabled")
    )


async def rotate_secret(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookSecret:
    """A new secret; the replaced one keeps signing alongside for 24 hours."""
    _require_provider(principal)
    endpoint = await visible_endpoint(session, principal, endpoint_id, lock=True)
    if not endpoint.enabled:
        raise Problem(409, "This webhook endpoint is disabled.", kind="endpoint-disabled")
    now = utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_VALIDITY
    endpoint.secret = new_secret()
    return WebhookSecret(
        id=endpoint.id,
        secret=endpoint.secret,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
    )


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    status: DeliveryStatus | None,
    limit: int,
    offset: int,
) -> Page[DeliveryPublic]:
    await visible_endpoint(session, principal, endpoint_id)
    query = select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint_id)
    if status is not None:
        query = query.where(col(WebhookDelivery.status) == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(col(WebhookDelivery.created_at).desc()).limit(limit).offset(offset)
    )
    items = [DeliveryPublic.model_validate(d, from_attributes=True) for d in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def replay_delivery(
    session: AsyncSession, principal: Principal, delivery_id: uuid.UUID
) -> DeliveryPublic:
    """Queue a DEAD or DELIVERED delivery again, with a fresh retry schedule."""
    _require_provider(principal)
    delivery = await session.scalar(
        select(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).with_for_update()
    )
    if delivery is None:
        raise not_found("webhook delivery")
    endpoint = await visible_endpoint(session, principal, delivery.endpoint_id)
    if not endpoint.enabled:
        raise Problem(409, "This webhook endpoint is disabled.", kind="endpoint-disabled")
    if delivery.status == DeliveryStatus.PENDING:
        raise Problem(409, "This delivery is still queued.", kind="delivery-pending")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.delivered_at = None
    await session.flush()
    return DeliveryPublic.model_validate(delivery, from_attributes=True)
