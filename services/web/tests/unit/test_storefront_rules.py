"""The rules the pages apply: search filters, the refund shown before cancelling, the
production settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from comptoir_web.i18n import money, when
from comptoir_web.settings import WebSettings
from comptoir_web.views import Filters, refund_preview

POLICY = [{"hours_before": 48, "refund_percent": 100}, {"hours_before": 24, "refund_percent": 50}]


@pytest.mark.parametrize(
    ("hours_left", "percent", "cents"),
    [(72, 100, 7001), (48, 100, 7001), (30, 50, 3501), (23.9, 0, 0), (-1, 0, 0)],
)
def test_refund_preview_follows_the_most_generous_tier_that_applies(
    hours_left: float, percent: int, cents: int
) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    preview = refund_preview(POLICY, 7001, now + timedelta(hours=hours_left), now)
    assert (preview.percent, preview.cents) == (percent, cents)


def test_filters_read_what_they_can_and_drop_the_rest() -> None:
    today = date(2026, 6, 1)
    filters = Filters.parse(
        {"date": "2026-06-03", "price": "12,5", "available": "1", "category": "walk"}, today
    )
    assert filters == Filters(date(2026, 6, 3), "walk", "", 1250, True)
    assert Filters.parse({"date": "yesterday", "price": "cheap"}, today) == Filters()
    assert Filters.parse({"date": "2026-05-01"}, today).day is None  # the past is no choice


def test_money_and_dates_in_each_language() -> None:
    assert money(350050, "EUR", "fr") == "3\u202f500,50\xa0€"
    assert money(350050, "EUR", "en") == "€3,500.50"
    start = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)  # 18:00 in Paris (summer time)
    assert when(start, "fr") == "mardi 14 juillet 2026 à 18:00"
    assert when(start, "en").startswith("Tuesday, July 14, 2026 at 6:00")


def test_production_refuses_simulated_payments() -> None:
    with pytest.raises(ValidationError, match="COMPTOIR_PAYMENT_MODE"):
        WebSettings(environment="production")
    with pytest.raises(ValidationError, match="COMPTOIR_AUTH_OFFICE_PRIVATE_KEY"):
        WebSettings(environment="production", payment_mode="checkout")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = WebSettings(
        environment="production",
        payment_mode="checkout",
        auth_office_private_key=private,
        auth_office_public_key=public,
    )
    assert settings.development_defaults_in_use() == []
