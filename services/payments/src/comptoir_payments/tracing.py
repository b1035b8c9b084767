"""What payments' use cases share: span attributes, trace continuation, Stripe metadata."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link

from comptoir_common.telemetry import context_from_carrier, current_trace_carrier, tracer

SERVICE = "payments"
ATTR_STRIPE_EVENT_ID = "comptoir.stripe.event.id"
ATTR_STRIPE_EVENT_TYPE = "comptoir.stripe.event.type"
ATTR_PAYMENT_INTENT_ID = "comptoir.payment_intent.id"
ATTR_REFUND_ID = "comptoir.refund.id"


def metadata_uuid(obj: dict[str, Any], key: str) -> uuid.UUID | None:
    """A UUID we put in a Stripe object's metadata (``reservation_id``...), if well formed."""
    metadata = obj.get("metadata")
    raw = metadata.get(key) if isinstance(metadata, dict) else None
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


@contextmanager
def continue_booking_trace(
    carrier: dict[str, str], name: str, attributes: dict[str, str]
) -> Iterator[dict[str, str]]:
    """A span in the booking's trace, linked both ways with the webhook's own trace.

    Yields the trace carrier to store with the events written from here, so that the
    relay publishes them in the booking's trace.
    """
    webhook_span = trace.get_current_span()
    booking_ctx = trace.get_current_span(context_from_carrier(carrier)).get_span_context()
    if booking_ctx.is_valid:
        webhook_span.add_link(booking_ctx, {"comptoir.link": "booking-trace"})
    webhook_ctx = webhook_span.get_span_context()
    links = [Link(webhook_ctx, {"comptoir.link": "stripe-webhook"})] if webhook_ctx.is_valid else []
    with tracer.start_as_current_span(
        name, context=context_from_carrier(carrier), links=links, attributes=attributes
    ):
        yield current_trace_carrier() or carrier
