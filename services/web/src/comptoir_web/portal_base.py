"""What every page of the provider portal shares: its frame and navigation, the calls to
the services with the provider's own token, and the service refusals in the provider's
words."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from comptoir_web import i18n, portal_words
from comptoir_web.auth import Session, authority
from comptoir_web.backends import ApiError
from comptoir_web.i18n import Lang
from comptoir_web.pages import backends_of, render
from comptoir_web.views import parse_time

Json = dict[str, Any]
#: Booking answers at most this many reservations a page.
RESERVATIONS_PAGE = 500
#: The audience of the signed outcome a form's redirect carries (``?done=``).
OUTCOME_AUDIENCE = "portal-outcome"
#: How long after a change its success message is shown on the page it redirected to.
OUTCOME_TTL = timedelta(minutes=10)


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
    """A portal page in the console frame (``templates/portal/<name>``). A page shown in
    answer to a form passes ``canonical=`` (its GET address without the language), so
    that the language switch leads to a page and not to the form's address."""
    return render(
        request,
        lang,
        f"portal/{name}",
        status_code,
        session=session,
        nav=nav(lang),
        nav_label=i18n.translate(lang, "p_nav_label"),
        stripe=lambda kind, code, capital=True: portal_words.stripe_words(
            lang, kind, code, capital
        ),
        sentence=lambda key, **values: portal_words.sentence(lang, key, **values),
        not_bookable=lambda reason: portal_words.not_bookable_words(lang, reason),
        **context,
    )


def form_page(
    request: Request,
    lang: Lang,
    session: Session,
    name: str,
    address: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A portal page holding forms: ``key`` is a fresh Idempotency-Key for them (pressing
    twice, or reloading after a post, does the thing once). ``address`` is the page's GET
    address without the language: shown in answer to a form (a POST), the page passes it
    as ``canonical=`` so that the language switch leads to it; a page got by GET keeps its
    own address (and query)."""
    if request.method != "GET":
        context["canonical"] = address
    return page(request, lang, session, name, status_code, key=str(uuid.uuid4()), **context)


async def territory_zone(request: Request, session: Session) -> str:
    """The IANA time zone of the signed-in provider's territory: the days of the agenda
    and of the export begin at its midnight, not at the server's or at Paris's."""
    territory: Json = await backends_of(request).territory(session.territory_id)
    return str(territory.get("timezone") or i18n.DEFAULT_TZ)


def _outcome_holder(session: Session) -> str:
    """Whose outcome a signed ``?done=`` is: the provider's, or the office's of the
    territory (any of its staff; never a provider's, though both may change an activity)."""
    if session.is_admin:
        return f"office:{session.territory_id}"
    return str(provider_of(session))


def redirect_with_outcome(
    request: Request,
    session: Session,
    address: str,
    done: str,
    subject: str,
    **figures: int | str,
) -> RedirectResponse:
    """Back to ``address`` (303) with a signed ``?done=`` saying what a form just did (for
    the success message of that page). Signed, bound to who did it (the provider, or the
    office of the territory) and to the thing changed (``subject``) and short-lived: a link
    someone crafts (``?done=cancelled&n=42``) shows no message, let alone made-up
    figures."""
    token = authority(request).sign(
        OUTCOME_AUDIENCE,
        {"p": _outcome_holder(session), "s": subject, "done": done, **figures},
        OUTCOME_TTL,
    )
    return redirect(f"{address}?done={token}")


def outcome_of(request: Request, session: Session, subject: str) -> Json:
    """The outcome a redirect carried in ``?done=`` (``{"done": kind, ...figures}``), if
    this site signed it for this provider (or this territory's office) and this subject,
    in the last minutes; else ``{}`` (no message)."""
    token = request.query_params.get("done", "")
    if not token:
        return {}
    try:
        claims = authority(request).read(OUTCOME_AUDIENCE, token)
    except jwt.PyJWTError:
        return {}
    if claims.get("p") != _outcome_holder(session) or claims.get("s") != subject:
        return {}
    return claims


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def form_call(
    request: Request,
    session: Session,
    service: str,
    method: str,
    path: str,
    *,
    key: str | None,
    json: Any = None,
    refused: tuple[int, ...] = (404, 409, 422),
) -> tuple[Any, ApiError | None]:
    """What a form asks of a service, sent with the session's token (the provider's, or the
    office's on the office pages sharing the portal's forms) and ``key`` as
    its Idempotency-Key (None: none): ``(answer, None)``, or ``(None, error)`` when the
    service refuses with one of the ``refused`` statuses, which the form's page shows in
    place (see ``refusal``). Any other failure goes up to the error page."""
    try:
        answer = await backends_of(request).call(
            service, method, path, token=session.token, json=json, idempotency_key=key
        )
    except ApiError as error:
        if error.status not in refused:
            raise
        return None, error
    return answer, None


async def all_reservations(request: Request, session: Session, params: Json) -> list[Json]:
    """Every reservation booking shows the provider under ``params``, page after page.

    Booking lists the newest first and pages by offset: a booking made while we page
    pushes the list down by one, and the next page begins with a row already read. Rows
    are therefore kept once per id (the first copy seen). A booking made meanwhile may be
    missing, never doubled: the export and the counts add no visitor twice."""
    found: dict[str, Json] = {}
    offset = 0
    while True:
        batch: list[Json] = await backends_of(request).call(
            "booking",
            "GET",
            "/v1/reservations",
            token=session.token,
            params=params | {"limit": RESERVATIONS_PAGE, "offset": offset},
        )
        offset += len(batch)
        for reservation in batch:
            found.setdefault(str(reservation["id"]), reservation)
        if len(batch) < RESERVATIONS_PAGE:
            return list(found.values())


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
