"""The booking widget against the in-memory services: the script other sites paste, its
frame's pages scoped to one provider (or territory), framable by other sites while the
storefront's pages are not, and a whole booking that never leaves the frame nor needs a
cookie."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from web_fakes import TERRITORY, FakeServices, html_text

from comptoir_web.main import create_app
from comptoir_web.settings import WebSettings

PROVIDER = "11111111-1111-4111-8111-111111111111"


@pytest.fixture
def offer(fake: FakeServices) -> dict[str, dict]:
    """Two activities of one provider, one of another provider of the same territory."""
    kayak = fake.add_activity(
        "Sunset kayak tour",
        "nautical",
        "Savines-le-Lac",
        [("adult", 3500), ("child", 2000)],
        [(timedelta(days=2), 12, 0), (timedelta(days=20), 12, 0)],
    )
    paddle = fake.add_activity(
        "Paddle at dawn", "nautical", "Chorges", [("adult", 2500)], [(timedelta(days=4), 8, 0)]
    )
    pottery = fake.add_activity(
        "Pottery wheel taster", "workshop", "Embrun", [("adult", 4200)], [(timedelta(days=2), 6, 0)]
    )
    kayak["provider_id"] = paddle["provider_id"] = PROVIDER
    return {"kayak": kayak, "paddle": paddle, "pottery": pottery}


def titles(page: str) -> set[str]:
    return set(re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', page))


def targets(page: str) -> list[tuple[str, str]]:
    """Every link and form of a page: (address, the tag it is in)."""
    found = []
    for tag in re.findall(r"<(?:a|form)\b[^>]*>", page):
        address = re.search(r'(?:href|action)="([^"]*)"', tag)
        if address:
            found.append((address.group(1).replace("&amp;", "&"), tag))
    return found


def assert_stays_in_the_frame(page: str, scope: str) -> None:
    """Every link and form stays in the frame with its scope, or opens a new tab."""
    for address, tag in targets(page):
        if 'target="_blank"' in tag:
            continue
        assert address.startswith("/en/embed/"), tag
        assert scope in address, tag


def test_the_script_is_small_cached_and_readable_from_any_site(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert len(script.content) < 5_000
    assert script.headers["access-control-allow-origin"] == "*"
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "max-age=86400" in script.headers["cache-control"]
    # it frames the embed pages and sizes the frame only on its own origin's messages
    assert "/embed/?" in script.text
    assert "event.origin !== origin" in script.text


def test_a_providers_widget_lists_only_its_activities_in_a_compact_page(
    client: TestClient, offer: dict[str, dict]
) -> None:
    page = client.get(f"/en/embed/?provider={PROVIDER}")
    assert page.status_code == 200
    assert titles(page.text) == {"Sunset kayak tour", "Paddle at dawn"}
    assert "Book online" in html_text(page.text)
    assert '<header class="site">' not in page.text  # no storefront header in the frame
    assert "set-cookie" not in page.headers
    assert_stays_in_the_frame(page.text, f"provider={PROVIDER}")
    # the search form (GET) keeps the scope in a field: its action's query would be dropped
    assert f'<input type="hidden" name="provider" value="{PROVIDER}">' in page.text
    only_paddles = client.get(f"/en/embed/?provider={PROVIDER}&commune=Chorges")
    assert titles(only_paddles.text) == {"Paddle at dawn"}


def test_a_territorys_widget_lists_every_activity_of_the_territory(
    client: TestClient, offer: dict[str, dict]
) -> None:
    page = client.get(f"/fr/embed/?territory={TERRITORY}")
    assert page.status_code == 200
    assert titles(page.text) == {
        "Sunset kayak tour (fr)",
        "Paddle at dawn (fr)",
        "Pottery wheel taster (fr)",
    }
    assert "Activités à Serre-Ponçon" in html_text(page.text)


def test_only_the_widgets_pages_may_be_framed_by_other_sites(
    client: TestClient, offer: dict[str, dict]
) -> None:
    framed = client.get(f"/en/embed/?provider={PROVIDER}").headers["content-security-policy"]
    assert "frame-ancestors 'self' *;" in framed
    assert "script-src 'self'" in framed
    for path in ("/en/", f"/en/activities/{offer['kayak']['id']}", "/en/widget", "/widget.js"):
        policy = client.get(path).headers["content-security-policy"]
        assert "frame-ancestors 'self';" in policy, path
        assert "*" not in policy.split("frame-ancestors")[1], path


def test_a_list_of_sites_is_what_may_frame_the_widget(
    fake: FakeServices, settings: WebSettings, offer: dict[str, dict]
) -> None:
    listed = WebSettings(
        **settings.model_dump(exclude={"widget_origins"}),
        widget_origins=" https://www.kayak.example/ , https://*.office.example",
    )
    app = create_app(listed, transport=httpx.MockTransport(fake.handle))
    with TestClient(app, follow_redirects=False) as client:
        policy = client.get(f"/en/embed/?provider={PROVIDER}").headers["content-security-policy"]
    assert "frame-ancestors 'self' https://www.kayak.example https://*.office.example;" in policy


@pytest.mark.parametrize(
    "value",
    [
        "",
        "https://www.kayak.example/booking",
        "https://a.example; script-src *",
        "'unsafe-inline'",
        "ftp://files.example",
        "*, https://a.example",
    ],
)
def test_anything_but_origins_is_refused_in_the_widget_setting(value: str) -> None:
    with pytest.raises(ValidationError):
        WebSettings(widget_origins=value)


def test_a_booking_stays_in_the_frame_and_needs_no_cookie(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    kayak = offer["kayak"]
    scope = f"provider={PROVIDER}"
    activity = client.get(f"/en/embed/activities/{kayak['id']}?{scope}")
    assert activity.status_code == 200
    assert "12 seat(s) left" in html_text(activity.text)
    assert_stays_in_the_frame(activity.text, scope)
    later = client.get(f"/en/embed/activities/{kayak['id']}?{scope}&from=2099-01-01")
    assert later.status_code == 200

    slot_id = fake.slot_ids(kayak)[0]
    held = client.post(
        f"/en/embed/activities/{kayak['id']}/hold?{scope}",
        data={"slot_id": slot_id, "qty_adult": "2", "name": "Jeanne", "email": "j@example.org"},
    )
    assert held.status_code == 303
    assert "set-cookie" not in held.headers  # the token travels in the frame's URL
    hold_url = held.headers["location"]
    rid = re.search(r"/reservations/([0-9a-f-]{36})", hold_url)
    assert rid is not None
    assert hold_url == f"/en/embed/reservations/{rid.group(1)}?{scope}&token=token-{rid.group(1)}"
    assert fake.availability(slot_id)["on_hold"] == 2

    client.cookies.clear()
    hold = client.get(hold_url)
    assert "Your seats are held" in html_text(hold.text)
    assert_stays_in_the_frame(hold.text, scope)
    pay = re.search(r'<form method="post" action="([^"]+)"', hold.text)
    assert pay is not None and 'target="_top"' not in hold.text  # simulated: in the frame
    paid = client.post(pay.group(1).replace("&amp;", "&"))
    assert paid.status_code == 303
    assert paid.headers["location"] == hold_url + "&done=paid"

    ticket = client.get(paid.headers["location"])
    assert "Booking confirmed" in html_text(ticket.text)
    assert "CPT-7QK2-M4XD-9PLA" in ticket.text
    assert fake.availability(slot_id)["confirmed"] == 2
    assert_stays_in_the_frame(ticket.text, scope)
    mine = re.search(r'<a[^>]*id="open-reservation"[^>]*>', ticket.text)
    assert mine is not None and 'target="_blank"' in mine.group(0)
    # in the new tab, the storefront takes the token into its cookie, as for e-mail links
    link = re.search(r'href="([^"]+)"', mine.group(0))
    assert link is not None
    opened = client.get(link.group(1).replace("&amp;", "&"))
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/en/reservations/{rid.group(1)}"
    assert "Booking confirmed" in client.get(opened.headers["location"]).text


def test_card_payment_leaves_the_frame_and_comes_back_to_the_storefront(
    fake: FakeServices, settings: WebSettings, offer: dict[str, dict]
) -> None:
    checkout = settings.model_copy(update={"payment_mode": "checkout"})
    app = create_app(checkout, transport=httpx.MockTransport(fake.handle))
    with TestClient(app, follow_redirects=False) as client:
        held = client.post(
            f"/fr/embed/activities/{offer['kayak']['id']}/hold?provider={PROVIDER}",
            data={
                "slot_id": fake.slot_ids(offer["kayak"])[0],
                "qty_adult": "1",
                "name": "Jo",
                "email": "jo@example.org",
            },
        )
        hold = client.get(held.headers["location"])
        form = re.search(r'<form method="post" action="([^"]+)"([^>]*)>', hold.text)
        assert form is not None and 'target="_top"' in form.group(2)
        rid = held.headers["location"].split("/reservations/")[1].split("?")[0]
        answer = client.post(form.group(1).replace("&amp;", "&"))
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("https://checkout.stripe.com/")
    # the whole window now: the storefront keeps the token for the page Stripe returns to
    assert f"cpt_r_{rid.replace('-', '')}=token-{rid}" in answer.headers["set-cookie"]
    assert fake.checkout_sessions == [
        {
            "success_url": f"http://testserver/fr/reservations/{rid}?done=paid",
            "cancel_url": f"http://testserver/fr/reservations/{rid}",
        }
    ]


def test_another_providers_activity_is_not_in_the_widget(
    client: TestClient, offer: dict[str, dict]
) -> None:
    page = client.get(f"/en/embed/activities/{offer['pottery']['id']}?provider={PROVIDER}")
    assert page.status_code == 404
    assert "Page not found" in page.text
    assert '<header class="site">' not in page.text
    assert_stays_in_the_frame(page.text, f"provider={PROVIDER}")
    held = client.post(
        f"/en/embed/activities/{offer['pottery']['id']}/hold?provider={PROVIDER}",
        data={"qty_adult": "1", "name": "Jo", "email": "jo@example.org"},
    )
    assert held.status_code == 404


def test_a_widget_set_up_wrong_says_so(client: TestClient, offer: dict[str, dict]) -> None:
    unknown = client.get(f"/en/embed/?provider={uuid.uuid4()}")
    assert unknown.status_code == 404
    assert "No activity to book" in html_text(unknown.text)
    assert "Check the identifier written in the widget's code." in html_text(unknown.text)
    other_territory = client.get(f"/fr/embed/?territory={uuid.uuid4()}")
    assert other_territory.status_code == 404
    assert "Aucune activité à réserver" in html_text(other_territory.text)
    for query in ("", "?provider=kayak-embrun", "?territory=42"):
        wrong = client.get(f"/en/embed/{query}")
        assert wrong.status_code == 400, query
        assert "The widget's code must give data-provider" in html_text(wrong.text)
        assert "Traceback" not in wrong.text
        assert "frame-ancestors 'self' *" in wrong.headers["content-security-policy"]


def test_a_frame_without_the_token_opens_no_reservation(
    client: TestClient, fake: FakeServices, offer: dict[str, dict]
) -> None:
    held = client.post(
        f"/en/embed/activities/{offer['paddle']['id']}/hold?provider={PROVIDER}",
        data={
            "slot_id": fake.slot_ids(offer["paddle"])[0],
            "qty_adult": "1",
            "name": "Jo",
            "email": "jo@example.org",
        },
    )
    rid = held.headers["location"].split("/reservations/")[1].split("?")[0]
    for query in (f"provider={PROVIDER}", f"provider={PROVIDER}&token=token-{uuid.uuid4()}"):
        page = client.get(f"/en/embed/reservations/{rid}?{query}")
        assert page.status_code == 404
        assert "Reservation not available" in page.text
    assert client.post(f"/en/embed/reservations/{rid}/pay?provider={PROVIDER}").status_code == 404
    stranger = client.post(
        f"/en/embed/reservations/{rid}/pay?provider={PROVIDER}&token=token-{uuid.uuid4()}"
    )
    assert stranger.status_code == 303 and "error=payment" in stranger.headers["location"]
    assert fake.reservations[rid]["status"] == "ON_HOLD"
    assert fake.payments[rid]["status"] == "REQUIRES_PAYMENT"


def test_the_install_page_gives_the_code_to_paste(
    client: TestClient, offer: dict[str, dict]
) -> None:
    page = client.get(f"/fr/widget?provider={PROVIDER}")
    assert page.status_code == 200
    snippet = (
        f'&lt;script src="http://testserver/widget.js" data-provider="{PROVIDER}" '
        'data-lang="fr" async&gt;&lt;/script&gt;'
    )
    assert snippet.replace('"', "&#34;") in page.text  # the textarea shows it escaped
    assert "Copier le code" in page.text
    # the preview is the widget itself
    assert f'<script src="/widget.js" data-provider="{PROVIDER}" data-lang="fr" async>' in (
        page.text
    )
    territory = client.get("/en/widget")
    assert f"data-territory=&#34;{TERRITORY}&#34;" in territory.text
    wrong = client.get("/en/widget?provider=<script>")
    assert wrong.status_code == 422
    assert "This identifier is not valid" in html_text(wrong.text)
    assert "<script>" not in wrong.text.split("<main")[1]
