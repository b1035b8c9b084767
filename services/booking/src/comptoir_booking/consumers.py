"""Booking's Kafka subscribers: catalog projection and payment outcomes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_booking import service
from comptoir_common.events import Envelope, v1
from comptoir_common.inbox import Consumers

consumers = Consumers(service="booking")


@consumers.on(v1.ActivityUpdated)
async def on_activity(session: AsyncSession, envelope: Envelope, event: v1.ActivityUpdated) -> None:
    await service.apply_activity(session, event)


@consumers.on(v1.SlotUpdated)
async def on_slot(session: AsyncSession, envelope: Envelope, event: v1.SlotUpdated) -> None:
    await service.apply_slot(session, event)


@consumers.on(v1.PaymentSucceeded)
async def on_payment_succeeded(
    session: AsyncSession, envelope: Envelope, event: v1.PaymentSucceeded
) -> None:
    await service.payment_succeeded(session, event)


@consumers.on(v1.PaymentFailed)
async def on_payment_failed(
    session: AsyncSession, envelope: Envelope, event: v1.PaymentFailed
) -> None:
    await service.payment_failed(session, event)


@consumers.on(v1.RefundUpdated)
async def on_refund_updated(
    session: AsyncSession, envelope: Envelope, event: v1.RefundUpdated
) -> None:
    await service.refund_updated(session, event)
