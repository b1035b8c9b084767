"""Stripe-Signature verification on the raw body (and the simulator's signer agreeing)."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from comptoir_ops import stripe_sim
from comptoir_payments.stripe_gateway import InvalidWebhook, verify_webhook

SECRET = "whsec_unit_test_secret"


def event_payload() -> bytes:
    return stripe_sim.build_event(
        "account.updated", stripe_sim.account_object("acct_1Unit"), account="acct_1Unit"
    )


def test_a_validly_signed_event_is_accepted() -> None:
    payload = event_payload()
    event = verify_webhook(payload, stripe_sim.sign(payload, SECRET), SECRET)
    assert event.type == "account.updated"
    assert event.account == "acct_1Unit"
    assert event.id.startswith("evt_")
    assert event.data.object["charges_enabled"] is True


def test_the_simulator_signs_exactly_like_stripe() -> None:
    payload = event_payload()
    t = int(time.time())
    expected = stripe.WebhookSignature.generate_signature_header(payload.decode(), SECRET, t)
    assert stripe_sim.sign(payload, SECRET, t) == expected


def test_a_signature_made_with_another_secret_is_refused() -> None:
    payload = event_payload()
    with pytest.raises(InvalidWebhook, match="signature"):
        verify_webhook(payload, stripe_sim.sign(payload, "whsec_forged"), SECRET)


def test_a_body_changed_after_signing_is_refused() -> None:
    payload = event_payload()
    header = stripe_sim.sign(payload, SECRET)
    tampered = json.loads(payload)
    tampered["data"]["object"]["charges_enabled"] = False
    with pytest.raises(InvalidWebhook, match="signature"):
        verify_webhook(json.dumps(tampered).encode(), header, SECRET)


def test_a_signature_older_than_five_minutes_is_refused() -> None:
    payload = event_payload()
    old = stripe_sim.sign(payload, SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(InvalidWebhook, match="signature"):
        verify_webhook(payload, old, SECRET)
    recent = stripe_sim.sign(payload, SECRET, timestamp=int(time.time()) - 240)
    assert verify_webhook(payload, recent, SECRET).type == "account.updated"


@pytest.mark.parametrize("header", [None, "", "t=123", "v1=abc", "garbage"])
def test_a_missing_or_malformed_header_is_refused(header: str | None) -> None:
    with pytest.raises(InvalidWebhook):
        verify_webhook(event_payload(), header, SECRET)


def test_a_signed_body_that_is_not_a_stripe_event_is_refused() -> None:
    payload = json.dumps({"object": "event", "type": "x"}).encode()  # no id, data...
    with pytest.raises(InvalidWebhook, match="not a Stripe event"):
        verify_webhook(payload, stripe_sim.sign(payload, SECRET), SECRET)
