"""What booking's use cases need from the running process, set once at start-up.

Use cases run from HTTP routes and from Kafka consumers alike (a payment failure frees
seats that go to the waitlist from a consumer), so both find these here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from comptoir_common.auth import TokenIssuer

#: Signs ticket codes in development only: production refuses it (``main.BookingSettings``).
DEV_TICKET_SECRET = "comptoir-development-ticket-secret"  # noqa: S105


@dataclass(frozen=True)
class BookingContext:
    visitor_tokens: TokenIssuer | None = None
    hold_for: timedelta = timedelta(minutes=15)
    #: How long a waitlisted visitor has to pay for the seats offered to them.
    offer_for: timedelta = timedelta(minutes=30)
    seat_guard: bool = True
    #: Signs ticket codes (``tickets.py``); the development default is refused in production.
    ticket_secret: bytes = DEV_TICKET_SECRET.encode()
    #: Plain asyncpg connections for holds, each one statement (``service.place_hold``).
    holds_pool: asyncpg.Pool | None = None


_current = BookingContext()


def configure(context: BookingContext) -> None:
    global _current
    _current = context


def current() -> BookingContext:
    return _current
