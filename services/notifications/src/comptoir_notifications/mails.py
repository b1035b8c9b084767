"""The e-mails themselves: pure rendering, no I/O.

Every mail is written once as a list of blocks (paragraphs, a table of details, a link)
and turned into both a plain-text and an HTML part, so the two always say the same
thing. Every value that comes from an event is escaped in the HTML part. Dates and
times are shown in the activity's time zone, amounts with Babel from integer cents.
"""

from __future__ import annotations

import base64
import email.utils
import html
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import segno
from babel.dates import format_date, format_time, get_timezone_name
from babel.numbers import format_currency, format_percent, get_currency_precision

from comptoir_common.db import utcnow
from comptoir_common.events import v1

Locale = Literal["fr", "en"]
TIMES = "\N{MULTIPLICATION SIGN}"

#: Labels of the details tables, (French, English).
LABELS: dict[str, tuple[str, str]] = {
    "activity": ("Activité", "Activity"),
    "date": ("Date", "Date"),
    "slot": ("Créneau", "Time slot"),
    "participants": ("Participants", "Participants"),
    "total": ("Total", "Total"),
    "total_paid": ("Total payé", "Total paid"),
    "office_fee": ("Frais de l'office de tourisme", "Tourism office fee"),
    "provider_share": ("Vous recevez", "You receive"),
    "reservation": ("Numéro de réservation", "Reservation number"),
    "meeting_point": ("Point de rendez-vous", "Meeting point"),
    "what_to_bring": ("À prévoir", "What to bring"),
    "refund": ("Remboursement", "Refund"),
    "visitor": ("Visiteur", "Visitor"),
    "new_slot": ("Nouveau créneau", "New date and time"),
    "old_slot": ("Ancien créneau", "Previous date and time"),
    "from_slot": ("Déplacée depuis", "Moved from"),
    "to_slot": ("Vers", "To"),
    "deadline": ("À confirmer avant", "Confirm before"),
    "note": ("Message", "Message"),
    "reservations_cancelled": ("Réservations annulées", "Reservations cancelled"),
    "ticket_code": ("Code du billet", "Ticket code"),
    "cancellation_policy": ("Conditions d'annulation", "Cancellation policy"),
    "amount": ("Montant", "Amount"),
    "payout": ("Référence du virement", "Payout reference"),
    "arrival_date": ("Arrivée prévue", "Expected arrival"),
    "failure_reason": ("Motif", "Reason"),
}


def label(key: str, locale: Locale) -> str:
    fr, en = LABELS[key]
    return fr if locale == "fr" else en


DEFAULT_TIMEZONE = "Europe/Paris"
PROVIDER_LOCALE: Locale = "fr"


class InvalidRecipient(ValueError):
    """A name or address that cannot go into a header as it is.

    The message never repeats the offending value: it may be personal data.
    """


def has_control_characters(value: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)


def mailbox(display_name: str, addr_spec: str) -> Address:
    """One checked address: CR, LF or any control character is refused (header injection)."""
    if has_control_characters(display_name):
        raise InvalidRecipient("the display name contains a line break or control character")
    if has_control_characters(addr_spec):
        raise InvalidRecipient("the address contains a line break or control character")
    try:
        address = Address(display_name=display_name, addr_spec=addr_spec)
    except (ValueError, IndexError) as exc:
        raise InvalidRecipient("the address is not a single valid addr-spec") from exc
    if not address.username or not address.domain:
        raise InvalidRecipient("the address is not a single valid addr-spec")
    return address


def one_line(text: str) -> str:
    """Free text (an activity title) made fit for a header: whitespace runs become a space."""
    return " ".join(text.split())


# --- formatting ------------------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def format_slot(start: datetime, timezone: str | None, locale: Locale) -> str:
    """``mercredi 14 juillet 2027 à 20:00`` / ``Wednesday, July 14, 2027 at 8:00 PM``."""
    local = start.astimezone(zone(timezone))
    day = format_date(local, format="full", locale=locale)
    time = format_time(local, format="short", locale=locale)
    return f"{day} à {time}" if locale == "fr" else f"{day} at {time}"


def format_deadline(moment: datetime, timezone: str | None, locale: Locale) -> str:
    """A deadline with its zone named, since the visitor may not be there yet:
    ``Wednesday, July 14, 2027 at 8:00 PM (Central European Summer Time)``."""
    local = moment.astimezone(zone(timezone))
    name = get_timezone_name(local, width="long", locale=locale)
    return f"{format_slot(moment, timezone, locale)} ({name})"


def format_percent_of(percent: int, locale: Locale) -> str:
    """``50 %`` (no-break space) in French, ``50%`` in English."""
    return format_percent(Decimal(percent) / 100, locale=locale)


def format_money(cents: int, currency: str, locale: Locale) -> str:
    """Integer minor units (cents) of ``currency``, written the locale's way."""
    amount = Decimal(cents).scaleb(-get_currency_precision(currency))
    return format_currency(amount, currency, locale=locale)


UNIT_LABELS: dict[str, tuple[str, str]] = {
    "adult": ("Adulte", "Adult"),
    "child": ("Enfant", "Child"),
    "youth": ("Jeune", "Youth"),
    "infant": ("Bébé", "Infant"),
    "senior": ("Senior", "Senior"),
    "student": ("Étudiant", "Student"),
    "family": ("Famille", "Family"),
    "group": ("Groupe", "Group"),
    "other": ("Autre", "Other"),
}


