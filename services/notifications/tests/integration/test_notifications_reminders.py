"""The reminder before the slot: recorded by the scheduler once per reservation and
slot, sent through the real SMTP path, read back from the mail catcher."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from comptoir_common.db import utcnow
from comptoir_common.events import v1
from comptoir_notifications.scheduler import Scheduler
from comptoir_notifications.service import REMINDER
from comptoir_notifications.store import OutgoingMail, Reservation

NNBSP = "\u202f"
DAY = timedelta(hours=24)


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def reminders(captured) -> list:
    return [m for m in captured.messages() if str(m["Subject"]).startswith(("Rappel", "Reminder"))]


@pytest.fixture
def scheduler(settings, sessions) -> Scheduler:
    return Scheduler(sessions, settings)


async def _booked(
    consumers,
    sender,
    booking,
    to_wire,
    locale: v1.Locale = "fr",
    what_to_bring: str | None = None,
):
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    activity = booking.activity(
        meeting_point="Pont de Montignac, rive gauche", what_to_bring=what_to_bring
    )
    await consumers.process(v1.ActivityUpdated, to_wire(activity, "catalog"))
    confirmed = booking.confirmed(locale=locale)
    await consumers.process(v1.ReservationConfirmed, to_wire(confirmed))
    assert await sender.send_due() == 2  # the confirmation and the provider's notice
    return confirmed.slot_start


async def test_french_reminder_is_sent_once_a_day_before(
    consumers, sender, scheduler, booking, captured, to_wire
) -> None:
    start = await _booked(consumers, sender, booking, to_wire, what_to_bring="Un maillot de bain")
    assert await scheduler.run_once(start - DAY - timedelta(minutes=5)) == 0
    assert await scheduler.run_once(start - DAY + timedelta(minutes=1)) == 1
    assert await scheduler.run_once(start - DAY + timedelta(minutes=2)) == 0
    assert await scheduler.run_once(start - timedelta(hours=2)) == 0
    assert await sender.send_due() == 1
    assert await sender.send_due() == 0
    [reminder] = reminders(captured)

    assert reminder["Subject"] == "Rappel : Balade en canoë, mercredi 14 juillet 2027 à 20:00"
    assert reminder["To"].addresses[0].addr_spec == booking.visitor_email
    assert reminder["Content-Language"] == "fr"
    assert reminder.get_content_type() == "multipart/alternative"
    text = plain(reminder)
    assert "Petit rappel : votre activité « Balade en canoë » a lieu le mercredi" in text
    assert "Date : mercredi 14 juillet 2027 à 20:00 (heure locale)" in text
    assert "Point de rendez-vous : Pont de Montignac, rive gauche" in text
    assert "À prévoir : Un maillot de bain" in text
    assert "À prévoir" in html_of(reminder) and "Un maillot de bain" in html_of(reminder)
    link = f"http://storefront.test/reservations/{booking.reservation_id}"
    assert f"Gérer ou annuler ma réservation : {link}" in text
    assert f'href="{link}"' in html_of(reminder)


async def test_english_reminder(consumers, sender, scheduler, booking, captured, to_wire) -> None:
    start = await _booked(consumers, sender, booking, to_wire, locale="en")
    assert await scheduler.run_once(start - timedelta(hours=3)) == 1
    assert await sender.send_due() == 1
    [reminder] = reminders(captured)
    assert reminder["Subject"] == "Reminder: Canoe trip, Wednesday, July 14, 2027 at 8:00 PM"
    assert f"Date: Wednesday, July 14, 2027 at 8:00{NNBSP}PM (local time)" in plain(reminder)
    assert reminder["Content-Language"] == "en"
    text = plain(reminder)
    assert "Meeting point: Pont de Montignac, rive gauche" in text
    assert "What to bring" not in text and "What to bring" not in html_of(reminder)
    assert "Manage or cancel my booking: http://storefront.test/reservations/" in text


async def test_no_reminder_for_a_cancelled_reservation(
    consumers, sender, scheduler, booking, captured, to_wire, rows
) -> None:
    start = await _booked(consumers, sender, booking, to_wire)
    await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled("VISITOR")))
    assert await scheduler.run_once(start - timedelta(hours=3)) == 0
    assert await sender.send_due() == 2  # the cancellation notices
    assert reminders(captured) == []


async def test_a_cancellation_withdraws_a_reminder_not_yet_sent(
    consumers, sender, scheduler, booking, captured, to_wire, rows
) -> None:
    start = await _booked(consumers, sender, booking, to_wire)
    assert await scheduler.run_once(start - timedelta(hours=3)) == 1
    await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled("VISITOR")))
    assert await sender.send_due() == 2  # the cancellation notices only
    assert reminders(captured) == []
    [withdrawn] = [r for r in await rows() if r.event_type == REMINDER]
    assert withdrawn.status == "FAILED"
    assert withdrawn.error.startswith("withdrawn")


async def test_a_rebooked_reservation_is_reminded_of_its_new_slot(
    consumers, sender, scheduler, booking, captured, to_wire
) -> None:
    old_start = await _booked(consumers, sender, booking, to_wire)
    # Reminded of the first slot, then moved to another one two days later.
    assert await scheduler.run_once(old_start - timedelta(hours=20)) == 1
    assert await sender.send_due() == 1
    rebooked = booking.rebooked()
    await consumers.process(v1.ReservationRebooked, to_wire(rebooked))
    assert await sender.send_due() == 2  # the rebooking notices
    assert await scheduler.run_once(old_start - timedelta(hours=1)) == 0
    assert await scheduler.run_once(rebooked.slot_start - timedelta(hours=23)) == 1
    assert await scheduler.run_once(rebooked.slot_start - timedelta(hours=22)) == 0
    assert await sender.send_due() == 1
    first, second = sorted(reminders(captured), key=lambda m: str(m["Subject"]))
    assert first["Subject"] == "Rappel : Balade en canoë, mercredi 14 juillet 2027 à 20:00"
    assert second["Subject"] == "Rappel : Balade en canoë, vendredi 16 juillet 2027 à 09:30"


async def test_a_rebooking_withdraws_the_unsent_reminder_of_the_old_slot(
    consumers, sender, scheduler, booking, captured, to_wire, rows
) -> None:
    old_start = await _booked(consumers, sender, booking, to_wire)
    assert await scheduler.run_once(old_start - timedelta(hours=20)) == 1
    await consumers.process(v1.ReservationRebooked, to_wire(booking.rebooked()))
    assert await sender.send_due() == 2  # the rebooking notices only
    assert reminders(captured) == []


async def test_no_reminder_when_booked_less_than_a_day_before(
    consumers, sender, scheduler, sessions, booking, captured, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    soon: datetime = utcnow().replace(microsecond=0) + timedelta(hours=5)
    late = booking.confirmed().model_copy(update={"slot_start": soon})
    await consumers.process(v1.ReservationConfirmed, to_wire(late))
    assert await sender.send_due() == 2
    assert await scheduler.run_once() == 0
    assert await scheduler.run_once(soon - timedelta(hours=1)) == 0
    assert await sender.send_due() == 0
    assert reminders(captured) == []
    async with sessions() as session:
        reservation = await session.get(Reservation, booking.reservation_id)
        assert reservation is not None and reservation.reminder_slot_start == soon
        assert (
            await session.scalar(
                select(OutgoingMail).where(OutgoingMail.event_type == REMINDER)  # type: ignore[arg-type]
            )
            is None
        )


async def test_the_lead_time_is_a_setting(
    consumers, sender, sessions, settings, booking, captured, to_wire
) -> None:
    start = await _booked(consumers, sender, booking, to_wire, locale="en")
    two_hours = Scheduler(sessions, settings.model_copy(update={"reminder_lead_hours": 2.0}))
    assert await two_hours.run_once(start - timedelta(hours=3)) == 0
    assert await two_hours.run_once(start - timedelta(minutes=90)) == 1
    assert await sender.send_due() == 1
    assert len(reminders(captured)) == 1
