"""Settings of the web storefront (``COMPTOIR_*`` variables).

The storefront owns no database and no Kafka: it reads and writes only through the
other services' public HTTP APIs, whose base URLs it is given.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import field_validator

from comptoir_common.settings import ServiceSettings

#: The demo territory "Serre-Ponçon" that ``make up`` loads (the same uuid5 as the demo).
DEMO_TERRITORY_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://comptoir.dev/demo/serre-poncon")


class WebSettings(ServiceSettings):
    service_name: str = "web"
    port: int = 8000

    catalog_url: str = "http://127.0.0.1:8001"
    booking_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"
    #: The territory whose activities the storefront shows (``?territory=`` overrides it).
    territory_id: uuid.UUID = DEMO_TERRITORY_ID
    #: ``simulated``: a test-mode button pays through payments' simulated path (stripe-mock);
    #: ``checkout``: the visitor is sent to a Stripe Checkout Session. Production refuses
    #: ``simulated``.
    payment_mode: Literal["simulated", "checkout"] = "simulated"
    #: Bound on one call to another service.
    api_timeout_seconds: float = 10.0

    @field_validator("catalog_url", "booking_url", "payments_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def development_defaults_in_use(self) -> list[str]:
        # No database, no key: the only development default that matters is paying
        # without paying.
        if self.payment_mode == "simulated":
            return ["COMPTOIR_PAYMENT_MODE (simulated payments; use checkout)"]
        return []
