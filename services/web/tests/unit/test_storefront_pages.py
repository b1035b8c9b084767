"""The storefront's pages against an in-memory catalog, booking and payments: what the
visitor sees, and what the seats become."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from web_fakes import FakeServices, html_text, problem


@pytest.fixture
def offer(fake: FakeServices) -> dict[str, dict]:
    kayak = fake.add_activity(
        "Sunset kayak tour",
        "nautical",
        "Savines-le-Lac",
        [("adult", 3500), ("child", 2000)],
        [(timedelta(days=2), 12, 0), (timedelta(days=3), 12, 10)],
    )
    walk = fake.add_activity(
        "Twilight hike", "walk", "Rousset", [("adult", 1500)], [(timedelta(days=5), 15, 0)]
    )
    pottery = fake.add_activity(
        "Pottery wheel taster",
        "workshop",
        "Embrun",
        [("adult", 4200)],
        [(timedelta(days=2), 6, 6)],
    )
    return {"kayak": kayak, "walk": walk, "pottery": pottery}


def hold(client: TestClient, activity: dict, slot_id: str, adults: int = 1) -> str:
    """Holds ``adults`` adult seats of the departure, as a visitor fills the form in: the
    path of the reservation's page, where the visitor is sent."""
    answer = client.post(
        f"/en/activities/{activity['id']}/hold",
        data={
            "slot_id": slot_id,
            "qty_adult": str(adults),
            "qty_child": "0",
            "name": "Jeanne Martin",
            "email": "jeanne@example.org",
        },
    )
    assert answer.status_code == 303
    return str(answer.headers["location"])


