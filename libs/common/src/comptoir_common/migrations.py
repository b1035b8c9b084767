"""Alembic helpers: each service keeps its own migrations; they run at start-up under a
PostgreSQL advisory lock so that several processes starting together migrate once."""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text

from comptoir_common.db import sync_url


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return cfg


def upgrade_to_head(migrations_dir: Path, database_url: str, service: str) -> None:
    cfg = alembic_config(migrations_dir, database_url)
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    lock = zlib.crc32(f"comptoir-migrate-{service}".encode())
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock})
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
            conn.commit()
    engine.dispose()


def run_migrations(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
