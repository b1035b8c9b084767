"""Cancellations with a reason, rebookings, cancelled departures, waitlist offers and
refunds: each event handled twice, each mail sent once, read back from the SMTP catcher."""

from __future__ import annotations

import dataclasses
import logging
import uuid

from opentelemetry import trace
from sqlalchemy import select
from sqlalchemy import text as sql

from comptoir_common.events import v1
from comptoir_notifications.mails import TIMES
from comptoir_notifications.store import OutgoingMail, Reservation, WaitingNotice

NBSP = "\xa0"
NNBSP = "\u202f"


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def by_address(messages) -> dict[str, list]:
    found: dict[str, list] = {}
    for m in messages:
        found.setdefault(str(m["To"].addresses[0].addr_spec), []).append(m)
    return found


async def twice(consumers, contract, raw) -> list[str]:
    return [await consumers.process(contract, raw), await consumers.process(contract, raw)]


async def test_visitor_cancellation_under_the_policy_is_told_once_to_each(
    consumers, sender, booking, captured, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ActivityUpdated, to_wire(booking.activity(), "catalog"))
    raw = to_wire(
        booking.cancelled(
            "VISITOR", refund_cents=1750, locale="en", total_cents=3500, refund_percent=50
        )
    )
    assert await twice(consumers, v1.ReservationCancelled, raw) == ["applied", "duplicate"]
    assert await sender.send_due() == 2
    assert await sender.send_due() == 0

    mails = by_address(captured.messages())
    [visitor] = mails[booking.visitor_email]
    [provider] = mails[booking.provider_email]
    assert "Under the activity's cancellation policy you get 50% back: €17.50" in plain(visitor)
    assert "Total paid: €35.00" in plain(visitor)
    assert visitor["Content-Language"] == "en"
    assert f"le visiteur est remboursé de 50{NBSP}% : 17,50{NBSP}€." in plain(provider)
    assert "Le visiteur a annulé sa réservation." in plain(provider)


async def test_cancelled_departure_tells_each_visitor_and_the_provider_once(
    consumers, sender, booking, captured, rows, to_wire, spans
) -> None:
    """Two reservations on the departure: two visitor notices and one provider summary."""
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ActivityUpdated, to_wire(booking.activity(), "catalog"))
    other = dataclasses.replace(booking, reservation_id=uuid.uuid4())
    note = "Orage annoncé <b>sur le lac</b>"
    for reservation in (booking, other):
        raw = to_wire(
            reservation.cancelled(
                "SLOT_CANCELLED",
                refund_cents=3500,
                total_cents=3500,
                refund_percent=100,
                slot_start=booking.slot_cancelled().slot_start,
                note=note,
            )
        )
        assert await twice(consumers, v1.ReservationCancelled, raw) == ["applied", "duplicate"]
    raw = to_wire(booking.slot_cancelled(reservations=2, note=note))
    assert await twice(consumers, v1.SlotCancelled, raw) == ["applied", "duplicate"]
    assert await sender.send_due() == 3
    assert await sender.send_due() == 0
    sends = {
        s.attributes["comptoir.mail.recipient_kind"]: s
        for s in spans.get_finished_spans()
        if s.name == "smtp send" and s.attributes.get("comptoir.slot.id") == str(booking.slot_id)
    }
    assert "comptoir.reservation.id" not in sends["provider"].attributes
    assert "comptoir.reservation.id" in sends["visitor"].attributes

    mails = by_address(captured.messages())
    visitors = mails[booking.visitor_email]
    assert len(visitors) == 2
    assert {str(m["Subject"]) for m in visitors} == {"Départ annulé : Balade en canoë"}
    for m in visitors:
        assert f"Vous êtes remboursé intégralement : 35,00{NBSP}€" in plain(m)
        assert f"Message : « {note} »" in plain(m)
        assert "&lt;b&gt;sur le lac&lt;/b&gt;" in html_of(m) and "<b>sur" not in html_of(m)
    assert {str(r) for r in (booking.reservation_id, other.reservation_id)} == {
        next(line for line in plain(m).splitlines() if line.startswith("Numéro")).split(" : ")[1]
        for m in visitors
    }
    [summary] = mails[booking.provider_email]
    assert summary["Subject"] == (
        "Départ annulé : Balade en canoë, mercredi 14 juillet 2027 à 20:00"
    )
    assert "2 réservations ont été annulées et remboursées intégralement." in plain(summary)
    assert "L'office de tourisme a annulé ce départ." in plain(summary)

    [row] = [r for r in await rows() if r.recipient_kind == "provider"]
    assert (row.reservation_id, row.slot_id, row.event_type) == (
        None,
        booking.slot_id,
        "booking.slot-cancelled.v1",
    )


