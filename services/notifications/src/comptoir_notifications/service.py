"""Notifications use cases. Event handlers run inside the inbox transaction, so every
row they write commits together with the event id that caused it, or not at all.

An e-mail is never sent here: a handler renders it and records it as an
``outgoing_mail`` row; the mail sender (``sender.py``) sends it after commit.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_common.auth import Principal
from comptoir_common.db import utcnow
from comptoir_common.events import Envelope, v1
from comptoir_common.problems import not_found
from comptoir_common.projections import upsert_newer
from comptoir_common.telemetry import current_trace_carrier
from comptoir_notifications import mails
from comptoir_notifications.mails import ActivityFacts, RenderedMail, ReservationFacts
from comptoir_notifications.schemas import MessagePublic, Page
from comptoir_notifications.store import (
    EMAIL,
    Activity,
    MailStatus,
    OutgoingMail,
    Provider,
    RecipientKind,
    Reservation,
)

log = logging.getLogger("comptoir.notifications")

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
    )


# --- reservation facts -----------------------------------------------------------------


async def remember_reservation(
    session: AsyncSession,
    event: v1.HoldPlaced | v1.ReservationConfirmed | v1.ReservationCancelled,
) -> Reservation:
    """Record what later mails need to know of a reservation; returns the merged row.

    Booking's events travel on different topics, so a cancellation may be handled
    before the confirmation it cancels: the row remembers both moments.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "id": event.reservation_id,
        "activity_id": event.activity_id,
        "provider_id": event.provider_id,
        "territory_id": event.territory_id,
        "updated_at": now,
    }
    if isinstance(event, v1.HoldPlaced | v1.ReservationConfirmed):
        values["slot_start"] = event.slot_start
        values["activity_title"] = event.activity_title.model_dump()
    if isinstance(event, v1.ReservationConfirmed):
        values["confirmed_at"] = now
    if isinstance(event, v1.ReservationCancelled):
        values["cancelled_at"] = now
    stmt = insert(Reservation).values(**values)
    merged = {
        key: func.coalesce(getattr(Reservation, key), stmt.excluded[key])
        for key in values
        if key in ("slot_start", "activity_title", "confirmed_at", "cancelled_at")
    }
    row = await session.scalar(
        stmt.on_conflict_do_update(index_elements=["id"], set_={**merged, "updated_at": now})
        .returning(Reservation)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


# --- recording mails -------------------------------------------------------------------


def _mail(
    envelope: Envelope,
    event: v1.ReservationConfirmed | v1.ReservationCancelled,
    kind: RecipientKind,
    rendered: RenderedMail,
    recipient: tuple[str, str] | None,
    carrier: dict[str, str],
) -> OutgoingMail:
    """An outgoing mail row; the recipient is checked against header injection here."""
    mail = OutgoingMail(
        event_id=envelope.event_id,
        event_type=envelope.type,
        recipient_kind=kind,
        channel=EMAIL,
        reservation_id=event.reservation_id,
        territory_id=event.territory_id,
        provider_id=event.provider_id,
        locale=rendered.locale,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        trace_headers=carrier,
    )
    if recipient is not None:
        mail.to_name, mail.to_address = recipient
        try:
            mails.mailbox(*recipient)
        except mails.InvalidRecipient as exc:
            mail.status = MailStatus.FAILED
            mail.error = f"recipient refused: {exc}"
    return mail


async def _record(session: AsyncSession, outgoing: list[OutgoingMail]) -> int:
    """Insert each mail unless this (event, recipient, channel) already has one."""
    recorded = 0
    for mail in outgoing:
        mail_id = await session.scalar(
            insert(OutgoingMail)
            .values(**mail.model_dump())
            .on_conflict_do_nothing(constraint="uq_outgoing_mail_event_recipient")
            .returning(OutgoingMail.id)  # type: ignore[call-overload]
        )
        log.info(
            "mail recorded" if mail_id else "mail already recorded for this event",
            extra={
                "mail_id": str(mail_id or ""),
                "event_id": str(mail.event_id),
                "reservation_id": str(mail.reservation_id),
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


async def notify_confirmed(
    session: AsyncSession,
    envelope: Envelope,
    event: v1.ReservationConfirmed,
    *,
    storefront_url: str | None,
) -> int:
    """The visitor's confirmation and the provider's booking notice; how many recorded."""
    reservation = await remember_reservation(session, event)
    if reservation.cancelled_at is not None:
        log.info(
            "confirmation handled after its cancellation: no confirmation mail",
            extra={"reservation_id": str(event.reservation_id)},
        )
        return 0
    activity = await activity_facts(session, event.activity_id)
    carrier = current_trace_carrier()
    visitor = event.visitor
    return await _record(
        session,
        [
            _mail(
                envelope,
                event,
                RecipientKind.VISITOR,
                mails.visitor_confirmation(event, activity, storefront_url),
                (visitor.name, str(visitor.email)),
                carrier,
            ),
            _mail(
                envelope,
                event,
                RecipientKind.PROVIDER,
                mails.provider_booking_notice(event, activity),
                await _provider_recipient(session, event.provider_id),
                carrier,
            ),
        ],
    )


async def notify_cancelled(
    session: AsyncSession, envelope: Envelope, event: v1.ReservationCancelled
) -> int:
    """The visitor's cancellation notice and, if it knew of the booking, the provider's."""
    reservation = await remember_reservation(session, event)
    activity = await activity_facts(session, event.activity_id)
    title = (
        v1.Localized(**reservation.activity_title) if reservation.activity_title else activity.title
    )
    facts = ReservationFacts(
        reservation_id=event.reservation_id,
        activity_id=event.activity_id,
        title=title,
        slot_start=reservation.slot_start,
        timezone=activity.timezone,
    )
    carrier = current_trace_carrier()
    visitor = event.visitor
    outgoing = [
        _mail(
            envelope,
            event,
            RecipientKind.VISITOR,
            mails.visitor_cancellation(event, facts),
            (visitor.name, str(visitor.email)),
            carrier,
        )
    ]
    # A reservation cancelled because seats were gone when a late payment arrived was
    # never confirmed: its provider was never told of it, so it is not told of this.
    if event.reason in mails.PROVIDER_CANCELLATION_REASONS:
        outgoing.append(
            _mail(
                envelope,
                event,
                RecipientKind.PROVIDER,
                mails.provider_cancellation_notice(event, facts),
                await _provider_recipient(session, event.provider_id),
                carrier,
            )
        )
    return await _record(session, outgoing)


# --- reading ---------------------------------------------------------------------------


async def list_messages(
    session: AsyncSession,
    principal: Principal,
    reservation_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> Page[MessagePublic]:
    """Office staff see their territory's messages; a provider sees its own."""
    query = select(OutgoingMail).where(OutgoingMail.territory_id == principal.territory_id)  # type: ignore[arg-type]
    if not principal.is_admin:
        query = query.where(OutgoingMail.provider_id == principal.provider_id)  # type: ignore[arg-type]
    if reservation_id is not None:
        query = query.where(OutgoingMail.reservation_id == reservation_id)  # type: ignore[arg-type]
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if reservation_id is not None and total == 0:
        # Someone else's reservation and one never heard of answer the same.
        raise not_found("reservation")
    rows = await session.scalars(
        query.order_by(OutgoingMail.created_at, OutgoingMail.recipient_kind.desc())  # type: ignore[arg-type,attr-defined]
        .limit(limit)
        .offset(offset)
    )
    items = [MessagePublic.model_validate(m, from_attributes=True) for m in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)