def unit_label(unit_id: str, locale: Locale) -> str:
    known = UNIT_LABELS.get(unit_id.lower())
    if known:
        return known[0] if locale == "fr" else known[1]
    return unit_id.replace("_", " ").replace("-", " ").capitalize()


def unit_lines(units: Sequence[v1.UnitLine], currency: str, locale: Locale) -> list[str]:
    sep = " : " if locale == "fr" else ": "
    return [
        f"{u.quantity} {TIMES} {unit_label(u.id, locale)}"
        f"{sep}{format_money(u.quantity * u.unit_price_cents, currency, locale)}"
        for u in units
    ]


# --- documents -------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Details:
    rows: list[tuple[str, str | list[str]]]


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    #: Shown as a button in the HTML part (the one thing the mail asks to do).
    button: bool = False


@dataclass(frozen=True)
class Image:
    """An inline image of the HTML part (an ``Attachment`` with this ``content_id``).
    The plain-text part leaves it out: the mail says in words what it shows."""

    content_id: str
    alt: str


Block = Paragraph | Details | Link | Image


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail: inline (an image the HTML shows by ``cid:``, when it has
    a ``content_id``) or attached (an invitation)."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    #: Extra parameters of the Content-Type (``method=PUBLISH`` for an invitation).
    params: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "data": base64.b64encode(self.data).decode(),
            "content_id": self.content_id,
            "params": [list(p) for p in self.params],
        }

    @classmethod
    def from_json(cls, value: dict[str, object]) -> Attachment:
        params = value.get("params") or []
        return cls(
            filename=str(value["filename"]),
            content_type=str(value["content_type"]),
            data=base64.b64decode(str(value["data"])),
            content_id=str(value["content_id"]) if value.get("content_id") else None,
            params=tuple((str(k), str(v)) for k, v in params),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class RenderedMail:
    """What a recipient reads: subject, plain text and HTML, in one language, and the
    files that go with it."""

    locale: Locale
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


BUTTON_STYLE = (
    "display: inline-block; padding: 0.6em 1.2em; background: #1d4ed8; color: #ffffff; "
    "text-decoration: none; border-radius: 4px; font-weight: bold"
)


@dataclass
class Document:
    locale: Locale
    subject: str
    blocks: list[Block] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)

    def render(self) -> RenderedMail:
        return RenderedMail(
            locale=self.locale,
            subject=one_line(self.subject),
            text=self._text(),
            html=self._html(),
            attachments=tuple(self.attachments),
        )

    def _text(self) -> str:
        sep = " : " if self.locale == "fr" else ": "
        chunks: list[str] = []
        for block in self.blocks:
            if isinstance(block, Paragraph):
                chunks.append(block.text)
            elif isinstance(block, Link):
                chunks.append(f"{block.label}{sep}{block.url}")
            elif isinstance(block, Image):
                continue  # the details say in words what the image shows
            else:
                lines = []
                for label, value in block.rows:
                    if isinstance(value, list):
                        lines.append(f"{label}{sep}".rstrip())
                        lines.extend(f"  - {item}" for item in value)
                    else:
                        lines.append(f"{label}{sep}{value}")
                chunks.append("\n".join(lines))
        return "\n\n".join(chunks) + "\n"

    def _html(self) -> str:
        e = html.escape
        parts = [
            "<!DOCTYPE html>",
            f'<html lang="{self.locale}"><head><meta charset="utf-8">'
            f"<title>{e(one_line(self.subject))}</title></head>",
            '<body style="font-family: sans-serif; line-height: 1.5; color: #1f2933">',
        ]
        for block in self.blocks:
            if isinstance(block, Paragraph):
                parts.append(f"<p>{e(block.text)}</p>")
            elif isinstance(block, Link):
                style = f' style="{BUTTON_STYLE}"' if block.button else ""
                parts.append(
                    f'<p><a href="{e(block.url, quote=True)}"{style}>{e(block.label)}</a></p>'
                )
            elif isinstance(block, Image):
                parts.append(
                    f'<p><img src="cid:{e(block.content_id, quote=True)}" '
                    f'alt="{e(block.alt, quote=True)}" width="240" height="240"></p>'
                )
            else:
                rows = []
                for label, value in block.rows:
                    if isinstance(value, list):
                        cell = "<ul>" + "".join(f"<li>{e(v)}</li>" for v in value) + "</ul>"
                    else:
                        cell = e(value)
                    rows.append(
                        f'<tr><th align="left" valign="top" style="padding-right: 1em">'
                        f"{e(label)}</th><td>{cell}</td></tr>"
                    )
                parts.append("<table>" + "".join(rows) + "</table>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


# --- the mails -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityFacts:
    """What notifications knows of an activity (from catalog events), if anything."""

    title: v1.Localized | None = None
    timezone: str | None = None
    meeting_point: str | None = None
    what_to_bring: str | None = None


@dataclass(frozen=True)
class ReservationFacts:
    """What a cancellation mail can say about the reservation it cancels."""

    reservation_id: uuid.UUID
    activity_id: uuid.UUID
    title: v1.Localized | None
    slot_start: datetime | None
    timezone: str | None


def activity_url(storefront_url: str, activity_id: uuid.UUID) -> str:
    return f"{storefront_url.rstrip('/')}/activities/{activity_id}"


def reservation_url(storefront_url: str, reservation_id: uuid.UUID, token: str) -> str:
    """The visitor's own page of one reservation, opened by their token."""
    return (
        f"{storefront_url.rstrip('/')}/reservations/{reservation_id}?token={quote(token, safe='')}"
    )


def _title(title: v1.Localized, locale: Locale) -> str:
    return one_line(title.fr if locale == "fr" else title.en)


#: The inline QR code of the e-ticket, as the HTML part names it (``cid:``).
TICKET_QR_CID = "ticket-qr@comptoir"


def _duration(hours: int, locale: Locale) -> str:
    if hours >= 48 and hours % 24 == 0:
        days = hours // 24
        return f"{days} jours" if locale == "fr" else f"{days} days"
    return f"{hours}\N{NO-BREAK SPACE}h"


def cancellation_policy_words(policy: Sequence[v1.RefundTier], locale: Locale) -> list[str]:
    """``["Annulation gratuite jusqu'à 24 h avant", "50 % remboursé jusqu'à 2 h avant",
    "Ensuite : aucun remboursement"]``: the tiers, most generous first."""
    fr = locale == "fr"
    tiers = sorted(
        (t for t in policy if t.refund_percent > 0),
        key=lambda t: (-t.hours_before, -t.refund_percent),
    )
    if not tiers:
        return ["Aucun remboursement en cas d'annulation" if fr else "No refund if you cancel"]
    lines = []
    for tier in tiers:
        if tier.hours_before == 0:
            until = "jusqu'au début de l'activité" if fr else "until the activity starts"
        else:
            before = _duration(tier.hours_before, locale)
            until = f"jusqu'à {before} avant" if fr else f"up to {before} before"
        if tier.refund_percent == 100:
            lines.append(f"Annulation gratuite {until}" if fr else f"Free cancellation {until}")
        else:
            percent = format_percent_of(tier.refund_percent, locale)
            lines.append(f"{percent} remboursé {until}" if fr else f"{percent} refunded {until}")
    if tiers[-1].hours_before > 0 or tiers[-1].refund_percent < 100:
        lines.append("Ensuite : aucun remboursement" if fr else "After that: no refund")
    return lines


def ticket_qr_png(code: str) -> bytes:
    """The QR code of a ticket code (alphanumeric mode), as a PNG image."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def invitation_ics(
    event: v1.ReservationConfirmed, activity: ActivityFacts, stamp: datetime | None = None
) -> bytes:
    """An iCalendar invitation (METHOD:PUBLISH) of the booked slot, in UTC, titled in the
    visitor's language; its UID stays the same for one reservation, so a calendar that
    imports it twice keeps one event."""
    locale: Locale = event.visitor.locale
    start = event.slot_start.astimezone(UTC)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Comptoir//Reservations//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    vevent = icalendar.Event()
    vevent.add("uid", f"reservation-{event.reservation_id}@comptoir")
    vevent.add("dtstamp", (stamp or utcnow()).astimezone(UTC))
    vevent.add("dtstart", start)
    if event.slot_duration_minutes:
        vevent.add("dtend", start + timedelta(minutes=event.slot_duration_minutes))
    vevent.add("summary", _title(event.activity_title, locale))
    if activity.meeting_point:
        vevent.add("location", one_line(activity.meeting_point))
    sep = " : " if locale == "fr" else ": "
    description = [f"{label('reservation', locale)}{sep}{event.reservation_id}"]
    if event.ticket_code:
        description.append(f"{label('ticket_code', locale)}{sep}{event.ticket_code}")
    vevent.add("description", "\n".join(description))
    vevent.add("status", "CONFIRMED")
    calendar.add_component(vevent)
    return calendar.to_ical()


def cancellation_url(storefront_url: str, reservation_id: uuid.UUID) -> str:
    """The visitor's page of one reservation, where they cancel it (the storefront opens
    it with the visitor token it kept when they booked)."""
    return f"{storefront_url.rstrip('/')}/reservations/{reservation_id}"


def visitor_confirmation(
    event: v1.ReservationConfirmed, activity: ActivityFacts, storefront_url: str | None
) -> RenderedMail:
    """The confirmation, which is also the e-ticket: the code as a QR image (inline) and
    as text, an .ics invitation, the meeting point, what to bring and the cancellation
    policy."""
    locale: Locale = event.visitor.locale
    fr = locale == "fr"
    title = _title(event.activity_title, locale)
    when = format_slot(event.slot_start, activity.timezone, locale)
    rows: list[tuple[str, str | list[str]]] = [
        (label("activity", locale), title),
        (label("date", locale), f"{when} (heure locale)" if fr else f"{when} (local time)"),
        (label("participants", locale), unit_lines(event.units, event.currency, locale)),
        (label("total_paid", locale), format_money(event.total_cents, event.currency, locale)),
        (label("reservation", locale), str(event.reservation_id)),
    ]
    if event.ticket_code:
        rows.append((label("ticket_code", locale), event.ticket_code))
    if activity.meeting_point:
        rows.append((label("meeting_point", locale), activity.meeting_point))
    if activity.what_to_bring:
        rows.append((label("what_to_bring", locale), activity.what_to_bring))
    if event.cancellation_policy is not None:
        rows.append(
            (
                label("cancellation_policy", locale),
                cancellation_policy_words(event.cancellation_policy, locale),
            )
        )
    blocks: list[Block] = [
        Paragraph(f"Bonjour {event.visitor.name}," if fr else f"Hello {event.visitor.name},"),
        Paragraph(
            "Votre réservation est confirmée et payée. Voici son récapitulatif."
            if fr
            else "Your booking is confirmed and paid. Here is a summary."
        ),
        Details(rows),
    ]
    attachments: list[Attachment] = []
    if event.ticket_code:
        blocks.append(
            Paragraph(
                "Votre billet : présentez ce QR code (ou le code du billet) à votre arrivée."
                if fr
                else "Your ticket: show this QR code (or the ticket code) when you arrive."
            )
        )
        blocks.append(
            Image(
                TICKET_QR_CID,
                f"{label('ticket_code', locale)}{' : ' if fr else ': '}{event.ticket_code}",
            )
        )
        attachments.append(
            Attachment(
                "billet.png" if fr else "ticket.png",
                "image/png",
                ticket_qr_png(event.ticket_code),
                content_id=TICKET_QR_CID,
            )
        )
    else:
        blocks.append(
            Paragraph(
                "Présentez votre numéro de réservation à votre arrivée."
                if fr
                else "Please show your reservation number when you arrive."
            )
        )
    attachments.append(
        Attachment(
            "invitation.ics",
            "text/calendar",
            invitation_ics(event, activity),
            params=(("method", "PUBLISH"),),
        )
    )
    if storefront_url:
        blocks.append(
            Link(
                "Voir l'activité" if fr else "See the activity",
                activity_url(storefront_url, event.activity_id),
            )
        )
        blocks.append(
            Link(
                "Gérer ou annuler ma réservation" if fr else "Manage or cancel my booking",
                cancellation_url(storefront_url, event.reservation_id),
            )
        )
    blocks.append(Paragraph("À bientôt !" if fr else "See you soon!"))
    subject = f"Réservation confirmée : {title}" if fr else f"Booking confirmed: {title}"
    return Document(locale, subject, blocks, attachments).render()


def _office_fee_rows(event: v1.ReservationConfirmed, locale: Locale) -> list[tuple[str, str]]:
    """The office's fee and what the provider keeps, on every booking when there is one."""
    if not event.application_fee_cents:
        return []
    share = event.total_cents - event.application_fee_cents
    return [
        (
            label("office_fee", locale),
            format_money(event.application_fee_cents, event.currency, locale),
        ),
        (label("provider_share", locale), format_money(share, event.currency, locale)),
    ]


