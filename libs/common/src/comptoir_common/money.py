"""Money is integer cents with an ISO 4217 currency, everywhere."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Cents = Annotated[int, Field(ge=0, le=100_000_000)]


def fee_cents(total_cents: int, fee_rate_bps: int) -> int:
    """The office fee on a total, in basis points, rounded half up to the cent."""
    return (total_cents * fee_rate_bps + 5_000) // 10_000
