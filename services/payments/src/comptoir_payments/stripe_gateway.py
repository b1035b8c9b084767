"""Every call this service makes to Stripe, and the verification of what Stripe sends.

Calls go through the async methods of ``stripe.StripeClient`` on an HTTPX client, so the
HTTPX instrumentation traces them. Transient failures (network, 5xx, rate limit, a
concurrent request with the same idempotency key) are retried with tenacity under the
same idempotency key, so a retry never creates a second account or PaymentIntent.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import stripe
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from comptoir_payments import domain

log = logging.getLogger("comptoir.payments.stripe")

#: Errors worth retrying with the same idempotency key; any other StripeError is final.
TRANSIENT_ERRORS: tuple[type[stripe.StripeError], ...] = (
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.RateLimitError,
    stripe.IdempotencyError,
)


def is_transient(exc: BaseException) -> bool:
    """Worth another try with the same idempotency key (the outcome is still unknown)."""
    if not isinstance(exc, stripe.StripeError):
        return False
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    status = exc.http_status or 0
    return status == 409 or status >= 500


@dataclass(frozen=True)
class AccountState:
    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


@dataclass(frozen=True)
class CreatedIntent:
    payment_intent_id: str
    client_secret: str
    amount_cents: int
    currency: str
    application_fee_cents: int


@dataclass(frozen=True)
class ConfirmedIntent:
    status: str
    charge_id: str | None


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


@dataclass(frozen=True)
class CreatedRefund:
    refund_id: str
    #: Stripe's status: ``succeeded``, ``pending``, ``requires_action``, ``failed``, ``canceled``.
    status: str
    amount_cents: int
    failure_reason: str | None


class StripeGateway:
    def __init__(
        self,
        client: stripe.StripeClient,
        *,
        http_client: stripe.HTTPXClient | None = None,
        attempts: int = 4,
        wait_min: float = 0.2,
        wait_max: float = 3.0,
    ) -> None:
        self.client = client
        self.http_client = http_client
        self.attempts = attempts
        self.wait_min = wait_min
        self.wait_max = wait_max

    @classmethod
    def create(
        cls,
        api_key: str,
        api_base: str,
        *,
        http_client: stripe.HTTPXClient | None = None,
        **kwargs: Any,
    ) -> StripeGateway:
        http_client = http_client or stripe.HTTPXClient(timeout=20)
        client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=http_client,
            # Retries are ours (tenacity, derived idempotency keys), not the SDK's.
            max_network_retries=0,
        )
        return cls(client, http_client=http_client, **kwargs)

    async def aclose(self) -> None:
        if self.http_client is not None:
            await self.http_client.close_async()

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.wait_min, max=self.wait_max),
            reraise=True,
        )

    async def create_connected_account(self, provider_id: uuid.UUID, email: str) -> AccountState:
        params = domain.connected_account_params(provider_id, email)
        key = domain.account_idempotency_key(provider_id)
        async for attempt in self._retrying():
            with attempt:
                account = await self.client.v1.accounts.create_async(
                    params,  # type: ignore[arg-type]
                    {"idempotency_key": key},
                )
        return AccountState(
            account_id=account.id,
            charges_enabled=bool(account.charges_enabled),
            payouts_enabled=bool(account.payouts_enabled),
            details_submitted=bool(account.details_submitted),
        )

    async def create_onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> str:
        params = {
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": refresh_url,
            "return_url": return_url,
        }
        key = f"comptoir-account-link-{uuid.uuid4()}"  # one per request, shared by its retries
        async for attempt in self._retrying():
            with attempt:
                link = await self.client.v1.account_links.create_async(
                    params,  # type: ignore[arg-type]
                    {"idempotency_key": key},
                )
        return str(link.url)

    async def create_login_link(self, account_id: str) -> str:
        """A single-use link that signs the provider in to its own Express dashboard."""
        # Login links take no idempotency key: each request answers a new single-use link.
        async for attempt in self._retrying():
            with attempt:
                link = await self.client.v1.accounts.login_links.create_async(account_id)
        return str(link.url)

    async def create_payment_intent(
        self, *, stripe_account: str, reservation_id: uuid.UUID, params: dict[str, Any]
    ) -> CreatedIntent:
        key = domain.payment_intent_idempotency_key(reservation_id)
        async for attempt in self._retrying():
            with attempt:
                intent = await self.client.v1.payment_intents.create_async(
                    params,  # type: ignore[arg-type]
                    {"stripe_account": stripe_account, "idempotency_key": key},
                )
        if not intent.client_secret:
            raise stripe.APIError("Stripe answered a PaymentIntent without client_secret")
        return CreatedIntent(
            payment_intent_id=intent.id,
            client_secret=intent.client_secret,
            amount_cents=intent.amount,
            currency=intent.currency.upper(),
            application_fee_cents=intent.application_fee_amount or 0,
        )

    async def cancel_payment_intent(
        self, *, stripe_account: str, reservation_id: uuid.UUID, payment_intent_id: str
    ) -> str:
        """Cancel at Stripe; answers the intent's status (or why nothing was left to cancel)."""
        key = domain.cancel_idempotency_key(reservation_id)
        try:
            async for attempt in self._retrying():
                with attempt:
                    intent = await self.client.v1.payment_intents.cancel_async(
                        payment_intent_id,
                        {"cancellation_reason": "abandoned"},
                        {"stripe_account": stripe_account, "idempotency_key": key},
                    )
        except stripe.InvalidRequestError as exc:
            if exc.code == "payment_intent_unexpected_state":
                # Already canceled, or it succeeded meanwhile: its webhook will tell.
                return f"not cancelable: {exc.user_message or exc.code}"
            raise
        return str(intent.status)

    async def confirm_payment_intent(
        self, *, stripe_account: str, reservation_id: uuid.UUID, payment_intent_id: str
    ) -> ConfirmedIntent:
        """Pay a PaymentIntent with Stripe's test card (``pm_card_visa``): test mode only."""
        key = domain.confirm_idempotency_key(reservation_id)
        async for attempt in self._retrying():
            with attempt:
                intent = await self.client.v1.payment_intents.confirm_async(
                    payment_intent_id,
                    {"payment_method": "pm_card_visa"},
                    {"stripe_account": stripe_account, "idempotency_key": key},
                )
        charge = intent.latest_charge
        charge_id = charge if isinstance(charge, str) else getattr(charge, "id", None)
        return ConfirmedIntent(status=str(intent.status), charge_id=charge_id)

    async def create_checkout_session(
        self, *, stripe_account: str, idempotency_key: str, params: dict[str, Any]
    ) -> CheckoutSession:
        """A Stripe-hosted payment page for a direct charge on the provider's account."""
        async for attempt in self._retrying():
            with attempt:
                session = await self.client.v1.checkout.sessions.create_async(
                    params,  # type: ignore[arg-type]
                    {"stripe_account": stripe_account, "idempotency_key": idempotency_key},
                )
        if not session.url:
            raise stripe.APIError("Stripe answered a Checkout Session without url")
        return CheckoutSession(session_id=session.id, url=session.url)

    async def create_refund(
        self, *, stripe_account: str, refund_id: uuid.UUID, params: dict[str, Any]
    ) -> CreatedRefund:
        """Refund (part of) a direct charge on the provider's account, once per our refund id."""
        key = domain.refund_idempotency_key(refund_id)
        async for attempt in self._retrying():
            with attempt:
                refund = await self.client.v1.refunds.create_async(
                    params,  # type: ignore[arg-type]
                    {"stripe_account": stripe_account, "idempotency_key": key},
                )
        return CreatedRefund(
            refund_id=refund.id,
            status=str(getattr(refund, "status", None) or "pending"),
            amount_cents=refund.amount,
            failure_reason=getattr(refund, "failure_reason", None),  # only once failed
        )


