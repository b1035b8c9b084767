"""The booking widget on another site, in a real browser (Debian's Chromium) against the
real platform: a provider's own page, served from another origin, holds the one script
tag; the visitor books and pays inside the frame and reads the ticket there, without the
page around it ever changing, and without any cookie."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Frame, Page, expect

from comptoir_ops.platform import Platform
from tests.e2e.conftest import (
    Offer,
    Territory,
    make_offer,
    reservation_of,
    slot_availability,
    wait_for,
)
from tests.e2e.web_support import (  # noqa: F401 - the fixtures "browser" and "page"
    browser_page,
    chromium_browser,
    screenshots,
)

pytestmark = pytest.mark.e2e

HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Kayak Embrun</title>
<style>body {{ font-family: Georgia, serif; max-width: 60rem; margin: 0 auto;
padding: 1rem; background: #fbf7ef; }} header {{ border-bottom: 3px solid #c0392b; }}</style>
</head>
<body>
<header><h1>Kayak Embrun</h1><p>Guided tours on the lake since 1998.</p></header>
<h2>Book a tour</h2>
<script src="{web}/widget.js" data-provider="{provider}" async></script>
<footer><p>Kayak Embrun, quai du lac, Embrun.</p></footer>
</body>
</html>
"""


@pytest.fixture
def host_site(platform: Platform, territory: Territory) -> Iterator[tuple[str, Offer]]:
    """A provider's own site on another origin (and another site: ``localhost``, where
    the platform is ``127.0.0.1``), with the widget's one script tag; and the provider's
    offer."""
    today = datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0)
    offer = make_offer(platform, territory, capacity=8, starts=[today + timedelta(days=4)])
    body = HOST_PAGE.format(web=platform.url("web"), provider=offer.provider_id).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/", offer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _heights(page: Page) -> tuple[float, float]:
    """The frame's height on the host page, and the height of the page it shows."""
    frame = page.locator("iframe").evaluate("f => f.getBoundingClientRect().height")
    content = page.frames[1].evaluate(
        "() => document.documentElement.getBoundingClientRect().height"
    )
    return float(frame), float(content)


def _fitted(page: Page) -> None:
    """Wait until the frame is as tall as its page (widget.js follows its messages)."""
    wait_for(
        lambda: abs((h := _heights(page))[0] - h[1]) <= 2,
        f"the frame to fit its page {_heights(page)}",
    )


def _in_view(page: Page) -> None:
    """Before a screenshot: the frame fitted, and the window as tall as the page. A frame
    of another site is painted by a process of its own, only around what is in view, so
    a full-page screenshot of a shorter window would show the end of it blank."""
    _fitted(page)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": width, "height": height})
    _fitted(page)
    painted = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    page.frames[1].evaluate(painted)
    page.evaluate(painted)


def _frame(page: Page, path: str) -> Frame:
    """The widget's frame once it shows a page under ``path``."""
    return wait_for(
        lambda: next((f for f in page.frames if path in f.url), None),
        f"the widget's frame to show {path}",
    )


def test_a_visitor_books_and_pays_inside_the_widget_on_a_providers_site(
    platform: Platform, territory: Territory, page: Page, host_site: tuple[str, Offer]
) -> None:
    host_url, offer = host_site
    page.goto(host_url)
    widget = page.frame_locator("iframe[title='Book online']")

    # The provider's activities, in English like the page, inside the provider's page.
    expect(widget.get_by_role("heading", level=1)).to_have_text("Book online")
    expect(widget.get_by_role("link", name="Sunset kayak tour")).to_be_visible()
    expect(page.get_by_role("heading", name="Kayak Embrun")).to_be_visible()
    screenshots(page, "widget-list", lambda: _in_view(page))

    # Hold two seats.
    widget.get_by_role("link", name="Sunset kayak tour").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text("Sunset kayak tour")
    widget.locator(f"label[for='slot-{offer.slot_id}']").click()
    widget.get_by_label("Adult").fill("2")
    widget.get_by_label("Full name").fill("Jeanne Martin")
    widget.get_by_label("E-mail address").fill(f"jeanne-{uuid.uuid4().hex[:6]}@example.org")
    widget.get_by_role("button", name="Hold these seats").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text("Your seats are held")
    frame = _frame(page, "/embed/reservations/")
    reservation_id = re.findall(r"/reservations/([0-9a-f-]{36})", frame.url)[0]
    token = parse_qs(urlparse(frame.url).query)["token"][0]
    seats = slot_availability(platform, offer.slot_id)
    assert (seats["on_hold"], seats["remaining"]) == (2, 6)
    screenshots(page, "widget-hold", lambda: _in_view(page))

    # Pay in the frame (test mode), then the ticket shows there.
    widget.get_by_role("button", name=re.compile(r"Simulated payment \(test mode\)")).click()
    expect(widget.get_by_role("heading", level=1)).to_have_text("Booking confirmed")
    code = widget.locator("#ticket-code").inner_text()
    assert code == reservation_of(platform, reservation_id, token)["ticket_code"]
    seats = slot_availability(platform, offer.slot_id)
    assert (seats["on_hold"], seats["confirmed"], seats["remaining"]) == (0, 2, 6)

    # The visitor never left the provider's page, which grew the frame to its content,
    # and no cookie was needed (the platform is another site: its cookies would be
    # third-party ones here).
    assert page.url == host_url
    _fitted(page)
    assert _heights(page)[0] > 900  # grown from its first 640 px to the ticket's page
    assert not [c for c in page.context.cookies() if c["name"].startswith("cpt_r_")]
    screenshots(page, "widget-ticket", lambda: _in_view(page))

    # "My reservation" opens on the storefront itself, in a new tab.
    with page.context.expect_page() as opened:
        widget.get_by_role("link", name="Open my reservation in a new tab").click()
    mine = opened.value
    expect(mine.get_by_role("heading", level=1)).to_have_text("Booking confirmed")
    assert mine.url == f"{platform.url('web')}/en/reservations/{reservation_id}"
    expect(mine.locator("#ticket-code")).to_have_text(code)
    assert page.url == host_url
