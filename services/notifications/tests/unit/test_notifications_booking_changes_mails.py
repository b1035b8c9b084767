"""Rendering of the mails about cancellations with a reason, rebookings, cancelled
departures, waitlist offers and refunds: French and English, the facts a reader needs."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from typing import Any

from comptoir_common.events import v1
from comptoir_notifications import mails
from comptoir_notifications.mails import TIMES, ActivityFacts, ReservationFacts

NBSP = "\xa0"  # Babel: "17,50 €", "50 %"
NNBSP = "\u202f"  # Babel: "8:00 PM"

RESERVATION_ID = uuid.UUID("6b0d8f5e-8a39-4b43-9a57-3f8b1c3a2e10")
ACTIVITY_ID = uuid.UUID("0f5a3c1e-2b4d-4e6f-8a9b-c1d2e3f4a5b6")
JULY_14_18H_UTC = datetime(2027, 7, 14, 18, 0, tzinfo=UTC)  # 20:00 in Paris
JULY_16_0730_UTC = datetime(2027, 7, 16, 7, 30, tzinfo=UTC)  # 09:30 in Paris
JULY_13_10H_UTC = datetime(2027, 7, 13, 10, 0, tzinfo=UTC)  # 12:00 in Paris
TITLE = v1.Localized(fr="Balade en canoë", en="Canoe trip")
PARIS = ActivityFacts(title=TITLE, timezone="Europe/Paris", meeting_point="Pont de Montignac")
FACTS = ReservationFacts(
    reservation_id=RESERVATION_ID,
    activity_id=ACTIVITY_ID,
    title=TITLE,
    slot_start=JULY_14_18H_UTC,
    timezone="Europe/Paris",
)
HOSTILE_NOTE = 'Orage <script>alert("x")</script> & vent'
ESCAPED_NOTE = "Orage &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; vent"
STOREFRONT = "https://visiter.example"


def facts_of_reservation() -> dict[str, Any]:
    return {
        "reservation_id": RESERVATION_ID,
        "slot_id": uuid.uuid4(),
        "activity_id": ACTIVITY_ID,
        "provider_id": uuid.uuid4(),
        "territory_id": uuid.uuid4(),
    }


def visitor(locale: v1.Locale) -> v1.Visitor:
    return v1.Visitor(name="Marie Dupont", email="marie@example.org", locale=locale)


def cancelled(locale: v1.Locale, reason: str, **extra: Any) -> v1.ReservationCancelled:
    return v1.ReservationCancelled(
        **facts_of_reservation(),
        reason=reason,  # type: ignore[arg-type]
        currency="EUR",
        visitor=visitor(locale),
        **extra,
    )


# --- cancellations say why ---------------------------------------------------------------


def test_visitor_own_cancellation_states_the_policy_share_and_amount() -> None:
    fr = mails.visitor_cancellation(
        cancelled("fr", "VISITOR", refund_cents=1750, total_cents=3500, refund_percent=50),
        FACTS,
    )
    assert fr.subject == "Réservation annulée : Balade en canoë"
    for part in (fr.text, fr.html):
        assert "Vous avez annulé votre réservation." in part
        assert f"vous êtes remboursé de 50{NBSP}% : 17,50{NBSP}€" in part
        assert f"35,00{NBSP}€" in part  # what was paid
        assert "mercredi 14 juillet 2027 à 20:00" in part
    assert f"Total payé : 35,00{NBSP}€" in fr.text
    assert f"Remboursement : 17,50{NBSP}€" in fr.text

    en = mails.visitor_cancellation(
        cancelled("en", "VISITOR", refund_cents=1750, total_cents=3500, refund_percent=50),
        FACTS,
    )
    assert en.subject == "Booking cancelled: Canoe trip"
    assert "Under the activity's cancellation policy you get 50% back: €17.50" in en.text
    assert f"Wednesday, July 14, 2027 at 8:00{NNBSP}PM" in en.text
    assert "Total paid: €35.00" in en.text


def test_visitor_cancellation_too_late_for_a_refund_says_so() -> None:
    late = cancelled("fr", "VISITOR", refund_cents=0, total_cents=3500, refund_percent=0)
    text = mails.visitor_cancellation(late, FACTS).text
    assert f"ne donne droit à aucun remboursement (0{NBSP}%)" in text
    en = mails.visitor_cancellation(
        cancelled("en", "VISITOR", refund_cents=0, total_cents=3500, refund_percent=0), FACTS
    )
    assert "this cancellation gives no refund (0%)" in en.text


def test_slot_cancelled_visitor_notice_gives_the_note_and_a_full_refund() -> None:
    event = cancelled(
        "fr",
        "SLOT_CANCELLED",
        refund_cents=3500,
        total_cents=3500,
        refund_percent=100,
        slot_start=JULY_14_18H_UTC,
        note=HOSTILE_NOTE,
    )
    fr = mails.visitor_cancellation(event, FACTS)
    assert fr.subject == "Départ annulé : Balade en canoë"
    assert "Le départ auquel vous étiez inscrit est annulé." in fr.text
    assert f"Message : « {HOSTILE_NOTE} »" in fr.text
    assert f"Vous êtes remboursé intégralement : 35,00{NBSP}€" in fr.text
    assert "mercredi 14 juillet 2027 à 20:00" in fr.text
    assert "<script>" not in fr.html
    assert ESCAPED_NOTE in fr.html

    en = mails.visitor_cancellation(
        event.model_copy(update={"visitor": visitor("en"), "note": "Storm on the lake"}), FACTS
    )
    assert en.subject == "Departure cancelled: Canoe trip"
    assert "The departure you booked has been cancelled." in en.text
    assert "Message: “Storm on the lake”" in en.text
    assert "You are refunded in full: €35.00" in en.text


def test_cancellation_uses_the_slot_the_event_names() -> None:
    """A cancellation carries the reservation's current slot (after a rebooking, say)."""
    event = cancelled("fr", "OFFICE", refund_cents=3500, slot_start=JULY_16_0730_UTC)
    text = mails.visitor_cancellation(event, FACTS).text
    assert "vendredi 16 juillet 2027 à 09:30" in text
    assert "14 juillet" not in text


