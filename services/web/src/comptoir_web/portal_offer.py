"""The provider's activities in the portal: whether visitors can book them, their texts,
prices and booking cutoff, and new departures typed in the activity's local time.

The edit form of an activity (``portal/_activity_form.html``, read by ``activity_form``,
checked and sent by ``save_activity``) also serves the office console, whose staff edit
any activity of their territory (catalog takes the territory's admin token as well as the
owning provider's)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from comptoir_web import i18n
from comptoir_web.auth import ProviderSession, Session
from comptoir_web.backends import ApiError
from comptoir_web.i18n import Lang, local_date
from comptoir_web.pages import LangDep, PageNotFound, _form_key, backends_of
from comptoir_web.portal_base import (
    Json,
    form_call,
    form_page,
    outcome_of,
    page,
    provider_of,
    redirect_with_outcome,
    refusal,
)
from comptoir_web.portal_views import (
    MAX_REPEAT_DAYS,
    NoSuchLocalTime,
    euros_text,
    parse_euros,
    parse_int,
    parse_local,
)

router = APIRouter(include_in_schema=False)

#: Catalog's bounds on an activity and a departure.
MAX_CUTOFF_MINUTES = 14 * 24 * 60
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_NOTE = 500
MAX_CAPACITY = 10_000
#: The departures listed under an activity: the coming weeks.
UPCOMING_DAYS = 30


@router.get("/{lang}/portal/activities")
async def activities_page(request: Request, lang: LangDep, session: ProviderSession) -> Response:
    activities = await backends_of(request).activities(provider_id=provider_of(session))
    return page(
        request,
        lang,
        session,
        "activities.html",
        activities=activities,
    )


async def activity_in_reach(request: Request, session: Session, activity_id: uuid.UUID) -> Json:
    """The activity the session may change: a provider's own, or any of the office's
    territory. Another provider's or another territory's is not found, like a missing one
    (the page does not tell what exists elsewhere)."""
    try:
        activity: Json = await backends_of(request).call(
            "catalog", "GET", f"/v1/activities/{activity_id}"
        )
    except ApiError as error:
        if error.status == 404:
            raise PageNotFound from error
        raise
    if session.is_admin:
        mine = activity.get("territory_id") == str(session.territory_id)
    else:
        mine = activity["provider_id"] == str(provider_of(session))
    if not mine:
        raise PageNotFound
    return activity


def activity_form(activity: Json) -> dict[str, str]:
    """The edit form's fields filled with the activity as catalog has it."""
    form = {
        "title_fr": activity["title"].get("fr", ""),
        "title_en": activity["title"].get("en", ""),
        "description_fr": activity["description"].get("fr", ""),
        "description_en": activity["description"].get("en", ""),
        "meeting_point": activity.get("meeting_point") or "",
        "what_to_bring": activity.get("what_to_bring") or "",
        "cutoff_minutes": str(activity["cutoff_minutes"]),
    }
    for unit in activity["units"]:
        form[f"price_{unit['id']}"] = euros_text(int(unit["price_cents"]))
    return form


async def _activity_page(
    request: Request,
    lang: Lang,
    session: Session,
    activity: Json,
    status_code: int = 200,
    **context: Any,
) -> Response:
    now = datetime.now(UTC)
    tz = activity.get("timezone") or i18n.DEFAULT_TZ
    departures: list[Json] = await backends_of(request).call(
        "booking",
        "GET",
        "/v1/agenda",
        token=session.token,
        params={
            "from": now.isoformat(),
            "to": (now + timedelta(days=UPCOMING_DAYS)).isoformat(),
            "activity_id": activity["id"],
        },
    )
    context.setdefault("form", activity_form(activity))
    context.setdefault("errors", {})
    context.setdefault("slot_form", {"date": local_date(now, tz).isoformat(), "repeat": "1"})
    context.setdefault("slot_errors", {})
    context.setdefault("done", {})
    return form_page(
        request,
        lang,
        session,
        "activity.html",
        f"/portal/activities/{activity['id']}",
        status_code,
        tz=tz,
        activity=activity,
        departures=departures,
        form_action=f"/{lang}/portal/activities/{activity['id']}",
        **context,
    )


