"""The provider portal against in-memory services: what a provider sees and can do, and
what it may not see."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from portal_fakes import PROVIDER_A, PROVIDER_B, PortalFakes
from web_fakes import html_text, problem
from web_sessions import office_identity, provider_identity, sign_in

from comptoir_web import portal, portal_base
from comptoir_web.portal_views import (
    agenda_days,
    local_midnight,
    parse_euros,
    parse_local,
    period_window,
)


@pytest.fixture
def fake() -> PortalFakes:
    return PortalFakes()


def _key(page: str, action: str) -> str:
    """The Idempotency-Key of the form posting to ``action`` on ``page``."""
    form = page.split(f'action="{action}"', 1)[1]
    found = re.search(r'name="key" value="([^"]+)"', form)
    assert found, f"no key in the form to {action}"
    return found.group(1)


def _unfinished_account(fake: PortalFakes, **state: object) -> None:
    """Provider A's Stripe account, onboarding not finished (no charges nor payouts, past
    due), with ``state`` (``details_submitted``, ``requirements_due``...) on top."""
    fake.accounts[str(PROVIDER_A)] = {
        "provider_id": str(PROVIDER_A),
        "territory_id": "x",
        "account_id": "acct_1",
        "charges_enabled": False,
        "payouts_enabled": False,
        "details_submitted": False,
        "disabled_reason": "requirements.past_due",
        "requirements_due": [],
        **state,
    }


def _soon() -> timedelta:
    """A departure later today or early tomorrow (inside the check-in window)."""
    return timedelta(hours=3)


# --- access ---------------------------------------------------------------------------------


def test_an_unsigned_visitor_is_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/en/portal/")
    assert answer.status_code == 303
    where = urlsplit(answer.headers["location"])
    assert where.path == "/en/sign-in" and parse_qs(where.query)["next"] == ["/en/portal/"]


def test_office_staff_get_a_restricted_page_not_the_portal(client: TestClient) -> None:
    sign_in(client, office_identity())
    answer = client.get("/fr/portal/")
    assert answer.status_code == 403
    assert "réservée aux prestataires" in html_text(answer.text)


def test_a_provider_cannot_open_another_providers_departure(
    client: TestClient, fake: PortalFakes
) -> None:
    _, (theirs,) = fake.add_offer(PROVIDER_B, "Paddle", [_soon()])
    fake.add_booking(theirs, "Secret Visitor", "secret@example.org", [("adult", 2)])
    sign_in(client, provider_identity(PROVIDER_A))
    for path in (f"/en/portal/slots/{theirs}", f"/en/portal/slots/{theirs}/cancel"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "Page not found" in html_text(answer.text)
        assert "Secret Visitor" not in answer.text
    answer = client.post(f"/en/portal/slots/{theirs}/cancel", data={"note": "x"})
    assert answer.status_code == 404
    assert fake.slots[theirs]["status"] == "OPEN"
    assert not any(w[2].endswith("/cancel") for w in fake.writes)


# --- agenda ---------------------------------------------------------------------------------


def test_the_agenda_groups_departures_by_day_with_their_counts(
    client: TestClient, fake: PortalFakes
) -> None:
    now = datetime.now(UTC)
    # Two departures two days apart, and one of another provider that must not show.
    activity, (first, second) = fake.add_offer(
        PROVIDER_A, "Sunset kayak", [timedelta(days=1, hours=2), timedelta(days=3)], capacity=8
    )
    fake.add_offer(PROVIDER_B, "Someone else's tour", [timedelta(days=1)])
    fake.add_booking(first, "Jeanne Martin", "jeanne@example.org", [("adult", 2), ("child", 1)])
    fake.add_booking(first, "Louis Girard", "louis@example.org", [("adult", 1)], "REDEEMED")
    fake.add_booking(first, "Ana Holder", "ana@example.org", [("adult", 1)], "ON_HOLD")
    sign_in(client, provider_identity(PROVIDER_A))

    answer = client.get("/en/portal/")
    assert answer.status_code == 200
    text = html_text(answer.text)
    assert "Someone else's tour" not in text
    assert "Departures in this period: 2" in text
    # Today comes first and says it has nothing; then each day of a departure.
    headings = re.findall(r"<h2 id=\"day-([0-9-]+)\">", answer.text)
    assert len(headings) == len(set(headings)) >= 3
    assert headings == sorted(headings)
    assert "Today" in text and "No departure today." in text
    row = answer.text.split(f'data-slot="{first}"', 1)[1].split("</tr>", 1)[0]
    cells = [html_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
    # 4 seats sold of 8 (3 + 1 checked in), 1 checked in, 1 awaiting payment.
    assert cells[2:5] == ["4 / 8", "1", "1"]
    assert f'href="/en/portal/slots/{first}"' in row
    assert "bookings.csv?from=" in answer.text
    # The same departures by day, computed without the page.
    days = agenda_days(fake_agenda(fake, activity), now)
    assert days[0].is_today and [len(d.slots) for d in days[1:]] == [1, 1]
    assert days[1].seats_sold == 4 and second in days[2].slots[0]["slot_id"]


def fake_agenda(fake: PortalFakes, activity: dict[str, object]) -> list[dict[str, object]]:
    return [
        fake._agenda_row(k) for k, s in fake.slots.items() if s["activity_id"] == activity["id"]
    ]


def test_the_agenda_period_today_leaves_out_later_days(
    client: TestClient, fake: PortalFakes
) -> None:
    fake.add_offer(PROVIDER_A, "Far away", [timedelta(days=5)])
    sign_in(client, provider_identity(PROVIDER_A))
    text = html_text(client.get("/en/portal/?period=today").text)
    assert "Departures in this period: 0" in text
    text = html_text(client.get("/en/portal/?period=30d").text)
    assert "Departures in this period: 1" in text and "Far away" in text


# --- a departure: check-in ---------------------------------------------------------------------


def test_checking_a_visitor_in_then_again_says_when(client: TestClient, fake: PortalFakes) -> None:
    _, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [_soon()])
    booking = fake.add_booking(slot_id, "Jeanne Martin", "jeanne@example.org", [("adult", 2)])
    sign_in(client, provider_identity(PROVIDER_A))
    page = client.get(f"/en/portal/slots/{slot_id}")
    assert page.status_code == 200
    assert "Jeanne Martin" in page.text and "2 \u00d7 Adult" in html_text(page.text)
    action = f"/en/portal/slots/{slot_id}/check-in"
    key = _key(page.text, action)

    done = client.post(action, data={"code": booking["ticket_code"], "key": key})
    assert done.status_code == 200
    assert "Checked in: Jeanne Martin, 2 seat(s)." in html_text(done.text)
    assert fake.reservations[booking["id"]]["status"] == "REDEEMED"
    assert fake.writes[-1][4] == key
    assert "Checked in on" in html_text(done.text)

    again = client.post(action, data={"code": booking["ticket_code"].lower(), "key": key + "x"})
    assert again.status_code == 409
    alert = again.text.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert "Ticket already used: checked in on" in html_text(alert)


def test_a_ticket_outside_the_window_or_mistyped_is_refused_in_place(
    client: TestClient, fake: PortalFakes
) -> None:
    _, (later,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(days=4)])
    booking = fake.add_booking(later, "Louis Girard", "louis@example.org", [("adult", 1)])
    sign_in(client, provider_identity(PROVIDER_A))
    action = f"/en/portal/slots/{later}/check-in"
    closed = client.post(action, data={"code": booking["ticket_code"]})
    assert closed.status_code == 409
    assert "Check-in for this ticket is open from" in html_text(closed.text)
    assert fake.reservations[booking["id"]]["status"] == "CONFIRMED"
    wrong = client.post(action, data={"code": "NOT-A-TICKET"})
    assert wrong.status_code == 422
    assert "This ticket code is not valid" in html_text(wrong.text)
    assert 'value="NOT-A-TICKET"' in wrong.text
    empty = client.post(action, data={"code": "  "})
    assert empty.status_code == 422
    assert "Type or scan the ticket code." in html_text(empty.text)


# --- a departure: capacity, sales, cancellation ---------------------------------------------------


def test_the_capacity_form_changes_the_capacity_and_refuses_nonsense(
    client: TestClient, fake: PortalFakes
) -> None:
    _, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(days=2)], capacity=10)
    sign_in(client, provider_identity(PROVIDER_A))
    page = client.get(f"/fr/portal/slots/{slot_id}")
    action = f"/fr/portal/slots/{slot_id}/capacity"
    key = _key(page.text, action)
    done = client.post(action, data={"capacity": "14", "key": key})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/fr/portal/slots/{slot_id}?done=")
    assert fake.slots[slot_id]["capacity"] == 14
    assert fake.writes[-1][1:] == ("PATCH", f"/v1/slots/{slot_id}", {"capacity": 14}, key)
    shown = client.get(done.headers["location"])
    assert "Capacité changée : 14 places." in html_text(shown.text)
    assert 'value="14"' in shown.text

    bad = client.post(action, data={"capacity": "douze"})
    assert bad.status_code == 422
    assert "Indiquez un nombre entier de places, de 0 à 10000." in html_text(bad.text)
    assert fake.slots[slot_id]["capacity"] == 14

    closed = client.post(f"/fr/portal/slots/{slot_id}/sales", data={"status": "CLOSED"})
    assert closed.status_code == 303 and fake.slots[slot_id]["status"] == "CLOSED"
    assert "Rouvrir les ventes" in client.get(f"/fr/portal/slots/{slot_id}").text


def test_a_started_departure_refuses_changes_with_a_clear_message(
    client: TestClient, fake: PortalFakes
) -> None:
    _, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(minutes=-10)])
    sign_in(client, provider_identity(PROVIDER_A))
    answer = client.post(f"/en/portal/slots/{slot_id}/capacity", data={"capacity": "3"})
    assert answer.status_code == 409
    assert "This departure has started: it can no longer be changed." in html_text(answer.text)


def test_cancelling_a_departure_asks_first_then_says_what_happened(
    client: TestClient, fake: PortalFakes
) -> None:
    _, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(days=2)])
    a = fake.add_booking(slot_id, "Jeanne", "j@example.org", [("adult", 2)])
    b = fake.add_booking(slot_id, "Louis", "l@example.org", [("adult", 1), ("child", 1)])
    fake.add_booking(slot_id, "Ana", "a@example.org", [("adult", 1)], "ON_HOLD")
    sign_in(client, provider_identity(PROVIDER_A))

    confirm = client.get(f"/en/portal/slots/{slot_id}/cancel")
    assert confirm.status_code == 200
    preview = html_text(confirm.text.split('id="cancel-preview"', 1)[1].split("</div>", 1)[0])
    assert "2 visitor(s) (4 seat(s)) will be refunded in full, €125.00 in all" in preview
    assert "1 booking(s) awaiting payment will be released." in preview
    assert fake.slots[slot_id]["status"] == "OPEN"  # nothing happened yet

    action = f"/en/portal/slots/{slot_id}/cancel"
    key = _key(confirm.text, action)
    done = client.post(action, data={"note": "Storm over the lake", "key": key})
    assert done.status_code == 303
    assert fake.writes[-1][1:] == (
        "POST",
        f"/v1/slots/{slot_id}/cancel",
        {"note": "Storm over the lake"},
        key,
    )
    assert {fake.reservations[x["id"]]["status"] for x in (a, b)} == {"CANCELLED"}
    page = client.get(done.headers["location"])
    status = page.text.split('role="status"', 1)[1].split("</div>", 1)[0]
    assert "2 booking(s) cancelled and refunded in full (€125.00)" in html_text(status)
    assert "Cancel this departure" not in page.text

    again = client.post(action, data={"note": "", "key": key + "2"})
    assert again.status_code == 409
    assert "This departure is cancelled." in html_text(again.text)


# --- activities ---------------------------------------------------------------------------------


def test_editing_an_activity_parses_prices_in_euros(client: TestClient, fake: PortalFakes) -> None:
    activity, _ = fake.add_offer(PROVIDER_A, "Kayak", [])
    sign_in(client, provider_identity(PROVIDER_A))
    listing = client.get("/en/portal/activities")
    assert "Kayak" in listing.text and "Bookable" in html_text(listing.text)
    page = client.get(f"/en/portal/activities/{activity['id']}")
    assert 'value="35"' in page.text and 'value="20"' in page.text
    form = {
        "key": _key(page.text, f"/en/portal/activities/{activity['id']}"),
        "title_fr": "Kayak au crépuscule",
        "title_en": "Twilight kayak",
        "description_fr": "Deux heures.",
        "description_en": "Two hours.",
        "meeting_point": "Plage de Chorges",
        "what_to_bring": "",
        "price_adult": "12,5",
        "price_child": "9.05",
        "cutoff_minutes": "60",
    }
    done = client.post(f"/en/portal/activities/{activity['id']}", data=form)
    assert done.status_code == 303
    sent = fake.writes[-1][3]
    assert [u["price_cents"] for u in sent["units"]] == [1250, 905]
    assert sent["title"] == {"fr": "Kayak au crépuscule", "en": "Twilight kayak"}
    assert sent["what_to_bring"] is None and sent["cutoff_minutes"] == 60

    before = len(fake.writes)
    bad = client.post(
        f"/en/portal/activities/{activity['id']}", data=form | {"price_adult": "12,5x"}
    )
    assert bad.status_code == 422
    assert len(fake.writes) == before  # nothing sent
    field = bad.text.split('id="price_adult"', 1)[1].split("</div>", 1)[0]
    assert 'aria-invalid="true"' in bad.text.split('id="price_adult"', 1)[1].split(">", 1)[0]
    assert "Enter a price in euros, like 12 or 12.50." in html_text(field)
    assert 'value="12,5x"' in bad.text


def test_a_refused_edit_shows_the_services_errors_next_to_the_fields(
    client: TestClient, fake: PortalFakes
) -> None:
    activity, _ = fake.add_offer(PROVIDER_A, "Kayak", [])
    fake.refuse_activity = problem(
        422,
        "validation",
        "With these changes the activity would not be valid; see errors for each field.",
        errors=[
            {"location": ["body", "title", "en"], "message": "x", "type": "string_too_long"},
            {"location": ["body", "units", 1, "price_cents"], "message": "no", "type": "x"},
        ],
    )
    sign_in(client, provider_identity(PROVIDER_A))
    form = {
        "title_fr": "Kayak",
        "title_en": "Kayak",
        "description_fr": "D",
        "description_en": "D",
        "price_adult": "35",
        "price_child": "20",
        "cutoff_minutes": "0",
    }
    answer = client.post(f"/fr/portal/activities/{activity['id']}", data=form)
    assert answer.status_code == 422
    after_title = answer.text.split('id="title_en"', 1)[1].split("</div>", 1)[0]
    assert "Texte trop long." in html_text(after_title)
    after_child = answer.text.split('id="price_child"', 1)[1].split("</div>", 1)[0]
    assert "Le service a refusé cette demande." in html_text(after_child)


def test_another_providers_activity_is_not_found(client: TestClient, fake: PortalFakes) -> None:
    theirs, _ = fake.add_offer(PROVIDER_B, "Theirs", [])
    sign_in(client, provider_identity(PROVIDER_A))
    assert client.get(f"/en/portal/activities/{theirs['id']}").status_code == 404
    assert client.post(f"/en/portal/activities/{theirs['id']}", data={}).status_code == 404
    assert "Theirs" not in client.get("/en/portal/activities").text


def test_adding_departures_in_local_time(client: TestClient, fake: PortalFakes) -> None:
    activity, _ = fake.add_offer(PROVIDER_A, "Kayak", [])
    sign_in(client, provider_identity(PROVIDER_A))
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    answer = client.post(
        f"/en/portal/activities/{activity['id']}/slots",
        data={
            "date": day.isoformat(),
            "time": "18:30",
            "duration": "90",
            "capacity": "12",
            "repeat": "3",
            "key": str(uuid.uuid4()),
        },
    )
    assert answer.status_code == 303
    assert "Departures added: 3." in html_text(client.get(answer.headers["location"]).text)
    sent = [w[3] for w in fake.writes if w[2].endswith("/slots")]
    assert len(sent) == 3
    expected = parse_local(day.isoformat(), "18:30", "Europe/Paris")
    assert datetime.fromisoformat(sent[0]["start"]) == expected
    assert sent[0]["duration_minutes"] == 90 and sent[0]["capacity"] == 12
    assert len({w[4] for w in fake.writes if w[2].endswith("/slots")}) == 3

    bad = client.post(
        f"/en/portal/activities/{activity['id']}/slots",
        data={"date": "2020-01-01", "time": "10:00", "duration": "2", "capacity": "0"},
    )
    assert bad.status_code == 422
    text = html_text(bad.text)
    assert "This departure would be in the past." in text
    assert "Enter a whole number from 5 to 1440." in text


# --- payouts and webhooks ---------------------------------------------------------------------


def test_payouts_show_the_account_and_the_dashboard_waits_for_onboarding(
    client: TestClient, fake: PortalFakes
) -> None:
    _unfinished_account(fake, details_submitted=False, requirements_due=["external_account"])
    fake.payouts[str(PROVIDER_A)] = [
        {
            "payout_id": "po_1",
            "provider_id": str(PROVIDER_A),
            "amount_cents": 12345,
            "currency": "EUR",
            "status": "PAID",
            "arrival_date": "2026-06-02T00:00:00+00:00",
            "failure_reason": None,
        }
    ]
    sign_in(client, provider_identity(PROVIDER_A))
    page = html_text(client.get("/en/portal/payouts").text)
    assert "The bank account that receives payouts" in page
    assert "€123.45" in page and "Paid" in page
    refused = client.get("/en/portal/payouts/dashboard")
    assert refused.status_code == 409
    assert "Your Stripe sign-up is not finished" in html_text(refused.text)
    fake.accounts[str(PROVIDER_A)]["details_submitted"] = True
    off = client.get("/en/portal/payouts/dashboard")
    assert off.status_code == 303
    assert off.headers["location"].startswith("https://connect.stripe.com/express/")


def test_webhooks_show_the_secret_once_and_replay_a_dead_delivery(
    client: TestClient, fake: PortalFakes
) -> None:
    sign_in(client, provider_identity(PROVIDER_A))
    page = client.get("/en/portal/webhooks")
    created = client.post(
        "/en/portal/webhooks",
        data={
            "url": "https://erp.example.org/hooks",
            "events": ["booking.confirmed.v1", "booking.cancelled.v1"],
            "key": _key(page.text, "/en/portal/webhooks"),
        },
    )
    assert created.status_code == 200
    assert "whsec_Zmlyc3Q=" in created.text
    assert "Copy it now: it will not be shown again." in html_text(created.text)
    assert "whsec_" not in client.get("/en/portal/webhooks").text
    (endpoint_id,) = fake.endpoints

    rotated = client.post(f"/en/portal/webhooks/{endpoint_id}/rotate", data={})
    assert "whsec_bmV3" in rotated.text

    dead = fake.add_delivery(endpoint_id)
    log = client.get(f"/en/portal/webhooks/{endpoint_id}")
    assert "Given up" in html_text(log.text) and "500" in html_text(log.text)
    replay = client.post(f"/en/portal/webhooks/{endpoint_id}/deliveries/{dead['id']}/replay")
    assert replay.status_code == 303
    assert fake.deliveries[dead["id"]]["status"] == "PENDING"
    again = client.post(f"/en/portal/webhooks/{endpoint_id}/deliveries/{dead['id']}/replay")
    assert again.status_code == 409
    assert "This delivery is already queued." in html_text(again.text)

    refused = client.post(
        "/en/portal/webhooks", data={"url": "http://localhost/x", "events": ["nope"]}
    )
    assert refused.status_code == 422
    assert "Choose at least one event." in html_text(refused.text)
    disabled = client.post(f"/en/portal/webhooks/{endpoint_id}/disable")
    assert disabled.status_code == 303 and not fake.endpoints[endpoint_id]["enabled"]


def test_another_providers_webhook_log_is_not_found(client: TestClient, fake: PortalFakes) -> None:
    sign_in(client, provider_identity(PROVIDER_B))
    client.post(
        "/en/portal/webhooks",
        data={"url": "https://b.example.org/h", "events": ["booking.confirmed.v1"]},
    )
    (endpoint_id,) = fake.endpoints
    sign_in(client, provider_identity(PROVIDER_A))
    assert client.get(f"/en/portal/webhooks/{endpoint_id}").status_code == 404
    assert client.post(f"/en/portal/webhooks/{endpoint_id}/disable").status_code == 404
    assert fake.endpoints[endpoint_id]["enabled"]


# --- the export -------------------------------------------------------------------------------


def test_the_csv_export_is_excel_ready_and_formula_safe(
    client: TestClient, fake: PortalFakes
) -> None:
    _, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(days=2)])
    _, (other_slot,) = fake.add_offer(PROVIDER_B, "Theirs", [timedelta(days=2)])
    fake.add_booking(slot_id, '=HYPERLINK("http://evil")', "x@example.org", [("adult", 2)])
    fake.add_booking(
        slot_id, 'Zoé "la" Martin, fille', "zoe@example.org", [("adult", 2), ("child", 1)]
    )
    fake.add_booking(other_slot, "Not mine", "no@example.org", [("adult", 1)])
    sign_in(client, provider_identity(PROVIDER_A))
    answer = client.get("/en/portal/bookings.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="bookings-')
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Booking",
        "Activity",
        "Departure",
        "Status",
        "Visitor",
        "E-mail",
        "Tickets",
        "Seats",
        "Total",
        "Currency",
        "Checked in at",
    ]
    by_name = {r[4]: r for r in rows[1:]}
    assert set(by_name) == {'\'=HYPERLINK("http://evil")', 'Zoé "la" Martin, fille'}
    zoe = by_name['Zoé "la" Martin, fille']
    assert zoe[6] == "2 adult + 1 child" and zoe[7] == "3" and zoe[8] == "90.00"
    assert zoe[9] == "EUR" and zoe[3] == "Confirmed" and zoe[10] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d\+0[12]:00", zoe[2])

    bad = client.get("/en/portal/bookings.csv?from=2026-05-01&to=2026-04-01")
    assert bad.status_code == 422
    assert "Choose a valid period" in html_text(bad.text)


# --- pure helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("12", 1200), ("12.5", 1250), ("12,50", 1250), ("0,05", 5), ("1 200", 120000), ("9€", 900)],
)
def test_prices_typed_in_euros(typed: str, cents: int) -> None:
    assert parse_euros(typed) == cents


@pytest.mark.parametrize("typed", ["12,5x", "", "-3", "12.345", "1e3", "12,", "douze"])
def test_prices_that_are_not_prices(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_euros(typed)


def test_local_times_across_clock_changes() -> None:
    assert parse_local("2026-07-01", "18:00").isoformat() == "2026-07-01T16:00:00+00:00"
    assert parse_local("2026-01-15", "18:00").isoformat() == "2026-01-15T17:00:00+00:00"
    with pytest.raises(ValueError):
        parse_local("2026-03-29", "02:30")  # the spring change skips it
    assert parse_local("2026-10-25", "02:30").isoformat() == "2026-10-25T00:30:00+00:00"
    with pytest.raises(ValueError):
        parse_local("0001-01-01", "00:30", "Indian/Reunion")  # before the first UTC instant


@pytest.mark.parametrize(
    "period", ["from=9999-12-31", "from=0001-01-01&to=0001-01-02", "from=2026-07-01&to=9999-12-31"]
)
def test_an_export_period_off_the_calendar_is_explained_not_a_crash(
    client: TestClient, period: str
) -> None:
    sign_in(client, provider_identity(PROVIDER_A))
    answer = client.get(f"/en/portal/bookings.csv?{period}")
    assert answer.status_code == 422
    assert "Choose a valid period" in html_text(answer.text)


def test_a_service_down_is_a_page_not_a_trace(client: TestClient, fake: PortalFakes) -> None:
    sign_in(client, provider_identity(PROVIDER_A))
    fake.down.add("booking")
    answer = client.get("/en/portal/")
    assert answer.status_code == 503
    assert "Traceback" not in answer.text


# --- time zones: the territory's days, each activity's hours ----------------------------------

REUNION = "Indian/Reunion"


def test_the_agenda_and_the_export_follow_the_territory_and_activity_time_zones(
    client: TestClient, fake: PortalFakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 21:00 UTC on 1 July: already 2 July (01:00) on Réunion, still 1 July (23:00) in Paris.
    now = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
    monkeypatch.setattr(portal, "_now", lambda: now)
    fake.territory_timezone = REUNION
    activity, (morning, night) = fake.add_offer(
        PROVIDER_A, "Lagoon snorkel", [timedelta(days=1), timedelta(days=1)]
    )
    activity["timezone"] = REUNION
    # 09:00 and 00:30 on 2 July, Réunion time (07:00 and 22:30 the day before in Paris).
    fake.slots[morning]["start"] = datetime(2026, 7, 2, 5, 0, tzinfo=UTC)
    fake.slots[night]["start"] = datetime(2026, 7, 1, 20, 30, tzinfo=UTC)
    fake.add_booking(morning, "Jeanne Martin", "j@example.org", [("adult", 1)])
    fake.add_booking(night, "Louis Girard", "l@example.org", [("adult", 1)])
    sign_in(client, provider_identity(PROVIDER_A))

    answer = client.get("/en/portal/?period=today")
    text = html_text(answer.text)
    assert "Departures in this period: 2" in text
    assert re.findall(r'<h2 id="day-([0-9-]+)"', answer.text) == ["2026-07-02"]
    times = {
        slot_id: html_text(answer.text.split(f'data-slot="{slot_id}"', 1)[1].split("</th>")[0])
        for slot_id in (morning, night)
    }
    assert times == {morning: "> 9:00 AM", night: "> 12:30 AM"}
    assert "bookings.csv?from=2026-07-02&amp;to=2026-07-02" in answer.text

    assert 'value="2026-07-02"' in client.get("/en/portal/export").text
    export = client.get("/en/portal/bookings.csv?from=2026-07-02&to=2026-07-02")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))[1:]
    assert [r[2] for r in rows] == ["2026-07-02T00:30+04:00", "2026-07-02T09:00+04:00"]


def test_a_period_starts_at_the_territorys_midnight() -> None:
    now = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
    assert period_window("today", now, REUNION) == (
        datetime(2026, 7, 1, 20, 0, tzinfo=UTC),
        datetime(2026, 7, 2, 20, 0, tzinfo=UTC),
    )
    assert local_midnight(date(2026, 7, 2), REUNION) == datetime(2026, 7, 1, 20, tzinfo=UTC)


# --- success messages: only what happened ---------------------------------------------------


def test_a_crafted_address_shows_no_success_message(client: TestClient, fake: PortalFakes) -> None:
    activity, (slot_id, other_id) = fake.add_offer(
        PROVIDER_A, "Kayak", [timedelta(days=2), timedelta(days=3)]
    )
    fake.add_booking(slot_id, "Jeanne", "j@example.org", [("adult", 2)])
    sign_in(client, provider_identity(PROVIDER_A))
    base = f"/fr/portal/slots/{slot_id}"
    for query in (
        "done=cancelled&n=42&refunds=9999900",
        "done=capacity",
        "done=closed",
        "done=opened",
        "done=not-a-token",
    ):
        page = client.get(f"{base}?{query}")
        assert page.status_code == 200
        assert 'id="done"' not in page.text, query
        assert "99 999" not in html_text(page.text)
    for path, words in (
        (f"/fr/portal/activities/{activity['id']}?done=saved", "Activité enregistrée"),
        (f"/fr/portal/activities/{activity['id']}?done=slots&n=99", "Départs ajoutés"),
        ("/fr/portal/webhooks?done=disabled", "Adresse désactivée"),
    ):
        assert words not in html_text(client.get(path).text), path

    # A real outcome is for its own departure, and only while the departure says so.
    closed = client.post(f"{base}/sales", data={"status": "CLOSED"})
    token = closed.headers["location"].split("?", 1)[1]
    assert "Ventes fermées pour ce départ." in html_text(
        client.get(closed.headers["location"]).text
    )
    assert 'id="done"' not in client.get(f"/fr/portal/slots/{other_id}?{token}").text
    client.post(f"{base}/sales", data={"status": "OPEN"})
    assert 'id="done"' not in client.get(closed.headers["location"]).text
    # Another provider's outcome token shows nothing either.
    sign_in(client, provider_identity(PROVIDER_B))
    assert client.get(closed.headers["location"]).status_code == 404


def test_the_cancellation_message_counts_the_cancelled_bookings_not_the_address(
    client: TestClient, fake: PortalFakes
) -> None:
    _, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(days=2)])
    fake.add_booking(slot_id, "Jeanne", "j@example.org", [("adult", 1)])
    fake.add_booking(slot_id, "Ana", "a@example.org", [("adult", 1)], "ON_HOLD")
    sign_in(client, provider_identity(PROVIDER_A))
    done = client.post(f"/en/portal/slots/{slot_id}/cancel", data={"note": ""})
    location = done.headers["location"] + "&n=42&refunds=9999900"
    status = client.get(location).text.split('id="done"', 1)[1].split("</div>", 1)[0]
    assert "1 booking(s) cancelled and refunded in full (€35.00)" in html_text(status)


# --- the language switch on pages answering a form -------------------------------------------


def _switch(page: str) -> str:
    found = re.search(r'<a href="([^"]+)" hreflang="(?:en|fr)"', page)
    assert found, "no language switch"
    return found.group(1)


def test_the_language_switch_of_a_page_answering_a_form_leads_to_a_page(
    client: TestClient, fake: PortalFakes
) -> None:
    activity, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [_soon()])
    booking = fake.add_booking(slot_id, "Jeanne", "j@example.org", [("adult", 1)])
    sign_in(client, provider_identity(PROVIDER_A))
    slot = f"/portal/slots/{slot_id}"
    act = f"/portal/activities/{activity['id']}"
    answers = {
        "check-in": (
            client.post(f"/fr{slot}/check-in", data={"code": booking["ticket_code"]}),
            slot,
        ),
        "check-in refused": (client.post(f"/fr{slot}/check-in", data={"code": "NOPE"}), slot),
        "capacity refused": (client.post(f"/fr{slot}/capacity", data={"capacity": "x"}), slot),
        "cancel refused": (
            client.post(f"/fr{slot}/cancel", data={"note": "x" * 501}),
            f"{slot}/cancel",
        ),
        "edit refused": (client.post(f"/fr{act}", data={"title_fr": ""}), act),
        "departures refused": (client.post(f"/fr{act}/slots", data={"date": "x"}), act),
        "webhook added": (
            client.post(
                "/fr/portal/webhooks",
                data={"url": "https://erp.example.org/h", "events": ["booking.confirmed.v1"]},
            ),
            "/portal/webhooks",
        ),
    }
    (endpoint_id,) = fake.endpoints
    answers["secret rotated"] = (
        client.post(f"/fr/portal/webhooks/{endpoint_id}/rotate", data={}),
        "/portal/webhooks",
    )
    pending = fake.add_delivery(endpoint_id, "PENDING")
    answers["replay refused"] = (
        client.post(f"/fr/portal/webhooks/{endpoint_id}/deliveries/{pending['id']}/replay"),
        f"/portal/webhooks/{endpoint_id}",
    )
    for what, (answer, address) in answers.items():
        assert answer.status_code in (200, 409, 422), what
        assert _switch(answer.text) == f"/en{address}", what
        assert client.get(_switch(answer.text)).status_code == 200, what
    # A page got by GET keeps its address and query.
    assert _switch(client.get("/fr/portal/?period=30d").text).endswith("?period=30d")


# --- the export's pages ---------------------------------------------------------------------


def test_a_booking_made_while_the_export_pages_is_not_counted_twice(
    client: TestClient, fake: PortalFakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal_base, "RESERVATIONS_PAGE", 2)
    _, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(days=2)])
    for name in ("Ana", "Bea", "Cyd"):
        fake.add_booking(slot_id, name, f"{name}@example.org", [("adult", 1)])
    booked: list[str] = []

    def someone_books() -> None:
        # After the first page: a new booking comes first and shifts the list by one.
        if not booked:
            booked.append(fake.add_booking(slot_id, "Dan", "d@example.org", [("adult", 1)])["id"])

    fake.after_reservations_page = someone_books
    sign_in(client, provider_identity(PROVIDER_A))
    export = client.get("/en/portal/bookings.csv")
    ids = [r[0] for r in list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))[1:]]
    assert len(ids) == len(set(ids)) == 3
    assert sorted(
        r[4] for r in csv.reader(io.StringIO(export.content.decode("utf-8-sig"))) if r[0] in ids
    ) == ["Ana", "Bea", "Cyd"]


def test_the_french_export_uses_semicolons_and_decimal_commas(
    client: TestClient, fake: PortalFakes
) -> None:
    _, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(days=2)])
    fake.add_booking(slot_id, "=1+1", "x@example.org", [("adult", 1), ("child", 1)])
    sign_in(client, provider_identity(PROVIDER_A))
    answer = client.get("/fr/portal/bookings.csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")
    assert "filename*=UTF-8''reservations-" in answer.headers["content-disposition"]
    header, row = csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";")
    assert header[:3] == ["Réservation", "Activité", "Départ"]
    assert row[4] == "'=1+1" and row[6] == "1 adulte + 1 enfant"
    assert row[7] == "2" and row[8] == "55,00" and row[3] == "Confirmée"


# --- Stripe's codes and catalog's reasons, in words -------------------------------------------


def test_stripe_codes_are_shown_in_words_and_unknown_ones_marked_english(
    client: TestClient, fake: PortalFakes
) -> None:
    _unfinished_account(
        fake,
        details_submitted=True,
        requirements_due=[
            "external_account",
            "individual.verification.document",
            "representative.address.city",
            "tos_acceptance.date",
            "brand_new.requirement",
        ],
    )
    payout = {"provider_id": str(PROVIDER_A), "amount_cents": 5000, "currency": "EUR"}
    fake.payouts[str(PROVIDER_A)] = [
        payout
        | {"payout_id": "po_1", "status": "FAILED", "arrival_date": None}
        | {"failure_reason": "account_closed"},
        payout
        | {"payout_id": "po_2", "status": "FAILED", "arrival_date": None}
        | {"failure_reason": "brand_new_failure"},
    ]
    sign_in(client, provider_identity(PROVIDER_A))
    page = client.get("/fr/portal/payouts").text
    text = html_text(page)
    for words in (
        "Le compte bancaire qui reçoit les virements",
        "Une pièce d'identité",
        "Des informations sur le représentant légal",
        "L'acceptation des conditions d'utilisation de Stripe",
        "Une autre information ( brand_new.requirement )",
        "des informations demandées par Stripe n'ont pas été envoyées à temps",
        "Motif : le compte bancaire est clôturé.",
        "Motif : la banque ou Stripe a refusé le virement ( brand_new_failure ).",
    ):
        assert words in text, words
    for code in ("external_account", "requirements.past_due", "account_closed"):
        assert code not in page, code
    assert '<code lang="en">brand_new.requirement</code>' in page
    assert '<code lang="en">brand_new_failure</code>' in page


def test_catalogs_reasons_are_translated_or_marked_english(
    client: TestClient, fake: PortalFakes
) -> None:
    known, _ = fake.add_offer(PROVIDER_A, "Kayak", [])
    other, _ = fake.add_offer(PROVIDER_A, "Paddle", [])
    known["bookable"] = other["bookable"] = False
    known["not_bookable_reason"] = (
        "Stripe does not let the provider take card payments at the moment "
        "(requirements.past_due). Stripe still needs: external_account, x.y and 3 more."
    )
    other["not_bookable_reason"] = "Paused by the office for the winter."
    sign_in(client, provider_identity(PROVIDER_A))
    for path in ("/fr/portal/activities", f"/fr/portal/activities/{known['id']}"):
        page = client.get(path).text
        assert (
            "Stripe ne permet pas au prestataire d'encaisser des paiements par carte pour le "
            "moment (des informations demandées par Stripe n'ont pas été envoyées à temps). "
            "Stripe attend encore : le compte bancaire qui reçoit les virements, une autre "
            "information ( x.y ) et 3 autre(s)."
        ) in html_text(page), path
    listing = client.get("/fr/portal/activities").text
    assert '<span lang="en">Paused by the office for the winter.</span>' in listing
    english = html_text(client.get(f"/en/portal/activities/{known['id']}").text)
    assert "Stripe still needs: the bank account that receives payouts" in english


# --- forms: errors tied to their fields --------------------------------------------------------


def _tag(page: str, element_id: str) -> str:
    found = re.search(rf'<(?:input|textarea)[^>]*\bid="{element_id}"[^>]*>', page)
    assert found, element_id
    return found.group(0)


def test_field_errors_are_tied_to_their_fields_only(client: TestClient, fake: PortalFakes) -> None:
    activity, (slot_id,) = fake.add_offer(PROVIDER_A, "Kayak", [timedelta(days=2)])
    sign_in(client, provider_identity(PROVIDER_A))

    bad = client.post(f"/en/portal/slots/{slot_id}/capacity", data={"capacity": "x"}).text
    assert 'aria-invalid="true"' in _tag(bad, "capacity")
    assert 'aria-describedby="capacity-hint capacity-error"' in _tag(bad, "capacity")
    assert 'id="capacity-error"' in bad
    assert "aria-invalid" not in _tag(bad, "code")

    bad = client.post(f"/en/portal/slots/{slot_id}/check-in", data={"code": "NOPE"}).text
    assert 'aria-describedby="code-hint checkin-result"' in _tag(bad, "code")
    assert 'id="checkin-result"' in bad and "aria-invalid" not in _tag(bad, "capacity")

    bad = client.post(f"/en/portal/slots/{slot_id}/cancel", data={"note": "x" * 501}).text
    assert 'aria-describedby="note-hint note-error"' in _tag(bad, "note")
    assert 'aria-invalid="true"' in _tag(bad, "note") and 'id="note-error"' in bad

    form = {"date": "2099-01-01", "time": "10:00", "duration": "2", "capacity": "3"}
    bad = client.post(f"/en/portal/activities/{activity['id']}/slots", data=form | {"repeat": "1"})
    assert bad.status_code == 422
    assert 'aria-describedby="duration-error"' in _tag(bad.text, "duration")
    assert [
        i
        for i in ("date", "time", "slot_capacity", "repeat", "cutoff_minutes")
        if "aria-invalid" in _tag(bad.text, i)
    ] == []
    assert 'aria-describedby="cutoff-hint"' in _tag(bad.text, "cutoff_minutes")

    bad = client.get("/en/portal/bookings.csv?from=2026-05-01&to=2026-04-01").text
    for field in ("from", "to"):
        assert 'aria-describedby="period-error"' in _tag(bad, field)
    assert 'id="period-error"' in bad
