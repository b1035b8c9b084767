"""The provider's money and integrations in the portal: its Stripe account and payouts
(and the way to its own Stripe Express dashboard), and its webhook endpoints with their
delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from comptoir_web import i18n
from comptoir_web.auth import ProviderSession, Session
from comptoir_web.backends import ApiError
from comptoir_web.i18n import Lang
from comptoir_web.pages import LangDep, PageNotFound, _form_key, backends_of
from comptoir_web.portal_base import (
    Json,
    form_call,
    form_page,
    outcome_of,
    page,
    provider_of,
    redirect,
    redirect_with_outcome,
    refusal,
    territory_zone,
)
from comptoir_web.views import parse_time

router = APIRouter(include_in_schema=False)

#: Events a provider may subscribe a webhook endpoint to (as notifications lists them).
WEBHOOK_EVENTS = (
    "booking.confirmed.v1",
    "booking.cancelled.v1",
    "booking.rebooked.v1",
    "booking.slot-cancelled.v1",
    "booking.redeemed.v1",
    "payments.payout-updated.v1",
)
DELIVERIES_PAGE = 50


# --- payouts --------------------------------------------------------------------------------


async def _payouts_page(
    request: Request, lang: Lang, session: Session, status_code: int = 200, error: str = ""
) -> Response:
    provider_id = provider_of(session)
    b = backends_of(request)
    try:
        account: Json | None = await b.call(
            "payments", "GET", f"/v1/providers/{provider_id}/account", token=session.token
        )
        payouts: list[Json] = await b.call(
            "payments", "GET", f"/v1/providers/{provider_id}/payouts", token=session.token
        )
    except ApiError as exc:
        if exc.status != 404:
            raise
        # Payments learns of a provider from catalog's events: not yet, nothing to show.
        account, payouts = None, []
    for payout in payouts:
        payout["arrival"] = parse_time(payout["arrival_date"]) if payout["arrival_date"] else None
    return page(
        request,
        lang,
        session,
        "payouts.html",
        status_code,
        account=account,
        payouts=payouts,
        error=error,
        # The dashboard's refusal is shown at /payouts/dashboard: the switch goes to the page.
        canonical="/portal/payouts",
    )


@router.get("/{lang}/portal/payouts")
async def payouts_page(request: Request, lang: LangDep, session: ProviderSession) -> Response:
    return await _payouts_page(request, lang, session)


@router.get("/{lang}/portal/payouts/dashboard")
async def stripe_dashboard(request: Request, lang: LangDep, session: ProviderSession) -> Response:
    """Off to the provider's own Stripe Express dashboard. A link (GET), not a form: the
    pages may post forms to this site only, and the single-use sign-in link payments
    makes opens nothing but the signed-in provider's own dashboard."""
    path = f"/v1/providers/{provider_of(session)}/dashboard-link"
    link, error = await form_call(
        request, session, "payments", "POST", path, key=None, refused=(403, 404, 409)
    )
    if error is not None:
        return await _payouts_page(request, lang, session, 409, refusal(lang, error))
    return redirect(str(link["dashboard_url"]))


# --- webhooks -------------------------------------------------------------------------------


async def _endpoints(request: Request, session: Session) -> list[Json]:
    found: list[Json] = []
    while True:
        batch: Json = await backends_of(request).call(
            "notifications",
            "GET",
            "/v1/webhook-endpoints",
            token=session.token,
            params={"limit": 200, "offset": len(found)},
        )
        found.extend(batch["items"])
        if not batch["items"] or len(found) >= int(batch["total"]):
            return found


async def _webhooks_page(
    request: Request, lang: Lang, session: Session, status_code: int = 200, **context: Any
) -> Response:
    endpoints = await _endpoints(request, session)
    endpoints.sort(key=lambda e: (not e["enabled"], e["created_at"]))
    context.setdefault("form", {"events": list(WEBHOOK_EVENTS)})
    context.setdefault("errors", {})
    done = context.pop("done", {})
    # "Disabled" is said only of an endpoint this provider has, disabled indeed.
    disabled = done.get("done") == "disabled" and any(
        e["id"] == done.get("e") and not e["enabled"] for e in endpoints
    )
    return form_page(
        request,
        lang,
        session,
        "webhooks.html",
        "/portal/webhooks",
        status_code,
        tz=await territory_zone(request, session),
        endpoints=endpoints,
        events=WEBHOOK_EVENTS,
        done="disabled" if disabled else "",
        **context,
    )


@router.get("/{lang}/portal/webhooks")
async def webhooks_page(request: Request, lang: LangDep, session: ProviderSession) -> Response:
    return await _webhooks_page(
        request, lang, session, done=outcome_of(request, session, "webhooks")
    )


