"""The tourism office's console (``/{lang}/office/``), for signed-in office staff, and the
observatory it shares with its providers (``/{lang}/observatory/{grant}``).

- the observatory of a period: fill rates, seats, bookings and lead times from booking,
  where the money went from payments' transparency report, as key figures, charts
  (inline SVG) and tables, each table downloadable as CSV;
- the providers with their Stripe onboarding state and revenue, a form to add one, and
  the onboarding link to send them;
- the catalogue of the territory's activities and whether visitors can book them, each
  editable with the provider portal's form (the provider sees the change);
- the follow-up of failed refunds and disputes.

The share link is a grant the web signs itself (audience ``comptoir-observatory-share``,
30 days): whoever has it sees that territory's observatory for that period, read-only,
without the money of each provider and nothing about any visitor. Its page reads the
figures with the web's own office token for the territory, and merges every category or
commune of fewer than three providers into one "others" row (a forwarded link must not
show one competitor's seats). "Stop sharing" revokes every link of the territory made
until then: the web keeps, per territory, the moment before which links no longer work.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Protocol
from urllib.parse import urlencode

import jwt
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from redis.asyncio import Redis
from redis.exceptions import RedisError

from comptoir_web import csvfile, i18n
from comptoir_web.auth import OfficeSession, RedisSingleUse, Session, authority
from comptoir_web.backends import ApiError, Json
from comptoir_web.i18n import Lang
from comptoir_web.office_views import (
    PARTS,
    SHARED_PARTS,
    Period,
    Table,
    code_words,
    median_text,
    money_totals,
    number,
    observatory_charts,
    observatory_tables,
    onboarding_state,
    other_currencies,
    parse_period,
    percent,
    providers_table,
    requirements_text,
    shared_observatory,
    split_disputes,
)
from comptoir_web.pages import (
    EMAIL,
    LangDep,
    PageNotFound,
    _form_key,
    backends_of,
    error_message,
    error_page,
    render,
    settings_of,
)
from comptoir_web.portal_base import outcome_of, redirect_with_outcome
from comptoir_web.portal_offer import activity_form, activity_in_reach, save_activity
from comptoir_web.views import lowest_price

log = logging.getLogger("comptoir.web.office")

router = APIRouter(include_in_schema=False)

SHARE_AUDIENCE = "comptoir-observatory-share"
SHARE_DAYS = 30

i18n.extend(
    {
        "fr": {
            "office_nav_label": "Console de l'office",
            "office_nav_observatory": "Observatoire",
            "office_nav_providers": "Prestataires",
            "office_nav_catalogue": "Catalogue",
            "office_nav_follow_up": "Suivi",
            "office_observatory_title": "Observatoire de {territory}",
            "office_period": "Période",
            "office_period_text": "Départs du {first} au {last}",
            "office_from": "Du",
            "office_to": "Au (inclus)",
            "office_show": "Afficher",
            "office_quick": "Raccourcis",
            "office_quick_season": "Cette saison",
            "office_quick_30d": "Les 30 derniers jours",
            "office_quick_default": "8 semaines passées et 4 à venir",
            "office_e_date": "Date illisible : indiquez-la au format AAAA-MM-JJ. La période "
            "par défaut est affichée.",
            "office_e_order": "La date de fin précède la date de début. La période par défaut "
            "est affichée.",
            "office_e_long": "La période dépasse un an. La période par défaut est affichée.",
            "office_key_figures": "Chiffres clés",
            "office_fill_rate": "Taux de remplissage",
            "office_seats": "Places vendues / offertes",
            "office_seats_value": "{sold} / {capacity}",
            "office_bookings": "Réservations",
            "office_checked_in": "({n} place(s) pointée(s) à l'arrivée)",
            "office_cancelled": "Réservations annulées",
            "office_cancelled_departures": "({n} départ(s) annulé(s))",
            "office_revenue": "Montant des réservations",
            "office_revenue_help": "Prix des réservations confirmées pour les départs de la "
            "période.",
            "office_money": "Où est allé l'argent",
            "office_money_help": "Mouvements enregistrés du {first} au {last} (date de "
            "paiement ou de remboursement), d'après le registre des paiements.",
            "office_paid": "Versé aux prestataires",
            "office_gross": "Payé par les visiteurs",
            "office_refunded": "Remboursé aux visiteurs",
            "office_refunds_count": "({n} remboursement(s))",
            "office_fee_label": "Commission de l'office",
            "office_fee_none": "L'office ne prend aucune commission : 0 % de chaque réservation.",
            "office_fee_rate": "Taux de commission de l'office : {rate} de chaque réservation.",
            "office_other_currency": "Autre devise ({currency}) : payé {gross}, remboursé "
            "{refunds}, versé aux prestataires {paid}, commission {fee}.",
            "office_money_unavailable": "Les montants ne sont pas disponibles pour le moment "
            "(le service des paiements ne répond pas). Les autres chiffres sont à jour.",
            "office_chart_week": "Taux de remplissage par semaine",
            "office_chart_category": "Remplissage par catégorie",
            "office_chart_commune": "Remplissage par commune",
            "office_chart_lead": "Délai de réservation avant le départ",
            "office_chart_empty": "{what} : aucun départ sur la période.",
            "office_chart_rate_summary": "{what}, {n} ligne(s) : le plus haut {best} avec "
            "{best_rate}, le plus bas {worst} avec {worst_rate}.",
            "office_lead_summary": "{n} réservation(s) : {parts}.",
            "office_bar_text": "{rate} ({sold}/{capacity})",
            "office_show_table": "Afficher le tableau",
            "office_csv": "Télécharger en CSV",
            "office_csv_of": "Télécharger « {what} » en CSV",
            "office_median": "Délai médian",
            "office_median_none": "Aucune réservation sur la période.",
            "office_median_hours": "{n} heure(s) avant le départ",
            "office_median_days": "{n} jour(s) avant le départ",
            "office_lead_same_day": "Le jour même",
            "office_lead_days": "1 à 6 jours avant",
            "office_lead_weeks": "1 à 4 semaines avant",
            "office_lead_over": "Plus de 4 semaines avant",
            "office_not_described": "Non renseigné",
            "office_col_week": "Semaine",
            "office_col_monday": "Lundi",
            "office_col_slots": "Départs",
            "office_col_capacity": "Places offertes",
            "office_col_sold": "Places vendues",
            "office_col_fill": "Taux de remplissage (%)",
            "office_col_bookings": "Réservations",
            "office_col_cancelled_departures": "Départs annulés",
            "office_col_category": "Catégorie",
            "office_col_commune": "Commune",
            "office_col_lead": "Réservé",
            "office_col_provider": "Prestataire",
            "office_col_currency": "Devise",
            "office_col_payments": "Paiements",
            "office_col_gross": "Payé par les visiteurs",
            "office_col_refunds": "Remboursé",
            "office_col_paid": "Versé au prestataire",
            "office_col_fee": "Commission de l'office",
            "office_providers_money": "Montants par prestataire",
            "office_share": "Partager avec les prestataires",
            "office_share_help": "Un lien en lecture seule vers cet observatoire et cette "
            "période, sans connexion, valable {days} jours. Il ne montre ni les montants de "
            "chaque prestataire ni aucune donnée de visiteur.",
            "office_share_button": "Créer le lien de partage",
            "office_share_stop": "Arrêter le partage",
            "office_share_stop_help": "Tous les liens de partage déjà créés pour le "
            "territoire cessent aussitôt de fonctionner ; les liens créés ensuite "
            "fonctionneront.",
            "office_share_stopped": "Partage arrêté : les liens créés jusqu'au {date} à "
            "{time} ne fonctionnent plus.",
            "office_share_revoked_title": "Partage arrêté",
            "office_share_revoked": "L'office de tourisme a arrêté le partage de cet "
            "observatoire. Demandez-lui un nouveau lien.",
            "office_share_others_help": "Les catégories et communes de moins de 3 "
            "prestataires sont regroupées dans « Autres ».",
            "office_share_done": "Lien de partage créé. Il est valable jusqu'au {date}.",
            "office_share_link": "Lien à envoyer aux prestataires",
            "office_shared_title": "Observatoire de {territory}",
            "office_shared_intro": "Observatoire partagé par l'office de tourisme, en lecture "
            "seule. Lien valable jusqu'au {date}.",
            "office_share_expired_title": "Lien expiré",
            "office_share_expired": "Ce lien de partage de l'observatoire a expiré. Demandez "
            "un nouveau lien à l'office de tourisme.",
            "office_share_invalid_title": "Lien non valable",
            "office_share_invalid": "Ce lien de partage de l'observatoire n'est pas valable. "
            "Vérifiez qu'il a été copié en entier, ou demandez-en un nouveau à l'office.",
            "office_providers_title": "Prestataires",
            "office_providers_count": "{n} prestataire(s)",
            "office_providers_none": "Aucun prestataire pour le moment : ajoutez le premier "
            "ci-dessous.",
            "office_providers_revenue": "Montants du {first} au {last}.",
            "office_col_email": "E-mail",
            "office_col_state": "Paiements en ligne",
            "office_col_revenue": "Versé sur la période",
            "office_col_actions": "Actions",
            "office_state_ready": "Prêt : encaisse les paiements et reçoit les virements",
            "office_state_no_payouts": "Encaisse les paiements ; virements pas encore activés",
            "office_state_restricted": "Bloqué par Stripe : ne peut pas encaisser pour l'instant",
            "office_state_unfinished": "Inscription Stripe commencée, pas terminée",
            "office_state_not_started": "Inscription Stripe pas commencée",
            "office_state_bookable": "Réservable",
            "office_state_not_bookable": "Non réservable",
            "office_requirements": "Stripe attend encore : {items}",
            "office_onboarding_button": "Créer le lien d'inscription Stripe",
            "office_onboarding_for": "pour {name}",
            "office_onboarding_done": "Lien d'inscription Stripe de {name}",
            "office_onboarding_help": "Envoyez ce lien au prestataire maintenant : il ne sert "
            "qu'une fois et expire après quelques minutes. Créez-en un autre s'il a expiré.",
            "office_onboarding_open": "Ouvrir le lien",
            "office_onboarding_unknown": "Le service des paiements ne connaît pas encore ce "
            "prestataire. Réessayez dans un instant.",
            "office_onboarding_failed": "Stripe n'a pas pu créer le lien : {reason}",
            "office_add_provider": "Ajouter un prestataire",
            "office_add_name": "Nom du prestataire",
            "office_add_email": "Adresse e-mail de contact",
            "office_add_email_help": "Le prestataire se connecte avec cette adresse.",
            "office_add_button": "Ajouter le prestataire",
            "office_added": "{name} a été ajouté. Créez son lien d'inscription Stripe pour "
            "qu'il puisse encaisser les réservations.",
            "office_e_name": "Indiquez le nom du prestataire.",
            "office_accounts_unavailable": "L'état des comptes Stripe n'est pas disponible "
            "pour le moment : l'état affiché est celui du catalogue.",
            "office_catalogue_title": "Catalogue du territoire",
            "office_catalogue_count": "{n} activité(s)",
            "office_catalogue_none": "Aucune activité publiée pour le moment.",
            "office_col_activity": "Activité",
            "office_col_price": "À partir de",
            "office_col_bookable": "Réservable",
            "office_public_page": "Page publique",
            "office_edit": "Modifier",
            "office_back_catalogue": "← Catalogue du territoire",
            "office_activity_of": "Activité de {provider}.",
            "office_activity_shared": "Vous modifiez l'activité d'un prestataire : ce que "
            "vous enregistrez ici, {provider} le voit aussitôt dans son espace, et les "
            "visiteurs sur la page publique.",
            "office_activity_saved": "Activité enregistrée. {provider} voit la modification "
            "dans son espace ; les nouveaux prix s'appliquent aux prochaines réservations.",
            "office_departures_title": "Départs",
            "office_departures_by_provider": "Les départs de cette activité sont ajoutés par "
            "{provider}, depuis son espace prestataire.",
            "office_follow_up_title": "Remboursements et litiges à suivre",
            "office_failed_refunds": "Remboursements en échec",
            "office_failed_refunds_help": "Ces visiteurs n'ont pas reçu leur remboursement : "
            "contactez-les avec le prestataire.",
            "office_failed_refunds_none": "Aucun remboursement en échec.",
            "office_disputes": "Litiges bancaires",
            "office_disputes_help": "La banque d'un visiteur conteste le paiement. Le "
            "prestataire répond depuis son tableau de bord Stripe.",
            "office_disputes_none": "Aucun litige à suivre.",
            "office_disputes_closed": "Litiges clos ({n})",
            "office_col_reservation": "Réservation",
            "office_col_amount": "Montant",
            "office_col_reason": "Motif",
            "office_col_failure": "Réponse de Stripe",
            "office_col_date": "Date",
            "office_col_status": "État",
            "office_col_evidence": "Réponse attendue avant le",
            "office_funds_withdrawn": "montant retiré au prestataire",
        },
        "en": {
            "office_nav_label": "Office console",
            "office_nav_observatory": "Observatory",
            "office_nav_providers": "Providers",
            "office_nav_catalogue": "Catalogue",
            "office_nav_follow_up": "Follow-up",
            "office_observatory_title": "{territory} observatory",
            "office_period": "Period",
            "office_period_text": "Departures from {first} to {last}",
            "office_from": "From",
            "office_to": "To (included)",
            "office_show": "Show",
            "office_quick": "Quick choices",
            "office_quick_season": "This season",
            "office_quick_30d": "Last 30 days",
            "office_quick_default": "Past 8 weeks and next 4",
            "office_e_date": "This date cannot be read: use YYYY-MM-DD. The default period is "
            "shown.",
            "office_e_order": "The end date comes before the start date. The default period is "
            "shown.",
            "office_e_long": "The period is longer than a year. The default period is shown.",
            "office_key_figures": "Key figures",
            "office_fill_rate": "Fill rate",
            "office_seats": "Seats sold / offered",
            "office_seats_value": "{sold} / {capacity}",
            "office_bookings": "Bookings",
            "office_checked_in": "({n} seat(s) checked in)",
            "office_cancelled": "Bookings cancelled",
            "office_cancelled_departures": "({n} departure(s) cancelled)",
            "office_revenue": "Value of bookings",
            "office_revenue_help": "Price of the confirmed bookings for the period's departures.",
            "office_money": "Where the money went",
            "office_money_help": "Movements recorded from {first} to {last} (date of payment "
            "or refund), from the payments ledger.",
            "office_paid": "Paid to providers",
            "office_gross": "Paid by visitors",
            "office_refunded": "Refunded to visitors",
            "office_refunds_count": "({n} refund(s))",
            "office_fee_label": "Office fee",
            "office_fee_none": "The office takes no fee: 0% of each booking.",
            "office_fee_rate": "Office fee rate: {rate} of each booking.",
            "office_other_currency": "Other currency ({currency}): paid {gross}, refunded "
            "{refunds}, paid to providers {paid}, fee {fee}.",
            "office_money_unavailable": "Amounts are not available right now (the payments "
            "service is not answering). The other figures are up to date.",
            "office_chart_week": "Fill rate by week",
            "office_chart_category": "Fill rate by category",
            "office_chart_commune": "Fill rate by town",
            "office_chart_lead": "How long before departure visitors book",
            "office_chart_empty": "{what}: no departure in the period.",
            "office_chart_rate_summary": "{what}, {n} row(s): highest {best} at {best_rate}, "
            "lowest {worst} at {worst_rate}.",
            "office_lead_summary": "{n} booking(s): {parts}.",
            "office_bar_text": "{rate} ({sold}/{capacity})",
            "office_show_table": "Show the table",
            "office_csv": "Download as CSV",
            "office_csv_of": "Download “{what}” as CSV",
            "office_median": "Median lead time",
            "office_median_none": "No booking in the period.",
            "office_median_hours": "{n} hour(s) before departure",
            "office_median_days": "{n} day(s) before departure",
            "office_lead_same_day": "Same day",
            "office_lead_days": "1 to 6 days before",
            "office_lead_weeks": "1 to 4 weeks before",
            "office_lead_over": "Over 4 weeks before",
            "office_not_described": "Not given",
            "office_col_week": "Week",
            "office_col_monday": "Monday",
            "office_col_slots": "Departures",
            "office_col_capacity": "Seats offered",
            "office_col_sold": "Seats sold",
            "office_col_fill": "Fill rate (%)",
            "office_col_bookings": "Bookings",
            "office_col_cancelled_departures": "Cancelled departures",
            "office_col_category": "Category",
            "office_col_commune": "Town",
            "office_col_lead": "Booked",
            "office_col_provider": "Provider",
            "office_col_currency": "Currency",
            "office_col_payments": "Payments",
            "office_col_gross": "Paid by visitors",
            "office_col_refunds": "Refunded",
            "office_col_paid": "Paid to the provider",
            "office_col_fee": "Office fee",
            "office_providers_money": "Money by provider",
            "office_share": "Share with providers",
            "office_share_help": "A read-only link to this observatory and period, no sign-in "
            "needed, valid {days} days. It shows neither each provider's money nor anything "
            "about visitors.",
            "office_share_button": "Create the share link",
            "office_share_stop": "Stop sharing",
            "office_share_stop_help": "Every share link already made for the territory "
            "stops working at once; links made afterwards will work.",
            "office_share_stopped": "Sharing stopped: links made until {date} at {time} no "
            "longer work.",
            "office_share_revoked_title": "Sharing stopped",
            "office_share_revoked": "The tourism office stopped sharing this observatory. "
            "Ask it for a new link.",
            "office_share_others_help": "Categories and towns with fewer than 3 providers "
            "are grouped under “Other”.",
            "office_share_done": "Share link created. It works until {date}.",
            "office_share_link": "Link to send to providers",
            "office_shared_title": "{territory} observatory",
            "office_shared_intro": "Observatory shared by the tourism office, read-only. This "
            "link works until {date}.",
            "office_share_expired_title": "Link expired",
            "office_share_expired": "This observatory share link has expired. Ask the tourism "
            "office for a new one.",
            "office_share_invalid_title": "Link not valid",
            "office_share_invalid": "This observatory share link is not valid. Check that it "
            "was copied whole, or ask the office for a new one.",
            "office_providers_title": "Providers",
            "office_providers_count": "{n} provider(s)",
            "office_providers_none": "No provider yet: add the first one below.",
            "office_providers_revenue": "Amounts from {first} to {last}.",
            "office_col_email": "E-mail",
            "office_col_state": "Online payments",
            "office_col_revenue": "Paid in the period",
            "office_col_actions": "Actions",
            "office_state_ready": "Ready: takes payments and receives payouts",
            "office_state_no_payouts": "Takes payments; payouts not enabled yet",
            "office_state_restricted": "Blocked by Stripe: cannot take payments for now",
            "office_state_unfinished": "Stripe onboarding started, not finished",
            "office_state_not_started": "Stripe onboarding not started",
            "office_state_bookable": "Bookable",
            "office_state_not_bookable": "Not bookable",
            "office_requirements": "Stripe still needs: {items}",
            "office_onboarding_button": "Create the Stripe onboarding link",
            "office_onboarding_for": "for {name}",
            "office_onboarding_done": "Stripe onboarding link of {name}",
            "office_onboarding_help": "Send this link to the provider now: it works once and "
            "expires after a few minutes. Create another one if it has expired.",
            "office_onboarding_open": "Open the link",
            "office_onboarding_unknown": "The payments service does not know this provider "
            "yet. Try again in a moment.",
            "office_onboarding_failed": "Stripe could not create the link: {reason}",
            "office_add_provider": "Add a provider",
            "office_add_name": "Provider's name",
            "office_add_email": "Contact e-mail address",
            "office_add_email_help": "The provider signs in with this address.",
            "office_add_button": "Add the provider",
            "office_added": "{name} was added. Create its Stripe onboarding link so that it "
            "can take bookings.",
            "office_e_name": "Enter the provider's name.",
            "office_accounts_unavailable": "The Stripe accounts' state is not available right "
            "now: the state shown is the catalogue's.",
            "office_catalogue_title": "The territory's catalogue",
            "office_catalogue_count": "{n} activity(ies)",
            "office_catalogue_none": "No activity published yet.",
            "office_col_activity": "Activity",
            "office_col_price": "From",
            "office_col_bookable": "Bookable",
            "office_public_page": "Public page",
            "office_edit": "Edit",
            "office_back_catalogue": "← The territory's catalogue",
            "office_activity_of": "Activity of {provider}.",
            "office_activity_shared": "You are editing a provider's activity: what you save "
            "here, {provider} sees at once in its portal, and visitors on the public page.",
            "office_activity_saved": "Activity saved. {provider} sees the change in its "
            "portal; new prices apply to the next bookings.",
            "office_departures_title": "Departures",
            "office_departures_by_provider": "Departures of this activity are added by "
            "{provider}, from its provider portal.",
            "office_follow_up_title": "Refunds and disputes to follow up",
            "office_failed_refunds": "Failed refunds",
            "office_failed_refunds_help": "These visitors did not get their refund: contact "
            "them with the provider.",
            "office_failed_refunds_none": "No failed refund.",
            "office_disputes": "Bank disputes",
            "office_disputes_help": "A visitor's bank disputes the payment. The provider "
            "answers from its Stripe dashboard.",
            "office_disputes_none": "No dispute to follow up.",
            "office_disputes_closed": "Closed disputes ({n})",
            "office_col_reservation": "Reservation",
            "office_col_amount": "Amount",
            "office_col_reason": "Reason",
            "office_col_failure": "Stripe's answer",
            "office_col_date": "Date",
            "office_col_status": "Status",
            "office_col_evidence": "Answer due by",
            "office_funds_withdrawn": "amount taken from the provider",
        },
    }
)


# --- shared helpers ----------------------------------------------------------------------


def _nav(lang: Lang) -> list[tuple[str, str]]:
    t = i18n.MESSAGES[lang]
    return [
        (f"/{lang}/office/", t["office_nav_observatory"]),
        (f"/{lang}/office/providers", t["office_nav_providers"]),
        (f"/{lang}/office/catalogue", t["office_nav_catalogue"]),
        (f"/{lang}/office/follow-up", t["office_nav_follow_up"]),
    ]


def _console(
    request: Request,
    lang: Lang,
    session: Session,
    name: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(
        request,
        lang,
        name,
        status_code,
        session=session,
        nav=_nav(lang),
        nav_label=i18n.translate(lang, "office_nav_label"),
        **context,
    )


def _today(territory: Json) -> date:
    return i18n.local_date(datetime.now(UTC), territory.get("timezone") or i18n.DEFAULT_TZ)


async def _territory(request: Request, territory_id: uuid.UUID) -> Json:
    return await backends_of(request).territory(territory_id)


async def _territory_period(
    request: Request, session: Session, query: Mapping[str, str]
) -> tuple[Json, Period, str | None]:
    """The office's territory and the period ``query`` asks for (``from``/``to`` or a
    quick choice), "today" being the territory's; with the key of the error to show when
    what was typed cannot be used (the default period stands in then)."""
    territory = await _territory(request, session.territory_id)
    period, problem = parse_period(query, _today(territory))
    return territory, period, problem


async def _observatory(
    request: Request, territory_id: uuid.UUID, token: str, period: Period
) -> Json:
    result: Json = await backends_of(request).call(
        "booking",
        "GET",
        f"/v1/territories/{territory_id}/observatory",
        token=token,
        params=period.query(),
    )
    return result


async def _report(
    request: Request, territory_id: uuid.UUID, token: str, period: Period
) -> Json | None:
    """Payments' transparency report, or None when payments cannot answer now (the
    pages then say so and show the rest)."""
    try:
        result: Json = await backends_of(request).call(
            "payments",
            "GET",
            f"/v1/territories/{territory_id}/report",
            token=token,
            params=period.query(),
        )
    except ApiError as error:
        log.warning("transparency report unavailable", extra={"status": error.status})
        return None
    return result


async def paged(fetch: Callable[[dict[str, int]], Awaitable[Json]], limit: int = 200) -> list[Json]:
    """Every item of a paged list of the services (``items``, ``total``; asked for with
    ``limit`` and ``offset``)."""
    items: list[Json] = []
    while True:
        page = await fetch({"limit": limit, "offset": len(items)})
        batch = page.get("items") or []
        items.extend(batch)
        if not batch or len(items) >= int(page.get("total", 0)):
            return items


async def _providers(request: Request, token: str) -> list[Json]:
    """Every provider of the territory."""
    backends = backends_of(request)

    async def fetch(params: dict[str, int]) -> Json:
        page: Json = await backends.call(
            "catalog", "GET", "/v1/providers", token=token, params=params
        )
        return page

    return await paged(fetch)


async def _accounts(
    request: Request, providers: list[Json], token: str
) -> tuple[dict[str, Json | None], bool]:
    """Each provider's Stripe account state from payments (None when payments has not
    heard of the provider yet), and whether payments answered for all of them."""
    backends = backends_of(request)
    answers = await asyncio.gather(
        *(
            backends.call("payments", "GET", f"/v1/providers/{p['id']}/account", token=token)
            for p in providers
        ),
        return_exceptions=True,
    )
    accounts: dict[str, Json | None] = {}
    complete = True
    for provider, answer in zip(providers, answers, strict=True):
        if isinstance(answer, ApiError):
            accounts[str(provider["id"])] = None
            complete = complete and answer.status == 404
        elif isinstance(answer, BaseException):
            raise answer
        else:
            accounts[str(provider["id"])] = answer
    return accounts, complete


def _period_words(lang: Lang, period: Period) -> dict[str, str]:
    return {
        "first": i18n.day(period.first, lang, fmt="long"),
        "last": i18n.day(period.last, lang, fmt="long"),
    }


def _observatory_context(
    lang: Lang, territory: Json, observatory: Json, period: Period, csv_base: str, shared: bool
) -> dict[str, Any]:
    tables = observatory_tables(observatory, lang)
    totals = observatory["totals"]
    currency = totals.get("currency") or territory.get("currency") or "EUR"
    return {
        "territory": territory,
        "observatory": observatory,
        "period": period,
        "period_words": _period_words(lang, period),
        "totals": totals,
        "currency": currency,
        "tables": tables,
        "charts": observatory_charts(observatory, tables, lang),
        "median": median_text(observatory["lead_time"].get("median_hours"), lang),
        "fill_rate": percent(float(totals["fill_rate"]), lang),
        "number": lambda n: number(int(n), lang),
        "tz": territory.get("timezone") or i18n.DEFAULT_TZ,
        "csv_base": csv_base,
        "shared_view": shared,
        # The shared link's grant holds the period; the office's link says it.
        "csv_href": lambda part: (
            csv_base + "?" + urlencode(({} if shared else period.query()) | {"part": part})
        ),
    }


# --- the observatory -------------------------------------------------------------------


@router.get("/{lang}/office/")
async def observatory_page(request: Request, lang: LangDep, session: OfficeSession) -> Response:
    territory, period, problem = await _territory_period(request, session, request.query_params)
    observatory, report, providers = await asyncio.gather(
        _observatory(request, session.territory_id, session.token, period),
        _report(request, session.territory_id, session.token, period),
        _providers(request, session.token),
    )
    context = _observatory_context(
        lang, territory, observatory, period, f"/{lang}/office/observatory.csv", shared=False
    )
    names = {str(p["id"]): str(p["name"]) for p in providers}
    currency = context["currency"]
    share = await _share_of(
        request, lang, session, request.query_params.get("shared", ""), context["tz"]
    )
    stopped = await _stopped_of(
        request, lang, session, request.query_params.get("stopped", ""), context["tz"]
    )
    fee_rate_bps = int(territory.get("fee_rate_bps") or 0)
    return _console(
        request,
        lang,
        session,
        "office/observatory.html",
        422 if problem else 200,
        **context,
        problem=i18n.translate(lang, problem) if problem else "",
        report=report,
        paid=money_totals(report, currency),
        other_money=other_currencies(report, currency),
        fee_rate=percent(fee_rate_bps / 10_000, lang),
        fee_rate_bps=fee_rate_bps,
        providers_table=providers_table(report, names, lang) if report else None,
        share=share,
        stopped=stopped,
        share_days=SHARE_DAYS,
        key=str(uuid.uuid4()),
    )


@router.get("/{lang}/office/observatory.csv")
async def observatory_csv(request: Request, lang: LangDep, session: OfficeSession) -> Response:
    part = request.query_params.get("part", "")
    if part not in PARTS:
        raise PageNotFound
    _, period, problem = await _territory_period(request, session, request.query_params)
    if problem:
        raise PageNotFound
    if part == "providers":
        report = await backends_of(request).call(
            "payments",
            "GET",
            f"/v1/territories/{session.territory_id}/report",
            token=session.token,
            params=period.query(),
        )
        providers = await _providers(request, session.token)
        table = providers_table(report, {str(p["id"]): str(p["name"]) for p in providers}, lang)
    else:
        observatory = await _observatory(request, session.territory_id, session.token, period)
        table = observatory_tables(observatory, lang)[part]
    return _csv_response(table, part, period, lang)


def _csv_response(table: Table, part: str, period: Period, lang: Lang) -> Response:
    name = f"observatory-{part}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return csvfile.csv_response(table.csv(lang), name)


# --- sharing ---------------------------------------------------------------------------


class ShareRevocations(Protocol):
    """Per territory, the moment (milliseconds since the epoch) before which its share
    links were revoked by "Stop sharing"."""

    async def not_before(self, territory_id: uuid.UUID) -> int | None: ...

    async def revoke(self, territory_id: uuid.UUID, at_ms: int) -> None: ...


class RedisShareRevocations:
    """In the Redis the web already keeps its used sign-in links in. The key lives as long
    as the links it revokes could (a link older than that has expired anyway)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @staticmethod
    def _key(territory_id: uuid.UUID) -> str:
        return f"comptoir:web:observatory-share-not-before:{territory_id}"

    async def not_before(self, territory_id: uuid.UUID) -> int | None:
        value = await self.redis.get(self._key(territory_id))
        return int(value) if value is not None else None

    async def revoke(self, territory_id: uuid.UUID, at_ms: int) -> None:
        await self.redis.set(
            self._key(territory_id),
            str(at_ms),
            ex=int(timedelta(days=SHARE_DAYS + 1).total_seconds()),
        )


