"""The webhook sender: a background loop that posts due deliveries to providers.

1. claim: in one short committed transaction, take due PENDING rows (``FOR UPDATE
   SKIP LOCKED``) and move their ``next_attempt_at`` past the attempt (a lease: if this
   process dies mid-send, another claims the row once the lease is over);
2. send each with httpx, concurrently (at most ``webhook_concurrency`` in flight; a slow
   endpoint holds one slot, never the others), with no database transaction open,
   redirects not followed, the URL policy checked again first (DNS may have changed)
   and the connection made to the very address that was checked (no second lookup);
3. record the outcome in a second short transaction: DELIVERED on 2xx; otherwise
   PENDING again after the next wait of the retry schedule, or DEAD once it is used up.

Webhooks are delivered at least once: receivers deduplicate on ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import select, update
from sqlmodel import col

from comptoir_common.db import SessionFactory, utcnow
from comptoir_common.service import Runtime
from comptoir_common.telemetry import ATTR_EVENT_ID, context_from_carrier
from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.store import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from comptoir_notifications.webhooks import (
    Resolver,
    UnsafeUrl,
    body_of,
    check_url,
    retry_delay,
    signed_headers,
    signing_secrets,
    system_resolver,
)

log = logging.getLogger("comptoir.notifications.webhooks")
tracer = trace.get_tracer("comptoir.notifications")

ATTR_DELIVERY_ID = "comptoir.webhook.delivery_id"
ATTR_ENDPOINT_ID = "comptoir.webhook.endpoint_id"
ATTR_ATTEMPT = "comptoir.webhook.attempt"


@dataclass(frozen=True)
class Claimed:
    """What one attempt needs, read in the claim transaction."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    attempt: int
    url: str
    secrets: list[str]
    payload: dict[str, Any]
    trace_headers: dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    status_code: int | None = None
    error: str | None = None


