"""Helpers of payments' integration tests: recorded Stripe traffic, tokens, events."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from sqlalchemy import select

from comptoir_common.auth import TokenIssuer
from comptoir_common.db import SessionFactory
from comptoir_common.events import v1
from comptoir_common.outbox import OutboxMessage
from comptoir_common.service import Runtime
from comptoir_ops import stripe_sim
from comptoir_payments.store import Payment
from comptoir_payments.worker import process_due_payments

HOME = Path(__file__).resolve().parents[4]
TEST_DATABASE_URL = os.environ.get(
    "COMPTOIR_PAYMENTS_TEST_DATABASE_URL",
    "postgresql+asyncpg://comptoir:comptoir@127.0.0.1:5432/comptoir_payments_test",
)
WEBHOOK_SECRET = "whsec_integration_tests"
BOOKING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
BOOKING_CARRIER = {"traceparent": f"00-{BOOKING_TRACE}-00f067aa0ba902b7-01"}
MIGRATIONS = HOME / "services" / "payments" / "migrations"
TABLES = (
    "inbox, outbox, refund, payment, provider, territory, connected_account, released_hold, "
    "stripe_event, ledger_entry, ledger_transaction, payout, dispute"
)


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Forwards to stripe-mock, remembering each request; can answer 503 a few times.

    ``fail_status``/``fail_error`` change what the failures look like (a 400 refusal...);
    ``answer_fields`` overrides fields of stripe-mock's JSON answers (stripe-mock always
    answers a fixture: a refund is always ``succeeded`` there).
    """

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[Sent] = []
        self.fail_next = 0
        self.fail_status = 503
        self.fail_error: dict[str, Any] = {"type": "api_error", "message": "simulated outage"}
        self.answer_fields: dict[str, Any] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = (await request.aread()).decode()
        self.sent.append(
            Sent(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                form=dict(parse_qsl(body)),
                query=dict(parse_qsl(request.url.query.decode())),
            )
        )
        if self.fail_next > 0:
            self.fail_next -= 1
            return httpx.Response(self.fail_status, json={"error": self.fail_error})
        answer = await self.inner.handle_async_request(request)
        if not self.answer_fields:
            return answer
        body = json.loads(await answer.aread()) | self.answer_fields
        return httpx.Response(answer.status_code, json=body)

    def to(self, method: str, path: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method and s.path == path]


@dataclass
class Tokens:
    office_issuer: TokenIssuer
    visitor_issuer: TokenIssuer

    def admin(self, territory_id: uuid.UUID) -> dict[str, str]:
        token = self.office_issuer.issue(
            role="admin", subject="staff@office", territory_id=territory_id
        )
        return {"Authorization": f"Bearer {token}"}

    def provider(self, territory_id: uuid.UUID, provider_id: uuid.UUID) -> dict[str, str]:
        token = self.office_issuer.issue(
            role="provider",
            subject=f"provider:{provider_id}",
            territory_id=territory_id,
            provider_id=provider_id,
        )
        return {"Authorization": f"Bearer {token}"}

    def visitor(self, territory_id: uuid.UUID, reservation_id: uuid.UUID) -> dict[str, str]:
        token = self.visitor_token(territory_id, reservation_id)
        return {"Authorization": f"Bearer {token}"}

    def visitor_token(self, territory_id: uuid.UUID, reservation_id: uuid.UUID) -> str:
        return self.visitor_issuer.issue(
            role="visitor",
            subject=f"visitor:{reservation_id}",
            territory_id=territory_id,
            reservation_id=reservation_id,
        )


Deliver = Callable[..., Any]


@dataclass
class Provider:
    territory_id: uuid.UUID
    provider_id: uuid.UUID
    account_id: str | None = None


World = Callable[..., Awaitable[Provider]]


async def hold_awaiting_payment(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    *,
    fee_rate_bps: int = 250,
    total_cents: int = 4200,
) -> tuple[Provider, v1.HoldPlaced]:
    """An onboarded provider and a hold whose PaymentIntent exists (REQUIRES_PAYMENT)."""
    p = await world(fee_rate_bps=fee_rate_bps)
    hold = hold_event(uuid.uuid4(), p.provider_id, p.territory_id, total_cents=total_cents)
    assert await deliver(hold, trace_carrier=BOOKING_CARRIER) == "applied"
    assert await process_due_payments(runtime) == 1
    return p, hold


async def paid_hold(
    world: World,
    deliver: Deliver,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tokens: Tokens,
    *,
    fee_rate_bps: int = 250,
    total_cents: int = 4200,
) -> tuple[Provider, v1.HoldPlaced]:
    """A hold the visitor paid (Stripe's payment_intent.succeeded applied)."""
    p, hold = await hold_awaiting_payment(
        world, deliver, runtime, fee_rate_bps=fee_rate_bps, total_cents=total_cents
    )
    answer = await payment_answer(client, tokens, p, hold)
    paid = stripe_sim.payment_intent_object(answer, "succeeded")
    sent = await post_stripe_event(client, "payment_intent.succeeded", paid, account=p.account_id)
    assert sent.json()["outcome"] == "applied: payment REQUIRES_PAYMENT -> SUCCEEDED"
    return p, hold


