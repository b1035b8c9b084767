"""Request and response bodies of the payments API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from comptoir_payments.domain import PaymentStatus, RefundStatus


class OnboardingPublic(BaseModel):
    provider_id: uuid.UUID
    account_id: str
    onboarding_url: str
    charges_enabled: bool
    payouts_enabled: bool


class AccountPublic(BaseModel):
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


class RefundPublic(BaseModel):
    #: Stripe's refund id (``re_...``); null until Stripe has accepted the refund.
    refund_id: str | None
    amount_cents: int
    currency: str
    status: RefundStatus
    failure_reason: str | None = None
    created_at: datetime


class PaymentPublic(BaseModel):
    reservation_id: uuid.UUID
    status: PaymentStatus
    amount_cents: int
    currency: str
    application_fee_cents: int | None
    payment_intent_id: str | None
    stripe_account_id: str | None
    client_secret: str | None = None
    failure_reason: str | None = None
    #: Oldest first; one per cancellation that gave money back.
    refunds: list[RefundPublic] = []
    #: What has gone back to the visitor (SUCCEEDED refunds only).
    refunded_cents: int = 0


class OnboardingLanding(BaseModel):
    provider_id: uuid.UUID
    outcome: Literal["return", "refresh"]
    message: str


class WebhookAck(BaseModel):
    received: bool = True
    event_id: str
    outcome: str
