"""Payments tables: projections, accounts, payments, refunds, payouts, ledger, Stripe events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from comptoir_common.db import Timestamp, utcnow
from comptoir_common.inbox import InboxMessage
from comptoir_common.outbox import OutboxMessage
from comptoir_payments.domain import PaymentStatus, PayoutStatus, RefundStatus


class Territory(SQLModel, table=True):
    """Projection of catalog's territories: what a payment needs (office fee, currency)."""

    id: uuid.UUID = Field(primary_key=True)
    currency: str = Field(max_length=3)
    fee_rate_bps: int
    #: IANA time zone of the office: the transparency report's days are local days.
    timezone: str = Field(
        default="UTC",
        sa_column=Column(String(64), nullable=False, server_default="UTC"),
    )
    version: int
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class Provider(SQLModel, table=True):
    """Projection of catalog's providers: who may be onboarded, under which territory."""

    id: uuid.UUID = Field(primary_key=True)
    territory_id: uuid.UUID = Field(index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    version: int
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class ConnectedAccount(SQLModel, table=True):
    """A provider's Stripe Connect Express account: the visitors pay into it directly."""

    __tablename__ = "connected_account"

    provider_id: uuid.UUID = Field(foreign_key="provider.id", primary_key=True)
    territory_id: uuid.UUID = Field(index=True)
    account_id: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    #: Stripe's ``requirements.disabled_reason`` (why the account cannot charge), if any.
    disabled_reason: str | None = Field(default=None, max_length=255)
    #: What Stripe still needs from the provider (``currently_due`` and ``past_due``).
    requirements_due: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    #: ``created`` of the last Stripe event applied: an older one never overwrites it.
    stripe_event_created: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class Payment(SQLModel, table=True):
    """The visitor's payment of one reservation: a direct charge on the provider's account."""

    __table_args__ = (
        Index(
            "ix_payment_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING' OR cancel_at_stripe"),
        ),
    )

    reservation_id: uuid.UUID = Field(primary_key=True)
    provider_id: uuid.UUID = Field(index=True)
    territory_id: uuid.UUID
    amount_cents: int
    currency: str = Field(max_length=3)
    #: Null only while the territory's fee rate is not known yet (catalog event pending).
    application_fee_cents: int | None = None
    status: PaymentStatus = Field(sa_column=Column(String(24), nullable=False))
    hold_expires_at: datetime = Field(sa_type=Timestamp())
    stripe_account_id: str | None = Field(default=None, max_length=255)
    payment_intent_id: str | None = Field(
        default=None, sa_column=Column(String(255), nullable=True, unique=True)
    )
    client_secret: str | None = Field(default=None, max_length=500)
    failure_reason: str | None = Field(default=None, max_length=500)
    #: The PaymentIntent must still be cancelled at Stripe (the hold was released).
    cancel_at_stripe: bool = False
    #: W3C trace context of the booking that placed the hold: its trace continues here.
    trace_carrier: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False)
    )
    #: When the background worker may next call Stripe for this payment (lease or backoff).
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class Refund(SQLModel, table=True):
    """Money going back to the visitor: a refund of the direct charge, on the provider's account.

    ``id`` is derived from ``request_key`` (one cancellation, one refund), and the Stripe
    idempotency key from ``id``: a redelivered cancellation never asks Stripe twice.
    """

    __table_args__ = (
        Index(
            "ix_refund_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING' AND stripe_refund_id IS NULL"),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    reservation_id: uuid.UUID = Field(foreign_key="payment.reservation_id", index=True)
    request_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    #: Why: the cancellation reason booking gave (VISITOR, PROVIDER, SLOT_CANCELLED...).
    reason: str = Field(max_length=64)
    #: What booking asked for; ``amount_cents`` is that, capped by what is left to refund.
    requested_cents: int
    amount_cents: int
    currency: str = Field(max_length=3)
    #: The charge carried the office fee: it goes back with the refund (in proportion).
    refund_application_fee: bool = False
    status: RefundStatus = Field(sa_column=Column(String(24), nullable=False))
    stripe_refund_id: str | None = Field(
        default=None, sa_column=Column(String(255), nullable=True, unique=True)
    )
    failure_reason: str | None = Field(default=None, max_length=500)
    #: W3C trace context of the cancellation that asked for the refund.
    trace_carrier: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False)
    )
    #: When the background worker may next call Stripe for this refund (lease or backoff).
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class ReleasedHold(SQLModel, table=True):
    """A hold released before its HoldPlaced arrived (topics are not ordered together)."""

    __tablename__ = "released_hold"

    reservation_id: uuid.UUID = Field(primary_key=True)
    reason: str = Field(max_length=32)
    released_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class StripeEvent(SQLModel, table=True):
    """Every verified Stripe event handled, recorded with its effect: applied once."""

    __tablename__ = "stripe_event"

    id: str = Field(sa_column=Column(String(255), primary_key=True))
    type: str = Field(max_length=200)
    account: str | None = Field(default=None, max_length=255)
    outcome: str = Field(default="", max_length=500)
    received_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class LedgerTransaction(SQLModel, table=True):
    """One money movement: its entries sum to zero per currency; one per cause (``key``).

    ``key`` names the cause (``payment:<reservation>``, ``refund:<refund id>``,
    ``stripe-fee:<balance transaction>``, ``payout:<po_...>``...): a unique constraint, so a
    redelivered event or a retried worker step never books the same movement twice.
    """

    __tablename__ = "ledger_transaction"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True)
    )
    key: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    #: payment, refund, refund-failed, stripe-fee, payout, payout-failed.
    kind: str = Field(max_length=32)
    reservation_id: uuid.UUID | None = Field(default=None, index=True)
    provider_id: uuid.UUID | None = Field(default=None, index=True)
    territory_id: uuid.UUID | None = Field(default=None, index=True)
    #: The Stripe object this movement is on the provider's balance (ch_, re_, po_...).
    stripe_ref: str | None = Field(default=None, max_length=255)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp(), index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class LedgerEntry(SQLModel, table=True):
    """One side of a ledger transaction, in signed integer cents of one currency."""

    __tablename__ = "ledger_entry"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True)
    )
    transaction_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("ledger_transaction.id"), nullable=False, index=True
        )
    )
    #: ``visitor_payments``, ``refunds``, ``provider:<id>``, ``office_fee:<territory>``,
    #: ``stripe_fees``, ``provider_bank:<id>``.
    account: str = Field(max_length=200, index=True)
    amount_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)


