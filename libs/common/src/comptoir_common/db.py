"""Database engine and sessions (SQLModel on asyncpg), one database per service."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]


def utcnow() -> datetime:
    return datetime.now(UTC)


def Timestamp() -> DateTime:
    return DateTime(timezone=True)


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
    )


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def sync_url(url: str) -> str:
    """The same database for synchronous tools (Alembic) through psycopg."""
    return url.replace("+asyncpg", "+psycopg")
