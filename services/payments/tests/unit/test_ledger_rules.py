"""Pure ledger, payout, report and reconciliation rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from comptoir_payments import domain, ledger, report
from comptoir_payments.domain import PayoutStatus
from comptoir_payments.reconcile import Line, diff, stripe_line

RES, PROV, TERR = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def amounts(posting: ledger.Posting) -> dict[str, int]:
    return {e.account: e.amount_cents for e in posting.entries}


def test_a_payment_splits_between_the_provider_and_the_office_fee() -> None:
    posting = ledger.payment_posting(
        reservation_id=RES,
        provider_id=PROV,
        territory_id=TERR,
        amount_cents=7000,
        fee_cents=175,
        currency="EUR",
        stripe_ref="ch_1",
    )
    assert posting.key == f"payment:{RES}"
    assert amounts(posting) == {
        "visitor_payments": -7000,
        f"provider:{PROV}": 6825,
        f"office_fee:{TERR}": 175,
    }
    assert ledger.imbalance(posting.entries) == {}


def test_no_fee_no_office_fee_line() -> None:
    posting = ledger.payment_posting(
        reservation_id=RES,
        provider_id=PROV,
        territory_id=TERR,
        amount_cents=4200,
        fee_cents=0,
        currency="EUR",
        stripe_ref=None,
    )
    assert amounts(posting) == {"visitor_payments": -4200, f"provider:{PROV}": 4200}


@pytest.mark.parametrize(
    ("before", "fee_before", "refund", "share"),
    [
        (0, 0, 3500, 88),  # 87.5 rounds half up
        (3500, 88, 3500, 87),  # the rest: the whole fee comes back, never more
        (0, 0, 7000, 175),
        (0, 0, 1, 0),  # 0.025 cents
        (0, 0, 20, 1),  # 0.5 rounds up
        (6990, 175, 10, 0),  # nothing left to return
    ],
)
def test_the_fee_share_of_a_refund_is_proportional_on_the_running_total(
    before: int, fee_before: int, refund: int, share: int
) -> None:
    assert (
        ledger.refund_fee_share(
            fee_cents=175,
            paid_cents=7000,
            refunded_before_cents=before,
            fee_returned_before_cents=fee_before,
            refund_cents=refund,
        )
        == share
    )


def test_partial_refunds_return_exactly_the_fee_in_the_end() -> None:
    returned = refunded = 0
    for part in (1234, 999, 2500, 2267):
        returned += ledger.refund_fee_share(
            fee_cents=175,
            paid_cents=7000,
            refunded_before_cents=refunded,
            fee_returned_before_cents=returned,
            refund_cents=part,
        )
        refunded += part
    assert (refunded, returned) == (7000, 175)


def test_a_refund_reverses_the_shares_and_a_failure_reverses_the_refund() -> None:
    refund_id = uuid.uuid4()
    posting = ledger.refund_posting(
        refund_id=refund_id,
        reservation_id=RES,
        provider_id=PROV,
        territory_id=TERR,
        amount_cents=3500,
        fee_share_cents=88,
        currency="EUR",
        stripe_ref="re_1",
    )
    assert amounts(posting) == {
        "refunds": 3500,
        f"provider:{PROV}": -3412,
        f"office_fee:{TERR}": -88,
    }
    back = posting.reversed(f"refund-failed:{refund_id}", "refund-failed")
    assert amounts(back) == {"refunds": -3500, f"provider:{PROV}": 3412, f"office_fee:{TERR}": 88}
    assert back.stripe_ref == "re_1"


def test_imbalance_is_per_currency() -> None:
    entries = [
        ledger.Entry("a", 100, "EUR"),
        ledger.Entry("b", -100, "USD"),
    ]
    assert ledger.imbalance(entries) == {"EUR": 100, "USD": -100}


def test_stripe_fee_only_from_an_expanded_balance_transaction() -> None:
    assert domain.stripe_fee_of({"latest_charge": "ch_1"}) is None
    intent = {
        "latest_charge": {
            "id": "ch_1",
            "balance_transaction": {
                "id": "txn_1",
                "currency": "eur",
                "fee": 300,
                "fee_details": [
                    {"type": "stripe_fee", "amount": 125},
                    {"type": "application_fee", "amount": 175},
                ],
            },
        }
    }
    assert domain.stripe_fee_of(intent) == ("txn_1", 125, "EUR")
    assert domain.charge_of(intent) == "ch_1"


def test_a_paid_payout_may_fail_later_but_a_failed_one_stays_failed() -> None:
    paid, failed = PayoutStatus.PAID, PayoutStatus.FAILED
    assert domain.after_payout_event(None, paid) == paid
    assert domain.after_payout_event(None, failed) == failed
    assert domain.after_payout_event(paid, paid) is None
    assert domain.after_payout_event(paid, failed) == failed
    assert domain.after_payout_event(failed, paid) is None
    assert domain.after_payout_event(failed, failed) is None


def test_report_arithmetic() -> None:
    p2 = uuid.uuid4()
    office, prov, prov2 = f"office_fee:{TERR}", f"provider:{PROV}", f"provider:{p2}"
    rows = [
        # two payments of PROV (7000 + 3000, fee 250 in all), one of p2 (2000, fee 50)
        report.Row("payment", PROV, "visitor_payments", "EUR", -10000, 2),
        report.Row("payment", PROV, prov, "EUR", 9750, 2),
        report.Row("payment", PROV, office, "EUR", 250, 2),
        report.Row("payment", p2, "visitor_payments", "EUR", -2000, 1),
        report.Row("payment", p2, prov2, "EUR", 1950, 1),
        report.Row("payment", p2, office, "EUR", 50, 1),
        # a refund of 3500 of PROV's first payment, fee share 88
        report.Row("refund", PROV, "refunds", "EUR", 3500, 1),
        report.Row("refund", PROV, prov, "EUR", -3412, 1),
        report.Row("refund", PROV, office, "EUR", -88, 1),
        # a stripe fee and a payout
        report.Row("stripe-fee", PROV, prov, "EUR", -125, 1),
        report.Row("stripe-fee", PROV, "stripe_fees", "EUR", 125, 1),
        report.Row("payout", PROV, prov, "EUR", -5000, 1),
        report.Row("payout", PROV, f"provider_bank:{PROV}", "EUR", 5000, 1),
    ]
    [totals], lines = report.summarize(rows)
    assert (totals.gross_cents, totals.refunds_cents, totals.net_cents) == (12000, 3500, 8500)
    assert (totals.paid_to_providers_cents, totals.office_fee_cents) == (8288, 212)
    assert totals.net_cents == totals.paid_to_providers_cents + totals.office_fee_cents
    assert (totals.stripe_fees_cents, totals.payouts_cents) == (125, 5000)
    assert (totals.payments, totals.refunds) == (3, 1)
    by_provider = {p: t for p, t in lines}
    assert by_provider[PROV].net_cents == 6500
    assert by_provider[PROV].paid_to_providers_cents == 6338
    assert by_provider[p2].gross_cents == 2000
    assert by_provider[p2].refunds == 0


def test_a_refund_that_failed_later_is_not_counted() -> None:
    rows = [
        report.Row("refund", PROV, "refunds", "EUR", 3500, 1),
        report.Row("refund-failed", PROV, "refunds", "EUR", -3500, 1),
    ]
    [totals], _ = report.summarize(rows)
    assert (totals.refunds_cents, totals.refunds) == (0, 0)


def test_report_days_are_local_days() -> None:
    start, end = report.period(date(2026, 7, 1), date(2026, 7, 31), ZoneInfo("Europe/Paris"))
    assert start == datetime(2026, 6, 30, 22, tzinfo=UTC)
    assert end == datetime(2026, 7, 31, 22, tzinfo=UTC)
    assert report.zone_of("Not/AZone") is UTC
    assert report.zone_of(None) is UTC


def test_reconciliation_diff() -> None:
    ours = [
        Line("acct_1", "ch_1", "charge", 7000, "EUR"),
        Line("acct_1", "re_1", "refund", -3500, "EUR"),
        Line("acct_1", "po_1", "payout", -2000, "EUR"),
    ]
    theirs = [
        Line("acct_1", "ch_1", "charge", 7000, "EUR"),
        Line("acct_1", "re_1", "refund", -3000, "EUR"),
        Line("acct_1", "ch_2", "charge", 1500, "EUR"),
    ]
    found = {(d.ref, d.problem, d.ours_cents, d.stripe_cents) for d in diff(ours, theirs)}
    assert found == {
        ("re_1", "amounts differ", -3500, -3000),
        ("po_1", "missing at Stripe", -2000, None),
        ("ch_2", "missing on our side", None, 1500),
    }
    assert diff(ours, ours) == []


def test_stripe_balance_transactions_become_lines() -> None:
    txn = {"type": "payment", "source": "py_1", "amount": 7000, "currency": "eur"}
    assert stripe_line("acct_1", txn) == Line("acct_1", "py_1", "charge", 7000, "EUR")
    assert stripe_line("acct_1", {"type": "stripe_fee", "source": None, "amount": -1}) is None
    taken = {"type": "adjustment", "source": "dp_1", "amount": -7000, "currency": "eur"}
    back = taken | {"amount": 7000}
    assert stripe_line("acct_1", taken) == Line("acct_1", "dp_1", "dispute", -7000, "EUR")
    assert stripe_line("acct_1", back) == Line("acct_1", "dp_1", "dispute_reversal", 7000, "EUR")
    other = {"type": "adjustment", "source": "adj_1", "amount": -100, "currency": "eur"}
    assert stripe_line("acct_1", other) is None
