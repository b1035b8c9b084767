"""Notifications use cases. Event handlers run inside the inbox transaction, so every
row they write commits together with the event id that caused it, or not at all.

An e-mail is never sent here: a handler renders it and records it as an
``outgoing_mail`` row; the mail sender (``sender.py``) sends it after commit.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeAlias

from opentelemetry import trace
from redis.asyncio import Redis
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from comptoir_common.auth import Principal
from comptoir_common.db import utcnow
from comptoir_common.events import Envelope, v1
from comptoir_common.problems import Problem, not_found
from comptoir_common.projections import upsert_newer
from comptoir_common.telemetry import ATTR_RESERVATION_ID, current_trace_carrier
from comptoir_notifications import mails
from comptoir_notifications.mails import ActivityFacts, RenderedMail, ReservationFacts
from comptoir_notifications.schemas import (
    MessagePublic,
    NotificationPreferences,
    NotificationPreferencesIn,
    Page,
    SignInLinkAccepted,
    SignInLinkIn,
)
from comptoir_notifications.store import (
    EMAIL,
    SIGN_IN,
    Activity,
    BookingNotices,
    DigestEntry,
    MailStatus,
    OutgoingMail,
    Provider,
    ProviderPreference,
    RecipientKind,
    Reservation,
    WaitingNotice,
)

log = logging.getLogger("comptoir.notifications")
tracer = trace.get_tracer("comptoir.notifications")

SERVICE = "notifications"


# --- catalog projections ---------------------------------------------------------------


async def apply_provider(session: AsyncSession, event: v1.ProviderUpdated) -> None:
    """Keep the provider's address; an older or repeated version changes nothing."""
    await upsert_newer(
        session,
        Provider,
        {
            "id": event.provider_id,
            "territory_id": event.territory_id,
            "name": event.name,
            "email": str(event.email),
            "version": event.version,
            "updated_at": utcnow(),
        },
    )


async def apply_activity(session: AsyncSession, event: v1.ActivityUpdated) -> None:
    """Keep what mails say about an activity; an older version changes nothing."""
    await upsert_newer(
        session,
        Activity,
        {
            "id": event.activity_id,
            "provider_id": event.provider_id,
            "territory_id": event.territory_id,
            "title": event.title.model_dump(),
            "timezone": event.timezone,
            "meeting_point": event.meeting_point,
            "what_to_bring": event.what_to_bring,
            "version": event.version,
            "updated_at": utcnow(),
        },
    )


async def activity_facts(session: AsyncSession, activity_id: uuid.UUID) -> ActivityFacts:
    activity = await session.get(Activity, activity_id)
    if activity is None:
        return ActivityFacts()
    return ActivityFacts(
        title=v1.Localized(**activity.title),
        timezone=activity.timezone,
        meeting_point=activity.meeting_point,
        what_to_bring=activity.what_to_bring,
    )


# --- reservation facts -----------------------------------------------------------------

#: Booking events that name the reservation's visitor (and so may release a waiting notice).
ReservationEvent: TypeAlias = (
    v1.HoldPlaced
    | v1.ReservationConfirmed
    | v1.ReservationCancelled
    | v1.ReservationRebooked
    | v1.WaitlistOfferMade
)

#: Columns set once, by whichever event brings them first.
_FIRST_WINS = ("confirmed_at", "cancelled_at", "rebooked_at")
#: Columns about the current slot: only an event that knows it (a rebooking or a
#: cancellation) overwrites them.
_SLOT_FACTS = ("slot_start", "activity_title", "slot_booked_at")


