"""The visitor's storefront in a real browser (Debian's Chromium, driven by Playwright)
against the real platform: search, book two seats, pay, read the ticket, change the date,
cancel and see the refund; a sold-out departure offers the waitlist."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from comptoir_ops.platform import Platform
from tests.e2e.conftest import (
    Territory,
    make_offer,
    reservation_of,
    reserve,
    slot_availability,
)
from tests.e2e.web_support import (  # noqa: F401 - the fixtures "browser" and "page"
    browser_page,
    chromium_browser,
    read_qr,
    screenshots,
    visitor_token,
)

pytestmark = pytest.mark.e2e


def _departures(days: list[int]) -> list[datetime]:
    """Departures at 16:00 UTC (18:00 in Paris in summer, 17:00 in winter)."""
    today = datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0)
    return [today + timedelta(days=d) for d in days]


def _pay(page: Page) -> None:
    """Press the test-mode payment button (payments' simulated path: stripe-mock's test
    card, then Stripe's signed webhook through the normal path)."""
    button = page.get_by_role("button", name=re.compile("Simulated payment \\(test mode\\)"))
    expect(button).to_be_visible()
    button.click()


def test_a_visitor_books_pays_reads_the_ticket_rebooks_and_cancels(
    platform: Platform, territory: Territory, page: Page
) -> None:
    web = platform.url("web")
    offer = make_offer(
        platform,
        territory,
        capacity=12,
        activity={"meeting_point": "Plage de la baie Saint-Michel, Chorges", "commune": "Chorges"},
        starts=_departures([3, 5]),
    )
    walk = territory.catalog.post(
        "/v1/activities",
        json={
            "provider_id": offer.provider_id,
            "title": {"fr": "Randonnée crépusculaire", "en": "Twilight hike"},
            "description": {"fr": "Voir la nuit tomber.", "en": "Watch night fall."},
            "category": "walk",
            "commune": "Rousset",
            "currency": "EUR",
            "units": [{"id": "adult", "price_cents": 2000}],
        },
    )
    assert walk.status_code == 201, walk.text
    first, second = offer.slot_ids

    # Search: every activity of the territory, then only those on the water.
    page.goto(f"{web}/en/?territory={territory.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Things to do in Serre-Ponçon")
    expect(page.get_by_role("link", name="Twilight hike")).to_be_visible()
    screenshots(page, "storefront-search")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.get_by_label("Category").select_option(label="On the water")
    page.get_by_label("Only with seats left").check()
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Activities found: 1")).to_be_visible()
    expect(page.get_by_role("link", name="Twilight hike")).to_have_count(0)

    # The activity: description, meeting point, departures with their real seats.
    page.get_by_role("link", name="Sunset kayak tour").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sunset kayak tour")
    expect(page.get_by_text("Plage de la baie Saint-Michel, Chorges")).to_be_visible()
    expect(page.locator(f"label[for='slot-{first}']")).to_contain_text("12 seat(s) left")
    screenshots(page, "storefront-activity")

    # Hold two adult seats.
    page.locator(f"label[for='slot-{first}']").click()
    page.get_by_label("Adult").fill("2")
    page.get_by_label("Full name").fill("Jeanne Martin")
    page.get_by_label("E-mail address").fill(f"jeanne-{uuid.uuid4().hex[:6]}@example.org")
    page.get_by_role("button", name="Hold these seats").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your seats are held")
    reservation_id = page.url.rstrip("/").rsplit("/", 1)[1]
    countdown = page.get_by_role("timer")
    expect(countdown).to_have_text(re.compile(r"^1[45]:\d\d$"))
    expect(page.locator(".summary")).to_contain_text("€70.00")
    seats = slot_availability(platform, first)
    assert (seats["on_hold"], seats["remaining"]) == (2, 10)
    expect(page.get_by_role("button", name=re.compile("Simulated payment"))).to_be_visible()
    screenshots(page, "storefront-hold")

    # Pay, then the confirmation page shows the e-ticket.
    _pay(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Booking confirmed")
    code = page.locator("#ticket-code").inner_text()
    token = visitor_token(page, reservation_id)
    assert code == reservation_of(platform, reservation_id, token)["ticket_code"]
    assert read_qr(page, ".ticket .qr") == code
    seats = slot_availability(platform, first)
    assert (seats["on_hold"], seats["confirmed"], seats["remaining"]) == (0, 2, 10)
    screenshots(page, "storefront-ticket")

    # Change the date: the seats move to the other departure.
    page.get_by_role("link", name="Change the date").click()
    page.locator(f"label[for='slot-{second}']").click()
    page.get_by_role("button", name="Move my reservation").click()
    expect(page.get_by_text("Your reservation has been moved.")).to_be_visible()
    assert slot_availability(platform, first)["remaining"] == 12
    assert slot_availability(platform, second)["confirmed"] == 2

    # Cancel under the policy (free until 24 hours before): the refund is shown first.
    page.get_by_role("link", name="Cancel the reservation").click()
    expect(page.locator("#refund-preview")).to_have_text(
        "If you cancel now, you will be refunded €70.00 (100%)."
    )
    screenshots(page, "storefront-cancel")
    page.get_by_role("button", name="Confirm the cancellation").click()
    expect(page.get_by_text("Your reservation is cancelled.")).to_be_visible()
    expect(page.locator("#refund")).to_contain_text("Refund: €70.00")
    screenshots(page, "storefront-cancelled")
    seats = slot_availability(platform, second)
    assert (seats["confirmed"], seats["remaining"]) == (0, 12)
    assert reservation_of(platform, reservation_id, token)["refund_cents"] == 7000


def test_a_sold_out_departure_offers_the_waitlist_in_french(
    platform: Platform, territory: Territory, page: Page
) -> None:
    web = platform.url("web")
    offer = make_offer(platform, territory, capacity=2, starts=_departures([6]))
    assert reserve(platform, offer, adults=2).status_code == 201
    assert slot_availability(platform, offer.slot_id)["status"] == "SOLD_OUT"

    page.goto(f"{web}/fr/activities/{offer.activity_id}")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    slot = page.locator("li.slot.sold_out")
    expect(slot).to_contain_text("Complet")
    slot.get_by_role("link", name="Liste d'attente").click()
    page.get_by_label("Adulte").fill("1")
    page.get_by_label("Nom et prénom").fill("Louis Girard")
    page.get_by_label("Adresse e-mail").fill("louis@example.org")
    page.get_by_role("button", name="M'inscrire sur la liste d'attente").click()
    expect(page.locator("#waitlist-position")).to_have_text(
        "Vous êtes n° 1 sur la liste d'attente."
    )
    screenshots(page, "storefront-waitlist")


def test_errors_are_pages_not_traces(platform: Platform, page: Page) -> None:
    web = platform.url("web")
    answer = page.goto(f"{web}/en/activities/{uuid.uuid4()}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    answer = page.goto(f"{web}/fr/reservations/{uuid.uuid4()}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Réservation inaccessible")
    assert "Traceback" not in page.content()
