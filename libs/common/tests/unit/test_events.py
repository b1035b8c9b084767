from __future__ import annotations

import re
import uuid

import pytest

from comptoir_common.events import ALL_TOPICS, EVENT_TYPES, Envelope, v1
from comptoir_common.inbox import MalformedEvent, parse_event
from comptoir_common.money import fee_cents

TOPIC = re.compile(r"^[a-z]+\.[a-z-]+\.v[0-9]+(\.dlq)?$")


def test_every_topic_is_named_domain_event_version() -> None:
    assert ALL_TOPICS and all(TOPIC.match(t) for t in ALL_TOPICS)
    assert len(set(ALL_TOPICS)) == len(ALL_TOPICS) == 2 * len(EVENT_TYPES)


def test_an_envelope_round_trips_and_keys_by_aggregate() -> None:
    slot = uuid.uuid4()
    event = v1.SlotAvailabilityChanged(
        slot_id=slot,
        activity_id=uuid.uuid4(),
        territory_id=uuid.uuid4(),
        version=3,
        capacity=10,
        on_hold=2,
        confirmed=3,
        remaining=5,
    )
    carrier = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    envelope = Envelope.wrap(event, producer="booking", territory_id=None, trace_carrier=carrier)
    assert envelope.aggregate_id == str(slot)
    assert envelope.trace_carrier() == carrier
    parsed_envelope, parsed = parse_event(
        envelope.model_dump_json().encode(), v1.SlotAvailabilityChanged
    )
    assert parsed == event and parsed_envelope.event_id == envelope.event_id


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"{}", b'{"type": "booking.confirmed.v1"}'],
)
def test_malformed_messages_are_recognised(raw: bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_event(raw, v1.SlotAvailabilityChanged)


def test_an_event_on_the_wrong_topic_is_malformed() -> None:
    event = v1.PaymentFailed(
        reservation_id=uuid.uuid4(),
        provider_id=uuid.uuid4(),
        territory_id=uuid.uuid4(),
        reason="card declined",
    )
    raw = Envelope.wrap(event, producer="payments", territory_id=None).model_dump_json().encode()
    with pytest.raises(MalformedEvent):
        parse_event(raw, v1.PaymentSucceeded)


@pytest.mark.parametrize(
    ("total", "bps", "fee"), [(7000, 0, 0), (7000, 250, 175), (999, 150, 15), (1, 5000, 1)]
)
def test_office_fee_rounds_half_up_to_the_cent(total: int, bps: int, fee: int) -> None:
    assert fee_cents(total, bps) == fee
