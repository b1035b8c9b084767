"""Booking events in, e-mails out: real PostgreSQL, real SMTP capture server."""

from __future__ import annotations

import io
from datetime import timedelta

import icalendar
import zxingcpp
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from PIL import Image
from sqlalchemy import update

from comptoir_common.db import utcnow
from comptoir_common.events import Envelope, v1
from comptoir_notifications import service
from comptoir_notifications.mails import TIMES
from comptoir_notifications.store import OutgoingMail

NBSP = "\xa0"


async def test_confirmation_processed_twice_sends_exactly_two_mails(
    consumers, sender, booking, captured, rows, to_wire
) -> None:
    assert (
        await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
        == "applied"
    )
    assert (
        await consumers.process(
            v1.ActivityUpdated,
            to_wire(
                booking.activity(
                    meeting_point="Pont de Montignac", what_to_bring="Sandals & a dry bag"
                ),
                "catalog",
            ),
        )
        == "applied"
    )
    raw = to_wire(booking.confirmed(locale="en"))
    assert await consumers.process(v1.ReservationConfirmed, raw) == "applied"
    assert await consumers.process(v1.ReservationConfirmed, raw) == "duplicate"

    assert await sender.send_due() == 2
    assert await sender.send_due() == 0

    messages = captured.messages()
    assert len(messages) == 2
    by_recipient = {str(m["To"].addresses[0].addr_spec): m for m in messages}
    assert set(by_recipient) == {booking.visitor_email, booking.provider_email}

    visitor = by_recipient[booking.visitor_email]
    assert visitor["Subject"] == "Booking confirmed: Canoe trip"
    assert visitor["From"] == "Comptoir <reservations@comptoir.localhost>"
    assert visitor["To"].addresses[0].display_name == "Marie Dupont"
    assert visitor["Content-Language"] == "en"
    # The e-ticket: the QR code inline in the HTML, the .ics invitation attached.
    assert visitor.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in visitor.walk()][1:] == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "text/calendar",
    ]
    png = next(p for p in visitor.walk() if p.get_content_type() == "image/png")
    (qr,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
    assert qr.text == booking.confirmed().ticket_code
    ics = next(p for p in visitor.walk() if p.get_content_type() == "text/calendar")
    (invitation,) = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")
    assert str(invitation["LOCATION"]) == "Pont de Montignac"
    text = visitor.get_body(("plain",)).get_content()
    html = visitor.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Wednesday, July 14, 2027 at 8:00\u202fPM" in part
        assert "€35.00" in part
        assert str(booking.reservation_id) in part
        assert "Pont de Montignac" in part
        assert "What to bring" in part
    assert "What to bring: Sandals & a dry bag" in text
    assert "Sandals &amp; a dry bag" in html

    provider = by_recipient[booking.provider_email]
    assert provider["Subject"] == (
        "Nouvelle réservation : Balade en canoë, mercredi 14 juillet 2027 à 20:00"
    )
    assert provider["To"].addresses[0].display_name == "Canoës de la Vézère"
    provider_text = provider.get_body(("plain",)).get_content()
    assert "Visiteur : Marie Dupont" in provider_text
    assert f"Total : 35,00{NBSP}€" in provider_text
    assert f"2 {TIMES} Adulte" in provider_text

    recorded = await rows()
    assert sorted((r.recipient_kind, r.status, r.attempts) for r in recorded) == [
        ("provider", "SENT", 1),
        ("visitor", "SENT", 1),
    ]
    assert {m["Message-ID"] for m in messages} == {f"<{r.id}@comptoir.localhost>" for r in recorded}


async def test_unique_constraint_records_one_mail_per_event_and_recipient(
    sessions, booking, rows
) -> None:
    """Even without the inbox (its row purged, say), an event records its mails once."""
    envelope = Envelope.wrap(booking.confirmed(), producer="booking", territory_id=None)
    event = booking.confirmed()
    async with sessions() as session, session.begin():
        first = await service.notify_confirmed(session, envelope, event, storefront_url="x")
    async with sessions() as session, session.begin():
        second = await service.notify_confirmed(session, envelope, event, storefront_url="x")
    assert (first, second) == (2, 0)
    assert len(await rows()) == 2


async def test_send_continues_the_booking_trace(consumers, sender, booking, spans, to_wire) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    spans.clear()
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("booking.confirmed.v1 process") as consume:
        await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    # the sender runs later, outside that context: it must pick the trace up from the row
    assert not trace.get_current_span().get_span_context().is_valid
    assert await sender.send_due() == 2

    sends = [s for s in spans.get_finished_spans() if s.name == "smtp send"]
    assert len(sends) == 2
    for span in sends:
        assert span.kind == SpanKind.CLIENT
        assert span.context.trace_id == consume.get_span_context().trace_id
        assert span.parent is not None
        assert span.parent.span_id == consume.get_span_context().span_id
        assert span.attributes["comptoir.reservation.id"] == str(booking.reservation_id)
        assert span.attributes["comptoir.mail.outcome"] == "SENT"
        # ids only: no names or addresses in span attributes
        values = " ".join(str(v) for v in span.attributes.values())
        assert booking.token not in values and "Marie" not in values


async def test_provider_notice_waits_for_the_provider_address(
    consumers, sender, booking, captured, rows, to_wire
) -> None:
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    assert await sender.send_due() == 1  # the visitor's; the provider's address is unknown
    waiting = [r for r in await rows() if r.recipient_kind == "provider"]
    assert [(r.status, r.to_address, r.attempts) for r in waiting] == [("PENDING", None, 0)]

    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    assert await sender.send_due() == 1
    assert {str(m["To"].addresses[0].addr_spec) for m in captured.messages()} == {
        booking.visitor_email,
        booking.provider_email,
    }


async def test_provider_notice_gives_up_when_the_address_never_comes(
    consumers, sender, booking, captured, rows, to_wire
) -> None:
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    sender.settings = sender.settings.model_copy(update={"mail_recipient_wait_seconds": 0})
    await sender.send_due()
    by_kind = {r.recipient_kind: r for r in await rows()}
    assert by_kind["visitor"].status == "SENT"
    assert by_kind["provider"].status == "FAILED"
    assert "provider-updated" in (by_kind["provider"].error or "")
    assert len(captured.messages()) == 1


async def test_cancellation_notices_state_the_refund(
    consumers, sender, booking, captured, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled(refund_cents=3500)))
    assert await sender.send_due() == 4

    subjects = sorted(str(m["Subject"]) for m in captured.messages())
    assert subjects == [
        "Nouvelle réservation : Balade en canoë, mercredi 14 juillet 2027 à 20:00",
        "Réservation annulée : Balade en canoë",
        "Réservation annulée : Balade en canoë, mercredi 14 juillet 2027 à 20:00",
        "Réservation confirmée : Balade en canoë",
    ]
    cancellation = next(
        m for m in captured.messages() if m["Subject"] == "Réservation annulée : Balade en canoë"
    )
    text = cancellation.get_body(("plain",)).get_content()
    assert f"Un remboursement de 35,00{NBSP}€ sera versé" in text
    assert "Vous avez annulé votre réservation." in text