def test_late_payment_cancellation_is_as_before() -> None:
    event = cancelled("en", "NO_SEATS_AFTER_LATE_PAYMENT", refund_cents=3500)
    text = mails.visitor_cancellation(event, None).text
    assert "no seats were left" in text
    assert "A refund of €35.00 will be paid back" in text


def test_provider_cancellation_notice_says_why_and_quotes_the_note() -> None:
    by_visitor = mails.provider_cancellation_notice(
        cancelled("en", "VISITOR", refund_cents=1750, total_cents=3500, refund_percent=50),
        FACTS,
    )
    assert by_visitor.locale == "fr"
    assert by_visitor.subject == (
        "Réservation annulée : Balade en canoë, mercredi 14 juillet 2027 à 20:00"
    )
    assert "Le visiteur a annulé sa réservation." in by_visitor.text
    assert f"le visiteur est remboursé de 50{NBSP}% : 17,50{NBSP}€." in by_visitor.text
    assert "Visiteur : Marie Dupont" in by_visitor.text

    by_office = mails.provider_cancellation_notice(
        cancelled("fr", "OFFICE", refund_cents=3500, note=HOSTILE_NOTE), FACTS
    )
    assert "L'office de tourisme a annulé cette réservation." in by_office.text
    assert f"Le visiteur est remboursé de 35,00{NBSP}€." in by_office.text
    assert ESCAPED_NOTE in by_office.html and "<script>" not in by_office.html


# --- a whole departure cancelled: one summary for the provider ---------------------------


