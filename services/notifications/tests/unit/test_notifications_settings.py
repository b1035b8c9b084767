"""Settings: production refuses the development sender domain."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from comptoir_notifications.settings import NotificationsSettings

PRODUCTION = {
    "environment": "production",
    "database_url": "postgresql+asyncpg://notifications:s3cret@db:5432/notifications",
    "auth_office_public_key": "/etc/comptoir/office.pub.pem",
    "auth_visitor_public_key": "/etc/comptoir/visitor.pub.pem",
}


def test_defaults() -> None:
    settings = NotificationsSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.service_name == "notifications"
    assert settings.port == 8004
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "127.0.0.1",
        1025,
        False,
    )
    assert settings.sender.display_name == "Comptoir"
    assert settings.sender.addr_spec == "reservations@comptoir.localhost"
    assert settings.database_url.endswith("/comptoir_notifications")


def test_production_refuses_the_development_mail_domain() -> None:
    with pytest.raises(ValidationError, match="COMPTOIR_MAIL_FROM"):
        NotificationsSettings(**PRODUCTION)
    settings = NotificationsSettings(
        **PRODUCTION, mail_from="Office de tourisme <reservations@vezere.example>"
    )
    assert settings.sender.domain == "vezere.example"
    assert settings.development_defaults_in_use() == []


def test_development_mail_domain_is_reported_in_any_environment() -> None:
    settings = NotificationsSettings(environment="development")
    assert any("COMPTOIR_MAIL_FROM" in found for found in settings.development_defaults_in_use())


@pytest.mark.parametrize(
    "mail_from",
    [
        "Comptoir <reservations@office.example>\r\nBcc: victim@example.org",
        "Comptoir\n <reservations@office.example>",
        "reservations@office.example, other@office.example",
        "Comptoir <reservations@office.example",
    ],
)
def test_sender_must_be_one_clean_address(mail_from: str) -> None:
    with pytest.raises(ValidationError):
        NotificationsSettings(mail_from=mail_from)