def provider_booking_notice(
    event: v1.ReservationConfirmed, activity: ActivityFacts
) -> RenderedMail:
    locale = PROVIDER_LOCALE
    title = _title(event.activity_title, locale)
    when = format_slot(event.slot_start, activity.timezone, locale)
    doc = Document(
        locale,
        f"Nouvelle réservation : {title}, {when}",
        [
            Paragraph("Bonjour,"),
            Paragraph("Une nouvelle réservation vient d'être confirmée et payée."),
            Details(
                [
                    (label("activity", locale), title),
                    (label("slot", locale), when),
                    (label("visitor", locale), event.visitor.name),
                    (
                        label("participants", locale),
                        unit_lines(event.units, event.currency, locale),
                    ),
                    (
                        label("total", locale),
                        format_money(event.total_cents, event.currency, locale),
                    ),
                    *_office_fee_rows(event, locale),
                    (label("reservation", locale), str(event.reservation_id)),
                ]
            ),
            Paragraph("Le visiteur présentera ce numéro à son arrivée."),
        ],
    )
    return doc.render()


VISITOR_CANCELLATION_REASONS: dict[str, tuple[str, str]] = {
    "VISITOR": ("Vous avez annulé votre réservation.", "You cancelled your booking."),
    "PROVIDER": (
        "Le prestataire a dû annuler cette activité. Nous en sommes désolés.",
        "The provider had to cancel this activity. We are sorry.",
    ),
    "OFFICE": (
        "L'office de tourisme a annulé votre réservation.",
        "The tourism office cancelled your booking.",
    ),
    "NO_SEATS_AFTER_LATE_PAYMENT": (
        "Votre paiement est arrivé après l'expiration de votre option "
        "et il ne restait plus de place.",
        "Your payment arrived after your hold had expired and no seats were left.",
    ),
    "SLOT_CANCELLED": (
        "Le départ auquel vous étiez inscrit est annulé. Nous en sommes désolés.",
        "The departure you booked has been cancelled. We are sorry.",
    ),
}

