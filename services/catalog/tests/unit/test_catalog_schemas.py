from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from comptoir_catalog.schemas import ActivityIn, ProviderIn, SlotIn, TerritoryIn


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
