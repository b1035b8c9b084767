"""The visitor's pages: search, activity, hold and payment, ticket, my reservation,
cancel, rebook, waitlist. Every page is rendered on the server, in French or English.

The visitor token booking returns with a hold is kept in an HttpOnly cookie scoped to
that reservation; a link carrying ``?token=`` (from an e-mail) stores it the same way and
redirects to the same page without it, so the token never stays in the address bar.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from comptoir_web import i18n
from comptoir_web.backends import ApiError, Backends
from comptoir_web.embed import Embed, page_url
from comptoir_web.i18n import LANGS, Lang
from comptoir_web.settings import WebSettings
from comptoir_web.views import (
    CALENDAR_DAYS,
    Filters,
    Json,
    bookable,
    calendar_days,
    day_bounds,
    lowest_price,
    matches_catalogue,
    matches_departures,
    next_departure,
    parse_time,
    qr_svg,
    refund_preview,
    wanted_units,
)

log = logging.getLogger("comptoir.web.pages")

router = APIRouter(include_in_schema=False)
LangDep = Annotated[Lang, PathParam()]

templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
#: A capital for the first letter only ("Samedi 28 novembre"): CSS ``capitalize`` would
#: capitalise every word, which French does not.
templates.filters["sentence"] = lambda text: str(text)[:1].upper() + str(text)[1:]

#: Cookie name prefixes (then the id in hex) of the visitor tokens kept for the visitor.
TOKEN_COOKIE = "cpt_r_"  # noqa: S105 - a cookie name, not a secret
WAITLIST_COOKIE = "cpt_w_"
COOKIE_DAYS = 60
_KEY = re.compile(r"^[A-Za-z0-9-]{16,64}$")
#: An e-mail address as every form of the site accepts it.
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def backends_of(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _now() -> datetime:
    return datetime.now(UTC)


# --- rendering -------------------------------------------------------------------------


def lang_of_path(path: str) -> Lang:
    first = path.strip("/").split("/", 1)[0]
    return "en" if first == "en" else "fr"


def preferred_lang(request: Request) -> Lang:
    """The language cookie, else the browser's first choice among ours, else French."""
    cookie = request.cookies.get("lang")
    if cookie in LANGS:
        return cookie  # type: ignore[return-value]
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGS:
            return tag  # type: ignore[return-value]
    return "fr"


def switch_url(request: Request, lang: Lang, canonical: str | None = None) -> str:
    """The same page in the other language. A page shown in answer to a form gives its
    ``canonical`` address (the page to GET, without the language), since the form's own
    address answers no GET."""
    other = "en" if lang == "fr" else "fr"
    if canonical is not None:
        return f"/{other}/{canonical.lstrip('/')}"
    rest = request.url.path.strip("/").split("/", 1)
    path = f"/{other}/" + (rest[1] if len(rest) > 1 else "")
    query = request.url.query
    return path + (f"?{query}" if query else "")


