"""The booking engine end to end: ticket units and limits, cutoff, cancellation under the
policy, cancelled departures, rebooking and the waitlist, on the real platform."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from comptoir_ops import stripe_sim
from comptoir_ops.platform import Platform
from comptoir_ops.tokens import office_token
from tests.e2e.conftest import (
    Offer,
    Territory,
    mails_to,
    make_offer,
    reserve,
    send_webhook,
    wait_for,
    wait_payment,
)

pytestmark = pytest.mark.e2e


def _days(n: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=n)).replace(microsecond=0)


def _get(platform: Platform, path: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(platform.url("booking") + path, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _post(
    platform: Platform, path: str, token: str | None, body: Any = None, key: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key:
        headers["Idempotency-Key"] = key
    return httpx.post(platform.url("booking") + path, json=body, headers=headers, timeout=15)


def _seats(platform: Platform, slot_id: str) -> tuple[int, int, int, str]:
    a = _get(platform, f"/v1/slots/{slot_id}/availability")
    return a["on_hold"], a["confirmed"], a["remaining"], a["status"]


def _confirmed_hold(
    platform: Platform,
    t: Territory,
    offer: Offer,
    adults: int = 2,
    slot_id: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    created = reserve(platform, offer, adults=adults, slot_id=slot_id, email=email)
    assert created.status_code == 201, created.text
    hold: dict[str, Any] = created.json()
    payment = wait_payment(t, hold["id"])
    answer = send_webhook(
        platform,
        "payment_intent.succeeded",
        stripe_sim.payment_intent_object(payment, "succeeded"),
        payment["stripe_account_id"],
    )
    assert answer.status_code == 200
    wait_for(
        lambda: (
            _get(platform, f"/v1/reservations/{hold['id']}", hold["visitor_token"])["status"]
            == "CONFIRMED"
        ),
        "the confirmation",
    )
    return hold


def _admin(t: Territory) -> str:
    return str(t.admin.headers["Authorization"]).split()[1]


def test_family_tickets_take_their_seats_and_limits_hold(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(
        platform,
        territory,
        capacity=6,
        activity={
            "units": [
                {"id": "adult", "price_cents": 3500},
                {"id": "family", "price_cents": 9900, "type": "FAMILY", "seats": 4},
            ],
            "max_units": 3,
        },
    )
    created = reserve(
        platform, offer, units=[{"id": "family", "quantity": 1}, {"id": "adult", "quantity": 1}]
    )
    assert created.status_code == 201, created.text
    assert (created.json()["seats"], created.json()["total_cents"]) == (5, 13_400)
    assert _seats(platform, offer.slot_id) == (5, 0, 1, "LIMITED")

    too_many = reserve(platform, offer, units=[{"id": "adult", "quantity": 4}])
    assert too_many.status_code == 422 and too_many.json()["type"].endswith("unit-count")
    no_room = reserve(platform, offer, units=[{"id": "family", "quantity": 1}])
    assert no_room.status_code == 409 and no_room.json()["remaining"] == 1
    last = reserve(platform, offer, adults=1)
    assert last.status_code == 201
    assert _seats(platform, offer.slot_id) == (6, 0, 0, "SOLD_OUT")


def test_bookings_close_at_the_cutoff(platform: Platform, territory: Territory) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=50)).replace(microsecond=0)
    later = _days(3)
    offer = make_offer(platform, territory, activity={"cutoff_minutes": 60}, starts=[soon, later])
    closed = reserve(platform, offer, adults=1)
    assert closed.status_code == 409
    assert closed.json()["type"].endswith("booking-closed")
    calendar = _get(platform, f"/v1/activities/{offer.activity_id}/availability")
    statuses = {s["slot_id"]: s["status"] for s in calendar["slots"]}
    assert statuses == {offer.slot_ids[0]: "CLOSED", offer.slot_ids[1]: "AVAILABLE"}
    assert reserve(platform, offer, adults=1, slot_id=offer.slot_ids[1]).status_code == 201


def test_a_visitor_cancels_under_the_policy_frozen_at_booking(
    platform: Platform, territory: Territory
) -> None:
    policy = [
        {"hours_before": 48, "refund_percent": 100},
        {"hours_before": 2, "refund_percent": 50},
    ]
    offer = make_offer(
        platform,
        territory,
        capacity=8,
        activity={"cancellation_policy": policy},
        starts=[_days(1)],
    )
    email = f"cancel-{uuid.uuid4().hex[:8]}@example.org"
    hold = _confirmed_hold(platform, territory, offer, adults=2, email=email)
    assert _seats(platform, offer.slot_id)[:2] == (0, 2)

    key = f"cancel-{uuid.uuid4()}"
    cancelled = _post(
        platform, f"/v1/reservations/{hold['id']}/cancel", hold["visitor_token"], key=key
    )
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "CANCELLED" and body["status_reason"] == "VISITOR"
    assert body["refund_cents"] == 3500  # 24 h before: the 50 % tier
    assert body["cancellation_policy"] == policy
    replay = _post(
        platform, f"/v1/reservations/{hold['id']}/cancel", hold["visitor_token"], key=key
    )
    assert replay.status_code == 200 and replay.headers.get("idempotent-replayed") == "true"
    again = _post(platform, f"/v1/reservations/{hold['id']}/cancel", hold["visitor_token"])
    assert again.status_code == 409
    assert again.json()["type"].endswith("illegal-transition")
    assert "CANCELLED" in again.json()["detail"]
    assert _seats(platform, offer.slot_id)[:3] == (0, 0, 8)

    def refunded() -> Any:
        payment = territory.payments.get(f"/v1/reservations/{hold['id']}/payment").json()
        return payment.get("refunded_cents") == 3500 and payment

    wait_for(refunded, "payments to refund 35,00 €")
    wait_for(
        lambda: (
            _get(platform, f"/v1/reservations/{hold['id']}", hold["visitor_token"])["refund_status"]
            == "SUCCEEDED"
        ),
        "booking to learn the refund went through",
    )
    wait_for(lambda: len(mails_to(email)) >= 2, "the cancellation notice")


def test_a_provider_cancels_a_departure_and_everyone_is_refunded(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory, capacity=5)
    first = _confirmed_hold(platform, territory, offer, adults=2)
    second = _confirmed_hold(platform, territory, offer, adults=2)
    held = reserve(platform, offer, adults=1).json()
    waiting = _post(
        platform,
        f"/v1/slots/{offer.slot_id}/waitlist",
        None,
        {
            "units": [{"id": "adult", "quantity": 2}],
            "visitor": {"name": "Paul", "email": "paul@example.org", "locale": "en"},
        },
    )
    assert waiting.status_code == 201, waiting.text

    stranger = office_token(role="provider", territory_id=territory.id, provider_id=uuid.uuid4())
    assert _post(platform, f"/v1/slots/{offer.slot_id}/cancel", stranger).status_code == 404
    provider = office_token(
        role="provider", territory_id=territory.id, provider_id=uuid.UUID(offer.provider_id)
    )
    answer = _post(
        platform,
        f"/v1/slots/{offer.slot_id}/cancel",
        provider,
        {"note": "Orage annoncé sur le lac"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "slot_id": offer.slot_id,
        "status": "CANCELLED",
        "reservations_cancelled": 2,
        "holds_released": 1,
        "refunds_cents": 14_000,
        "waitlist_cancelled": 1,
    }
    for r in (first, second):
        view = _get(platform, f"/v1/reservations/{r['id']}", r["visitor_token"])
        assert (view["status"], view["status_reason"], view["refund_cents"]) == (
            "CANCELLED",
            "SLOT_CANCELLED",
            7000,
        )
    assert (
        _get(platform, f"/v1/reservations/{held['id']}", held["visitor_token"])["status"]
        == "CANCELLED"
    )
    assert _seats(platform, offer.slot_id) == (0, 0, 5, "CLOSED")
    assert reserve(platform, offer, adults=1).status_code == 409
    wait_for(
        lambda: any(
            s["id"] == offer.slot_id and s["status"] == "CANCELLED"
            for s in territory.catalog.get(f"/v1/activities/{offer.activity_id}/slots").json()
        ),
        "catalog to stop offering the departure",
    )
    assert _post(platform, f"/v1/slots/{offer.slot_id}/cancel", provider).status_code == 409


def test_a_visitor_moves_to_another_slot_atomically(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory, capacity=3, starts=[_days(10), _days(11), _days(12)])
    a, b, full = offer.slot_ids
    hold = _confirmed_hold(platform, territory, offer, adults=2, slot_id=a)
    filler = _confirmed_hold(platform, territory, offer, adults=2, slot_id=full)
    assert filler["id"]

    refused = _post(
        platform, f"/v1/reservations/{hold['id']}/rebook", hold["visitor_token"], {"slot_id": full}
    )
    assert refused.status_code == 409
    assert _seats(platform, a)[1] == 2 and _seats(platform, full)[1] == 2  # nothing moved

    other = make_offer(platform, territory)
    elsewhere = _post(
        platform,
        f"/v1/reservations/{hold['id']}/rebook",
        hold["visitor_token"],
        {"slot_id": other.slot_id},
    )
    assert elsewhere.status_code == 422

    moved = _post(
        platform, f"/v1/reservations/{hold['id']}/rebook", hold["visitor_token"], {"slot_id": b}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["slot_id"] == b and moved.json()["status"] == "CONFIRMED"
    assert _seats(platform, a)[:3] == (0, 0, 3)
    assert _seats(platform, b)[:3] == (0, 2, 1)


def test_the_waitlist_offers_freed_seats_first_come_first_offered(
    platform: Platform, territory: Territory
) -> None:
    offer = make_offer(platform, territory, capacity=1)
    hold = reserve(platform, offer, adults=1).json()
    seats_free = _post(
        platform,
        f"/v1/slots/{make_offer(platform, territory).slot_id}/waitlist",
        None,
        {
            "units": [{"id": "adult", "quantity": 1}],
            "visitor": {"name": "A", "email": "a@example.org"},
        },
    )
    assert seats_free.status_code == 409 and seats_free.json()["type"].endswith("seats-available")

    def join(name: str) -> dict[str, Any]:
        answer = _post(
            platform,
            f"/v1/slots/{offer.slot_id}/waitlist",
            None,
            {
                "units": [{"id": "adult", "quantity": 1}],
                "visitor": {
                    "name": name,
                    "email": f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org",
                    "locale": "fr",
                },
            },
        )
        assert answer.status_code == 201, answer.text
        entry: dict[str, Any] = answer.json()
        return entry

    first, second, third = join("Alice"), join("Bruno"), join("Chloe")
    assert [e["position"] for e in (first, second, third)] == [1, 2, 3]
    left = httpx.delete(
        platform.url("booking") + f"/v1/waitlist/{third['id']}",
        headers={"Authorization": f"Bearer {third['visitor_token']}"},
    )
    assert left.status_code == 200 and left.json()["status"] == "LEFT"
    assert (
        httpx.get(
            platform.url("booking") + f"/v1/waitlist/{first['id']}",
            headers={"Authorization": f"Bearer {second['visitor_token']}"},
        ).status_code
        == 404
    )

    # The visitor lets go of the hold: the first in line is offered it.
    assert (
        _post(platform, f"/v1/reservations/{hold['id']}/cancel", hold["visitor_token"]).status_code
        == 200
    )
    offered = _get(platform, f"/v1/waitlist/{first['id']}", first["visitor_token"])
    assert offered["status"] == "OFFERED" and offered["reservation_id"]
    assert _get(platform, f"/v1/waitlist/{second['id']}", second["visitor_token"])["position"] == 1
    offer_hold = _get(platform, f"/v1/reservations/{offered['reservation_id']}", _admin(territory))
    assert offer_hold["status"] == "ON_HOLD" and offer_hold["seats"] == 1

    # Alice does not take it in time: the offer lapses and Bruno is offered seats.
    wait_for(
        lambda: (
            _get(platform, f"/v1/waitlist/{first['id']}", first["visitor_token"])["status"]
            == "LAPSED"
        ),
        "the first offer to lapse",
        timeout=20,
    )
    bruno = wait_for(
        lambda: (
            (e := _get(platform, f"/v1/waitlist/{second['id']}", second["visitor_token"]))["status"]
            == "OFFERED"
            and e
        ),
        "the next visitor to be offered the seat",
        timeout=20,
    )
    payment = wait_payment(territory, bruno["reservation_id"])
    send_webhook(
        platform,
        "payment_intent.succeeded",
        stripe_sim.payment_intent_object(payment, "succeeded"),
        payment["stripe_account_id"],
    )
    wait_for(
        lambda: (
            _get(platform, f"/v1/waitlist/{second['id']}", second["visitor_token"])["status"]
            == "BOOKED"
        ),
        "Bruno's offer to be booked",
    )
