"""The tourism office's console in a real browser against the real platform: visitors book
known seats, the office signs in with the link e-mailed to it, reads its observatory
(exactly what was booked), downloads it as CSV, and shares it with a link that opens
without signing in."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from comptoir_ops.platform import OFFICE_STAFF_EMAIL, Platform
from comptoir_ops.tokens import office_token
from comptoir_web.settings import DEMO_TERRITORY_ID
from tests.e2e.conftest import (
    Territory,
    _client,
    make_offer,
    reservation_of,
    reserve,
    wait_for,
    wait_payment,
)
from tests.e2e.web_support import (  # noqa: F401 - the fixtures "browser" and "page"
    DESKTOP,
    browser_page,
    chromium_browser,
    screenshots,
    sign_in,
)

pytestmark = pytest.mark.e2e

PARIS = ZoneInfo("Europe/Paris")
ADULT_CENTS = 3500  # make_offer's adult ticket


@pytest.fixture
def office_territory(platform: Platform) -> Territory:
    """The territory the storefront signs its office staff in for (its ``territory_id``,
    the demo's): the console shows that territory only."""
    token = office_token(role="admin", territory_id=DEMO_TERRITORY_ID, subject="e2e-office")
    catalog = _client(platform, "catalog", token)
    answer = catalog.put(
        f"/v1/territories/{DEMO_TERRITORY_ID}", json={"name": "Serre-Ponçon", "currency": "EUR"}
    )
    assert answer.status_code in (200, 201), answer.text
    return Territory(
        id=DEMO_TERRITORY_ID,
        admin=catalog,
        catalog=catalog,
        booking=_client(platform, "booking", token),
        payments=_client(platform, "payments", token),
        notifications=_client(platform, "notifications", token),
    )


def _paid(platform: Platform, t: Territory, slot_id: str, offer: Any, adults: int) -> Any:
    """A reservation of ``adults`` seats, paid through payments' simulated path."""
    created = reserve(platform, offer, adults=adults, slot_id=slot_id)
    assert created.status_code == 201, created.text
    hold = created.json()
    wait_payment(t, hold["id"])
    paid = httpx.post(
        platform.url("payments") + f"/v1/reservations/{hold['id']}/payment/simulate",
        headers={"Authorization": f"Bearer {hold['visitor_token']}"},
        timeout=15,
    )
    assert paid.status_code == 202, paid.text
    wait_for(
        lambda: (
            reservation_of(platform, hold["id"], hold["visitor_token"])["status"] == "CONFIRMED"
        ),
        "the reservation to be confirmed",
    )
    return hold


def _euros(cents: int) -> str:
    return f"€{cents / 100:,.2f}"


def _percent(sold: int, capacity: int) -> str:
    rate = round(sold / capacity, 4) if capacity else 0.0
    return f"{round(rate * 100, 1):g}%"


def test_the_office_reads_downloads_and_shares_its_observatory(
    platform: Platform, office_territory: Territory, page: Page, browser: Browser
) -> None:
    web = platform.url("web")
    t = office_territory
    start = (datetime.now(UTC) + timedelta(days=40)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    today, slot_day = datetime.now(PARIS).date(), start.astimezone(PARIS).date()
    period = {"from": today.isoformat(), "to": slot_day.isoformat()}
    # What the territory already had in this period (other tests may share it).
    before = t.booking.get(f"/v1/territories/{t.id}/observatory", params=period).json()
    report_before = t.payments.get(f"/v1/territories/{t.id}/report", params=period).json()
    money_before = next((m for m in report_before["totals"] if m["currency"] == "EUR"), {})

    # Visitors book: 3 seats of 10 kept, 2 more paid then cancelled (refunded in full).
    offer = make_offer(platform, t, capacity=10, starts=[start])
    _paid(platform, t, offer.slot_id, offer, 3)
    cancelled = _paid(platform, t, offer.slot_id, offer, 2)
    answer = httpx.post(
        platform.url("booking") + f"/v1/reservations/{cancelled['id']}/cancel",
        headers={
            "Authorization": f"Bearer {cancelled['visitor_token']}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=15,
    )
    assert answer.status_code == 200, answer.text

    def report_settled() -> dict[str, Any] | None:
        report = t.payments.get(f"/v1/territories/{t.id}/report", params=period).json()
        money = next((m for m in report["totals"] if m["currency"] == "EUR"), None)
        wanted = money_before.get("refunds", 0) + 1
        return money if money and money["refunds"] == wanted else None

    wait_for(report_settled, "payments to record the refund", timeout=60)
    totals = before["totals"]
    sold, capacity = totals["seats_sold"] + 3, totals["capacity"] + 10
    bookings = totals["bookings"] + 1
    revenue = totals["revenue_cents"] + 3 * ADULT_CENTS
    paid_to_providers = money_before.get("paid_to_providers_cents", 0) + 3 * ADULT_CENTS

    # The office signs in with the link it is e-mailed.
    sign_in(page, web, OFFICE_STAFF_EMAIL)
    expect(page).to_have_url(f"{web}/en/office/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Serre-Ponçon observatory")

    # The period from today to the departure: exactly what was booked.
    page.get_by_label("From").fill(period["from"])
    page.get_by_label("To (included)").fill(period["to"])
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#fig-fill-rate")).to_have_text(_percent(sold, capacity))
    expect(page.locator("#fig-seats")).to_have_text(f"{sold:,} / {capacity:,}")
    expect(page.locator("#fig-bookings")).to_have_text(f"{bookings:,}")
    expect(page.locator("#fig-cancelled")).to_have_text(str(totals["cancelled_reservations"] + 1))
    expect(page.locator("#fig-revenue")).to_have_text(_euros(revenue))
    expect(page.locator("#fig-paid")).to_have_text(_euros(paid_to_providers))
    expect(page.locator("#fee-rate")).to_have_text("The office takes no fee: 0% of each booking.")
    chart = page.get_by_role("img", name="Fill rate by week")
    expect(chart).to_be_visible()
    page.get_by_text("Show the table").first.click()
    iso = slot_day.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"  # the CSV's ISO week
    expect(page.get_by_role("row", name=re.compile(f"^W{iso.week} {iso.year} "))).to_be_visible()
    screenshots(page, "office-observatory")

    # The weekly table as CSV: the departure's week holds the same numbers.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download “Fill rate by week” as CSV").click()
    raw = download_info.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    # An English page's file: commas between cells, decimal points.
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=","))
    assert rows[0][:7] == [
        "ISO week",
        "Monday",
        "Departures",
        "Seats offered",
        "Seats sold",
        "Fill rate (%)",
        "Bookings",
    ]
    base = next((w for w in before["by_week"] if w["week"] == week), None) or {
        "slots": 0,
        "capacity": 0,
        "seats_sold": 0,
        "bookings": 0,
    }
    row = next(r for r in rows if r[0] == week)
    week_capacity, week_sold = base["capacity"] + 10, base["seats_sold"] + 3
    assert row[1] == date.fromisocalendar(*slot_day.isocalendar()[:2], 1).isoformat()
    assert [int(v) for v in row[2:5]] == [base["slots"] + 1, week_capacity, week_sold]
    assert float(row[5]) == pytest.approx(round(week_sold / week_capacity * 100, 2), abs=0.01)
    assert int(row[6]) == base["bookings"] + 1

    # Share it: the link opens in another browser, without signing in.
    page.get_by_role("button", name="Create the share link").click()
    expect(page.get_by_role("status").filter(has_text="Share link created")).to_be_visible()
    link = page.get_by_label("Link to send to providers").input_value()
    assert link.startswith(f"{web}/en/observatory/")

    # The providers, with the one just onboarded ready to take bookings.
    page.get_by_role("link", name="Providers", exact=True).click()
    expect(page.locator(f"#provider-{offer.provider_id}")).to_contain_text(
        "Ready: takes payments and receives payouts"
    )
    screenshots(page, "office-providers")

    stranger = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/Paris")
    try:
        shared = stranger.new_page()
        answer_page = shared.goto(link)
        assert answer_page is not None and answer_page.status == 200
        expect(shared.get_by_role("heading", level=1)).to_have_text("Serre-Ponçon observatory")
        expect(shared.locator("#fig-fill-rate")).to_have_text(_percent(sold, capacity))
        expect(shared.locator("#fig-seats")).to_have_text(f"{sold:,} / {capacity:,}")
        expect(shared.get_by_text("Paid to providers")).to_have_count(0)
        expect(shared.get_by_text("Kayak Embrun")).to_have_count(0)
        expect(shared.get_by_role("button", name="Sign out")).to_have_count(0)
        screenshots(shared, "observatory-shared")
    finally:
        stranger.close()
