"""Integration fixtures: the real PostgreSQL test database and the SMTP capture server.

Needs ``comptoir_notifications_test`` (``COMPTOIR_TEST_DATABASE_URL`` to use another)
and the mail catcher on 127.0.0.1:1025 / :8025 (``comptoir_ops.infra.mailbox``).
Each test's mail goes to addresses carrying a fresh token, so it only ever reads its own
messages from the shared capture server.
"""

from __future__ import annotations

import asyncio
import email.policy
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis
from sqlalchemy import select, text

from comptoir_common.auth import OFFICE_ISSUER, VISITOR_ISSUER, TokenVerifier
from comptoir_common.db import SessionFactory, make_engine, make_session_factory
from comptoir_common.events import Envelope, EventPayload, v1
from comptoir_common.inbox import Consumers
from comptoir_common.migrations import alembic_config, upgrade_to_head
from comptoir_common.problems import install_problem_handlers
from comptoir_notifications.api import router
from comptoir_notifications.consumers import build_consumers
from comptoir_notifications.sender import MailSender
from comptoir_notifications.settings import NotificationsSettings
from comptoir_notifications.store import OutgoingMail
from comptoir_ops import infra

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
TEST_DATABASE_URL = os.environ.get(
    "COMPTOIR_TEST_DATABASE_URL",
    "postgresql+asyncpg://comptoir:comptoir@127.0.0.1:5432/comptoir_notifications_test",
)
CAPTURE_API = os.environ.get("COMPTOIR_TEST_MAIL_API", "http://127.0.0.1:8025")
TABLES = (
    "webhook_delivery, webhook_endpoint, outgoing_mail, waiting_notice, reservation, "
    "provider_preference, digest_entry, "
    "provider, activity, inbox, outbox"
)

#: A well-formed ticket code (booking signs real ones; notifications only shows it).
TICKET_CODE = "CPT-29AACG-JA2N80-ZS2BPB-5YFT43-VCEAAZ-QHAWCZ-2A5C4W"


@pytest.fixture(scope="session")
def settings() -> NotificationsSettings:
    return NotificationsSettings(
        environment="test",
        database_url=TEST_DATABASE_URL,
        smtp_host="127.0.0.1",
        smtp_port=1025,
        smtp_timeout_seconds=5.0,
        mail_retry_seconds=0.0,
        storefront_url="http://storefront.test",
    )


def _migrate_from_scratch(url: str) -> None:
    """Down to nothing, then up to head: both directions of every migration run."""
    infra.ensure_database_of(url)
    command.downgrade(alembic_config(MIGRATIONS, url), "base")
    upgrade_to_head(MIGRATIONS, url, "notifications")


@pytest.fixture(scope="session")
async def sessions(settings: NotificationsSettings) -> AsyncIterator[SessionFactory]:
    await asyncio.to_thread(_migrate_from_scratch, settings.database_url)
    engine = make_engine(settings.database_url, pool_size=5)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture(autouse=True)
async def _empty_tables(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text(f"TRUNCATE {TABLES}"))


@pytest.fixture
def consumers(settings: NotificationsSettings, sessions: SessionFactory) -> Consumers:
    consumers = build_consumers(settings)
    consumers.sessions = sessions
    consumers.retry_backoff_seconds = 0.0
    return consumers


