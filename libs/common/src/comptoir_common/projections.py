"""Projections: a service's own copy of another service's data, kept from events.

Events carrying an aggregate's whole state come with a ``version`` that grows by one on
every change. ``upsert_newer`` writes a row only when the event is newer than what is
held, in one statement, so redelivered or reordered events change nothing and two
consumers racing on the same row cannot go backwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


async def upsert_newer(
    session: AsyncSession,
    model: type[SQLModel],
    values: dict[str, Any],
    *,
    key: str = "id",
    also_set: dict[str, Callable[[Any], ColumnElement[Any]]] | None = None,
) -> bool:
    """Insert ``values`` or update the row when ``values["version"]`` is newer.

    ``also_set`` adds columns computed from the incoming row (``excluded``) and the held
    one to the update.
    Answers whether a row was written.
    """
    table = model.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values(**values)
    updates: dict[str, Any] = {k: stmt.excluded[k] for k in values if k != key}
    if also_set:
        updates.update({k: compute(stmt.excluded) for k, compute in also_set.items()})
    result = await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[key],
            set_=updates,
            where=table.c.version < stmt.excluded.version,
        ).returning(table.c[key])
    )
    return result.first() is not None