#: A reservation cancelled for NO_SEATS_AFTER_LATE_PAYMENT was never confirmed: its
#: provider never heard of it, so it gets no cancellation notice; for SLOT_CANCELLED
#: the provider gets one summary of the departure instead (see ``service``).
PROVIDER_CANCELLATION_REASONS: dict[str, str] = {
    "VISITOR": "Le visiteur a annulé sa réservation.",
    "PROVIDER": "Vous avez annulé cette réservation.",
    "OFFICE": "L'office de tourisme a annulé cette réservation.",
}


def _cancellation_rows(
    event: v1.ReservationCancelled, facts: ReservationFacts | None, locale: Locale
) -> list[tuple[str, str | list[str]]]:
    rows: list[tuple[str, str | list[str]]] = []
    if facts and facts.title:
        rows.append((label("activity", locale), _title(facts.title, locale)))
    slot_start = event.slot_start or (facts.slot_start if facts else None)
    if slot_start:
        timezone = facts.timezone if facts else None
        rows.append((label("date", locale), format_slot(slot_start, timezone, locale)))
    rows.append((label("reservation", locale), str(event.reservation_id)))
    if event.total_cents is not None:
        rows.append(
            (label("total_paid", locale), format_money(event.total_cents, event.currency, locale))
        )
    rows.append((label("refund", locale), format_money(event.refund_cents, event.currency, locale)))
    return rows


