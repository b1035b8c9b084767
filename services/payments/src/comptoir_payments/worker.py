"""The background loop that talks to Stripe for payments and refunds, never inside a transaction."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from comptoir_common.service import Runtime
from comptoir_payments import refunds, service
from comptoir_payments.stripe_gateway import StripeGateway

if TYPE_CHECKING:
    from comptoir_payments.main import PaymentsSettings

log = logging.getLogger("comptoir.payments.worker")


def gateway_of(runtime: Runtime) -> StripeGateway:
    gateway: StripeGateway = runtime.extras["stripe"]
    return gateway


async def process_due_payments(runtime: Runtime) -> int:
    """One pass: claim due payments (committed), call Stripe for each, record the answers."""
    jobs = await service.claim_due(runtime.sessions)
    if not jobs:
        return 0
    results = await asyncio.gather(
        *(service.run_job(runtime.sessions, gateway_of(runtime), job) for job in jobs),
        return_exceptions=True,
    )
    for job, result in zip(jobs, results, strict=True):
        if isinstance(result, BaseException):
            # The lease expires and the same idempotency key is used on the next try.
            log.error(
                "payment job failed; will retry after its lease",
                extra={"reservation_id": str(job.reservation_id), "kind": job.kind},
                exc_info=result,
            )
    return len(jobs)


async def process_due_refunds(runtime: Runtime) -> int:
    """One pass: claim refunds not yet at Stripe (committed), ask Stripe, record the answers."""
    jobs = await refunds.claim_due_refunds(runtime.sessions)
    if not jobs:
        return 0
    results = await asyncio.gather(
        *(refunds.run_refund_job(runtime.sessions, gateway_of(runtime), job) for job in jobs),
        return_exceptions=True,
    )
    for job, result in zip(jobs, results, strict=True):
        if isinstance(result, BaseException):
            log.error(
                "refund job failed; will retry after its lease",
                extra={"reservation_id": str(job.reservation_id), "refund_id": str(job.refund_id)},
                exc_info=result,
            )
    return len(jobs)


async def payment_intents(runtime: Runtime) -> None:
    """ServiceSpec background loop: PaymentIntents (create, cancel) and Refunds at Stripe."""
    settings: PaymentsSettings = runtime.settings  # type: ignore[assignment]
    while True:
        handled = await process_due_payments(runtime) + await process_due_refunds(runtime)
        if handled == 0:
            await asyncio.sleep(settings.payment_poll_seconds)