@router.get("/{lang}/portal/activities/{activity_id}")
async def activity_page(
    request: Request, lang: LangDep, activity_id: uuid.UUID, session: ProviderSession
) -> Response:
    activity = await activity_in_reach(request, session, activity_id)
    done = outcome_of(request, session, str(activity_id))
    return await _activity_page(request, lang, session, activity, done=done)


def _text(form: dict[str, str], name: str, high: int, lang: Lang, errors: dict[str, str]) -> str:
    value = form.get(name, "").strip()
    if not value:
        errors[name] = i18n.translate(lang, "p_e_required")
    elif len(value) > high:
        errors[name] = i18n.translate(lang, "p_e_too_long", high=high)
    return value


def _changes(activity: Json, form: dict[str, str], lang: Lang) -> tuple[Json, dict[str, str]]:
    """The patch the form asks for, or the fields' errors (checked here first, so that a
    price like ``12,5x`` is refused next to its field rather than by the service)."""
    errors: dict[str, str] = {}
    title = {k: _text(form, f"title_{k}", MAX_TITLE, lang, errors) for k in ("fr", "en")}
    description = {
        k: _text(form, f"description_{k}", MAX_DESCRIPTION, lang, errors) for k in ("fr", "en")
    }
    notes: dict[str, str | None] = {}
    for name in ("meeting_point", "what_to_bring"):
        value = form.get(name, "").strip()
        if len(value) > MAX_NOTE:
            errors[name] = i18n.translate(lang, "p_e_too_long", high=MAX_NOTE)
        notes[name] = value or None
    units = []
    for unit in activity["units"]:
        name = f"price_{unit['id']}"
        try:
            cents = parse_euros(form.get(name, ""))
        except ValueError:
            errors[name] = i18n.translate(lang, "p_e_price")
            cents = int(unit["price_cents"])
        units.append(
            {"id": unit["id"], "price_cents": cents, "type": unit["type"], "seats": unit["seats"]}
        )
    try:
        cutoff = parse_int(form.get("cutoff_minutes", ""), 0, MAX_CUTOFF_MINUTES)
    except ValueError:
        errors["cutoff_minutes"] = i18n.translate(lang, "p_e_cutoff", high=MAX_CUTOFF_MINUTES)
        cutoff = int(activity["cutoff_minutes"])
    body = {
        "title": title,
        "description": description,
        **notes,
        "units": units,
        "cutoff_minutes": cutoff,
    }
    return body, errors


def field_errors(error: ApiError, units: list[Json], lang: Lang) -> dict[str, str]:
    """A 422 problem's ``errors`` (``location`` like ``["body", "title", "fr"]``) as the
    form's field names (``title_fr``, ``price_adult``...); what matches no field is kept
    under ``form``."""
    found: dict[str, str] = {}
    for item in error.extra.get("errors") or []:
        location = [str(p) for p in item.get("location", []) if p != "body"]
        message = _field_message(item, lang)
        name = "form"
        if location[:1] in (["title"], ["description"]) and len(location) > 1:
            name = f"{location[0]}_{location[1]}"
        elif location[:1] in (["meeting_point"], ["what_to_bring"], ["cutoff_minutes"]):
            name = location[0]
        elif location[:1] == ["units"] and len(location) > 1 and location[1].isdigit():
            index = int(location[1])
            if index < len(units):
                name = f"price_{units[index]['id']}"
        found[name] = f"{found[name]} {message}" if name in found else message
    if not found:
        found["form"] = refusal(lang, error)
    return found


def _field_message(item: Json, lang: Lang) -> str:
    kind = str(item.get("type", ""))
    known = {
        "string_too_short": "p_e_required",
        "missing": "p_e_required",
        "string_too_long": "p_e_too_long_any",
        "greater_than_equal": "p_e_range",
        "less_than_equal": "p_e_range",
        "greater_than": "p_e_range",
        "less_than": "p_e_range",
    }
    if kind in known:
        return i18n.translate(lang, known[kind])
    if lang == "en" and item.get("message"):
        return str(item["message"])
    return i18n.translate(lang, "p_e_refused")


