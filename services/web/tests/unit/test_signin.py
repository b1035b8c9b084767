"""Signing providers and office staff in by e-mail link: who gets a link, what the link
grants, once, and what a forged, expired or foreign request gets."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from web_fakes import TERRITORY, FakeServices, html_text
from web_sessions import OFFICE_EMAIL

from comptoir_web.auth import (
    LINK_AUDIENCE,
    SESSION_COOKIE,
    Authority,
    Identity,
    MemorySingleUse,
)
from comptoir_web.main import create_app
from comptoir_web.settings import WebSettings

PROVIDER_ID = uuid.uuid4()
OTHER_TERRITORY = uuid.uuid4()
OTHER_PROVIDER_ID = uuid.uuid4()


class SignInServices:
    """The storefront's fakes, plus catalog's providers and notifications' sign-in mails."""

    def __init__(self, base: FakeServices) -> None:
        self.base = base
        self.mails: list[dict[str, Any]] = []
        self.refuse_with: int | None = None
        self.providers = {
            TERRITORY: [
                {"id": str(PROVIDER_ID), "name": "Kayaks du lac", "email": "Kayak@Example.test"}
            ],
            OTHER_TERRITORY: [
                {"id": str(OTHER_PROVIDER_ID), "name": "Far away", "email": "far@example.test"}
            ],
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host.split(".")[0]
        if host == "notifications" and request.url.path == "/v1/sign-in-links":
            if self.refuse_with:
                return httpx.Response(
                    self.refuse_with,
                    json={"type": "about:blank", "status": self.refuse_with, "detail": "slow"},
                )
            self.mails.append(json.loads(request.content))
            return httpx.Response(202, json={"message_id": str(uuid.uuid4()), "status": "PENDING"})
        if host == "catalog" and request.url.path == "/v1/providers":
            territory = self._territory_of(request)
            items = self.providers.get(territory, [])
            return httpx.Response(
                200, json={"items": items, "total": len(items), "limit": 200, "offset": 0}
            )
        return self.base.handle(request)

    @staticmethod
    def _territory_of(request: httpx.Request) -> uuid.UUID:
        token = request.headers["authorization"].removeprefix("Bearer ")
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["role"] == "admin"
        return uuid.UUID(claims["territory_id"])


@pytest.fixture
def services(fake: FakeServices) -> SignInServices:
    return SignInServices(fake)


@pytest.fixture
def web(services: SignInServices, settings: WebSettings) -> Iterator[TestClient]:
    app = create_app(
        settings, transport=httpx.MockTransport(services.handle), single_use=MemorySingleUse()
    )
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def ask(web: TestClient, email: str, **form: str) -> httpx.Response:
    return web.post("/en/sign-in", data={"email": email, **form})


def link_path(mail: dict[str, Any]) -> str:
    assert mail["link"].startswith("http://testserver/en/sign-in/link?t=")
    return mail["link"].removeprefix("http://testserver")


def test_a_provider_gets_a_link_that_signs_it_in_once(
    web: TestClient, services: SignInServices
) -> None:
    answer = ask(web, "kayak@example.test")
    assert answer.status_code == 200
    assert "a sign-in link is on its way" in html_text(answer.text)
    (mail,) = services.mails
    assert mail["email"] == "kayak@example.test"
    assert mail["name"] == "Kayaks du lac"
    assert mail["audience"] == "provider"
    assert mail["locale"] == "en"

    # Opening the link signs nobody in (mail scanners open links): a button does.
    opened = web.get(link_path(mail))
    assert opened.status_code == 200
    assert "Signing in as Kayaks du lac" in html_text(opened.text)
    assert SESSION_COOKIE not in web.cookies
    token = re.search(r'name="t" value="([^"]+)"', opened.text)
    assert token
    signed = web.post("/en/sign-in/link", data={"t": token.group(1)})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/en/portal/"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()

    session = web.app.state.authority.read_session(web.cookies[SESSION_COOKIE])  # type: ignore[attr-defined]
    assert session.role == "provider"
    assert session.provider_id == PROVIDER_ID
    assert session.territory_id == TERRITORY
    principal = web.app.state.authority.verifier.verify(session.token)  # type: ignore[attr-defined]
    assert principal.role == "provider" and principal.provider_id == PROVIDER_ID

    # The same link a second time: refused, and it says so.
    web.cookies.clear()
    again = web.post("/en/sign-in/link", data={"t": token.group(1)})
    assert again.status_code == 410
    assert "already been used" in html_text(again.text)
    assert SESSION_COOKIE not in web.cookies


def test_unknown_addresses_get_the_same_answer_and_no_mail(
    web: TestClient, services: SignInServices
) -> None:
    known = ask(web, "kayak@example.test")
    unknown = ask(web, "nobody@example.test")
    assert unknown.status_code == known.status_code == 200
    assert html_text(unknown.text).replace("nobody", "kayak") == html_text(known.text)
    assert [m["email"] for m in services.mails] == ["kayak@example.test"]


def test_office_staff_sign_in_to_the_console_of_the_storefront_territory_only(
    web: TestClient, services: SignInServices
) -> None:
    ask(web, OFFICE_EMAIL.upper())
    (mail,) = services.mails
    assert mail["audience"] == "office"
    opened = web.get(link_path(mail))
    token = re.search(r'name="t" value="([^"]+)"', opened.text)
    assert token
    signed = web.post("/en/sign-in/link", data={"t": token.group(1)})
    assert signed.headers["location"] == "/en/office/"

    # Asked on another territory's sign-in page, the office address is nobody.
    services.mails.clear()
    ask(web, OFFICE_EMAIL, territory=str(OTHER_TERRITORY))
    assert services.mails == []


def test_a_provider_of_another_territory_signs_in_through_its_link(
    web: TestClient, services: SignInServices
) -> None:
    form = web.get(f"/en/sign-in?territory={OTHER_TERRITORY}")
    assert f'name="territory" value="{OTHER_TERRITORY}"' in form.text
    ask(web, "far@example.test", territory=str(OTHER_TERRITORY))
    (mail,) = services.mails
    assert mail["name"] == "Far away"
    claims = web.app.state.authority.read(  # type: ignore[attr-defined]
        LINK_AUDIENCE, mail["link"].split("t=", 1)[1]
    )
    assert claims["territory_id"] == str(OTHER_TERRITORY)


def test_forged_and_expired_links_are_refused_clearly(web: TestClient) -> None:
    forged = web.get("/en/sign-in/link?t=not-a-token")
    assert forged.status_code == 400
    assert "not valid" in html_text(forged.text)
    authority: Authority = web.app.state.authority  # type: ignore[attr-defined]
    expired = authority.sign(
        LINK_AUDIENCE,
        {
            "sub": "kayak@example.test",
            "role": "provider",
            "territory_id": str(TERRITORY),
            "provider_id": str(PROVIDER_ID),
            "name": "Kayaks",
        },
        timedelta(seconds=-1),
    )
    answer = web.post("/en/sign-in/link", data={"t": expired})
    assert answer.status_code == 410
    assert "expired" in html_text(answer.text)
    # A session cookie is no sign-in link, and the other way round.
    cookie, _ = authority.session_cookie(authority.read_link(authority.link_token(_provider())[0]))
    assert web.post("/en/sign-in/link", data={"t": cookie}).status_code == 400
    web.cookies.set(SESSION_COOKIE, authority.link_token(_provider())[0])
    assert web.get("/en/sign-in").status_code == 200  # not signed in


def _provider() -> Identity:
    return Identity(
        role="provider",
        territory_id=TERRITORY,
        email="kayak@example.test",
        name="Kayaks",
        provider_id=PROVIDER_ID,
    )


def test_bad_address_too_many_links_and_foreign_forms(
    web: TestClient, services: SignInServices
) -> None:
    bad = ask(web, "not an address")
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    services.refuse_with = 429
    slow = ask(web, "kayak@example.test")
    assert slow.status_code == 429
    assert "Too many links" in html_text(slow.text)

    services.refuse_with = None
    ask(web, "kayak@example.test")
    token = services.mails[-1]["link"].split("t=", 1)[1]
    foreign = web.post(
        "/en/sign-in/link", data={"t": token}, headers={"Origin": "https://elsewhere.example"}
    )
    assert foreign.status_code == 403
    assert SESSION_COOKIE not in web.cookies


def test_signing_out_forgets_the_session(web: TestClient, services: SignInServices) -> None:
    ask(web, "kayak@example.test")
    token = services.mails[-1]["link"].split("t=", 1)[1]
    web.post("/en/sign-in/link", data={"t": token})
    assert SESSION_COOKIE in web.cookies
    out = web.post("/en/sign-out")
    assert out.status_code == 303 and out.headers["location"] == "/en/sign-in"
    assert SESSION_COOKIE not in web.cookies
