"""E-tickets and check-in, end to end: book and pay, read the e-ticket mail back from
the SMTP capture server, decode its QR code, parse its invitation, check the visitor in."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import icalendar
import pytest
import zxingcpp
from PIL import Image

from comptoir_ops import stripe_sim
from comptoir_ops.platform import Platform
from comptoir_ops.tokens import office_token
from tests.e2e.conftest import (
    Territory,
    mails_to,
    make_offer,
    reserve,
    send_webhook,
    wait_for,
    wait_payment,
)

pytestmark = pytest.mark.e2e


def _part(message: EmailMessage, content_type: str) -> EmailMessage:
    parts = [p for p in message.walk() if p.get_content_type() == content_type]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    part = parts[0]
    assert isinstance(part, EmailMessage)
    return part


def test_a_paid_reservation_gets_an_e_ticket_checked_in_once(
    platform: Platform, territory: Territory
) -> None:
    # A slot starting soon: check-in opens 24 h before the start.
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    offer = make_offer(
        platform,
        territory,
        capacity=8,
        starts=[start],
        activity={"meeting_point": "Plan d'eau d'Embrun, ponton nord"},
    )
    visitor_email = f"ticket-{uuid.uuid4().hex[:8]}@example.org"
    hold = reserve(platform, offer, adults=2, email=visitor_email).json()
    payment = wait_payment(territory, hold["id"])
    answer = send_webhook(
        platform,
        "payment_intent.succeeded",
        stripe_sim.payment_intent_object(payment, "succeeded"),
        payment["stripe_account_id"],
    )
    assert answer.status_code == 200, answer.text

    booking = httpx.Client(
        base_url=platform.url("booking"),
        headers={"Authorization": f"Bearer {hold['visitor_token']}"},
        timeout=15,
    )
    confirmed = wait_for(
        lambda: (
            (r := booking.get(f"/v1/reservations/{hold['id']}").json())["status"] == "CONFIRMED"
            and r
        ),
        "the reservation to be confirmed",
    )
    code = confirmed["ticket_code"]
    assert code.startswith("CPT-")

    # The e-ticket, as the visitor's mail client gets it.
    (mail,) = wait_for(lambda: mails_to(visitor_email), "the visitor's e-ticket")
    png = _part(mail, "image/png")
    cid = png["Content-ID"].strip("<>")
    assert f"cid:{cid}" in _part(mail, "text/html").get_content()
    (qr,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
    assert qr.text == code
    plain = _part(mail, "text/plain").get_content()
    assert code in plain and "Plan d'eau d'Embrun, ponton nord" in plain
    assert "Annulation gratuite jusqu'à 24\xa0h avant" in plain
    calendar = icalendar.Calendar.from_ical(_part(mail, "text/calendar").get_content())
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(minutes=120)
    assert str(event["SUMMARY"]) == "Kayak au coucher du soleil"
    assert hold["id"] in str(event["UID"])
    assert str(event["LOCATION"]) == "Plan d'eau d'Embrun, ponton nord"

    # At the door: the provider scans the QR code.
    provider = httpx.Client(
        base_url=platform.url("booking"),
        headers={
            "Authorization": "Bearer "
            + office_token(
                role="provider",
                territory_id=territory.id,
                provider_id=uuid.UUID(offer.provider_id),
                subject="door-staff-kayak",
            )
        },
        timeout=15,
    )
    key = {"Idempotency-Key": f"scan-{uuid.uuid4()}"}
    first = provider.post("/v1/check-ins", json={"code": code}, headers=key)
    assert first.status_code == 200, first.text
    replayed = provider.post("/v1/check-ins", json={"code": code}, headers=key)
    assert replayed.status_code == 200 and replayed.json() == first.json()
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert first.json()["reservation_id"] == hold["id"]
    assert first.json()["redeemed_by"] == "door-staff-kayak"
    assert first.json()["seats"] == 2

    # A second scan, typed by hand in lower case without dashes: already used.
    again = provider.post("/v1/check-ins", json={"code": code.lower().replace("-", " ")})
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    problem = again.json()
    assert problem["redeemed_by"] == "door-staff-kayak"
    assert problem["redeemed_at"] == first.json()["redeemed_at"].replace("Z", "+00:00")
    assert "door-staff-kayak" in problem["detail"]

    # Another provider of the territory does not even learn the reservation exists.
    other = office_token(role="provider", territory_id=territory.id, provider_id=uuid.uuid4())
    stranger = httpx.post(
        platform.url("booking") + "/v1/check-ins",
        json={"code": code},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert stranger.status_code == 404, stranger.text

    # A forged code: one symbol changed.
    last = code[-1]
    forged = code[:-1] + ("A" if last != "A" else "B")
    refused = provider.post("/v1/check-ins", json={"code": forged})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == "This is not a valid ticket."

    redeemed = booking.get(f"/v1/reservations/{hold['id']}").json()
    assert redeemed["status"] == "REDEEMED"
    assert redeemed["redeemed_by"] == "door-staff-kayak"

    # The office sees who is in on the slot.
    roll = territory.booking.get("/v1/check-ins", params={"slot_id": offer.slot_id})
    assert roll.status_code == 200, roll.text
    assert roll.json()["seats_checked_in"] == 2
    assert [c["reservation_id"] for c in roll.json()["check_ins"]] == [hold["id"]]


def test_a_cancelled_reservation_s_ticket_is_refused_at_the_door(
    platform: Platform, territory: Territory
) -> None:
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    offer = make_offer(platform, territory, capacity=4, starts=[start])
    hold = reserve(platform, offer, adults=1).json()
    payment = wait_payment(territory, hold["id"])
    send_webhook(
        platform,
        "payment_intent.succeeded",
        stripe_sim.payment_intent_object(payment, "succeeded"),
        payment["stripe_account_id"],
    )
    visitor = httpx.Client(
        base_url=platform.url("booking"),
        headers={"Authorization": f"Bearer {hold['visitor_token']}"},
        timeout=15,
    )
    confirmed = wait_for(
        lambda: (
            (r := visitor.get(f"/v1/reservations/{hold['id']}").json())["status"] == "CONFIRMED"
            and r
        ),
        "the reservation to be confirmed",
    )
    assert visitor.post(f"/v1/reservations/{hold['id']}/cancel").status_code == 200
    provider = office_token(
        role="provider", territory_id=territory.id, provider_id=uuid.UUID(offer.provider_id)
    )
    refused = httpx.post(
        platform.url("booking") + "/v1/check-ins",
        json={"code": confirmed["ticket_code"]},
        headers={"Authorization": f"Bearer {provider}"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("not-confirmed")
    assert refused.json()["reservation_status"] == "CANCELLED"
