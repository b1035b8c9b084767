"""The notifications service process (port 8004)."""

from __future__ import annotations

from pathlib import Path

from comptoir_common.service import ServiceSpec, create_service_app
from comptoir_notifications.api import router
from comptoir_notifications.consumers import build_consumers
from comptoir_notifications.scheduler import scheduler
from comptoir_notifications.sender import mail_sender
from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.webhook_sender import webhook_sender

__all__ = ["NotificationsSettings", "app", "settings"]

settings = NotificationsSettings()

app = create_service_app(
    ServiceSpec(
        name="notifications",
        title="Comptoir notifications",
        description=(
            "E-mails about reservations: the visitor's confirmation, cancellation, "
            "rebooking, waitlist offer and refund in their language; the provider's "
            "booking, cancellation and rebooking notices and cancelled-departure "
            "summaries; the sign-in links the web front end builds for providers and "
            "office staff. Each goes out at most once. Providers' signed webhooks "
            "(Standard Webhooks) carry the same events, retried for a day."
        ),
        version="1.0.0",
        settings=settings,
        migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
        routers=[router],
        consumers=build_consumers(settings),
        background=[mail_sender, webhook_sender, scheduler],
    )
)
