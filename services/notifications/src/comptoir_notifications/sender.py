"""The mail sender: a background loop that sends recorded mails, each at most once.

1. claim: in one committed transaction, take due PENDING rows (``FOR UPDATE SKIP
   LOCKED``, so several processes never claim the same row) and mark them SENDING;
2. send each over SMTP with aiosmtplib, with no database transaction open, under the
   trace context stored by the handler that recorded it;
3. record the outcome in a second short transaction: SENT; PENDING again after a
   temporary error that happened before the message was handed over (bounded tries);
   FAILED; or UNKNOWN when the connection broke during DATA, since the server may
   have accepted the message.

Nothing ever moves a row from SENDING or UNKNOWN back to PENDING: a mail may be
lost, it is never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import aiosmtplib
from aiosmtplib.errors import (
    SMTPAuthenticationError,
    SMTPRecipientsRefused,
    SMTPResponseException,
)
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import select, update
from sqlmodel import col

from comptoir_common.db import SessionFactory, utcnow
from comptoir_common.service import Runtime
from comptoir_common.telemetry import (
    ATTR_EVENT_ID,
    ATTR_RESERVATION_ID,
    ATTR_SLOT_ID,
    context_from_carrier,
)
from comptoir_notifications import mails
from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.store import (
    SIGN_IN,
    MailStatus,
    OutgoingMail,
    Provider,
    RecipientKind,
)

log = logging.getLogger("comptoir.notifications.sender")
tracer = trace.get_tracer("comptoir.notifications")

ATTR_MAIL_ID = "comptoir.mail.id"
ATTR_MAIL_RECIPIENT_KIND = "comptoir.mail.recipient_kind"
ATTR_MAIL_ATTEMPT = "comptoir.mail.attempt"
ATTR_MAIL_OUTCOME = "comptoir.mail.outcome"

#: What a sign-in mail's bodies become once the sender is done with it.
FORGOTTEN_BODY = "(sign-in link removed once the mail was handled)"

INTERRUPTED = (
    "interrupted while sending (the sender stopped): it may or may not have been "
    "delivered, and is not sent again (at most once)"
)


class TrackedSMTP(aiosmtplib.SMTP):
    """An SMTP client that remembers whether it started handing the message over.

    Until DATA starts, no server can have accepted the message, so a broken
    connection is safe to retry; after it, the outcome is unknown.
    """

    data_started = False

    async def data(self, message: str | bytes, /, **kwargs: Any) -> Any:
        self.data_started = True
        return await super().data(message, **kwargs)


Verdict = Literal["SENT", "TEMPORARY", "PERMANENT", "UNKNOWN"]


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    #: For the row (staff may read it; it may quote the server's answer).
    detail: str = ""
    #: For logs and spans: never personal data.
    kind: str = ""


def classify(exc: BaseException, *, data_started: bool) -> Outcome:
    """What an SMTP failure means for a mail that must go out at most once."""
    name = type(exc).__name__
    if isinstance(exc, SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        temporary = all(400 <= code < 500 for code in codes)
        return Outcome(
            "TEMPORARY" if temporary else "PERMANENT",
            f"recipient refused: {detail}",
            f"{name} {','.join(map(str, codes))}",
        )
    if isinstance(exc, SMTPResponseException):
        # The server answered with an error: it did not take the message.
        temporary = 400 <= exc.code < 500 or isinstance(exc, SMTPAuthenticationError)
        return Outcome(
            "TEMPORARY" if temporary else "PERMANENT",
            f"SMTP {exc.code} {exc.message}",
            f"{name} {exc.code}",
        )
    if isinstance(exc, OSError | TimeoutError):  # ConnectionError, SMTPTimeoutError...
        if data_started:
            return Outcome(
                "UNKNOWN",
                f"{name} during DATA: the server may have accepted the message; "
                "not sent again (at most once)",
                name,
            )
        return Outcome("TEMPORARY", f"{name}: {exc}", name)
    return Outcome("PERMANENT", f"{name}: {exc}", name)


class MailSender:
    def __init__(self, sessions: SessionFactory, settings: NotificationsSettings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.sender = settings.sender

    async def run(self) -> None:
        while True:
            try:
                handled = await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mail sender round failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if handled < self.settings.mail_batch_size:
                await asyncio.sleep(self.settings.mail_poll_seconds)

    async def send_due(self) -> int:
        """One round: report interrupted sends, claim due mails, send them; how many sent."""
        await self.report_interrupted()
        claimed = await self.claim()
        await asyncio.gather(*(self.deliver(mail) for mail in claimed))
        return len(claimed)

    async def report_interrupted(self) -> int:
        """Rows left SENDING by a sender that stopped mid-send become UNKNOWN."""
        cutoff = utcnow() - timedelta(seconds=self.settings.mail_stale_sending_seconds)
        async with self.sessions() as session, session.begin():
            # At most once: a row still SENDING this long after it was claimed belongs to
            # a sender that crashed or was killed between claiming and recording the
            # outcome. The SMTP server may have accepted it, so it is NOT sent again: it
            # is reported as UNKNOWN (GET /v1/messages shows it, with this reason).
            ids = (
                await session.scalars(
                    update(OutgoingMail)
                    .where(OutgoingMail.status == MailStatus.SENDING)  # type: ignore[arg-type]
                    .where(OutgoingMail.sending_started_at < cutoff)  # type: ignore[arg-type,operator]
                    .values(status=MailStatus.UNKNOWN, error=INTERRUPTED)
                    .returning(OutgoingMail.id)  # type: ignore[call-overload]
                )
            ).all()
            if ids:
                await session.execute(
                    update(OutgoingMail)
                    .where(col(OutgoingMail.id).in_(ids))
                    .where(col(OutgoingMail.event_type) == SIGN_IN)
                    .values(body_text=FORGOTTEN_BODY, body_html=FORGOTTEN_BODY)
                )
        for mail_id in ids:
            log.warning(
                "mail left SENDING by an interrupted sender: outcome unknown, not resent",
                extra={"mail_id": str(mail_id)},
            )
        return len(ids)

    async def claim(self) -> list[OutgoingMail]:
        """Mark due mails SENDING in a committed transaction and return them."""
        now = utcnow()
        claimed: list[OutgoingMail] = []
        async with self.sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(OutgoingMail)
                    .where(OutgoingMail.status == MailStatus.PENDING)  # type: ignore[arg-type]
                    .where(OutgoingMail.next_attempt_at <= now)  # type: ignore[arg-type]
                    .order_by(OutgoingMail.next_attempt_at)  # type: ignore[arg-type]
                    .limit(self.settings.mail_batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for mail in rows:
                if mail.expires_at is not None and mail.expires_at <= now:
                    # A sign-in link that no longer works would only puzzle its reader.
                    mail.status = MailStatus.FAILED
                    mail.error = "expired before it could be sent"
                    self._forget_bodies(mail)
                    log.warning("mail expired before it was sent", extra={"mail_id": str(mail.id)})
                    continue
                if mail.to_address is None and not await self._resolve_provider(session, mail, now):
                    continue
                mail.status = MailStatus.SENDING
                mail.attempts += 1
                mail.sending_started_at = now
                claimed.append(mail)
        return claimed

    @staticmethod
    def _forget_bodies(mail: OutgoingMail) -> None:
        """A sign-in mail's bodies hold a link that opens an account: once the sender is
        done with it, they are not kept."""
        if mail.event_type == SIGN_IN:
            mail.body_text = mail.body_html = FORGOTTEN_BODY

    async def _resolve_provider(self, session: Any, mail: OutgoingMail, now: datetime) -> bool:
        """Fill in a provider notice's address once catalog has told us; False to skip."""
        provider = (
            await session.get(Provider, mail.provider_id)
            if mail.recipient_kind == RecipientKind.PROVIDER
            else None
        )
        if provider is not None:
            mail.to_name, mail.to_address = provider.name, provider.email
            try:
                mails.mailbox(provider.name, provider.email)
            except mails.InvalidRecipient as exc:
                mail.status = MailStatus.FAILED
                mail.error = f"recipient refused: {exc}"
                return False
            return True
        waited = (now - mail.created_at).total_seconds()
        if waited >= self.settings.mail_recipient_wait_seconds:
            mail.status = MailStatus.FAILED
            mail.error = (
                "no address for this provider: its catalog.provider-updated.v1 "
                f"did not arrive within {self.settings.mail_recipient_wait_seconds:.0f}s"
            )
            log.warning("provider address never arrived", extra={"mail_id": str(mail.id)})
            return False
        mail.next_attempt_at = now + timedelta(seconds=self.settings.mail_retry_seconds)
        return False

    async def deliver(self, mail: OutgoingMail) -> None:
        """Send one claimed mail and record what happened, in the booking's trace."""
        token = otel_context.attach(context_from_carrier(mail.trace_headers))
        try:
            attributes: dict[str, str | int] = {
                ATTR_MAIL_ID: str(mail.id),
                ATTR_MAIL_RECIPIENT_KIND: mail.recipient_kind,
                ATTR_MAIL_ATTEMPT: mail.attempts,
                ATTR_EVENT_ID: str(mail.event_id),
                "server.address": self.settings.smtp_host,
                "server.port": self.settings.smtp_port,
            }
            # A departure summary is about a slot, not one reservation.
            if mail.reservation_id is not None:
                attributes[ATTR_RESERVATION_ID] = str(mail.reservation_id)
            if mail.slot_id is not None:
                attributes[ATTR_SLOT_ID] = str(mail.slot_id)
            with tracer.start_as_current_span(
                "smtp send", kind=SpanKind.CLIENT, attributes=attributes
            ) as span:
                outcome = await self.transmit(mail)
                span.set_attribute(ATTR_MAIL_OUTCOME, outcome.verdict)
                if outcome.verdict != "SENT":
                    span.set_status(Status(StatusCode.ERROR, outcome.kind))
            await self.record(mail, outcome)
        finally:
            otel_context.detach(token)

    async def transmit(self, mail: OutgoingMail) -> Outcome:
        """The SMTP exchange, bounded in time; never inside a database transaction."""
        try:
            recipient = mails.mailbox(mail.to_name or "", mail.to_address or "")
            message = mails.build_message(
                mail_id=mail.id,
                sender=self.sender,
                recipient=recipient,
                rendered=mails.RenderedMail(
                    locale=mail.locale,  # type: ignore[arg-type]
                    subject=mail.subject,
                    text=mail.body_text,
                    html=mail.body_html,
                    attachments=tuple(mails.Attachment.from_json(a) for a in mail.attachments),
                ),
            )
        except ValueError as exc:  # InvalidRecipient, or a header the email package refused
            return Outcome("PERMANENT", f"not sendable: {exc}", type(exc).__name__)
        settings = self.settings
        client = TrackedSMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
        try:
            async with asyncio.timeout(settings.smtp_timeout_seconds), client:
                await client.send_message(message)
        except Exception as exc:
            return classify(exc, data_started=client.data_started)
        return Outcome("SENT")

    async def record(self, mail: OutgoingMail, outcome: Outcome) -> None:
        now = utcnow()
        values: dict[str, Any]
        if outcome.verdict == "SENT":
            values = {"status": MailStatus.SENT, "sent_at": now, "error": None}
        elif outcome.verdict == "UNKNOWN":
            values = {"status": MailStatus.UNKNOWN, "error": outcome.detail}
        elif outcome.verdict == "TEMPORARY" and mail.attempts < self.settings.mail_max_attempts:
            delay = self.settings.mail_retry_seconds * 2 ** (mail.attempts - 1)
            values = {
                "status": MailStatus.PENDING,
                "next_attempt_at": now + timedelta(seconds=delay),
                "error": f"attempt {mail.attempts}: {outcome.detail}",
            }
        else:
            values = {
                "status": MailStatus.FAILED,
                "error": f"gave up after attempt {mail.attempts}: {outcome.detail}",
            }
        if values["status"] != MailStatus.PENDING and mail.event_type == SIGN_IN:
            values["body_text"] = values["body_html"] = FORGOTTEN_BODY
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail.id)  # type: ignore[arg-type]
                .where(OutgoingMail.status.in_([MailStatus.SENDING, MailStatus.UNKNOWN]))  # type: ignore[attr-defined]
                .values(**values)
            )
        log_values = {
            "mail_id": str(mail.id),
            "event_id": str(mail.event_id),
            "reservation_id": str(mail.reservation_id or ""),
            "slot_id": str(mail.slot_id or ""),
            "recipient_kind": mail.recipient_kind,
            "attempt": mail.attempts,
            "status": str(values["status"]),
        }
        if outcome.verdict == "SENT":
            log.info("mail sent", extra=log_values)
        else:
            log.warning("mail not sent", extra={**log_values, "smtp_error": outcome.kind})


async def mail_sender(runtime: Runtime) -> None:
    """Background loop of the service process (``ServiceSpec.background``)."""
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    await MailSender(runtime.sessions, settings).run()