def titles(page: str) -> set[str]:
    return set(re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', page))


def test_search_filters_by_category_price_commune_and_seats(
    client: TestClient, offer: dict[str, dict]
) -> None:
    everything = client.get("/en/")
    assert everything.status_code == 200
    assert titles(everything.text) == {"Sunset kayak tour", "Twilight hike", "Pottery wheel taster"}
    assert "from €20.00" in everything.text  # the kayak's cheapest ticket
    assert titles(client.get("/en/?category=walk").text) == {"Twilight hike"}
    assert titles(client.get("/en/?commune=Embrun").text) == {"Pottery wheel taster"}
    assert titles(client.get("/en/?price=20").text) == {"Sunset kayak tour", "Twilight hike"}
    # the pottery's only departure is sold out
    assert titles(client.get("/en/?available=1").text) == {"Sunset kayak tour", "Twilight hike"}


def test_a_date_off_the_calendar_is_ignored_like_an_unreadable_one(
    client: TestClient, offer: dict[str, dict]
) -> None:
    search = client.get("/en/?date=9999-12-31")
    assert search.status_code == 200
    assert titles(search.text) == {"Sunset kayak tour", "Twilight hike", "Pottery wheel taster"}
    calendar = client.get(f"/en/activities/{offer['kayak']['id']}?from=9999-12-31")
    assert calendar.status_code == 200
    assert "Sunset kayak tour" in html_text(calendar.text)


def test_search_by_date_keeps_activities_departing_that_day(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    hike_slot = fake.slots[fake.slot_ids(offer["walk"])[0]]
    day = hike_slot["start"].astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    page = client.get(f"/en/?date={day}").text
    assert "Twilight hike" in titles(page)
    assert "Sunset kayak tour" not in titles(page)


def test_french_is_the_default_and_prices_are_french(
    client: TestClient, offer: dict[str, dict]
) -> None:
    home = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert home.status_code == 307 and home.headers["location"] == "/fr/"
    page = client.get("/fr/").text
    assert '<html lang="fr">' in page
    assert "à partir de 20,00\xa0€" in page
    assert 'href="/en/"' in page  # the language switch


def test_activity_page_shows_remaining_seats_and_the_waitlist_of_a_full_slot(
    client: TestClient, offer: dict[str, dict]
) -> None:
    kayak = html_text(client.get(f"/en/activities/{offer['kayak']['id']}").text)
    assert "12 seat(s) left" in kayak
    assert "2 seat(s) left" in kayak
    pottery = client.get(f"/en/activities/{offer['pottery']['id']}").text
    assert "Sold out" in pottery
    assert "/waitlist" in pottery


def test_what_to_bring_shows_on_the_activity_page_and_the_confirmation_when_given(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    kayak = offer["kayak"]
    kayak["what_to_bring"] = "Maillot de bain, serviette & <chaussures> qui vont à l'eau"
    french = client.get(f"/fr/activities/{kayak['id']}").text
    assert "À prévoir" in html_text(french)
    assert "Maillot de bain, serviette &amp; &lt;chaussures&gt;" in french
    assert "<chaussures>" not in french
    assert "What to bring" in html_text(client.get(f"/en/activities/{kayak['id']}").text)
    walk = html_text(client.get(f"/en/activities/{offer['walk']['id']}").text)
    assert "What to bring" not in walk  # nothing said: no empty section

    page_url = hold(client, kayak, fake.slot_ids(kayak)[0])
    assert "What to bring" not in html_text(client.get(page_url).text)  # on hold
    fake.confirm(page_url.rsplit("/", 1)[1])
    confirmed = html_text(client.get(page_url).text)
    assert "What to bring Maillot de bain, serviette & <chaussures> qui vont à l'eau" in confirmed


def test_hold_pay_ticket_then_cancel_with_refund(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    slot_id = fake.slot_ids(offer["kayak"])[0]
    page_url = hold(client, offer["kayak"], slot_id, adults=2)
    assert fake.availability(slot_id)["remaining"] == 10

    held = client.get(page_url)
    text = html_text(held.text)
    assert "Your seats are held" in text
    assert re.search(r'id="countdown"[^>]*>1[45]:\d\d<', held.text)
    assert "€70.00" in text
    assert "Simulated payment (test mode)" in text

    paid = client.post(page_url + "/pay")
    assert paid.status_code == 303
    ticket = client.get(page_url)
    assert "Booking confirmed" in ticket.text
    assert "CPT-7QK2-M4XD-9PLA" in ticket.text
    assert "<svg" in ticket.text
    assert fake.availability(slot_id)["confirmed"] == 2

    preview = html_text(client.get(page_url + "/cancel").text)
    assert "If you cancel now, you will be refunded €70.00 (100%)." in preview
    cancelled = client.post(page_url + "/cancel", data={"key": "c" * 20})
    assert cancelled.status_code == 303
    after = html_text(client.get(cancelled.headers["location"]).text)
    assert "Your reservation is cancelled." in after
    assert "Refund: €70.00" in after
    assert fake.availability(slot_id)["remaining"] == 12


def test_cancelling_late_shows_no_refund(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    soon = fake.add_activity(
        "Early canoe", "nautical", "Chorges", [("adult", 4500)], [(timedelta(hours=10), 10, 0)]
    )
    slot_id = fake.slot_ids(soon)[0]
    rid = hold(client, soon, slot_id).rsplit("/", 1)[1]
    fake.confirm(rid)
    preview = html_text(client.get(f"/en/reservations/{rid}/cancel").text)
    assert "If you cancel now, you will not be refunded." in preview


def test_form_mistakes_and_booking_refusals_are_messages(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    url = f"/fr/activities/{offer['kayak']['id']}/hold"
    empty = client.post(url, data={"name": "", "email": "nope"})
    assert empty.status_code == 422
    text = html_text(empty.text)
    for message in (
        "Choisissez un départ.",
        "Choisissez au moins un billet.",
        "Indiquez votre nom.",
        "Indiquez une adresse e-mail valide.",
    ):
        assert message in text
    fake.refuse_hold = problem(409, "not-enough-seats", "Only 1 seat(s) left.", remaining=1)
    slot_id = fake.slot_ids(offer["kayak"])[0]
    refused = client.post(
        url, data={"slot_id": slot_id, "qty_adult": "3", "name": "Jo", "email": "jo@example.org"}
    )
    assert refused.status_code == 422
    assert "Il ne reste que 1 place(s) sur ce départ." in html_text(refused.text)
    assert 'value="jo@example.org"' in refused.text  # what was typed is kept


def test_a_service_down_is_a_clear_message(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    fake.down.add("booking")
    page = client.get(f"/en/activities/{offer['kayak']['id']}")
    assert page.status_code == 200
    assert "The booking service is not answering right now." in html_text(page.text)
    fake.down.add("catalog")
    home = client.get("/en/")
    assert home.status_code == 503
    assert "Traceback" not in home.text
    assert "not answering right now" in html_text(home.text)


def test_not_found_pages(client: TestClient, offer: dict[str, dict]) -> None:
    for path in (
        "/en/nowhere",
        "/de/",
        "/en/activities/not-a-uuid",
        "/en/activities/00000000-0000-4000-8000-00000000dead",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Page not found" in answer.text or "Page introuvable" in answer.text


def test_a_reservation_needs_its_token(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    slot_id = fake.slot_ids(offer["walk"])[0]
    rid = hold(client, offer["walk"], slot_id).rsplit("/", 1)[1]
    client.cookies.clear()
    closed = client.get(f"/en/reservations/{rid}")
    assert closed.status_code == 404
    assert "Open the link you received by e-mail" in closed.text
    # the e-mail link: the token moves to a cookie and leaves the address bar
    link = client.get(f"/reservations/{rid}?token=token-{rid}")
    assert link.status_code == 307
    opened = client.get(link.headers["location"])
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/en/reservations/{rid}"
    assert "Your seats are held" in client.get(opened.headers["location"]).text


def test_pages_are_light_and_locked_down(client: TestClient, offer: dict[str, dict]) -> None:
    page = client.get(f"/en/activities/{offer['kayak']['id']}")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    css = client.get("/static/app.css")
    js = client.get("/static/app.js")
    assert css.status_code == js.status_code == 200
    assert len(js.content) < 10_000
    assert len(css.content) + len(js.content) + len(page.content) < 200_000


def test_health(client: TestClient, fake: FakeServices) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").status_code == 200
    fake.down.add("payments")
    assert client.get("/readyz").status_code == 503


def test_an_unexpected_failure_is_a_page_without_a_trace(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    fake.activities[0]["units"] = []  # a body the pages cannot read
    answer = client.get("/en/")
    assert answer.status_code == 500
    assert "Something went wrong" in answer.text
    assert "Traceback" not in answer.text and "ValueError" not in answer.text


def test_a_service_lost_while_showing_a_refusal_is_a_clear_message(
    client: TestClient, fake: FakeServices, offer: dict[str, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    slot_id = fake.slot_ids(offer["kayak"])[0]
    page_url = hold(client, offer["kayak"], slot_id)
    booking = fake._booking

    def refuse_then_go_down(request, parts):  # type: ignore[no-untyped-def]
        if request.method == "POST" and parts[-1] == "cancel":
            fake.down.add("booking")  # booking refuses, then stops answering
            return problem(409, "illegal-transition", "Already cancelled.")
        return booking(request, parts)

    monkeypatch.setattr(fake, "_booking", refuse_then_go_down)
    cancelled = client.post(page_url + "/cancel", data={"key": "c" * 20})
    assert cancelled.status_code == 503
    assert "Traceback" not in cancelled.text
    assert "not answering right now" in html_text(cancelled.text)
