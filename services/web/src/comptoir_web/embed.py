"""The booking widget's frame: which activities it shows (one provider's, or a whole
territory's) and how every link and form inside it stays in it. Pure: no I/O.

A provider or the tourism office pastes one ``<script src=".../widget.js"
data-provider="<uuid>">`` on its own site; the script puts a frame on
``/{lang}/embed/?provider=<uuid>`` (or ``?territory=<uuid>``). Every page of that frame
lives under ``/{lang}/embed/``, carries its scope in the query string, and is the only
kind of page other sites may frame (``COMPTOIR_WIDGET_ORIGINS``).

The frame never relies on cookies: browsers block them in frames of another site. The
visitor token booking returns with a hold travels in the frame's own addresses
(``?token=``), which the visitor never sees and which no other page receives (the
``Referrer-Policy`` is ``no-referrer``). The same token opens "my reservation" in a new
tab, where the storefront moves it to its cookie as it does for the links of e-mails.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from comptoir_web import i18n

_EMBED_PATH = re.compile(r"^/(fr|en)/embed(/|$)")
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{1,4096}$")
#: ``*``, or origins: http(s), a host (``*.`` may start it), an optional port; no path.
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")


def is_embed_path(path: str) -> bool:
    """Whether ``path`` is a page of the widget's frame (the only pages others may frame)."""
    return _EMBED_PATH.match(path) is not None


def widget_origins(value: str) -> list[str]:
    """``COMPTOIR_WIDGET_ORIGINS`` read: ``["*"]`` (any http or https site), or the list of
    sites (``https://www.example.fr``, ``https://*.example.fr``) allowed to show the
    widget. Anything else is refused, so that nothing but origins reaches the header."""
    entries = [e.strip().rstrip("/") for e in value.split(",") if e.strip()]
    if not entries:
        raise ValueError("COMPTOIR_WIDGET_ORIGINS is empty: give * or a list of origins")
    if "*" in entries:
        if len(entries) > 1:
            raise ValueError("COMPTOIR_WIDGET_ORIGINS: * already allows every origin")
        return ["*"]
    wrong = [e for e in entries if not _ORIGIN.match(e)]
    if wrong:
        raise ValueError(f"COMPTOIR_WIDGET_ORIGINS: not an origin (scheme://host[:port]): {wrong}")
    return entries


def frame_ancestors(origins: list[str]) -> str:
    """The CSP ``frame-ancestors`` of the frame's pages: the storefront itself (its page
    that shows how to install the widget previews it) and the embedding sites."""
    return "frame-ancestors " + " ".join(["'self'", *origins])


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw or "")
    except ValueError:
        return None


@dataclass(frozen=True)
class Embed:
    """The frame a page is shown in: its language, scope and the visitor's token."""

    lang: str
    provider: uuid.UUID | None = None
    territory: uuid.UUID | None = None
    token: str | None = None

    @classmethod
    def of(cls, request: Request) -> Embed | None:
        """The frame of a request to ``/{lang}/embed/...``; None for any other page."""
        match = _EMBED_PATH.match(request.url.path)
        if match is None:
            return None
        query = request.query_params
        provider = _uuid(query.get("provider"))
        token = query.get("token", "")
        return cls(
            lang=match.group(1),
            provider=provider,
            territory=None if provider else _uuid(query.get("territory")),
            token=token if _TOKEN.match(token) else None,
        )

    @property
    def scoped(self) -> bool:
        return self.provider is not None or self.territory is not None

    @property
    def fields(self) -> list[tuple[str, str]]:
        """The scope as form fields (a GET form drops the query of its ``action``)."""
        if self.provider:
            return [("provider", str(self.provider))]
        if self.territory:
            return [("territory", str(self.territory))]
        return []

    def shows(self, activity: dict[str, Any]) -> bool:
        """Whether the activity belongs to what this widget sells."""
        if self.provider:
            return str(activity.get("provider_id")) == str(self.provider)
        return self.territory is not None and str(activity.get("territory_id")) == str(
            self.territory
        )

    def url(self, path: str, query: dict[str, str] | None = None) -> str:
        """The frame's page ``path`` (as in the storefront: ``/activities/<id>``), scope
        kept; the visitor token rides along to the reservation's pages only."""
        params = dict(self.fields)
        if self.token and path.startswith("/reservations/"):
            params["token"] = self.token
        params.update({k: v for k, v in (query or {}).items() if v})
        return f"/{self.lang}/embed{path}?{urlencode(params)}"

    def reservation(self, reservation_id: str, token: str) -> str:
        """The frame's page of a reservation just made (its token known from the hold)."""
        held = Embed(self.lang, self.provider, self.territory, token)
        return held.url(f"/reservations/{reservation_id}")

    def storefront(self, reservation_id: str) -> str:
        """ "My reservation" on the storefront itself, for a new tab: the storefront keeps
        the token in its cookie there (a first-party page) and drops it from the address."""
        return f"/{self.lang}/reservations/{reservation_id}?{urlencode({'token': self.token})}"


