"""The services as the provider portal calls them, in memory: the storefront's fakes plus
the agenda, the reservations list, check-ins, departure cancellation, slot and activity
changes, the Stripe account and payouts, and webhook endpoints. Like the real services,
they read the caller's token and show a provider its own things only (404 otherwise)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from web_fakes import TERRITORY, FakeServices, Json, problem

PROVIDER_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
PROVIDER_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
#: Check-in opens this long before a departure and closes this long after its end.
CHECK_IN_BEFORE = timedelta(hours=24)
CHECK_IN_AFTER = timedelta(hours=1)


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class PortalFakes(FakeServices):
    accounts: dict[str, Json] = field(default_factory=dict)
    payouts: dict[str, list[Json]] = field(default_factory=dict)
    endpoints: dict[str, Json] = field(default_factory=dict)
    deliveries: dict[str, Json] = field(default_factory=dict)
    #: Every call that changes something: (service, method, path, body, idempotency key).
    writes: list[tuple[str, str, str, Any, str | None]] = field(default_factory=list)
    #: Answer the next activity change with this problem.
    refuse_activity: httpx.Response | None = None
    #: The territory's time zone, as catalog tells it.
    territory_timezone: str = "Europe/Paris"
    #: Called after each page of reservations is answered (a visitor booking meanwhile).
    after_reservations_page: Callable[[], None] | None = None

    # --- building the world -------------------------------------------------------------

    def add_offer(
        self,
        provider_id: uuid.UUID,
        title: str,
        starts: list[timedelta],
        capacity: int = 10,
    ) -> tuple[Json, list[str]]:
        activity = self.add_activity(
            title, "nautical", "Embrun", [("adult", 3500), ("child", 2000)], []
        )
        activity["provider_id"] = str(provider_id)
        activity["bookable"] = True
        activity["not_bookable_reason"] = None
        activity["version"] = 1
        now = datetime.now(UTC).replace(microsecond=0)
        ids = []
        for ahead in starts:
            ids.append(self._new_slot(activity, now + ahead, 120, capacity))
        return activity, ids

    def _new_slot(self, activity: Json, start: datetime, duration: int, capacity: int) -> str:
        slot_id = str(uuid.uuid4())
        self.slots[slot_id] = {
            "activity_id": activity["id"],
            "start": start,
            "duration": duration,
            "capacity": capacity,
            "held": 0,
            "confirmed": 0,
            "status": "OPEN",
        }
        return slot_id

    def add_booking(
        self,
        slot_id: str,
        name: str,
        email: str,
        units: list[tuple[str, int]],
        status: str = "CONFIRMED",
    ) -> Json:
        slot = self.slots[slot_id]
        activity = self._activity(slot["activity_id"])
        assert activity is not None
        prices = {u["id"]: u["price_cents"] for u in activity["units"]}
        seats = sum(q for _, q in units)
        rid = str(uuid.uuid4())
        if status in ("CONFIRMED", "REDEEMED"):
            slot["confirmed"] += seats
        elif status == "ON_HOLD":
            slot["held"] += seats
        now = datetime.now(UTC)
        self.reservations[rid] = {
            "id": rid,
            "status": status,
            "slot_id": slot_id,
            "activity_id": activity["id"],
            "provider_id": activity["provider_id"],
            "units": [{"id": u, "quantity": q, "unit_price_cents": prices[u]} for u, q in units],
            "seats": seats,
            "total_cents": sum(prices[u] * q for u, q in units),
            "currency": "EUR",
            "expires_at": (now + timedelta(minutes=15)).isoformat(),
            "created_at": (now + timedelta(microseconds=len(self.reservations))).isoformat(),
            "visitor": {"name": name, "email": email, "locale": "fr"},
            "cancellation_policy": activity["cancellation_policy"],
            "status_reason": None,
            "refund_cents": None,
            "refund_status": None,
            "ticket_code": f"CPT-{rid[:4].upper()}-{rid[4:8].upper()}"
            if status in ("CONFIRMED", "REDEEMED")
            else None,
            "redeemed_at": now.isoformat() if status == "REDEEMED" else None,
            "redeemed_by": "provider:x" if status == "REDEEMED" else None,
            "slot_start": slot["start"].isoformat(),
            "activity_title": activity["title"],
        }
        return self.reservations[rid]

    # --- who calls ----------------------------------------------------------------------

    @staticmethod
    def _caller(request: httpx.Request) -> Json:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header.count(".") != 2:
            return {}
        claims: Json = jwt.decode(header[7:], options={"verify_signature": False})
        return claims

    def _sees(self, request: httpx.Request, provider_id: str) -> bool:
        caller = self._caller(request)
        if caller.get("role") == "admin":
            return caller.get("territory_id") == str(TERRITORY)
        return caller.get("role") == "provider" and caller.get("provider_id") == provider_id

    def _activity(self, activity_id: str) -> Json | None:
        return next((a for a in self.activities if a["id"] == activity_id), None)

    def _slot_provider(self, slot_id: str) -> str | None:
        slot = self.slots.get(slot_id)
        activity = self._activity(slot["activity_id"]) if slot else None
        return str(activity["provider_id"]) if activity else None

    # --- HTTP ---------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        service = request.url.host.split(".")[0]
        if service in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        parts = request.url.path.strip("/").split("/")
        body = json.loads(request.content) if request.content else None
        if request.method != "GET":
            key = request.headers.get("idempotency-key")
            self.writes.append((service, request.method, request.url.path, body, key))
        answer = getattr(self, f"_portal_{service}")(request, parts, body)
        return answer if answer is not None else super().handle(request)

    def _portal_catalog(
        self, request: httpx.Request, parts: list[str], body: Any
    ) -> httpx.Response | None:
        method = request.method
        if parts[1] == "territories":
            answer = self._catalog(request, parts)
            if answer.status_code != 200:
                return answer
            return httpx.Response(200, json=answer.json() | {"timezone": self.territory_timezone})
        if parts[1:] == ["activities"] and request.url.params.get("provider_id"):
            wanted = request.url.params["provider_id"]
            items = [a for a in self.activities if a["provider_id"] == wanted]
            return httpx.Response(
                200, json={"items": items, "total": len(items), "limit": 200, "offset": 0}
            )
        if parts[1] == "slots" and len(parts) == 3:
            slot = self.slots.get(parts[2])
            if slot is None:
                return problem(404, "not-found", "slot not found")
            if method == "PATCH":
                if not self._sees(request, self._slot_provider(parts[2]) or ""):
                    return problem(404, "not-found", "slot not found")
                if slot["start"] <= datetime.now(UTC):
                    return problem(409, "slot-started", "This slot started.")
                if slot["status"] == "CANCELLED":
                    return problem(409, "slot-cancelled", "This departure was cancelled.")
                slot.update(body)
            return httpx.Response(200, json=self._slot_public(parts[2]))
        if parts[1] == "activities" and len(parts) >= 3:
            activity = self._activity(parts[2])
            if activity is None:
                return problem(404, "not-found", "activity not found")
            if method == "PATCH":
                if not self._sees(request, activity["provider_id"]):
                    return problem(404, "not-found", "activity not found")
                if self.refuse_activity is not None:
                    refused, self.refuse_activity = self.refuse_activity, None
                    return refused
                activity.update(body)
                activity["version"] += 1
                return httpx.Response(200, json=activity)
            if method == "POST" and parts[3:] == ["slots"]:
                if not self._sees(request, activity["provider_id"]):
                    return problem(404, "not-found", "activity not found")
                start = _when(body["start"])
                if start <= datetime.now(UTC):
                    return problem(422, "slot-in-the-past", "A slot must start in the future.")
                slot_id = self._new_slot(
                    activity, start, body["duration_minutes"], body["capacity"]
                )
                return httpx.Response(201, json=self._slot_public(slot_id))
        return None

    def _slot_public(self, slot_id: str) -> Json:
        s = self.slots[slot_id]
        return {
            "id": slot_id,
            "activity_id": s["activity_id"],
            "start": s["start"].isoformat(),
            "duration_minutes": s.get("duration", 120),
            "capacity": s["capacity"],
            "remaining": max(0, s["capacity"] - s["held"] - s["confirmed"]),
            "status": s.get("status", "OPEN"),
            "version": 1,
        }

    def _agenda_row(self, slot_id: str) -> Json:
        s = self.slots[slot_id]
        activity = self._activity(s["activity_id"])
        assert activity is not None
        mine = [r for r in self.reservations.values() if r["slot_id"] == slot_id]
        remaining = max(0, s["capacity"] - s["held"] - s["confirmed"])
        status = s.get("status", "OPEN")
        if status != "OPEN":
            availability = "CLOSED"
        elif remaining == 0:
            availability = "SOLD_OUT"
        elif remaining * 2 < s["capacity"]:
            availability = "LIMITED"
        else:
            availability = "AVAILABLE"
        return {
            "slot_id": slot_id,
            "activity_id": activity["id"],
            "provider_id": activity["provider_id"],
            "activity_title": activity["title"],
            "start": s["start"].isoformat(),
            "duration_minutes": s.get("duration", 120),
            "timezone": activity["timezone"],
            "capacity": s["capacity"],
            "on_hold": s["held"],
            "confirmed": s["confirmed"],
            "checked_in": sum(r["seats"] for r in mine if r["status"] == "REDEEMED"),
            "remaining": remaining,
            "reservations": sum(1 for r in mine if r["status"] in ("CONFIRMED", "REDEEMED")),
            "status": status,
            "availability": availability,
        }

    def _portal_booking(
        self, request: httpx.Request, parts: list[str], body: Any
    ) -> httpx.Response | None:
        params = request.url.params
        caller = self._caller(request)
        if parts[1:] == ["agenda"]:
            if caller.get("role") not in ("provider", "admin"):
                return problem(401, "unauthorized", "sign in")
            start, end = _when(params["from"]), _when(params["to"])
            rows = [
                self._agenda_row(k)
                for k, s in self.slots.items()
                if start <= s["start"] < end
                and self._sees(request, self._slot_provider(k) or "")
                and params.get("activity_id", s["activity_id"]) == s["activity_id"]
            ]
            return httpx.Response(200, json=sorted(rows, key=lambda r: r["start"]))
        if parts[1:] == ["reservations"] and request.method == "GET":
            if caller.get("role") not in ("provider", "admin"):
                return problem(401, "unauthorized", "sign in")
            found = [
                r
                for r in self.reservations.values()
                if self._sees(request, r["provider_id"])
                and params.get("slot_id", r["slot_id"]) == r["slot_id"]
                and (not params.get_list("status") or r["status"] in params.get_list("status"))
                and (not params.get("from") or _when(r["slot_start"]) >= _when(params["from"]))
                and (not params.get("to") or _when(r["slot_start"]) < _when(params["to"]))
            ]
            found.sort(key=lambda r: r["created_at"], reverse=True)
            offset, limit = int(params.get("offset", 0)), int(params.get("limit", 100))
            answer = httpx.Response(200, json=found[offset : offset + limit])
            if self.after_reservations_page is not None:
                self.after_reservations_page()
            return answer
        if parts[1:] == ["check-ins"]:
            return self._check_in(request, body["code"])
        if parts[1] == "slots" and parts[3:] == ["cancel"]:
            return self._cancel_slot(request, parts[2])
        return None

    def _check_in(self, request: httpx.Request, code: str) -> httpx.Response:
        if not code.upper().startswith("CPT-"):
            return problem(422, "invalid-ticket", "This ticket code is not valid.")
        r = next((x for x in self.reservations.values() if x["ticket_code"] == code.upper()), None)
        if r is None or not self._sees(request, r["provider_id"]):
            return problem(404, "not-found", "reservation not found")
        if r["status"] == "REDEEMED":
            return problem(
                409,
                "already-checked-in",
                "already checked in",
                reservation_id=r["id"],
                redeemed_at=r["redeemed_at"],
                redeemed_by=r["redeemed_by"],
            )
        if r["status"] != "CONFIRMED":
            return problem(
                409,
                "not-confirmed",
                "not confirmed",
                reservation_id=r["id"],
                reservation_status=r["status"],
            )
        slot = self.slots[r["slot_id"]]
        opens = slot["start"] - CHECK_IN_BEFORE
        closes = slot["start"] + timedelta(minutes=slot.get("duration", 120)) + CHECK_IN_AFTER
        now = datetime.now(UTC)
        if not opens <= now <= closes:
            return problem(
                409,
                "check-in-closed",
                "Check-in is closed.",
                reservation_id=r["id"],
                opens_at=opens.isoformat(),
                closes_at=closes.isoformat(),
            )
        r["status"], r["redeemed_at"] = "REDEEMED", now.isoformat()
        r["redeemed_by"] = "provider:" + str(self._caller(request).get("provider_id"))
        return httpx.Response(
            200,
            json={
                "reservation_id": r["id"],
                "slot_id": r["slot_id"],
                "activity_id": r["activity_id"],
                "status": "REDEEMED",
                "seats": r["seats"],
                "units": r["units"],
                "visitor_name": r["visitor"]["name"],
                "redeemed_at": r["redeemed_at"],
                "redeemed_by": r["redeemed_by"],
            },
        )

    def _cancel_slot(self, request: httpx.Request, slot_id: str) -> httpx.Response:
        slot = self.slots.get(slot_id)
        if slot is None or not self._sees(request, self._slot_provider(slot_id) or ""):
            return problem(404, "not-found", "slot not found")
        if slot["status"] == "CANCELLED":
            return problem(409, "slot-cancelled", "This departure is already cancelled.")
        slot["status"] = "CANCELLED"
        cancelled = released = refunds = 0
        for r in self.reservations.values():
            if r["slot_id"] != slot_id:
                continue
            if r["status"] == "CONFIRMED":
                r["status"], r["refund_cents"], r["refund_status"] = (
                    "CANCELLED",
                    r["total_cents"],
                    "PENDING",
                )
                r["status_reason"] = "SLOT_CANCELLED"
                slot["confirmed"] -= r["seats"]
                cancelled += 1
                refunds += r["total_cents"]
            elif r["status"] == "ON_HOLD":
                r["status"], r["status_reason"] = "CANCELLED", "SLOT_CANCELLED"
                slot["held"] -= r["seats"]
                released += 1
        return httpx.Response(
            200,
            json={
                "slot_id": slot_id,
                "status": "CANCELLED",
                "reservations_cancelled": cancelled,
                "holds_released": released,
                "refunds_cents": refunds,
                "waitlist_cancelled": 0,
            },
        )

    def _portal_payments(
        self, request: httpx.Request, parts: list[str], body: Any
    ) -> httpx.Response | None:
        if parts[1] != "providers":
            return None
        provider_id = parts[2]
        if not self._sees(request, provider_id) or provider_id not in self.accounts:
            return problem(404, "not-found", "provider not found")
        account = self.accounts[provider_id]
        if parts[3:] == ["account"]:
            return httpx.Response(200, json=account)
        if parts[3:] == ["payouts"]:
            return httpx.Response(200, json=self.payouts.get(provider_id, []))
        if parts[3:] == ["dashboard-link"]:
            if not account["details_submitted"]:
                return problem(409, "onboarding-not-finished", "Finish onboarding first.")
            return httpx.Response(
                200,
                json={
                    "provider_id": provider_id,
                    "account_id": account["account_id"],
                    "dashboard_url": "https://connect.stripe.com/express/Ln7FYnHvGmXZ",
                },
            )
        return problem(404, "not-found", "no such route")

    def _portal_notifications(
        self, request: httpx.Request, parts: list[str], body: Any
    ) -> httpx.Response | None:
        caller = self._caller(request)
        provider_id = str(caller.get("provider_id", ""))
        if parts[1] == "webhook-endpoints" and len(parts) == 2:
            if request.method == "POST":
                if not body["url"].startswith("https://"):
                    return problem(422, "unsafe-webhook-url", "This URL is refused: not https")
                endpoint_id = str(uuid.uuid4())
                self.endpoints[endpoint_id] = {
                    "id": endpoint_id,
                    "provider_id": provider_id,
                    "url": body["url"],
                    "event_types": sorted(body["event_types"]),
                    "description": body.get("description"),
                    "enabled": True,
                    "created_at": datetime.now(UTC).isoformat(),
                    "disabled_at": None,
                    "previous_secret_expires_at": None,
                }
                return httpx.Response(
                    201, json=self.endpoints[endpoint_id] | {"secret": "whsec_Zmlyc3Q="}
                )
            items = [e for e in self.endpoints.values() if e["provider_id"] == provider_id]
            return httpx.Response(
                200, json={"items": items, "total": len(items), "limit": 200, "offset": 0}
            )
        if parts[1] == "webhook-endpoints":
            endpoint = self.endpoints.get(parts[2])
            if endpoint is None or endpoint["provider_id"] != provider_id:
                return problem(404, "not-found", "webhook endpoint not found")
            if len(parts) == 3 and request.method == "DELETE":
                endpoint["enabled"] = False
                return httpx.Response(204)
            if len(parts) == 3:
                return httpx.Response(200, json=endpoint)
            if parts[3] == "rotate-secret":
                expires = (datetime.now(UTC) + timedelta(hours=24)).isoformat()
                endpoint["previous_secret_expires_at"] = expires
                return httpx.Response(
                    200,
                    json={
                        "id": endpoint["id"],
                        "secret": "whsec_bmV3",
                        "previous_secret_expires_at": expires,
                    },
                )
            if parts[3] == "deliveries":
                items = [d for d in self.deliveries.values() if d["endpoint_id"] == endpoint["id"]]
                if request.url.params.get("status"):
                    items = [d for d in items if d["status"] == request.url.params["status"]]
                return httpx.Response(
                    200, json={"items": items, "total": len(items), "limit": 50, "offset": 0}
                )
        if parts[1] == "webhook-deliveries" and parts[3:] == ["replay"]:
            delivery = self.deliveries.get(parts[2])
            if delivery is None:
                return problem(404, "not-found", "delivery not found")
            if delivery["status"] == "PENDING":
                return problem(409, "delivery-pending", "This delivery is still queued.")
            delivery["status"], delivery["attempts"] = "PENDING", 0
            return httpx.Response(200, json=delivery)
        return None

    def add_delivery(self, endpoint_id: str, status: str = "DEAD") -> Json:
        delivery_id = str(uuid.uuid4())
        self.deliveries[delivery_id] = {
            "id": delivery_id,
            "endpoint_id": endpoint_id,
            "event_id": str(uuid.uuid4()),
            "event_type": "booking.confirmed.v1",
            "status": status,
            "attempts": 8,
            "last_status_code": 500,
            "last_error": "HTTP 500",
            "next_attempt_at": None,
            "delivered_at": None,
            "created_at": datetime.now(UTC).isoformat(),
        }
        return self.deliveries[delivery_id]