class MemoryShareRevocations:
    """Kept in this process: for unit tests, which run without Redis."""

    def __init__(self) -> None:
        self.moments: dict[uuid.UUID, int] = {}

    async def not_before(self, territory_id: uuid.UUID) -> int | None:
        return self.moments.get(territory_id)

    async def revoke(self, territory_id: uuid.UUID, at_ms: int) -> None:
        self.moments[territory_id] = at_ms


def share_revocations(request: Request) -> ShareRevocations:
    """The app's store (``app.state.share_revocations``, which tests may set): Redis when
    the web's sign-in links are kept in Redis, else this process's memory."""
    state = request.app.state
    store: ShareRevocations | None = getattr(state, "share_revocations", None)
    if store is None:
        single_use = authority(request).single_use
        if isinstance(single_use, RedisSingleUse):
            store = RedisShareRevocations(single_use.redis)
        else:
            store = MemoryShareRevocations()
        state.share_revocations = store
    return store


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@router.post("/{lang}/office/share")
async def share(
    request: Request,
    lang: LangDep,
    session: OfficeSession,
    start: Annotated[str, Form(alias="from")] = "",
    end: Annotated[str, Form(alias="to")] = "",
) -> Response:
    _, period, problem = await _territory_period(request, session, {"from": start, "to": end})
    if problem:
        return RedirectResponse(f"/{lang}/office/", status_code=303)
    grant = authority(request).sign(
        SHARE_AUDIENCE,
        {
            "territory_id": str(session.territory_id),
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            # ``iat`` is in whole seconds: "stop sharing" compares milliseconds.
            "issued_ms": _now_ms(),
        },
        ttl=timedelta(days=SHARE_DAYS),
    )
    log.info("observatory shared", extra={"territory_id": str(session.territory_id)})
    query = urlencode(period.query() | {"shared": grant})
    return RedirectResponse(f"/{lang}/office/?{query}#share", status_code=303)


