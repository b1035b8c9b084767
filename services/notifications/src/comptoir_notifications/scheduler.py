"""The scheduler: a background loop that records the mails the clock calls for.

Every ``SCHEDULER_POLL_SECONDS`` it records, in short transactions, the visitors'
reminders now due (``service.record_due_reminders``) and the providers' daily digests
now due (``service.record_due_digests``). It only records them:
the mail sender sends them like any other mail, at most once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from comptoir_common.db import SessionFactory, utcnow
from comptoir_common.service import Runtime
from comptoir_notifications import service
from comptoir_notifications.settings import NotificationsSettings

log = logging.getLogger("comptoir.notifications.scheduler")


class Scheduler:
    def __init__(self, sessions: SessionFactory, settings: NotificationsSettings) -> None:
        self.sessions = sessions
        self.settings = settings

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler round failed; retrying")
            await asyncio.sleep(self.settings.scheduler_poll_seconds)

    async def run_once(self, now: datetime | None = None) -> int:
        """One round; how many mails it recorded."""
        now = now or utcnow()
        return await self.record_reminders(now) + await self.record_digests(now)

    async def record_digests(self, now: datetime) -> int:
        total = 0
        while True:
            async with self.sessions() as session, session.begin():
                decided, recorded = await service.record_due_digests(
                    session, now=now, limit=self.settings.mail_batch_size
                )
            total += recorded
            if decided < self.settings.mail_batch_size:
                return total

    async def record_reminders(self, now: datetime) -> int:
        total = 0
        while True:
            async with self.sessions() as session, session.begin():
                decided, recorded = await service.record_due_reminders(
                    session,
                    now=now,
                    lead=timedelta(hours=self.settings.reminder_lead_hours),
                    storefront_url=self.settings.storefront_url,
                    limit=self.settings.mail_batch_size,
                )
            total += recorded
            if decided < self.settings.mail_batch_size:
                return total


async def scheduler(runtime: Runtime) -> None:
    """Background loop of the service process (``ServiceSpec.background``)."""
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    await Scheduler(runtime.sessions, settings).run()