# --- webhooks ----------------------------------------------------------------------------


class InvalidWebhook(ValueError):
    """The request does not carry a verifiable Stripe event: answer 400, change nothing."""


class StripeEventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    object: dict[str, Any]


class VerifiedStripeEvent(BaseModel):
    """The fields of a (signature-verified) Stripe event that this service reads."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=r"^evt_[A-Za-z0-9_]{1,250}$")
    object: str = Field(pattern=r"^event$")
    type: str = Field(min_length=1, max_length=200)
    created: int = Field(ge=0)
    livemode: bool = False
    account: str | None = Field(default=None, max_length=255)
    data: StripeEventData


def verify_webhook(
    payload: bytes, signature: str | None, secret: str, tolerance: int | None = None
) -> VerifiedStripeEvent:
    """Check the ``Stripe-Signature`` of the raw body, then read the event it signs."""
    if not signature:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        stripe.Webhook.construct_event(
            payload,
            signature,
            secret,
            tolerance if tolerance is not None else stripe.Webhook.DEFAULT_TOLERANCE,
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(f"signature verification failed: {exc.user_message}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidWebhook("body is not a Stripe event (invalid JSON)") from exc
    try:
        return VerifiedStripeEvent.model_validate(json.loads(payload))
    except (ValidationError, ValueError) as exc:
        raise InvalidWebhook(f"body is not a Stripe event: {exc}") from exc