@router.post("/{lang}/portal/activities/{activity_id}")
async def edit_activity(
    request: Request, lang: LangDep, activity_id: uuid.UUID, session: ProviderSession
) -> Response:
    activity = await activity_in_reach(request, session, activity_id)
    form, errors = await save_activity(request, lang, session, activity)
    if not errors:
        return redirect_with_outcome(
            request,
            session,
            f"/{lang}/portal/activities/{activity_id}",
            "saved",
            str(activity_id),
        )
    return await _activity_page(request, lang, session, activity, 422, form=form, errors=errors)


async def save_activity(
    request: Request, lang: Lang, session: Session, activity: Json
) -> tuple[dict[str, str], dict[str, str]]:
    """The edit form posted, checked, then sent to catalog (``PATCH``) with the session's
    token: the form as typed, and its fields' errors (none: catalog took the change)."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    body, errors = _changes(activity, form, lang)
    if errors:
        return form, errors
    _, error = await form_call(
        request,
        session,
        "catalog",
        "PATCH",
        f"/v1/activities/{activity['id']}",
        key=_form_key(form.get("key")),
        json=body,
    )
    if error is not None:
        return form, field_errors(error, activity["units"], lang)
    return form, {}


@router.post("/{lang}/portal/activities/{activity_id}/slots")
async def add_departures(
    request: Request, lang: LangDep, activity_id: uuid.UUID, session: ProviderSession
) -> Response:
    """One departure, or the same time every day for a few days, typed in the activity's
    local time (its time zone, summer or winter time as the day has it)."""
    activity = await activity_in_reach(request, session, activity_id)
    tz = activity.get("timezone") or i18n.DEFAULT_TZ
    form = {k: str(v).strip() for k, v in (await request.form()).items()}
    errors: dict[str, str] = {}
    start = None
    try:
        start = parse_local(form.get("date", ""), form.get("time", ""), tz)
    except NoSuchLocalTime:
        errors["time"] = i18n.translate(lang, "p_e_no_such_time")
    except ValueError:
        errors["date"] = i18n.translate(lang, "p_e_date_time")
    if start is not None and start <= datetime.now(UTC):
        errors["date"] = i18n.translate(lang, "p_e_slot_in_the_past")
    numbers = {}
    for name, low, high in (
        ("duration", 5, 24 * 60),
        ("capacity", 1, MAX_CAPACITY),
        ("repeat", 1, MAX_REPEAT_DAYS),
    ):
        try:
            numbers[name] = parse_int(form.get(name, ""), low, high)
        except ValueError:
            errors[name] = i18n.translate(lang, "p_e_between", low=low, high=high)
    if errors or start is None:
        return await _activity_page(
            request, lang, session, activity, 422, slot_form=form, slot_errors=errors
        )
    key = _form_key(form.get("key"))
    added = 0
    for day in range(numbers["repeat"]):
        moment = start if day == 0 else _same_local_time(start, day, tz, form)
        if moment is None:
            continue
        _, error = await form_call(
            request,
            session,
            "catalog",
            "POST",
            f"/v1/activities/{activity_id}/slots",
            key=f"{key}-{day}",
            json={
                "start": moment.isoformat(),
                "duration_minutes": numbers["duration"],
                "capacity": numbers["capacity"],
            },
        )
        if error is not None:
            message = refusal(lang, error)
            if added:
                message = i18n.translate(lang, "p_slots_partly", n=added) + " " + message
            return await _activity_page(
                request, lang, session, activity, 409, slot_form=form, slot_errors={"form": message}
            )
        added += 1
    return redirect_with_outcome(
        request,
        session,
        f"/{lang}/portal/activities/{activity_id}",
        "slots",
        str(activity_id),
        n=added,
    )


def _same_local_time(start: datetime, days: int, tz: str, form: dict[str, str]) -> datetime | None:
    """The same local time ``days`` later (a clock change between keeps the local hour);
    None on the night that time does not exist."""
    day = local_date(start, tz) + timedelta(days=days)
    try:
        return parse_local(day.isoformat(), form.get("time", ""), tz)
    except ValueError:
        return None
