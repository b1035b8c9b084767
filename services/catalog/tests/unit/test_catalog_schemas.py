from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from comptoir_catalog.domain import seats_for_sale
from comptoir_catalog.schemas import (
    ActivityIn,
    ActivityPatch,
    ProviderIn,
    SlotIn,
    SlotPatch,
    TerritoryIn,
)


def activity(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider_id": str(uuid.uuid4()),
        "title": {"fr": "Kayak au coucher du soleil", "en": "Sunset kayak tour"},
        "description": {"fr": "Deux heures sur le lac.", "en": "Two hours on the lake."},
        "category": "nautical",
        "commune": "Embrun",
        "currency": "EUR",
        "units": [{"id": "adult", "price_cents": 3500}, {"id": "child", "price_cents": 2000}],
    }
    body.update(changes)
    return body


def test_the_documented_activity_body_is_accepted() -> None:
    parsed = ActivityIn.model_validate(activity())
    assert [u.price_cents for u in parsed.units] == [3500, 2000]


@pytest.mark.parametrize(
    "changes",
    [
        {"units": [{"id": "adult", "price_cents": 1}, {"id": "adult", "price_cents": 2}]},
        {"units": []},
        {"units": [{"id": "adult", "price_cents": -1}]},
        {"units": [{"id": "adult", "price_cents": 12.5}]},
        {"currency": "euro"},
        {"title": {"fr": "Kayak"}},
        {"category": "Nautical Sports!"},
        {"unexpected": True},
    ],
)
def test_bad_activities_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ActivityIn.model_validate(activity(**changes))


def test_what_to_bring_is_optional_free_text_of_bounded_length() -> None:
    assert ActivityIn.model_validate(activity()).what_to_bring is None
    bring = "Maillot de bain, serviette, crème solaire."
    assert ActivityIn.model_validate(activity(what_to_bring=bring)).what_to_bring == bring
    assert ActivityIn.model_validate(activity(what_to_bring="x" * 500)).what_to_bring
    with pytest.raises(ValidationError, match="what_to_bring"):
        ActivityIn.model_validate(activity(what_to_bring="x" * 501))
    with pytest.raises(ValidationError, match="what_to_bring"):
        ActivityIn.model_validate(activity(what_to_bring=["water"]))


def test_slots_need_an_aware_start_and_a_positive_capacity() -> None:
    SlotIn.model_validate(
        {"start": "2027-07-14T18:00:00Z", "duration_minutes": 120, "capacity": 12}
    )
    for bad in (
        {"start": "2027-07-14T18:00:00", "duration_minutes": 120, "capacity": 12},
        {"start": "2027-07-14T18:00:00Z", "duration_minutes": 120, "capacity": 0},
        {"start": "2027-07-14T18:00:00Z", "duration_minutes": 0, "capacity": 3},
    ):
        with pytest.raises(ValidationError):
            SlotIn.model_validate(bad)


def test_territories_know_their_time_zone_and_fee() -> None:
    assert TerritoryIn(name="Serre-Ponçon").fee_rate_bps == 0
    with pytest.raises(ValidationError):
        TerritoryIn(name="Serre-Ponçon", timezone="Europe/Nowhere")
    with pytest.raises(ValidationError):
        TerritoryIn(name="Serre-Ponçon", fee_rate_bps=10_001)


def test_providers_need_a_real_address() -> None:
    with pytest.raises(ValidationError):
        ProviderIn(name="Kayak Embrun", email="not-an-address")


def photo(url: str) -> dict[str, Any]:
    return {"url": url, "alt": {"fr": "Le lac au couchant", "en": "The lake at sunset"}}


