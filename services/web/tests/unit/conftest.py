"""Fixtures: the storefront app wired to the in-memory services of ``web_fakes``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from web_fakes import TERRITORY, FakeServices

from comptoir_web.main import create_app
from comptoir_web.settings import WebSettings


@pytest.fixture
def fake() -> FakeServices:
    return FakeServices()


@pytest.fixture
def client(fake: FakeServices) -> Iterator[TestClient]:
    settings = WebSettings(
        catalog_url="http://catalog.test",
        booking_url="http://booking.test",
        payments_url="http://payments.test",
        territory_id=TERRITORY,
        environment="test",
    )
    app = create_app(settings, transport=httpx.MockTransport(fake.handle))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as test_client:
        yield test_client
