"""The other services' public HTTP APIs, as the storefront calls them.

Every error answer is an RFC 9457 problem detail; it becomes an :class:`ApiError` the
pages turn into a message for the visitor. A service that does not answer becomes an
:class:`ApiError` too (status 503), never a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from comptoir_web.settings import WebSettings

log = logging.getLogger("comptoir.web.backends")

Json = dict[str, Any]


@dataclass
class ApiError(Exception):
    """A problem detail answered by a service (or 503 when it could not be reached)."""

    status: int
    kind: str = ""
    detail: str = ""
    extra: Json = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.kind}: {self.detail}"


def _kind(problem_type: str) -> str:
    return problem_type.rsplit("/", 1)[-1] if problem_type != "about:blank" else ""


class Backends:
    """One connection pool per service, opened with the app and closed with it."""

    def __init__(self, settings: WebSettings, transport: httpx.AsyncBaseTransport | None = None):
        timeout = httpx.Timeout(settings.api_timeout_seconds)
        self.clients = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport)
            for name, url in (
                ("catalog", settings.catalog_url),
                ("booking", settings.booking_url),
                ("payments", settings.payments_url),
                ("notifications", settings.notifications_url),
            )
        }

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = await self.clients[service].request(
                method, path, params=params, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning("service unreachable", extra={"target": service, "error": repr(exc)})
            raise ApiError(503, "unreachable", f"{service} did not answer") from exc
        if response.status_code >= 400:
            raise _problem(response)
        return response.json() if response.content else None

    # --- catalog -------------------------------------------------------------------------

    async def territory(self, territory_id: uuid.UUID) -> Json:
        result: Json = await self.call("catalog", "GET", f"/v1/territories/{territory_id}")
        return result

    async def activities(
        self, territory_id: uuid.UUID | None = None, *, provider_id: uuid.UUID | None = None
    ) -> list[Json]:
        """Every activity of a territory, or of a provider (the catalogue pages by 200)."""
        scope = {"territory_id": territory_id, "provider_id": provider_id}
        params = {k: str(v) for k, v in scope.items() if v is not None}
        items: list[Json] = []
        while True:
            page = await self.call(
                "catalog",
                "GET",
                "/v1/activities",
                params=params | {"limit": 200, "offset": len(items)},
            )
            items.extend(page["items"])
            if not page["items"] or len(items) >= page["total"]:
                return items

    async def activity(self, activity_id: uuid.UUID) -> Json:
        result: Json = await self.call("catalog", "GET", f"/v1/activities/{activity_id}")
        return result

    # --- booking -------------------------------------------------------------------------

    async def calendar(self, activity_id: uuid.UUID, start: datetime, end: datetime) -> Json:
        result: Json = await self.call(
            "booking",
            "GET",
            f"/v1/activities/{activity_id}/availability",
            params={"from": start.isoformat(), "to": end.isoformat()},
        )
        return result

    async def slot_availability(self, slot_id: uuid.UUID) -> Json:
        result: Json = await self.call("booking", "GET", f"/v1/slots/{slot_id}/availability")
        return result

    async def hold(self, body: Json, idempotency_key: str) -> Json:
        result: Json = await self.call(
            "booking", "POST", "/v1/reservations", json=body, idempotency_key=idempotency_key
        )
        return result

    async def reservation(self, reservation_id: uuid.UUID, token: str) -> Json:
        result: Json = await self.call(
            "booking", "GET", f"/v1/reservations/{reservation_id}", token=token
        )
        return result

    async def cancel(self, reservation_id: uuid.UUID, token: str, key: str) -> Json:
        result: Json = await self.call(
            "booking",
            "POST",
            f"/v1/reservations/{reservation_id}/cancel",
            token=token,
            idempotency_key=key,
        )
        return result

    async def rebook(
        self, reservation_id: uuid.UUID, slot_id: uuid.UUID, token: str, key: str
    ) -> Json:
        result: Json = await self.call(
            "booking",
            "POST",
            f"/v1/reservations/{reservation_id}/rebook",
            token=token,
            json={"slot_id": str(slot_id)},
            idempotency_key=key,
        )
        return result

    async def join_waitlist(self, slot_id: uuid.UUID, body: Json, key: str) -> Json:
        result: Json = await self.call(
            "booking", "POST", f"/v1/slots/{slot_id}/waitlist", json=body, idempotency_key=key
        )
        return result

    async def waitlist_entry(self, entry_id: uuid.UUID, token: str) -> Json:
        result: Json = await self.call("booking", "GET", f"/v1/waitlist/{entry_id}", token=token)
        return result

    async def leave_waitlist(self, entry_id: uuid.UUID, token: str) -> Json:
        result: Json = await self.call("booking", "DELETE", f"/v1/waitlist/{entry_id}", token=token)
        return result

    # --- payments ------------------------------------------------------------------------

    async def payment(self, reservation_id: uuid.UUID, token: str) -> Json | None:
        """The reservation's payment, or None while payments has not heard of it yet."""
        try:
            result: Json = await self.call(
                "payments", "GET", f"/v1/reservations/{reservation_id}/payment", token=token
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def simulate_payment(self, reservation_id: uuid.UUID, token: str) -> Json:
        result: Json = await self.call(
            "payments",
            "POST",
            f"/v1/reservations/{reservation_id}/payment/simulate",
            token=token,
            idempotency_key=f"storefront-simulate-{reservation_id}",
        )
        return result

    async def checkout_session(
        self, reservation_id: uuid.UUID, token: str, *, success_url: str, cancel_url: str
    ) -> str:
        """Stripe's hosted payment page; Stripe sends the visitor back to ``success_url``
        (paid) or ``cancel_url`` (gave up), pages of this storefront."""
        result: Json = await self.call(
            "payments",
            "POST",
            f"/v1/reservations/{reservation_id}/payment/checkout-session",
            token=token,
            json={"success_url": success_url, "cancel_url": cancel_url},
            idempotency_key=f"storefront-checkout-{reservation_id}",
        )
        return str(result["url"])

    # --- sign-in ---------------------------------------------------------------------------

    async def providers_with_email(self, email: str, token: str) -> list[Json]:
        """The territory's providers whose contact address is ``email`` (any case)."""
        found: list[Json] = []
        offset = 0
        while True:
            page: Json = await self.call(
                "catalog",
                "GET",
                "/v1/providers",
                token=token,
                params={"limit": 200, "offset": offset},
            )
            items = page.get("items", [])
            found += [p for p in items if str(p.get("email", "")).lower() == email.lower()]
            offset += len(items)
            if not items or offset >= int(page.get("total", 0)):
                return found

    async def send_sign_in_link(self, body: Json, token: str, key: str) -> Json:
        result: Json = await self.call(
            "notifications",
            "POST",
            "/v1/sign-in-links",
            token=token,
            json=body,
            idempotency_key=key,
        )
        return result

    async def ready(self) -> dict[str, str]:
        """Whether each service answers its liveness probe."""
        checks = {}
        for name, client in self.clients.items():
            try:
                answer = await client.get("/healthz", timeout=2)
                checks[name] = "ok" if answer.status_code == 200 else f"{answer.status_code}"
            except httpx.HTTPError as exc:
                checks[name] = f"unreachable: {type(exc).__name__}"
        return checks


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return ApiError(response.status_code, "", response.reason_phrase)
    known = {"type", "title", "status", "detail", "instance"}
    return ApiError(
        response.status_code,
        _kind(str(body.get("type", "about:blank"))),
        str(body.get("detail") or body.get("title") or ""),
        {k: v for k, v in body.items() if k not in known},
    )
