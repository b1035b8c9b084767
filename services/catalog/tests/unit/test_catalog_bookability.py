from __future__ import annotations

from comptoir_catalog.domain import bookability


def test_only_an_account_that_takes_card_payments_makes_activities_bookable() -> None:
    assert bookability(
        has_stripe_account=True, charges_enabled=True, details_submitted=True
    ).bookable
    for state in (
        {"has_stripe_account": False, "charges_enabled": False, "details_submitted": False},
        {"has_stripe_account": True, "charges_enabled": False, "details_submitted": False},
        {"has_stripe_account": True, "charges_enabled": False, "details_submitted": True},
    ):
        verdict = bookability(**state)
        assert not verdict.bookable and verdict.reason


def test_the_reason_says_what_stripe_still_needs_without_flooding() -> None:
    due = [f"field_{i}" for i in range(8)]
    reason = bookability(
        has_stripe_account=True,
        charges_enabled=False,
        details_submitted=True,
        disabled_reason="rejected.fraud",
        requirements_due=due,
    ).reason
    assert reason is not None
    assert "(rejected.fraud)" in reason
    assert "field_0, field_1, field_2, field_3, field_4 and 3 more" in reason
