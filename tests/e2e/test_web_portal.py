"""The provider portal in a real browser against the real platform: the provider signs in
with the link e-mailed to it, sees its departure with the seats sold, checks a visitor in
at the door, then cancels the departure (weather) and everyone left is refunded and told."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from comptoir_ops import stripe_sim
from comptoir_ops.platform import Platform
from comptoir_ops.tokens import office_token
from tests.e2e.conftest import (
    Offer,
    Territory,
    mails_to,
    make_offer,
    reservation_of,
    send_webhook,
    wait_for,
    wait_payment,
)
from tests.e2e.web_support import (  # noqa: F401 - the fixtures "browser" and "page"
    DESKTOP,
    PHONE,
    browser_page,
    chromium_browser,
    screenshots,
    sign_in,
)

pytestmark = pytest.mark.e2e


def _paid(
    platform: Platform, t: Territory, offer: Offer, name: str, units: list[dict[str, Any]]
) -> dict[str, Any]:
    """A visitor's reservation, paid (Stripe's webhook played by the test)."""
    email = f"visitor-{uuid.uuid4().hex[:8]}@example.org"
    created = httpx.post(
        platform.url("booking") + "/v1/reservations",
        json={
            "slot_id": offer.slot_id,
            "units": units,
            "visitor": {"name": name, "email": email, "locale": "fr"},
        },
        timeout=15,
    )
    assert created.status_code == 201, created.text
    hold: dict[str, Any] = created.json() | {"email": email}
    payment = wait_payment(t, hold["id"])
    answer = send_webhook(
        platform,
        "payment_intent.succeeded",
        stripe_sim.payment_intent_object(payment, "succeeded"),
        payment["stripe_account_id"],
    )
    assert answer.status_code == 200, answer.text
    wait_for(
        lambda: (
            reservation_of(platform, hold["id"], hold["visitor_token"])["status"] == "CONFIRMED"
        ),
        "the payment to confirm the reservation",
    )
    return hold


def test_a_provider_signs_in_checks_a_visitor_in_and_cancels_the_departure(
    platform: Platform, territory: Territory, page: Page
) -> None:
    web = platform.url("web")
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    offer = make_offer(platform, territory, capacity=12, starts=[start])
    arriving = _paid(platform, territory, offer, "Jeanne Martin", [{"id": "adult", "quantity": 2}])
    staying_home = _paid(
        platform,
        territory,
        offer,
        "Louis Girard",
        [{"id": "adult", "quantity": 1}, {"id": "child", "quantity": 1}],
    )
    provider_token = office_token(
        role="provider",
        territory_id=territory.id,
        provider_id=uuid.UUID(offer.provider_id),
    )

    # Sign in for real, on the sign-in page of the test's territory (the storefront's own
    # territory is the demo's).
    sign_in(page, web, offer.provider_email, territory.id)

    # The agenda: the departure with its four seats sold of twelve.
    expect(page).to_have_url(f"{web}/en/portal/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Departures")
    row = page.locator(f"tr[data-slot='{offer.slot_id}']")
    expect(row).to_contain_text("Sunset kayak tour")
    expect(row.locator(".seats-sold")).to_have_text("4 / 12")
    expect(page.get_by_role("link", name="Agenda")).to_have_attribute("aria-current", "page")
    screenshots(page, "portal-agenda")
    # On a phone the rows read as cards; screen readers still get a table of rows and
    # columns (console.js gives back the roles a block layout takes away).
    page.set_viewport_size(PHONE)
    table = page.locator("table.board").filter(has=row)
    expect(table).to_have_attribute("role", "table")
    expect(row).to_have_attribute("role", "row")
    expect(table.get_by_role("columnheader", name="Seats sold")).to_have_count(1)
    expect(row.get_by_role("rowheader")).to_have_count(1)
    expect(row.get_by_role("cell")).to_have_count(5)
    page.set_viewport_size(DESKTOP)

    # The departure: check the first visitor in with the button on their row.
    row.get_by_role("link").first.click()
    expect(page.locator("#seats-sold")).to_have_text("4 / 12")
    page.get_by_role("button", name="Check in Jeanne Martin").click()
    expect(page.locator("#checkin-result")).to_contain_text("Checked in: Jeanne Martin, 2 seat(s).")
    expect(page.locator("#seats-checked-in")).to_have_text("2")
    # The language switch of the page answering the check-in leads to the departure.
    page.get_by_role("link", name="Français").click()
    expect(page).to_have_url(f"{web}/fr/portal/slots/{offer.slot_id}")
    expect(page.locator("#seats-checked-in")).to_have_text("2")
    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(f"{web}/en/portal/slots/{offer.slot_id}")
    checked = httpx.get(
        platform.url("booking") + f"/v1/reservations/{arriving['id']}",
        headers={"Authorization": f"Bearer {provider_token}"},
        timeout=15,
    ).json()
    assert checked["status"] == "REDEEMED" and checked["redeemed_at"]

    # Typing the same ticket again says it was already used, and when.
    page.get_by_label("Ticket code").fill(checked["ticket_code"])
    page.get_by_role("button", name="Check in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Ticket already used: checked in on")
    screenshots(page, "portal-slot")

    # Weather: cancel the departure. The confirmation says who will be refunded first.
    page.get_by_role("link", name="Cancel this departure").click()
    expect(page.locator("#cancel-preview")).to_contain_text(
        "1 visitor(s) (2 seat(s)) will be refunded in full, €55.00 in all"
    )
    page.get_by_label("Message to the visitors (optional)").fill("Storm forecast over the lake")
    page.get_by_role("button", name="Cancel the departure and refund").click()
    expect(page.get_by_role("status")).to_contain_text(
        "1 booking(s) cancelled and refunded in full (€55.00)"
    )

    cancelled = reservation_of(platform, staying_home["id"], staying_home["visitor_token"])
    assert (cancelled["status"], cancelled["status_reason"], cancelled["refund_cents"]) == (
        "CANCELLED",
        "SLOT_CANCELLED",
        5500,
    )
    wait_for(
        lambda: (
            reservation_of(platform, staying_home["id"], staying_home["visitor_token"])[
                "refund_status"
            ]
            == "SUCCEEDED"
        ),
        "payments to refund the visitor",
    )
    wait_for(
        lambda: any(
            str(m["Subject"]).startswith("Départ annulé") for m in mails_to(staying_home["email"])
        ),
        "the visitor's cancellation e-mail",
    )
    assert reservation_of(platform, arriving["id"], arriving["visitor_token"])["status"] == (
        "REDEEMED"
    )

    # The activities: the offer, bookable, with its edit form.
    page.get_by_role("link", name="Activities").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My activities")
    expect(page.get_by_text("Bookable", exact=True)).to_be_visible()
    screenshots(page, "portal-activities")