async def test_late_payment_cancellation_only_tells_the_visitor(
    consumers, sender, booking, captured, rows, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(
        v1.ReservationCancelled,
        to_wire(booking.cancelled(reason="NO_SEATS_AFTER_LATE_PAYMENT", locale="en")),
    )
    assert await sender.send_due() == 1
    [message] = captured.messages()
    assert message["To"].addresses[0].addr_spec == booking.visitor_email
    assert "no seats were left" in message.get_body(("plain",)).get_content()
    assert "A refund of €35.00" in message.get_body(("plain",)).get_content()


async def test_confirmation_handled_after_its_cancellation_sends_no_confirmation(
    consumers, sender, booking, captured, to_wire
) -> None:
    """Booking's topics are separate: a cancellation can be handled first."""
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled()))
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    await sender.send_due()
    # Nothing had told notifications of the activity or slot yet: generic subjects.
    assert [str(m["Subject"]) for m in captured.messages()] == ["Réservation annulée"] * 2


async def test_visitor_name_with_a_line_break_is_refused_not_sent(
    consumers, sender, booking, captured, rows, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    event = booking.confirmed(name="Marie\r\nBcc: victim@example.org")
    assert await consumers.process(v1.ReservationConfirmed, to_wire(event)) == "applied"
    assert await sender.send_due() == 1
    by_kind = {r.recipient_kind: r for r in await rows()}
    assert by_kind["visitor"].status == "FAILED"
    assert by_kind["visitor"].error == (
        "recipient refused: the display name contains a line break or control character"
    )
    assert by_kind["provider"].status == "SENT"
    [message] = captured.messages()
    assert message["Bcc"] is None
    assert message["To"].addresses[0].addr_spec == booking.provider_email


async def test_catalog_projections_ignore_older_versions(
    consumers, sessions, booking, to_wire
) -> None:
    from comptoir_notifications.store import Activity, Provider

    await consumers.process(
        v1.ProviderUpdated, to_wire(booking.provider(version=2, name="Nouveau"))
    )
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(version=1, name="Ancien")))
    await consumers.process(
        v1.ActivityUpdated,
        to_wire(booking.activity(version=3, meeting_point="B", what_to_bring="Gloves")),
    )
    await consumers.process(
        v1.ActivityUpdated, to_wire(booking.activity(version=2, meeting_point="A"))
    )
    async with sessions() as session:
        provider = await session.get(Provider, booking.provider_id)
        activity = await session.get(Activity, booking.activity_id)
    assert (provider.name, provider.version) == ("Nouveau", 2)
    assert (activity.meeting_point, activity.what_to_bring, activity.version) == ("B", "Gloves", 3)


