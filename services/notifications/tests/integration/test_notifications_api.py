"""GET /v1/messages: who sees which reservation's messages."""

from __future__ import annotations

import uuid

from comptoir_common.auth import OFFICE_ISSUER, VISITOR_ISSUER, TokenIssuer
from comptoir_common.events import v1
from comptoir_common.settings import dev_key_path

office = TokenIssuer(dev_key_path("office.pem"), OFFICE_ISSUER)
booking_issuer = TokenIssuer(dev_key_path("visitor.pem"), VISITOR_ISSUER)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_staff_see_their_scope_and_others_get_404(
    client, consumers, sender, booking, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    await sender.send_due()
    query = {"reservation_id": str(booking.reservation_id)}

    admin = office.issue(role="admin", subject="agent-1", territory_id=booking.territory_id)
    answer = await client.get("/v1/messages", params=query, headers=bearer(admin))
    assert answer.status_code == 200
    page = answer.json()
    assert page["total"] == 2
    items = sorted(page["items"], key=lambda m: m["recipient_kind"])
    assert [(m["recipient_kind"], m["channel"], m["status"]) for m in items] == [
        ("provider", "email", "SENT"),
        ("visitor", "email", "SENT"),
    ]
    assert items[1]["event_type"] == "booking.confirmed.v1"
    assert items[1]["subject"] == "Réservation confirmée : Balade en canoë"
    assert items[1]["sent_at"] is not None and items[1]["error"] is None
    assert set(items[1]) == {
        "id",
        "reservation_id",
        "slot_id",
        "event_type",
        "recipient_kind",
        "channel",
        "status",
        "subject",
        "created_at",
        "sent_at",
        "error",
    }
    assert booking.token not in answer.text  # no recipient address in the answer

    own_provider = office.issue(
        role="provider",
        subject="p",
        territory_id=booking.territory_id,
        provider_id=booking.provider_id,
    )
    answer = await client.get("/v1/messages", params=query, headers=bearer(own_provider))
    assert answer.status_code == 200 and answer.json()["total"] == 2

    other_provider = office.issue(
        role="provider", subject="q", territory_id=booking.territory_id, provider_id=uuid.uuid4()
    )
    answer = await client.get("/v1/messages", params=query, headers=bearer(other_provider))
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    listing = await client.get("/v1/messages", headers=bearer(other_provider))
    assert listing.status_code == 200 and listing.json()["total"] == 0

    other_office = office.issue(role="admin", subject="agent-2", territory_id=uuid.uuid4())
    answer = await client.get("/v1/messages", params=query, headers=bearer(other_office))
    assert answer.status_code == 404

    visitor = booking_issuer.issue(
        role="visitor",
        subject="v",
        territory_id=booking.territory_id,
        reservation_id=booking.reservation_id,
    )
    assert (
        await client.get("/v1/messages", params=query, headers=bearer(visitor))
    ).status_code == 403
    assert (await client.get("/v1/messages", params=query)).status_code == 401


async def test_interrupted_send_shows_as_unknown(
    client, consumers, sender, sessions, booking, to_wire
) -> None:
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    await sender.claim()
    sender.settings = sender.settings.model_copy(update={"mail_stale_sending_seconds": 0})
    await sender.report_interrupted()

    admin = office.issue(role="admin", subject="agent-1", territory_id=booking.territory_id)
    answer = await client.get(
        "/v1/messages",
        params={"reservation_id": str(booking.reservation_id)},
        headers=bearer(admin),
    )
    [visitor] = [m for m in answer.json()["items"] if m["recipient_kind"] == "visitor"]
    assert visitor["status"] == "UNKNOWN"
    assert "not sent again (at most once)" in visitor["error"]
    assert visitor["sent_at"] is None


async def test_departure_summary_is_listed_by_slot(client, consumers, booking, to_wire) -> None:
    await consumers.process(v1.SlotCancelled, to_wire(booking.slot_cancelled(reservations=0)))
    own_provider = office.issue(
        role="provider",
        subject="p",
        territory_id=booking.territory_id,
        provider_id=booking.provider_id,
    )
    answer = await client.get(
        "/v1/messages", params={"slot_id": str(booking.slot_id)}, headers=bearer(own_provider)
    )
    assert answer.status_code == 200
    [summary] = answer.json()["items"]
    assert summary["reservation_id"] is None
    assert summary["slot_id"] == str(booking.slot_id)
    assert summary["event_type"] == "booking.slot-cancelled.v1"
    assert summary["recipient_kind"] == "provider"

    other_provider = office.issue(
        role="provider", subject="q", territory_id=booking.territory_id, provider_id=uuid.uuid4()
    )
    answer = await client.get(
        "/v1/messages", params={"slot_id": str(booking.slot_id)}, headers=bearer(other_provider)
    )
    assert answer.status_code == 404
