"""The provider portal (``/{lang}/portal/``): the agenda of departures, a departure's
visitors with the check-in at the door, its capacity, its sales and its cancellation, and
the bookings export. The activities, payouts and webhooks pages are in
``portal_offer`` and ``portal_account``; every page needs a signed-in provider.

Every call carries the provider's own token, so the services decide what it may see and
do: a departure of another provider is answered "not found" by booking, and so by these
pages. Forms carry the Idempotency-Key made when they were shown: pressing twice, or
reloading after a post, does the thing once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from comptoir_web import i18n, portal_account, portal_offer
from comptoir_web.auth import ProviderSession, Session
from comptoir_web.backends import ApiError
from comptoir_web.csvfile import csv_response
from comptoir_web.i18n import Lang, local_date
from comptoir_web.pages import LangDep, PageNotFound, _form_key, backends_of
from comptoir_web.portal_base import (
    Json,
    all_reservations,
    form_call,
    form_page,
    outcome_of,
    page,
    provider_of,
    redirect_with_outcome,
    refusal,
    territory_zone,
)
from comptoir_web.portal_views import (
    DEFAULT_PERIOD,
    EXPORT_MAX_DAYS,
    PERIODS,
    agenda_days,
    bookings_csv,
    local_midnight,
    parse_int,
    period_window,
)
from comptoir_web.views import parse_time

router = APIRouter(include_in_schema=False)
router.include_router(portal_offer.router)
router.include_router(portal_account.router)

#: Highest capacity catalog accepts for a departure.
MAX_CAPACITY = 10_000


def _now() -> datetime:
    return datetime.now(UTC)


# --- the agenda ---------------------------------------------------------------------------


@router.get("/{lang}/portal/")
async def agenda(
    request: Request, lang: LangDep, session: ProviderSession, period: str = DEFAULT_PERIOD
) -> Response:
    """Today's and the coming days' departures with their seats sold and checked in.
    "Today" is the territory's (its midnight starts the periods); each departure's hour
    is in its activity's own time zone."""
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    now = _now()
    tz = await territory_zone(request, session)
    start, end = period_window(period, now, tz)
    slots: list[Json] = await backends_of(request).call(
        "booking",
        "GET",
        "/v1/agenda",
        token=session.token,
        params={"from": start.isoformat(), "to": end.isoformat()},
    )
    today = local_date(now, tz)
    return page(
        request,
        lang,
        session,
        "agenda.html",
        tz=tz,
        days=agenda_days(slots, now, tz),
        period=period,
        periods=list(PERIODS),
        export_from=today.isoformat(),
        export_to=(today + timedelta(days=PERIODS[period] - 1)).isoformat(),
        count=len(slots),
    )


# --- one departure ------------------------------------------------------------------------


async def _departure(request: Request, session: Session, slot_id: uuid.UUID) -> tuple[Json, Json]:
    """The departure as catalog holds it (capacity, sales) and as booking counts it
    (seats, check-ins). Booking's agenda shows a provider its own departures only: one of
    another provider is not found, whatever catalog says."""
    b = backends_of(request)
    try:
        held: Json = await b.call("catalog", "GET", f"/v1/slots/{slot_id}")
    except ApiError as error:
        if error.status == 404:
            raise PageNotFound from error
        raise
    start = parse_time(held["start"])
    board: list[Json] = await b.call(
        "booking",
        "GET",
        "/v1/agenda",
        token=session.token,
        params={
            "from": (start - timedelta(seconds=1)).isoformat(),
            "to": (start + timedelta(seconds=1)).isoformat(),
            "activity_id": held["activity_id"],
        },
    )
    counted = next((s for s in board if s["slot_id"] == str(slot_id)), None)
    if counted is None or counted["provider_id"] != str(provider_of(session)):
        raise PageNotFound
    return held, counted


async def _slot_page(
    request: Request,
    lang: Lang,
    session: Session,
    slot_id: uuid.UUID,
    status_code: int = 200,
    **context: Any,
) -> Response:
    held, slot = await _departure(request, session, slot_id)
    reservations = await all_reservations(request, session, {"slot_id": str(slot_id)})
    shown = [r for r in reservations if r["status"] in ("CONFIRMED", "REDEEMED", "ON_HOLD")]
    shown.sort(key=lambda r: (r["status"] == "ON_HOLD", r["visitor"].get("name", "").lower()))
    others = [r for r in reservations if r not in shown]
    context.setdefault("code", "")
    context["done"] = confirmed_outcome(context.get("done") or {}, held, slot, reservations)
    return form_page(
        request,
        lang,
        session,
        "slot.html",
        f"/portal/slots/{slot_id}",
        status_code,
        tz=slot.get("timezone") or i18n.DEFAULT_TZ,
        slot=slot,
        held=held,
        reservations=shown,
        others=others,
        currency=reservations[0]["currency"] if reservations else "EUR",
        started=parse_time(held["start"]) <= _now(),
        **context,
    )