async def test_rebooking_tells_both_and_later_mails_use_the_new_slot(
    consumers, sender, booking, captured, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ActivityUpdated, to_wire(booking.activity(), "catalog"))
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    assert await sender.send_due() == 2
    raw = to_wire(booking.rebooked(locale="en"))
    assert await twice(consumers, v1.ReservationRebooked, raw) == ["applied", "duplicate"]
    assert await sender.send_due() == 2
    assert await sender.send_due() == 0

    moved = [m for m in captured.messages() if "moved" in str(m["Subject"]).lower()]
    moved += [m for m in captured.messages() if "déplacée" in str(m["Subject"])]
    mails = by_address(moved)
    [visitor] = mails[booking.visitor_email]
    [provider] = mails[booking.provider_email]
    assert visitor["Subject"] == "Booking moved: Canoe trip"
    text = plain(visitor)
    assert f"New date and time: Friday, July 16, 2027 at 9:30{NNBSP}AM (local time)" in text
    assert f"Previous date and time: Wednesday, July 14, 2027 at 8:00{NNBSP}PM" in text
    assert provider["Subject"] == (
        "Réservation déplacée : Balade en canoë, vendredi 16 juillet 2027 à 09:30"
    )
    assert (
        "Marie Dupont a déplacé sa réservation du mercredi 14 juillet 2027 à 20:00 au "
        "vendredi 16 juillet 2027 à 09:30."
    ) in plain(provider)

    # A cancellation that does not repeat the slot names the one it was moved to.
    await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled("OFFICE")))
    assert await sender.send_due() == 2
    cancelled = by_address(m for m in captured.messages() if "annulée" in str(m["Subject"]))
    [provider_cancel] = cancelled[booking.provider_email]
    assert provider_cancel["Subject"] == (
        "Réservation annulée : Balade en canoë, vendredi 16 juillet 2027 à 09:30"
    )
    [visitor_cancel] = cancelled[booking.visitor_email]
    assert "Date : vendredi 16 juillet 2027 à 09:30" in plain(visitor_cancel)


async def test_rebooking_handled_after_the_cancellation_sends_nothing(
    consumers, sender, booking, captured, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled("OFFICE")))
    await consumers.process(v1.ReservationRebooked, to_wire(booking.rebooked()))
    assert await sender.send_due() == 2
    assert all("annulée" in str(m["Subject"]) for m in captured.messages())