def test_slot_cancelled_provider_summary() -> None:
    event = v1.SlotCancelled(
        slot_id=uuid.uuid4(),
        activity_id=ACTIVITY_ID,
        provider_id=uuid.uuid4(),
        territory_id=uuid.uuid4(),
        slot_start=JULY_14_18H_UTC,
        cancelled_by="OFFICE",
        note=HOSTILE_NOTE,
        reservations_cancelled=3,
    )
    mail = mails.provider_slot_cancelled(event, PARIS)
    assert mail.locale == "fr"
    assert mail.subject == "Départ annulé : Balade en canoë, mercredi 14 juillet 2027 à 20:00"
    for part in (mail.text, mail.html):
        assert "Le départ « Balade en canoë » du mercredi 14 juillet 2027 à 20:00 est annulé." in (
            part
        )
        assert "3 réservations ont été annulées et remboursées intégralement." in part
    assert "L'office de tourisme a annulé ce départ." in mail.text
    assert "Réservations annulées : 3" in mail.text
    assert f"Message : « {HOSTILE_NOTE} »" in mail.text
    assert ESCAPED_NOTE in mail.html and "<script>" not in mail.html

    mine = mails.provider_slot_cancelled(
        event.model_copy(update={"cancelled_by": "PROVIDER", "reservations_cancelled": 1}),
        ActivityFacts(timezone="Europe/Paris"),  # catalog has not told us the title yet
    )
    assert mine.subject == "Départ annulé : mercredi 14 juillet 2027 à 20:00"
    assert "Vous avez annulé ce départ." in mine.text
    assert "1 réservation a été annulée et remboursée intégralement." in mine.text
    empty = mails.provider_slot_cancelled(
        event.model_copy(update={"reservations_cancelled": 0, "note": None}), PARIS
    )
    assert "Aucune réservation confirmée" in empty.text
    assert "Message" not in empty.text


# --- rebooking -----------------------------------------------------------------------------


def rebooked(locale: v1.Locale) -> v1.ReservationRebooked:
    return v1.ReservationRebooked(
        **facts_of_reservation(),
        from_slot_id=uuid.uuid4(),
        from_slot_start=JULY_14_18H_UTC,
        slot_start=JULY_16_0730_UTC,
        activity_title=TITLE,
        units=[
            v1.UnitLine(id="adult", quantity=2, unit_price_cents=1500),
            v1.UnitLine(id="child", quantity=1, unit_price_cents=500),
        ],
        visitor=visitor(locale),
    )


def test_visitor_rebooking_notice_gives_the_new_and_the_old_slot() -> None:
    fr = mails.visitor_rebooked(rebooked("fr"), PARIS)
    assert fr.subject == "Réservation déplacée : Balade en canoë"
    for part in (fr.text, fr.html):
        assert "Votre réservation a bien été déplacée au vendredi 16 juillet 2027 à 09:30." in part
        assert str(RESERVATION_ID) in part
        assert "Pont de Montignac" in part
    assert "Nouveau créneau : vendredi 16 juillet 2027 à 09:30 (heure locale)" in fr.text
    assert "Ancien créneau : mercredi 14 juillet 2027 à 20:00" in fr.text
    assert f"2 {TIMES} Adulte" in fr.text and f"1 {TIMES} Enfant" in fr.text

    en = mails.visitor_rebooked(rebooked("en"), PARIS)
    assert en.subject == "Booking moved: Canoe trip"
    assert f"New date and time: Friday, July 16, 2027 at 9:30{NNBSP}AM (local time)" in en.text
    assert f"Previous date and time: Wednesday, July 14, 2027 at 8:00{NNBSP}PM" in en.text
    assert "juillet" not in en.text


def test_provider_rebooking_notice_says_who_moved_from_where_to_where() -> None:
    mail = mails.provider_rebooked_notice(rebooked("en"), PARIS)
    assert mail.locale == "fr"
    assert (
        mail.subject == "Réservation déplacée : Balade en canoë, vendredi 16 juillet 2027 à 09:30"
    )
    assert (
        "Marie Dupont a déplacé sa réservation du mercredi 14 juillet 2027 à 20:00 "
        "au vendredi 16 juillet 2027 à 09:30."
    ) in mail.text
    assert "Déplacée depuis : mercredi 14 juillet 2027 à 20:00" in mail.text
    assert "Vers : vendredi 16 juillet 2027 à 09:30" in mail.text


def test_rebooking_notices_escape_the_visitor_name() -> None:
    event = rebooked("fr").model_copy(
        update={"visitor": v1.Visitor(name="<b>Marie</b>", email="m@example.org", locale="fr")}
    )
    for mail in (
        mails.visitor_rebooked(event, PARIS),
        mails.provider_rebooked_notice(event, PARIS),
    ):
        assert "<b>" not in mail.html and "&lt;b&gt;Marie&lt;/b&gt;" in mail.html


