from __future__ import annotations

import pytest
from pydantic import ValidationError

from comptoir_common.settings import ServiceSettings


def test_development_defaults_work_out_of_the_box() -> None:
    settings = ServiceSettings(service_name="booking")
    assert settings.database_url.endswith("/comptoir_booking")
    assert settings.topic("booking.confirmed.v1") == "booking.confirmed.v1"


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceSettings(service_name="booking", environment="production")
    assert "COMPTOIR_DATABASE_URL" in str(caught.value)


def test_production_accepts_real_settings() -> None:
    settings = ServiceSettings(
        service_name="booking",
        environment="production",
        database_url="postgresql+asyncpg://booking:s3cret@db/booking",
        auth_office_public_key="-----BEGIN PUBLIC KEY-----\n...",
        auth_visitor_public_key="-----BEGIN PUBLIC KEY-----\n...",
    )
    assert settings.is_production


def test_a_namespace_prefixes_topics_and_groups() -> None:
    settings = ServiceSettings(service_name="payments", kafka_namespace="e2e-1.")
    assert settings.topic("booking.hold-placed.v1") == "e2e-1.booking.hold-placed.v1"
    assert settings.consumer_group == "e2e-1.payments"
