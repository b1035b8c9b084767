"""Database engine and sessions (SQLModel on asyncpg), one database per service."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import DateTime
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def utcnow() -> datetime:
    return datetime.now(UTC)


def Timestamp() -> DateTime:
    return DateTime(timezone=True)


def connect_args(url: str) -> dict[str, Any]:
    """asyncpg options for ``url``: no TLS to a server on this very machine.

    asyncpg negotiates TLS by default (``sslmode=prefer``); on loopback it protects
    nothing and costs CPU on every round trip. A URL that says ``ssl``/``sslmode``, or
    ``PGSSLMODE`` in the environment, decides instead.
    """
    parsed = make_url(url)
    asked = {"ssl", "sslmode"} & set(parsed.query) or "PGSSLMODE" in os.environ
    if parsed.host in _LOOPBACK and not asked:
        return {"ssl": False}
    return {}


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args=connect_args(url),
    )


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """Statements on a driver pool run outside explicit transactions and change no
    session state; asyncpg still rolls back a transaction left open."""


async def make_driver_pool(url: str, *, max_size: int) -> asyncpg.Pool:
    """A plain asyncpg pool on the same database, for hot paths that are one statement
    each (autocommit): no ORM, no pre-ping, no reset round trip on release."""
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        reset=_nothing_to_reset,
        **connect_args(url),
    )
    assert pool is not None
    return pool


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def sync_url(url: str) -> str:
    """The same database for synchronous tools (Alembic) through psycopg."""
    return url.replace("+asyncpg", "+psycopg")