class WebhookSender:
    def __init__(
        self,
        sessions: SessionFactory,
        settings: NotificationsSettings,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.resolve = resolve
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=settings.webhook_timeout_seconds,
            # No connection is kept for another request: each attempt connects to the
            # address its own check resolved (two names on one address never share one).
            limits=httpx.Limits(
                max_connections=settings.webhook_concurrency * 2, max_keepalive_connections=0
            ),
            headers={"user-agent": "Comptoir-Webhooks/1"},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run(self) -> None:
        """Keep up to ``webhook_concurrency`` deliveries in flight, claiming as slots free."""
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                claimed: list[Claimed] = []
                free = self.settings.webhook_concurrency - len(in_flight)
                if free > 0:
                    try:
                        claimed = await self.claim(free)
                    except Exception:
                        log.exception("webhook claim failed; retrying")
                for item in claimed:
                    task = asyncio.create_task(self.deliver(item))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if claimed and len(in_flight) < self.settings.webhook_concurrency:
                    continue
                if in_flight:
                    await asyncio.wait(
                        in_flight,
                        timeout=self.settings.webhook_poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                else:
                    await asyncio.sleep(self.settings.webhook_poll_seconds)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def send_due(self) -> int:
        """One round (tests, tools): claim what is due and send it all; how many."""
        claimed = await self.claim(self.settings.webhook_concurrency)
        await asyncio.gather(*(self.deliver(item) for item in claimed))
        return len(claimed)

    async def claim(self, limit: int) -> list[Claimed]:
        now = utcnow()
        lease = timedelta(seconds=self.settings.webhook_timeout_seconds + 60)
        claimed: list[Claimed] = []
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(WebhookDelivery, WebhookEndpoint)
                    .join(
                        WebhookEndpoint,
                        col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id),
                    )
                    .where(col(WebhookDelivery.status) == DeliveryStatus.PENDING)
                    .where(col(WebhookDelivery.next_attempt_at) <= now)
                    .order_by(col(WebhookDelivery.next_attempt_at))
                    .limit(limit)
                    .with_for_update(of=WebhookDelivery, skip_locked=True)  # type: ignore[arg-type]
                )
            ).all()
            for delivery, endpoint in rows:
                delivery.attempts += 1
                delivery.next_attempt_at = now + lease
                claimed.append(
                    Claimed(
                        id=delivery.id,
                        endpoint_id=endpoint.id,
                        event_id=delivery.event_id,
                        event_type=delivery.event_type,
                        attempt=delivery.attempts,
                        url=endpoint.url,
                        secrets=signing_secrets(endpoint, now),
                        payload=delivery.payload,
                        trace_headers=delivery.trace_headers,
                    )
                )
        return claimed

    async def deliver(self, item: Claimed) -> None:
        """One attempt in the trace of the event's handler, then its outcome recorded."""
        token = otel_context.attach(context_from_carrier(item.trace_headers))
        try:
            with tracer.start_as_current_span(
                "webhook send",
                kind=SpanKind.CLIENT,
                attributes={
                    ATTR_DELIVERY_ID: str(item.id),
                    ATTR_ENDPOINT_ID: str(item.endpoint_id),
                    ATTR_EVENT_ID: str(item.event_id),
                    ATTR_ATTEMPT: item.attempt,
                },
            ) as span:
                attempt = await self.transmit(item)
                if attempt.status_code is not None:
                    span.set_attribute("http.response.status_code", attempt.status_code)
                if not attempt.delivered:
                    span.set_status(Status(StatusCode.ERROR, attempt.error or "failed"))
            await self.record(item, attempt)
        except Exception:
            log.exception("webhook delivery failed unexpectedly", extra={"id": str(item.id)})
        finally:
            otel_context.detach(token)

    async def transmit(self, item: Claimed) -> Attempt:
        """The HTTP exchange, bounded in time; never inside a database transaction."""
        timeout = self.settings.webhook_timeout_seconds
        try:
            checked = await check_url(item.url, self.settings, self.resolve)
        except UnsafeUrl as exc:
            return Attempt(False, error=f"URL refused: {exc}")
        url, host_header, extensions = checked.target()
        body = body_of(item.payload)
        headers = signed_headers(str(item.event_id), utcnow(), body, item.secrets) | host_header
        try:
            async with (
                asyncio.timeout(timeout),
                self.client.stream(
                    "POST", url, content=body.encode(), headers=headers, extensions=extensions
                ) as r,
            ):
                status = r.status_code
        except TimeoutError:
            return Attempt(False, error=f"no answer within {timeout:g}s")
        except httpx.HTTPError as exc:
            return Attempt(False, error=f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= status < 300:
            return Attempt(True, status)
        if 300 <= status < 400:
            return Attempt(False, status, f"HTTP {status}: redirects are not followed")
        return Attempt(False, status, f"HTTP {status}")

    async def record(self, item: Claimed, attempt: Attempt) -> None:
        now = utcnow()
        values: dict[str, Any] = {"last_status_code": attempt.status_code}
        if attempt.delivered:
            values |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "last_error": None}
        else:
            delay = retry_delay(item.attempt, self.settings.webhook_retry_schedule_seconds)
            values["last_error"] = attempt.error
            if delay is None:
                values["status"] = DeliveryStatus.DEAD
            else:
                values["next_attempt_at"] = now + timedelta(seconds=delay)
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == item.id)
                .where(col(WebhookDelivery.status) == DeliveryStatus.PENDING)
                .where(col(WebhookDelivery.attempts) == item.attempt)
                .values(**values)
            )
        extra = {
            "delivery_id": str(item.id),
            "endpoint_id": str(item.endpoint_id),
            "event_id": str(item.event_id),
            "attempt": item.attempt,
            "status_code": attempt.status_code or 0,
        }
        if attempt.delivered:
            log.info("webhook delivered", extra=extra)
        else:
            log.warning(
                "webhook attempt failed",
                extra={**extra, "error": attempt.error, "dead": "status" in values},
            )


async def webhook_sender(runtime: Runtime) -> None:
    """Background loop of the service process (``ServiceSpec.background``)."""
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    sender = WebhookSender(runtime.sessions, settings)
    try:
        await sender.run()
    finally:
        await sender.aclose()