def _note(note: str | None, locale: Locale) -> list[Block]:
    """The provider's or the office's own words, quoted as they wrote them."""
    if not note or not note.strip():
        return []
    fr = locale == "fr"
    return [Paragraph(f"Message : « {note.strip()} »" if fr else f"Message: “{note.strip()}”")]


def _visitor_refund_text(event: v1.ReservationCancelled, locale: Locale) -> str:
    fr = locale == "fr"
    refund = format_money(event.refund_cents, event.currency, locale)
    if event.reason == "VISITOR" and event.refund_percent is not None:
        percent = format_percent_of(event.refund_percent, locale)
        if event.refund_cents > 0:
            return (
                f"Selon les conditions d'annulation de l'activité, vous êtes remboursé de "
                f"{percent} : {refund}, versés sur le moyen de paiement utilisé."
                if fr
                else f"Under the activity's cancellation policy you get {percent} back: "
                f"{refund}, paid back to the payment method you used."
            )
        return (
            f"Selon les conditions d'annulation de l'activité, cette annulation ne donne "
            f"droit à aucun remboursement ({percent})."
            if fr
            else f"Under the activity's cancellation policy this cancellation gives no "
            f"refund ({percent})."
        )
    if event.reason == "SLOT_CANCELLED" and event.refund_cents > 0:
        return (
            f"Vous êtes remboursé intégralement : {refund}, versés sur le moyen de paiement "
            "utilisé."
            if fr
            else f"You are refunded in full: {refund}, paid back to the payment method you used."
        )
    if event.refund_cents > 0:
        return (
            f"Un remboursement de {refund} sera versé sur le moyen de paiement utilisé."
            if fr
            else f"A refund of {refund} will be paid back to the payment method you used."
        )
    return (
        "Aucun remboursement n'est prévu pour cette annulation."
        if fr
        else "No refund is due for this cancellation."
    )


def visitor_cancellation(
    event: v1.ReservationCancelled, facts: ReservationFacts | None
) -> RenderedMail:
    locale: Locale = event.visitor.locale
    fr = locale == "fr"
    subject = "Réservation annulée" if fr else "Booking cancelled"
    if event.reason == "SLOT_CANCELLED":
        subject = "Départ annulé" if fr else "Departure cancelled"
    if facts and facts.title:
        subject += f" : {_title(facts.title, locale)}" if fr else f": {_title(facts.title, locale)}"
    reason_fr, reason_en = VISITOR_CANCELLATION_REASONS[event.reason]
    doc = Document(
        locale,
        subject,
        [
            Paragraph(f"Bonjour {event.visitor.name}," if fr else f"Hello {event.visitor.name},"),
            Paragraph(reason_fr if fr else reason_en),
            *_note(event.note, locale),
            Details(_cancellation_rows(event, facts, locale)),
            Paragraph(_visitor_refund_text(event, locale)),
        ],
    )
    return doc.render()


def provider_cancellation_notice(
    event: v1.ReservationCancelled, facts: ReservationFacts | None
) -> RenderedMail:
    locale = PROVIDER_LOCALE
    subject = "Réservation annulée"
    if facts and facts.title:
        subject += f" : {_title(facts.title, locale)}"
    slot_start = event.slot_start or (facts.slot_start if facts else None)
    if slot_start:
        subject += f", {format_slot(slot_start, facts.timezone if facts else None, locale)}"
    refund = format_money(event.refund_cents, event.currency, locale)
    if event.refund_cents <= 0:
        refund_text = "Le visiteur n'est pas remboursé."
    elif event.reason == "VISITOR" and event.refund_percent is not None:
        percent = format_percent_of(event.refund_percent, locale)
        refund_text = (
            f"Selon les conditions d'annulation de l'activité, le visiteur est remboursé "
            f"de {percent} : {refund}."
        )
    else:
        refund_text = f"Le visiteur est remboursé de {refund}."
    doc = Document(
        locale,
        subject,
        [
            Paragraph("Bonjour,"),
            Paragraph(PROVIDER_CANCELLATION_REASONS[event.reason]),
            *_note(event.note, locale),
            Details(
                [
                    *_cancellation_rows(event, facts, locale),
                    (label("visitor", locale), event.visitor.name),
                ]
            ),
            Paragraph(refund_text),
        ],
    )
    return doc.render()


