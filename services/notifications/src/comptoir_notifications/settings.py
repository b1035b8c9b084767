"""Settings of the notifications service (``COMPTOIR_*`` variables).

They live in their own module, not in ``main.py``, so that the consumers, the mail
sender and the tests can use them without building the application.
"""

from __future__ import annotations

from email.headerregistry import Address

from pydantic import Field, SecretStr, field_validator

from comptoir_common.settings import ServiceSettings
from comptoir_notifications.mails import has_control_characters, mailbox

DEV_MAIL_DOMAIN = "comptoir.localhost"


def parse_mailbox(value: str) -> Address:
    """``"Name <local@domain>"`` or ``"local@domain"`` as one checked address."""
    if has_control_characters(value):
        raise ValueError("the sender contains a line break or control character")
    name, _, rest = value.rpartition("<")
    if rest:
        if not rest.endswith(">"):
            raise ValueError("expected 'Name <address>' or 'address'")
        return mailbox(name.strip().strip('"'), rest[:-1].strip())
    return mailbox("", value.strip())


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
    port: int = 8004

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    #: Bound on one whole SMTP exchange (connect to QUIT).
    smtp_timeout_seconds: float = 30.0
    mail_from: str = f"Comptoir <reservations@{DEV_MAIL_DOMAIN}>"
    #: Base of the visitor-facing web pages linked from e-mails; no link without it.
    storefront_url: str | None = None

    #: Idle poll interval of the mail sender.
    mail_poll_seconds: float = 1.0
    #: How many mails the sender claims at once.
    mail_batch_size: int = 20
    #: Tries of one mail when the SMTP server answers with a temporary error.
    mail_max_attempts: int = 5
    #: First wait before a retry; doubled on each further try.
    mail_retry_seconds: float = 30.0
    #: How long a provider's notice waits for the provider's address (its
    #: ``catalog.provider-updated.v1``) before it is given up.
    mail_recipient_wait_seconds: float = 3600.0
    #: A mail still SENDING after this long was interrupted (the process stopped
    #: mid-send): it is reported UNKNOWN and never sent again.
    mail_stale_sending_seconds: float = 600.0

    #: How long before its slot starts a visitor is reminded of a reservation (a booking
    #: made later than that gets no reminder).
    reminder_lead_hours: float = Field(default=24.0, gt=0)
    #: Interval of the scheduler that records due reminders and daily digests.
    scheduler_poll_seconds: float = 30.0

    #: Sign-in links: at most this many mails to one address within the window (a
    #: sliding window counted in Redis), so nobody floods an inbox through the sign-in
    #: form.
    sign_in_mail_limit: int = Field(default=5, ge=1)
    sign_in_mail_window_seconds: int = Field(default=900, ge=1)

    #: Provider webhooks: bound on one whole delivery attempt (connect to status line).
    webhook_timeout_seconds: float = 10.0
    #: Waits after the 1st, 2nd... failed attempt; once they are used up it is DEAD.
    webhook_retry_schedule_seconds: list[float] = [
        30,
        120,
        600,
        1800,
        7200,
        21600,
        43200,
        86400,
    ]
    #: How many deliveries are in flight at once (a slow endpoint holds one slot only).
    webhook_concurrency: int = 10
    #: Idle poll interval of the webhook sender.
    webhook_poll_seconds: float = 1.0
    #: Outside production only: comma-separated hosts that may be http and resolve to
    #: loopback or private addresses (``127.0.0.1,localhost``). Ignored in production.
    webhook_allowed_hosts: str = ""

    @property
    def webhook_allowed_host_set(self) -> frozenset[str]:
        if self.environment == "production":
            return frozenset()
        hosts = (h.strip().lower().strip("[]") for h in self.webhook_allowed_hosts.split(","))
        return frozenset(h for h in hosts if h)

    @field_validator("mail_from")
    @classmethod
    def _valid_sender(cls, value: str) -> str:
        parse_mailbox(value)
        return value

    @field_validator("storefront_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @property
    def sender(self) -> Address:
        return parse_mailbox(self.mail_from)

    def development_defaults_in_use(self) -> list[str]:
        found = super().development_defaults_in_use()
        if self.sender.domain.lower() == DEV_MAIL_DOMAIN:
            found.append(f"COMPTOIR_MAIL_FROM (development domain {DEV_MAIL_DOMAIN})")
        return found
