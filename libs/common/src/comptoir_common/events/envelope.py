"""The envelope every Kafka message carries, whatever its type."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class EventPayload(BaseModel):
    """Base of every event contract.

    ``event_type`` is also the topic name (``<domain>.<event>.v<major>``);
    ``aggregate_field`` names the payload field whose value keys the Kafka message, so
    that one aggregate's events stay in order on one partition.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    aggregate_field: ClassVar[str]
    description: ClassVar[str] = ""

    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_field))


class Envelope(BaseModel):
    """Metadata around a payload. ``data`` holds the event contract's fields."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    schema_version: int
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    territory_id: uuid.UUID | None = None
    aggregate_id: str
    traceparent: str | None = None
    tracestate: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: EventPayload,
        *,
        producer: str,
        territory_id: uuid.UUID | None,
        trace_carrier: dict[str, str] | None = None,
    ) -> Envelope:
        carrier = trace_carrier or {}
        return cls(
            type=payload.event_type,
            schema_version=payload.schema_version,
            producer=producer,
            territory_id=territory_id,
            aggregate_id=payload.aggregate_id(),
            traceparent=carrier.get("traceparent"),
            tracestate=carrier.get("tracestate"),
            data=payload.model_dump(mode="json"),
        )

    def trace_carrier(self) -> dict[str, str]:
        carrier = {}
        if self.traceparent:
            carrier["traceparent"] = self.traceparent
        if self.tracestate:
            carrier["tracestate"] = self.tracestate
        return carrier


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"