@router.get("/{lang}/portal/slots/{slot_id}")
async def slot_page(
    request: Request, lang: LangDep, slot_id: uuid.UUID, session: ProviderSession
) -> Response:
    return await _slot_page(
        request, lang, session, slot_id, done=outcome_of(request, session, str(slot_id))
    )


def confirmed_outcome(done: Json, held: Json, slot: Json, reservations: list[Json]) -> Json:
    """The success message a departure's page may show: the signed outcome of the form
    just sent, if the departure's state still says so (sales closed, reopened, cancelled),
    with its figures taken from the data, never from the address: the capacity catalog
    holds, the bookings booking cancelled with the departure and their refunds."""
    kind = str(done.get("done", ""))
    if kind == "capacity":
        return {"done": kind, "capacity": int(held["capacity"])}
    if kind == "closed" and held["status"] == "CLOSED":
        return {"done": kind}
    if kind == "opened" and held["status"] == "OPEN":
        return {"done": kind}
    if kind == "cancelled" and "CANCELLED" in (slot["status"], held["status"]):
        refunded = [
            r
            for r in reservations
            if r["status"] == "CANCELLED"
            and r.get("status_reason") == "SLOT_CANCELLED"
            and r.get("refund_cents") is not None
        ]
        return {
            "done": kind,
            "n": len(refunded),
            "refunds_cents": sum(int(r["refund_cents"]) for r in refunded),
        }
    return {}


@router.post("/{lang}/portal/slots/{slot_id}/check-in")
async def check_in(
    request: Request,
    lang: LangDep,
    slot_id: uuid.UUID,
    session: ProviderSession,
    code: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
) -> Response:
    """Check a visitor in with their ticket code (a button on their row, or typed or
    scanned in the field). The answer is shown in place: who came in, or why not."""
    code = code.strip()
    if not code:
        return await _slot_page(
            request,
            lang,
            session,
            slot_id,
            422,
            checkin_error=i18n.translate(lang, "p_e_code_empty"),
        )
    done, error = await form_call(
        request,
        session,
        "booking",
        "POST",
        "/v1/check-ins",
        key=_form_key(key),
        json={"code": code},
    )
    if error is not None:
        message = (
            i18n.translate(lang, "p_e_code_invalid")
            if error.status == 422
            else refusal(lang, error, await _tz_of(request, session, slot_id))
        )
        return await _slot_page(
            request,
            lang,
            session,
            slot_id,
            409 if error.status == 409 else 422,
            checkin_error=message,
            error_row=str(error.extra.get("reservation_id", "")),
            code=code,
        )
    return await _slot_page(request, lang, session, slot_id, checked_in=done)


async def _tz_of(request: Request, session: Session, slot_id: uuid.UUID) -> str:
    _, slot = await _departure(request, session, slot_id)
    return str(slot.get("timezone") or i18n.DEFAULT_TZ)


async def _change_slot(
    request: Request,
    lang: Lang,
    session: Session,
    slot_id: uuid.UUID,
    body: Json,
    key: str,
    done: str,
) -> Response:
    """Change the departure in catalog, then back to its page with the signed outcome."""
    await _departure(request, session, slot_id)
    _, error = await form_call(
        request, session, "catalog", "PATCH", f"/v1/slots/{slot_id}", key=_form_key(key), json=body
    )
    if error is not None:
        return await _slot_page(
            request, lang, session, slot_id, 409, action_error=refusal(lang, error)
        )
    return redirect_with_outcome(
        request, session, f"/{lang}/portal/slots/{slot_id}", done, str(slot_id)
    )


@router.post("/{lang}/portal/slots/{slot_id}/capacity")
async def change_capacity(
    request: Request,
    lang: LangDep,
    slot_id: uuid.UUID,
    session: ProviderSession,
    capacity: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
) -> Response:
    """A new capacity; below the seats already sold, nobody is cancelled: sales stop."""
    try:
        seats = parse_int(capacity, 0, MAX_CAPACITY)
    except ValueError:
        return await _slot_page(
            request,
            lang,
            session,
            slot_id,
            422,
            capacity_error=i18n.translate(lang, "p_e_capacity", high=MAX_CAPACITY),
            capacity_value=capacity,
        )
    return await _change_slot(request, lang, session, slot_id, {"capacity": seats}, key, "capacity")


@router.post("/{lang}/portal/slots/{slot_id}/sales")
async def change_sales(
    request: Request,
    lang: LangDep,
    slot_id: uuid.UUID,
    session: ProviderSession,
    status: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
) -> Response:
    """Close the sales of a departure (those who booked still come) or reopen them."""
    if status not in ("OPEN", "CLOSED"):
        raise PageNotFound
    done = "closed" if status == "CLOSED" else "opened"
    return await _change_slot(request, lang, session, slot_id, {"status": status}, key, done)