async def remember_reservation(session: AsyncSession, event: ReservationEvent) -> Reservation:
    """Record what later mails need to know of a reservation; returns the merged row.

    Booking's events travel on different topics, so a cancellation may be handled
    before the confirmation it cancels: the row remembers each moment once. The slot is
    the one the hold or confirmation named unless a rebooking or a cancellation (which
    know the current slot) says otherwise; the visitor is the latest event's.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "id": event.reservation_id,
        "activity_id": event.activity_id,
        "provider_id": event.provider_id,
        "territory_id": event.territory_id,
        "visitor_name": event.visitor.name,
        "visitor_email": str(event.visitor.email),
        "visitor_locale": event.visitor.locale,
        "updated_at": now,
    }
    slot_is_current = isinstance(event, v1.ReservationRebooked | v1.ReservationCancelled)
    if not isinstance(event, v1.ReservationCancelled):
        values["slot_start"] = event.slot_start
        values["activity_title"] = event.activity_title.model_dump()
    elif event.slot_start is not None:
        values["slot_start"] = event.slot_start
    if isinstance(event, v1.ReservationConfirmed):
        values["confirmed_at"] = now
        values["slot_booked_at"] = now
    if isinstance(event, v1.ReservationCancelled):
        values["cancelled_at"] = now
    if isinstance(event, v1.ReservationRebooked):
        values["rebooked_at"] = now
        values["slot_booked_at"] = now
    stmt = insert(Reservation).values(**values)
    merged: dict[str, Any] = {}
    for key in values:
        if key in ("id", "activity_id", "provider_id", "territory_id", "updated_at"):
            continue
        if key in _FIRST_WINS or (key in _SLOT_FACTS and not slot_is_current):
            merged[key] = func.coalesce(getattr(Reservation, key), stmt.excluded[key])
        else:
            merged[key] = stmt.excluded[key]
    row = await session.scalar(
        stmt.on_conflict_do_update(index_elements=["id"], set_={**merged, "updated_at": now})
        .returning(Reservation)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def _visitor_of(reservation: Reservation | None) -> v1.Visitor | None:
    """The visitor a booking event named for this reservation, if any has yet."""
    if reservation is None or not reservation.visitor_email:
        return None
    return v1.Visitor.model_construct(
        name=reservation.visitor_name or "",
        email=reservation.visitor_email,
        locale="en" if reservation.visitor_locale == "en" else "fr",
    )


async def _reservation_facts(
    session: AsyncSession, reservation: Reservation, slot_start: datetime | None = None
) -> ReservationFacts:
    activity = await activity_facts(session, reservation.activity_id)
    title = (
        v1.Localized(**reservation.activity_title) if reservation.activity_title else activity.title
    )
    return ReservationFacts(
        reservation_id=reservation.id,
        activity_id=reservation.activity_id,
        title=title,
        slot_start=slot_start or reservation.slot_start,
        timezone=activity.timezone,
    )


# --- recording mails -------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """The event a mail is about: one mail per (event, recipient, channel)."""

    event_id: uuid.UUID
    event_type: str
    territory_id: uuid.UUID
    #: None for a mail no provider is concerned by (office staff's sign-in link).
    provider_id: uuid.UUID | None
    reservation_id: uuid.UUID | None
    slot_id: uuid.UUID | None
    trace_headers: dict[str, str]

    @classmethod
    def of(
        cls,
        envelope: Envelope,
        event: ReservationEvent | v1.SlotCancelled | v1.RefundUpdated | v1.PayoutUpdated,
    ) -> Origin:
        return cls(
            event_id=envelope.event_id,
            event_type=envelope.type,
            territory_id=event.territory_id,
            provider_id=event.provider_id,
            reservation_id=getattr(event, "reservation_id", None),
            slot_id=getattr(event, "slot_id", None),
            trace_headers=current_trace_carrier(),
        )


def _mail(
    origin: Origin,
    kind: RecipientKind,
    rendered: RenderedMail,
    recipient: tuple[str, str] | None,
    *,
    dedup_key: str | None = None,
) -> OutgoingMail:
    """An outgoing mail row; the recipient is checked against header injection here."""
    mail = OutgoingMail(
        event_id=origin.event_id,
        event_type=origin.event_type,
        recipient_kind=kind,
        channel=EMAIL,
        reservation_id=origin.reservation_id,
        slot_id=origin.slot_id,
        territory_id=origin.territory_id,
        provider_id=origin.provider_id,
        dedup_key=dedup_key,
        locale=rendered.locale,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        attachments=[a.to_json() for a in rendered.attachments],
        trace_headers=origin.trace_headers,
    )
    if recipient is not None:
        mail.to_name, mail.to_address = recipient
        try:
            mails.mailbox(*recipient)
        except mails.InvalidRecipient as exc:
            mail.status = MailStatus.FAILED
            mail.error = f"recipient refused: {exc}"
    return mail


def _visitor_mail(origin: Origin, rendered: RenderedMail, visitor: v1.Visitor) -> OutgoingMail:
    return _mail(origin, RecipientKind.VISITOR, rendered, (visitor.name, str(visitor.email)))


async def _provider_mail(
    session: AsyncSession, origin: Origin, rendered: RenderedMail
) -> OutgoingMail:
    assert origin.provider_id is not None  # every event a provider hears of names it
    return _mail(
        origin,
        RecipientKind.PROVIDER,
        rendered,
        await _provider_recipient(session, origin.provider_id),
    )


async def _provider_notice(
    session: AsyncSession, origin: Origin, rendered: RenderedMail, kind: str, visitor_name: str
) -> list[OutgoingMail]:
    """The provider's notice of one booking event: its own mail, or, when the provider
    chose a daily digest, a line of its next digest (one per event) and no mail."""
    preference = await session.get(ProviderPreference, origin.provider_id)
    if preference is None or preference.booking_notices != BookingNotices.DAILY_DIGEST:
        return [await _provider_mail(session, origin, rendered)]
    assert origin.reservation_id is not None
    what = rendered.subject.split(" : ", 1)[-1]
    await session.execute(
        insert(DigestEntry)
        .values(
            event_id=origin.event_id,
            provider_id=origin.provider_id,
            territory_id=origin.territory_id,
            reservation_id=origin.reservation_id,
            kind=kind,
            line=f"{what} — {visitor_name} (réservation {origin.reservation_id})",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    log.info(
        "provider notice kept for the daily digest",
        extra={"event_id": str(origin.event_id), "reservation_id": str(origin.reservation_id)},
    )
    return []


async def _record(session: AsyncSession, outgoing: list[OutgoingMail]) -> int:
    """Insert each mail unless this (event, recipient, channel) already has one, or
    (for a mail with a ``dedup_key``) this fact was already told to this recipient."""
    recorded = 0
    for mail in outgoing:
        mail_id = await session.scalar(
            insert(OutgoingMail)
            .values(**mail.model_dump())
            .on_conflict_do_nothing()  # the (event, recipient) and the dedup_key indexes
            .returning(OutgoingMail.id)  # type: ignore[call-overload]
        )
        log.info(
            "mail recorded" if mail_id else "mail already recorded for this event or fact",
            extra={
                "mail_id": str(mail_id or ""),
                "event_id": str(mail.event_id),
                "reservation_id": str(mail.reservation_id or ""),
                "slot_id": str(mail.slot_id or ""),
                "recipient_kind": mail.recipient_kind,
                "status": mail.status,
            },
        )
        recorded += mail_id is not None
    return recorded


async def _provider_recipient(
    session: AsyncSession, provider_id: uuid.UUID
) -> tuple[str, str] | None:
    provider = await session.get(Provider, provider_id)
    return (provider.name, provider.email) if provider else None


# --- booking events --------------------------------------------------------------------


async def on_hold_placed(session: AsyncSession, event: v1.HoldPlaced) -> int:
    """No mail of its own: remembers the reservation (and its visitor)."""
    reservation = await remember_reservation(session, event)
    return await release_waiting(session, reservation)


async def notify_confirmed(
    session: AsyncSession,
    envelope: Envelope,
    event: v1.ReservationConfirmed,
    *,
    storefront_url: str | None,
) -> int:
    """The visitor's confirmation and the provider's booking notice; how many recorded."""
    reservation = await remember_reservation(session, event)
    recorded = 0
    if reservation.cancelled_at is not None:
        log.info(
            "confirmation handled after its cancellation: no confirmation mail",
            extra={"reservation_id": str(event.reservation_id)},
        )
    else:
        if reservation.rebooked_at is not None and reservation.slot_start is not None:
            # Handled after a rebooking of it: tell the slot it is on now.
            event = event.model_copy(update={"slot_start": reservation.slot_start})
        activity = await activity_facts(session, event.activity_id)
        origin = Origin.of(envelope, event)
        recorded = await _record(
            session,
            [
                _visitor_mail(
                    origin,
                    mails.visitor_confirmation(event, activity, storefront_url),
                    event.visitor,
                ),
                *(
                    await _provider_notice(
                        session,
                        origin,
                        mails.provider_booking_notice(event, activity),
                        "booking",
                        event.visitor.name,
                    )
                ),
            ],
        )
    return recorded + await release_waiting(session, reservation)


async def notify_cancelled(
    session: AsyncSession, envelope: Envelope, event: v1.ReservationCancelled
) -> int:
    """The visitor's cancellation notice and, if it knew of the booking, the provider's.

    A reservation cancelled because seats were gone when a late payment arrived was
    never confirmed: its provider was never told of it, so it is not told of this. One
    cancelled with its whole departure (SLOT_CANCELLED) is in the provider's summary
    (``notify_slot_cancelled``).
    """
    reservation = await remember_reservation(session, event)
    await withdraw_reminders(session, event.reservation_id)
    facts = await _reservation_facts(session, reservation, event.slot_start)
    origin = Origin.of(envelope, event)
    outgoing = [_visitor_mail(origin, mails.visitor_cancellation(event, facts), event.visitor)]
    if event.reason in mails.PROVIDER_CANCELLATION_REASONS:
        outgoing += await _provider_notice(
            session,
            origin,
            mails.provider_cancellation_notice(event, facts),
            "cancellation",
            event.visitor.name,
        )
    return await _record(session, outgoing) + await release_waiting(session, reservation)


async def notify_rebooked(
    session: AsyncSession, envelope: Envelope, event: v1.ReservationRebooked
) -> int:
    """The visitor's and the provider's notices of a reservation moved to another slot."""
    reservation = await remember_reservation(session, event)
    await withdraw_reminders(session, event.reservation_id)
    recorded = 0
    if reservation.cancelled_at is not None:
        log.info(
            "rebooking handled after the reservation's cancellation: no mail",
            extra={"reservation_id": str(event.reservation_id)},
        )
    else:
        activity = await activity_facts(session, event.activity_id)
        origin = Origin.of(envelope, event)
        recorded = await _record(
            session,
            [
                _visitor_mail(origin, mails.visitor_rebooked(event, activity), event.visitor),
                *(
                    await _provider_notice(
                        session,
                        origin,
                        mails.provider_rebooked_notice(event, activity),
                        "change",
                        event.visitor.name,
                    )
                ),
            ],
        )
    return recorded + await release_waiting(session, reservation)


async def notify_slot_cancelled(
    session: AsyncSession, envelope: Envelope, event: v1.SlotCancelled
) -> int:
    """One summary for the provider; each visitor hears from their own cancellation."""
    activity = await activity_facts(session, event.activity_id)
    if activity.title is None:
        # Catalog has not told us of the activity: a reservation on it may have.
        known = await session.scalar(
            select(col(Reservation.activity_title))
            .where(col(Reservation.activity_id) == event.activity_id)
            .where(col(Reservation.activity_title).is_not(None))
            .limit(1)
        )
        if known:
            activity = replace(activity, title=v1.Localized(**known))
    origin = Origin.of(envelope, event)
    return await _record(
        session,
        [await _provider_mail(session, origin, mails.provider_slot_cancelled(event, activity))],
    )


async def notify_waitlist_offer(
    session: AsyncSession,
    envelope: Envelope,
    event: v1.WaitlistOfferMade,
    *,
    storefront_url: str | None,
) -> int:
    """The offer of a held place to the visitor who waited for it.

    The event's visitor token goes into the rendered mail's link only (when there is a
    storefront to link to); it is never logged nor kept anywhere else.
    """
    reservation = await remember_reservation(session, event)
    recorded = 0
    if reservation.confirmed_at is not None or reservation.cancelled_at is not None:
        log.info(
            "waitlist offer handled after the reservation was confirmed or cancelled: no mail",
            extra={"reservation_id": str(event.reservation_id)},
        )
    elif event.expires_at <= utcnow():
        log.warning(
            "waitlist offer handled after it expired: no mail",
            extra={"reservation_id": str(event.reservation_id)},
        )
    else:
        activity = await activity_facts(session, event.activity_id)
        recorded = await _record(
            session,
            [
                _visitor_mail(
                    Origin.of(envelope, event),
                    mails.visitor_waitlist_offer(event, activity, storefront_url),
                    event.visitor,
                )
            ],
        )
    return recorded + await release_waiting(session, reservation)


# --- reminders -------------------------------------------------------------------------

#: ``outgoing_mail.event_type`` of a reminder (no Kafka event causes it: the clock does).
REMINDER = "notifications.reminder"


def reminder_id(reservation_id: uuid.UUID, slot_start: datetime) -> uuid.UUID:
    """The reminder's stand-in for an event id: one per reservation and slot, so the
    (event, recipient, channel) constraint records it once, and a rebooking to another
    slot gets its own."""
    return uuid.uuid5(reservation_id, f"reminder:{slot_start.astimezone(UTC).isoformat()}")


async def record_due_reminders(
    session: AsyncSession,
    *,
    now: datetime,
    lead: timedelta,
    storefront_url: str | None,
    limit: int,
) -> tuple[int, int]:
    """Record the visitor's reminder of each confirmed, not cancelled reservation whose
    slot starts within ``lead``; how many reservations were decided (at most ``limit``),
    and how many reminders recorded.

    Each reservation's current slot is decided once (``reminder_slot_start``): its
    reminder recorded, or none when that slot was booked (confirmed or rebooked to) less
    than ``lead`` before it starts: the confirmation said it all a moment ago. Rows are
    taken with ``FOR UPDATE SKIP LOCKED``, so two processes never decide the same one,
    and a cancellation handled meanwhile waits for this transaction (then withdraws the
    reminder if it is still unsent: ``withdraw_reminders``).
    """
    due = (
        await session.scalars(
            select(Reservation)
            .where(col(Reservation.confirmed_at).is_not(None))
            .where(col(Reservation.cancelled_at).is_(None))
            .where(col(Reservation.visitor_email).is_not(None))
            .where(col(Reservation.slot_start) > now)
            .where(col(Reservation.slot_start) <= now + lead)
            .where(
                or_(
                    col(Reservation.reminder_slot_start).is_(None),
                    col(Reservation.reminder_slot_start) != col(Reservation.slot_start),
                )
            )
            .order_by(col(Reservation.slot_start))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    recorded = 0
    for reservation in due:
        slot_start = reservation.slot_start
        visitor = _visitor_of(reservation)
        assert slot_start is not None and visitor is not None
        reservation.reminder_slot_start = slot_start
        booked = reservation.slot_booked_at or reservation.confirmed_at
        if booked is not None and booked > slot_start - lead:
            log.info(
                "slot booked less than the reminder lead before it starts: no reminder",
                extra={"reservation_id": str(reservation.id)},
            )
            continue
        with tracer.start_as_current_span(
            "reminder record", attributes={ATTR_RESERVATION_ID: str(reservation.id)}
        ):
            facts = await _reservation_facts(session, reservation)
            activity = await activity_facts(session, reservation.activity_id)
            origin = Origin(
                event_id=reminder_id(reservation.id, slot_start),
                event_type=REMINDER,
                territory_id=reservation.territory_id,
                provider_id=reservation.provider_id,
                reservation_id=reservation.id,
                slot_id=None,
                trace_headers=current_trace_carrier(),
            )
            rendered = mails.visitor_reminder(
                visitor,
                facts,
                activity.meeting_point,
                storefront_url,
                what_to_bring=activity.what_to_bring,
            )
            recorded += await _record(session, [_visitor_mail(origin, rendered, visitor)])
    return len(due), recorded


async def withdraw_reminders(session: AsyncSession, reservation_id: uuid.UUID) -> None:
    """A reminder not yet handed to the sender is not sent after a cancellation or a
    rebooking (the new slot gets its own)."""
    await session.execute(
        update(OutgoingMail)
        .where(col(OutgoingMail.reservation_id) == reservation_id)
        .where(col(OutgoingMail.event_type) == REMINDER)
        .where(col(OutgoingMail.status) == MailStatus.PENDING)
        .values(
            status=MailStatus.FAILED, error="withdrawn: the reservation changed before it went out"
        )
    )


# --- the provider's daily digest ------------------------------------------------------

#: ``outgoing_mail.event_type`` of a daily digest (the clock causes it, no event).
DIGEST = "notifications.provider-digest"


def next_digest_time(hour: int, timezone: str, after: datetime) -> datetime:
    """The first ``hour``:00 local time in ``timezone`` strictly after ``after`` (UTC)."""
    tz = mails.zone(timezone)
    day = after.astimezone(tz).date()
    while True:
        candidate = datetime.combine(day, time(hour), tzinfo=tz)
        if candidate > after:
            return candidate.astimezone(UTC)
        day += timedelta(days=1)


def digest_id(provider_id: uuid.UUID, day: date) -> uuid.UUID:
    """The digest's stand-in for an event id: one per provider and local day."""
    return uuid.uuid5(provider_id, f"digest:{day.isoformat()}")


