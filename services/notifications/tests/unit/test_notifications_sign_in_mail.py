"""The sign-in link mail (both languages, escaping) and the checks on its request."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from comptoir_common.problems import Problem
from comptoir_notifications import mails
from comptoir_notifications.schemas import SignInLinkIn
from comptoir_notifications.service import check_sign_in_link

LINK = "https://comptoir.example/sign-in/verify?token=abc.def&next=%2Foffice"
#: 20:30 in Paris (summer time).
EXPIRES = datetime(2027, 7, 14, 18, 30, tzinfo=UTC)


def render(locale: mails.Locale = "fr", name: str = "Jeanne Martin", **kw: object):
    args: dict[str, object] = {
        "name": name,
        "audience": "provider",
        "locale": locale,
        "link": LINK,
        "expires_at": EXPIRES,
        "timezone": "Europe/Paris",
    }
    args.update(kw)
    return mails.sign_in_link(**args)  # type: ignore[arg-type]


def test_french_mail_says_where_until_when_and_once() -> None:
    mail = render("fr")
    assert mail.locale == "fr"
    assert mail.subject == "Votre lien de connexion Comptoir"
    assert "Bonjour Jeanne Martin," in mail.text
    assert "votre espace prestataire" in mail.text
    assert f"Me connecter à Comptoir : {LINK}" in mail.text
    assert (
        "Ce lien ne fonctionne qu'une seule fois, jusqu'au mercredi 14 juillet 2027 à 20:30 "
        "(heure d\u2019été d\u2019Europe centrale)." in mail.text
    )
    assert "Si vous n'avez pas demandé ce lien, ignorez cet e-mail" in mail.text
    # One button in the HTML part, its URL attribute-escaped (the & of the query).
    assert mail.html.count("<a href=") == 1
    assert f'<a href="{html.escape(LINK, quote=True)}" style="display: inline-block' in mail.html
    assert "20:30" in mail.html and 'lang="fr"' in mail.html


def test_english_mail_for_office_staff() -> None:
    mail = render("en", audience="office")
    assert mail.subject == "Your Comptoir sign-in link"
    assert "Hello Jeanne Martin," in mail.text
    assert "the tourism office's space" in html.unescape(mail.html)
    assert f"Sign in to Comptoir: {LINK}" in mail.text
    assert "This link works once only, until Wednesday, July 14, 2027 at 8:30" in mail.text
    assert "Central European Summer Time" in mail.text
    assert "If you did not ask for it, ignore this e-mail" in mail.text


def test_expiry_in_the_given_zone() -> None:
    mail = render("en", timezone="America/Martinique")
    assert "at 2:30" in mail.text and "Atlantic Standard Time" in mail.text


def test_name_is_escaped_in_html_and_kept_in_text() -> None:
    name = '<script>alert("x")</script> & Fils'
    mail = render("fr", name=name)
    assert "<script>" not in mail.html
    assert "Bonjour &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Fils," in mail.html
    assert f"Bonjour {name}," in mail.text


def body(**overrides: object) -> dict[str, object]:
    value: dict[str, object] = {
        "email": "jeanne@example.org",
        "name": "Jeanne Martin",
        "audience": "provider",
        "locale": "fr",
        "link": LINK,
        "expires_at": (datetime.now(UTC) + timedelta(minutes=15)).isoformat(),
    }
    value.update(overrides)
    return value


def test_request_accepts_a_link_valid_for_up_to_an_hour() -> None:
    parsed = SignInLinkIn.model_validate(body(name="  Jeanne   Martin "))
    assert parsed.name == "Jeanne Martin"
    SignInLinkIn.model_validate(
        body(expires_at=(datetime.now(UTC) + timedelta(minutes=60)).isoformat())
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expires_at", "2099-01-01T00:00:00+00:00"),  # far too late
        ("expires_at", "2020-01-01T00:00:00+00:00"),  # already over
        ("expires_at", "2030-01-01T00:00:00"),  # no zone
        ("name", "Jeanne\r\nBcc: victim@example.org"),
        ("name", "   "),
        ("name", "x" * 201),
        ("email", "not-an-address"),
        ("audience", "visitor"),
        ("locale", "de"),
        ("link", "/sign-in/verify?token=abc"),  # not absolute
        ("link", "javascript:alert(1)"),
        ("link", "https://comptoir.example/a b"),
        ("unexpected", "field"),
    ],
)
def test_request_refuses(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        SignInLinkIn.model_validate(body(**{field: value}))


@pytest.mark.parametrize(
    "link",
    [
        "https://comptoir.example.evil.test/sign-in",  # a host that merely starts alike
        "https://comptoir.example",  # the bare base, no path
        "https://comptoir.example@evil.test/sign-in",  # credentials trick
        "http://comptoir.example/sign-in",  # another scheme
        "https://evil.test/https://comptoir.example/",
    ],
)
def test_links_outside_the_storefront_are_refused(link: str) -> None:
    with pytest.raises(Problem) as refused:
        check_sign_in_link(link, "https://comptoir.example")
    assert refused.value.status == 422 and refused.value.kind == "link-not-allowed"


def test_storefront_links_pass_and_a_missing_storefront_is_503() -> None:
    check_sign_in_link(LINK, "https://comptoir.example")
    with pytest.raises(Problem) as missing:
        check_sign_in_link(LINK, None)
    assert missing.value.status == 503 and missing.value.kind == "storefront-not-configured"
