"""The reminder before the slot, end to end: the real notifications process (its lead
time set to one hour by its setting) reminds a visitor once, by e-mail, with the meeting
point and the self-service link; not a cancelled reservation, nor one booked less than
the lead time before its slot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from comptoir_ops.platform import Platform
from tests.e2e.conftest import Territory, mails_to, make_offer, wait_for
from tests.e2e.test_booking_engine import _confirmed_hold, _post
from tests.e2e.test_notifications_redelivery import notifications_with

pytestmark = pytest.mark.e2e

STOREFRONT = "http://storefront.e2e"


@pytest.fixture(scope="module")
def one_hour_reminders(platform: Platform) -> Iterator[None]:
    with notifications_with(
        platform,
        {
            "COMPTOIR_REMINDER_LEAD_HOURS": "1",
            "COMPTOIR_SCHEDULER_POLL_SECONDS": "1",
            "COMPTOIR_STOREFRONT_URL": STOREFRONT,
        },
    ):
        yield


def _reminders(address: str) -> list[object]:
    return [m for m in mails_to(address) if str(m["Subject"]).startswith("Rappel")]


def test_a_visitor_is_reminded_once_before_the_slot(
    platform: Platform, territory: Territory, one_hour_reminders: None
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # The reminder of this slot is due 90 s from now (one hour before it starts).
    start = now + timedelta(hours=1, seconds=90)
    offer = make_offer(
        platform,
        territory,
        capacity=8,
        starts=[start, now + timedelta(minutes=30)],
        activity={"meeting_point": "Plan d'eau d'Embrun, ponton nord"},
    )
    slot, soon = offer.slot_ids
    cancelled_email = f"cancelled-{uuid.uuid4().hex[:8]}@example.org"
    cancelled = _confirmed_hold(platform, territory, offer, slot_id=slot, email=cancelled_email)
    answer = _post(
        platform, f"/v1/reservations/{cancelled['id']}/cancel", cancelled["visitor_token"]
    )
    assert answer.status_code == 200, answer.text
    reminded_email = f"reminded-{uuid.uuid4().hex[:8]}@example.org"
    reminded = _confirmed_hold(platform, territory, offer, slot_id=slot, email=reminded_email)
    late_email = f"late-{uuid.uuid4().hex[:8]}@example.org"
    _confirmed_hold(platform, territory, offer, slot_id=soon, email=late_email)
    assert datetime.now(UTC) < start - timedelta(hours=1), "booked too slowly for this test"

    def reminder_sent() -> bool:
        page = territory.notifications.get(
            "/v1/messages", params={"reservation_id": reminded["id"]}
        )
        assert page.status_code == 200, page.text
        return any(
            m["event_type"] == "notifications.reminder" and m["status"] == "SENT"
            for m in page.json()["items"]
        )

    # The API is polled; the mailbox is read once the reminder is out.
    wait_for(reminder_sent, "the reminder", timeout=150)
    [reminder] = _reminders(reminded_email)
    assert str(reminder["Subject"]).startswith("Rappel : Kayak au coucher du soleil, ")
    assert reminder["Content-Language"] == "fr"
    text = reminder.get_body(("plain",)).get_content()
    assert "Petit rappel : votre activité « Kayak au coucher du soleil » a lieu le" in text
    assert "Point de rendez-vous : Plan d'eau d'Embrun, ponton nord" in text
    link = f"{STOREFRONT}/reservations/{reminded['id']}"
    assert f"Gérer ou annuler ma réservation : {link}" in text
    assert link in reminder.get_body(("html",)).get_content()

    # The scheduler decided the whole slot in the round that sent this one, and the slot
    # booked within the hour before: neither of the others got a reminder.
    assert _reminders(cancelled_email) == []
    assert _reminders(late_email) == []
    # Once only: what the API records for this reservation holds one reminder.
    page = territory.notifications.get("/v1/messages", params={"reservation_id": reminded["id"]})
    assert page.status_code == 200, page.text
    kinds = sorted(
        m["event_type"] for m in page.json()["items"] if m["recipient_kind"] == "visitor"
    )
    assert kinds == ["booking.confirmed.v1", "notifications.reminder"]
    assert len(_reminders(reminded_email)) == 1
