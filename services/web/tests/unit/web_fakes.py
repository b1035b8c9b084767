"""A small in-memory stand-in for catalog, booking and payments, answering over HTTP the
way their public APIs do (same paths, same bodies, problem details on errors), so the
storefront's pages can be checked without the platform."""

from __future__ import annotations

import html
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

TERRITORY = uuid.UUID("00000000-0000-4000-8000-000000000001")
Json = dict[str, Any]


def problem(status: int, kind: str, detail: str, **extra: Any) -> httpx.Response:
    body = {"type": f"https://comptoir.dev/problems/{kind}", "title": "x", "status": status}
    return httpx.Response(status, json=body | {"detail": detail} | extra)


@dataclass
class FakeServices:
    activities: list[Json] = field(default_factory=list)
    slots: dict[str, Json] = field(default_factory=dict)
    reservations: dict[str, Json] = field(default_factory=dict)
    payments: dict[str, Json] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    #: Answer the next hold with this problem instead of holding seats.
    refuse_hold: httpx.Response | None = None
    #: The bodies of the Stripe Checkout Sessions asked for (their return pages).
    checkout_sessions: list[Json] = field(default_factory=list)

    def add_activity(
        self,
        title: str,
        category: str,
        commune: str,
        units: list[tuple[str, int]],
        slots: list[tuple[timedelta, int, int]],
    ) -> Json:
        activity = {
            "id": str(uuid.uuid4()),
            "territory_id": str(TERRITORY),
            "provider_id": str(uuid.uuid4()),
            "title": {"fr": f"{title} (fr)", "en": title},
            "description": {"fr": "Une belle sortie.", "en": "A fine outing."},
            "category": category,
            "commune": commune,
            "currency": "EUR",
            "timezone": "Europe/Paris",
            "meeting_point": None,
            "what_to_bring": None,
            "units": [{"id": u, "price_cents": p, "type": u.upper(), "seats": 1} for u, p in units],
            "min_units": 1,
            "max_units": 20,
            "cutoff_minutes": 0,
            "cancellation_policy": [{"hours_before": 24, "refund_percent": 100}],
        }
        self.activities.append(activity)
        now = datetime.now(UTC).replace(microsecond=0)
        for ahead, capacity, taken in slots:
            slot_id = str(uuid.uuid4())
            self.slots[slot_id] = {
                "activity_id": activity["id"],
                "start": now + ahead,
                "capacity": capacity,
                "held": 0,
                "confirmed": taken,
            }
        return activity

    def slot_ids(self, activity: Json) -> list[str]:
        return [k for k, s in self.slots.items() if s["activity_id"] == activity["id"]]

    def availability(self, slot_id: str) -> Json:
        s = self.slots[slot_id]
        remaining = max(0, s["capacity"] - s["held"] - s["confirmed"])
        status = (
            "SOLD_OUT"
            if remaining == 0
            else ("LIMITED" if remaining * 2 < s["capacity"] else "AVAILABLE")
        )
        return {
            "slot_id": slot_id,
            "capacity": s["capacity"],
            "on_hold": s["held"],
            "confirmed": s["confirmed"],
            "remaining": remaining,
            "status": status,
            "start": s["start"].isoformat(),
            "duration_minutes": 120,
        }

    def confirm(self, reservation_id: str) -> None:
        r = self.reservations[reservation_id]
        slot = self.slots[r["slot_id"]]
        slot["held"] -= r["seats"]
        slot["confirmed"] += r["seats"]
        r["status"] = "CONFIRMED"
        r["ticket_code"] = "CPT-7QK2-M4XD-9PLA"

    # --- HTTP ----------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        service = request.url.host.split(".")[0]
        if service in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        parts = path.strip("/").split("/")
        if path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        if service == "catalog":
            return self._catalog(request, parts)
        if service == "booking":
            return self._booking(request, parts)
        return self._payments(request, parts)

    def _catalog(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if parts[1] == "territories":
            if parts[2] != str(TERRITORY):
                return problem(404, "not-found", "territory not found")
            return httpx.Response(
                200,
                json={
                    "id": parts[2],
                    "name": "Serre-Ponçon",
                    "currency": "EUR",
                    "fee_rate_bps": 0,
                    "timezone": "Europe/Paris",
                },
            )
        if parts[1] == "activities" and len(parts) == 2:
            scope = ("territory_id", "provider_id")
            wanted = {k: v for k, v in request.url.params.items() if k in scope}
            items = [a for a in self.activities if all(a[k] == v for k, v in wanted.items())]
            return httpx.Response(
                200, json={"items": items, "total": len(items), "limit": 200, "offset": 0}
            )
        for activity in self.activities:
            if activity["id"] == parts[2]:
                return httpx.Response(200, json=activity)
        return problem(404, "not-found", "activity not found")

    def _visitor(self, request: httpx.Request, reservation_id: str) -> Json | None:
        r = self.reservations.get(reservation_id)
        token = request.headers.get("authorization", "")
        return r if r and token == f"Bearer token-{reservation_id}" else None

    def _booking(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if parts[1] == "activities" and parts[3] == "availability":
            if not any(a["id"] == parts[2] for a in self.activities):
                return problem(404, "not-found", "activity not found")
            start = datetime.fromisoformat(request.url.params["from"])
            end = datetime.fromisoformat(request.url.params["to"])
            slots = sorted(
                (
                    self.availability(k)
                    for k, s in self.slots.items()
                    if s["activity_id"] == parts[2] and start <= s["start"] < end
                ),
                key=lambda s: s["start"],
            )
            return httpx.Response(200, json={"activity_id": parts[2], "slots": slots})
        if parts[1] == "reservations" and len(parts) == 2:
            if self.refuse_hold is not None:
                return self.refuse_hold
            body = json.loads(request.content)
            slot = self.slots[body["slot_id"]]
            activity = next(a for a in self.activities if a["id"] == slot["activity_id"])
            prices = {u["id"]: u["price_cents"] for u in activity["units"]}
            seats = sum(u["quantity"] for u in body["units"])
            if slot["capacity"] - slot["held"] - slot["confirmed"] < seats:
                return problem(409, "not-enough-seats", "Only a few seats left.", remaining=0)
            slot["held"] += seats
            rid = str(uuid.uuid4())
            now = datetime.now(UTC)
            self.reservations[rid] = {
                "id": rid,
                "status": "ON_HOLD",
                "slot_id": body["slot_id"],
                "activity_id": activity["id"],
                "provider_id": activity["provider_id"],
                "units": [
                    {"id": u["id"], "quantity": u["quantity"], "unit_price_cents": prices[u["id"]]}
                    for u in body["units"]
                ],
                "seats": seats,
                "total_cents": sum(prices[u["id"]] * u["quantity"] for u in body["units"]),
                "currency": "EUR",
                "expires_at": (now + timedelta(minutes=15)).isoformat(),
                "created_at": now.isoformat(),
                "visitor": body["visitor"],
                "cancellation_policy": activity["cancellation_policy"],
                "refund_cents": None,
                "refund_status": None,
                "ticket_code": None,
            }
            self.payments[rid] = {
                "reservation_id": rid,
                "status": "REQUIRES_PAYMENT",
                "amount_cents": self.reservations[rid]["total_cents"],
                "currency": "EUR",
                "application_fee_cents": 0,
                "payment_intent_id": "pi_1",
                "refunds": [],
            }
            return httpx.Response(
                201, json=self.reservations[rid] | {"visitor_token": f"token-{rid}"}
            )
        if parts[1] == "reservations":
            r = self._visitor(request, parts[2])
            if r is None:
                return problem(404, "not-found", "reservation not found")
            if len(parts) == 3:
                return httpx.Response(200, json=r)
            if parts[3] == "cancel":
                slot = self.slots[r["slot_id"]]
                if r["status"] == "CONFIRMED":
                    slot["confirmed"] -= r["seats"]
                    hours = (slot["start"] - datetime.now(UTC)).total_seconds() / 3600
                    r["refund_cents"] = r["total_cents"] if hours >= 24 else 0
                    r["refund_status"] = "PENDING" if r["refund_cents"] else None
                else:
                    slot["held"] -= r["seats"]
                r["status"] = "CANCELLED"
                return httpx.Response(200, json=r)
        return problem(404, "not-found", "no such route")

    def _payments(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        rid = parts[2]
        if self._visitor(request, rid) is None:
            return problem(404, "not-found", "payment not found")
        if len(parts) == 4:
            return httpx.Response(200, json=self.payments[rid])
        if parts[4] == "simulate":
            self.payments[rid]["status"] = "SUCCEEDED"
            self.confirm(rid)
            return httpx.Response(202, json=self.payments[rid])
        if parts[4] == "checkout-session":
            self.checkout_sessions.append(json.loads(request.content))
            return httpx.Response(201, json={"url": "https://checkout.stripe.com/c/pay/cs_1"})
        return problem(404, "not-found", "no such route")


def html_text(page: str) -> str:
    """The text a visitor reads on a page: tags dropped, entities decoded, spaces joined."""
    text = re.sub(r"<(script|style)[^>]*>.*?</\\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
