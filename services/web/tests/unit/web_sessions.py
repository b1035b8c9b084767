"""Signed-in sessions for the unit tests of the provider portal and the office console."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from web_fakes import TERRITORY

from comptoir_web.auth import SESSION_COOKIE, Authority, Identity

OFFICE_EMAIL = "accueil@office.test"


def sign_in(client: TestClient, identity: Identity) -> None:
    """Put the session cookie of ``identity`` in the client, as a used sign-in link does."""
    authority: Authority = client.app.state.authority  # type: ignore[attr-defined]
    cookie, _ = authority.session_cookie(identity)
    client.cookies.set(SESSION_COOKIE, cookie)


def provider_identity(provider_id: uuid.UUID | str, name: str = "Provider") -> Identity:
    return Identity(
        role="provider",
        territory_id=TERRITORY,
        email="provider@example.test",
        name=name,
        provider_id=uuid.UUID(str(provider_id)),
    )


def office_identity() -> Identity:
    return Identity(role="admin", territory_id=TERRITORY, email=OFFICE_EMAIL, name=OFFICE_EMAIL)