def page_url(lang: str, path: str, query: dict[str, str] | None = None) -> str:
    """A storefront page (outside any frame); empty query values are left out."""
    params = {k: v for k, v in (query or {}).items() if v}
    return f"/{lang}{path}" + (f"?{urlencode(params)}" if params else "")


i18n.extend(
    {
        "fr": {
            "embed_title": "Réserver en ligne",
            "embed_powered": "Réservation et paiement sécurisés par Comptoir, "
            "sans commission pour le prestataire.",
            "embed_setup_title": "Widget mal configuré",
            "embed_setup_text": "Le code du widget doit indiquer data-provider (l'identifiant "
            "d'un prestataire) ou data-territory (celui d'un territoire).",
            "embed_unknown_title": "Aucune activité à réserver",
            "embed_unknown_text": "Aucune activité de ce prestataire ou de ce territoire "
            "n'est proposée à la réservation. Vérifiez l'identifiant écrit dans le code du "
            "widget.",
            "embed_open_reservation": "Ouvrir ma réservation dans un nouvel onglet",
            "embed_new_tab": "(s'ouvre dans un nouvel onglet)",
            "embed_checkout_help": "Le paiement sécurisé de Stripe s'ouvre à la place de "
            "cette page ; vous reviendrez ensuite à votre réservation.",
            "how_title": "Le widget de réservation sur votre site",
            "how_intro": "Copiez ce code et collez-le dans une page de votre site, à "
            "l'endroit où les activités doivent apparaître. Vos visiteurs réservent et "
            "paient sans quitter votre site.",
            "how_for": "Widget de",
            "how_provider": "Identifiant du prestataire",
            "how_territory": "Identifiant du territoire",
            "how_show": "Afficher le code",
            "how_code": "Code à coller",
            "how_copy": "Copier le code",
            "how_copied": "Code copié.",
            "how_options": "data-provider : les activités d'un prestataire ; data-territory : "
            "toutes celles du territoire. data-lang : fr ou en (sinon la langue de votre "
            "page, sinon le français).",
            "how_preview": "Aperçu",
            "how_bad_id": "Cet identifiant n'est pas valable : copiez-le tel quel.",
        },
        "en": {
            "embed_title": "Book online",
            "embed_powered": "Secure booking and payment by Comptoir, commission free for "
            "the provider.",
            "embed_setup_title": "Widget not set up",
            "embed_setup_text": "The widget's code must give data-provider (a provider's "
            "identifier) or data-territory (a territory's).",
            "embed_unknown_title": "No activity to book",
            "embed_unknown_text": "No activity of this provider or territory is open for "
            "booking. Check the identifier written in the widget's code.",
            "embed_open_reservation": "Open my reservation in a new tab",
            "embed_new_tab": "(opens in a new tab)",
            "embed_checkout_help": "Stripe's secure payment page opens in place of this "
            "page; you then come back to your reservation.",
            "how_title": "The booking widget on your website",
            "how_intro": "Copy this code and paste it in a page of your website, where the "
            "activities should appear. Your visitors book and pay without leaving your site.",
            "how_for": "Widget of",
            "how_provider": "Provider identifier",
            "how_territory": "Territory identifier",
            "how_show": "Show the code",
            "how_code": "Code to paste",
            "how_copy": "Copy the code",
            "how_copied": "Code copied.",
            "how_options": "data-provider: one provider's activities; data-territory: every "
            "activity of the territory. data-lang: fr or en (else your page's language, "
            "else French).",
            "how_preview": "Preview",
            "how_bad_id": "This identifier is not valid: copy it as it is.",
        },
    }
)
