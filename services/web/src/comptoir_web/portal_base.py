"""What every page of the provider portal shares: its frame and navigation, the calls to
the services with the provider's own token, and the service refusals in the provider's
words."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

import comptoir_web.portal_words  # noqa: F401 - registers the portal's words
from comptoir_web import i18n
from comptoir_web.auth import Session
from comptoir_web.backends import ApiError, Backends
from comptoir_web.i18n import Lang
from comptoir_web.pages import render
from comptoir_web.views import parse_time

LangDep = Annotated[Lang, PathParam()]
Json = dict[str, Any]
#: Booking answers at most this many reservations a page.
RESERVATIONS_PAGE = 500


def backends(request: Request) -> Backends:
    value: Backends = request.app.state.backends
    return value


def provider_of(session: Session) -> uuid.UUID:
    """The signed-in provider's id (a provider session always carries one)."""
    assert session.provider_id is not None
    return session.provider_id


def nav(lang: Lang) -> list[tuple[str, str]]:
    base = f"/{lang}/portal"
    return [
        (f"{base}/", i18n.translate(lang, "p_nav_agenda")),
        (f"{base}/activities", i18n.translate(lang, "p_nav_activities")),
        (f"{base}/payouts", i18n.translate(lang, "p_nav_payouts")),
        (f"{base}/webhooks", i18n.translate(lang, "p_nav_webhooks")),
        (f"{base}/export", i18n.translate(lang, "p_nav_export")),
    ]


def page(
    request: Request,
    lang: Lang,
    session: Session,
    name: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A portal page in the console frame (``templates/portal/<name>``)."""
    return render(
        request,
        lang,
        f"portal/{name}",
        status_code,
        session=session,
        nav=nav(lang),
        nav_label=i18n.translate(lang, "p_nav_label"),
        **context,
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def new_key() -> str:
    return str(uuid.uuid4())


async def all_reservations(request: Request, session: Session, params: Json) -> list[Json]:
    """Every reservation booking shows the provider under ``params``, page after page."""
    found: list[Json] = []
    while True:
        batch: list[Json] = await backends(request).call(
            "booking",
            "GET",
            "/v1/reservations",
            token=session.token,
            params=params | {"limit": RESERVATIONS_PAGE, "offset": len(found)},
        )
        found.extend(batch)
        if len(batch) < RESERVATIONS_PAGE:
            return found


def refusal(lang: Lang, error: ApiError, tz: str = i18n.DEFAULT_TZ) -> str:
    """A service's refusal of a provider's action, in the provider's words: the kinds the
    portal expects are translated (with their times in local time), others keep the
    service's own detail in English, or a general sentence in French."""
    extra = error.extra
    if error.status == 503:
        return i18n.translate(lang, "unavailable")
    if error.kind == "already-checked-in" and extra.get("redeemed_at"):
        return i18n.translate(
            lang,
            "p_e_already_checked_in",
            when=i18n.when(parse_time(str(extra["redeemed_at"])), lang, tz),
        )
    if error.kind == "check-in-closed" and extra.get("opens_at"):
        return i18n.translate(
            lang,
            "p_e_check_in_closed",
            opens=i18n.when(parse_time(str(extra["opens_at"])), lang, tz),
            closes=i18n.when(parse_time(str(extra["closes_at"])), lang, tz),
        )
    if error.kind == "not-confirmed":
        status = str(extra.get("reservation_status", ""))
        return i18n.translate(
            lang, "p_e_not_confirmed", status=i18n.translate(lang, f"p_status_{status}")
        )
    known = {
        "slot-started": "p_e_slot_started",
        "slot-cancelled": "p_e_slot_cancelled",
        "slot-in-the-past": "p_e_slot_in_the_past",
        "onboarding-not-finished": "p_e_onboarding",
        "endpoint-disabled": "p_e_endpoint_disabled",
        "delivery-pending": "p_e_delivery_pending",
        "unknown-event-type": "p_e_event_types",
        "unsafe-webhook-url": "p_e_unsafe_url",
        "idempotency-key-in-use": "e_idempotency-key-in-use",
    }
    if error.kind in known:
        text = i18n.translate(lang, known[error.kind])
        if error.kind == "unsafe-webhook-url" and lang == "en" and error.detail:
            return error.detail
        return text
    if error.status == 404:
        return i18n.translate(lang, "p_e_not_found")
    if lang == "en" and error.detail:
        return error.detail
    return i18n.translate(lang, "p_e_refused")