@router.post("/{lang}/portal/webhooks")
async def add_endpoint(request: Request, lang: LangDep, session: ProviderSession) -> Response:
    """Register an endpoint; its signing secret is shown on the answer, this once."""
    raw = await request.form()
    url = str(raw.get("url", "")).strip()
    description = str(raw.get("description", "")).strip()
    events = [str(e) for e in raw.getlist("events") if str(e) in WEBHOOK_EVENTS]
    form = {"url": url, "description": description, "events": events}
    errors = {}
    if not url.startswith(("https://", "http://")) or len(url) > 2000:
        errors["url"] = i18n.translate(lang, "p_e_url")
    if not events:
        errors["events"] = i18n.translate(lang, "p_e_events")
    if len(description) > 500:
        errors["description"] = i18n.translate(lang, "p_e_too_long", high=500)
    if not errors:
        created, error = await form_call(
            request,
            session,
            "notifications",
            "POST",
            "/v1/webhook-endpoints",
            key=_form_key(str(raw.get("key", ""))),
            json={"url": url, "event_types": events, "description": description or None},
            refused=(409, 422),
        )
        if error is None:
            return await _webhooks_page(request, lang, session, secret=created)
        errors["url"] = refusal(lang, error)
    return await _webhooks_page(request, lang, session, 422, form=form, errors=errors)


async def _own_endpoint(request: Request, session: Session, endpoint_id: uuid.UUID) -> Json:
    try:
        endpoint: Json = await backends_of(request).call(
            "notifications", "GET", f"/v1/webhook-endpoints/{endpoint_id}", token=session.token
        )
    except ApiError as error:
        if error.status in (403, 404):
            raise PageNotFound from error
        raise
    return endpoint


@router.post("/{lang}/portal/webhooks/{endpoint_id}/rotate")
async def rotate_secret(
    request: Request,
    lang: LangDep,
    endpoint_id: uuid.UUID,
    session: ProviderSession,
    key: Annotated[str, Form()] = "",
) -> Response:
    endpoint = await _own_endpoint(request, session, endpoint_id)
    rotated, error = await form_call(
        request,
        session,
        "notifications",
        "POST",
        f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        key=_form_key(key),
        refused=(404, 409),
    )
    if error is not None:
        return await _webhooks_page(request, lang, session, 409, error=refusal(lang, error))
    return await _webhooks_page(
        request, lang, session, secret=rotated | {"url": endpoint["url"]}, rotated=True
    )


@router.post("/{lang}/portal/webhooks/{endpoint_id}/disable")
async def disable_endpoint(
    request: Request, lang: LangDep, endpoint_id: uuid.UUID, session: ProviderSession
) -> Response:
    await _own_endpoint(request, session, endpoint_id)
    await backends_of(request).call(
        "notifications", "DELETE", f"/v1/webhook-endpoints/{endpoint_id}", token=session.token
    )
    return redirect_with_outcome(
        request, session, f"/{lang}/portal/webhooks", "disabled", "webhooks", e=str(endpoint_id)
    )


async def _deliveries_page(
    request: Request,
    lang: Lang,
    session: Session,
    endpoint_id: uuid.UUID,
    status_code: int = 200,
    **context: Any,
) -> Response:
    endpoint = await _own_endpoint(request, session, endpoint_id)
    query = request.query_params
    only = query.get("status", "")
    only = only if only in ("PENDING", "DELIVERED", "DEAD") else ""
    try:
        offset = max(0, int(query.get("offset", "0")))
    except ValueError:
        offset = 0
    params: Json = {"limit": DELIVERIES_PAGE, "offset": offset}
    if only:
        params["status"] = only
    log: Json = await backends_of(request).call(
        "notifications",
        "GET",
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries",
        token=session.token,
        params=params,
    )
    done = context.pop("done", {})
    return form_page(
        request,
        lang,
        session,
        "deliveries.html",
        f"/portal/webhooks/{endpoint_id}",
        status_code,
        tz=await territory_zone(request, session),
        done=str(done.get("done", "")),
        endpoint=endpoint,
        deliveries=log["items"],
        total=int(log["total"]),
        offset=offset,
        page_size=DELIVERIES_PAGE,
        only=only,
        **context,
    )


@router.get("/{lang}/portal/webhooks/{endpoint_id}")
async def deliveries_page(
    request: Request, lang: LangDep, endpoint_id: uuid.UUID, session: ProviderSession
) -> Response:
    done = outcome_of(request, session, str(endpoint_id))
    return await _deliveries_page(request, lang, session, endpoint_id, done=done)


@router.post("/{lang}/portal/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
async def replay_delivery(
    request: Request,
    lang: LangDep,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    session: ProviderSession,
    key: Annotated[str, Form()] = "",
) -> Response:
    await _own_endpoint(request, session, endpoint_id)
    _, error = await form_call(
        request,
        session,
        "notifications",
        "POST",
        f"/v1/webhook-deliveries/{delivery_id}/replay",
        key=_form_key(key),
        refused=(404, 409),
    )
    if error is not None:
        return await _deliveries_page(
            request, lang, session, endpoint_id, 409, error=refusal(lang, error)
        )
    return redirect_with_outcome(
        request, session, f"/{lang}/portal/webhooks/{endpoint_id}", "replayed", str(endpoint_id)
    )
