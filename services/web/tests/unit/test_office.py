"""The tourism office's console and its shared observatory, over in-memory services."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient
from office_fakes import HIKES, KAYAK, OfficeFakes
from web_fakes import TERRITORY, html_text, problem
from web_sessions import office_identity, provider_identity, sign_in

from comptoir_web.auth import Authority
from comptoir_web.office import SHARE_AUDIENCE
from comptoir_web.office_views import parse_period, season


@pytest.fixture
def fake() -> OfficeFakes:
    return OfficeFakes()


@pytest.fixture
def office(client: TestClient) -> TestClient:
    sign_in(client, office_identity())
    return client


def _authority(client: TestClient) -> Authority:
    authority: Authority = client.app.state.authority  # type: ignore[attr-defined]
    return authority


def _section(page: str, element_id: str) -> str:
    """The text of the element with ``id``, up to its closing tag."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, flags=re.S)
    assert match, f"no element {element_id}"
    return html_text(match.group(1))


def _rows(page: str, caption: str) -> list[list[str]]:
    """The rows of the table captioned ``caption``, as the cells' texts."""
    match = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", page, re.S)
    assert match, f"no table {caption}"
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), flags=re.S)
    return [[html_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]


# --- the observatory -----------------------------------------------------------------


def test_the_key_figures_say_what_was_sold(office: TestClient) -> None:
    page = office.get("/fr/office/")
    assert page.status_code == 200
    assert _section(page.text, "fig-fill-rate") == "30 %"
    assert _section(page.text, "fig-seats") == "3 / 10"
    assert _section(page.text, "fig-bookings") == "1"
    assert _section(page.text, "fig-revenue") == "105,00 €"
    assert _section(page.text, "fig-paid") == "105,00 €"
    assert _section(page.text, "fig-refunds") == "70,00 €"
    assert "70,00 € (1 remboursement(s))" in html_text(page.text)
    assert _section(page.text, "fig-cancelled") == "1"
    assert "Réservations annulées 1 (0 départ(s) annulé(s))" in html_text(page.text)


def test_no_office_fee_is_said_plainly(office: TestClient) -> None:
    page = office.get("/fr/office/").text
    assert _section(page, "fig-fee") == "0,00 €"
    assert (
        _section(page, "fee-rate")
        == "L'office ne prend aucune commission : 0 % de chaque réservation."
    )


def test_a_fee_rate_is_shown_as_a_percentage(office: TestClient, fake: OfficeFakes) -> None:
    fake.fee_rate_bps = 250
    fake.report["totals"][0]["office_fee_cents"] = 262
    page = office.get("/en/office/").text
    assert _section(page, "fig-fee") == "€2.62"
    assert _section(page, "fee-rate") == "Office fee rate: 2.5% of each booking."


def test_the_weekly_chart_draws_the_fill_rate_and_describes_itself(office: TestClient) -> None:
    page = office.get("/en/office/").text
    svg = re.search(r'<svg class="chart" id="chart-week".*?</svg>', page, re.S)
    assert svg
    chart = svg.group(0)
    assert 'role="img"' in chart
    assert 'aria-labelledby="chart-week-title chart-week-desc"' in chart
    assert '<title id="chart-week-title">Fill rate by week</title>' in chart
    assert "highest week 48 of 2026 at 30%" in chart
    assert "2026-W48" not in chart
    # the bar of week 48 is 30 % of the 180 units of the chart's height; week 47's is flat
    heights = re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', chart)
    assert heights == ["0.0", "54.0"]
    assert "<title>week 48 of 2026: 30%</title>" in chart
    assert '<text class="axis" x="128.0" y="222" text-anchor="middle">W48</text>' in chart
    assert "style=" not in page  # the Content-Security-Policy forbids inline styles


def test_the_tables_hold_the_same_numbers_as_the_charts(office: TestClient) -> None:
    page = office.get("/fr/office/").text
    week = _rows(page, "Taux de remplissage par semaine")
    assert week[0][:2] == ["Semaine", "Lundi"]
    assert week[2] == ["S48 2026", "23 nov. 2026", "1", "10", "3", "30 %", "1", "0"]
    assert "2026-W48" not in page and "W48" not in page
    assert "le plus haut semaine 48 de 2026 avec 30" in page  # the chart's description
    assert '<text class="axis" x="128.0" y="222" text-anchor="middle">S48</text>' in page
    category = _rows(page, "Remplissage par catégorie")
    assert category[1][:5] == ["Activités nautiques", "1", "10", "3", "30 %"]
    assert "Activités nautiques: 30 % (3/10)" in html_text(page)
    lead = _rows(page, "Délai de réservation avant le départ")
    assert lead[1:] == [
        ["Le jour même", "0"],
        ["1 à 6 jours avant", "0"],
        ["1 à 4 semaines avant", "0"],
        ["Plus de 4 semaines avant", "1"],
    ]
    assert _section(page, "fig-median") == "30 jour(s) avant le départ"
    money = _rows(page, "Montants par prestataire")
    assert money[1] == ["Kayak Embrun", "EUR", "2", "175,00 €", "70,00 €", "105,00 €", "0,00 €"]
    assert page.count("<details><summary>Afficher le tableau</summary>") == 4
    assert '<th scope="col">' in page and '<th scope="row">' in page


def test_the_period_is_asked_for_and_sent_to_both_services(
    office: TestClient, fake: OfficeFakes
) -> None:
    page = office.get("/en/office/?from=2026-05-01&to=2026-06-30")
    assert page.status_code == 200
    assert "Departures from May 1, 2026 to June 30, 2026" in html_text(page.text)
    period = {"from": "2026-05-01", "to": "2026-06-30"}
    assert fake.calls_to("booking", "/observatory")[-1][3] == period
    assert fake.calls_to("payments", "/report")[-1][3] == period
    assert 'href="/en/office/observatory.csv?from=2026-05-01&amp;to=2026-06-30&amp;part=week"' in (
        page.text
    )


def test_a_wrong_period_is_explained_and_the_default_shown(office: TestClient) -> None:
    page = office.get("/en/office/?from=2026-06-30&to=2026-05-01")
    assert page.status_code == 422
    assert "The end date comes before the start date." in html_text(page.text)
    assert _section(page.text, "fig-fill-rate") == "30%"


@pytest.mark.parametrize("period", ["from=9999-12-31", "to=0001-01-01", "from=0001-01-01"])
def test_a_date_off_the_calendar_is_explained_like_an_unreadable_one(
    office: TestClient, period: str
) -> None:
    page = office.get(f"/en/office/?{period}")
    assert page.status_code == 422
    assert "This date cannot be read" in html_text(page.text)
    assert _section(page.text, "fig-fill-rate") == "30%"  # the default period instead


def test_the_quick_choices_of_period() -> None:
    from datetime import date

    today = date(2026, 7, 14)
    assert parse_period({"quick": "30d"}, today)[0].first == date(2026, 6, 15)
    assert season(today).first == date(2026, 4, 1) and season(today).last == date(2026, 9, 30)
    winter = season(date(2027, 2, 1))
    assert (winter.first, winter.last) == (date(2026, 10, 1), date(2027, 3, 31))
    assert parse_period({"from": "2026-01-01", "to": "2027-06-01"}, today)[1] == "office_e_long"
    assert parse_period({"from": "soon"}, today)[1] == "office_e_date"


def test_amounts_missing_when_payments_is_down_the_rest_stays(
    office: TestClient, fake: OfficeFakes
) -> None:
    fake.down.add("payments")
    page = office.get("/en/office/")
    assert page.status_code == 200
    assert "Amounts are not available right now" in html_text(page.text)
    assert _section(page.text, "fig-fill-rate") == "30%"


# --- CSV -----------------------------------------------------------------------------------


def _csv(client: TestClient, part: str, lang: str = "en") -> list[list[str]]:
    answer = client.get(f"/{lang}/office/observatory.csv?from=2026-11-16&to=2026-11-29&part={part}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith(
        f'attachment; filename="observatory-{part}-2026-11-16-2026-11-29.csv"'
    )
    assert answer.content.startswith(b"\xef\xbb\xbf")
    text = answer.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";" if lang == "fr" else ","))


