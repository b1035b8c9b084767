"""Notifications' Kafka subscribers: parse the contract, call the use case.

Each handler runs inside the inbox transaction (``comptoir_common.inbox``): the mails and
webhook deliveries it records commit together with the event id, so a redelivered event
records nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from comptoir_common.events import Envelope, v1
from comptoir_common.inbox import Consumers
from comptoir_notifications import service, webhooks
from comptoir_notifications.settings import NotificationsSettings


def build_consumers(settings: NotificationsSettings) -> Consumers:
    consumers = Consumers(service=settings.service_name)

    @consumers.on(v1.ProviderUpdated)
    async def on_provider(
        session: AsyncSession, envelope: Envelope, event: v1.ProviderUpdated
    ) -> None:
        await service.apply_provider(session, event)

    @consumers.on(v1.ActivityUpdated)
    async def on_activity(
        session: AsyncSession, envelope: Envelope, event: v1.ActivityUpdated
    ) -> None:
        await service.apply_activity(session, event)

    @consumers.on(v1.HoldPlaced)
    async def on_hold(session: AsyncSession, envelope: Envelope, event: v1.HoldPlaced) -> None:
        await service.on_hold_placed(session, event)

    @consumers.on(v1.ReservationConfirmed)
    async def on_confirmed(
        session: AsyncSession, envelope: Envelope, event: v1.ReservationConfirmed
    ) -> None:
        await webhooks.record_deliveries(session, envelope, event.provider_id, event.territory_id)
        await service.notify_confirmed(
            session, envelope, event, storefront_url=settings.storefront_url
        )

    @consumers.on(v1.ReservationCancelled)
    async def on_cancelled(
        session: AsyncSession, envelope: Envelope, event: v1.ReservationCancelled
    ) -> None:
        await webhooks.record_deliveries(session, envelope, event.provider_id, event.territory_id)
        await service.notify_cancelled(session, envelope, event)

    @consumers.on(v1.ReservationRebooked)
    async def on_rebooked(
        session: AsyncSession, envelope: Envelope, event: v1.ReservationRebooked
    ) -> None:
        await webhooks.record_deliveries(session, envelope, event.provider_id, event.territory_id)
        await service.notify_rebooked(session, envelope, event)

    @consumers.on(v1.SlotCancelled)
    async def on_slot_cancelled(
        session: AsyncSession, envelope: Envelope, event: v1.SlotCancelled
    ) -> None:
        await webhooks.record_deliveries(session, envelope, event.provider_id, event.territory_id)
        await service.notify_slot_cancelled(session, envelope, event)

    @consumers.on(v1.WaitlistOfferMade)
    async def on_waitlist_offer(
        session: AsyncSession, envelope: Envelope, event: v1.WaitlistOfferMade
    ) -> None:
        await service.notify_waitlist_offer(
            session, envelope, event, storefront_url=settings.storefront_url
        )

    @consumers.on(v1.RefundUpdated)
    async def on_refund(session: AsyncSession, envelope: Envelope, event: v1.RefundUpdated) -> None:
        await service.notify_refund_updated(session, envelope, event)

    @consumers.on(v1.ReservationRedeemed)
    async def on_redeemed(
        session: AsyncSession, envelope: Envelope, event: v1.ReservationRedeemed
    ) -> None:
        """No mail: the provider's webhooks only."""
        await webhooks.record_deliveries(session, envelope, event.provider_id, event.territory_id)

    @consumers.on(v1.PayoutUpdated)
    async def on_payout(session: AsyncSession, envelope: Envelope, event: v1.PayoutUpdated) -> None:
        """The provider's payout notice, and its webhooks."""
        await webhooks.record_deliveries(session, envelope, event.provider_id, event.territory_id)
        await service.notify_payout_updated(session, envelope, event)

    return consumers
