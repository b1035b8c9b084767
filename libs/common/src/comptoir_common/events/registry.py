"""Every event type the platform knows, by name: the one list of topics."""

from __future__ import annotations

from comptoir_common.events import v1
from comptoir_common.events.envelope import EventPayload, dlq_topic

EVENT_TYPES: dict[str, type[EventPayload]] = {model.event_type: model for model in v1.CONTRACTS}

#: Every topic the platform uses, with its dead-letter twin.
ALL_TOPICS: list[str] = [t for name in EVENT_TYPES for t in (name, dlq_topic(name))]


def contract_for(event_type: str) -> type[EventPayload]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise LookupError(f"unknown event type {event_type!r}") from None
