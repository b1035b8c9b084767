"""Stripe's webhooks as Stripe really delivers them: late, twice or five times, out of
order, racing the visitor's return page, or while payments is down; and a payment that
lands after its hold expired and its seats were sold to someone else.

Whatever the delivery, a paid reservation ends with one confirmation, one e-mail to the
visitor and one ledger transaction for its charge; money taken for seats that are gone
goes back to the visitor by itself.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from comptoir_ops import stripe_sim
from comptoir_ops.platform import Platform
from tests.e2e.booking_support import booking_processes
from tests.e2e.conftest import (
    Territory,
    mails_to,
    make_offer,
    reservation_of,
    reserve,
    wait_consumed,
    wait_for,
    wait_payment,
    wait_status,
)
from tests.e2e.payments_support import (
    booking_events,
    deliver,
    ledger_of,
    never_goes_back,
    post_event,
    repeated_and_shuffled,
    return_page,
    seats,
    topic_messages,
    visitor_messages,
)

pytestmark = pytest.mark.e2e

RESERVATION_ORDER = ("ON_HOLD", "CONFIRMED")
PAYMENT_ORDER = ("PENDING", "REQUIRES_PAYMENT", "SUCCEEDED")


def _paid_once(platform: Platform, t: Territory, hold: dict[str, Any], email: str) -> None:
    """One confirmation, one confirmation e-mail, one ledger transaction for the charge."""
    wait_status(platform, hold, "CONFIRMED")
    wait_consumed(platform, "booking", "payments.payment-succeeded.v1")
    wait_for(
        lambda: [
            m
            for m in visitor_messages(t, hold["id"], "booking.confirmed.v1")
            if m["status"] == "SENT"
        ],
        "the visitor's confirmation to be sent",
    )
    wait_consumed(platform, "notifications", "booking.confirmed.v1")
    assert len(visitor_messages(t, hold["id"], "booking.confirmed.v1")) == 1
    assert len(mails_to(email)) == 1
    assert len(topic_messages(platform, "payments.payment-succeeded.v1", hold["id"])) == 1
    assert len(topic_messages(platform, "booking.confirmed.v1", hold["id"])) == 1
    charges = [txn for txn in ledger_of(t, hold["id"]) if txn["kind"] == "payment"]
    assert len(charges) == 1
    assert {e["account"]: e["amount_cents"] for e in charges[0]["entries"]}[
        "visitor_payments"
    ] == -int(hold["total_cents"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_event_delivered_one_to_five_times_shuffled_racing_the_return_page(
    platform: Platform, territory: Territory, seed: int
) -> None:
    rng = random.Random(seed)
    offer = make_offer(platform, territory, capacity=6)
    email = f"shuffled-{uuid.uuid4().hex[:8]}@example.org"
    hold = reserve(platform, offer, adults=2, email=email).json()
    payment = wait_payment(territory, hold["id"])
    deliveries = repeated_and_shuffled(booking_events(payment), rng)

    with return_page(platform, hold["id"], hold["visitor_token"]) as seen:
        answers = deliver(platform, deliveries)
        wait_status(platform, hold, "CONFIRMED")

    order = [d.type for d in deliveries]
    assert [a.status_code for a in answers] == [200] * len(deliveries), order
    outcomes = [a.json()["outcome"] for a in answers]
    assert sum(o.startswith("applied: payment") for o in outcomes) == 1, (order, outcomes)
    assert seen.errors == []
    assert never_goes_back(seen.reservation_statuses, RESERVATION_ORDER), seen
    assert never_goes_back(seen.payment_statuses, PAYMENT_ORDER), seen
    assert seen.reservation_statuses[-1] == "CONFIRMED"
    assert seen.payment_statuses[-1] == "SUCCEEDED"
    _paid_once(platform, territory, hold, email)
    assert seats(platform, offer.slot_id) == (0, 2, 4)


@pytest.fixture
def payments_restarted(platform: Platform) -> Iterator[None]:
    """Whatever the test does to the payments process, it is back up afterwards."""
    yield
    platform.start(services=["payments"])
    platform.wait_ready(services=["payments"])


def test_webhooks_retried_after_payments_was_down_lose_and_double_nothing(
    platform: Platform, territory: Territory, payments_restarted: None
) -> None:
    offer = make_offer(platform, territory, capacity=6)
    first_email = f"before-{uuid.uuid4().hex[:8]}@example.org"
    first = reserve(platform, offer, adults=2, email=first_email).json()
    first_events = booking_events(wait_payment(territory, first["id"]))

    platform.stop(services=["payments"])
    # Stripe cannot reach payments: its deliveries fail and it will retry them later.
    with pytest.raises(httpx.ConnectError):
        post_event(platform, first_events[-1].payload)
    # A hold placed meanwhile waits in Kafka for payments to come back.
    second_email = f"during-{uuid.uuid4().hex[:8]}@example.org"
    second = reserve(platform, offer, adults=1, email=second_email).json()
    assert second["status"] == "ON_HOLD"

    platform.start(services=["payments"])
    platform.wait_ready(services=["payments"])
    second_events = booking_events(wait_payment(territory, second["id"]))
    # Stripe's retries of what it could not deliver, then replays of all of it.
    rng = random.Random(4)
    answers = deliver(
        platform,
        repeated_and_shuffled(first_events, rng, most=3)
        + repeated_and_shuffled(second_events, rng, most=3),
    )
    assert {a.status_code for a in answers} == {200}
    answers = deliver(platform, repeated_and_shuffled(first_events + second_events, rng, most=2))
    assert {a.status_code for a in answers} == {200}
    assert not any(a.json()["outcome"].startswith("applied") for a in answers)

    _paid_once(platform, territory, first, first_email)
    _paid_once(platform, territory, second, second_email)
    assert seats(platform, offer.slot_id) == (0, 3, 3)


#: Holds of 9 s, looked for every half second, in a booking process of this test's own.
SHORT_HOLDS = {"COMPTOIR_HOLD_MINUTES": "0.15", "COMPTOIR_EXPIRY_INTERVAL_SECONDS": "0.5"}


def test_a_payment_after_the_hold_expired_and_the_seats_are_gone_is_refunded(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory, capacity=2)
    late_email = f"late-{uuid.uuid4().hex[:8]}@example.org"
    with booking_processes(platform, [platform.ports["booking"] + 40], SHORT_HOLDS) as (quick,):
        late = reserve_at(quick.url, offer.slot_id, late_email)
        payment = wait_payment(territory, late["id"])
        wait_status(platform, late, "EXPIRED")
    wait_for(lambda: seats(platform, offer.slot_id) == (0, 0, 2), "the seats to be free again")
    other = reserve(platform, offer, adults=2).json()
    assert other["status"] == "ON_HOLD"

    # The visitor's card went through just as the hold ended: Stripe says so afterwards.
    answer = post_event(
        platform,
        stripe_sim.build_event(
            "payment_intent.succeeded",
            stripe_sim.payment_intent_object(payment, "succeeded"),
            account=payment["stripe_account_id"],
        ),
    )
    assert answer.status_code == 200, answer.text

    ended = wait_for(
        lambda: (
            (r := reservation_of(platform, late["id"], late["visitor_token"]))["status_reason"]
            == "NO_SEATS_AFTER_LATE_PAYMENT"
            and r
        ),
        "booking to find the seats gone",
    )
    assert ended["status"] in ("EXPIRED", "CANCELLED")
    refunded = wait_for(
        lambda: (
            (p := territory.payments.get(f"/v1/reservations/{late['id']}/payment").json())[
                "refunded_cents"
            ]
            == late["total_cents"]
            and p
        ),
        "the late payment to be refunded in full",
    )
    assert refunded["status"] == "SUCCEEDED"
    assert [r["status"] for r in refunded["refunds"]] == ["SUCCEEDED"]
    visitor_side = {
        txn["kind"]: {e["account"]: e["amount_cents"] for e in txn["entries"]}
        for txn in ledger_of(territory, late["id"])
    }
    assert visitor_side["payment"]["visitor_payments"] == -late["total_cents"]
    assert visitor_side["refund"]["refunds"] == late["total_cents"]
    # The seats stay with the visitor who holds them now.
    assert reservation_of(platform, other["id"], other["visitor_token"])["status"] == "ON_HOLD"
    assert seats(platform, offer.slot_id) == (2, 0, 0)


def reserve_at(booking_url: str, slot_id: str, email: str) -> dict[str, Any]:
    """Two adult seats held through the booking process at ``booking_url``."""
    answer = httpx.post(
        booking_url + "/v1/reservations",
        json={
            "slot_id": slot_id,
            "units": [{"id": "adult", "quantity": 2}],
            "visitor": {"name": "Jeanne Martin", "email": email, "locale": "fr"},
        },
        timeout=15,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_visitor_pays_through_the_simulated_checkout_once(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory, capacity=4)
    # catalog learned from payments that the provider takes card payments
    activity = wait_for(
        lambda: (
            (a := territory.catalog.get(f"/v1/activities/{offer.activity_id}").json())["bookable"]
            and a
        ),
        "catalog to learn the provider can be paid",
    )
    assert activity["not_bookable_reason"] is None
    email = f"simulated-{uuid.uuid4().hex[:8]}@example.org"
    hold = reserve(platform, offer, adults=2, email=email).json()
    wait_payment(territory, hold["id"])
    visitor = {"Authorization": f"Bearer {hold['visitor_token']}"}
    url = platform.url("payments") + f"/v1/reservations/{hold['id']}/payment/simulate"
    paid = httpx.post(url, headers=visitor, timeout=15)
    assert paid.status_code == 202, paid.text
    assert (paid.json()["status"], paid.json()["amount_cents"]) == ("SUCCEEDED", 7000)
    again = httpx.post(url, headers=visitor, timeout=15)
    assert again.status_code == 409
    _paid_once(platform, territory, hold, email)
    assert seats(platform, offer.slot_id) == (0, 2, 2)
