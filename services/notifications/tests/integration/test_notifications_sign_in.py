"""POST /v1/sign-in-links: the mail arrives with its link, and only the right caller,
link and expiry get one. Needs Redis on 127.0.0.1:6379 (rate limit, Idempotency-Key)."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from comptoir_common.auth import OFFICE_ISSUER, TokenIssuer
from comptoir_common.settings import dev_key_path
from comptoir_notifications.sender import FORGOTTEN_BODY
from comptoir_notifications.store import OutgoingMail

office = TokenIssuer(dev_key_path("office.pem"), OFFICE_ISSUER)
STOREFRONT = "http://storefront.test"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Person:
    """A person signing in, with an address carrying the test's token: ``mailbox`` (the
    catcher, limited to that token) reads back only this test's mail."""

    def __init__(self, token: str, mailbox: Any) -> None:
        self.token = token
        self.email = f"signin-{token}@example.org"
        self.territory_id = uuid.uuid4()
        self.mailbox = mailbox

    def admin(self) -> dict[str, str]:
        return bearer(office.issue(role="admin", subject="web", territory_id=self.territory_id))

    def body(self, **overrides: Any) -> dict[str, Any]:
        value: dict[str, Any] = {
            "email": self.email,
            "name": "Jeanne <Martin> & Fils",
            "audience": "provider",
            "locale": "fr",
            "link": f"{STOREFRONT}/sign-in/verify?token=tk-{self.token}&next=%2Fprovider",
            "expires_at": (datetime.now(UTC) + timedelta(minutes=15)).isoformat(),
        }
        value.update(overrides)
        return value


@pytest.fixture
def person(booking, captured) -> Person:
    return Person(booking.token, captured)


async def test_french_mail_arrives_with_its_link_and_the_listing_hides_it(
    client, sender, rows, person
) -> None:
    body = person.body(expires_at=(datetime.now(UTC) + timedelta(minutes=20)).isoformat())
    answer = await client.post("/v1/sign-in-links", json=body, headers=person.admin())
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert set(accepted) == {"message_id", "status"} and accepted["status"] == "PENDING"

    assert await sender.send_due() >= 1
    [mail] = person.mailbox.messages()
    assert mail["Subject"] == "Votre lien de connexion Comptoir"
    assert person.email in mail["To"]
    assert mail["Content-Language"] == "fr"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"Me connecter à Comptoir : {body['link']}" in text
    assert f'href="{html.escape(body["link"], quote=True)}"' in page
    assert "Bonjour Jeanne <Martin> & Fils," in text
    assert "Bonjour Jeanne &lt;Martin&gt; &amp; Fils," in page
    paris = datetime.fromisoformat(body["expires_at"]).astimezone(ZoneInfo("Europe/Paris"))
    assert f"à {paris:%H:%M}" in text and "qu'une seule fois" in text
    assert "ignorez cet e-mail" in text

    # Office staff see that it went out, never the link; the row no longer holds it.
    listing = await client.get("/v1/messages", headers=person.admin())
    [item] = listing.json()["items"]
    assert item["id"] == accepted["message_id"]
    assert (item["event_type"], item["recipient_kind"], item["status"]) == (
        "notifications.sign-in",
        "provider",
        "SENT",
    )
    assert item["reservation_id"] is None and item["subject"] == mail["Subject"]
    assert person.token not in listing.text
    [row] = await rows()
    assert row.body_text == row.body_html == FORGOTTEN_BODY
    assert row.provider_id is None


async def test_english_mail_for_office_staff(client, sender, person) -> None:
    body = person.body(locale="en", audience="office", name="Sam Lee")
    answer = await client.post("/v1/sign-in-links", json=body, headers=person.admin())
    assert answer.status_code == 202, answer.text
    await sender.send_due()
    [mail] = person.mailbox.messages()
    assert mail["Subject"] == "Your Comptoir sign-in link"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Sign in to Comptoir: {body['link']}" in text
    assert "the tourism office's space" in text
    assert "This link works once only, until" in text
    assert "If you did not ask for it, ignore this e-mail" in text
    listing = await client.get("/v1/messages", headers=person.admin())
    assert listing.json()["items"][0]["recipient_kind"] == "office"