def provider_slot_cancelled(event: v1.SlotCancelled, activity: ActivityFacts) -> RenderedMail:
    """One summary for the provider when a whole departure is cancelled."""
    locale = PROVIDER_LOCALE
    when = format_slot(event.slot_start, activity.timezone, locale)
    title = _title(activity.title, locale) if activity.title else None
    subject = f"Départ annulé : {title}, {when}" if title else f"Départ annulé : {when}"
    who = (
        "Vous avez annulé ce départ."
        if event.cancelled_by == "PROVIDER"
        else "L'office de tourisme a annulé ce départ."
    )
    count = event.reservations_cancelled
    if count == 0:
        summary = "Aucune réservation confirmée n'était inscrite sur ce départ."
    elif count == 1:
        summary = "1 réservation a été annulée et remboursée intégralement."
    else:
        summary = f"{count} réservations ont été annulées et remboursées intégralement."
    rows: list[tuple[str, str | list[str]]] = []
    if title:
        rows.append((label("activity", locale), title))
    rows.append((label("slot", locale), when))
    rows.append((label("reservations_cancelled", locale), str(count)))
    blocks: list[Block] = [
        Paragraph("Bonjour,"),
        Paragraph(
            f"Le départ « {title} » du {when} est annulé."
            if title
            else f"Le départ du {when} est annulé."
        ),
        Paragraph(who),
        *_note(event.note, locale),
        Details(rows),
        Paragraph(summary),
    ]
    if count:
        blocks.append(Paragraph("Chaque visiteur a été prévenu par e-mail."))
    return Document(locale, subject, blocks).render()


# --- rebooking ------------------------------------------------------------------------


def visitor_rebooked(event: v1.ReservationRebooked, activity: ActivityFacts) -> RenderedMail:
    locale: Locale = event.visitor.locale
    fr = locale == "fr"
    title = _title(event.activity_title, locale)
    new = format_slot(event.slot_start, activity.timezone, locale)
    old = format_slot(event.from_slot_start, activity.timezone, locale)
    rows: list[tuple[str, str | list[str]]] = [
        (label("activity", locale), title),
        (label("new_slot", locale), f"{new} (heure locale)" if fr else f"{new} (local time)"),
        (label("old_slot", locale), old),
        (label("participants", locale), _unit_counts(event.units, locale)),
        (label("reservation", locale), str(event.reservation_id)),
    ]
    if activity.meeting_point:
        rows.append((label("meeting_point", locale), activity.meeting_point))
    doc = Document(
        locale,
        f"Réservation déplacée : {title}" if fr else f"Booking moved: {title}",
        [
            Paragraph(f"Bonjour {event.visitor.name}," if fr else f"Hello {event.visitor.name},"),
            Paragraph(
                f"Votre réservation a bien été déplacée au {new}."
                if fr
                else f"Your booking has been moved to {new}."
            ),
            Details(rows),
            Paragraph(
                "Votre numéro de réservation ne change pas ; présentez-le à votre arrivée."
                if fr
                else "Your reservation number stays the same; please show it when you arrive."
            ),
            Paragraph("À bientôt !" if fr else "See you soon!"),
        ],
    )
    return doc.render()


def provider_rebooked_notice(
    event: v1.ReservationRebooked, activity: ActivityFacts
) -> RenderedMail:
    locale = PROVIDER_LOCALE
    title = _title(event.activity_title, locale)
    new = format_slot(event.slot_start, activity.timezone, locale)
    old = format_slot(event.from_slot_start, activity.timezone, locale)
    doc = Document(
        locale,
        f"Réservation déplacée : {title}, {new}",
        [
            Paragraph("Bonjour,"),
            Paragraph(f"{event.visitor.name} a déplacé sa réservation du {old} au {new}."),
            Details(
                [
                    (label("activity", locale), title),
                    (label("visitor", locale), event.visitor.name),
                    (label("from_slot", locale), old),
                    (label("to_slot", locale), new),
                    (label("participants", locale), _unit_counts(event.units, locale)),
                    (label("reservation", locale), str(event.reservation_id)),
                ]
            ),
            Paragraph("Les places de l'ancien créneau sont libérées."),
        ],
    )
    return doc.render()


def _unit_counts(units: Sequence[v1.UnitLine], locale: Locale) -> list[str]:
    """Participants without prices (a rebooking does not say what was paid)."""
    return [f"{u.quantity} {TIMES} {unit_label(u.id, locale)}" for u in units]


# --- waitlist ------------------------------------------------------------------------


def visitor_waitlist_offer(
    event: v1.WaitlistOfferMade, activity: ActivityFacts, storefront_url: str | None
) -> RenderedMail:
    """The offer of a held place; the visitor's token appears only inside the link."""
    locale: Locale = event.visitor.locale
    fr = locale == "fr"
    title = _title(event.activity_title, locale)
    when = format_slot(event.slot_start, activity.timezone, locale)
    deadline = format_deadline(event.expires_at, activity.timezone, locale)
    rows: list[tuple[str, str | list[str]]] = [
        (label("activity", locale), title),
        (label("date", locale), f"{when} (heure locale)" if fr else f"{when} (local time)"),
        (label("participants", locale), unit_lines(event.units, event.currency, locale)),
        (label("total", locale), format_money(event.total_cents, event.currency, locale)),
        (label("deadline", locale), deadline),
        (label("reservation", locale), str(event.reservation_id)),
    ]
    blocks: list[Block] = [
        Paragraph(f"Bonjour {event.visitor.name}," if fr else f"Hello {event.visitor.name},"),
        Paragraph(
            "Bonne nouvelle : des places se sont libérées sur le créneau que vous attendiez. "
            f"Nous les avons mises de côté pour vous jusqu'au {deadline}."
            if fr
            else "Good news: seats have opened up on the time slot you were waiting for. "
            f"We are holding them for you until {deadline}."
        ),
        Details(rows),
        Paragraph(
            "Réglez votre réservation avant cette heure pour la confirmer ; sans paiement, "
            "les places seront proposées à la personne suivante."
            if fr
            else "Pay for your booking before then to confirm it; without payment the seats "
            "go to the next person waiting."
        ),
    ]
    if storefront_url:
        blocks.append(
            Link(
                "Voir et régler ma réservation" if fr else "View and pay for my booking",
                reservation_url(storefront_url, event.reservation_id, event.visitor_token),
            )
        )
    return Document(
        locale,
        f"Une place s'est libérée : {title}" if fr else f"A place has opened up: {title}",
        blocks,
    ).render()