class Payout(SQLModel, table=True):
    """Stripe paid a provider's balance out to their bank (or failed to)."""

    id: str = Field(sa_column=Column(String(255), primary_key=True))
    provider_id: uuid.UUID = Field(index=True)
    territory_id: uuid.UUID
    stripe_account_id: str = Field(max_length=255)
    amount_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    status: PayoutStatus = Field(sa_column=Column(String(24), nullable=False))
    arrival_date: datetime | None = Field(default=None, sa_type=Timestamp())
    failure_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


class Dispute(SQLModel, table=True):
    """A visitor's bank disputes a reservation's charge on the provider's account."""

    id: str = Field(sa_column=Column(String(255), primary_key=True))
    reservation_id: uuid.UUID = Field(foreign_key="payment.reservation_id", index=True)
    provider_id: uuid.UUID = Field(index=True)
    territory_id: uuid.UUID = Field(index=True)
    stripe_account_id: str = Field(max_length=255)
    charge_id: str | None = Field(default=None, max_length=255)
    amount_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    #: Stripe's reason (``fraudulent``...) and status (``needs_response``... ``won``).
    reason: str = Field(max_length=64)
    status: str = Field(max_length=32)
    evidence_due_by: datetime | None = Field(default=None, sa_type=Timestamp())
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp())


__all__ = [
    "ConnectedAccount",
    "Dispute",
    "InboxMessage",
    "LedgerEntry",
    "LedgerTransaction",
    "OutboxMessage",
    "Payment",
    "Payout",
    "Provider",
    "Refund",
    "ReleasedHold",
    "StripeEvent",
    "Territory",
]
