"""Transactional outbox and its relay.

A use case writes its state change and ``add_event(...)`` in one transaction, so an
event is published if and only if the change committed. The relay then publishes
pending rows in id order with the idempotent producer (acks=all) and marks them
published. Only one relay of a service publishes at a time (a transaction-level
advisory lock per batch), so per-key order holds even with several processes. A crash
between sending and marking re-sends the batch: consumers drop duplicates by event id.

The row keeps the W3C trace context of the code that wrote it; the relay publishes under
that context, so the trace continues through Kafka.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import BigInteger, Column, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from comptoir_common.db import SessionFactory, Timestamp, utcnow
from comptoir_common.events.envelope import Envelope, EventPayload
from comptoir_common.telemetry import context_from_carrier, current_trace_carrier

log = logging.getLogger("comptoir.outbox")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    event_id: uuid.UUID = Field(unique=True)
    topic: str = Field(sa_column=Column(String(200), nullable=False))
    key: str = Field(sa_column=Column(String(200), nullable=False))
    envelope: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    trace_headers: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    published_at: datetime | None = Field(default=None, sa_type=Timestamp())


def add_event(
    session: AsyncSession,
    payload: EventPayload,
    *,
    producer: str,
    territory_id: uuid.UUID | None,
    trace_carrier: dict[str, str] | None = None,
) -> Envelope:
    """Record an event to publish when (and only if) ``session``'s transaction commits."""
    carrier = trace_carrier if trace_carrier is not None else current_trace_carrier()
    envelope = Envelope.wrap(
        payload, producer=producer, territory_id=territory_id, trace_carrier=carrier
    )
    session.add(
        OutboxMessage(
            event_id=envelope.event_id,
            topic=envelope.type,
            key=envelope.aggregate_id,
            envelope=envelope.model_dump(mode="json"),
            trace_headers=carrier,
        )
    )
    return envelope


#: Columns of an outbox row (``OutboxRow``'s, then its creation time), for hand-written
#: statements.
OUTBOX_COLUMNS = "event_id, topic, key, envelope, trace_headers, created_at"


@dataclass(frozen=True)
class OutboxRow:
    """An outbox row ready for a hand-written ``INSERT`` (JSON columns as text): for hot
    paths that write their state change and its event in one statement."""

    event_id: uuid.UUID
    topic: str
    key: str
    envelope: str
    trace_headers: str


def outbox_row(
    payload: EventPayload,
    *,
    producer: str,
    territory_id: uuid.UUID | None,
    trace_carrier: dict[str, str],
) -> OutboxRow:
    """The row ``add_event`` would write, for a statement that inserts it itself."""
    envelope = Envelope.wrap(
        payload, producer=producer, territory_id=territory_id, trace_carrier=trace_carrier
    )
    return OutboxRow(
        event_id=envelope.event_id,
        topic=envelope.type,
        key=envelope.aggregate_id,
        envelope=envelope.model_dump_json(),
        trace_headers=json.dumps(trace_carrier),
    )


def message_headers(event_id: object, event_type: str, schema_version: object) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "comptoir-event-id": str(event_id),
        "comptoir-event-type": event_type,
        "comptoir-schema-version": str(schema_version),
    }


class OutboxRelay:
    """Publishes a service's outbox to Kafka; run one or many, one publishes at a time."""

    def __init__(
        self,
        sessions: SessionFactory,
        broker: KafkaBroker,
        *,
        service: str,
        topic_prefix: str = "",
        poll_seconds: float = 0.1,
        batch_size: int = 500,
    ) -> None:
        self.sessions = sessions
        self.broker = broker
        self.topic_prefix = topic_prefix
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.lock_key = zlib.crc32(f"comptoir-outbox-{service}".encode())
        self.published = 0

    async def run(self) -> None:
        while True:
            try:
                sent = await self.publish_batch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay batch failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if sent < self.batch_size:
                # After a partial batch, a short pause lets the next one gather the events
                # written meanwhile instead of publishing them a few at a time.
                await asyncio.sleep(self.poll_seconds if sent == 0 else self.gather_seconds)

    #: How long the relay waits after a partial batch (see ``run``).
    gather_seconds = 0.02

    async def publish_batch(self) -> int:
        # The relay's own statements would each make a trace of their own, many a second:
        # only the publications, which continue the trace of each event, are traced.
        with suppress_instrumentation():
            return await self._publish_batch()

    async def _publish_batch(self) -> int:
        async with self.sessions() as session, session.begin():
            locked = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self.lock_key}
            )
            if not locked:
                return 0
            rows = (await session.execute(_PENDING, {"limit": self.batch_size})).all()
            if not rows:
                return 0
            pending = [await self._send(row) for row in rows]
            await asyncio.gather(*pending)
            await session.execute(
                text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)"),
                {"ids": [row.id for row in rows]},
            )
        self.published += len(rows)
        return len(rows)

    async def _send(self, row: Any) -> asyncio.Future[Any]:
        token = otel_context.attach(context_from_carrier(row.trace_headers))
        try:
            return await self.broker.publish(
                row.envelope.encode(),
                topic=self.topic_prefix + row.topic,
                key=row.key.encode(),
                headers=message_headers(row.event_id, row.topic, row.schema_version),
                no_confirm=True,
            )
        finally:
            otel_context.detach(token)


#: Pending rows in order, the envelope as the JSON text to publish (never decoded).
_PENDING = text(
    "SELECT id, event_id, topic, key, envelope::text AS envelope, trace_headers, "
    "envelope->>'schema_version' AS schema_version FROM outbox "
    "WHERE published_at IS NULL ORDER BY id LIMIT :limit"
)


async def purge_published(session: AsyncSession, older_than_hours: int = 72) -> None:
    await session.execute(
        text("DELETE FROM outbox WHERE published_at < now() - make_interval(hours => :h)"),
        {"h": older_than_hours},
    )
