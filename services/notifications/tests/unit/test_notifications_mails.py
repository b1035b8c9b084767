"""Rendering of the e-mails, in French and English, and the headers they go out with."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.headerregistry import Address

import pytest

from comptoir_common.events import v1
from comptoir_notifications import mails
from comptoir_notifications.mails import TIMES, ActivityFacts, ReservationFacts

NBSP = "\xa0"  # Babel separates amount and currency with a no-break space in French
NNBSP = "\u202f"  # and "8:00 PM" with a narrow no-break space in English

RESERVATION_ID = uuid.UUID("6b0d8f5e-8a39-4b43-9a57-3f8b1c3a2e10")
ACTIVITY_ID = uuid.UUID("0f5a3c1e-2b4d-4e6f-8a9b-c1d2e3f4a5b6")
JULY_14_18H_UTC = datetime(2027, 7, 14, 18, 0, tzinfo=UTC)


def confirmed(
    locale: v1.Locale = "fr",
    name: str = "Marie Dupont",
    title: v1.Localized | None = None,
) -> v1.ReservationConfirmed:
    return v1.ReservationConfirmed(
        reservation_id=RESERVATION_ID,
        slot_id=uuid.uuid4(),
        activity_id=ACTIVITY_ID,
        provider_id=uuid.uuid4(),
        territory_id=uuid.uuid4(),
        slot_start=JULY_14_18H_UTC,
        activity_title=title
        or v1.Localized(fr="Balade en canoë sur la Vézère", en="Canoe trip on the Vézère"),
        units=[
            v1.UnitLine(id="adult", quantity=2, unit_price_cents=1500),
            v1.UnitLine(id="child", quantity=1, unit_price_cents=500),
        ],
        total_cents=3500,
        currency="EUR",
        visitor=v1.Visitor(name=name, email="marie@example.org", locale=locale),
    )


def cancelled(
    locale: v1.Locale = "fr", refund_cents: int = 3500, reason: str = "VISITOR"
) -> v1.ReservationCancelled:
    return v1.ReservationCancelled(
        reservation_id=RESERVATION_ID,
        slot_id=uuid.uuid4(),
        activity_id=ACTIVITY_ID,
        provider_id=uuid.uuid4(),
        territory_id=uuid.uuid4(),
        reason=reason,  # type: ignore[arg-type]
        refund_cents=refund_cents,
        currency="EUR",
        visitor=v1.Visitor(name="Marie Dupont", email="marie@example.org", locale=locale),
    )


PARIS = ActivityFacts(timezone="Europe/Paris", meeting_point="Parking du pont, Montignac")
STOREFRONT = "http://127.0.0.1:8002"


def test_french_confirmation_in_paris_time_with_euros() -> None:
    mail = mails.visitor_confirmation(confirmed("fr"), PARIS, STOREFRONT)

    assert mail.locale == "fr"
    assert mail.subject == "Réservation confirmée : Balade en canoë sur la Vézère"
    for part in (mail.text, mail.html):
        assert "mercredi 14 juillet 2027 à 20:00" in part
        assert f"35,00{NBSP}€" in part
        assert f"2 {TIMES} Adulte : 30,00{NBSP}€" in part
        assert f"1 {TIMES} Enfant : 5,00{NBSP}€" in part
        assert str(RESERVATION_ID) in part
        assert "Parking du pont, Montignac" in part
        assert f"{STOREFRONT}/activities/{ACTIVITY_ID}" in part
    assert mail.text.startswith("Bonjour Marie Dupont,")
    assert '<html lang="fr">' in mail.html


def test_english_confirmation() -> None:
    mail = mails.visitor_confirmation(confirmed("en"), PARIS, STOREFRONT)

    assert mail.subject == "Booking confirmed: Canoe trip on the Vézère"
    assert "Wednesday, July 14, 2027 at 8:00\u202fPM" in mail.text
    assert "€35.00" in mail.text
    assert f"2 {TIMES} Adult: €30.00" in mail.text
    assert "Meeting point: Parking du pont, Montignac" in mail.text
    assert "juillet" not in mail.text
    assert '<html lang="en">' in mail.html


def test_time_is_shown_in_the_activity_time_zone_paris_by_default() -> None:
    event = confirmed("fr")
    assert (
        "19:00"
        in mails.visitor_confirmation(
            event, ActivityFacts(timezone="Europe/London"), STOREFRONT
        ).text
    )
    unknown_activity = mails.visitor_confirmation(event, ActivityFacts(), STOREFRONT)
    assert "14 juillet 2027 à 20:00" in unknown_activity.text
    assert "Point de rendez-vous" not in unknown_activity.text


def test_participants_use_the_multiplication_sign() -> None:
    assert TIMES == "\u00d7"


def test_money_follows_the_currency_precision() -> None:
    assert mails.format_money(3500, "EUR", "fr") == f"35,00{NBSP}€"
    assert mails.format_money(3500, "EUR", "en") == "€35.00"
    assert mails.format_money(3500, "JPY", "en") == "¥3,500"


def test_provider_notice_is_french_and_says_who_how_many_when_and_how_much() -> None:
    mail = mails.provider_booking_notice(confirmed("en"), PARIS)

    assert mail.locale == "fr"
    assert mail.subject == (
        "Nouvelle réservation : Balade en canoë sur la Vézère, mercredi 14 juillet 2027 à 20:00"
    )
    assert "Visiteur : Marie Dupont" in mail.text
    assert f"2 {TIMES} Adulte" in mail.text and f"1 {TIMES} Enfant" in mail.text
    assert f"Total : 35,00{NBSP}€" in mail.text
    assert "Créneau : mercredi 14 juillet 2027 à 20:00" in mail.text
    assert "Frais" not in mail.text, "no office fee line when the territory takes none"


def test_provider_notice_shows_the_office_fee_and_what_the_provider_receives() -> None:
    event = confirmed("en").model_copy(update={"application_fee_cents": 88})
    mail = mails.provider_booking_notice(event, PARIS)

    assert f"Total : 35,00{NBSP}€" in mail.text
    assert f"Frais de l'office de tourisme : 0,88{NBSP}€" in mail.text
    assert f"Vous recevez : 34,12{NBSP}€" in mail.text
    assert "Vous recevez" in mail.html


def test_html_part_escapes_everything_from_events() -> None:
    hostile = '<script>alert("x")</script> & <b>Co</b>'
    event = confirmed(
        "fr", name=hostile, title=v1.Localized(fr="<img src=x onerror=1>", en="<i>x</i>")
    )
    facts = ActivityFacts(meeting_point='"><a href="javascript:1">here</a>')
    for mail in (
        mails.visitor_confirmation(event, facts, STOREFRONT),
        mails.provider_booking_notice(event, facts),
    ):
        assert "<script>" not in mail.html
        assert "<img" not in mail.html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" in (
            mail.html
        )
        assert "&lt;img src=x onerror=1&gt;" in mail.html
        # the plain-text part keeps the text as it is
        assert hostile in mail.text
    visitor_html = mails.visitor_confirmation(event, facts, STOREFRONT).html
    assert 'href="javascript' not in visitor_html
    assert "&quot;&gt;&lt;a href=&quot;javascript:1&quot;&gt;" in visitor_html


def test_cancellation_states_the_refund() -> None:
    facts = ReservationFacts(
        reservation_id=RESERVATION_ID,
        activity_id=ACTIVITY_ID,
        title=v1.Localized(fr="Balade en canoë", en="Canoe trip"),
        slot_start=JULY_14_18H_UTC,
        timezone="Europe/Paris",
    )
    fr = mails.visitor_cancellation(cancelled("fr", 3500), facts)
    assert fr.subject == "Réservation annulée : Balade en canoë"
    assert f"Un remboursement de 35,00{NBSP}€ sera versé" in fr.text
    assert "mercredi 14 juillet 2027 à 20:00" in fr.text

    en = mails.visitor_cancellation(cancelled("en", 1250), facts)
    assert en.subject == "Booking cancelled: Canoe trip"
    assert "A refund of €12.50 will be paid back" in en.text

    nothing = mails.visitor_cancellation(cancelled("en", 0), None)
    assert nothing.subject == "Booking cancelled"
    assert "No refund is due" in nothing.text
    assert str(RESERVATION_ID) in nothing.text

    provider = mails.provider_cancellation_notice(cancelled("en", 3500, "PROVIDER"), facts)
    assert provider.locale == "fr"
    assert "Vous avez annulé cette réservation." in provider.text
    assert f"Le visiteur est remboursé de 35,00{NBSP}€." in provider.text


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("Marie\r\nBcc: victim@example.org", "marie@example.org"),
        ("Marie\nBcc: victim@example.org", "marie@example.org"),
        ("Marie", "marie@example.org\r\nBcc: victim@example.org"),
        ("Marie", "marie@example.org, victim@example.org"),
        ("Marie\x00", "marie@example.org"),
        ("Marie", "not an address"),
    ],
)
def test_header_injection_is_refused(name: str, address: str) -> None:
    with pytest.raises(mails.InvalidRecipient) as refused:
        mails.mailbox(name, address)
    assert "victim" not in str(refused.value)  # the error never repeats the value


def test_message_is_multipart_alternative_with_one_line_subject() -> None:
    event = confirmed("fr", title=v1.Localized(fr="Visite\r\nBcc: x@example.org", en="Tour"))
    rendered = mails.visitor_confirmation(event, PARIS, STOREFRONT)
    mail_id = uuid.uuid4()
    message = mails.build_message(
        mail_id=mail_id,
        sender=mails.mailbox("Comptoir", "reservations@office.example"),
        recipient=mails.mailbox("Dupont, Marie", "marie@example.org"),
        rendered=rendered,
    )

    assert message["Subject"] == "Réservation confirmée : Visite Bcc: x@example.org"
    assert message["Bcc"] is None
    assert message["Message-ID"] == f"<{mail_id}@office.example>"
    assert message["To"] == '"Dupont, Marie" <marie@example.org>'
    assert message["Content-Language"] == "fr"
    # The confirmation carries its .ics invitation: text and HTML alternatives first.
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_payload()[0].get_content_type() == "multipart/alternative"  # type: ignore[index]
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "14 juillet 2027" in plain.get_content()
    assert "<table>" in html.get_content()
    wire = message.as_bytes()
    assert b"\r\nBcc:" not in wire and b"\nBcc:" not in wire


def test_email_package_refuses_a_subject_with_a_line_break() -> None:
    rendered = mails.RenderedMail("fr", "ok", "text", "<p>html</p>")
    message = mails.build_message(
        mail_id=uuid.uuid4(),
        sender=Address("Comptoir", addr_spec="reservations@office.example"),
        recipient=Address("Marie", addr_spec="marie@example.org"),
        rendered=rendered,
    )
    with pytest.raises(ValueError):
        message["X-Test"] = "a\r\nBcc: victim@example.org"
