"""Request and response bodies of the payments API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict

from comptoir_payments.domain import PaymentStatus, PayoutStatus, RefundStatus


class OnboardingPublic(BaseModel):
    provider_id: uuid.UUID
    account_id: str
    onboarding_url: str
    charges_enabled: bool
    payouts_enabled: bool


class DashboardLinkPublic(BaseModel):
    provider_id: uuid.UUID
    account_id: str
    #: Single-use and short-lived: open it at once in the provider's browser.
    dashboard_url: str


class AccountPublic(BaseModel):
    provider_id: uuid.UUID
    territory_id: uuid.UUID
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    #: Why Stripe does not let the account charge yet (``requirements.past_due``...).
    disabled_reason: str | None = None
    #: What Stripe still needs from the provider before (or to keep) taking payments.
    requirements_due: list[str] = []


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


class PayoutPublic(BaseModel):
    payout_id: str
    provider_id: uuid.UUID
    amount_cents: int
    currency: str
    status: PayoutStatus
    arrival_date: datetime | None
    failure_reason: str | None


class LedgerEntryPublic(BaseModel):
    account: str
    amount_cents: int
    currency: str


class LedgerTransactionPublic(BaseModel):
    key: str
    kind: str
    reservation_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    stripe_ref: str | None
    occurred_at: datetime
    entries: list[LedgerEntryPublic]


class LedgerCheck(BaseModel):
    balanced: bool
    transactions: int
    #: How many problems; they are listed in the service's log, not here, because the
    #: ledger spans every territory and an office sees only its own.
    problems: int = 0


class ReportTotals(BaseModel):
    currency: str
    gross_cents: int
    refunds_cents: int
    net_cents: int
    paid_to_providers_cents: int
    office_fee_cents: int
    stripe_fees_cents: int
    payouts_cents: int
    payments: int
    refunds: int
    #: Taken back from the providers by visitors' banks (disputes won taken off).
    disputed_cents: int = 0
    disputes: int = 0


class ProviderReportLine(ReportTotals):
    provider_id: uuid.UUID
    provider_name: str | None


class TerritoryRefundPublic(BaseModel):
    """A refund as the office follows it up: which reservation and provider, and why it
    failed when it did (the visitor has not got the money back)."""

    reservation_id: uuid.UUID
    provider_id: uuid.UUID
    #: Stripe's refund id (``re_...``); null until Stripe has accepted the refund.
    refund_id: str | None
    amount_cents: int
    currency: str
    status: RefundStatus
    #: Why the money goes back: the cancellation reason (VISITOR, SLOT_CANCELLED...).
    reason: str
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


class DisputePublic(BaseModel):
    dispute_id: str
    reservation_id: uuid.UUID
    provider_id: uuid.UUID
    amount_cents: int
    currency: str
    #: Stripe's reason (``fraudulent``...) and status (``needs_response``... ``won``).
    reason: str
    status: str
    #: The amount is out of the provider's Stripe balance (until the dispute is won).
    funds_withdrawn: bool
    #: The provider answers with evidence from its Stripe dashboard before this.
    evidence_due_by: datetime | None
    created_at: datetime
    updated_at: datetime


class TransparencyReport(BaseModel):
    territory_id: uuid.UUID
    from_date: date
    to_date: date
    #: The days are local days of this IANA zone (UTC when the territory's is unknown).
    timezone: str
    totals: list[ReportTotals]
    providers: list[ProviderReportLine]
    #: Refunds that failed in the period: the visitors concerned await their money.
    failed_refunds: list[TerritoryRefundPublic] = []


class CheckoutSessionIn(BaseModel):
    """Where Stripe sends the visitor back: pages of an allowed storefront."""

    model_config = ConfigDict(extra="forbid")

    success_url: AnyHttpUrl
    cancel_url: AnyHttpUrl


class CheckoutSessionPublic(BaseModel):
    #: Stripe's hosted payment page: send the visitor's browser there.
    url: str