@pytest.mark.parametrize(
    "url",
    [
        "/static/demo/lake-kayak.svg",
        "/static/demo/lake-kayak.svg?v=2",
        "https://images.example.org/kayak.jpg",
        "https://cdn.example.org:8443/a/b/kayak.webp?w=800#top",
    ],
)
def test_photos_come_from_https_or_the_storefront(url: str) -> None:
    parsed = ActivityIn.model_validate(activity(photos=[photo(url)]))
    assert parsed.photos[0].url == url
    assert parsed.photos[0].alt.en == "The lake at sunset"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://images.example.org/kayak.jpg", "https:// address"),
        ("javascript:alert(1)", "https:// address"),
        ("data:image/svg+xml;base64,PHN2Zz4=", "https:// address"),
        ("//images.example.org/kayak.jpg", "https:// address"),
        ("static/demo/kayak.svg", "https:// address"),
        ("/images/kayak.svg", "https:// address"),
        ("https:///kayak.jpg", "needs a host name"),
        ("/static/", "must name a file"),
        ("/static/../main.py", "cannot contain '..'"),
        ("/static/demo/lake kayak.svg", "cannot contain spaces"),
        ('https://example.org/k.jpg"onerror="x', "cannot contain spaces, quotes"),
        ("", "at least 1 character"),
    ],
)
def test_other_photo_urls_are_refused_with_the_reason(url: str, says: str) -> None:
    with pytest.raises(ValidationError, match=r"photos\.0\.url") as refused:
        ActivityIn.model_validate(activity(photos=[photo(url)]))
    assert says in str(refused.value)


def test_photos_are_optional_at_most_eight_and_need_both_alt_texts() -> None:
    assert ActivityIn.model_validate(activity()).photos == []
    eight = [photo(f"/static/demo/{n}.svg") for n in range(8)]
    assert len(ActivityIn.model_validate(activity(photos=eight)).photos) == 8
    with pytest.raises(ValidationError, match="at most 8"):
        ActivityIn.model_validate(activity(photos=[*eight, photo("/static/demo/9.svg")]))
    with pytest.raises(ValidationError, match="alt"):
        ActivityIn.model_validate(
            activity(photos=[{"url": "/static/demo/a.svg", "alt": {"fr": "Le lac"}}])
        )
    with pytest.raises(ValidationError, match="caption"):
        ActivityIn.model_validate(activity(photos=[photo("/static/a.svg") | {"caption": "x"}]))


def test_a_patch_holds_only_what_was_sent() -> None:
    assert ActivityPatch.model_validate({}).changes() == {}
    patch = ActivityPatch.model_validate(
        {"units": [{"id": "adult", "price_cents": 3900}], "what_to_bring": None}
    )
    assert patch.changes() == {
        "units": [{"id": "adult", "price_cents": 3900, "type": "ADULT", "seats": 1}],
        "what_to_bring": None,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"provider_id": str(uuid.uuid4())}, "provider_id"),
        ({"currency": "CHF"}, "currency"),
        ({"title": None}, "title"),
        ({"units": None}, "units"),
        ({"photos": None}, "photos"),
        ({"units": []}, "units"),
        (
            {"units": [{"id": "adult", "price_cents": 1}, {"id": "adult", "price_cents": 2}]},
            "units",
        ),
        (
            {"cancellation_policy": [{"hours_before": 24, "refund_percent": 100}] * 2},
            "cancellation_policy",
        ),
        ({"min_units": 0}, "min_units"),
        ({"photos": [photo("ftp://example.org/a.jpg")]}, r"photos\.0\.url"),
        ({"meeting_point": "x" * 501}, "meeting_point"),
    ],
)
def test_a_patch_follows_the_rules_of_a_new_activity(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ActivityPatch.model_validate(changes)


def test_min_units_above_max_units_is_refused_whole() -> None:
    with pytest.raises(ValidationError, match="min_units cannot exceed max_units"):
        ActivityIn.model_validate(activity(min_units=5, max_units=4))


def test_a_slot_change_is_a_capacity_from_zero_and_or_an_opening() -> None:
    assert SlotPatch.model_validate({}).model_dump(exclude_unset=True) == {}
    assert SlotPatch.model_validate({"capacity": 0, "status": "CLOSED"}).capacity == 0
    for bad in (
        {"capacity": -1},
        {"capacity": 10_001},
        {"capacity": None},
        {"status": "CANCELLED"},
        {"status": None},
        {"start": "2027-07-14T18:00:00Z"},
    ):
        with pytest.raises(ValidationError):
            SlotPatch.model_validate(bad)


@pytest.mark.parametrize(
    ("capacity", "taken", "status", "for_sale"),
    [
        (10, 0, "OPEN", 10),
        (10, 6, "OPEN", 4),
        (5, 6, "OPEN", 0),
        (0, 0, "OPEN", 0),
        (10, 2, "CLOSED", 0),
        (10, 2, "CANCELLED", 0),
    ],
)
def test_seats_for_sale(capacity: int, taken: int, status: str, for_sale: int) -> None:
    assert seats_for_sale(capacity, taken, status) == for_sale
