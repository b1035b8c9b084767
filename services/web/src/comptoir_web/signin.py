"""Sign-in pages of providers and office staff: ask for a link by e-mail, open it, sign
out. The link is sent by the notification service; opening it shows a button, and only
pressing it signs in (mail scanners that open links do not use them up).

Providers are found by their e-mail in the storefront's territory, or in the territory a
``?territory=`` link names (as the storefront's own pages allow). Office staff
(``COMPTOIR_OFFICE_STAFF_EMAILS``) sign in to the storefront's territory only."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from comptoir_web import i18n
from comptoir_web.auth import (
    SESSION_COOKIE,
    ForeignForm,
    Identity,
    InvalidLink,
    Session,
    authority,
    current_session,
    same_origin,
)
from comptoir_web.backends import ApiError
from comptoir_web.i18n import Lang
from comptoir_web.pages import EMAIL, LangDep, backends_of, render, settings_of

log = logging.getLogger("comptoir.web.signin")

router = APIRouter(include_in_schema=False)
#: At most this many links for one address at once (one per provider sharing it).
MAX_LINKS = 3
#: Sign-in requests one client address may make in a window (an office behind one
#: address signs several people in; a script trying addresses is stopped).
ASKS_PER_CLIENT = 20
ASK_WINDOW_SECONDS = 15 * 60

i18n.extend(
    {
        "fr": {
            "signin_title": "Connexion des prestataires et de l'office",
            "signin_intro": "Recevez un lien de connexion par e-mail. Il est valable "
            "{minutes} minutes et ne sert qu'une fois.",
            "signin_email": "Votre adresse e-mail",
            "signin_send": "Recevoir le lien",
            "signin_sent_title": "Regardez vos e-mails",
            "signin_sent_text": "Si {email} est l'adresse d'un prestataire ou de l'office, "
            "un lien de connexion vient d'y être envoyé. Il est valable {minutes} minutes.",
            "signin_confirm_title": "Se connecter",
            "signin_confirm_text": "Connexion en tant que {name} ({email}).",
            "signin_confirm_button": "Me connecter",
            "signin_link_invalid": "Ce lien de connexion n'est pas valable.",
            "signin_link_expired": "Ce lien de connexion a expiré.",
            "signin_link_used": "Ce lien de connexion a déjà servi.",
            "signin_ask_again": "Demander un nouveau lien",
            "signin_needed": "Connectez-vous pour voir cette page.",
            "signin_expired": "Votre session a pris fin : ce que vous venez d'envoyer n'a "
            "pas été enregistré. Reconnectez-vous pour reprendre là où vous en étiez.",
            "signout": "Se déconnecter",
            "signed_in_as": "Connecté : {name}",
            "wrong_role_title": "Page réservée",
            "wrong_role_provider": "Cette page est réservée aux prestataires. Vous êtes "
            "connecté pour l'office de tourisme.",
            "wrong_role_admin": "Cette page est réservée à l'office de tourisme. Vous êtes "
            "connecté en tant que prestataire.",
            "go_home_role": "Aller à mon espace",
            "foreign_form": "Ce formulaire a été envoyé depuis un autre site : rien n'a été fait.",
        },
        "en": {
            "signin_title": "Sign in for providers and the office",
            "signin_intro": "Get a sign-in link by e-mail. It works for {minutes} minutes, once.",
            "signin_email": "Your e-mail address",
            "signin_send": "Send me the link",
            "signin_sent_title": "Check your e-mail",
            "signin_sent_text": "If {email} belongs to a provider or to the office, a sign-in "
            "link is on its way. It works for {minutes} minutes.",
            "signin_confirm_title": "Sign in",
            "signin_confirm_text": "Signing in as {name} ({email}).",
            "signin_confirm_button": "Sign me in",
            "signin_link_invalid": "This sign-in link is not valid.",
            "signin_link_expired": "This sign-in link has expired.",
            "signin_link_used": "This sign-in link has already been used.",
            "signin_ask_again": "Ask for a new link",
            "signin_needed": "Sign in to see this page.",
            "signin_expired": "Your session has ended: what you just sent was not saved. "
            "Sign in again to carry on where you were.",
            "signout": "Sign out",
            "signed_in_as": "Signed in: {name}",
            "wrong_role_title": "Restricted page",
            "wrong_role_provider": "This page is for providers. You are signed in for the "
            "tourism office.",
            "wrong_role_admin": "This page is for the tourism office. You are signed in as a "
            "provider.",
            "go_home_role": "Go to my space",
            "foreign_form": "This form was sent from another site: nothing was done.",
        },
    }
)


def home_of(session: Session | Identity, lang: str) -> str:
    """Where a signed-in person lands: the provider portal or the office console."""
    return f"/{lang}/portal/" if session.role == "provider" else f"/{lang}/office/"


def _safe_next(next_path: str | None, identity: Identity, lang: str) -> str:
    """Only back to a page of the person's own space: never to another site."""
    home = home_of(identity, lang)
    if next_path and re.fullmatch(r"/(fr|en)/(portal|office)/[A-Za-z0-9/_\-.?=&%]*", next_path):
        if next_path.split("/")[2] == home.split("/")[2]:
            return next_path
    return home


def _page(request: Request, lang: Lang, status: int = 200, **context: object) -> HTMLResponse:
    settings = settings_of(request)
    return render(
        request,
        lang,
        "sign_in.html",
        status,
        minutes=settings.sign_in_link_minutes,
        **context,
    )


def _territory(request: Request, raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw) if raw else settings_of(request).territory_id
    except ValueError:
        return settings_of(request).territory_id