@router.post("/{lang}/office/share/stop")
async def stop_sharing(
    request: Request,
    lang: LangDep,
    session: OfficeSession,
    start: Annotated[str, Form(alias="from")] = "",
    end: Annotated[str, Form(alias="to")] = "",
) -> Response:
    """Every share link of the territory made until now stops working."""
    at_ms = _now_ms()
    await share_revocations(request).revoke(session.territory_id, at_ms)
    log.info("observatory sharing stopped", extra={"territory_id": str(session.territory_id)})
    _, period, problem = await _territory_period(request, session, {"from": start, "to": end})
    query = ({} if problem else period.query()) | {"stopped": str(at_ms)}
    return RedirectResponse(f"/{lang}/office/?{urlencode(query)}#share", status_code=303)


def _read_grant(request: Request, grant: str) -> tuple[dict[str, Any] | None, str]:
    """The grant's claims, or None and why not (``expired`` or ``invalid``)."""
    try:
        claims = authority(request).read(SHARE_AUDIENCE, grant)
        uuid.UUID(str(claims["territory_id"]))
        date.fromisoformat(str(claims["from"]))
        date.fromisoformat(str(claims["to"]))
        int(claims.get("issued_ms") or claims["iat"])
    except jwt.ExpiredSignatureError:
        return None, "expired"
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None, "invalid"
    return claims, ""


