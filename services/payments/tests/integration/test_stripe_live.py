"""Opt-in: the same requests against Stripe's own test mode, with a real test key.

Runs only when ``STRIPE_SECRET_KEY`` (or ``COMPTOIR_STRIPE_SECRET_KEY``) holds a test key
(``sk_test_...``); otherwise every test here is skipped and says why. A charge needs a
connected account that has finished onboarding: give one of the platform's test mode as
``STRIPE_TEST_CONNECTED_ACCOUNT`` (``acct_...``) to run it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from comptoir_payments import domain
from comptoir_payments.main import STRIPE_API_BASE
from comptoir_payments.stripe_gateway import StripeGateway

KEY = os.environ.get("STRIPE_SECRET_KEY") or os.environ.get("COMPTOIR_STRIPE_SECRET_KEY", "")
CONNECTED = os.environ.get("STRIPE_TEST_CONNECTED_ACCOUNT", "")

pytestmark = pytest.mark.skipif(
    not KEY.startswith("sk_test_"),
    reason="Stripe test mode not configured: set STRIPE_SECRET_KEY=sk_test_... to run",
)


@pytest.fixture
async def live() -> AsyncIterator[StripeGateway]:
    gateway = StripeGateway.create(KEY, STRIPE_API_BASE)
    yield gateway
    await gateway.aclose()


async def test_an_express_account_is_created_once_and_gets_an_onboarding_link(
    live: StripeGateway,
) -> None:
    provider_id = uuid.uuid4()
    email = f"provider-{provider_id.hex[:8]}@example.org"
    first = await live.create_connected_account(provider_id, email)
    again = await live.create_connected_account(provider_id, email)
    assert first.account_id.startswith("acct_")
    assert again.account_id == first.account_id, "the idempotency key makes one account"
    assert not first.charges_enabled
    url = await live.create_onboarding_link(
        first.account_id,
        refresh_url="https://payments.comptoir.example/refresh",
        return_url="https://payments.comptoir.example/return",
    )
    assert url.startswith("https://connect.stripe.com/")


@pytest.mark.skipif(
    not CONNECTED.startswith("acct_"),
    reason="no onboarded test connected account: set STRIPE_TEST_CONNECTED_ACCOUNT=acct_...",
)
async def test_a_direct_charge_with_the_office_fee_is_paid_on_the_providers_account(
    live: StripeGateway,
) -> None:
    reservation_id = uuid.uuid4()
    params = domain.payment_intent_params(
        reservation_id=reservation_id,
        provider_id=uuid.uuid4(),
        territory_id=uuid.uuid4(),
        amount_cents=4200,
        currency="EUR",
        application_fee_cents=domain.application_fee(4200, 250),
    )
    created = await live.create_payment_intent(
        stripe_account=CONNECTED, reservation_id=reservation_id, params=params
    )
    assert (created.amount_cents, created.currency, created.application_fee_cents) == (
        4200,
        "EUR",
        105,
    )
    confirmed = await live.confirm_payment_intent(
        stripe_account=CONNECTED,
        reservation_id=reservation_id,
        payment_intent_id=created.payment_intent_id,
    )
    assert confirmed.status == "succeeded"
    intent = await live.client.v1.payment_intents.retrieve_async(
        created.payment_intent_id,
        {"expand": ["latest_charge.balance_transaction"]},
        {"stripe_account": CONNECTED},
    )
    assert intent.amount_received == 4200
    assert intent.application_fee_amount == 105
    assert intent.metadata["reservation_id"] == str(reservation_id)
    fee = domain.stripe_fee_of(intent.to_dict())
    assert fee is not None and fee[1] > 0 and fee[2] == "EUR"