async def record_due_digests(
    session: AsyncSession, *, now: datetime, limit: int
) -> tuple[int, int]:
    """Record each due provider digest; how many providers were decided (at most
    ``limit``) and how many digests recorded.

    A digest is due at the provider's ``digest_hour`` of its local day. It lists the
    lines waiting since the previous one; with none, nothing is sent. Either way that
    day is done: the next digest is due at the same hour the next local day. The rows
    are taken ``FOR UPDATE SKIP LOCKED`` and the mail (unique per provider and day) is
    recorded in the same transaction that marks the lines and moves the schedule, so a
    day's digest is recorded once even with several processes.
    """
    due = (
        await session.scalars(
            select(ProviderPreference)
            .where(col(ProviderPreference.next_digest_at) <= now)
            .order_by(col(ProviderPreference.next_digest_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    recorded = 0
    for preference in due:
        assert preference.next_digest_at is not None
        day = preference.next_digest_at.astimezone(mails.zone(preference.timezone)).date()
        entries = (
            await session.scalars(
                select(DigestEntry)
                .where(col(DigestEntry.provider_id) == preference.provider_id)
                .where(col(DigestEntry.digest_date).is_(None))
                .order_by(col(DigestEntry.created_at))
                .with_for_update()
            )
        ).all()
        if entries:
            with tracer.start_as_current_span("digest record"):
                origin = Origin(
                    event_id=digest_id(preference.provider_id, day),
                    event_type=DIGEST,
                    territory_id=preference.territory_id,
                    provider_id=preference.provider_id,
                    reservation_id=None,
                    slot_id=None,
                    trace_headers=current_trace_carrier(),
                )
                rendered = mails.provider_digest(day, [(e.kind, e.line) for e in entries])
                recorded += await _record(
                    session, [await _provider_mail(session, origin, rendered)]
                )
            for entry in entries:
                entry.digest_date = day
        log.info(
            "provider digest decided",
            extra={"provider_id": str(preference.provider_id), "lines": len(entries)},
        )
        preference.last_digest_date = day
        preference.next_digest_at = (
            next_digest_time(preference.digest_hour, preference.timezone, now)
            if preference.booking_notices == BookingNotices.DAILY_DIGEST
            else None
        )
    return len(due), recorded


async def _visible_provider(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID
) -> Provider:
    provider = await session.get(Provider, provider_id)
    if provider is None or not principal.sees_provider(provider.id, provider.territory_id):
        raise not_found("provider")
    return provider


async def _activities_timezone(session: AsyncSession, *, of: ColumnElement[bool]) -> str:
    """The time zone of the activities matching ``of`` (the first one catalog told us
    of), or the default one when none is known yet."""
    known = await session.scalar(
        select(col(Activity.timezone)).where(of).order_by(col(Activity.updated_at)).limit(1)
    )
    return known or mails.DEFAULT_TIMEZONE


async def _default_timezone(session: AsyncSession, provider_id: uuid.UUID) -> str:
    """The time zone of the provider's activities."""
    return await _activities_timezone(session, of=col(Activity.provider_id) == provider_id)


def _preferences_public(
    provider_id: uuid.UUID, preference: ProviderPreference | None, timezone: str
) -> NotificationPreferences:
    if preference is None:
        return NotificationPreferences(
            provider_id=provider_id,
            booking_notices=BookingNotices.EACH,
            digest_hour=18,
            timezone=timezone,
            next_digest_at=None,
            last_digest_date=None,
        )
    return NotificationPreferences.model_validate(preference, from_attributes=True)


async def get_preferences(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID
) -> NotificationPreferences:
    """The provider itself and its territory's office staff read them."""
    await _visible_provider(session, principal, provider_id)
    preference = await session.get(ProviderPreference, provider_id)
    return _preferences_public(
        provider_id, preference, await _default_timezone(session, provider_id)
    )


async def put_preferences(
    session: AsyncSession,
    principal: Principal,
    provider_id: uuid.UUID,
    body: NotificationPreferencesIn,
) -> NotificationPreferences:
    """The provider itself, or its territory's office staff, choose one e-mail per
    booking event or a daily digest. Lines already waiting for a digest still go out
    in one last digest at its planned time after switching back to one e-mail each."""
    provider = await _visible_provider(session, principal, provider_id)
    timezone = body.timezone or await _default_timezone(session, provider_id)
    preference = await session.get(ProviderPreference, provider_id, with_for_update=True)
    if preference is None:
        preference = ProviderPreference(provider_id=provider_id, territory_id=provider.territory_id)
        session.add(preference)
    preference.booking_notices = body.booking_notices
    preference.digest_hour = body.digest_hour
    preference.timezone = timezone
    preference.updated_at = utcnow()
    if body.booking_notices == BookingNotices.DAILY_DIGEST:
        # Today's digest is still due if its hour has not passed yet, and not sent yet.
        after = utcnow()
        upcoming = next_digest_time(body.digest_hour, timezone, after)
        day = upcoming.astimezone(mails.zone(timezone)).date()
        if preference.last_digest_date is not None and day <= preference.last_digest_date:
            upcoming = next_digest_time(body.digest_hour, timezone, upcoming)
        preference.next_digest_at = upcoming
    await session.flush()
    return _preferences_public(provider_id, preference, timezone)


# --- payments events -------------------------------------------------------------------


async def notify_refund_updated(
    session: AsyncSession, envelope: Envelope, event: v1.RefundUpdated
) -> int:
    """A refund that went through: the visitor hears it was sent.

    Only SUCCEEDED is told. The refund does not name the visitor: they come from the
    reservation's booking events. When none has been handled yet, the event waits in
    ``waiting_notice`` until one is (``release_waiting``).
    """
    if event.status != "SUCCEEDED":
        log.info(
            "refund update needs no mail",
            extra={"reservation_id": str(event.reservation_id), "refund_status": event.status},
        )
        return 0
    origin = Origin.of(envelope, event)
    reservation = await session.get(Reservation, event.reservation_id)
    visitor = _visitor_of(reservation)
    if reservation is None or visitor is None:
        await session.execute(
            insert(WaitingNotice)
            .values(
                event_id=origin.event_id,
                event_type=origin.event_type,
                reservation_id=event.reservation_id,
                data=event.model_dump(mode="json"),
                trace_headers=origin.trace_headers,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        log.warning(
            "refund notice waits for a booking event naming the visitor",
            extra={"event_id": str(origin.event_id), "reservation_id": str(event.reservation_id)},
        )
        return 0
    return await _record_refund(session, origin, event, reservation, visitor)


async def _record_refund(
    session: AsyncSession,
    origin: Origin,
    event: v1.RefundUpdated,
    reservation: Reservation,
    visitor: v1.Visitor,
) -> int:
    facts = await _reservation_facts(session, reservation)
    rendered = mails.visitor_refund_sent(event, visitor, facts)
    # The same refund announced twice (a redelivered webhook under a new event id) is
    # told once.
    dedup_key = f"refund:{event.refund_id}" if event.refund_id else None
    return await _record(
        session,
        [
            _mail(
                origin,
                RecipientKind.VISITOR,
                rendered,
                (visitor.name, str(visitor.email)),
                dedup_key=dedup_key,
            )
        ],
    )


async def notify_payout_updated(
    session: AsyncSession, envelope: Envelope, event: v1.PayoutUpdated
) -> int:
    """The provider hears of each payout paid or failed, once per payout and outcome
    (the same outcome announced again under a new event id is told once)."""
    origin = Origin.of(envelope, event)
    return await _record(
        session,
        [
            _mail(
                origin,
                RecipientKind.PROVIDER,
                mails.provider_payout_notice(event),
                await _provider_recipient(session, event.provider_id),
                dedup_key=f"payout:{event.payout_id}:{event.status}",
            )
        ],
    )


async def release_waiting(session: AsyncSession, reservation: Reservation) -> int:
    """Record the mails that waited for this reservation's visitor; how many."""
    visitor = _visitor_of(reservation)
    if visitor is None:
        return 0
    waiting = (
        await session.scalars(
            select(WaitingNotice)
            .where(WaitingNotice.reservation_id == reservation.id)  # type: ignore[arg-type]
            .order_by(WaitingNotice.created_at)  # type: ignore[arg-type]
            .with_for_update()
        )
    ).all()
    recorded = 0
    for notice in waiting:
        if notice.event_type == v1.RefundUpdated.event_type:
            event = v1.RefundUpdated.model_validate(notice.data)
            origin = Origin(
                event_id=notice.event_id,
                event_type=notice.event_type,
                territory_id=event.territory_id,
                provider_id=event.provider_id,
                reservation_id=event.reservation_id,
                slot_id=None,
                trace_headers=notice.trace_headers,
            )
            recorded += await _record_refund(session, origin, event, reservation, visitor)
        else:  # pragma: no cover - only refunds wait today
            log.error(
                "waiting notice of an unknown type dropped",
                extra={"event_id": str(notice.event_id), "event_type": notice.event_type},
            )
        await session.delete(notice)
    return recorded


# --- sign-in links ------------------------------------------------------------------------

#: One sliding window per address, as a sorted set of request ids scored by the time
#: they were let through. Atomic, so concurrent requests cannot both take the last place.
#: A request id already in the window (a retry under the same ``Idempotency-Key``) passes
#: without counting twice. Returns 0 (allowed, counted) or the milliseconds until the
#: oldest counted request leaves the window.
_SIGN_IN_RATE_SCRIPT = """
local key, member = KEYS[1], ARGV[4]
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZSCORE', key, member) then
  return 0
end
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window)
return 0
"""


def check_sign_in_link(link: str, storefront_url: str | None) -> None:
    """The link must lead to the storefront: with a stolen staff token, nobody can make
    our mail server send a link to a look-alike site."""
    if not storefront_url:
        raise Problem(
            503,
            "Sign-in links cannot be sent: the storefront's address is not configured "
            "(COMPTOIR_STOREFRONT_URL).",
            kind="storefront-not-configured",
        )
    if not link.startswith(storefront_url + "/"):
        raise Problem(
            422,
            f"A sign-in link must lead to the storefront: it must start with {storefront_url}/.",
            kind="link-not-allowed",
        )


def sign_in_rate_key(email: str, namespace: str = "") -> str:
    """The address hashed: no personal data in Redis key names. ``namespace`` (the
    deployment's Kafka namespace) keeps isolated runs sharing one Redis apart."""
    digest = hashlib.sha256(email.lower().encode()).hexdigest()
    return f"{namespace}notifications:sign-in-rate:{digest}"


async def count_sign_in_mail(
    redis: Redis,
    email: str,
    request_id: str,
    *,
    limit: int,
    window_seconds: int,
    namespace: str = "",
    now: datetime | None = None,
) -> None:
    """Count one more sign-in mail to ``email``, or answer 429 with ``Retry-After`` when
    ``limit`` were already let through in the last ``window_seconds``."""
    now_ms = int((now or utcnow()).timestamp() * 1000)
    wait_ms = int(
        await redis.eval(
            _SIGN_IN_RATE_SCRIPT,
            1,
            sign_in_rate_key(email, namespace),
            now_ms,
            window_seconds * 1000,
            limit,
            request_id,
        )
    )
    if wait_ms > 0:
        retry_after = max(1, math.ceil(wait_ms / 1000))
        raise Problem(
            429,
            f"At most {limit} sign-in links are sent to one address within "
            f"{window_seconds // 60} minutes; retry in {retry_after} s.",
            kind="too-many-sign-in-links",
            headers={"Retry-After": str(retry_after)},
        )


async def record_sign_in_link(
    session: AsyncSession, principal: Principal, body: SignInLinkIn
) -> SignInLinkAccepted:
    """Record the sign-in mail for the sender, in the caller's territory.

    It is listed in ``GET /v1/messages`` for the territory's office staff (subject and
    status only: the link opens an account), never for providers. It is not sent after
    ``expires_at``, and the sender wipes its bodies once it is done with it.
    """
    # the territory's time zone, as its activities tell it
    timezone = await _activities_timezone(
        session, of=col(Activity.territory_id) == principal.territory_id
    )
    rendered = mails.sign_in_link(
        name=body.name,
        audience=body.audience,
        locale=body.locale,
        link=body.link,
        expires_at=body.expires_at,
        timezone=timezone,
    )
    origin = Origin(
        event_id=uuid.uuid4(),  # no event causes it: each request is its own
        event_type=SIGN_IN,
        territory_id=principal.territory_id,
        provider_id=None,
        reservation_id=None,
        slot_id=None,
        trace_headers=current_trace_carrier(),
    )
    kind = RecipientKind.PROVIDER if body.audience == "provider" else RecipientKind.OFFICE
    mail = _mail(origin, kind, rendered, (body.name, str(body.email)))
    mail.expires_at = body.expires_at
    await _record(session, [mail])
    return SignInLinkAccepted(message_id=mail.id, status=mail.status)


# --- reading ---------------------------------------------------------------------------


async def list_messages(
    session: AsyncSession,
    principal: Principal,
    reservation_id: uuid.UUID | None,
    limit: int,
    offset: int,
    slot_id: uuid.UUID | None = None,
) -> Page[MessagePublic]:
    """Office staff see their territory's messages; a provider sees its own."""
    query = select(OutgoingMail).where(OutgoingMail.territory_id == principal.territory_id)  # type: ignore[arg-type]
    if not principal.is_admin:
        query = query.where(OutgoingMail.provider_id == principal.provider_id)  # type: ignore[arg-type]
    if reservation_id is not None:
        query = query.where(OutgoingMail.reservation_id == reservation_id)  # type: ignore[arg-type]
    if slot_id is not None:
        query = query.where(OutgoingMail.slot_id == slot_id)  # type: ignore[arg-type]
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if total == 0 and (reservation_id is not None or slot_id is not None):
        # Someone else's reservation (or slot) and one never heard of answer the same.
        raise not_found("reservation" if reservation_id is not None else "slot")
    rows = await session.scalars(
        query.order_by(OutgoingMail.created_at, OutgoingMail.recipient_kind.desc())  # type: ignore[arg-type,attr-defined]
        .limit(limit)
        .offset(offset)
    )
    items = [MessagePublic.model_validate(m, from_attributes=True) for m in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)