async def _valid_grant(request: Request, grant: str) -> tuple[dict[str, Any] | None, str]:
    """The grant's claims, or None and why not (``expired``, ``invalid`` or ``revoked``:
    made before the office last stopped sharing)."""
    claims, why = _read_grant(request, grant)
    if claims is None:
        return None, why
    issued_ms = int(claims.get("issued_ms") or int(claims["iat"]) * 1000)
    not_before = await share_revocations(request).not_before(uuid.UUID(claims["territory_id"]))
    if not_before is not None and issued_ms < not_before:
        return None, "revoked"
    return claims, ""


async def _share_of(
    request: Request, lang: Lang, session: Session, grant: str, tz: str
) -> Json | None:
    """The share link just made, to show with its expiry date (only a working one of this
    office's own territory)."""
    if not grant:
        return None
    try:
        claims, _ = await _valid_grant(request, grant)
    except RedisError:
        log.warning("share revocations unavailable", exc_info=True)
        return None
    if claims is None or claims["territory_id"] != str(session.territory_id):
        return None
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    return {
        "url": f"{settings_of(request).storefront_url}/{lang}/observatory/{grant}",
        "expires": i18n.day(expires, lang, tz, fmt="long"),
    }


async def _stopped_of(request: Request, lang: Lang, session: Session, stopped: str, tz: str) -> str:
    """The "sharing stopped" message, only for the territory's own last stop (the address
    cannot make the page claim what did not happen)."""
    if not stopped.isdigit():
        return ""
    try:
        not_before = await share_revocations(request).not_before(session.territory_id)
    except RedisError:
        log.warning("share revocations unavailable", exc_info=True)
        return ""
    if not_before is None or not_before != int(stopped):
        return ""
    moment = datetime.fromtimestamp(not_before / 1000, UTC)
    return i18n.translate(
        lang,
        "office_share_stopped",
        date=i18n.day(moment, lang, tz, fmt="long"),
        time=i18n.hour(moment, lang, tz),
    )


