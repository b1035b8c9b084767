"""Pure catalog rules: whether visitors can book a provider's activities now, and why not;
how many seats of a slot are for sale.

Payments owns the providers' Stripe accounts and tells catalog their state
(``payments.provider-account-updated.v1``). Visitors pay the provider directly, so an
activity can be booked only while its provider's Stripe account takes card payments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bookability:
    bookable: bool
    #: In words for the office and the provider; None when bookable.
    reason: str | None = None


def _needs(requirements_due: Sequence[str]) -> str:
    if not requirements_due:
        return ""
    shown = ", ".join(requirements_due[:5])
    more = f" and {len(requirements_due) - 5} more" if len(requirements_due) > 5 else ""
    return f" Stripe still needs: {shown}{more}."


def bookability(
    *,
    has_stripe_account: bool,
    charges_enabled: bool,
    details_submitted: bool,
    disabled_reason: str | None = None,
    requirements_due: Sequence[str] = (),
) -> Bookability:
    """Whether an activity of a provider in this payment state can be booked, and why not."""
    if not has_stripe_account:
        return Bookability(
            False,
            "The provider has not started its Stripe onboarding yet: visitors cannot pay it.",
        )
    if charges_enabled:
        return Bookability(True)
    if not details_submitted:
        return Bookability(
            False,
            "The provider has not finished its Stripe onboarding yet: visitors cannot pay it."
            + _needs(requirements_due),
        )
    why = f" ({disabled_reason})" if disabled_reason else ""
    return Bookability(
        False,
        f"Stripe does not let the provider take card payments at the moment{why}."
        + _needs(requirements_due),
    )


def seats_for_sale(capacity: int, taken: int, status: str) -> int:
    """Seats a slot still offers: none unless it is open, none once its capacity was
    lowered below the seats already taken (nobody loses a seat: sales just stop). The
    same rule as booking's, so that catalog shows at once what booking will report."""
    if status != "OPEN":
        return 0
    return max(0, capacity - taken)