@router.get("/{lang}/sign-in")
async def sign_in_form(
    request: Request, lang: LangDep, next: str = "", territory: str = "", expired: str = ""
) -> HTMLResponse:
    session = await current_session(request)
    if session is not None and not next:
        return RedirectResponse(home_of(session, lang), status_code=303)  # type: ignore[return-value]
    return _page(
        request,
        lang,
        email="",
        next=next,
        needed=bool(next) and not expired,
        expired=bool(expired),
        territory=territory if territory and _territory(request, territory) else "",
    )


@router.post("/{lang}/sign-in")
async def ask_for_link(
    request: Request,
    lang: LangDep,
    email: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    territory: Annotated[str, Form()] = "",
) -> HTMLResponse:
    settings = settings_of(request)
    email = email.strip()
    if not EMAIL.match(email) or len(email) > 254:
        return _page(
            request,
            lang,
            422,
            email=email,
            next=next,
            territory=territory,
            error=i18n.translate(lang, "e_email"),
        )
    if await _asking_too_often(request):
        # The same answer as ever, and nothing looked up or sent: a script trying
        # addresses learns nothing and costs nothing.
        log.warning("sign-in asked too often from one client")
        identities = []
    else:
        identities = await _who_is(request, email, _territory(request, territory))
    sent = 0
    for identity in identities[:MAX_LINKS]:
        try:
            await _send_link(request, lang, identity, next)
            sent += 1
        except ApiError as error:
            # Too many links for this address: the answer stays the same as for an
            # unknown address, or the form would tell who is registered.
            if error.status != 429:
                raise
            log.warning("sign-in links limited", extra={"kind": error.kind})
    log.info("sign-in asked", extra={"links_sent": sent})
    return render(
        request,
        lang,
        "message.html",
        title=i18n.translate(lang, "signin_sent_title"),
        text=i18n.translate(
            lang, "signin_sent_text", email=email, minutes=settings.sign_in_link_minutes
        ),
    )


async def _asking_too_often(request: Request) -> bool:
    """More than ``ASKS_PER_CLIENT`` sign-in requests from one client address within
    ``ASK_WINDOW_SECONDS`` (notifications limits the mails per address on its side)."""
    client = request.client.host if request.client else "unknown"
    # Per deployment (its namespace), so isolated runs sharing one Redis count apart.
    key = f"{settings_of(request).kafka_namespace}sign-in-asks:{client}"
    used = await authority(request).single_use.count(key, ASK_WINDOW_SECONDS)
    return used > ASKS_PER_CLIENT


async def _who_is(request: Request, email: str, territory: uuid.UUID) -> list[Identity]:
    settings = settings_of(request)
    if territory == settings.territory_id and email.lower() in settings.office_staff:
        return [Identity(role="admin", territory_id=territory, email=email.lower(), name=email)]
    if territory != settings.territory_id:
        # Another territory's sign-in page: only one that exists is looked into.
        try:
            await backends_of(request).territory(territory)
        except ApiError as error:
            if error.status == 404:
                return []
            raise
    token = authority(request).service_token(territory)
    providers = await backends_of(request).providers_with_email(email, token)
    return [
        Identity(
            role="provider",
            territory_id=territory,
            email=email.lower(),
            name=str(p["name"]),
            provider_id=uuid.UUID(str(p["id"])),
        )
        for p in providers
    ]


async def _send_link(request: Request, lang: Lang, identity: Identity, next_path: str) -> None:
    settings = settings_of(request)
    auth = authority(request)
    target = _safe_next(next_path, identity, lang)
    token, expires_at = auth.link_token(
        identity, target if target != home_of(identity, lang) else ""
    )
    link = f"{settings.storefront_url}/{lang}/sign-in/link?t={token}"
    await backends_of(request).send_sign_in_link(
        {
            "email": identity.email,
            "name": identity.name,
            "audience": "provider" if identity.role == "provider" else "office",
            "locale": lang,
            "link": link,
            "expires_at": expires_at.isoformat(),
        },
        token=auth.service_token(identity.territory_id),
        key=f"sign-in-{uuid.uuid4()}",
    )


def _link_refused(request: Request, lang: Lang, error: InvalidLink) -> HTMLResponse:
    return _page(
        request,
        lang,
        410 if error.reason in ("expired", "used") else 400,
        email="",
        next="",
        territory="",
        error=i18n.translate(lang, f"signin_link_{error.reason}"),
    )


@router.get("/{lang}/sign-in/link")
async def open_link(request: Request, lang: LangDep, t: str = "") -> HTMLResponse:
    try:
        identity, _ = authority(request).read_link(t)
    except InvalidLink as error:
        return _link_refused(request, lang, error)
    return render(request, lang, "sign_in_confirm.html", identity=identity, link_token=t)


@router.post("/{lang}/sign-in/link")
async def use_link(
    request: Request,
    lang: LangDep,
    t: Annotated[str, Form()] = "",
) -> HTMLResponse:
    if not same_origin(request):
        raise ForeignForm(request.url.path)
    auth = authority(request)
    try:
        identity, next_path = await auth.use_link(t)
    except InvalidLink as error:
        return _link_refused(request, lang, error)
    cookie, max_age = auth.session_cookie(identity)
    response = RedirectResponse(_safe_next(next_path, identity, lang), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
        path="/",
    )
    log.info("signed in", extra={"role": identity.role})
    return response  # type: ignore[return-value]


@router.post("/{lang}/sign-out")
async def sign_out(request: Request, lang: LangDep) -> HTMLResponse:
    if not same_origin(request):
        raise ForeignForm(request.url.path)
    await authority(request).end_session(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"/{lang}/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response  # type: ignore[return-value]
