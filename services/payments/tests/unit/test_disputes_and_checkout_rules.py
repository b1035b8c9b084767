from __future__ import annotations

import pytest

from comptoir_payments.domain import (
    account_requirements,
    after_dispute_event,
    dispute_takes_funds,
    return_page_allowed,
)

SHOPS = ["https://reserver.serre-poncon.example", "http://127.0.0.1"]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://reserver.serre-poncon.example/merci?r=1", True),
        ("http://127.0.0.1:5173/paid", True),
        ("http://reserver.serre-poncon.example/merci", False),
        ("https://reserver.serre-poncon.example.evil.example/", False),
        ("https://evil.example/?https://reserver.serre-poncon.example", False),
        ("https://user@reserver.serre-poncon.example/", False),
        ("javascript:alert(1)", False),
    ],
)
def test_return_pages_are_pages_of_allowed_storefronts(url: str, allowed: bool) -> None:
    assert return_page_allowed(url, SHOPS) is allowed


def test_an_origin_with_a_port_allows_only_that_port() -> None:
    assert return_page_allowed("http://localhost:5173/ok", ["http://localhost:5173"])
    assert not return_page_allowed("http://localhost:8080/ok", ["http://localhost:5173"])


def test_a_closed_dispute_never_reopens() -> None:
    assert after_dispute_event(None, "needs_response") == "needs_response"
    assert after_dispute_event("needs_response", "under_review") == "under_review"
    assert after_dispute_event("under_review", "won") == "won"
    for late in ("needs_response", "under_review", "lost", "won"):
        assert after_dispute_event("won", late) is None
        assert after_dispute_event("lost", late) is None
    assert after_dispute_event("needs_response", "something_new") is None


def test_only_real_disputes_take_the_providers_money() -> None:
    assert dispute_takes_funds("needs_response") and dispute_takes_funds("lost")
    assert not dispute_takes_funds("warning_needs_response")
    assert not dispute_takes_funds("warning_closed")
    assert not dispute_takes_funds("prevented")


def test_what_stripe_still_needs_is_read_from_the_account() -> None:
    account = {
        "requirements": {
            "past_due": ["external_account"],
            "currently_due": ["external_account", "individual.dob.day"],
            "disabled_reason": "requirements.past_due",
        }
    }
    assert account_requirements(account) == {
        "disabled_reason": "requirements.past_due",
        "requirements_due": ["external_account", "individual.dob.day"],
    }
    assert account_requirements({}) == {"disabled_reason": None, "requirements_due": []}