async def test_providers_never_see_sign_in_mails(client, person) -> None:
    provider_id = uuid.uuid4()
    provider = bearer(
        office.issue(
            role="provider", subject="p", territory_id=person.territory_id, provider_id=provider_id
        )
    )
    answer = await client.post("/v1/sign-in-links", json=person.body(), headers=provider)
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert (await client.post("/v1/sign-in-links", json=person.body())).status_code == 401

    assert (
        await client.post("/v1/sign-in-links", json=person.body(), headers=person.admin())
    ).status_code == 202
    listing = await client.get("/v1/messages", headers=provider)
    assert listing.json()["total"] == 0


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.test/sign-in/verify?token=x",
        "http://storefront.test.evil.test/sign-in/verify?token=x",
        "http://storefront.test@evil.test/sign-in",
        STOREFRONT,
    ],
)
async def test_link_outside_the_storefront_is_refused(client, sender, person, link) -> None:
    answer = await client.post(
        "/v1/sign-in-links", json=person.body(link=link), headers=person.admin()
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"].endswith("/link-not-allowed")
    assert f"{STOREFRONT}/" in problem["detail"]
    await sender.send_due()
    assert person.mailbox.messages() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"expires_at": "in 2 hours"},
        {"unexpected": True},
        {"name": "Jeanne\nBcc: someone@example.org"},
        {"audience": "visitor"},
        {"link": "/sign-in/verify?token=x"},
    ],
)
async def test_invalid_bodies_are_422(client, person, overrides) -> None:
    if overrides.get("expires_at") == "in 2 hours":
        overrides = {"expires_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}
    answer = await client.post(
        "/v1/sign-in-links", json=person.body(**overrides), headers=person.admin()
    )
    assert answer.status_code == 422
    assert answer.json()["type"].endswith("/validation")


async def test_expiry_more_than_an_hour_ahead_is_422(client, person) -> None:
    late = (datetime.now(UTC) + timedelta(minutes=65)).isoformat()
    answer = await client.post(
        "/v1/sign-in-links", json=person.body(expires_at=late), headers=person.admin()
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["location"] == ["body", "expires_at"]
    assert "one hour at most" in error["message"]


async def test_sixth_mail_within_fifteen_minutes_is_429(client, sender, person) -> None:
    for _ in range(5):
        answer = await client.post("/v1/sign-in-links", json=person.body(), headers=person.admin())
        assert answer.status_code == 202
    refused = await client.post("/v1/sign-in-links", json=person.body(), headers=person.admin())
    assert refused.status_code == 429
    assert refused.json()["type"].endswith("/too-many-sign-in-links")
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    # The address is counted however it is capitalised; another address is not.
    upper = person.body(email=person.email.upper())
    assert (
        await client.post("/v1/sign-in-links", json=upper, headers=person.admin())
    ).status_code == 429
    other = person.body(email=f"other-{person.token}@example.org")
    assert (
        await client.post("/v1/sign-in-links", json=other, headers=person.admin())
    ).status_code == 202
    await sender.send_due()
    assert len([m for m in person.mailbox.messages() if person.email in m["To"]]) == 5


async def test_idempotency_key_sends_once_and_counts_once(client, sender, rows, person) -> None:
    body = person.body()
    headers = {**person.admin(), "Idempotency-Key": f"sign-in-{person.token}"}
    first = await client.post("/v1/sign-in-links", json=body, headers=headers)
    again = await client.post("/v1/sign-in-links", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["message_id"] == again.json()["message_id"]
    assert len(await rows()) == 1
    for _ in range(4):  # the retry was not counted: four more fit in the window
        assert (
            await client.post("/v1/sign-in-links", json=person.body(), headers=person.admin())
        ).status_code == 202
    await sender.send_due()
    assert len(person.mailbox.messages()) == 5


async def test_mail_not_sent_after_its_link_expired(client, sender, sessions, rows, person) -> None:
    answer = await client.post("/v1/sign-in-links", json=person.body(), headers=person.admin())
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutgoingMail).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await sender.send_due()
    [row] = await rows()
    assert str(row.id) == answer.json()["message_id"]
    assert (row.status, row.error) == ("FAILED", "expired before it could be sent")
    assert row.body_text == FORGOTTEN_BODY
    assert person.mailbox.messages() == []


async def test_without_a_storefront_it_is_503(settings, sessions, client_with, person) -> None:
    unconfigured = settings.model_copy(update={"storefront_url": None})
    async for client in client_with(unconfigured, sessions):
        answer = await client.post("/v1/sign-in-links", json=person.body(), headers=person.admin())
    assert answer.status_code == 503
    assert answer.json()["type"].endswith("/storefront-not-configured")


async def test_interrupted_send_forgets_the_link_too(client, sender, rows, person) -> None:
    answer = await client.post("/v1/sign-in-links", json=person.body(), headers=person.admin())
    assert answer.status_code == 202
    await sender.claim()
    sender.settings = sender.settings.model_copy(update={"mail_stale_sending_seconds": 0})
    await sender.report_interrupted()
    [row] = await rows()
    assert row.status == "UNKNOWN"
    assert row.body_text == row.body_html == FORGOTTEN_BODY
