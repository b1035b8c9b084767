"""Signing providers and office staff in by e-mail link: who gets a link, what the link
grants, once, and what a forged, expired or foreign request gets."""

from __future__ import annotations

import asyncio
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
        if host == "catalog" and request.url.path == f"/v1/territories/{OTHER_TERRITORY}":
            return httpx.Response(200, json={"id": str(OTHER_TERRITORY), "name": "Far"})
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

    session = asyncio.run(web.app.state.authority.read_session(web.cookies[SESSION_COOKIE]))  # type: ignore[attr-defined]
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
    cookie, _ = authority.session_cookie(
        authority.read_link(authority.link_token(_provider())[0])[0]
    )
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
    # Too many links for a known address: the same answer as for an unknown one, or the
    # form would tell who is registered.
    services.refuse_with = 429
    slow = ask(web, "kayak@example.test")
    unknown = ask(web, "nobody@example.test")
    assert slow.status_code == unknown.status_code == 200
    assert html_text(slow.text).replace("kayak", "nobody") == html_text(unknown.text)

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


def test_a_link_brings_back_to_the_page_asked_and_nothing_can_be_grafted_onto_it(
    web: TestClient, services: SignInServices
) -> None:
    # A provider's page asked without a session: sign in, then back to it, query included.
    away = web.get("/en/portal/slots/123?period=30d")
    assert away.status_code == 303
    assert (
        away.headers["location"] == "/en/sign-in?next=%2Fen%2Fportal%2Fslots%2F123%3Fperiod%3D30d"
    )
    ask(web, "kayak@example.test", next="/en/portal/slots/123?period=30d")
    (mail,) = services.mails
    assert "next" not in mail["link"]  # inside the signed token, not beside it

    # The mailed link is the token alone: a "next" asked for cannot add a parameter to it
    # (a second "t" would open someone else's session), and a "next" sent with the button
    # is ignored.
    assert re.fullmatch(r"/en/sign-in/link\?t=[A-Za-z0-9._\-]+", link_path(mail))
    token = link_path(mail).split("t=", 1)[1]
    signed = web.post("/en/sign-in/link", data={"t": token, "next": "/en/portal/webhooks"})
    assert signed.headers["location"] == "/en/portal/slots/123?period=30d"


def test_signing_out_ends_the_session_everywhere_and_only_from_this_site(
    web: TestClient, services: SignInServices
) -> None:
    ask(web, "kayak@example.test")
    web.post("/en/sign-in/link", data={"t": link_path(services.mails[-1]).split("t=", 1)[1]})
    copied = web.cookies[SESSION_COOKIE]
    assert (
        web.post("/en/sign-out", headers={"Origin": "https://elsewhere.example"}).status_code == 403
    )
    assert web.cookies[SESSION_COOKIE] == copied
    web.post("/en/sign-out")
    web.cookies.set(SESSION_COOKIE, copied)  # a copy of the cookie kept elsewhere
    again = web.get("/en/portal/")
    assert again.status_code == 303 and again.headers["location"].startswith("/en/sign-in")


def test_an_ended_session_on_a_form_says_so_and_comes_back_to_the_form_page(
    web: TestClient,
) -> None:
    web.cookies.set(SESSION_COOKIE, "a-session-that-ended")
    sent = web.post(
        "/en/portal/slots/123/capacity",
        data={"capacity": "10"},
        headers={"Referer": "http://testserver/en/portal/slots/123"},
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == "/en/sign-in?next=%2Fen%2Fportal%2Fslots%2F123&expired=1"
    page = web.get(sent.headers["location"])
    assert "what you just sent was not saved" in html_text(page.text)


def test_an_unknown_territory_is_nobody_and_costs_nothing(
    web: TestClient, services: SignInServices
) -> None:
    authority: Authority = web.app.state.authority  # type: ignore[attr-defined]
    for _ in range(30):
        answer = ask(web, "kayak@example.test", territory=str(uuid.uuid4()))
        assert answer.status_code == 200
    assert services.mails == []
    assert len(authority._service_tokens) <= 16


def test_a_client_asking_too_often_gets_the_same_answer_and_nothing_is_sent(
    web: TestClient, services: SignInServices
) -> None:
    for _ in range(20):
        assert ask(web, "nobody@example.test").status_code == 200
    answer = ask(web, "kayak@example.test")
    assert answer.status_code == 200
    assert "a sign-in link is on its way" in html_text(answer.text)
    assert services.mails == []
