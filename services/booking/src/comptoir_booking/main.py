"""The booking service process (port 8002)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from opentelemetry.instrumentation.utils import suppress_instrumentation
from pydantic import Field, SecretStr

from comptoir_booking import context, service
from comptoir_booking.api import router
from comptoir_booking.consumers import consumers
from comptoir_booking.context import DEV_TICKET_SECRET, BookingContext
from comptoir_common.auth import VISITOR_ISSUER, TokenIssuer
from comptoir_common.db import make_driver_pool
from comptoir_common.events import v1
from comptoir_common.service import Runtime, ServiceSpec, create_service_app
from comptoir_common.settings import ServiceSettings, dev_key_path, project_home


class BookingSettings(ServiceSettings):
    service_name: str = "booking"
    port: int = 8002
    #: How long a hold keeps its seats before they go back on sale.
    hold_minutes: float = Field(default=15, gt=0, le=24 * 60)
    #: How long a waitlisted visitor has to pay for the seats offered to them.
    waitlist_offer_minutes: float = Field(default=30, gt=0, le=7 * 24 * 60)
    #: How often changed seat counts are published to the other services.
    availability_interval_seconds: float = 0.2
    #: How often expired holds are looked for.
    expiry_interval_seconds: float = 1.0
    #: The one-statement seat check. Off only in tests that prove the checks can fail.
    seat_guard: bool = True
    #: Connections that place holds (one statement each), apart from the ORM's pool:
    #: a few are enough, since holds on one slot queue on its row anyway.
    hold_connections: int = Field(default=8, ge=1, le=100)
    #: Private key (PEM text or file) that signs visitor tokens.
    auth_visitor_private_key: str = Field(default_factory=lambda: dev_key_path("visitor.pem"))
    #: Signs ticket codes (HMAC-SHA256): whoever knows it can make tickets. Changing it
    #: voids every ticket already sent.
    ticket_secret: SecretStr = SecretStr(DEV_TICKET_SECRET)

    def development_defaults_in_use(self) -> list[str]:
        found = super().development_defaults_in_use()
        if self.auth_visitor_private_key.startswith(str(project_home() / ".local" / "keys")):
            found.append("COMPTOIR_AUTH_VISITOR_PRIVATE_KEY (development key file)")
        if self.ticket_secret.get_secret_value() == DEV_TICKET_SECRET:
            found.append("COMPTOIR_TICKET_SECRET (development secret)")
        if not self.seat_guard:
            found.append("COMPTOIR_SEAT_GUARD (must stay on: without it seats can be oversold)")
        return found


settings = BookingSettings()


async def on_start(runtime: Runtime) -> None:
    holds_pool = await make_driver_pool(settings.database_url, max_size=settings.hold_connections)
    context.configure(
        BookingContext(
            visitor_tokens=TokenIssuer(settings.auth_visitor_private_key, VISITOR_ISSUER),
            hold_for=timedelta(minutes=settings.hold_minutes),
            offer_for=timedelta(minutes=settings.waitlist_offer_minutes),
            seat_guard=settings.seat_guard,
            ticket_secret=settings.ticket_secret.get_secret_value().encode(),
            holds_pool=holds_pool,
        )
    )


async def on_stop(runtime: Runtime) -> None:
    pool = context.current().holds_pool
    if pool is not None:
        await pool.close()


async def expire_holds(runtime: Runtime) -> None:
    """Give back the seats of holds past their time, within about a second."""
    while True:
        async with runtime.sessions() as session, session.begin():
            with suppress_instrumentation():  # a trace per second of "nothing due" is noise
                expired = await service.expire_due_holds(session)
        if expired < 200:
            await asyncio.sleep(settings.expiry_interval_seconds)


async def publish_availability(runtime: Runtime) -> None:
    """Several times a second: one availability event per slot whose seats changed."""
    while True:
        async with runtime.sessions() as session, session.begin():
            with suppress_instrumentation():  # its events carry the trace of the seat change
                published = await service.publish_availability(session)
        if published < 500:
            await asyncio.sleep(settings.availability_interval_seconds)


app = create_service_app(
    ServiceSpec(
        name="booking",
        title="Comptoir booking",
        description=(
            "Holds, reservations and seat counts. Keeps its own projection of catalog "
            "slots and never lets held plus confirmed seats exceed a slot's capacity."
        ),
        version="1.0.0",
        settings=settings,
        migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
        routers=[router],
        consumers=consumers,
        publishes=[
            v1.HoldPlaced,
            v1.HoldReleased,
            v1.ReservationConfirmed,
            v1.ReservationCancelled,
            v1.ReservationRebooked,
            v1.ReservationRedeemed,
            v1.SlotCancelled,
            v1.WaitlistOfferMade,
            v1.SlotAvailabilityChanged,
        ],
        background=[expire_holds, publish_availability],
        on_start=on_start,
        on_stop=on_stop,
    )
)
