"""Accessibility of the main web pages, checked by axe-core in Chromium: the storefront,
the widget's frame, the sign-in page, the provider portal and the office console, at
phone and desktop widths, against WCAG 2.1 A and AA (labels, names, contrast, structure,
ARIA). Any violation fails, whatever its impact, with the rule and the elements named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser

from comptoir_ops import infra
from comptoir_ops.platform import OFFICE_STAFF_EMAIL, Platform
from comptoir_web.auth import SESSION_COOKIE, Authority, Identity, MemorySingleUse
from comptoir_web.settings import WebSettings
from tests.e2e.conftest import Territory, make_offer, reserve
from tests.e2e.web_support import DESKTOP, PHONE, chromium_browser  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _sessions(territory: Territory, provider_id: str) -> dict[str, str]:
    """Session cookies as a used sign-in link would set them (the development office
    key, which the test platform's web process holds too)."""
    authority = Authority(WebSettings(), MemorySingleUse())
    provider = Identity(
        role="provider",
        territory_id=territory.id,
        email="provider@example.org",
        name="Kayak Embrun",
        provider_id=uuid.UUID(provider_id),
    )
    office = Identity(
        role="admin",
        territory_id=territory.id,
        email=OFFICE_STAFF_EMAIL,
        name=OFFICE_STAFF_EMAIL,
    )
    return {
        "provider": authority.session_cookie(provider)[0],
        "office": authority.session_cookie(office)[0],
    }


def _violations(browser: Browser, url: str, cookie: str | None, web: str) -> list[str]:
    found = []
    for viewport in (PHONE, DESKTOP):
        # bypass_csp: the pages allow no inline script, and axe is injected as one.
        context = browser.new_context(viewport=viewport, locale="fr-FR", bypass_csp=True)
        if cookie:
            context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": web}])
        page = context.new_page()
        try:
            answer = page.goto(url)
            assert answer is not None and answer.status == 200, f"{url}: {answer and answer.status}"
            page.add_script_tag(path=str(infra.axe_script_path()))
            result: dict[str, Any] = page.evaluate(
                "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
            )
        finally:
            context.close()
        for violation in result["violations"]:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            found.append(
                f"{url} at {viewport['width']}px: {violation['id']} ({violation['impact']})"
                f" {violation['help']}: {targets}"
            )
    return found


def test_the_check_catches_an_unlabelled_field_and_faint_text(browser: Browser) -> None:
    """The negative control: the same check on a page with the faults it must find."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_content(
        '<html lang="fr"><head><title>t</title></head><body><main><h1>t</h1>'
        '<input type="text"><p style="color:#bbb;background:#fff">pâle</p></main></body></html>'
    )
    page.add_script_tag(path=str(infra.axe_script_path()))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    context.close()
    assert {"label", "color-contrast"} <= {v["id"] for v in result["violations"]}


def test_the_main_pages_meet_wcag_a_and_aa(
    platform: Platform, territory: Territory, browser: Browser
) -> None:
    web = platform.url("web")
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    offer = make_offer(platform, territory, capacity=10, starts=[start])
    hold = reserve(platform, offer, adults=2)
    assert hold.status_code == 201, hold.text
    held = hold.json()
    cookies = _sessions(territory, offer.provider_id)
    scope = f"territory={territory.id}"
    pages: list[tuple[str, str | None]] = [
        (f"{web}/fr/?{scope}", None),
        (f"{web}/fr/activities/{offer.activity_id}", None),
        (f"{web}/fr/reservations/{held['id']}?token={held['visitor_token']}", None),
        (f"{web}/fr/embed/?provider={offer.provider_id}", None),
        (f"{web}/fr/widget?provider={offer.provider_id}", None),
        (f"{web}/fr/sign-in", None),
        (f"{web}/fr/portal/", cookies["provider"]),
        (f"{web}/fr/portal/slots/{offer.slot_id}", cookies["provider"]),
        (f"{web}/fr/portal/activities", cookies["provider"]),
        (f"{web}/fr/portal/activities/{offer.activity_id}", cookies["provider"]),
        (f"{web}/fr/portal/payouts", cookies["provider"]),
        (f"{web}/fr/portal/webhooks", cookies["provider"]),
        (f"{web}/fr/portal/export", cookies["provider"]),
        (f"{web}/fr/office/", cookies["office"]),
        (f"{web}/fr/office/providers", cookies["office"]),
        (f"{web}/fr/office/catalogue", cookies["office"]),
        (f"{web}/fr/office/activities/{offer.activity_id}", cookies["office"]),
        (f"{web}/fr/office/follow-up", cookies["office"]),
    ]
    problems = [p for url, cookie in pages for p in _violations(browser, url, cookie, web)]
    assert not problems, "accessibility violations:\n" + "\n".join(problems)
