"""The in-memory services of ``web_fakes`` with what the office console reads besides:
catalog's providers and activity changes, booking's observatory, payments' report,
accounts, onboarding links, failed refunds and disputes. Every call is recorded with its
bearer token."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from web_fakes import TERRITORY, FakeServices, problem

Json = dict[str, Any]

KAYAK = "11111111-1111-4111-8111-111111111111"
HIKES = "22222222-2222-4222-8222-222222222222"


def _figures(slots: int, capacity: int, sold: int, bookings: int) -> Json:
    return {
        "slots": slots,
        "capacity": capacity,
        "seats_sold": sold,
        "fill_rate": round(sold / capacity, 4) if capacity else 0.0,
        "bookings": bookings,
        "cancelled_departures": 0,
    }


def observatory_answer() -> Json:
    """3 seats sold of 10 offered on one departure of week 48, one booking cancelled."""
    return {
        "territory_id": str(TERRITORY),
        "provider_id": None,
        "from": "2026-11-16",
        "to": "2026-11-29",
        "totals": _figures(1, 10, 3, 1)
        | {
            "cancelled_reservations": 1,
            "checked_in": 0,
            "revenue_cents": 10500,
            "currency": "EUR",
        },
        "by_week": [
            _figures(0, 0, 0, 0) | {"week": "2026-W47", "week_start": "2026-11-16"},
            _figures(1, 10, 3, 1) | {"week": "2026-W48", "week_start": "2026-11-23"},
        ],
        "by_category": [_figures(1, 10, 3, 1) | {"category": "nautical"}],
        "by_commune": [
            _figures(1, 10, 3, 1) | {"commune": "Embrun"},
            _figures(0, 0, 0, 0) | {"commune": '=HYPERLINK("http://evil")'},
        ],
        "lead_time": {
            "median_hours": 720.0,
            "buckets": [
                {"label": "same day", "bookings": 0},
                {"label": "1-6 days", "bookings": 0},
                {"label": "1-4 weeks", "bookings": 0},
                {"label": "over 4 weeks", "bookings": 1},
            ],
        },
    }


def _money(**values: int) -> Json:
    base = {
        "currency": "EUR",
        "gross_cents": 0,
        "refunds_cents": 0,
        "net_cents": 0,
        "paid_to_providers_cents": 0,
        "office_fee_cents": 0,
        "stripe_fees_cents": 0,
        "payouts_cents": 0,
        "payments": 0,
        "refunds": 0,
        "disputed_cents": 0,
        "disputes": 0,
    }
    return base | values


def report_answer() -> Json:
    """Two payments of 105 € and 70 €, the 70 € refunded; no office fee."""
    money = _money(
        gross_cents=17500,
        refunds_cents=7000,
        net_cents=10500,
        paid_to_providers_cents=10500,
        payments=2,
        refunds=1,
    )
    return {
        "territory_id": str(TERRITORY),
        "from_date": "2026-11-16",
        "to_date": "2026-11-29",
        "timezone": "Europe/Paris",
        "totals": [money],
        "providers": [money | {"provider_id": KAYAK, "provider_name": "Kayak Embrun"}],
        "failed_refunds": [],
    }


@dataclass
class OfficeFakes(FakeServices):
    providers: list[Json] = field(
        default_factory=lambda: [
            {
                "id": KAYAK,
                "territory_id": str(TERRITORY),
                "name": "Kayak Embrun",
                "email": "kayak@example.test",
                "created_at": "2026-01-05T10:00:00Z",
                "charges_enabled": True,
                "payouts_enabled": True,
                "bookable": True,
                "not_bookable_reason": None,
            },
            {
                "id": HIKES,
                "territory_id": str(TERRITORY),
                "name": "Rando Chorges",
                "email": "rando@example.test",
                "created_at": "2026-01-06T10:00:00Z",
                "charges_enabled": False,
                "payouts_enabled": False,
                "bookable": False,
                "not_bookable_reason": "The provider has not finished its Stripe onboarding.",
            },
        ]
    )
    accounts: dict[str, Json] = field(default_factory=dict)
    observatory: Json = field(default_factory=observatory_answer)
    report: Json = field(default_factory=report_answer)
    failed_refunds: list[Json] = field(default_factory=list)
    disputes: list[Json] = field(default_factory=list)
    fee_rate_bps: int = 0
    #: Answer the next provider creation with this problem.
    refuse_provider: httpx.Response | None = None
    #: (service, method, path, query, bearer token) of every call.
    calls: list[tuple[str, str, str, dict[str, str], str]] = field(default_factory=list)
    #: (activity id, body, bearer token's claims) of every activity change catalog took.
    activity_changes: list[tuple[str, Json, Json]] = field(default_factory=list)
    #: Answer the next activity change with this problem.
    refuse_activity: httpx.Response | None = None

    def __post_init__(self) -> None:
        self.accounts.setdefault(
            KAYAK,
            {
                "provider_id": KAYAK,
                "territory_id": str(TERRITORY),
                "account_id": "acct_kayak",
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
                "disabled_reason": None,
                "requirements_due": [],
            },
        )
        self.accounts.setdefault(
            HIKES,
            {
                "provider_id": HIKES,
                "territory_id": str(TERRITORY),
                "account_id": "acct_hikes",
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "disabled_reason": "requirements.past_due",
                "requirements_due": ["external_account", "individual.dob.day"],
            },
        )

    def calls_to(
        self, service: str, path_part: str
    ) -> list[tuple[str, str, str, dict[str, str], str]]:
        return [c for c in self.calls if c[0] == service and path_part in c[2]]

    def handle(self, request: httpx.Request) -> httpx.Response:
        service = request.url.host.split(".")[0]
        if service in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        path = request.url.path
        self.calls.append((service, request.method, path, dict(request.url.params), token))
        answer = self._office(request, service, path.strip("/").split("/"), token)
        return answer if answer is not None else super().handle(request)

    def _office(
        self, request: httpx.Request, service: str, parts: list[str], token: str
    ) -> httpx.Response | None:
        method = request.method
        if service == "catalog" and parts[1:2] == ["activities"] and method == "PATCH":
            return self._change_activity(request, parts[2], token)
        if service == "catalog" and parts[1:2] == ["territories"] and parts[2] == str(TERRITORY):
            return httpx.Response(
                200,
                json={
                    "id": parts[2],
                    "name": "Serre-Ponçon",
                    "currency": "EUR",
                    "fee_rate_bps": self.fee_rate_bps,
                    "timezone": "Europe/Paris",
                },
            )
        staff_paths = (
            (service == "catalog" and parts[1:2] == ["providers"])
            or (service == "booking" and parts[-1:] == ["observatory"])
            or (service == "payments" and parts[1:2] in (["territories"], ["providers"]))
        )
        if not staff_paths:
            return None
        if not token:
            return problem(401, "unauthorized", "A bearer token is needed.")
        if service == "catalog":
            return self._providers(request, parts)
        if service == "booking":
            return httpx.Response(200, json=self.observatory)
        if parts[1] == "territories":
            kind = parts[3]
            if kind == "report":
                return httpx.Response(200, json=self.report)
            if kind == "refunds":
                return httpx.Response(200, json=self.failed_refunds)
            if kind == "disputes":
                return httpx.Response(200, json=self.disputes)
        provider_id = parts[2]
        if parts[3] == "account" and method == "GET":
            account = self.accounts.get(provider_id)
            if account is None:
                return problem(404, "not-found", "provider not found")
            return httpx.Response(200, json=account)
        if parts[3] == "onboarding" and method == "POST":
            if provider_id not in self.accounts:
                return problem(404, "not-found", "provider not found")
            return httpx.Response(
                200,
                json={
                    "provider_id": provider_id,
                    "account_id": self.accounts[provider_id]["account_id"],
                    "onboarding_url": f"https://connect.stripe.test/setup/e/{provider_id}",
                    "charges_enabled": False,
                    "payouts_enabled": False,
                },
            )
        return problem(404, "not-found", "no such route")

    def _providers(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if request.method == "POST":
            if self.refuse_provider is not None:
                return self.refuse_provider
            body = json.loads(request.content)
            provider = {
                "id": str(uuid.uuid4()),
                "territory_id": str(TERRITORY),
                "name": body["name"],
                "email": body["email"],
                "created_at": "2026-02-01T10:00:00Z",
                "charges_enabled": False,
                "payouts_enabled": False,
                "bookable": False,
                "not_bookable_reason": "The provider has not started its Stripe onboarding yet.",
            }
            self.providers.append(provider)
            return httpx.Response(201, json=provider)
        if len(parts) == 3:
            for provider in self.providers:
                if provider["id"] == parts[2]:
                    return httpx.Response(200, json=provider)
            return problem(404, "not-found", "provider not found")
        offset = int(request.url.params.get("offset", "0"))
        limit = int(request.url.params.get("limit", "50"))
        items = self.providers[offset : offset + limit]
        return httpx.Response(
            200,
            json={"items": items, "total": len(self.providers), "limit": limit, "offset": offset},
        )

    def _change_activity(
        self, request: httpx.Request, activity_id: str, token: str
    ) -> httpx.Response:
        """Like catalog: the territory's admin or the owning provider may change it."""
        activity = next((a for a in self.activities if a["id"] == activity_id), None)
        try:
            caller: Json = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return problem(401, "unauthorized", "A bearer token is needed.")
        allowed = activity is not None and (
            (
                caller.get("role") == "admin"
                and caller.get("territory_id") == activity["territory_id"]
            )
            or (
                caller.get("role") == "provider"
                and caller.get("provider_id") == activity["provider_id"]
            )
        )
        if activity is None or not allowed:
            return problem(404, "not-found", "activity not found")
        if self.refuse_activity is not None:
            refused, self.refuse_activity = self.refuse_activity, None
            return refused
        body: Json = json.loads(request.content)
        self.activity_changes.append((activity_id, body, caller))
        activity.update(body)
        return httpx.Response(200, json=activity)
