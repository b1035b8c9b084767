"""Browser tests of the storefront: Debian's Chromium driven by Playwright, and the
screenshots they leave in ``docs/screenshots/`` at phone and desktop widths."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from comptoir_ops import infra
from tests.e2e.conftest import mails_to, wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
#: Pages wait on the platform's events (a payment confirming a hold): give them time.
expect.set_options(timeout=30_000)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module", name="browser")
def chromium_browser() -> Iterator[Browser]:
    """Chromium for one test module. Not longer: Playwright's synchronous API keeps an
    event loop running in this thread while it is started, and later tests call
    ``asyncio.run``."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=infra.chromium_path(), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(name="page")
def browser_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/Paris")
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshots(page: Page, name: str, settle: Callable[[], None] | None = None) -> None:
    """The page as it is now, at desktop then phone width (full length), then back;
    ``settle`` waits for what a new width changes (a frame's height) before each shot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        if settle is not None:
            settle()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def read_qr(page: Page, selector: str) -> str:
    """Decode the QR code drawn in ``selector``, as a phone camera at the door would."""
    png = page.locator(selector).screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found, "no QR code could be read on the page"
    return str(found[0].text)


def visitor_token(page: Page, reservation_id: str) -> str:
    """The visitor token the storefront keeps for this reservation (an HttpOnly cookie)."""
    name = "cpt_r_" + reservation_id.replace("-", "")
    for cookie in page.context.cookies():
        if cookie["name"] == name:
            return str(cookie["value"])
    raise AssertionError(f"no visitor token cookie for reservation {reservation_id}")


def sign_in(page: Page, web: str, email: str, territory: uuid.UUID | None = None) -> None:
    """Sign in for real, as a provider or the office would: ask for the link on the
    sign-in page (of ``territory`` when given), read the mail notifications sent to the
    mail catcher, open the link and press the button."""
    before = len(mails_to(email))
    page.goto(f"{web}/en/sign-in" + (f"?territory={territory}" if territory else ""))
    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_role("button", name="Send me the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    pattern = re.escape(web) + r"/en/sign-in/link\?t=[A-Za-z0-9._\-]+"

    def newest_link() -> str | None:
        messages = mails_to(email)
        for message in reversed(messages[before:]):
            part = message.get_body(preferencelist=("plain", "html"))
            found = re.search(pattern, part.get_content() if part is not None else "")
            if found:
                return found.group(0)
        return None

    page.goto(wait_for(newest_link, f"the sign-in mail to {email}"))
    page.get_by_role("button", name="Sign me in").click()