@router.get("/{lang}/portal/slots/{slot_id}/cancel")
async def cancel_form(
    request: Request, lang: LangDep, slot_id: uuid.UUID, session: ProviderSession
) -> Response:
    return await _cancel_page(request, lang, session, slot_id)


async def _cancel_page(
    request: Request,
    lang: Lang,
    session: Session,
    slot_id: uuid.UUID,
    status_code: int = 200,
    note: str = "",
    error: str = "",
    note_error: str = "",
) -> Response:
    """The confirmation step: who will be refunded in full and told, before anything."""
    _, slot = await _departure(request, session, slot_id)
    reservations = await all_reservations(
        request, session, {"slot_id": str(slot_id), "status": ["CONFIRMED", "ON_HOLD"]}
    )
    confirmed = [r for r in reservations if r["status"] == "CONFIRMED"]
    currency = confirmed[0]["currency"] if confirmed else "EUR"
    return form_page(
        request,
        lang,
        session,
        "cancel.html",
        f"/portal/slots/{slot_id}/cancel",
        status_code,
        tz=slot.get("timezone") or i18n.DEFAULT_TZ,
        slot=slot,
        visitors=len(confirmed),
        seats=sum(int(r["seats"]) for r in confirmed),
        holds=len(reservations) - len(confirmed),
        refunds_cents=sum(int(r["total_cents"]) for r in confirmed),
        currency=currency,
        note=note,
        note_error=note_error,
        error=error,
    )


@router.post("/{lang}/portal/slots/{slot_id}/cancel")
async def cancel_departure(
    request: Request,
    lang: LangDep,
    slot_id: uuid.UUID,
    session: ProviderSession,
    note: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
) -> Response:
    note = note.strip()
    if len(note) > 500:
        return await _cancel_page(
            request,
            lang,
            session,
            slot_id,
            422,
            note,
            note_error=i18n.translate(lang, "p_e_note_long"),
        )
    await _departure(request, session, slot_id)
    _, error = await form_call(
        request,
        session,
        "booking",
        "POST",
        f"/v1/slots/{slot_id}/cancel",
        key=_form_key(key),
        json={"note": note or None},
    )
    if error is not None:
        return await _cancel_page(request, lang, session, slot_id, 409, note, refusal(lang, error))
    return redirect_with_outcome(
        request, session, f"/{lang}/portal/slots/{slot_id}", "cancelled", str(slot_id)
    )


# --- the bookings export --------------------------------------------------------------------


def _export_period(raw_from: str, raw_to: str, today: date) -> tuple[date, date]:
    """The export's local days, both included: by default the next 30 days."""
    first = i18n.typed_date(raw_from) if raw_from else today
    last = i18n.typed_date(raw_to) if raw_to else first + timedelta(days=29)
    if last < first or (last - first).days >= EXPORT_MAX_DAYS:
        raise ValueError("bad period")
    return first, last


@router.get("/{lang}/portal/export")
async def export_page(request: Request, lang: LangDep, session: ProviderSession) -> Response:
    today = local_date(_now(), await territory_zone(request, session))
    return page(
        request,
        lang,
        session,
        "export.html",
        first=today.isoformat(),
        last=(today + timedelta(days=29)).isoformat(),
        error="",
    )


@router.get("/{lang}/portal/bookings.csv")
async def bookings_export(request: Request, lang: LangDep, session: ProviderSession) -> Response:
    """Every reservation on the provider's departures of the period, as a spreadsheet.
    The period's days are the territory's: from its midnight on the first day to its
    midnight after the last."""
    query = request.query_params
    raw_from, raw_to = query.get("from", "").strip(), query.get("to", "").strip()
    tz = await territory_zone(request, session)
    try:
        first, last = _export_period(raw_from, raw_to, local_date(_now(), tz))
    except ValueError:
        return page(
            request,
            lang,
            session,
            "export.html",
            422,
            first=raw_from,
            last=raw_to,
            error=i18n.translate(lang, "p_e_period", days=EXPORT_MAX_DAYS),
        )
    reservations = await all_reservations(
        request,
        session,
        {
            "from": local_midnight(first, tz).isoformat(),
            "to": local_midnight(last + timedelta(days=1), tz).isoformat(),
        },
    )
    activities = await backends_of(request).activities(provider_id=provider_of(session))
    timezones = {str(a["id"]): str(a.get("timezone") or i18n.DEFAULT_TZ) for a in activities}
    name = f"{i18n.translate(lang, 'p_csv_file')}-{first.isoformat()}-{last.isoformat()}.csv"
    return csv_response(bookings_csv(reservations, timezones, lang), name)