async def api_client(
    settings: NotificationsSettings, sessions: SessionFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """The wiring create_service_app does, without the broker the lifespan would start."""
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(
        {
            OFFICE_ISSUER: settings.auth_office_public_key,
            VISITOR_ISSUER: settings.auth_visitor_public_key,
        }
    )
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    app.state.runtime = SimpleNamespace(sessions=sessions, redis=redis, settings=settings)
    install_problem_handlers(app)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await redis.aclose()


@pytest.fixture
async def client(
    settings: NotificationsSettings, sessions: SessionFactory
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in api_client(settings, sessions):
        yield client


@pytest.fixture
def client_with() -> Any:
    """``async for client in client_with(settings, sessions)``: the API under other
    settings than the session's."""
    return api_client


@pytest.fixture
def sender(settings: NotificationsSettings, sessions: SessionFactory) -> MailSender:
    return MailSender(sessions, settings)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Finished spans of this process (added to whatever SDK provider is installed)."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@dataclass
class Booking:
    """One reservation's story, as the events other services publish about it."""

    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    territory_id: uuid.UUID = field(default_factory=uuid.uuid4)
    provider_id: uuid.UUID = field(default_factory=uuid.uuid4)
    activity_id: uuid.UUID = field(default_factory=uuid.uuid4)
    slot_id: uuid.UUID = field(default_factory=uuid.uuid4)
    reservation_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def visitor_email(self) -> str:
        return f"visitor-{self.token}@example.org"

    @property
    def provider_email(self) -> str:
        return f"provider-{self.token}@example.org"

    def provider(self, version: int = 1, name: str = "Canoës de la Vézère") -> v1.ProviderUpdated:
        return v1.ProviderUpdated(
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            version=version,
            name=name,
            email=self.provider_email,
        )

    def activity(
        self,
        version: int = 1,
        meeting_point: str | None = None,
        what_to_bring: str | None = None,
    ) -> v1.ActivityUpdated:
        return v1.ActivityUpdated(
            activity_id=self.activity_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            version=version,
            title=v1.Localized(fr="Balade en canoë", en="Canoe trip"),
            category="nature",
            commune="Montignac",
            currency="EUR",
            timezone="Europe/Paris",
            units=[v1.UnitPrice(id="adult", price_cents=1500)],
            meeting_point=meeting_point,
            what_to_bring=what_to_bring,
        )

    def confirmed(
        self, locale: v1.Locale = "fr", name: str = "Marie Dupont"
    ) -> v1.ReservationConfirmed:
        return v1.ReservationConfirmed(
            reservation_id=self.reservation_id,
            slot_id=self.slot_id,
            activity_id=self.activity_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            slot_start=datetime(2027, 7, 14, 18, 0, tzinfo=UTC),
            activity_title=v1.Localized(fr="Balade en canoë", en="Canoe trip"),
            units=[
                v1.UnitLine(id="adult", quantity=2, unit_price_cents=1500),
                v1.UnitLine(id="child", quantity=1, unit_price_cents=500),
            ],
            total_cents=3500,
            currency="EUR",
            visitor=v1.Visitor(name=name, email=self.visitor_email, locale=locale),
            slot_duration_minutes=120,
            ticket_code=TICKET_CODE,
            cancellation_policy=[v1.RefundTier(hours_before=24, refund_percent=100)],
        )

    def cancelled(
        self,
        reason: str = "VISITOR",
        refund_cents: int = 3500,
        locale: v1.Locale = "fr",
        **extra: Any,
    ) -> v1.ReservationCancelled:
        return v1.ReservationCancelled(
            reservation_id=self.reservation_id,
            slot_id=self.slot_id,
            activity_id=self.activity_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            reason=reason,  # type: ignore[arg-type]
            refund_cents=refund_cents,
            currency="EUR",
            visitor=v1.Visitor(name="Marie Dupont", email=self.visitor_email, locale=locale),
            **extra,
        )

    def rebooked(self, locale: v1.Locale = "fr") -> v1.ReservationRebooked:
        return v1.ReservationRebooked(
            reservation_id=self.reservation_id,
            slot_id=uuid.uuid4(),
            activity_id=self.activity_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            from_slot_id=self.slot_id,
            from_slot_start=datetime(2027, 7, 14, 18, 0, tzinfo=UTC),
            slot_start=datetime(2027, 7, 16, 7, 30, tzinfo=UTC),
            activity_title=v1.Localized(fr="Balade en canoë", en="Canoe trip"),
            units=[v1.UnitLine(id="adult", quantity=2, unit_price_cents=1500)],
            visitor=v1.Visitor(name="Marie Dupont", email=self.visitor_email, locale=locale),
        )

    def slot_cancelled(self, reservations: int = 3, note: str | None = None) -> v1.SlotCancelled:
        return v1.SlotCancelled(
            slot_id=self.slot_id,
            activity_id=self.activity_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            slot_start=datetime(2027, 7, 14, 18, 0, tzinfo=UTC),
            cancelled_by="OFFICE",
            note=note,
            reservations_cancelled=reservations,
        )

    def waitlist_offer(
        self, locale: v1.Locale = "fr", token: str = "tok.en-secret", hours: float = 2
    ) -> v1.WaitlistOfferMade:
        return v1.WaitlistOfferMade(
            reservation_id=self.reservation_id,
            slot_id=self.slot_id,
            activity_id=self.activity_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            waitlist_entry_id=uuid.uuid4(),
            slot_start=datetime(2027, 7, 14, 18, 0, tzinfo=UTC),
            activity_title=v1.Localized(fr="Balade en canoë", en="Canoe trip"),
            units=[v1.UnitLine(id="adult", quantity=1, unit_price_cents=1750)],
            total_cents=1750,
            currency="EUR",
            expires_at=datetime.now(UTC) + timedelta(hours=hours),
            visitor=v1.Visitor(name="Marie Dupont", email=self.visitor_email, locale=locale),
            visitor_token=token,
        )

    def refund(
        self, status: str = "SUCCEEDED", amount_cents: int = 1750, refund_id: str | None = "re_1"
    ) -> v1.RefundUpdated:
        return v1.RefundUpdated(
            reservation_id=self.reservation_id,
            provider_id=self.provider_id,
            territory_id=self.territory_id,
            refund_id=refund_id,
            amount_cents=amount_cents,
            currency="EUR",
            status=status,  # type: ignore[arg-type]
        )


def wire(payload: EventPayload, producer: str = "booking") -> bytes:
    """The bytes a Kafka message carries: a fresh envelope (new event id) around it."""
    envelope = Envelope.wrap(payload, producer=producer, territory_id=None)
    return envelope.model_dump_json().encode()


@pytest.fixture
def booking() -> Booking:
    return Booking()


@pytest.fixture
def to_wire() -> Any:
    return wire


class CapturedMail:
    """The mail catcher's HTTP API, limited to one test's token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def messages(self) -> list[EmailMessage]:
        listing = httpx.get(f"{CAPTURE_API}/api/messages", timeout=5).raise_for_status().json()
        ours = [m for m in listing if any(self.token in to for to in m["to"])]
        parsed = []
        for summary in ours:
            raw = httpx.get(f"{CAPTURE_API}/api/messages/{summary['id']}", timeout=5)
            message = BytesParser(policy=email.policy.default).parsebytes(
                raw.raise_for_status().content
            )
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


@pytest.fixture
def captured(booking: Booking) -> CapturedMail:
    return CapturedMail(booking.token)


async def mail_rows(sessions: SessionFactory) -> list[OutgoingMail]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutgoingMail).order_by(OutgoingMail.created_at, OutgoingMail.recipient_kind)  # type: ignore[arg-type]
        )
        return list(rows)


@pytest.fixture
def rows(sessions: SessionFactory) -> Any:
    async def read() -> list[OutgoingMail]:
        return await mail_rows(sessions)

    return read