def test_each_part_downloads_as_csv(office: TestClient) -> None:
    week = _csv(office, "week")
    assert week[0] == [
        "ISO week",
        "Monday",
        "Departures",
        "Seats offered",
        "Seats sold",
        "Fill rate (%)",
        "Bookings",
        "Cancelled departures",
    ]
    assert week[2] == ["2026-W48", "2026-11-23", "1", "10", "3", "30.00", "1", "0"]
    assert _csv(office, "category")[1][:5] == ["On the water", "1", "10", "3", "30.00"]
    assert _csv(office, "lead_time")[1:] == [
        ["Same day", "0"],
        ["1 to 6 days before", "0"],
        ["1 to 4 weeks before", "0"],
        ["Over 4 weeks before", "1"],
    ]
    assert _csv(office, "providers")[1] == [
        "Kayak Embrun",
        "EUR",
        "2",
        "175.00",
        "70.00",
        "105.00",
        "0.00",
    ]
    french = _csv(office, "week", "fr")
    assert french[0][:2] == ["Semaine ISO", "Lundi"]
    assert french[2] == ["2026-W48", "2026-11-23", "1", "10", "3", "30,00", "1", "0"]
    assert _csv(office, "providers", "fr")[1][3:] == ["175,00", "70,00", "105,00", "0,00"]


