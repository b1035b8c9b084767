"""Payout notices: each payout paid or failed is told to its provider once, in French,
through the real SMTP path."""

from __future__ import annotations

from datetime import UTC, datetime

from comptoir_common.events import v1

NBSP = "\xa0"
NNBSP = "\u202f"


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def payout(booking, status: str, **extra) -> v1.PayoutUpdated:
    return v1.PayoutUpdated(
        payout_id="po_1QxYz",
        provider_id=booking.provider_id,
        territory_id=booking.territory_id,
        amount_cents=123450,
        currency="EUR",
        status=status,  # type: ignore[arg-type]
        **extra,
    )


async def test_paid_and_failed_payouts_are_told_once_each(
    consumers, sender, booking, captured, to_wire, rows
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    paid = payout(booking, "PAID", arrival_date=datetime(2027, 7, 16, 22, 30, tzinfo=UTC))
    raw = to_wire(paid, "payments")
    assert await consumers.process(v1.PayoutUpdated, raw) == "applied"
    assert await consumers.process(v1.PayoutUpdated, raw) == "duplicate"
    # The same outcome announced again (a replayed Stripe event: a new event id).
    assert await consumers.process(v1.PayoutUpdated, to_wire(paid, "payments")) == "applied"
    failed = payout(booking, "FAILED", failure_reason="Compte\r\nbancaire clôturé")
    assert await consumers.process(v1.PayoutUpdated, to_wire(failed, "payments")) == "applied"
    assert await sender.send_due() == 2
    assert await sender.send_due() == 0

    messages = {str(m["Subject"]): m for m in captured.messages()}
    assert set(messages) == {
        "Virement envoyé : 1 234,50 €",
        "Virement échoué : 1 234,50 €",
    }
    sent = messages["Virement envoyé : 1 234,50 €"]
    assert sent["To"].addresses[0].addr_spec == booking.provider_email
    assert sent["Content-Language"] == "fr"
    text = plain(sent)
    assert f"Un virement de 1{NNBSP}234,50{NBSP}€ a été envoyé sur votre compte bancaire." in text
    assert "Référence du virement : po_1QxYz" in text
    # 22:30 UTC is the next day in Paris.
    assert "Arrivée prévue : samedi 17 juillet 2027" in text
    failed_text = plain(messages["Virement échoué : 1 234,50 €"])
    assert "Motif : Compte bancaire clôturé" in failed_text
    assert [r.recipient_kind for r in await rows()] == ["provider", "provider"]