async def test_interrupted_send_is_reported_unknown_and_never_resent(
    consumers, sender, sessions, booking, captured, rows, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    claimed = await sender.claim()  # ...and the process dies before sending or recording
    assert len(claimed) == 2
    assert {r.status for r in await rows()} == {"SENDING"}

    assert await sender.report_interrupted() == 0  # not stale yet: a live sender may own it
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutgoingMail).values(sending_started_at=utcnow() - timedelta(hours=1))
        )
    assert await sender.report_interrupted() == 2
    assert await sender.send_due() == 0
    recorded = await rows()
    assert {r.status for r in recorded} == {"UNKNOWN"}
    assert all("not sent again" in (r.error or "") for r in recorded)
    assert captured.messages() == []


async def test_unreachable_server_is_retried_then_failed(
    consumers, sender, booking, captured, rows, to_wire, unused_port
) -> None:
    sender.settings = sender.settings.model_copy(
        update={"smtp_port": unused_port, "mail_max_attempts": 2}
    )
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))

    assert await sender.send_due() == 2
    first = await rows()
    assert {(r.status, r.attempts) for r in first} == {("PENDING", 1)}
    assert all((r.error or "").startswith("attempt 1: ") for r in first)

    assert await sender.send_due() == 2
    second = await rows()
    assert {(r.status, r.attempts) for r in second} == {("FAILED", 2)}
    assert all((r.error or "").startswith("gave up after attempt 2: ") for r in second)
    assert await sender.send_due() == 0


async def test_retry_waits_for_its_time(
    consumers, sender, booking, rows, to_wire, unused_port
) -> None:
    sender.settings = sender.settings.model_copy(
        update={"smtp_port": unused_port, "mail_retry_seconds": 3600.0}
    )
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    assert await sender.send_due() == 1
    [visitor] = [r for r in await rows() if r.recipient_kind == "visitor"]
    assert visitor.status == "PENDING"
    assert visitor.next_attempt_at > utcnow() + timedelta(minutes=59)
    assert await sender.send_due() == 0


def test_migrations_match_the_tables(settings, sessions) -> None:
    """The 0001 migration creates exactly what store.py declares (autogenerate finds nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import comptoir_notifications.store  # noqa: F401
    from comptoir_common.db import sync_url

    engine = create_engine(sync_url(settings.database_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == []
