"""The payment rules: office fee, Stripe request shapes, idempotency keys, the state machine."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comptoir_payments import domain
from comptoir_payments.domain import PaymentStatus

RESERVATION = uuid.UUID("6f1c1c52-1b9e-4d51-9a55-0c3b1d0b8a10")
PROVIDER = uuid.UUID("0b7a4c1e-5a0c-4a57-8a8e-2f1f3d5f0c01")
TERRITORY = uuid.UUID("2c9d7c8e-0a44-4d0e-9a8e-5a3f7b1e9d02")


def intent_params(amount: int, fee: int) -> dict:
    return domain.payment_intent_params(
        reservation_id=RESERVATION,
        provider_id=PROVIDER,
        territory_id=TERRITORY,
        amount_cents=amount,
        currency="EUR",
        application_fee_cents=fee,
    )


@pytest.mark.parametrize(
    ("total", "bps", "fee"),
    [(4200, 0, 0), (4200, 250, 105), (1999, 150, 30), (1, 5000, 1), (10_000, 10_000, 10_000)],
)
def test_office_fee_is_the_territory_rate_rounded_half_up(total: int, bps: int, fee: int) -> None:
    assert domain.application_fee(total, bps) == fee


def test_a_zero_fee_territory_sends_no_application_fee_to_stripe() -> None:
    params = intent_params(4200, 0)
    assert "application_fee_amount" not in params
    assert params["amount"] == 4200


def test_a_visible_office_fee_is_the_application_fee_of_the_direct_charge() -> None:
    params = intent_params(4200, domain.application_fee(4200, 250))
    assert params["application_fee_amount"] == 105
    assert params["amount"] == 4200
    assert params["currency"] == "eur"
    assert params["metadata"]["reservation_id"] == str(RESERVATION)
    assert params["automatic_payment_methods"] == {"enabled": True}


def test_idempotency_keys_are_derived_from_our_ids() -> None:
    other = uuid.uuid4()
    assert domain.payment_intent_idempotency_key(RESERVATION) == (
        domain.payment_intent_idempotency_key(uuid.UUID(str(RESERVATION)))
    )
    assert domain.payment_intent_idempotency_key(RESERVATION) != (
        domain.payment_intent_idempotency_key(other)
    )
    assert domain.account_idempotency_key(PROVIDER) == domain.account_idempotency_key(PROVIDER)
    keys = {
        domain.payment_intent_idempotency_key(RESERVATION),
        domain.cancel_idempotency_key(RESERVATION),
        domain.account_idempotency_key(RESERVATION),
    }
    assert len(keys) == 3, "each kind of call has its own key"
    assert all(len(k) <= 255 for k in keys), "Stripe accepts keys up to 255 characters"


def test_connected_account_is_express_in_france_with_cards_and_transfers() -> None:
    params = domain.connected_account_params(PROVIDER, "kayak@example.fr")
    assert params["type"] == "express"
    assert params["country"] == "FR"
    assert params["email"] == "kayak@example.fr"
    assert params["capabilities"] == {
        "card_payments": {"requested": True},
        "transfers": {"requested": True},
    }


@pytest.mark.parametrize(
    ("current", "outcome", "expected"),
    [
        (PaymentStatus.REQUIRES_PAYMENT, "succeeded", PaymentStatus.SUCCEEDED),
        (PaymentStatus.REQUIRES_PAYMENT, "failed", PaymentStatus.FAILED),
        (PaymentStatus.FAILED, "succeeded", PaymentStatus.SUCCEEDED),
        (PaymentStatus.FAILED, "failed", None),
        (PaymentStatus.CANCELED, "succeeded", PaymentStatus.SUCCEEDED),
        (PaymentStatus.CANCELED, "failed", None),
        (PaymentStatus.SUCCEEDED, "succeeded", None),
        (PaymentStatus.SUCCEEDED, "failed", None),
        (PaymentStatus.PENDING, "succeeded", None),
        (PaymentStatus.PENDING, "failed", None),
    ],
)
def test_stripe_outcomes(current: PaymentStatus, outcome: str, expected: PaymentStatus) -> None:
    assert domain.after_stripe_outcome(current, outcome) == expected  # type: ignore[arg-type]


def _replay(start: PaymentStatus, steps: list[str]) -> list[PaymentStatus]:
    status, seen = start, [start]
    for step in steps:
        if step == "released":
            decision = domain.after_hold_released(status, has_payment_intent=True)
            new = decision.status
        else:
            new = domain.after_stripe_outcome(status, step)  # type: ignore[arg-type]
        status = new or status
        seen.append(status)
    return seen


@given(
    start=st.sampled_from(list(PaymentStatus)),
    steps=st.lists(st.sampled_from(["succeeded", "failed", "released"]), max_size=12),
)
def test_a_succeeded_payment_never_regresses_whatever_arrives(
    start: PaymentStatus, steps: list[str]
) -> None:
    seen = _replay(start, steps)
    if PaymentStatus.SUCCEEDED in seen:
        first = seen.index(PaymentStatus.SUCCEEDED)
        assert all(s == PaymentStatus.SUCCEEDED for s in seen[first:])


@given(steps=st.lists(st.sampled_from(["succeeded", "failed", "released"]), max_size=12))
def test_any_success_from_stripe_is_kept_once_a_payment_intent_exists(steps: list[str]) -> None:
    seen = _replay(PaymentStatus.REQUIRES_PAYMENT, steps)
    assert (seen[-1] == PaymentStatus.SUCCEEDED) == ("succeeded" in steps)


def test_a_released_hold_cancels_only_what_is_not_paid() -> None:
    unpaid = domain.after_hold_released(PaymentStatus.REQUIRES_PAYMENT, has_payment_intent=True)
    assert unpaid == domain.ReleaseDecision(PaymentStatus.CANCELED, cancel_at_stripe=True)
    pending = domain.after_hold_released(PaymentStatus.PENDING, has_payment_intent=False)
    assert pending == domain.ReleaseDecision(PaymentStatus.CANCELED, cancel_at_stripe=False)
    paid = domain.after_hold_released(PaymentStatus.SUCCEEDED, has_payment_intent=True)
    assert paid == domain.ReleaseDecision(None, cancel_at_stripe=False)


def test_only_an_open_payment_intent_is_payable() -> None:
    assert domain.is_payable(PaymentStatus.REQUIRES_PAYMENT, "pi_1")
    assert domain.is_payable(PaymentStatus.FAILED, "pi_1"), "another card may be tried"
    assert not domain.is_payable(PaymentStatus.REQUIRES_PAYMENT, None)
    for status in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED, PaymentStatus.PENDING):
        assert not domain.is_payable(status, "pi_1")