_REFUSED_GRANT = {
    "expired": (410, "office_share_expired_title", "office_share_expired"),
    "revoked": (410, "office_share_revoked_title", "office_share_revoked"),
    "invalid": (404, "office_share_invalid_title", "office_share_invalid"),
}


async def _shared_context(
    request: Request, lang: Lang, grant: str
) -> tuple[dict[str, Any] | None, Response | None]:
    try:
        claims, why = await _valid_grant(request, grant)
    except RedisError:
        # Whether the office stopped sharing cannot be known: the link shows nothing.
        log.warning("share revocations unavailable", exc_info=True)
        return None, error_page(request)
    if claims is None:
        status_code, title, text = _REFUSED_GRANT[why]
        return None, render(
            request,
            lang,
            "message.html",
            status_code,
            title=i18n.translate(lang, title),
            text=i18n.translate(lang, text),
        )
    territory_id = uuid.UUID(claims["territory_id"])
    period = Period(date.fromisoformat(claims["from"]), date.fromisoformat(claims["to"]), "custom")
    token = authority(request).service_token(territory_id)
    try:
        territory, observatory, activities = await asyncio.gather(
            _territory(request, territory_id),
            _observatory(request, territory_id, token, period),
            backends_of(request).activities(territory_id),
        )
    except ApiError as error:
        return None, error_page(request, error)
    context = _observatory_context(
        lang,
        territory,
        shared_observatory(observatory, activities),
        period,
        f"/{lang}/observatory/{grant}/observatory.csv",
        shared=True,
    )
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    context["expires"] = i18n.day(expires, lang, context["tz"], fmt="long")
    context["period"] = period
    return context, None


