"""Settings: stripe-mock by default in development, refused defaults in production."""

from __future__ import annotations

import pytest

from comptoir_common.settings import DEV_STRIPE_WEBHOOK_SECRET
from comptoir_payments.main import STRIPE_MOCK_API_BASE, STRIPE_MOCK_SECRET_KEY, PaymentsSettings

PRODUCTION = {
    "environment": "production",
    "database_url": "postgresql+asyncpg://payments:s3cret@db:5432/comptoir_payments",
    "auth_office_public_key": "/etc/comptoir/office.pub.pem",
    "auth_visitor_public_key": "/etc/comptoir/visitor.pub.pem",
}


@pytest.fixture(autouse=True)
def _no_stripe_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRIPE_SECRET_KEY", "COMPTOIR_STRIPE_SECRET_KEY", "COMPTOIR_STRIPE_API_BASE"):
        monkeypatch.delenv(name, raising=False)


def test_development_talks_to_stripe_mock() -> None:
    settings = PaymentsSettings()
    assert settings.service_name == "payments"
    assert settings.port == 8003
    assert settings.stripe_api_base == STRIPE_MOCK_API_BASE
    assert settings.stripe_api_key == STRIPE_MOCK_SECRET_KEY
    assert settings.stripe_webhook_secret == DEV_STRIPE_WEBHOOK_SECRET


def test_a_real_key_talks_to_stripe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_realkey")
    settings = PaymentsSettings()
    assert settings.stripe_api_key == "sk_test_realkey"
    assert settings.stripe_api_base == "https://api.stripe.com"
    monkeypatch.setenv("COMPTOIR_STRIPE_SECRET_KEY", "sk_test_prefixed")
    assert PaymentsSettings().stripe_api_key == "sk_test_prefixed", "the COMPTOIR_ name wins"


def test_production_refuses_the_dev_webhook_secret_and_no_key() -> None:
    with pytest.raises(ValueError) as refused:
        PaymentsSettings(**PRODUCTION)
    assert "COMPTOIR_STRIPE_WEBHOOK_SECRET" in str(refused.value)
    assert "COMPTOIR_STRIPE_SECRET_KEY" in str(refused.value)
    assert "COMPTOIR_CHECKOUT_RETURN_ORIGINS" in str(refused.value)


def test_production_runs_with_real_stripe_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPTOIR_STRIPE_SECRET_KEY", "sk_live_realkey")
    monkeypatch.setenv(
        "COMPTOIR_CHECKOUT_RETURN_ORIGINS", '["https://reserver.serre-poncon.example"]'
    )
    settings = PaymentsSettings(**PRODUCTION, stripe_webhook_secret="whsec_real")
    assert settings.is_production
    assert settings.stripe_api_base == "https://api.stripe.com"
    assert not settings.simulated_payments
    assert settings.checkout_return_origins == ["https://reserver.serre-poncon.example"]


def test_payments_are_simulated_only_with_stripe_mock_outside_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert PaymentsSettings(environment="development").simulated_payments
    monkeypatch.setenv("COMPTOIR_STRIPE_SECRET_KEY", "sk_test_realkey")
    assert not PaymentsSettings(environment="development").simulated_payments
