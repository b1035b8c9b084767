"""The provider's daily digest: the preference API, and the digest recorded by the
scheduler once per local day, sent through the real SMTP path."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_notifications_api import bearer, booking_issuer, office

from comptoir_common.events import v1
from comptoir_notifications.scheduler import Scheduler

PREFERENCES = "/v1/providers/{}/notification-preferences"


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def scheduler(settings, sessions) -> Scheduler:
    return Scheduler(sessions, settings)


def as_provider(booking, provider_id: uuid.UUID | None = None) -> dict[str, str]:
    return bearer(
        office.issue(
            role="provider",
            subject=f"provider-{booking.token}",
            territory_id=booking.territory_id,
            provider_id=provider_id or booking.provider_id,
        )
    )


async def test_who_reads_and_writes_the_preference(client, consumers, booking, to_wire) -> None:
    url = PREFERENCES.format(booking.provider_id)
    # Unknown provider (catalog has not told us of it yet): 404.
    assert (await client.get(url, headers=as_provider(booking))).status_code == 404
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ActivityUpdated, to_wire(booking.activity(), "catalog"))

    answer = await client.get(url, headers=as_provider(booking))
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"provider_id": None} == {
        "provider_id": None,
        "booking_notices": "EACH",
        "digest_hour": 18,
        "timezone": "Europe/Paris",
        "next_digest_at": None,
        "last_digest_date": None,
    }
    body = {"booking_notices": "DAILY_DIGEST", "digest_hour": 7, "timezone": "America/Cayenne"}
    answer = await client.put(url, json=body, headers=as_provider(booking))
    assert answer.status_code == 200, answer.text
    next_at = datetime.fromisoformat(answer.json()["next_digest_at"])
    assert next_at.utcoffset() == timedelta(0) and (next_at.hour, next_at.minute) == (10, 0)
    assert (await client.get(url, headers=as_provider(booking))).json()["timezone"] == (
        "America/Cayenne"
    )

    admin = bearer(office.issue(role="admin", subject="agent", territory_id=booking.territory_id))
    answer = await client.put(url, json={"booking_notices": "EACH"}, headers=admin)
    assert answer.status_code == 200
    assert answer.json()["booking_notices"] == "EACH"

    other_provider = as_provider(booking, provider_id=uuid.uuid4())
    assert (await client.get(url, headers=other_provider)).status_code == 404
    assert (await client.put(url, json=body, headers=other_provider)).status_code == 404
    other_office = bearer(office.issue(role="admin", subject="x", territory_id=uuid.uuid4()))
    assert (await client.get(url, headers=other_office)).status_code == 404
    visitor = bearer(
        booking_issuer.issue(
            role="visitor",
            subject="visitor",
            territory_id=booking.territory_id,
            reservation_id=booking.reservation_id,
        )
    )
    assert (await client.get(url, headers=visitor)).status_code == 403

    for bad in (
        {"booking_notices": "WEEKLY"},
        {"booking_notices": "DAILY_DIGEST", "digest_hour": 24},
        {"booking_notices": "DAILY_DIGEST", "timezone": "Europe/Atlantis"},
    ):
        answer = await client.put(url, json=bad, headers=as_provider(booking))
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"] == "application/problem+json"
    assert (await client.get(url, headers=as_provider(booking))).json()["booking_notices"] == (
        "EACH"
    )


async def test_the_daily_digest_lists_the_day_once_and_nothing_on_a_quiet_day(
    client, consumers, sender, scheduler, booking, captured, to_wire, rows
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    await consumers.process(v1.ActivityUpdated, to_wire(booking.activity(), "catalog"))
    answer = await client.put(
        PREFERENCES.format(booking.provider_id),
        json={"booking_notices": "DAILY_DIGEST", "digest_hour": 18},
        headers=as_provider(booking),
    )
    due = datetime.fromisoformat(answer.json()["next_digest_at"])

    confirmed = to_wire(booking.confirmed())
    assert await consumers.process(v1.ReservationConfirmed, confirmed) == "applied"
    assert await consumers.process(v1.ReservationConfirmed, confirmed) == "duplicate"
    await consumers.process(v1.ReservationRebooked, to_wire(booking.rebooked()))
    other = dataclasses.replace(booking, reservation_id=uuid.uuid4())
    await consumers.process(v1.ReservationConfirmed, to_wire(other.confirmed(name="Luc Petit")))
    await consumers.process(v1.ReservationCancelled, to_wire(other.cancelled("VISITOR")))
    # The visitors hear at once; the provider waits for its digest.
    assert await sender.send_due() == 4
    assert {r.recipient_kind for r in await rows()} == {"visitor"}

    assert await scheduler.run_once(due - timedelta(minutes=1)) == 0
    assert await scheduler.run_once(due + timedelta(minutes=1)) == 1
    assert await scheduler.run_once(due + timedelta(minutes=2)) == 0
    assert await sender.send_due() == 1
    [digest] = [
        m for m in captured.messages() if m["To"].addresses[0].addr_spec == booking.provider_email
    ]
    day = due.astimezone(ZoneInfo("Europe/Paris")).date()
    assert str(digest["Subject"]).startswith("Vos réservations : récapitulatif du ")
    assert str(day.year) in str(digest["Subject"])
    text = plain(digest)
    assert (
        "depuis le précédent : 2 nouvelles réservations, 1 réservation déplacée, 1 annulation."
        in text
    )
    assert (
        f"  - Balade en canoë, mercredi 14 juillet 2027 à 20:00 — Marie Dupont "
        f"(réservation {booking.reservation_id})"
    ) in text
    assert "Réservations déplacées :" in text
    assert f"Luc Petit (réservation {other.reservation_id})" in text
    assert "Marie Dupont" in text.split("Réservations annulées")[0]

    # The next day nothing happened: nothing is sent, and the day after is planned.
    after = (
        await client.get(PREFERENCES.format(booking.provider_id), headers=as_provider(booking))
    ).json()
    next_due = datetime.fromisoformat(after["next_digest_at"])
    assert next_due - due == timedelta(days=1)
    assert after["last_digest_date"] == day.isoformat()
    assert await scheduler.run_once(next_due + timedelta(minutes=1)) == 0
    assert await sender.send_due() == 0


async def test_back_to_one_mail_each_still_sends_the_waiting_lines_once(
    client, consumers, sender, scheduler, booking, captured, to_wire
) -> None:
    await consumers.process(v1.ProviderUpdated, to_wire(booking.provider(), "catalog"))
    url = PREFERENCES.format(booking.provider_id)
    answer = await client.put(
        url, json={"booking_notices": "DAILY_DIGEST"}, headers=as_provider(booking)
    )
    due = datetime.fromisoformat(answer.json()["next_digest_at"])
    await consumers.process(v1.ReservationConfirmed, to_wire(booking.confirmed()))
    await client.put(url, json={"booking_notices": "EACH"}, headers=as_provider(booking))
    await consumers.process(v1.ReservationCancelled, to_wire(booking.cancelled("PROVIDER")))
    assert await sender.send_due() == 3  # two visitor mails, the provider's cancellation
    assert await scheduler.run_once(due + timedelta(minutes=1)) == 1
    assert await sender.send_due() == 1
    subjects = sorted(
        str(m["Subject"])
        for m in captured.messages()
        if m["To"].addresses[0].addr_spec == booking.provider_email
    )
    assert subjects[0].startswith("Réservation annulée")
    assert subjects[1].startswith("Vos réservations : récapitulatif du ")
    after = (await client.get(url, headers=as_provider(booking))).json()
    assert after["next_digest_at"] is None