def render(
    request: Request, lang: Lang, name: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    tz = context.get("tz", i18n.DEFAULT_TZ)
    canonical = context.pop("canonical", None)
    # Inside the booking widget's frame (``embed``): the compact layout, links that stay
    # in the frame, and no cookie (another site's frame would not get it back).
    embed = Embed.of(request)
    context.setdefault("embed", embed)
    context.setdefault("layout", "embed/base.html" if embed else "base.html")
    context.setdefault("url", embed.url if embed else functools.partial(page_url, lang))

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    html = templates.get_template(name).render(
        lang=lang,
        t=t,
        money=lambda cents, currency: i18n.money(int(cents), currency, lang),
        # Times in the page's zone (``tz``), or in the zone given (an activity's own).
        when=lambda value, zone=None: i18n.when(parse_time(value), lang, zone or tz),
        hour=lambda value, zone=None: i18n.hour(parse_time(value), lang, zone or tz),
        day=lambda value, fmt="full", zone=None: i18n.day(value, lang, zone or tz, fmt),
        category=lambda slug: i18n.category(lang, slug),
        unit_name=lambda unit_id: i18n.unit_name(lang, unit_id),
        switch_url=switch_url(request, lang, canonical),
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if embed is None:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def error_message(lang: Lang, error: ApiError) -> str:
    """A problem detail in the visitor's words: known kinds translated, else its detail."""
    if error.status == 503:
        return i18n.translate(lang, "unavailable")
    template = i18n.MESSAGES[lang].get(f"e_{error.kind}")
    if template:
        try:
            return template.format(**error.extra)
        except (KeyError, IndexError):
            pass
    if lang == "en" and error.detail:
        return error.detail
    return i18n.translate(lang, "error_text")


class PageNotFound(Exception):
    """Answered with the 404 page in the page's language."""


def message_page(
    request: Request, status: int, title_key: str, text_key: str, **context: Any
) -> HTMLResponse:
    """A page that only says something (a refusal, an error), in the path's language."""
    lang = lang_of_path(request.url.path)
    return render(
        request,
        lang,
        "message.html",
        status,
        title=i18n.translate(lang, title_key),
        text=i18n.translate(lang, text_key),
        **context,
    )


def not_found_page(request: Request) -> HTMLResponse:
    return message_page(request, 404, "not_found_title", "not_found_text")


def error_page(request: Request, error: ApiError | None = None) -> HTMLResponse:
    if error is not None and error.status == 404:
        return not_found_page(request)
    if error is not None:
        log.warning(
            "a service refused a page's request",
            extra={
                "path": request.url.path,
                "status": error.status,
                "kind": error.kind,
                "detail": error.detail,
            },
        )
    unavailable = error is not None and error.status == 503
    return message_page(
        request,
        503 if unavailable else 500,
        "error_title",
        "unavailable" if unavailable else "error_text",
    )


def _form_key(raw: str | None) -> str:
    """The Idempotency-Key a form carries (made when the form was shown), or a new one."""
    return raw if raw and _KEY.match(raw) else str(uuid.uuid4())


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _set_token(response: Response, request: Request, prefix: str, obj_id: str, token: str) -> None:
    response.set_cookie(
        prefix + obj_id.replace("-", ""),
        token,
        max_age=COOKIE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _token(request: Request, prefix: str, obj_id: uuid.UUID) -> str | None:
    return request.cookies.get(prefix + obj_id.hex)


# --- entry points without a language ---------------------------------------------------


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/{preferred_lang(request)}/{query}", status_code=307)


@router.get("/activities/{activity_id}")
@router.get("/reservations/{activity_id}")
async def unprefixed(request: Request, activity_id: uuid.UUID) -> RedirectResponse:
    """Links in e-mails carry no language: send the visitor to theirs."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/{preferred_lang(request)}{request.url.path}{query}", status_code=307)


# --- search ----------------------------------------------------------------------------


@router.get("/{lang}/")
async def search(request: Request, lang: LangDep) -> HTMLResponse:
    settings = settings_of(request)
    backends = backends_of(request)
    query = dict(request.query_params)
    territory_id = settings.territory_id
    if query.get("territory"):
        try:
            territory_id = uuid.UUID(query["territory"])
        except ValueError as exc:
            raise PageNotFound from exc
    try:
        territory, activities = await asyncio.gather(
            backends.territory(territory_id), backends.activities(territory_id)
        )
    except ApiError as error:
        return error_page(request, error)
    return await search_page(
        request, lang, territory, activities, territory_query=query.get("territory", "")
    )


async def search_page(
    request: Request, lang: Lang, territory: Json, activities: list[Json], **extra: Any
) -> HTMLResponse:
    """The activities (the storefront's territory, or the widget's scope) with the search
    filters applied and their next departure."""
    backends = backends_of(request)
    query = dict(request.query_params)
    tz = territory.get("timezone") or i18n.DEFAULT_TZ
    now = _now()
    filters = Filters.parse(query, i18n.local_date(now, tz))
    candidates = [a for a in activities if matches_catalogue(a, filters)]
    start, end = filters.window(now, tz)
    results = await asyncio.gather(
        *(backends.calendar(uuid.UUID(a["id"]), start, end) for a in candidates),
        return_exceptions=True,
    )
    problem = None
    cards = []
    for activity, result in zip(candidates, results, strict=True):
        if isinstance(result, ApiError):
            if result.status != 404:  # booking has not heard of it yet: no departures
                problem = error_message(lang, result)
            slots: list[Json] = []
        elif isinstance(result, BaseException):
            raise result
        else:
            slots = result["slots"]
        if not matches_departures(slots, filters):
            continue
        cards.append(
            {
                "activity": activity,
                "price_cents": lowest_price(activity),
                "next": next_departure(slots),
            }
        )
    return render(
        request,
        lang,
        "search.html",
        tz=tz,
        territory=territory,
        filters=filters,
        categories=sorted({a["category"] for a in activities}),
        communes=sorted({a["commune"] for a in activities}),
        cards=cards,
        problem=problem,
        today=i18n.local_date(now, tz).isoformat(),
        **extra,
    )


# --- activity --------------------------------------------------------------------------


async def _activity_page(
    request: Request,
    lang: Lang,
    activity_id: uuid.UUID,
    *,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: list[str] | None = None,
) -> HTMLResponse:
    backends = backends_of(request)
    try:
        activity = await backends.activity(activity_id)
    except ApiError as error:
        return error_page(request, error)
    tz = activity.get("timezone") or i18n.DEFAULT_TZ
    now = _now()
    today = i18n.local_date(now, tz)
    first = today
    try:
        wanted = i18n.typed_date(request.query_params.get("from", ""))
        first = max(today, wanted)
    except ValueError:
        pass
    start, _ = day_bounds(first, tz, now)
    _, end = day_bounds(first + timedelta(days=CALENDAR_DAYS - 1), tz)
    problem = None
    try:
        slots = (await backends.calendar(activity_id, start, end))["slots"]
    except ApiError as error:
        slots = []
        if error.status != 404:
            problem = error_message(lang, error)
    form = form or {}
    chosen_slot = form.get("slot_id") or request.query_params.get("slot", "")
    return render(
        request,
        lang,
        "activity.html",
        status_code,
        tz=tz,
        activity=activity,
        title=activity["title"].get(lang) or activity["title"].get("fr", ""),
        description=activity["description"].get(lang) or activity["description"].get("fr", ""),
        photos=activity.get("photos") or [],
        days=calendar_days(slots, first, CALENDAR_DAYS, tz),
        earlier=(first - timedelta(days=CALENDAR_DAYS)).isoformat() if first > today else None,
        later=(first + timedelta(days=CALENDAR_DAYS)).isoformat(),
        first=first,
        last=first + timedelta(days=CALENDAR_DAYS - 1),
        chosen_slot=chosen_slot,
        bookable=bookable,
        form=form,
        errors=errors or [],
        problem=problem,
        key=str(uuid.uuid4()),
    )


@router.get("/{lang}/activities/{activity_id}")
async def activity_page(request: Request, lang: LangDep, activity_id: uuid.UUID) -> HTMLResponse:
    return await _activity_page(request, lang, activity_id)


@router.post("/{lang}/activities/{activity_id}/hold")
async def place_hold(request: Request, lang: LangDep, activity_id: uuid.UUID) -> Response:
    def held(hold: Json) -> Response:
        response = _redirect(f"/{lang}/reservations/{hold['id']}")
        _set_token(response, request, TOKEN_COOKIE, hold["id"], hold["visitor_token"])
        return response

    return await hold_seats(request, lang, activity_id, held)


async def hold_seats(
    request: Request, lang: Lang, activity_id: uuid.UUID, held: Callable[[Json], Response]
) -> Response:
    """Checks the booking form and holds the seats; ``held`` answers once they are held
    (the storefront keeps the visitor token in a cookie, the widget's frame in its URL)."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    backends = backends_of(request)
    try:
        activity = await backends.activity(activity_id)
    except ApiError as error:
        return error_page(request, error)
    errors = []
    slot_id = form.get("slot_id", "")
    try:
        uuid.UUID(slot_id)
    except ValueError:
        errors.append(i18n.translate(lang, "e_choose_slot"))
    units = wanted_units(form, activity["units"])
    if not units:
        errors.append(i18n.translate(lang, "e_choose_units"))
    name = form.get("name", "").strip()
    email = form.get("email", "").strip()
    if not name:
        errors.append(i18n.translate(lang, "e_name"))
    if not EMAIL.match(email):
        errors.append(i18n.translate(lang, "e_email"))
    if not errors:
        body = {
            "slot_id": slot_id,
            "units": units,
            "visitor": {"name": name, "email": email, "locale": lang},
        }
        try:
            hold = await backends.hold(body, _form_key(form.get("key")))
        except ApiError as error:
            if error.status == 503:
                return error_page(request, error)
            errors.append(error_message(lang, error))
        else:
            log.info("hold placed", extra={"reservation_id": hold["id"]})
            return held(hold)
    return await _activity_page(
        request, lang, activity_id, status_code=422, form=form, errors=errors
    )


# --- my reservation --------------------------------------------------------------------


async def _reservation_context(
    request: Request, reservation_id: uuid.UUID, token: str, *, with_payment: bool = True
) -> dict[str, Any]:
    """The reservation, its activity, its slot (start, seats) and its payment."""
    backends = backends_of(request)
    reservation = await backends.reservation(reservation_id, token)
    activity_id = uuid.UUID(reservation["activity_id"])
    created = parse_time(reservation["created_at"])
    activity, calendar, payment = await asyncio.gather(
        backends.activity(activity_id),
        # booking answers at most 366 days at once; the slot starts after the reservation
        # was made (or moved), within a year
        backends.calendar(activity_id, created - timedelta(hours=1), created + timedelta(days=365)),
        backends.payment(reservation_id, token) if with_payment else asyncio.sleep(0),
    )
    slot = next((s for s in calendar["slots"] if s["slot_id"] == reservation["slot_id"]), None)
    return {
        "reservation": reservation,
        "activity": activity,
        "slot": slot,
        "calendar": calendar["slots"],
        "payment": payment,
        "tz": activity.get("timezone") or i18n.DEFAULT_TZ,
    }


def _missing_token(request: Request, lang: Lang) -> HTMLResponse:
    return render(
        request,
        lang,
        "message.html",
        404,
        title=i18n.translate(lang, "no_access_title"),
        text=i18n.translate(lang, "no_access_text"),
    )


@router.get("/{lang}/reservations/{reservation_id}")
async def reservation_page(request: Request, lang: LangDep, reservation_id: uuid.UUID) -> Response:
    given = request.query_params.get("token")
    if given:
        rest = {k: v for k, v in request.query_params.items() if k != "token"}
        response: Response = _redirect(
            f"/{lang}/reservations/{reservation_id}" + (f"?{urlencode(rest)}" if rest else "")
        )
        _set_token(response, request, TOKEN_COOKIE, str(reservation_id), given)
        return response
    token = _token(request, TOKEN_COOKIE, reservation_id)
    if token is None:
        return _missing_token(request, lang)
    return await reservation_view(request, lang, reservation_id, token)


async def reservation_view(
    request: Request, lang: Lang, reservation_id: uuid.UUID, token: str
) -> Response:
    """The reservation as its visitor sees it: the hold and its payment, or the ticket."""
    try:
        context = await _reservation_context(request, reservation_id, token)
    except ApiError as error:
        if error.status in (401, 403, 404):
            return _missing_token(request, lang)
        return error_page(request, error)
    reservation = context["reservation"]
    payment = context["payment"]
    state = reservation["status"]
    expires_at = parse_time(reservation["expires_at"])
    seconds_left = max(0, int((expires_at - _now()).total_seconds()))
    # What the hold page says about the payment.
    pay_state = None
    if state == "ON_HOLD":
        if payment is None or (
            payment["status"] == "PENDING" and not payment.get("payment_intent_id")
        ):
            pay_state = "preparing"
        elif payment["status"] == "SUCCEEDED":
            pay_state = "processing"
        elif payment["status"] == "FAILED":
            pay_state = "failed"
        else:
            pay_state = "payable"
    done = request.query_params.get("done", "")
    if done == "paid" and pay_state == "payable":
        pay_state = "processing"  # paid just now: Stripe's confirmation is on its way
    return render(
        request,
        lang,
        "reservation.html",
        **context,
        state=state,
        seconds_left=seconds_left,
        pay_state=pay_state,
        simulated=settings_of(request).payment_mode == "simulated",
        done=done if done in ("cancelled", "rebooked", "paid") else "",
        error=request.query_params.get("error", ""),
        ticket_svg=qr_svg(reservation["ticket_code"]) if reservation.get("ticket_code") else "",
        title_text=context["activity"]["title"].get(lang) or context["activity"]["title"]["fr"],
    )


@router.post("/{lang}/reservations/{reservation_id}/pay")
async def pay(request: Request, lang: LangDep, reservation_id: uuid.UUID) -> Response:
    """With stripe-mock, the simulated payment; with a real Stripe key, Checkout."""
    token = _token(request, TOKEN_COOKIE, reservation_id)
    if token is None:
        return _missing_token(request, lang)
    page = f"/{lang}/reservations/{reservation_id}"
    checkout = await start_payment(request, lang, reservation_id, token)
    if checkout is None:
        return _redirect(page + "?done=paid")
    if not checkout:
        return _redirect(page + "?error=payment")
    return RedirectResponse(checkout, status_code=303)


async def start_payment(
    request: Request, lang: Lang, reservation_id: uuid.UUID, token: str
) -> str | None:
    """Pays: None once the simulated payment is made; else the Stripe Checkout page to
    send the visitor to (it comes back to the storefront's page of the reservation); ""
    when the payment could not start (logged)."""
    backends = backends_of(request)
    settings = settings_of(request)
    page = f"{settings.storefront_url}/{lang}/reservations/{reservation_id}"
    try:
        if settings.payment_mode == "simulated":
            try:
                await backends.simulate_payment(reservation_id, token)
                return None
            except ApiError as error:
                if error.status not in (404, 405):
                    raise
                # No simulated path on this platform (a real Stripe key): use Checkout.
        return await backends.checkout_session(
            reservation_id, token, success_url=page + "?done=paid", cancel_url=page
        )
    except ApiError as error:
        log.warning(
            "payment not started",
            extra={
                "reservation_id": str(reservation_id),
                "status": error.status,
                "kind": error.kind,
            },
        )
        return ""


async def _visitor_reservation(
    request: Request, lang: Lang, reservation_id: uuid.UUID
) -> dict[str, Any] | Response:
    """The reservation's page context, read with the visitor's token, or the page to show
    instead (no token, or one that does not open this reservation; booking unreachable)."""
    token = _token(request, TOKEN_COOKIE, reservation_id)
    if token is None:
        return _missing_token(request, lang)
    try:
        return await _reservation_context(request, reservation_id, token, with_payment=False)
    except ApiError as error:
        if error.status in (401, 403, 404):
            return _missing_token(request, lang)
        return error_page(request, error)


@router.get("/{lang}/reservations/{reservation_id}/cancel")
async def cancel_form(request: Request, lang: LangDep, reservation_id: uuid.UUID) -> Response:
    context = await _visitor_reservation(request, lang, reservation_id)
    if isinstance(context, Response):
        return context
    reservation = context["reservation"]
    if reservation["status"] not in ("ON_HOLD", "CONFIRMED"):
        return _redirect(f"/{lang}/reservations/{reservation_id}")
    preview = None
    if reservation["status"] == "CONFIRMED" and context["slot"] is not None:
        preview = refund_preview(
            reservation["cancellation_policy"],
            int(reservation["total_cents"]),
            parse_time(context["slot"]["start"]),
            _now(),
        )
    return render(
        request,
        lang,
        "cancel.html",
        **context,
        preview=preview,
        key=str(uuid.uuid4()),
        error="",
    )


@router.post("/{lang}/reservations/{reservation_id}/cancel")
async def cancel(request: Request, lang: LangDep, reservation_id: uuid.UUID) -> Response:
    token = _token(request, TOKEN_COOKIE, reservation_id)
    if token is None:
        return _missing_token(request, lang)
    form = await request.form()
    try:
        await backends_of(request).cancel(reservation_id, token, _form_key(str(form.get("key"))))
    except ApiError as error:
        if error.status in (401, 403, 404):
            return _missing_token(request, lang)
        if error.status == 503:
            return error_page(request, error)
        context = await _reservation_context(request, reservation_id, token, with_payment=False)
        return render(
            request,
            lang,
            "cancel.html",
            409,
            **context,
            preview=None,
            key=str(uuid.uuid4()),
            error=error_message(lang, error),
        )
    log.info("reservation cancelled by its visitor", extra={"reservation_id": str(reservation_id)})
    return _redirect(f"/{lang}/reservations/{reservation_id}?done=cancelled")


@router.get("/{lang}/reservations/{reservation_id}/rebook")
async def rebook_form(request: Request, lang: LangDep, reservation_id: uuid.UUID) -> Response:
    return await _rebook_page(request, lang, reservation_id)


async def _rebook_page(
    request: Request, lang: Lang, reservation_id: uuid.UUID, error: str = "", status: int = 200
) -> Response:
    context = await _visitor_reservation(request, lang, reservation_id)
    if isinstance(context, Response):
        return context
    reservation = context["reservation"]
    if reservation["status"] != "CONFIRMED":
        return _redirect(f"/{lang}/reservations/{reservation_id}")
    now = _now()
    choices = [
        s
        for s in context["calendar"]
        if s["slot_id"] != reservation["slot_id"]
        and bookable(s)
        and int(s["remaining"]) >= int(reservation["seats"])
        and parse_time(s["start"]) > now
    ][:60]
    return render(
        request,
        lang,
        "rebook.html",
        status,
        **context,
        choices=choices,
        key=str(uuid.uuid4()),
        error=error,
    )


@router.post("/{lang}/reservations/{reservation_id}/rebook")
async def rebook(request: Request, lang: LangDep, reservation_id: uuid.UUID) -> Response:
    token = _token(request, TOKEN_COOKIE, reservation_id)
    if token is None:
        return _missing_token(request, lang)
    form = await request.form()
    try:
        slot_id = uuid.UUID(str(form.get("slot_id", "")))
    except ValueError:
        return await _rebook_page(
            request, lang, reservation_id, i18n.translate(lang, "e_choose_slot"), 422
        )
    try:
        await backends_of(request).rebook(
            reservation_id, slot_id, token, _form_key(str(form.get("key")))
        )
    except ApiError as error:
        if error.status == 503:
            return error_page(request, error)
        return await _rebook_page(request, lang, reservation_id, error_message(lang, error), 409)
    return _redirect(f"/{lang}/reservations/{reservation_id}?done=rebooked")


# --- waitlist --------------------------------------------------------------------------


async def _waitlist_form(
    request: Request,
    lang: Lang,
    activity_id: uuid.UUID,
    slot_id: uuid.UUID,
    *,
    form: dict[str, str] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    backends = backends_of(request)
    try:
        activity = await backends.activity(activity_id)
        start = datetime.now(UTC) - timedelta(minutes=1)
        calendar = await backends.calendar(activity_id, start, start + timedelta(days=366))
    except ApiError as error:
        return error_page(request, error)
    slot = next((s for s in calendar["slots"] if s["slot_id"] == str(slot_id)), None)
    if slot is None:
        raise PageNotFound
    return render(
        request,
        lang,
        "waitlist_form.html",
        status,
        tz=activity.get("timezone") or i18n.DEFAULT_TZ,
        activity=activity,
        slot=slot,
        form=form or {},
        errors=errors or [],
        key=str(uuid.uuid4()),
    )


@router.get("/{lang}/activities/{activity_id}/slots/{slot_id}/waitlist")
async def waitlist_form(
    request: Request, lang: LangDep, activity_id: uuid.UUID, slot_id: uuid.UUID
) -> Response:
    return await _waitlist_form(request, lang, activity_id, slot_id)


@router.post("/{lang}/activities/{activity_id}/slots/{slot_id}/waitlist")
async def join_waitlist(
    request: Request, lang: LangDep, activity_id: uuid.UUID, slot_id: uuid.UUID
) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    backends = backends_of(request)
    try:
        activity = await backends.activity(activity_id)
    except ApiError as error:
        return error_page(request, error)
    errors = []
    units = wanted_units(form, activity["units"])
    if not units:
        errors.append(i18n.translate(lang, "e_choose_units"))
    name, email = form.get("name", "").strip(), form.get("email", "").strip()
    if not name:
        errors.append(i18n.translate(lang, "e_name"))
    if not EMAIL.match(email):
        errors.append(i18n.translate(lang, "e_email"))
    if not errors:
        body = {"units": units, "visitor": {"name": name, "email": email, "locale": lang}}
        try:
            entry = await backends.join_waitlist(slot_id, body, _form_key(form.get("key")))
        except ApiError as error:
            if error.status == 503:
                return error_page(request, error)
            errors.append(error_message(lang, error))
        else:
            response = _redirect(f"/{lang}/waitlist/{entry['id']}")
            _set_token(response, request, WAITLIST_COOKIE, entry["id"], entry["visitor_token"])
            return response
    return await _waitlist_form(
        request, lang, activity_id, slot_id, form=form, errors=errors, status=422
    )


@router.get("/{lang}/waitlist/{entry_id}")
async def waitlist_page(request: Request, lang: LangDep, entry_id: uuid.UUID) -> Response:
    return await _visitor_waitlist(request, lang, entry_id, leave=False)


@router.post("/{lang}/waitlist/{entry_id}/leave")
async def leave_waitlist(request: Request, lang: LangDep, entry_id: uuid.UUID) -> Response:
    return await _visitor_waitlist(request, lang, entry_id, leave=True)


async def _visitor_waitlist(
    request: Request, lang: Lang, entry_id: uuid.UUID, *, leave: bool
) -> Response:
    """The waitlist entry's page, read (or, with ``leave``, left) with the visitor's token,
    as :func:`_visitor_reservation` does for a reservation: no token, or one that does not
    open this entry, is the no-access page; a refused leave shows the entry and why."""
    token = _token(request, WAITLIST_COOKIE, entry_id)
    if token is None:
        return _missing_token(request, lang)
    backends = backends_of(request)
    try:
        if leave:
            entry = await backends.leave_waitlist(entry_id, token)
        else:
            entry = await backends.waitlist_entry(entry_id, token)
    except ApiError as error:
        if error.status in (401, 403, 404):
            return _missing_token(request, lang)
        if not leave or error.status == 503:
            return error_page(request, error)
        entry = await backends.waitlist_entry(entry_id, token)
        return render(
            request, lang, "waitlist.html", 409, entry=entry, error=error_message(lang, error)
        )
    return render(request, lang, "waitlist.html", entry=entry, error="")