# --- reminders -----------------------------------------------------------------------


def visitor_reminder(
    visitor: v1.Visitor,
    facts: ReservationFacts,
    meeting_point: str | None,
    storefront_url: str | None,
    *,
    what_to_bring: str | None = None,
) -> RenderedMail:
    """The reminder sent the day before: when, where to meet, what to bring, and the
    self-service link."""
    locale: Locale = visitor.locale
    fr = locale == "fr"
    title = _title(facts.title, locale) if facts.title else None
    assert facts.slot_start is not None
    when = format_slot(facts.slot_start, facts.timezone, locale)
    rows: list[tuple[str, str | list[str]]] = []
    if title:
        rows.append((label("activity", locale), title))
    rows.append((label("date", locale), f"{when} (heure locale)" if fr else f"{when} (local time)"))
    rows.append((label("reservation", locale), str(facts.reservation_id)))
    if meeting_point:
        rows.append((label("meeting_point", locale), meeting_point))
    if what_to_bring:
        rows.append((label("what_to_bring", locale), what_to_bring))
    if fr:
        what = f"votre activité « {title} »" if title else "votre activité"
        intro = f"Petit rappel : {what} a lieu le {when}."
    else:
        what = f"your activity “{title}”" if title else "your activity"
        intro = f"A quick reminder: {what} is on {when}."
    blocks: list[Block] = [
        Paragraph(f"Bonjour {visitor.name}," if fr else f"Hello {visitor.name},"),
        Paragraph(intro),
        Details(rows),
        Paragraph(
            "Présentez le QR code de votre billet (dans votre e-mail de confirmation) "
            "à votre arrivée."
            if fr
            else "Please show the QR code of your ticket (in your confirmation e-mail) "
            "when you arrive."
        ),
    ]
    if storefront_url:
        blocks.append(
            Link(
                "Gérer ou annuler ma réservation" if fr else "Manage or cancel my booking",
                cancellation_url(storefront_url, facts.reservation_id),
            )
        )
    blocks.append(Paragraph("À bientôt !" if fr else "See you soon!"))
    subject = "Rappel : " if fr else "Reminder: "
    subject += title or ("votre activité" if fr else "your activity")
    return Document(locale, f"{subject}, {when}", blocks).render()


# --- refunds -------------------------------------------------------------------------


def visitor_refund_sent(
    event: v1.RefundUpdated, visitor: v1.Visitor, facts: ReservationFacts | None
) -> RenderedMail:
    locale: Locale = visitor.locale
    fr = locale == "fr"
    amount = format_money(event.amount_cents, event.currency, locale)
    rows: list[tuple[str, str | list[str]]] = []
    if facts and facts.title:
        rows.append((label("activity", locale), _title(facts.title, locale)))
    if facts and facts.slot_start:
        rows.append((label("date", locale), format_slot(facts.slot_start, facts.timezone, locale)))
    rows.append((label("reservation", locale), str(event.reservation_id)))
    rows.append((label("refund", locale), amount))
    subject = "Remboursement envoyé" if fr else "Refund sent"
    if facts and facts.title:
        subject += f" : {_title(facts.title, locale)}" if fr else f": {_title(facts.title, locale)}"
    doc = Document(
        locale,
        subject,
        [
            Paragraph(f"Bonjour {visitor.name}," if fr else f"Hello {visitor.name},"),
            Paragraph(
                f"Le remboursement de {amount} a été envoyé sur le moyen de paiement utilisé."
                if fr
                else f"Your refund of {amount} has been sent to the payment method you used."
            ),
            Details(rows),
            Paragraph(
                "Il peut falloir quelques jours pour qu'il apparaisse sur votre relevé."
                if fr
                else "It can take a few days to appear on your statement."
            ),
        ],
    )
    return doc.render()


# --- the provider's daily digest -------------------------------------------------------

#: Sections of a digest, in order: (kind, heading, one, several).
DIGEST_SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("booking", "Nouvelles réservations", "nouvelle réservation", "nouvelles réservations"),
    ("change", "Réservations déplacées", "réservation déplacée", "réservations déplacées"),
    ("cancellation", "Réservations annulées", "annulation", "annulations"),
)


def provider_digest(day: date, entries: Sequence[tuple[str, str]]) -> RenderedMail:
    """The day's bookings, rebookings and cancellations of one provider, in one mail;
    ``entries`` are (kind, line) in the order they happened."""
    locale = PROVIDER_LOCALE
    when = format_date(day, format="full", locale=locale)
    rows: list[tuple[str, str | list[str]]] = []
    counts: list[str] = []
    for kind, heading, one, several in DIGEST_SECTIONS:
        lines = [line for k, line in entries if k == kind]
        if lines:
            rows.append((heading, lines))
            counts.append(f"{len(lines)} {one if len(lines) == 1 else several}")
    blocks: list[Block] = [
        Paragraph("Bonjour,"),
        Paragraph(
            f"Voici le récapitulatif de vos réservations depuis le précédent : {', '.join(counts)}."
        ),
        Details(rows),
        Paragraph(
            "Vous recevez un récapitulatif par jour, comme vous l'avez choisi ; "
            "vous pouvez revenir à un e-mail par réservation à tout moment."
        ),
    ]
    return Document(locale, f"Vos réservations : récapitulatif du {when}", blocks).render()