async def payment_answer(
    client: httpx.AsyncClient, tokens: Tokens, p: Provider, hold: v1.HoldPlaced
) -> dict[str, Any]:
    """``GET .../payment`` as the reservation's visitor sees it."""
    answer = await client.get(
        f"/v1/reservations/{hold.reservation_id}/payment",
        headers=tokens.visitor(p.territory_id, hold.reservation_id),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def outbox(sessions: SessionFactory, topic: str) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        )
        return [row.envelope for row in rows]


async def payment_row(sessions: SessionFactory, reservation_id: uuid.UUID) -> Payment:
    async with sessions() as session:
        payment = await session.get(Payment, reservation_id)
        assert payment is not None
        return payment


async def post_stripe_event(
    client: httpx.AsyncClient,
    event_type: str,
    obj: dict[str, Any],
    *,
    account: str | None,
    secret: str = WEBHOOK_SECRET,
) -> httpx.Response:
    payload = stripe_sim.build_event(event_type, obj, account=account)
    return await client.post(
        "/v1/stripe/webhook",
        content=payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_sim.sign(payload, secret),
        },
    )


async def stripe_outcomes(
    client: httpx.AsyncClient,
    events: list[tuple[str, dict[str, Any]]],
    *,
    account: str | None,
) -> list[str]:
    """Stripe's deliveries, in this order, from ``account``: what the webhook did with each."""
    outcomes = []
    for event_type, obj in events:
        sent = await post_stripe_event(client, event_type, obj, account=account)
        assert sent.status_code == 200, sent.text
        outcomes.append(str(sent.json()["outcome"]))
    return outcomes


def territory_event(
    territory_id: uuid.UUID, *, fee_rate_bps: int, version: int = 1
) -> v1.TerritoryUpdated:
    return v1.TerritoryUpdated(
        territory_id=territory_id,
        version=version,
        name="Office de tourisme du Verdon",
        currency="EUR",
        fee_rate_bps=fee_rate_bps,
        timezone="Europe/Paris",
    )


def provider_event(
    provider_id: uuid.UUID, territory_id: uuid.UUID, *, version: int = 1
) -> v1.ProviderUpdated:
    return v1.ProviderUpdated(
        provider_id=provider_id,
        territory_id=territory_id,
        version=version,
        name="Kayak du Verdon",
        email="contact@kayak-verdon.example",
    )


def hold_event(
    reservation_id: uuid.UUID,
    provider_id: uuid.UUID,
    territory_id: uuid.UUID,
    *,
    total_cents: int = 4200,
    expires_in: timedelta = timedelta(minutes=15),
) -> v1.HoldPlaced:
    now = datetime.now(UTC)
    return v1.HoldPlaced(
        reservation_id=reservation_id,
        slot_id=uuid.uuid4(),
        activity_id=uuid.uuid4(),
        provider_id=provider_id,
        territory_id=territory_id,
        slot_start=now + timedelta(days=3),
        activity_title=v1.Localized(fr="Descente des gorges", en="Down the gorges"),
        units=[v1.UnitLine(id="adult", quantity=2, unit_price_cents=total_cents // 2)],
        total_cents=total_cents,
        currency="EUR",
        expires_at=now + expires_in,
        visitor=v1.Visitor(name="Camille", email="camille@example.org", locale="fr"),
    )


def released_event(hold: v1.HoldPlaced, reason: str = "EXPIRED") -> v1.HoldReleased:
    return v1.HoldReleased(
        reservation_id=hold.reservation_id,
        slot_id=hold.slot_id,
        activity_id=hold.activity_id,
        provider_id=hold.provider_id,
        territory_id=hold.territory_id,
        reason=reason,  # type: ignore[arg-type]
    )


def cancelled_event(
    hold: v1.HoldPlaced, *, refund_cents: int, reason: str = "VISITOR", currency: str = "EUR"
) -> v1.ReservationCancelled:
    return v1.ReservationCancelled(
        reservation_id=hold.reservation_id,
        slot_id=hold.slot_id,
        activity_id=hold.activity_id,
        provider_id=hold.provider_id,
        territory_id=hold.territory_id,
        reason=reason,  # type: ignore[arg-type]
        refund_cents=refund_cents,
        currency=currency,
        visitor=hold.visitor,
        total_cents=hold.total_cents,
        refund_percent=refund_cents * 100 // hold.total_cents,
        slot_start=hold.slot_start,
    )