def test_a_cell_that_would_run_as_a_formula_stays_text(office: TestClient) -> None:
    communes = _csv(office, "commune")
    assert communes[1][0] == "Embrun"
    assert communes[2][0] == '\'=HYPERLINK("http://evil")'


def test_an_unknown_csv_part_is_not_found(office: TestClient) -> None:
    assert office.get("/en/office/observatory.csv?part=visitors").status_code == 404


# --- access --------------------------------------------------------------------------------


def test_a_provider_signed_in_gets_the_restricted_page(client: TestClient) -> None:
    sign_in(client, provider_identity(KAYAK))
    for path in ("/en/office/", "/en/office/providers", "/en/office/observatory.csv?part=week"):
        page = client.get(path)
        assert page.status_code == 403
        assert "This page is for the tourism office." in html_text(page.text)


def test_without_a_session_the_console_asks_to_sign_in(client: TestClient) -> None:
    page = client.get("/en/office/catalogue")
    assert page.status_code == 303
    assert unquote(page.headers["location"]) == "/en/sign-in?next=/en/office/catalogue"


# --- sharing ----------------------------------------------------------------------------


def _share(office: TestClient) -> str:
    made = office.post("/en/office/share", data={"from": "2026-11-16", "to": "2026-11-29"})
    assert made.status_code == 303
    location = made.headers["location"]
    grant = parse_qs(urlsplit(location).query)["shared"][0]
    page = office.get(location)
    text = html_text(page.text)
    assert "Share link created. It works until" in text
    assert f"http://testserver/en/observatory/{grant}" in page.text
    return grant


def test_the_share_link_opens_without_a_session_and_shows_no_money_by_provider(
    office: TestClient, fake: OfficeFakes
) -> None:
    grant = _share(office)
    office.cookies.clear()
    fake.calls.clear()
    page = office.get(f"/en/observatory/{grant}")
    assert page.status_code == 200
    text = html_text(page.text)
    assert "Observatory shared by the tourism office, read-only." in text
    assert _section(page.text, "fig-fill-rate") == "30%"
    assert "Departures from November 16, 2026 to November 29, 2026" in text
    assert "Kayak Embrun" not in text and "Paid to providers" not in text
    assert "Sign out" not in text
    # read with the web's own office token for the territory, never payments' money
    assert fake.calls_to("booking", "/observatory")[0][3] == {
        "from": "2026-11-16",
        "to": "2026-11-29",
    }
    assert fake.calls_to("booking", "/observatory")[0][4]
    assert not fake.calls_to("payments", "")
    shared_csv = office.get(f"/en/observatory/{grant}/observatory.csv?part=week")
    assert shared_csv.status_code == 200
    assert "2026-W48" in shared_csv.content.decode("utf-8-sig")
    assert office.get(f"/en/observatory/{grant}/observatory.csv?part=providers").status_code == 404


def test_an_expired_share_link_says_so(client: TestClient) -> None:
    grant = _authority(client).sign(
        SHARE_AUDIENCE,
        {"territory_id": str(TERRITORY), "from": "2026-11-16", "to": "2026-11-29"},
        ttl=timedelta(seconds=-5),
    )
    page = client.get(f"/en/observatory/{grant}")
    assert page.status_code == 410
    assert "This observatory share link has expired." in html_text(page.text)


def test_a_forged_share_link_is_refused(client: TestClient) -> None:
    good = _authority(client).sign(
        SHARE_AUDIENCE,
        {"territory_id": str(TERRITORY), "from": "2026-11-16", "to": "2026-11-29"},
        ttl=timedelta(days=1),
    )
    head, body, signature = good.split(".")
    for grant in (f"{head}.{body}.{signature[:-4]}AAAA", "not-a-grant"):
        page = client.get(f"/fr/observatory/{grant}")
        assert page.status_code == 404
        assert "Ce lien de partage de l'observatoire n'est pas valable." in html_text(page.text)
    # a grant of another kind (a sign-in session) opens nothing here
    other = _authority(client).sign(
        "comptoir-web-session", {"territory_id": str(TERRITORY)}, timedelta(days=1)
    )
    assert client.get(f"/en/observatory/{other}").status_code == 404