# --- payouts ---------------------------------------------------------------------------


def provider_payout_notice(event: v1.PayoutUpdated) -> RenderedMail:
    """A payout to the provider's bank account went through, or failed."""
    locale = PROVIDER_LOCALE
    amount = format_money(event.amount_cents, event.currency, locale)
    rows: list[tuple[str, str | list[str]]] = [
        (label("amount", locale), amount),
        (label("payout", locale), event.payout_id),
    ]
    if event.status == "PAID":
        if event.arrival_date is not None:
            arrival = event.arrival_date.astimezone(zone(DEFAULT_TIMEZONE))
            rows.append(
                (label("arrival_date", locale), format_date(arrival, format="full", locale=locale))
            )
        blocks: list[Block] = [
            Paragraph("Bonjour,"),
            Paragraph(f"Un virement de {amount} a été envoyé sur votre compte bancaire."),
            Details(rows),
            Paragraph("Il correspond aux paiements de vos réservations encaissés par Stripe."),
        ]
        subject = f"Virement envoyé : {amount}"
    else:
        if event.failure_reason:
            rows.append((label("failure_reason", locale), one_line(event.failure_reason)))
        blocks = [
            Paragraph("Bonjour,"),
            Paragraph(f"Le virement de {amount} vers votre compte bancaire a échoué."),
            Details(rows),
            Paragraph(
                "Vérifiez les coordonnées bancaires de votre compte Stripe : la somme reste "
                "sur votre solde Stripe et sera versée au prochain virement."
            ),
        ]
        subject = f"Virement échoué : {amount}"
    return Document(locale, subject, blocks).render()


# --- sign-in links -----------------------------------------------------------------------


def sign_in_link(
    *,
    name: str,
    audience: Literal["provider", "office"],
    locale: Locale,
    link: str,
    expires_at: datetime,
    timezone: str | None,
) -> RenderedMail:
    """The magic link that signs a provider or office staff in, asked for on the web.

    The link itself is the web front end's (signed there); the mail says when it stops
    working, in the territory's local time with the zone named, that it works once, and
    what to do with a mail one did not ask for.
    """
    fr = locale == "fr"
    deadline = format_deadline(expires_at, timezone, locale)
    if audience == "provider":
        where = "votre espace prestataire" if fr else "your provider space"
    else:
        where = "l'espace de l'office de tourisme" if fr else "the tourism office's space"
    blocks: list[Block] = [
        Paragraph(f"Bonjour {name}," if fr else f"Hello {name},"),
        Paragraph(
            f"Pour vous connecter à {where} sur Comptoir, utilisez ce lien :"
            if fr
            else f"To sign in to {where} on Comptoir, use this link:"
        ),
        Link("Me connecter à Comptoir" if fr else "Sign in to Comptoir", link, button=True),
        Paragraph(
            f"Ce lien ne fonctionne qu'une seule fois, jusqu'au {deadline}."
            if fr
            else f"This link works once only, until {deadline}."
        ),
        Paragraph(
            "Si vous n'avez pas demandé ce lien, ignorez cet e-mail : sans lui, personne "
            "ne peut se connecter à votre place. Ne le transférez à personne."
            if fr
            else "If you did not ask for it, ignore this e-mail: nobody can sign in as you "
            "without it. Do not forward it to anyone."
        ),
    ]
    subject = "Votre lien de connexion Comptoir" if fr else "Your Comptoir sign-in link"
    return Document(locale, subject, blocks).render()


# --- the message on the wire ------------------------------------------------------------


def build_message(
    *,
    mail_id: uuid.UUID,
    sender: Address,
    recipient: Address,
    rendered: RenderedMail,
    date: datetime | None = None,
) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML preferred; an inline
    image makes the HTML part multipart/related, an attachment wraps it all in
    multipart/mixed.

    ``Message-ID`` derives from the outgoing mail's id, so the same mail always carries
    the same id. The headers come from checked ``Address`` objects and a one-line
    subject; the email package refuses CR/LF in any header value besides.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = one_line(rendered.subject)
    message["Date"] = email.utils.format_datetime(date or utcnow())
    message["Message-ID"] = f"<{mail_id}@{sender.domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)
    for attachment in rendered.attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        params = dict(attachment.params)
        if attachment.content_id:
            # multipart/related around the HTML part: its <img src="cid:..."> shows it.
            html_part.add_related(
                attachment.data,
                maintype=maintype,
                subtype=subtype,
                cid=f"<{attachment.content_id}>",
                filename=attachment.filename,
                disposition="inline",
                params=params,
            )
        elif maintype == "text":
            message.add_attachment(
                attachment.data.decode(),
                subtype=subtype,
                filename=attachment.filename,
                params=params,
            )
        else:
            message.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype,
                filename=attachment.filename,
                params=params,
            )
    # After add_alternative and add_attachment, which move every Content-* header of the
    # message into its first part.
    message["Content-Language"] = rendered.locale
    return message