async def test_waitlist_offer_is_mailed_once_with_the_token_only_in_the_link(
    consumers, sender, sessions, booking, captured, rows, to_wire, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    await consumers.process(v1.ActivityUpdated, to_wire(booking.activity(), "catalog"))
    token = f"secret-{uuid.uuid4().hex}"
    raw = to_wire(booking.waitlist_offer(locale="fr", token=token))
    assert await twice(consumers, v1.WaitlistOfferMade, raw) == ["applied", "duplicate"]
    assert await sender.send_due() == 1
    assert await sender.send_due() == 0

    [offer] = captured.messages()
    assert offer["To"].addresses[0].addr_spec == booking.visitor_email
    assert offer["Subject"] == "Une place s'est libérée : Balade en canoë"
    text = plain(offer)
    link = f"http://storefront.test/reservations/{booking.reservation_id}?token={token}"
    assert f"Voir et régler ma réservation : {link}" in text
    assert text.count(token) == 1
    assert f'href="{link}"' in html_of(offer)
    assert f"1 {TIMES} Adulte : 17,50{NBSP}€" in text
    assert "d\u2019Europe centrale)" in text  # the deadline names its zone (summer or not)

    # Nowhere but the rendered mail: not in logs, not in the projection, not in the subject.
    assert token not in caplog.text
    [row] = await rows()
    assert token not in row.subject and token not in str(row.trace_headers)
    async with sessions() as session:
        dumped = (
            await session.execute(sql("SELECT row_to_json(r)::text FROM reservation r"))
        ).scalar_one()
    assert token not in dumped


async def test_waitlist_offer_already_answered_or_expired_sends_nothing(
    consumers, sender, booking, captured, to_wire
) -> None:
    expired = dataclasses.replace(booking, reservation_id=uuid.uuid4())
    await consumers.process(v1.WaitlistOfferMade, to_wire(expired.waitlist_offer(hours=-1)))
    # confirmed (the visitor paid) before the offer was handled
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    await consumers.process(v1.WaitlistOfferMade, to_wire(booking.waitlist_offer()))
    assert await sender.send_due() == 1  # the confirmation only
    [message] = captured.messages()
    assert message["Subject"] == "Réservation confirmée : Balade en canoë"


async def test_succeeded_refund_is_mailed_once_to_the_visitor(
    consumers, sender, booking, captured, rows, to_wire
) -> None:
    await consumers.process(v1.ActivityUpdated, to_wire(booking.activity(), "catalog"))
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed(locale="en")))
    await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled(locale="en")))
    await sender.send_due()
    before = len(captured.messages())

    assert await consumers.process(v1.RefundUpdated, to_wire(booking.refund("PENDING"))) == (
        "applied"
    )
    raw = to_wire(booking.refund("SUCCEEDED", amount_cents=3500), "payments")
    assert await twice(consumers, v1.RefundUpdated, raw) == ["applied", "duplicate"]
    # The same refund announced again under a new event id is not told twice.
    again = to_wire(booking.refund("SUCCEEDED", amount_cents=3500), "payments")
    assert await consumers.process(v1.RefundUpdated, again) == "applied"
    await consumers.process(v1.RefundUpdated, to_wire(booking.refund("FAILED", refund_id="re_2")))
    assert await sender.send_due() == 1
    assert await sender.send_due() == 0

    messages = captured.messages()
    assert len(messages) == before + 1
    [refund] = [m for m in messages if str(m["Subject"]).startswith("Refund sent")]
    assert refund["Subject"] == "Refund sent: Canoe trip"
    assert refund["To"].addresses[0].addr_spec == booking.visitor_email
    assert refund["Content-Language"] == "en"
    text = plain(refund)
    assert "Your refund of €35.00 has been sent to the payment method you used." in text
    assert "It can take a few days to appear on your statement." in text
    assert "Wednesday, July 14, 2027 at 8:00\u202fPM" in text
    refund_rows = [r for r in await rows() if r.event_type == "payments.refund-updated.v1"]
    assert [(r.recipient_kind, r.status, r.dedup_key) for r in refund_rows] == [
        ("visitor", "SENT", "refund:re_1")
    ]


async def test_refund_before_any_booking_event_waits_for_the_visitor(
    consumers, sender, sessions, booking, captured, to_wire, spans
) -> None:
    """Topics are separate: a refund can be handled before the cancellation naming the
    visitor. It waits, then goes out with the trace of the refund event."""
    tracer = trace.get_tracer("test")
    raw = to_wire(booking.refund("SUCCEEDED", amount_cents=1750), "payments")
    with tracer.start_as_current_span("payments.refund-updated.v1 process") as consume:
        assert await twice(consumers, v1.RefundUpdated, raw) == ["applied", "duplicate"]
    assert await sender.send_due() == 0
    async with sessions() as session:
        [waiting] = (await session.scalars(select(WaitingNotice))).all()
    assert waiting.reservation_id == booking.reservation_id

    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    cancellation = booking.cancelled(
        "VISITOR", refund_cents=1750, total_cents=3500, refund_percent=50
    )
    raw_cancel = to_wire(cancellation)
    assert await twice(consumers, v1.ReservationCancelled, raw_cancel) == ["applied", "duplicate"]
    assert await sender.send_due() == 3
    assert await sender.send_due() == 0

    mails = by_address(captured.messages())
    assert len(mails[booking.provider_email]) == 1
    subjects = sorted(str(m["Subject"]) for m in mails[booking.visitor_email])
    assert subjects == ["Remboursement envoyé", "Réservation annulée"]
    [refund] = [m for m in mails[booking.visitor_email] if m["Subject"] == "Remboursement envoyé"]
    assert f"Le remboursement de 17,50{NBSP}€ a été envoyé" in plain(refund)

    async with sessions() as session:
        assert (await session.scalars(select(WaitingNotice))).all() == []
        reservation = await session.get(Reservation, booking.reservation_id)
        assert reservation is not None and reservation.visitor_locale == "fr"
        [row] = (
            await session.scalars(
                select(OutgoingMail).where(
                    OutgoingMail.event_type == "payments.refund-updated.v1"  # type: ignore[arg-type]
                )
            )
        ).all()
    trace_id = format(consume.get_span_context().trace_id, "032x")
    assert trace_id in row.trace_headers["traceparent"]
