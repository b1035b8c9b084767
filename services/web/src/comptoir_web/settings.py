"""Settings of the web storefront (``COMPTOIR_*`` variables).

The storefront owns no database and no Kafka: it reads and writes only through the
other services' public HTTP APIs, whose base URLs it is given.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, field_validator

from comptoir_common.settings import ServiceSettings, dev_key_path, project_home
from comptoir_web.embed import widget_origins

#: The demo territory "Serre-Ponçon" that ``make up`` loads (the same uuid5 as the demo).
DEMO_TERRITORY_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://comptoir.dev/demo/serre-poncon")


class WebSettings(ServiceSettings):
    service_name: str = "web"
    port: int = 8000

    catalog_url: str = "http://127.0.0.1:8001"
    booking_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    #: Where visitors, providers and office staff reach these pages: the base of every
    #: link put in an e-mail (notifications accepts sign-in links under it only).
    storefront_url: str = "http://127.0.0.1:8000"
    #: The territory whose activities the storefront shows (``?territory=`` overrides it).
    territory_id: uuid.UUID = DEMO_TERRITORY_ID
    #: ``simulated``: a test-mode button pays through payments' simulated path (stripe-mock);
    #: ``checkout``: the visitor is sent to a Stripe Checkout Session. Production refuses
    #: ``simulated``.
    payment_mode: Literal["simulated", "checkout"] = "simulated"
    #: Bound on one call to another service.
    api_timeout_seconds: float = 10.0
    #: Sites that may show the booking widget (``/widget.js``) in a frame, comma separated
    #: (``https://www.kayak-embrun.fr,https://*.serre-poncon.com``), or ``*``: any http or
    #: https site. ``*`` stays allowed in production, on purpose: providers paste the
    #: widget on sites the office does not list, and a foreign frame can do no harm there
    #: (the frame's pages read no cookie and act only on the reservation made in that very
    #: frame; card payments leave the frame for Stripe's page). A list keeps it off others.
    widget_origins: str = "*"

    @field_validator("widget_origins")
    @classmethod
    def _widget_origins(cls, value: str) -> str:
        return ",".join(widget_origins(value))

    #: The web process is the sign-in service of providers and office staff: it holds the
    #: office issuer's private key (PEM text or file path) to sign their session tokens,
    #: the single-use sign-in links and the observatory's share links.
    auth_office_private_key: str = Field(default_factory=lambda: dev_key_path("office.pem"))
    #: E-mail addresses of the tourism office's staff (comma separated): a sign-in link
    #: asked for one of them opens the office console.
    office_staff_emails: str = ""
    #: How long a sign-in link works (once), and how long a session lasts.
    sign_in_link_minutes: int = Field(default=15, ge=1, le=60)
    session_hours: int = Field(default=12, ge=1, le=24 * 7)

    @property
    def office_staff(self) -> frozenset[str]:
        return frozenset(
            e.strip().lower() for e in self.office_staff_emails.split(",") if e.strip()
        )

    @property
    def secure_cookies(self) -> bool:
        """Session cookies only over HTTPS, except on a development or test machine."""
        return self.storefront_url.startswith("https://")

    @field_validator(
        "catalog_url", "booking_url", "payments_url", "notifications_url", "storefront_url"
    )
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def development_defaults_in_use(self) -> list[str]:
        # No database: paying without paying, and the development signing keys.
        found = []
        if self.payment_mode == "simulated":
            found.append("COMPTOIR_PAYMENT_MODE (simulated payments; use checkout)")
        local_keys = str(project_home() / ".local" / "keys")
        for name in ("auth_office_private_key", "auth_office_public_key"):
            if str(getattr(self, name)).startswith(local_keys):
                found.append(f"COMPTOIR_{name.upper()} (development key file)")
        return found
