"""Payments' Kafka subscribers: catalog projections, booking's holds and cancellations."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_common.events import Envelope, v1
from comptoir_common.inbox import Consumers
from comptoir_common.telemetry import current_trace_carrier
from comptoir_payments import refunds, service

consumers = Consumers(service="payments")


@consumers.on(v1.TerritoryUpdated)
async def on_territory(
    session: AsyncSession, envelope: Envelope, event: v1.TerritoryUpdated
) -> None:
    await service.apply_territory(session, event)


@consumers.on(v1.ProviderUpdated)
async def on_provider(session: AsyncSession, envelope: Envelope, event: v1.ProviderUpdated) -> None:
    await service.apply_provider(session, event)


@consumers.on(v1.HoldPlaced)
async def on_hold_placed(session: AsyncSession, envelope: Envelope, event: v1.HoldPlaced) -> None:
    # The consumer span continues the booking's trace; keep it for the Stripe calls to come.
    await service.record_hold(session, event, current_trace_carrier() or envelope.trace_carrier())


@consumers.on(v1.HoldReleased)
async def on_hold_released(
    session: AsyncSession, envelope: Envelope, event: v1.HoldReleased
) -> None:
    await service.release_hold(session, event)


@consumers.on(v1.ReservationCancelled)
async def on_reservation_cancelled(
    session: AsyncSession, envelope: Envelope, event: v1.ReservationCancelled
) -> None:
    # The refund's Stripe call and webhook continue the cancellation's trace.
    await refunds.record_cancellation_refund(
        session, event, current_trace_carrier() or envelope.trace_carrier()
    )