# --- providers ---------------------------------------------------------------------------


def test_providers_with_their_onboarding_state_and_revenue(office: TestClient) -> None:
    page = office.get("/en/office/providers")
    assert page.status_code == 200
    kayak = html_text(re.search(rf'id="provider-{KAYAK}">(.*?)</tr>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert "Ready: takes payments and receives payouts" in kayak
    assert "€105.00" in kayak
    hikes = html_text(re.search(rf'id="provider-{HIKES}">(.*?)</tr>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert "Stripe onboarding started, not finished" in hikes
    assert "Stripe still needs: the bank account that receives payouts, the date of birth" in (
        hikes
    )
    assert "€0.00" in hikes
    assert "Create the Stripe onboarding link" in hikes


def test_adding_a_provider(office: TestClient, fake: OfficeFakes) -> None:
    added = office.post(
        "/en/office/providers",
        data={"name": "Voile Savines", "email": "voile@example.test", "key": str(uuid.uuid4())},
    )
    assert added.status_code == 303
    page = office.get(added.headers["location"])
    assert "Voile Savines was added." in html_text(page.text)
    assert "Voile Savines" in html_text(page.text.split("Add a provider")[0])
    assert fake.calls_to("catalog", "/v1/providers")


def test_a_provider_refused_by_the_catalogue_is_explained_in_place(
    office: TestClient, fake: OfficeFakes
) -> None:
    fake.refuse_provider = problem(422, "validation", "email: value is not a valid email address")
    page = office.post(
        "/en/office/providers",
        data={"name": "Voile Savines", "email": "voile@example.test", "key": str(uuid.uuid4())},
    )
    assert page.status_code == 422
    assert 'role="alert"' in page.text
    assert "Please check the form's fields." in html_text(page.text)
    assert 'value="Voile Savines"' in page.text and 'value="voile@example.test"' in page.text


def test_a_provider_form_without_a_name_is_not_sent(office: TestClient, fake: OfficeFakes) -> None:
    page = office.post("/fr/office/providers", data={"name": " ", "email": "nope"})
    assert page.status_code == 422
    text = html_text(page.text)
    assert "Indiquez le nom du prestataire." in text
    assert "Indiquez une adresse e-mail valide." in text
    assert not [c for c in fake.calls_to("catalog", "/v1/providers") if c[1] == "POST"]


def test_the_onboarding_link_is_shown_to_send(office: TestClient) -> None:
    page = office.post(f"/en/office/providers/{HIKES}/onboarding")
    assert page.status_code == 200
    assert "Stripe onboarding link of Rando Chorges" in html_text(page.text)
    assert f'readonly value="https://connect.stripe.test/setup/e/{HIKES}"' in page.text


def test_an_onboarding_link_payments_cannot_make_yet_is_explained(
    office: TestClient, fake: OfficeFakes
) -> None:
    del fake.accounts[HIKES]
    page = office.post(f"/en/office/providers/{HIKES}/onboarding")
    assert page.status_code == 409
    assert "The payments service does not know this provider yet." in html_text(page.text)


# --- catalogue and follow-up ---------------------------------------------------------------


def test_the_catalogue_lists_every_activity_with_its_state(
    office: TestClient, fake: OfficeFakes
) -> None:
    kayak = fake.add_activity("Sunset kayak", "nautical", "Embrun", [("adult", 3500)], [])
    kayak.update(provider_id=KAYAK, bookable=True)
    hike = fake.add_activity("Twilight hike", "walk", "Chorges", [("adult", 2000)], [])
    hike.update(provider_id=HIKES, bookable=False)
    page = office.get("/en/office/catalogue")
    assert page.status_code == 200
    rows = re.findall(r'<tr id="activity-[^"]+">(.*?)</tr>', page.text, re.S)
    assert [html_text(r) for r in rows] == [
        "Sunset kayak Kayak Embrun On the water Embrun Bookable €35.00 Edit · Sunset kayak",
        "Twilight hike Rando Chorges Walks and hikes Chorges Not bookable Stripe onboarding "
        "started, not finished €20.00 Edit · Twilight hike",
    ]
    assert f'href="/en/activities/{kayak["id"]}"' in page.text
    assert f'href="/en/office/activities/{hike["id"]}"' in page.text


# --- an activity of the catalogue ----------------------------------------------------------


def _kayak(fake: OfficeFakes) -> dict[str, Any]:
    activity = fake.add_activity(
        "Sunset kayak", "nautical", "Embrun", [("adult", 3500), ("child", 2000)], []
    )
    activity.update(provider_id=KAYAK, bookable=True)
    return activity


EDIT_FORM = {
    "title_fr": "Kayak au crépuscule",
    "title_en": "Twilight kayak",
    "description_fr": "Une sortie au soleil couchant.",
    "description_en": "An outing at sunset.",
    "meeting_point": "Plage de la base nautique",
    "what_to_bring": "",
    "price_adult": "42,50",
    "price_child": "20",
    "cutoff_minutes": "120",
}


def _field(page: str, name: str) -> str:
    """The text under the field ``name`` (its error message), up to the end of its block."""
    return html_text(page.split(f'id="{name}"', 1)[1].split("</div>", 1)[0])


def test_the_office_edits_an_activity_of_its_territory(
    office: TestClient, fake: OfficeFakes
) -> None:
    activity = _kayak(fake)
    address = f"/fr/office/activities/{activity['id']}"
    page = office.get(address)
    assert page.status_code == 200
    text = html_text(page.text)
    assert "Activité de Kayak Embrun." in text
    assert "Kayak Embrun le voit aussitôt dans son espace" in text
    assert "ajoutés par Kayak Embrun, depuis son espace prestataire" in text
    assert '<a href="/fr/office/catalogue" aria-current="page">' in page.text
    assert '<p class="crumb"><a href="/fr/office/catalogue">' in page.text
    assert f'action="{address}"' in page.text
    assert 'value="Sunset kayak"' in page.text and 'value="35"' in page.text
    assert 'id="done"' not in page.text

    saved = office.post(address, data=EDIT_FORM | {"key": "k-1"}, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"{address}?done=")
    [(changed_id, body, caller)] = fake.activity_changes
    assert changed_id == activity["id"]
    assert caller["role"] == "admin" and caller["territory_id"] == str(TERRITORY)
    assert body["title"] == {"fr": "Kayak au crépuscule", "en": "Twilight kayak"}
    assert body["meeting_point"] == "Plage de la base nautique"
    assert body["what_to_bring"] is None and body["cutoff_minutes"] == 120
    assert [(u["id"], u["price_cents"]) for u in body["units"]] == [
        ("adult", 4250),
        ("child", 2000),
    ]

    after = office.get(saved.headers["location"])
    assert after.status_code == 200
    assert _section(after.text, "done") == (
        "Activité enregistrée. Kayak Embrun voit la modification dans son espace ; "
        "les nouveaux prix s'appliquent aux prochaines réservations."
    )
    assert 'value="Kayak au crépuscule"' in after.text and 'value="42.50"' in after.text


def test_only_a_confirmation_the_office_was_given_is_shown(
    office: TestClient, fake: OfficeFakes
) -> None:
    activity = _kayak(fake)
    address = f"/fr/office/activities/{activity['id']}"
    assert 'id="done"' not in office.get(f"{address}?done=saved").text
    # the provider's own confirmation (from its portal) is not the office's
    providers = _authority(office).sign(
        "portal-outcome", {"p": KAYAK, "s": activity["id"], "done": "saved"}, timedelta(minutes=5)
    )
    assert 'id="done"' not in office.get(f"{address}?done={providers}").text


def test_a_wrong_price_is_refused_at_its_field_without_asking_catalog(
    office: TestClient, fake: OfficeFakes
) -> None:
    activity = _kayak(fake)
    bad = office.post(
        f"/en/office/activities/{activity['id']}", data=EDIT_FORM | {"price_adult": "12,5x"}
    )
    assert bad.status_code == 422
    assert not fake.activity_changes
    assert "Enter a price in euros, like 12 or 12.50." in _field(bad.text, "price_adult")
    assert 'value="12,5x"' in bad.text


def test_catalogs_refusal_is_shown_at_the_fields_and_the_language_switch_works(
    office: TestClient, fake: OfficeFakes
) -> None:
    activity = _kayak(fake)
    fake.refuse_activity = problem(
        422,
        "validation",
        "With these changes the activity would not be valid; see errors for each field.",
        errors=[
            {"location": ["body", "title", "en"], "message": "x", "type": "string_too_long"},
            {"location": ["body", "units", 1, "price_cents"], "message": "no", "type": "x"},
        ],
    )
    address = f"/office/activities/{activity['id']}"
    refused = office.post(f"/fr{address}", data=EDIT_FORM)
    assert refused.status_code == 422
    assert not fake.activity_changes
    assert "Certains champs sont à corriger." in _section(refused.text, "form-errors")
    assert "Texte trop long." in _field(refused.text, "title_en")
    assert "Le service a refusé cette demande." in _field(refused.text, "price_child")
    assert 'aria-invalid="true"' in refused.text.split('id="title_en"', 1)[1].split(">", 1)[0]
    assert 'value="Kayak au crépuscule"' in refused.text  # what was typed stays
    switch = re.search(r'<a href="([^"]+)" hreflang="en"', refused.text)
    assert switch and switch.group(1) == f"/en{address}"
    english = office.get(switch.group(1))
    assert english.status_code == 200
    assert "Activity of Kayak Embrun." in html_text(english.text)


def test_another_territorys_activity_is_not_found(office: TestClient, fake: OfficeFakes) -> None:
    elsewhere = _kayak(fake)
    elsewhere["territory_id"] = str(uuid.uuid4())
    address = f"/en/office/activities/{elsewhere['id']}"
    page = office.get(address)
    assert page.status_code == 404
    assert "Sunset kayak" not in page.text
    assert office.post(address, data=EDIT_FORM).status_code == 404
    assert not fake.activity_changes
    assert office.get(f"/en/office/activities/{uuid.uuid4()}").status_code == 404


def test_a_provider_cannot_open_the_offices_activity_page(
    client: TestClient, fake: OfficeFakes
) -> None:
    activity = _kayak(fake)
    sign_in(client, provider_identity(KAYAK))
    address = f"/en/office/activities/{activity['id']}"
    assert client.get(address).status_code == 403
    assert client.post(address, data=EDIT_FORM).status_code == 403
    assert not fake.activity_changes


def _failed_refund(reservation_id: str, failure_reason: str) -> dict[str, object]:
    """A 70 € refund to a visitor of the kayak provider that Stripe refused."""
    return {
        "reservation_id": reservation_id,
        "provider_id": KAYAK,
        "refund_id": "re_1",
        "amount_cents": 7000,
        "currency": "EUR",
        "status": "FAILED",
        "reason": "visitor-cancelled",
        "failure_reason": failure_reason,
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-21T10:00:00Z",
    }


def test_the_follow_up_lists_failed_refunds_and_disputes(
    office: TestClient, fake: OfficeFakes
) -> None:
    reservation = str(uuid.uuid4())
    fake.failed_refunds.append(_failed_refund(reservation, "expired_or_canceled_card"))
    disputed = str(uuid.uuid4())
    fake.disputes.append(
        {
            "dispute_id": "dp_1",
            "reservation_id": disputed,
            "provider_id": HIKES,
            "amount_cents": 4000,
            "currency": "EUR",
            "reason": "fraudulent",
            "status": "needs_response",
            "funds_withdrawn": True,
            "evidence_due_by": "2026-12-01T10:00:00Z",
            "created_at": "2026-11-20T10:00:00Z",
            "updated_at": "2026-11-20T10:00:00Z",
        }
    )
    page = office.get("/en/office/follow-up")
    assert page.status_code == 200
    text = html_text(page.text)
    assert (
        f"{reservation} Kayak Embrun €70.00 The visitor's card has expired or was cancelled" in text
    )
    assert (
        f"{disputed} Rando Chorges €40.00 amount taken from the provider Payment not "
        "recognised (suspected fraud) Waiting for the provider's answer" in text
    )
    assert fake.calls_to("payments", "/refunds")[0][3] == {"status": "FAILED"}


def test_the_follow_up_says_when_there_is_nothing(office: TestClient) -> None:
    text = html_text(office.get("/fr/office/follow-up").text)
    assert "Aucun remboursement en échec." in text and "Aucun litige à suivre." in text
    assert 'aria-current="page"' in office.get("/fr/office/follow-up").text


# --- review fixes ---------------------------------------------------------------------


def test_a_typed_added_banner_says_nothing(office: TestClient) -> None:
    forged = office.get("/fr/office/providers?added=Votre+compte+est+suspendu")
    assert forged.status_code == 200
    assert "Votre compte est suspendu" not in html_text(forged.text)
    assert "a été ajouté" not in html_text(forged.text)
    known = html_text(office.get(f"/en/office/providers?added={KAYAK}").text)
    assert "Kayak Embrun was added." in known


def test_a_typed_stopped_banner_says_nothing(office: TestClient) -> None:
    page = office.get("/en/office/?stopped=1700000000000")
    assert "Sharing stopped" not in html_text(page.text)
    # a share link of another text than a grant is not shown as "created" either
    page = office.get("/en/office/?shared=hello")
    assert "Share link created" not in html_text(page.text)


def _dispute(status: str, reason: str) -> dict[str, object]:
    return {
        "dispute_id": f"dp_{status}",
        "reservation_id": str(uuid.uuid4()),
        "provider_id": KAYAK,
        "amount_cents": 4000,
        "currency": "EUR",
        "reason": reason,
        "status": status,
        "funds_withdrawn": status != "won",
        "evidence_due_by": None,
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
    }


def test_only_open_disputes_are_to_follow_up(office: TestClient, fake: OfficeFakes) -> None:
    fake.disputes += [
        _dispute("needs_response", "product_not_received"),
        _dispute("warning_under_review", "duplicate"),
        _dispute("won", "fraudulent"),
        _dispute("lost", "a_reason_stripe_adds_later"),
    ]
    page = office.get("/fr/office/follow-up").text
    assert "Litiges bancaires (2)" in html_text(page)
    open_part, closed_part = page.split('<details id="closed-disputes">')
    assert "Prestation non reçue" in open_part and "Paiement en double" in open_part
    assert "Gagné par le prestataire" not in open_part
    closed = html_text(closed_part.split("</details>")[0])
    assert closed.startswith("Litiges clos (2)")
    assert "Gagné par le prestataire" in closed
    assert "Perdu : le visiteur a été remboursé par sa banque" in closed.replace("\u00a0", " ")
    # a code without words: a sentence, and the code as Stripe wrote it
    assert "Code de Stripe non traduit" in closed
    assert '<code lang="en">a_reason_stripe_adds_later</code>' in closed_part


def test_refund_failures_are_in_words_or_said_unknown(
    office: TestClient, fake: OfficeFakes
) -> None:
    for reason in ("lost_or_stolen_card", "<b>new_code</b>"):
        fake.failed_refunds.append(_failed_refund(str(uuid.uuid4()), reason))
    page = office.get("/fr/office/follow-up").text
    assert "Carte du visiteur déclarée perdue ou volée" in page
    assert '<code lang="en">&lt;b&gt;new_code&lt;/b&gt;</code>' in page


def test_stripe_requirements_are_in_words(office: TestClient, fake: OfficeFakes) -> None:
    fake.accounts[HIKES]["requirements_due"] = [
        "individual.verification.document",
        "tos_acceptance.date",
        "tos_acceptance.ip",
        "business_profile.url",
        "representative.first_name",
        "settings.unheard_of",
    ]
    page = office.get("/fr/office/providers").text
    hikes = re.search(rf'id="provider-{HIKES}">(.*?)</tr>', page, re.S)
    assert hikes
    text = html_text(hikes.group(1)).replace("\u00a0", " ")
    assert (
        "Stripe attend encore : une pièce d'identité, l'acceptation des conditions de Stripe, "
        "le site web de l'activité, les informations du représentant légal, Code de Stripe "
        "non traduit : settings.unheard_of" in text
    )
    assert '<code lang="en">settings.unheard_of</code>' in hikes.group(1)


def test_week_labels_in_each_language(office: TestClient) -> None:
    english = office.get("/en/office/").text
    assert _rows(english, "Fill rate by week")[2][0] == "W48 2026"
    assert "week 48 of 2026" in english and "2026-W48" not in english


def _small_groups(fake: OfficeFakes) -> None:
    """Three providers on the water in Embrun, one walk in Chorges, climbing unlisted."""
    for n in range(3):
        fake.add_activity(f"Kayak {n}", "nautical", "Embrun", [("adult", 3500)], [])
    fake.add_activity("Hike", "walk", "Chorges", [("adult", 2000)], [])
    fake.observatory["by_category"] = [
        {"category": "nautical", "slots": 1, "capacity": 10, "seats_sold": 3, "fill_rate": 0.3,
         "bookings": 1, "cancelled_departures": 0},
        {"category": "walk", "slots": 1, "capacity": 8, "seats_sold": 2, "fill_rate": 0.25,
         "bookings": 1, "cancelled_departures": 0},
        {"category": "climbing", "slots": 1, "capacity": 4, "seats_sold": 1, "fill_rate": 0.25,
         "bookings": 1, "cancelled_departures": 1},
    ]  # fmt: skip


def test_the_shared_observatory_merges_groups_of_few_providers(
    office: TestClient, fake: OfficeFakes
) -> None:
    _small_groups(fake)
    own = office.get("/en/office/").text
    # the office's own console shows every group by its name
    own_rows = _rows(own, "Fill rate by category")[1:]
    assert [r[0] for r in own_rows] == ["On the water", "Walks and hikes", "Climbing"]
    grant = _share(office)
    office.cookies.clear()
    page = office.get(f"/en/observatory/{grant}").text
    category = _rows(page, "Fill rate by category")
    assert category[1][:5] == ["On the water", "1", "10", "3", "30%"]
    assert category[2] == ["Other", "2", "12", "3", "25%", "2", "1"]
    assert len(category) == 3
    assert "Walks and hikes" not in html_text(page)
    communes = _rows(page, "Fill rate by town")
    assert [r[0] for r in communes[1:]] == ["Embrun", "Other"]
    assert "HYPERLINK" not in page
    assert "fewer than 3 providers are grouped under “Other”" in html_text(page)
    shared_csv = office.get(f"/en/observatory/{grant}/observatory.csv?part=category")
    rows = list(csv.reader(io.StringIO(shared_csv.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["On the water", "Other"]


def test_stop_sharing_revokes_the_links_made_before(office: TestClient, fake: OfficeFakes) -> None:
    page = html_text(office.get("/en/office/").text)
    assert "valid 30 days" in page
    old = _share(office)
    assert office.get(f"/en/observatory/{old}").status_code == 200
    stopped = office.post("/en/office/share/stop", data={"from": "2026-11-16", "to": "2026-11-29"})
    assert stopped.status_code == 303
    location = stopped.headers["location"]
    assert "from=2026-11-16" in location
    said = html_text(office.get(location).text)
    assert "Sharing stopped: links made until" in said
    refused = office.get(f"/en/observatory/{old}")
    assert refused.status_code == 410
    assert "The tourism office stopped sharing this observatory." in html_text(refused.text)
    assert office.get(f"/en/observatory/{old}/observatory.csv?part=week").status_code == 410
    # the office can share again: a link made afterwards works
    new = _share(office)
    assert office.get(f"/en/observatory/{new}").status_code == 200


def test_share_links_last_thirty_days(office: TestClient) -> None:
    grant = _share(office)
    claims = _authority(office).read(SHARE_AUDIENCE, grant)
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600


def test_each_field_of_the_provider_form_has_its_own_error(office: TestClient) -> None:
    page = office.post(
        "/en/office/providers", data={"name": " ", "email": "voile@example.test"}
    ).text
    name = re.search(r'<input id="provider-name"[^>]*>', page)
    email = re.search(r'<input id="provider-email"[^>]*>', page)
    assert name and email
    assert 'aria-invalid="true"' in name.group(0)
    assert 'aria-describedby="provider-name-error"' in name.group(0)
    assert "aria-invalid" not in email.group(0)
    assert 'id="provider-name-error">Enter the provider&#39;s name.</p>' in page
    assert '<a href="#provider-name">' in page
    page = office.post("/en/office/providers", data={"name": "Voile", "email": "nope"}).text
    email = re.search(r'<input id="provider-email"[^>]*>', page)
    name = re.search(r'<input id="provider-name"[^>]*>', page)
    assert email and name
    assert 'aria-describedby="provider-email-help provider-email-error"' in email.group(0)
    assert 'aria-invalid="true"' in email.group(0) and "aria-invalid" not in name.group(0)


def test_every_chart_can_be_scrolled_with_the_keyboard(office: TestClient) -> None:
    page = office.get("/en/office/").text
    frames = re.findall(r'<div class="chart-frame"[^>]*>', page)
    assert len(frames) == 4
    for frame in frames:
        assert 'tabindex="0"' in frame and 'role="region"' in frame and "aria-label=" in frame


def _switch(page: str) -> str:
    match = re.search(r'<a href="([^"]+)" hreflang=', page)
    assert match
    return match.group(1)


def test_the_language_switch_after_a_provider_form(office: TestClient) -> None:
    page = office.post("/fr/office/providers", data={"name": "", "email": ""})
    assert page.status_code == 422
    assert _switch(page.text) == "/en/office/providers"


def test_the_language_switch_after_an_onboarding_link(office: TestClient) -> None:
    page = office.post(f"/en/office/providers/{HIKES}/onboarding")
    assert page.status_code == 200
    assert _switch(page.text) == "/fr/office/providers"


def test_every_provider_is_listed_past_one_page(office: TestClient, fake: OfficeFakes) -> None:
    for n in range(205):
        fake.providers.append(
            fake.providers[1] | {"id": str(uuid.uuid4()), "name": f"Provider {n:03d}"}
        )
        fake.accounts[fake.providers[-1]["id"]] = fake.accounts[HIKES] | {"requirements_due": []}
    page = office.get("/en/office/providers").text
    assert "207 provider(s)" in html_text(page)
    assert "Provider 204" in page
    offsets = [c[3]["offset"] for c in fake.calls_to("catalog", "/v1/providers")]
    assert offsets == ["0", "200"]