@router.get("/{lang}/observatory/{grant}")
async def shared_observatory_page(request: Request, lang: LangDep, grant: str) -> Response:
    """The observatory shared with providers: no sign-in, read-only, no money by provider,
    nothing about visitors, no group small enough to be one provider's."""
    context, refused = await _shared_context(request, lang, grant)
    if refused is not None:
        return refused
    assert context is not None
    return render(request, lang, "office/shared.html", **context)


@router.get("/{lang}/observatory/{grant}/observatory.csv")
async def shared_observatory_csv(request: Request, lang: LangDep, grant: str) -> Response:
    part = request.query_params.get("part", "")
    if part not in SHARED_PARTS:
        raise PageNotFound
    context, refused = await _shared_context(request, lang, grant)
    if refused is not None:
        return refused
    assert context is not None
    return _csv_response(context["tables"][part], part, context["period"], lang)


# --- providers -------------------------------------------------------------------------

PROVIDERS_PAGE = "/office/providers"


async def _providers_page(
    request: Request,
    lang: Lang,
    session: Session,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    territory, period, _ = await _territory_period(request, session, request.query_params)
    providers, report = await asyncio.gather(
        _providers(request, session.token),
        _report(request, session.territory_id, session.token, period),
    )
    accounts, complete = await _accounts(request, providers, session.token)
    currency = territory.get("currency") or "EUR"
    paid: dict[str, int] = {}
    for line in (report or {}).get("providers", []):
        if line["currency"] == currency:
            paid[str(line["provider_id"])] = int(line["paid_to_providers_cents"])
    rows = []
    for p in providers:
        account = accounts.get(str(p["id"]))
        due = (account or {}).get("requirements_due") or []
        rows.append(
            {
                "provider": p,
                "account": account,
                "state": onboarding_state(p, account),
                "requirements": requirements_text(lang, due),
                "paid_cents": paid.get(str(p["id"]), 0),
            }
        )
    # ``?added=<id>``: said only of a provider of the list (the address is anyone's to type).
    added_id = request.query_params.get("added", "")
    added = next((str(p["name"]) for p in providers if str(p["id"]) == added_id), "")
    extra.setdefault("form", {})
    extra.setdefault("errors", {})
    extra.setdefault("problems", [])
    return _console(
        request,
        lang,
        session,
        "office/providers.html",
        status_code,
        territory=territory,
        rows=rows,
        currency=currency,
        report_missing=report is None,
        accounts_missing=not complete,
        period_words=_period_words(lang, period),
        added=added,
        key=str(uuid.uuid4()),
        **extra,
    )


@router.get("/{lang}/office/providers")
async def providers_page(request: Request, lang: LangDep, session: OfficeSession) -> Response:
    return await _providers_page(request, lang, session)


@router.post("/{lang}/office/providers")
async def add_provider(
    request: Request,
    lang: LangDep,
    session: OfficeSession,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
) -> Response:
    name, email = name.strip(), email.strip()
    form = {"name": name, "email": email}
    # Each field's own error (shown under it), and the catalogue's refusals of the form.
    errors: dict[str, str] = {}
    problems: list[str] = []
    if not name:
        errors["name"] = i18n.translate(lang, "office_e_name")
    if not EMAIL.match(email) or len(email) > 254:
        errors["email"] = i18n.translate(lang, "e_email")
    if not errors:
        try:
            created = await backends_of(request).call(
                "catalog",
                "POST",
                "/v1/providers",
                token=session.token,
                json=form,
                idempotency_key=_form_key(key),
            )
        except ApiError as error:
            if error.status not in (409, 422):
                raise
            problems.append(error_message(lang, error))
        else:
            log.info("provider added by the office", extra={"provider_id": created["id"]})
            query = urlencode({"added": created["id"]})
            return RedirectResponse(f"/{lang}{PROVIDERS_PAGE}?{query}", status_code=303)
    return await _providers_page(
        request,
        lang,
        session,
        422,
        form=form,
        errors=errors,
        problems=problems,
        canonical=PROVIDERS_PAGE,
    )


@router.post("/{lang}/office/providers/{provider_id}/onboarding")
async def onboarding_link(
    request: Request, lang: LangDep, provider_id: uuid.UUID, session: OfficeSession
) -> Response:
    """A fresh Stripe onboarding link for the provider (its account is made the first
    time): shown to copy and send; Stripe's links work once and expire within minutes."""
    try:
        provider = await backends_of(request).call(
            "catalog", "GET", f"/v1/providers/{provider_id}", token=session.token
        )
    except ApiError as error:
        if error.status == 404:
            raise PageNotFound from error
        raise
    try:
        answer = await backends_of(request).call(
            "payments", "POST", f"/v1/providers/{provider_id}/onboarding", token=session.token
        )
    except ApiError as error:
        if error.status == 404:
            problem = i18n.translate(lang, "office_onboarding_unknown")
        elif error.status in (502, 503):
            reason = error.detail if lang == "en" and error.detail else error_message(lang, error)
            problem = i18n.translate(lang, "office_onboarding_failed", reason=reason)
        else:
            raise
        return await _providers_page(
            request,
            lang,
            session,
            409,
            onboarding_problem=problem,
            onboarding_for=provider,
            canonical=PROVIDERS_PAGE,
        )
    log.info("onboarding link made by the office", extra={"provider_id": str(provider_id)})
    return await _providers_page(
        request,
        lang,
        session,
        onboarding={"name": provider["name"], "url": answer["onboarding_url"]},
        canonical=PROVIDERS_PAGE,
    )


# --- catalogue -------------------------------------------------------------------------


@router.get("/{lang}/office/catalogue")
async def catalogue_page(request: Request, lang: LangDep, session: OfficeSession) -> Response:
    backends = backends_of(request)
    activities, providers = await asyncio.gather(
        backends.activities(session.territory_id), _providers(request, session.token)
    )
    accounts, complete = await _accounts(request, providers, session.token)
    by_id = {str(p["id"]): p for p in providers}
    rows = []
    for activity in activities:
        provider = by_id.get(str(activity["provider_id"]))
        state = onboarding_state(provider, accounts.get(str(provider["id"]))) if provider else ""
        rows.append(
            {
                "activity": activity,
                "title": activity["title"].get(lang) or activity["title"].get("fr", ""),
                "provider": provider,
                "state": state,
                "price_cents": lowest_price(activity),
            }
        )
    rows.sort(key=lambda r: (not r["activity"].get("bookable"), r["title"].lower()))
    return _console(
        request,
        lang,
        session,
        "office/catalogue.html",
        rows=rows,
        accounts_missing=not complete,
    )


# --- an activity of the catalogue ------------------------------------------------------


async def _activity_page(
    request: Request,
    lang: Lang,
    session: Session,
    activity: Json,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The portal's edit form of the activity in the console frame, naming its provider
    (who sees what the office saves). Adding departures stays the provider's."""
    provider: Json = await backends_of(request).call(
        "catalog", "GET", f"/v1/providers/{activity['provider_id']}", token=session.token
    )
    context.setdefault("form", activity_form(activity))
    context.setdefault("errors", {})
    context.setdefault("done", {})
    if request.method != "GET":
        context["canonical"] = f"/office/activities/{activity['id']}"
    return _console(
        request,
        lang,
        session,
        "office/activity.html",
        status_code,
        activity=activity,
        provider_name=str(provider["name"]),
        form_action=f"/{lang}/office/activities/{activity['id']}",
        key=str(uuid.uuid4()),
        **context,
    )


@router.get("/{lang}/office/activities/{activity_id}")
async def activity_page(
    request: Request, lang: LangDep, activity_id: uuid.UUID, session: OfficeSession
) -> Response:
    activity = await activity_in_reach(request, session, activity_id)
    done = outcome_of(request, session, str(activity_id))
    return await _activity_page(request, lang, session, activity, done=done)


@router.post("/{lang}/office/activities/{activity_id}")
async def edit_activity(
    request: Request, lang: LangDep, activity_id: uuid.UUID, session: OfficeSession
) -> Response:
    """The portal's form, sent to catalog with the office's token: catalog takes the
    territory's admin as well as the owning provider."""
    activity = await activity_in_reach(request, session, activity_id)
    form, errors = await save_activity(request, lang, session, activity)
    if not errors:
        log.info("activity changed by the office", extra={"activity_id": str(activity_id)})
        return redirect_with_outcome(
            request,
            session,
            f"/{lang}/office/activities/{activity_id}",
            "saved",
            str(activity_id),
        )
    return await _activity_page(request, lang, session, activity, 422, form=form, errors=errors)


# --- follow-up -------------------------------------------------------------------------


@router.get("/{lang}/office/follow-up")
async def follow_up_page(request: Request, lang: LangDep, session: OfficeSession) -> Response:
    backends = backends_of(request)
    territory_id = session.territory_id
    territory, refunds, disputes, providers = await asyncio.gather(
        _territory(request, territory_id),
        backends.call(
            "payments",
            "GET",
            f"/v1/territories/{territory_id}/refunds",
            token=session.token,
            params={"status": "FAILED"},
        ),
        backends.call(
            "payments", "GET", f"/v1/territories/{territory_id}/disputes", token=session.token
        ),
        _providers(request, session.token),
    )
    open_disputes, closed_disputes = split_disputes(disputes)
    return _console(
        request,
        lang,
        session,
        "office/follow_up.html",
        refunds=refunds,
        disputes=open_disputes,
        closed_disputes=closed_disputes,
        coded=lambda kind, code: code_words(lang, kind, code),
        names={str(p["id"]): str(p["name"]) for p in providers},
        tz=territory.get("timezone") or i18n.DEFAULT_TZ,
    )
