"""Inbox: idempotent Kafka consumers with bounded retries and a dead-letter topic.

Each handled event id is recorded in the ``inbox`` table in the same transaction as
the handler's effects (including any events it adds to the outbox). A redelivered event
finds its id there and changes nothing. A message that cannot be parsed goes straight
to ``<topic>.dlq``; one whose handler keeps failing goes there after
``max_attempts`` tries. Either way the reason rides in the headers and the consumer
moves on to the next message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy import Column, String, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from comptoir_common.db import SessionFactory, Timestamp, utcnow
from comptoir_common.events.envelope import Envelope, EventPayload, dlq_topic
from comptoir_common.telemetry import ATTR_EVENT_ID, ATTR_EVENT_TYPE

log = logging.getLogger("comptoir.inbox")

P = TypeVar("P", bound=EventPayload)
Handler = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]

DLQ_REASON = "comptoir-dlq-reason"
DLQ_SOURCE_TOPIC = "comptoir-dlq-source-topic"
DLQ_ATTEMPTS = "comptoir-dlq-attempts"
DLQ_SOURCE_OFFSET = "comptoir-dlq-source-offset"
DLQ_CONSUMER = "comptoir-dlq-consumer"


class InboxMessage(SQLModel, table=True):
    __tablename__ = "inbox"

    event_id: uuid.UUID = Field(primary_key=True)
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


async def purge_handled(session: AsyncSession, older_than_days: int = 30) -> None:
    """Forget event ids long past any redelivery (Kafka keeps messages 7 days by default)."""
    await session.execute(
        text("DELETE FROM inbox WHERE received_at < now() - make_interval(days => :d)"),
        {"d": older_than_days},
    )


class MalformedEvent(ValueError):
    pass


def parse_event(raw: bytes, contract: type[P]) -> tuple[Envelope, P]:
    try:
        envelope = Envelope.model_validate_json(raw)
        if envelope.type != contract.event_type:
            raise MalformedEvent(
                f"type {envelope.type!r} does not belong on {contract.event_type!r}"
            )
        return envelope, contract.model_validate(envelope.data)
    except ValidationError as exc:
        # Never echo the input: a malformed event may carry a visitor's name or e-mail.
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise MalformedEvent(_one_line(problems)) from exc


def _one_line(text: str, limit: int = 500) -> str:
    return " ".join(text.split())[:limit]


class Consumers:
    """The event handlers of one service, subscribed on one Kafka broker."""

    def __init__(
        self,
        *,
        service: str,
        topic_prefix: str = "",
        max_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
    ) -> None:
        self.service = service
        self.topic_prefix = topic_prefix
        self.max_attempts = max_attempts
        self.retry_backoff_seconds = retry_backoff_seconds
        self.handlers: dict[type[EventPayload], Handler] = {}
        self.sessions: SessionFactory | None = None
        self.broker: KafkaBroker | None = None
        self.dead_lettered = 0

    def on(self, contract: type[P]) -> Callable[[Handler], Handler]:
        """Decorator: ``@consumers.on(HoldPlaced) async def f(session, envelope, payload)``."""

        def register(handler: Handler) -> Handler:
            self.handlers[contract] = handler
            return handler

        return register

    def subscribe(self, broker: KafkaBroker, sessions: SessionFactory) -> None:
        """One Kafka consumer for all of the service's topics: one group join, one rebalance."""
        self.broker = broker
        self.sessions = sessions
        if not self.handlers:
            return
        by_topic = {self.topic_prefix + c.event_type: c for c in self.handlers}

        async def consume(msg: KafkaMessage) -> None:
            record = msg.raw_message
            contract = by_topic[record.topic]  # type: ignore[union-attr]
            await self.process(contract, record.value or b"", msg)  # type: ignore[union-attr]

        subscriber = broker.subscriber(
            *by_topic,
            group_id=self.topic_prefix + self.service,
            ack_policy=AckPolicy.ACK,
            auto_offset_reset="earliest",
            include_in_schema=False,
        )
        subscriber(consume)

    async def process(
        self, contract: type[EventPayload], raw: bytes, msg: KafkaMessage | None = None
    ) -> str:
        """Handle one message; answers ``applied``, ``duplicate`` or ``dead-lettered``."""
        try:
            envelope, payload = parse_event(raw, contract)
        except MalformedEvent as exc:
            await self.dead_letter(contract, raw, msg, f"malformed: {exc}", attempts=0)
            return "dead-lettered"
        span = trace.get_current_span()
        span.set_attribute(ATTR_EVENT_ID, str(envelope.event_id))
        span.set_attribute(ATTR_EVENT_TYPE, envelope.type)
        handler = self.handlers[contract]
        assert self.sessions is not None
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self.sessions() as session, session.begin():
                    claimed = await session.scalar(
                        insert(InboxMessage)
                        .values(event_id=envelope.event_id, event_type=envelope.type)
                        .on_conflict_do_nothing()
                        .returning(InboxMessage.event_id)  # type: ignore[call-overload]
                    )
                    if claimed is None:
                        log.info(
                            "duplicate event ignored",
                            extra={"event_id": str(envelope.event_id), "event_type": envelope.type},
                        )
                        return "duplicate"
                    await handler(session, envelope, payload)
                return "applied"
            except Exception as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "event handler failed",
                    extra={
                        "event_id": str(envelope.event_id),
                        "event_type": envelope.type,
                        "attempt": attempt,
                        "error": _one_line(last_error),
                    },
                    exc_info=attempt == self.max_attempts,
                )
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_backoff_seconds * 2 ** (attempt - 1))
        await self.dead_letter(
            contract, raw, msg, f"failed: {last_error}", attempts=self.max_attempts
        )
        return "dead-lettered"

    async def dead_letter(
        self,
        contract: type[EventPayload],
        raw: bytes,
        msg: KafkaMessage | None,
        reason: str,
        *,
        attempts: int,
    ) -> None:
        source = self.topic_prefix + contract.event_type
        headers = {
            DLQ_REASON: _one_line(reason),
            DLQ_SOURCE_TOPIC: source,
            DLQ_ATTEMPTS: str(attempts),
            DLQ_CONSUMER: self.service,
        }
        key = None
        if msg is not None:
            record = msg.raw_message
            headers[DLQ_SOURCE_OFFSET] = f"{record.partition}:{record.offset}"  # type: ignore[union-attr]
            key = record.key  # type: ignore[union-attr]
        assert self.broker is not None
        await self.broker.publish(raw, topic=dlq_topic(source), key=key, headers=headers)
        self.dead_lettered += 1
        log.error(
            "event sent to dead-letter topic",
            extra={"topic": source, "reason": headers[DLQ_REASON], "attempts": attempts},
        )
