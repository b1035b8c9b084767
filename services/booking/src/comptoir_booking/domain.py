"""Pure booking rules: the reservation state machine and price computation. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from comptoir_common.problems import Problem


class Status(StrEnum):
    """OCTO booking states."""

    ON_HOLD = "ON_HOLD"
    CONFIRMED = "CONFIRMED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    REDEEMED = "REDEEMED"


#: Every legal move of a reservation, and only those.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ON_HOLD: frozenset({Status.CONFIRMED, Status.EXPIRED, Status.CANCELLED}),
    Status.CONFIRMED: frozenset({Status.CANCELLED, Status.REDEEMED}),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.REDEEMED: frozenset(),
}


class IllegalTransition(Problem):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(
            409,
            f"A reservation that is {current.value} cannot become {target.value}.",
            kind="illegal-transition",
            current_status=current.value,
            requested_status=target.value,
        )


def check_transition(current: Status | str, target: Status) -> Status:
    current = Status(current)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target


def late_payment_revives(current: Status | str, reason: str | None) -> bool:
    """A payment that lands after its hold ended confirms it only if the hold expired or
    an earlier payment attempt failed; a hold the visitor cancelled is refunded instead."""
    current = Status(current)
    return current == Status.EXPIRED or (current == Status.CANCELLED and reason == "PAYMENT_FAILED")


@dataclass(frozen=True)
class PricedLine:
    id: str
    quantity: int
    unit_price_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_price_cents

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "quantity": self.quantity, "unit_price_cents": self.unit_price_cents}


def price_lines(
    requested: list[tuple[str, int]], catalogue_units: list[dict[str, Any]]
) -> list[PricedLine]:
    """Price what the visitor asked for from the activity's own units; never from the client."""
    prices = {u["id"]: int(u["price_cents"]) for u in catalogue_units}
    seen: set[str] = set()
    lines = []
    for unit_id, quantity in requested:
        if unit_id not in prices:
            raise Problem(
                422,
                f"This activity has no ticket unit {unit_id!r}; "
                f"it offers: {', '.join(sorted(prices))}.",
                kind="unknown-unit",
            )
        if unit_id in seen:
            raise Problem(422, f"Ticket unit {unit_id!r} is listed twice.", kind="duplicate-unit")
        seen.add(unit_id)
        lines.append(PricedLine(unit_id, quantity, prices[unit_id]))
    return lines


def seats_of(lines: list[PricedLine]) -> int:
    return sum(line.quantity for line in lines)


def total_of(lines: list[PricedLine]) -> int:
    return sum(line.amount_cents for line in lines)
