"""The refund rules: amount capping, the office fee flag, keys, and the refund state machine."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comptoir_ops import stripe_sim
from comptoir_payments import domain
from comptoir_payments.domain import RefundStatus

RESERVATION = uuid.UUID("6f1c1c52-1b9e-4d51-9a55-0c3b1d0b8a10")
STRIPE_STATUSES = ["pending", "requires_action", "succeeded", "failed", "canceled", "", "odd"]


@pytest.mark.parametrize(
    ("requested", "paid", "already", "amount"),
    [
        (4200, 4200, 0, 4200),
        (2100, 4200, 0, 2100),
        (9999, 4200, 0, 4200),
        (4200, 4200, 3000, 1200),
        (4200, 4200, 4200, 0),
        (100, 4200, 5000, 0),
        (0, 4200, 0, 0),
    ],
)
def test_a_refund_is_what_was_asked_capped_by_what_is_left(
    requested: int, paid: int, already: int, amount: int
) -> None:
    assert domain.refund_amount(requested, paid, already) == amount


@given(
    requested=st.integers(min_value=0, max_value=10**9),
    paid=st.integers(min_value=0, max_value=10**9),
    already=st.integers(min_value=0, max_value=10**9),
)
def test_refunds_never_exceed_the_payment_nor_go_negative(
    requested: int, paid: int, already: int
) -> None:
    amount = domain.refund_amount(requested, paid, already)
    assert 0 <= amount <= requested
    if already <= paid:
        assert already + amount <= paid


@pytest.mark.parametrize(("fee", "flag"), [(None, False), (0, False), (1, True), (105, True)])
def test_the_office_fee_goes_back_only_when_the_charge_carried_one(
    fee: int | None, flag: bool
) -> None:
    assert domain.refunds_application_fee(fee) is flag
    refund_id = uuid.uuid4()
    params = domain.refund_params(
        refund_id=refund_id,
        reservation_id=RESERVATION,
        payment_intent_id="pi_1",
        amount_cents=2100,
        refund_application_fee=flag,
    )
    assert params["payment_intent"] == "pi_1"
    assert params["amount"] == 2100
    assert params["metadata"] == {
        "reservation_id": str(RESERVATION),
        "comptoir_refund_id": str(refund_id),
    }
    assert params.get("refund_application_fee", False) is flag


def test_refund_ids_and_keys_are_derived_from_the_cancellation() -> None:
    key = domain.cancellation_refund_key(RESERVATION)
    assert domain.refund_id_for(key) == domain.refund_id_for(
        domain.cancellation_refund_key(uuid.UUID(str(RESERVATION)))
    )
    assert domain.refund_id_for(key) != domain.refund_id_for(
        domain.cancellation_refund_key(uuid.uuid4())
    )
    refund_id = domain.refund_id_for(key)
    assert domain.refund_idempotency_key(refund_id) == f"comptoir-refund-{refund_id}"


@pytest.mark.parametrize(
    ("current", "stripe_status", "new"),
    [
        (RefundStatus.PENDING, "pending", None),
        (RefundStatus.PENDING, "requires_action", None),
        (RefundStatus.PENDING, "succeeded", RefundStatus.SUCCEEDED),
        (RefundStatus.PENDING, "failed", RefundStatus.FAILED),
        (RefundStatus.PENDING, "canceled", RefundStatus.FAILED),
        (RefundStatus.SUCCEEDED, "succeeded", None),
        (RefundStatus.SUCCEEDED, "pending", None),
        (RefundStatus.SUCCEEDED, "canceled", None),
        (RefundStatus.SUCCEEDED, "failed", RefundStatus.FAILED),
        (RefundStatus.FAILED, "succeeded", None),
        (RefundStatus.FAILED, "pending", None),
        (RefundStatus.FAILED, "failed", None),
    ],
)
def test_refund_transitions(
    current: RefundStatus, stripe_status: str, new: RefundStatus | None
) -> None:
    assert domain.after_refund_outcome(current, stripe_status) == new


@given(st.lists(st.sampled_from(STRIPE_STATUSES), max_size=12))
def test_a_refund_never_goes_back_and_failed_is_the_end(statuses: list[str]) -> None:
    """Whatever Stripe reports, in any order or twice: never back to PENDING, and once
    FAILED nothing changes; SUCCEEDED only ever gives way to Stripe's own ``failed``."""
    status = RefundStatus.PENDING
    for stripe_status in statuses:
        new = domain.after_refund_outcome(status, stripe_status)
        if new is None:
            continue
        assert new != RefundStatus.PENDING
        assert status != RefundStatus.FAILED
        if status == RefundStatus.SUCCEEDED:
            assert (stripe_status, new) == ("failed", RefundStatus.FAILED)
        status = new


def test_the_simulator_builds_stripes_refund_objects_from_the_payment_answer() -> None:
    payment = {"reservation_id": str(RESERVATION), "payment_intent_id": "pi_1"}
    entry = {"refund_id": "re_1", "amount_cents": 2100, "currency": "EUR", "status": "PENDING"}
    failed = stripe_sim.refund_object(entry, "failed", payment=payment)
    assert failed["object"] == "refund"
    assert (failed["id"], failed["amount"], failed["currency"]) == ("re_1", 2100, "eur")
    assert (failed["status"], failed["failure_reason"]) == ("failed", "expired_or_canceled_card")
    assert failed["payment_intent"] == "pi_1"
    assert failed["metadata"] == {"reservation_id": str(RESERVATION)}
    succeeded = stripe_sim.refund_object(entry, "succeeded")
    assert succeeded["failure_reason"] is None and succeeded["payment_intent"] is None
    with pytest.raises(ValueError, match="not reached Stripe"):
        stripe_sim.refund_object(entry | {"refund_id": None}, "succeeded")
