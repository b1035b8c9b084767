"""Event contracts shared by every service: one envelope, one module per major version."""

from comptoir_common.events.envelope import Envelope, EventPayload, dlq_topic
from comptoir_common.events.registry import ALL_TOPICS, EVENT_TYPES, contract_for

__all__ = ["ALL_TOPICS", "EVENT_TYPES", "Envelope", "EventPayload", "contract_for", "dlq_topic"]
