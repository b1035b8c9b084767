"""Integration fixtures: the real PostgreSQL (comptoir_catalog_test, ``COMPTOIR_TEST_DATABASE_URL``
for another), events fed through catalog's real inbox, HTTP through the real app (ASGI).

Each service maps its own ``territory`` and ``provider`` tables on SQLModel's one
metadata, so catalog's models cannot be loaded in a test process that already loaded
another service's (``pytest services/payments/tests services/catalog/tests``). Then these
tests run in a process of their own (``own_process_test.py``) instead of this one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

# The dev keys (token verification) live under COMPTOIR_HOME; set before the service loads.
os.environ.setdefault("COMPTOIR_HOME", str(Path(__file__).resolve().parents[4]))

import httpx
import pytest
from alembic import command
from catalog_support import Deliver, Office, bearer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from comptoir_common.db import SessionFactory, make_engine, make_session_factory
from comptoir_common.events import Envelope, EventPayload
from comptoir_common.migrations import alembic_config, upgrade_to_head
from comptoir_common.service import Runtime
from comptoir_ops import infra

#: Modules that map tables named like catalog's (``territory``, ``provider``...).
OTHER_SERVICES_TABLES = ("comptoir_payments.store", "comptoir_notifications.store")


def other_service_tables_loaded() -> bool:
    return "comptoir_catalog.store" not in sys.modules and any(
        name in sys.modules for name in OTHER_SERVICES_TABLES
    )


OWN_PROCESS = other_service_tables_loaded()
if OWN_PROCESS:
    collect_ignore_glob = ["test_*.py"]
else:
    from comptoir_catalog.consumers import consumers
    from comptoir_catalog.main import CatalogSettings, create_app

HOME = Path(__file__).resolve().parents[4]
MIGRATIONS = HOME / "services" / "catalog" / "migrations"
TEST_DATABASE_URL = os.environ.get(
    "COMPTOIR_TEST_DATABASE_URL",
    "postgresql+asyncpg://comptoir:comptoir@127.0.0.1:5432/comptoir_catalog_test",
)
TABLES = "inbox, outbox, slot, activity, provider, territory"


@pytest.fixture(scope="session")
def settings() -> CatalogSettings:
    return CatalogSettings(database_url=TEST_DATABASE_URL, environment="test")


def _migrate_from_scratch(url: str) -> None:
    """Down to nothing, then up to head: both directions of every migration run."""
    infra.ensure_database_of(url)
    command.downgrade(alembic_config(MIGRATIONS, url), "base")
    upgrade_to_head(MIGRATIONS, url, "catalog")


@pytest.fixture(scope="session")
async def engine(settings: CatalogSettings) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(_migrate_from_scratch, settings.database_url)
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


@pytest.fixture(scope="session")
def app(settings: CatalogSettings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(
    app: FastAPI, settings: CatalogSettings, engine: AsyncEngine, sessions: SessionFactory
) -> AsyncIterator[httpx.AsyncClient]:
    # No Idempotency-Key is sent here, so no Redis; events stay in the outbox.
    app.state.runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        redis=None,  # type: ignore[arg-type]
        broker=None,  # type: ignore[arg-type]
        relay=None,  # type: ignore[arg-type]
        consumers=consumers,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
        yield client


@pytest.fixture
def deliver(sessions: SessionFactory) -> Deliver:
    """Hand an event to catalog's inbox as Kafka would; answers applied/duplicate."""

    async def deliver(payload: EventPayload) -> str:
        envelope = Envelope.wrap(
            payload, producer="payments", territory_id=getattr(payload, "territory_id", None)
        )
        return await consumers.process(type(payload), envelope.model_dump_json().encode())

    return deliver


@pytest.fixture
async def office(client: httpx.AsyncClient) -> Office:
    """A territory set up by its office admin."""
    territory_id = uuid.uuid4()
    headers = bearer("admin", territory_id)
    answer = await client.put(
        f"/v1/territories/{territory_id}", json={"name": "Verdon"}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return Office(territory_id, headers)
