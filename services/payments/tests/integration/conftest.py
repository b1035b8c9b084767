"""Integration fixtures: the real PostgreSQL (comptoir_payments_test) and the real stripe-mock.

Events are fed through the service's real inbox (``Consumers.process``), HTTP goes through
the real FastAPI app (ASGI), Stripe calls go over HTTP to stripe-mock through a transport
that records what was sent (stripe-mock ignores ``Stripe-Account``, so the recording is
how a test sees that header) and can simulate an outage.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

# The dev keys (token verification) live under COMPTOIR_HOME; set before the service loads.
os.environ.setdefault("COMPTOIR_HOME", str(Path(__file__).resolve().parents[4]))

import httpx
import pytest
import stripe
from fastapi import FastAPI
from payments_support import (
    HOME,
    MIGRATIONS,
    TABLES,
    TEST_DATABASE_URL,
    WEBHOOK_SECRET,
    Deliver,
    Provider,
    RecordingTransport,
    Tokens,
    World,
    post_stripe_event,
    provider_event,
    territory_event,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from comptoir_common.auth import OFFICE_ISSUER, VISITOR_ISSUER, TokenIssuer
from comptoir_common.db import SessionFactory, make_engine, make_session_factory
from comptoir_common.events import Envelope, EventPayload
from comptoir_common.migrations import upgrade_to_head
from comptoir_common.service import Runtime
from comptoir_ops import infra, stripe_sim
from comptoir_payments.consumers import consumers
from comptoir_payments.main import (
    STRIPE_MOCK_API_BASE,
    STRIPE_MOCK_SECRET_KEY,
    PaymentsSettings,
    create_app,
)
from comptoir_payments.stripe_gateway import StripeGateway


@pytest.fixture(scope="session")
def settings() -> PaymentsSettings:
    return PaymentsSettings(
        database_url=TEST_DATABASE_URL,
        environment="test",
        stripe_webhook_secret=WEBHOOK_SECRET,
        public_base_url="https://payments.comptoir.test",
    )


@pytest.fixture(scope="session")
async def engine(settings: PaymentsSettings) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(infra.ensure_database_of, settings.database_url)
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, settings.database_url, "payments")
    engine = make_engine(settings.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessions(engine: AsyncEngine) -> SessionFactory:
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES}"))
    factory = make_session_factory(engine)
    consumers.sessions = factory
    return factory


@pytest.fixture
async def stripe_http() -> AsyncIterator[RecordingTransport]:
    transport = RecordingTransport()
    yield transport
    await transport.inner.aclose()


@pytest.fixture
async def gateway(stripe_http: RecordingTransport) -> AsyncIterator[StripeGateway]:
    http_client = stripe.HTTPXClient(timeout=10)
    await http_client._client_async.aclose()
    http_client._client_async = httpx.AsyncClient(transport=stripe_http)
    gateway = StripeGateway.create(
        STRIPE_MOCK_SECRET_KEY, STRIPE_MOCK_API_BASE, http_client=http_client, wait_min=0.01
    )
    yield gateway
    await gateway.aclose()


@pytest.fixture(scope="session")
def app(settings: PaymentsSettings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def runtime(
    app: FastAPI,
    settings: PaymentsSettings,
    engine: AsyncEngine,
    sessions: SessionFactory,
    gateway: StripeGateway,
) -> Runtime:
    # Payments uses no Redis; events stay in the outbox here (the relay is common code).
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        redis=None,  # type: ignore[arg-type]
        broker=None,  # type: ignore[arg-type]
        relay=None,  # type: ignore[arg-type]
        consumers=consumers,
        extras={"stripe": gateway},
    )
    app.state.runtime = runtime
    return runtime


@pytest.fixture
async def client(app: FastAPI, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payments") as client:
        yield client


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    keys = HOME / ".local" / "keys"
    return Tokens(
        office_issuer=TokenIssuer(str(keys / "office.pem"), OFFICE_ISSUER),
        visitor_issuer=TokenIssuer(str(keys / "visitor.pem"), VISITOR_ISSUER),
    )


@pytest.fixture
def deliver(sessions: SessionFactory) -> Deliver:
    """Hand an event to payments' inbox as Kafka would; answers applied/duplicate."""

    async def deliver(
        payload: EventPayload,
        *,
        trace_carrier: dict[str, str] | None = None,
        envelope: Envelope | None = None,
    ) -> str:
        env = envelope or Envelope.wrap(
            payload,
            producer="test",
            territory_id=getattr(payload, "territory_id", None),
            trace_carrier=trace_carrier,
        )
        return await consumers.process(type(payload), env.model_dump_json().encode())

    return deliver


@pytest.fixture
def world(deliver: Deliver, client: httpx.AsyncClient, tokens: Tokens) -> World:
    """Makes a territory and a provider (onboarded and able to take payments by default)."""

    async def make(
        *, fee_rate_bps: int = 250, onboard: bool = True, charges_enabled: bool = True
    ) -> Provider:
        p = Provider(territory_id=uuid.uuid4(), provider_id=uuid.uuid4())
        assert (
            await deliver(territory_event(p.territory_id, fee_rate_bps=fee_rate_bps)) == "applied"
        )
        assert await deliver(provider_event(p.provider_id, p.territory_id)) == "applied"
        if onboard:
            answer = await client.post(
                f"/v1/providers/{p.provider_id}/onboarding", headers=tokens.admin(p.territory_id)
            )
            assert answer.status_code == 201, answer.text
            p.account_id = answer.json()["account_id"]
        if onboard and charges_enabled:
            assert p.account_id is not None
            sent = await post_stripe_event(
                client,
                "account.updated",
                stripe_sim.account_object(p.account_id),
                account=p.account_id,
            )
            assert sent.status_code == 200, sent.text
            assert sent.json()["outcome"] == "applied: account state updated"
        return p

    return make
