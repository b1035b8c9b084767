"""Fixtures: the storefront app wired to the in-memory services of ``web_fakes``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from web_fakes import TERRITORY, FakeServices
from web_sessions import OFFICE_EMAIL

from comptoir_common.auth import generate_key_pair
from comptoir_web.auth import MemorySingleUse
from comptoir_web.main import create_app
from comptoir_web.settings import WebSettings


@pytest.fixture(scope="session")
def office_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A key pair of the office issuer made for the tests (no key file of the machine)."""
    folder: Path = tmp_path_factory.mktemp("keys")
    generate_key_pair(folder / "office.pem", folder / "office.pub.pem")
    return str(folder / "office.pem"), str(folder / "office.pub.pem")


@pytest.fixture
def fake() -> FakeServices:
    return FakeServices()


@pytest.fixture
def settings(office_keys: tuple[str, str]) -> WebSettings:
    return WebSettings(
        catalog_url="http://catalog.test",
        booking_url="http://booking.test",
        payments_url="http://payments.test",
        notifications_url="http://notifications.test",
        storefront_url="http://testserver",
        territory_id=TERRITORY,
        environment="test",
        auth_office_private_key=office_keys[0],
        auth_office_public_key=office_keys[1],
        office_staff_emails=OFFICE_EMAIL,
    )


@pytest.fixture
def client(fake: FakeServices, settings: WebSettings) -> Iterator[TestClient]:
    app = create_app(
        settings, transport=httpx.MockTransport(fake.handle), single_use=MemorySingleUse()
    )
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as test_client:
        yield test_client
