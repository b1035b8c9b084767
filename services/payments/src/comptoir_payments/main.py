"""The payments service process (port 8003)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from fastapi import FastAPI
from pydantic import AliasChoices, Field, model_validator

from comptoir_common.events import v1
from comptoir_common.service import Runtime, ServiceSpec, create_service_app
from comptoir_common.settings import DEV_STRIPE_WEBHOOK_SECRET, ServiceSettings
from comptoir_payments.api import router
from comptoir_payments.consumers import consumers
from comptoir_payments.stripe_gateway import StripeGateway
from comptoir_payments.worker import payment_intents

#: stripe-mock (stateless fixtures, no webhooks) answers whenever no real key is set.
STRIPE_MOCK_API_BASE = "http://127.0.0.1:12111"
#: stripe-mock accepts any ``sk_test_`` key made of letters and digits (no underscores).
STRIPE_MOCK_SECRET_KEY = "sk_test_comptoirstripemock"  # noqa: S105 - not a secret
STRIPE_API_BASE = "https://api.stripe.com"
#: Loopback storefronts only, for development.
DEV_CHECKOUT_RETURN_ORIGINS = ("http://127.0.0.1", "http://localhost")


class PaymentsSettings(ServiceSettings):
    service_name: str = "payments"
    port: int = 8003

    #: A real Stripe secret key (``sk_live_...`` / ``sk_test_...``); empty: stripe-mock.
    stripe_secret_key: str = Field(
        default="",
        validation_alias=AliasChoices(
            "COMPTOIR_STRIPE_SECRET_KEY", "STRIPE_SECRET_KEY", "stripe_secret_key"
        ),
    )
    #: Stripe's API address; empty: stripe-mock without a key, api.stripe.com with one.
    stripe_api_base: str = ""
    #: Signing secret of the Stripe webhook endpoint (``whsec_...``).
    stripe_webhook_secret: str = DEV_STRIPE_WEBHOOK_SECRET
    #: Where this service is reachable from a browser: onboarding return/refresh URLs.
    public_base_url: str = "http://127.0.0.1:8003"
    #: Idle poll interval of the loop that calls Stripe for PaymentIntents and Refunds.
    payment_poll_seconds: float = Field(default=0.5, gt=0)
    #: Origins (``https://shop.example``) the Checkout Session may send visitors back to;
    #: an entry without a port allows any port of that host.
    checkout_return_origins: list[str] = Field(
        default_factory=lambda: list(DEV_CHECKOUT_RETURN_ORIGINS)
    )

    @model_validator(mode="after")
    def _fill_stripe(self) -> Self:
        if not self.stripe_api_base:
            real_key = bool(self.stripe_secret_key)
            self.stripe_api_base = STRIPE_API_BASE if real_key else STRIPE_MOCK_API_BASE
        return self

    @property
    def stripe_api_key(self) -> str:
        return self.stripe_secret_key or STRIPE_MOCK_SECRET_KEY

    @property
    def simulated_payments(self) -> bool:
        """Payments may be simulated: stripe-mock answers (no real key), not in production."""
        return not self.stripe_secret_key and not self.is_production

    def development_defaults_in_use(self) -> list[str]:
        found = super().development_defaults_in_use()
        if self.stripe_webhook_secret == DEV_STRIPE_WEBHOOK_SECRET:
            found.append("COMPTOIR_STRIPE_WEBHOOK_SECRET (development secret)")
        if not self.stripe_secret_key:
            found.append("COMPTOIR_STRIPE_SECRET_KEY (no key: stripe-mock would answer)")
        if set(self.checkout_return_origins) & set(DEV_CHECKOUT_RETURN_ORIGINS):
            found.append("COMPTOIR_CHECKOUT_RETURN_ORIGINS (loopback storefronts)")
        return found


async def _connect_stripe(runtime: Runtime) -> None:
    settings: PaymentsSettings = runtime.settings  # type: ignore[assignment]
    runtime.extras["stripe"] = StripeGateway.create(
        settings.stripe_api_key, settings.stripe_api_base
    )


async def _close_stripe(runtime: Runtime) -> None:
    gateway: StripeGateway = runtime.extras["stripe"]
    await gateway.aclose()


def create_app(settings: PaymentsSettings) -> FastAPI:
    return create_service_app(
        ServiceSpec(
            name="payments",
            title="Comptoir payments",
            description=(
                "Stripe Connect for providers: Express onboarding, the visitors' payments "
                "as direct charges on the provider's own account (zero commission unless "
                "the territory sets a visible office fee), refunds of cancelled "
                "reservations, and Stripe's webhooks."
            ),
            version="1.0.0",
            settings=settings,
            migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
            routers=[router],
            consumers=consumers,
            publishes=[
                v1.PaymentSucceeded,
                v1.PaymentFailed,
                v1.RefundUpdated,
                v1.ProviderAccountUpdated,
                v1.PayoutUpdated,
            ],
            background=[payment_intents],
            on_start=_connect_stripe,
            on_stop=_close_stripe,
            openapi_tags=[
                {"name": "providers", "description": "Stripe Connect onboarding and account state"},
                {"name": "payments", "description": "A reservation's payment"},
                {"name": "stripe", "description": "Stripe's webhook endpoint"},
                {"name": "ledger", "description": "The double-entry ledger and the reports"},
            ],
        )
    )


settings = PaymentsSettings()
app = create_app(settings)
