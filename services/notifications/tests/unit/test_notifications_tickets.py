"""The e-ticket in the visitor's confirmation: QR code inline, .ics invitation, policy."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage

import icalendar
import pytest
import zxingcpp
from PIL import Image

from comptoir_common.events import v1
from comptoir_notifications import mails
from comptoir_notifications.mails import ActivityFacts

RESERVATION_ID = uuid.UUID("6b0d8f5e-8a39-4b43-9a57-3f8b1c3a2e10")
CODE = "CPT-29AACG-JA2N80-ZS2BPB-5YFT43-VCEAAZ-QHAWCZ-2A5C4W"
START = datetime(2027, 7, 14, 18, 0, tzinfo=UTC)
POLICY = [
    v1.RefundTier(hours_before=2, refund_percent=50),
    v1.RefundTier(hours_before=24, refund_percent=100),
]
ACTIVITY = ActivityFacts(
    title=None, timezone="Europe/Paris", meeting_point="Plage d'Embrun <parking>"
)


def confirmed(locale: v1.Locale = "fr", **extra: object) -> v1.ReservationConfirmed:
    fields: dict[str, object] = {
        "reservation_id": RESERVATION_ID,
        "slot_id": uuid.uuid4(),
        "activity_id": uuid.uuid4(),
        "provider_id": uuid.uuid4(),
        "territory_id": uuid.uuid4(),
        "slot_start": START,
        "activity_title": v1.Localized(fr="Kayak au coucher du soleil", en="Sunset kayak tour"),
        "units": [v1.UnitLine(id="adult", quantity=2, unit_price_cents=3500)],
        "total_cents": 7000,
        "currency": "EUR",
        "visitor": v1.Visitor(name="Marie Dupont", email="marie@example.org", locale=locale),
        "slot_duration_minutes": 120,
        "ticket_code": CODE,
        "cancellation_policy": POLICY,
    }
    return v1.ReservationConfirmed.model_validate(fields | extra)


def message_of(rendered: mails.RenderedMail) -> EmailMessage:
    return mails.build_message(
        mail_id=uuid.uuid4(),
        sender=Address("Comptoir", addr_spec="reservations@comptoir.localhost"),
        recipient=Address("Marie Dupont", addr_spec="marie@example.org"),
        rendered=rendered,
    )


def decode_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1
    return str(found[0].text)


def test_the_mime_structure_carries_the_qr_inline_and_the_invitation() -> None:
    message = message_of(mails.visitor_confirmation(confirmed(), ACTIVITY, None))
    assert message.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "text/calendar",
    ]
    assert message["Content-Language"] == "fr"
    parts = {p.get_content_type(): p for p in message.walk()}
    png = parts["image/png"]
    assert png["Content-ID"] == f"<{mails.TICKET_QR_CID}>"
    assert png.get_content_disposition() == "inline"
    html = parts["text/html"].get_content()
    assert f'src="cid:{mails.TICKET_QR_CID}"' in html
    assert decode_qr(png.get_content()) == CODE
    plain = parts["text/plain"].get_content()
    assert f"Code du billet : {CODE}" in plain
    calendar = parts["text/calendar"]
    assert calendar.get_content_disposition() == "attachment"
    assert calendar.get_filename() == "invitation.ics"
    assert calendar.get_param("method") == "PUBLISH"


@pytest.mark.parametrize(
    ("locale", "summary"), [("fr", "Kayak au coucher du soleil"), ("en", "Sunset kayak tour")]
)
def test_the_invitation_parses_with_the_slot_in_utc(locale: v1.Locale, summary: str) -> None:
    message = message_of(mails.visitor_confirmation(confirmed(locale), ACTIVITY, None))
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert str(calendar["METHOD"]) == "PUBLISH"
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTEND") == datetime(2027, 7, 14, 20, 0, tzinfo=UTC)
    assert str(event["SUMMARY"]) == summary
    assert str(event["UID"]) == f"reservation-{RESERVATION_ID}@comptoir"
    assert str(event["LOCATION"]) == "Plage d'Embrun <parking>"


def test_the_uid_stays_the_same_for_one_reservation() -> None:
    first = mails.invitation_ics(confirmed(), ACTIVITY)
    again = mails.invitation_ics(confirmed("en"), ActivityFacts())
    uid = icalendar.Calendar.from_ical(first).walk("VEVENT")[0]["UID"]
    assert icalendar.Calendar.from_ical(again).walk("VEVENT")[0]["UID"] == uid
    assert b"LOCATION" not in again  # meeting point unknown: no location


def test_the_policy_in_words() -> None:
    assert mails.cancellation_policy_words(POLICY, "fr") == [
        "Annulation gratuite jusqu'à 24\xa0h avant",
        "50\xa0% remboursé jusqu'à 2\xa0h avant",
        "Ensuite : aucun remboursement",
    ]
    assert mails.cancellation_policy_words(POLICY, "en") == [
        "Free cancellation up to 24\xa0h before",
        "50% refunded up to 2\xa0h before",
        "After that: no refund",
    ]
    week = [v1.RefundTier(hours_before=168, refund_percent=100)]
    assert (
        mails.cancellation_policy_words(week, "fr")[0]
        == "Annulation gratuite jusqu'à 7 jours avant"
    )
    until_start = [v1.RefundTier(hours_before=0, refund_percent=100)]
    assert mails.cancellation_policy_words(until_start, "en") == [
        "Free cancellation until the activity starts"
    ]
    assert mails.cancellation_policy_words([], "fr") == ["Aucun remboursement en cas d'annulation"]


def test_the_mail_shows_the_meeting_point_and_policy_escaped() -> None:
    rendered = mails.visitor_confirmation(confirmed("en"), ACTIVITY, None)
    assert "Meeting point: Plage d'Embrun <parking>" in rendered.text
    assert "Plage d&#x27;Embrun &lt;parking&gt;" in rendered.html
    assert "Free cancellation up to 24\xa0h before" in rendered.text
    assert "<parking>" not in rendered.html


def test_the_cancellation_link_only_with_a_storefront() -> None:
    without = mails.visitor_confirmation(confirmed(), ACTIVITY, None)
    assert "/reservations/" not in without.text
    linked = mails.visitor_confirmation(confirmed(), ACTIVITY, "https://shop.example/")
    assert f"https://shop.example/reservations/{RESERVATION_ID}" in linked.text
    assert "Gérer ou annuler ma réservation" in linked.html


def test_an_older_event_without_a_code_still_reads_as_before() -> None:
    rendered = mails.visitor_confirmation(
        confirmed(ticket_code=None, cancellation_policy=None, slot_duration_minutes=None),
        ACTIVITY,
        None,
    )
    assert "numéro de réservation à votre arrivée" in rendered.text
    assert [a.content_type for a in rendered.attachments] == ["text/calendar"]
    assert "cid:" not in rendered.html
    message = message_of(rendered)
    assert "image/png" not in [p.get_content_type() for p in message.walk()]


def test_attachments_survive_the_outgoing_mail_row() -> None:
    rendered = mails.visitor_confirmation(confirmed(), ACTIVITY, None)
    stored = [a.to_json() for a in rendered.attachments]
    assert tuple(mails.Attachment.from_json(a) for a in stored) == rendered.attachments


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("fr", "À prévoir : Chaussures d'eau & <vêtements de rechange>"),
        ("en", "What to bring: Chaussures d'eau & <vêtements de rechange>"),
    ],
)
def test_the_mail_says_what_to_bring_in_both_parts(locale: v1.Locale, line: str) -> None:
    activity = replace(ACTIVITY, what_to_bring="Chaussures d'eau & <vêtements de rechange>")
    message = message_of(mails.visitor_confirmation(confirmed(locale), activity, None))
    plain, html = bodies(message)
    assert line in plain
    label = mails.label("what_to_bring", locale)
    assert f"{label}</th><td>Chaussures d&#x27;eau &amp; &lt;vêtements de rechange&gt;</td>" in (
        html
    )
    assert "<vêtements" not in html


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_nothing_about_what_to_bring_when_it_is_not_said(locale: v1.Locale) -> None:
    message = message_of(mails.visitor_confirmation(confirmed(locale), ACTIVITY, None))
    for part in bodies(message):
        assert "À prévoir" not in part and "What to bring" not in part
        assert "Plage d" in part  # the meeting point is still there
