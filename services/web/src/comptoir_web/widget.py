"""The booking widget: ``/widget.js``, the pages of its frame (``/{lang}/embed/...``) and
the page that gives providers and the office the code to paste (``/{lang}/widget``).

The frame's pages are the storefront's own (same templates, same checks, same calls),
scoped to one provider or territory and carrying the visitor token in their addresses;
see :mod:`comptoir_web.embed`. Card payment cannot happen in a frame (Stripe Checkout
refuses to be framed): that one form leaves the frame for the whole window, and Stripe
sends the visitor back to the storefront's page of the reservation.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from comptoir_web import i18n
from comptoir_web.backends import ApiError
from comptoir_web.embed import Embed
from comptoir_web.i18n import Lang
from comptoir_web.pages import (
    TOKEN_COOKIE,
    Json,
    LangDep,
    PageNotFound,
    _activity_page,
    _missing_token,
    _redirect,
    _set_token,
    backends_of,
    error_page,
    hold_seats,
    render,
    reservation_view,
    search_page,
    start_payment,
)

router = APIRouter(include_in_schema=False)

WIDGET_JS = Path(__file__).with_name("static").joinpath("widget.js").read_bytes()
#: Sites reference ``/widget.js`` by a fixed address they cannot version: browsers keep it
#: a day and refresh it in the background for a week, so a change reaches every site
#: within a day without each page view asking for it.
WIDGET_CACHE = "public, max-age=86400, stale-while-revalidate=604800"


@router.get("/widget.js")
async def widget_js() -> Response:
    """The script a site pastes; readable from any site (a plain script needs no CORS,
    but a page that loads it with ``crossorigin`` or under COEP does)."""
    return Response(
        WIDGET_JS,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": WIDGET_CACHE,
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


def _embed(request: Request) -> Embed:
    embed = Embed.of(request)
    assert embed is not None  # every route of this module below is under /{lang}/embed/
    return embed


def _setup_page(request: Request, lang: Lang) -> HTMLResponse:
    """The widget's code names no provider or territory (or not as an identifier)."""
    return render(
        request,
        lang,
        "message.html",
        400,
        title=i18n.translate(lang, "embed_setup_title"),
        text=i18n.translate(lang, "embed_setup_text"),
    )


def _unknown_page(request: Request, lang: Lang) -> HTMLResponse:
    return render(
        request,
        lang,
        "message.html",
        404,
        title=i18n.translate(lang, "embed_unknown_title"),
        text=i18n.translate(lang, "embed_unknown_text"),
    )


async def _activity_in_scope(request: Request, embed: Embed, activity_id: uuid.UUID) -> Json:
    """The activity, if this widget sells it; the "not found" page otherwise."""
    activity: Json = await backends_of(request).activity(activity_id)
    if not embed.shows(activity):
        raise PageNotFound
    return activity


@router.get("/{lang}/embed/")
async def embed_list(request: Request, lang: LangDep) -> Response:
    """The provider's (or territory's) activities, with the storefront's filters."""
    embed = _embed(request)
    if not embed.scoped:
        return _setup_page(request, lang)
    backends = backends_of(request)
    try:
        if embed.provider is not None:
            activities = await backends.activities(provider_id=embed.provider)
            if not activities:
                return _unknown_page(request, lang)
            territory = await backends.territory(uuid.UUID(activities[0]["territory_id"]))
        else:
            assert embed.territory is not None
            territory, activities = await asyncio.gather(
                backends.territory(embed.territory), backends.activities(embed.territory)
            )
    except ApiError as error:
        if error.status == 404:
            return _unknown_page(request, lang)
        return error_page(request, error)
    heading = i18n.translate(lang, "embed_title") if embed.provider else None
    return await search_page(request, lang, territory, activities, heading=heading)


@router.get("/{lang}/embed/activities/{activity_id}")
async def embed_activity(request: Request, lang: LangDep, activity_id: uuid.UUID) -> Response:
    embed = _embed(request)
    if not embed.scoped:
        return _setup_page(request, lang)
    await _activity_in_scope(request, embed, activity_id)
    return await _activity_page(request, lang, activity_id)


@router.post("/{lang}/embed/activities/{activity_id}/hold")
async def embed_hold(request: Request, lang: LangDep, activity_id: uuid.UUID) -> Response:
    """As the storefront's hold; the frame then shows the hold with its token in the URL
    (no cookie: a frame of another site would not get it back)."""
    embed = _embed(request)
    if not embed.scoped:
        return _setup_page(request, lang)
    await _activity_in_scope(request, embed, activity_id)
    return await hold_seats(
        request,
        lang,
        activity_id,
        lambda hold: _redirect(embed.reservation(hold["id"], hold["visitor_token"])),
    )


@router.get("/{lang}/embed/reservations/{reservation_id}")
async def embed_reservation(request: Request, lang: LangDep, reservation_id: uuid.UUID) -> Response:
    """The hold, its payment, then the ticket, inside the frame."""
    embed = _embed(request)
    if embed.token is None:
        return _missing_token(request, lang)
    return await reservation_view(request, lang, reservation_id, embed.token)


@router.post("/{lang}/embed/reservations/{reservation_id}/pay")
async def embed_pay(request: Request, lang: LangDep, reservation_id: uuid.UUID) -> Response:
    """The simulated payment stays in the frame. Stripe Checkout cannot be framed: its
    form targets the whole window, so this answer is a top-level page of the storefront,
    which keeps the token in its own cookie for the page Stripe comes back to."""
    embed = _embed(request)
    if embed.token is None:
        return _missing_token(request, lang)
    page = f"/reservations/{reservation_id}"
    checkout = await start_payment(request, lang, reservation_id, embed.token)
    if checkout is None:
        return _redirect(embed.url(page, {"done": "paid"}))
    if not checkout:
        return _redirect(embed.url(page, {"error": "payment"}))
    response = RedirectResponse(checkout, status_code=303)
    _set_token(response, request, TOKEN_COOKIE, str(reservation_id), embed.token)
    return response


@router.get("/{lang}/widget")
async def how_to_embed(request: Request, lang: LangDep) -> HTMLResponse:
    """The code to paste for a provider (``?provider=``) or a territory (``?territory=``,
    the storefront's own territory by default), a live preview and how to set it."""
    query = request.query_params
    kind = "provider" if "provider" in query else "territory"
    raw = query.get(kind, "").strip()
    default = str(request.app.state.settings.territory_id)
    try:
        scope_id: uuid.UUID | None = uuid.UUID(raw or default)
    except ValueError:
        scope_id = None
    base = request.app.state.settings.storefront_url
    snippet = (
        f'<script src="{base}/widget.js" data-{kind}="{scope_id}" data-lang="{lang}" '
        "async></script>"
        if scope_id
        else ""
    )
    return render(
        request,
        lang,
        "widget_how.html",
        200 if scope_id else 422,
        kind=kind,
        scope_id=str(scope_id) if scope_id else raw,
        snippet=snippet,
    )