# --- waitlist offer --------------------------------------------------------------------------

TOKEN = "eyJhbGciOi.secret+token/part=="


def offer(locale: v1.Locale) -> v1.WaitlistOfferMade:
    return v1.WaitlistOfferMade(
        **facts_of_reservation(),
        waitlist_entry_id=uuid.uuid4(),
        slot_start=JULY_14_18H_UTC,
        activity_title=TITLE,
        units=[v1.UnitLine(id="adult", quantity=1, unit_price_cents=1750)],
        total_cents=1750,
        currency="EUR",
        expires_at=JULY_13_10H_UTC,
        visitor=visitor(locale),
        visitor_token=TOKEN,
    )


def test_waitlist_offer_gives_the_deadline_in_the_visitor_language_with_its_zone() -> None:
    fr = mails.visitor_waitlist_offer(offer("fr"), PARIS, STOREFRONT)
    assert fr.subject == "Une place s'est libérée : Balade en canoë"
    deadline_fr = "mardi 13 juillet 2027 à 12:00 (heure d\u2019été d\u2019Europe centrale)"
    held = f"Nous les avons mises de côté pour vous jusqu'au {deadline_fr}."
    assert held in fr.text and html.escape(held) in fr.html
    for part in (fr.text, fr.html):
        assert "mercredi 14 juillet 2027 à 20:00" in part
        assert f"1 {TIMES} Adulte : 17,50{NBSP}€" in part
        assert str(RESERVATION_ID) in part
    assert f"Total : 17,50{NBSP}€" in fr.text
    assert f"À confirmer avant : {deadline_fr}" in fr.text

    en = mails.visitor_waitlist_offer(offer("en"), PARIS, STOREFRONT)
    assert en.subject == "A place has opened up: Canoe trip"
    assert (
        f"We are holding them for you until Tuesday, July 13, 2027 at 12:00{NNBSP}PM "
        "(Central European Summer Time)."
    ) in en.text
    assert "Total: €17.50" in en.text


def test_waitlist_offer_token_only_inside_the_link_and_only_with_a_storefront() -> None:
    with_link = mails.visitor_waitlist_offer(offer("fr"), PARIS, STOREFRONT)
    quoted = "eyJhbGciOi.secret%2Btoken%2Fpart%3D%3D"
    url = f"{STOREFRONT}/reservations/{RESERVATION_ID}?token={quoted}"
    assert f"Voir et régler ma réservation : {url}" in with_link.text
    assert f'<a href="{url}">Voir et régler ma réservation</a>' in with_link.html
    assert with_link.text.count("secret") == 1 and with_link.html.count("secret") == 1
    assert "secret" not in with_link.subject

    without = mails.visitor_waitlist_offer(offer("fr"), PARIS, None)
    for part in (without.subject, without.text, without.html):
        assert "secret" not in part and "/reservations/" not in part


# --- refunds --------------------------------------------------------------------------------


def test_refund_sent_notice() -> None:
    event = v1.RefundUpdated(
        reservation_id=RESERVATION_ID,
        provider_id=uuid.uuid4(),
        territory_id=uuid.uuid4(),
        refund_id="re_123",
        amount_cents=1750,
        currency="EUR",
        status="SUCCEEDED",
    )
    fr = mails.visitor_refund_sent(event, visitor("fr"), FACTS)
    assert fr.subject == "Remboursement envoyé : Balade en canoë"
    for part in (fr.text, fr.html):
        assert f"Le remboursement de 17,50{NBSP}€ a été envoyé" in part
        assert "quelques jours" in part
        assert "mercredi 14 juillet 2027 à 20:00" in part
        assert str(RESERVATION_ID) in part
    en = mails.visitor_refund_sent(event, visitor("en"), None)
    assert en.subject == "Refund sent"
    assert "Your refund of €17.50 has been sent to the payment method you used." in en.text
    assert "It can take a few days to appear on your statement." in en.text
    assert '<html lang="en">' in en.html
