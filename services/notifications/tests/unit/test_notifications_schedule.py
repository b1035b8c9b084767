"""What the scheduler computes without I/O: digest times across time zones and DST, the
stand-in event ids of reminders and digests, and the mails it records."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from comptoir_common.events import v1
from comptoir_notifications import mails
from comptoir_notifications.service import digest_id, next_digest_time, reminder_id

NNBSP = "\u202f"


def test_the_next_digest_is_the_next_local_hour_even_across_a_clock_change() -> None:
    # 18:30 in Paris on the eve of summer time: the next 18:00 is a day later, in CEST.
    after = datetime(2027, 3, 27, 17, 30, tzinfo=UTC)
    assert next_digest_time(18, "Europe/Paris", after) == datetime(2027, 3, 28, 16, 0, tzinfo=UTC)
    # Still before today's hour: today.
    morning = datetime(2027, 3, 27, 8, 0, tzinfo=UTC)
    assert next_digest_time(18, "Europe/Paris", morning) == datetime(2027, 3, 27, 17, 0, tzinfo=UTC)
    # Exactly at the hour: the next day (strictly after).
    at = datetime(2027, 3, 27, 17, 0, tzinfo=UTC)
    assert next_digest_time(18, "Europe/Paris", at) == datetime(2027, 3, 28, 16, 0, tzinfo=UTC)
    # The local day counts, not UTC's: 07:00 in Réunion (UTC+4) is 03:00 UTC.
    evening = datetime(2027, 7, 1, 22, 0, tzinfo=UTC)  # 2 July 02:00 in Réunion
    assert next_digest_time(7, "Indian/Reunion", evening) == datetime(2027, 7, 2, 3, 0, tzinfo=UTC)


def test_stand_in_event_ids_are_one_per_reservation_slot_and_per_provider_day() -> None:
    reservation, provider = uuid.uuid4(), uuid.uuid4()
    slot = datetime(2027, 7, 14, 18, 0, tzinfo=UTC)
    assert reminder_id(reservation, slot) == reminder_id(reservation, slot.astimezone())
    assert reminder_id(reservation, slot) != reminder_id(
        reservation, datetime(2027, 7, 16, tzinfo=UTC)
    )
    assert reminder_id(reservation, slot) != reminder_id(uuid.uuid4(), slot)
    assert digest_id(provider, date(2027, 7, 14)) == digest_id(provider, date(2027, 7, 14))
    assert digest_id(provider, date(2027, 7, 14)) != digest_id(provider, date(2027, 7, 15))


def test_the_reminder_escapes_what_comes_from_events_and_omits_the_link_without_storefront() -> (
    None
):
    visitor = v1.Visitor(name="<b>Jo</b>", email="jo@example.org", locale="en")
    facts = mails.ReservationFacts(
        reservation_id=uuid.uuid4(),
        activity_id=uuid.uuid4(),
        title=v1.Localized(fr="Kayak", en="Kayak & <sun>"),
        slot_start=datetime(2027, 1, 10, 9, 0, tzinfo=UTC),
        timezone="Europe/Paris",
    )
    rendered = mails.visitor_reminder(visitor, facts, "Quai <n°2>", None)
    assert rendered.subject == "Reminder: Kayak & <sun>, Sunday, January 10, 2027 at 10:00 AM"
    assert "Kayak &amp; &lt;sun&gt;" in rendered.html and "<sun>" not in rendered.html
    assert "&lt;b&gt;Jo&lt;/b&gt;" in rendered.html and "Quai &lt;n°2&gt;" in rendered.html
    assert f"Date: Sunday, January 10, 2027 at 10:00{NNBSP}AM (local time)" in rendered.text
    assert "http" not in rendered.text
    assert "What to bring" not in rendered.text


def test_the_reminder_says_what_to_bring_when_the_activity_does() -> None:
    visitor = v1.Visitor(name="Jo", email="jo@example.org", locale="fr")
    facts = mails.ReservationFacts(
        reservation_id=uuid.uuid4(),
        activity_id=uuid.uuid4(),
        title=v1.Localized(fr="Kayak", en="Kayak"),
        slot_start=datetime(2027, 1, 10, 9, 0, tzinfo=UTC),
        timezone="Europe/Paris",
    )
    rendered = mails.visitor_reminder(visitor, facts, None, None, what_to_bring="Gants & <bonnet>")
    assert "À prévoir : Gants & <bonnet>" in rendered.text
    assert "Gants &amp; &lt;bonnet&gt;" in rendered.html and "<bonnet>" not in rendered.html


def test_the_digest_counts_each_section_in_french() -> None:
    rendered = mails.provider_digest(
        date(2027, 7, 14),
        [("booking", "A — Jo (réservation 1)"), ("cancellation", "B"), ("booking", "C")],
    )
    assert rendered.subject == "Vos réservations : récapitulatif du mercredi 14 juillet 2027"
    assert "depuis le précédent : 2 nouvelles réservations, 1 annulation." in rendered.text
    assert "Nouvelles réservations :\n  - A — Jo (réservation 1)\n  - C" in rendered.text
    assert "Réservations déplacées" not in rendered.text
