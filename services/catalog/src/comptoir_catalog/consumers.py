"""Catalog's Kafka subscribers: booking's seat counts, payments' provider accounts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_catalog import service
from comptoir_common.events import Envelope, v1
from comptoir_common.inbox import Consumers

consumers = Consumers(service="catalog")


@consumers.on(v1.SlotAvailabilityChanged)
async def on_availability(
    session: AsyncSession, envelope: Envelope, event: v1.SlotAvailabilityChanged
) -> None:
    await service.apply_availability(session, event)


@consumers.on(v1.SlotCancelled)
async def on_slot_cancelled(
    session: AsyncSession, envelope: Envelope, event: v1.SlotCancelled
) -> None:
    await service.apply_slot_cancelled(session, event)


@consumers.on(v1.ProviderAccountUpdated)
async def on_provider_account(
    session: AsyncSession, envelope: Envelope, event: v1.ProviderAccountUpdated
) -> None:
    await service.apply_provider_account(session, event)
