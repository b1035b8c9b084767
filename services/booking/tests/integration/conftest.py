"""Fixtures for the HTTP tests of booking's read views (agenda, reservation lists,
observatory): the real PostgreSQL migrated with booking's own migrations, catalog's
events applied through booking's projection, the routes through the real router (ASGI).

Nothing here is autouse: the modules that build their own database keep doing so.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from alembic import command
from fastapi import FastAPI

from comptoir_booking.api import router
from comptoir_common.auth import (
    OFFICE_ISSUER,
    VISITOR_ISSUER,
    TokenIssuer,
    TokenVerifier,
    generate_key_pair,
)
from comptoir_common.db import SessionFactory, make_driver_pool, make_engine, make_session_factory
from comptoir_common.migrations import alembic_config, upgrade_to_head
from comptoir_common.problems import install_problem_handlers
from comptoir_ops import infra

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
REPORTS_DB = "comptoir_booking_reports_test"
REPORTS_URL = f"postgresql+asyncpg://comptoir:comptoir@127.0.0.1:5432/{REPORTS_DB}"


def _migrate(url: str) -> None:
    """Up to head, back down past the newest revision and up again: both directions of
    the category/commune migration run."""
    upgrade_to_head(MIGRATIONS, url, "booking")
    command.downgrade(alembic_config(MIGRATIONS, url), "0005")
    upgrade_to_head(MIGRATIONS, url, "booking")


@pytest.fixture(scope="session")
async def reports_sessions() -> AsyncIterator[SessionFactory]:
    await asyncio.to_thread(infra.up, timeout=180)
    await asyncio.to_thread(infra.recreate_database, REPORTS_DB)
    await asyncio.to_thread(_migrate, REPORTS_URL)
    engine = make_engine(REPORTS_URL, pool_size=4)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def reports_pool(reports_sessions: SessionFactory) -> AsyncIterator[asyncpg.Pool]:
    """Plain connections for holds (``service.place_hold`` takes them)."""
    pool = await make_driver_pool(REPORTS_URL, max_size=4)
    yield pool
    await pool.close()


@dataclass(frozen=True)
class Tokens:
    """Signs office, provider and visitor tokens with keys made for this test run."""

    office: TokenIssuer
    visitor: TokenIssuer
    verifier: TokenVerifier

    def admin(self, territory_id: uuid.UUID) -> dict[str, str]:
        token = self.office.issue(role="admin", subject="staff@office", territory_id=territory_id)
        return {"Authorization": f"Bearer {token}"}

    def provider(self, territory_id: uuid.UUID, provider_id: uuid.UUID) -> dict[str, str]:
        token = self.office.issue(
            role="provider",
            subject=f"provider:{provider_id}",
            territory_id=territory_id,
            provider_id=provider_id,
        )
        return {"Authorization": f"Bearer {token}"}

    def visitor_of(self, territory_id: uuid.UUID, reservation_id: uuid.UUID) -> dict[str, str]:
        token = self.visitor.issue(
            role="visitor",
            subject=f"visitor:{reservation_id}",
            territory_id=territory_id,
            reservation_id=reservation_id,
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    folder = tmp_path_factory.mktemp("keys")
    for name in ("office", "visitor"):
        generate_key_pair(folder / f"{name}.pem", folder / f"{name}.pub.pem")
    return Tokens(
        office=TokenIssuer(str(folder / "office.pem"), OFFICE_ISSUER),
        visitor=TokenIssuer(str(folder / "visitor.pem"), VISITOR_ISSUER),
        verifier=TokenVerifier(
            {
                OFFICE_ISSUER: str(folder / "office.pub.pem"),
                VISITOR_ISSUER: str(folder / "visitor.pub.pem"),
            }
        ),
    )


@pytest.fixture(scope="session")
async def client(
    reports_sessions: SessionFactory, tokens: Tokens
) -> AsyncIterator[httpx.AsyncClient]:
    # The wiring create_service_app does, without the broker and Redis the lifespan
    # would start (no Idempotency-Key is sent, so Redis is never asked).
    app = FastAPI()
    app.state.token_verifier = tokens.verifier
    app.state.runtime = SimpleNamespace(
        sessions=reports_sessions, redis=None, settings=SimpleNamespace(kafka_namespace="")
    )
    install_problem_handlers(app)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://booking") as client:
        yield client
