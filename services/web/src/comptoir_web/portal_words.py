"""The provider portal's words, in French and English (registered with ``i18n.extend``;
every key starts with ``p_`` so none can clash with the storefront's), and Stripe's codes
and catalog's "not bookable" reasons in the provider's words."""

from __future__ import annotations

import re
from typing import Literal

from markupsafe import Markup, escape

from comptoir_web import i18n

StripeKind = Literal["requirement", "disabled", "payout"]

#: Stripe's codes the portal shows, in words (French, English), each starting lower-case
#: so that it fits in a sentence too. Codes are matched exactly, then by the longest
#: prefix below; anything else gets a general sentence and the code itself.
STRIPE_CODES: dict[StripeKind, dict[str, tuple[str, str]]] = {
    "requirement": {
        "external_account": (
            "le compte bancaire qui reçoit les virements",
            "the bank account that receives payouts",
        ),
        "individual.verification.document": ("une pièce d'identité", "an identity document"),
        "individual.verification.additional_document": (
            "un justificatif de domicile",
            "a proof of address",
        ),
        "individual.id_number": ("votre numéro d'identification", "your ID number"),
        "individual.dob.day": ("votre date de naissance", "your date of birth"),
        "individual.dob.month": ("votre date de naissance", "your date of birth"),
        "individual.dob.year": ("votre date de naissance", "your date of birth"),
        "individual.first_name": ("votre prénom", "your first name"),
        "individual.last_name": ("votre nom", "your last name"),
        "individual.email": ("votre adresse e-mail", "your e-mail address"),
        "individual.phone": ("votre numéro de téléphone", "your phone number"),
        "tos_acceptance.date": (
            "l'acceptation des conditions d'utilisation de Stripe",
            "acceptance of Stripe's terms of service",
        ),
        "tos_acceptance.ip": (
            "l'acceptation des conditions d'utilisation de Stripe",
            "acceptance of Stripe's terms of service",
        ),
        "business_profile.url": (
            "l'adresse du site web de votre activité",
            "your business's website address",
        ),
        "business_profile.mcc": ("le secteur de votre activité", "your business category"),
        "business_profile.product_description": (
            "la description de votre activité",
            "a description of your business",
        ),
        "business_type": ("le type de votre entreprise", "your type of business"),
        "company.tax_id": ("le numéro fiscal de l'entreprise", "the company's tax ID"),
        "company.name": ("le nom de l'entreprise", "the company's name"),
        "representative.verification.document": (
            "une pièce d'identité du représentant légal",
            "an identity document of the legal representative",
        ),
    },
    "disabled": {
        "requirements.past_due": (
            "des informations demandées par Stripe n'ont pas été envoyées à temps",
            "information Stripe asked for was not sent in time",
        ),
        "requirements.pending_verification": (
            "Stripe vérifie les informations envoyées",
            "Stripe is verifying the information sent",
        ),
        "rejected.fraud": (
            "Stripe a refusé le compte (soupçon de fraude)",
            "Stripe rejected the account (suspected fraud)",
        ),
        "rejected.terms_of_service": (
            "Stripe a refusé le compte (conditions d'utilisation non respectées)",
            "Stripe rejected the account (terms of service not met)",
        ),
        "rejected.listed": (
            "Stripe a refusé le compte (liste de sanctions)",
            "Stripe rejected the account (sanctions list)",
        ),
        "under_review": ("Stripe examine le compte", "Stripe is reviewing the account"),
        "listed": (
            "le compte figure peut-être sur une liste de sanctions, Stripe vérifie",
            "the account may be on a sanctions list, Stripe is checking",
        ),
        "platform_paused": (
            "la plateforme a suspendu le compte",
            "the platform paused the account",
        ),
    },
    "payout": {
        "account_closed": ("le compte bancaire est clôturé", "the bank account is closed"),
        "account_frozen": ("le compte bancaire est gelé", "the bank account is frozen"),
        "bank_account_restricted": (
            "le compte bancaire n'accepte pas ce virement",
            "the bank account does not accept this payout",
        ),
        "bank_ownership_changed": (
            "le compte bancaire a changé de titulaire",
            "the bank account changed owner",
        ),
        "could_not_process": (
            "la banque n'a pas pu traiter le virement",
            "the bank could not process the payout",
        ),
        "declined": ("la banque a refusé le virement", "the bank declined the payout"),
        "insufficient_funds": (
            "le solde Stripe ne suffisait pas",
            "the Stripe balance was too low",
        ),
        "invalid_account_number": (
            "le numéro de compte (IBAN) n'est pas valable",
            "the account number (IBAN) is not valid",
        ),
        "incorrect_account_holder_name": (
            "le nom du titulaire ne correspond pas au compte",
            "the account holder's name does not match",
        ),
        "invalid_currency": (
            "le compte bancaire n'accepte pas cette devise",
            "the bank account does not accept this currency",
        ),
        "no_account": ("ce compte bancaire n'existe pas", "this bank account does not exist"),
    },
}
STRIPE_PREFIXES: dict[StripeKind, dict[str, tuple[str, str]]] = {
    "requirement": {
        "individual.address.": ("votre adresse", "your address"),
        "individual.": ("des informations sur vous", "details about you"),
        "company.address.": ("l'adresse de l'entreprise", "the company's address"),
        "company.": ("des informations sur l'entreprise", "details about the company"),
        "representative.": (
            "des informations sur le représentant légal",
            "details about the legal representative",
        ),
        "owners.": ("des informations sur les propriétaires", "details about the owners"),
        "directors.": ("des informations sur les dirigeants", "details about the directors"),
        "executives.": ("des informations sur les dirigeants", "details about the executives"),
        "person_": (
            "des informations sur une personne de l'entreprise",
            "details about a person of the company",
        ),
        "business_profile.": (
            "des informations sur votre activité",
            "details about your business",
        ),
    },
    "disabled": {
        "rejected.": ("Stripe a refusé le compte", "Stripe rejected the account"),
        "requirements.": (
            "Stripe attend des informations",
            "Stripe is waiting for information",
        ),
    },
    "payout": {},
}
#: What an unknown code of each kind is said to be (its code follows).
STRIPE_UNKNOWN: dict[StripeKind, tuple[str, str]] = {
    "requirement": ("une autre information", "another piece of information"),
    "disabled": ("une raison donnée par Stripe", "a reason given by Stripe"),
    "payout": (
        "la banque ou Stripe a refusé le virement",
        "the bank or Stripe refused the payout",
    ),
}


def _stripe_text(lang: str, kind: StripeKind, code: str) -> str | None:
    pair = STRIPE_CODES[kind].get(code)
    if pair is None:
        prefixes = [p for p in STRIPE_PREFIXES[kind] if code.startswith(p)]
        if prefixes:
            pair = STRIPE_PREFIXES[kind][max(prefixes, key=len)]
    if pair is None:
        return None
    return pair[1] if lang == "en" else pair[0]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def stripe_words(lang: str, kind: StripeKind, code: str, capital: bool = True) -> Markup:
    """A Stripe code (a requirement, the reason an account is disabled, why a payout
    failed) in the provider's words: known codes in words only; others as a general
    sentence followed by the code itself, marked as English (``<code lang="en">``)."""
    code = str(code)
    text = _stripe_text(lang, kind, code)
    shown = text
    if shown is None:
        pair = STRIPE_UNKNOWN[kind]
        shown = pair[1] if lang == "en" else pair[0]
    words = escape(_capital(shown) if capital else shown)
    if text is None:
        return Markup('{} (<code lang="en">{}</code>)').format(words, code)
    return words


# --- catalog's reasons an activity cannot be booked ----------------------------------------
# catalog (domain.bookability) writes them in English, from these fixed sentences.

_NOT_BOOKABLE = re.compile(
    r"^(?:(?P<unstarted>The provider has not started its Stripe onboarding yet: visitors "
    r"cannot pay it\.)"
    r"|(?P<unfinished>The provider has not finished its Stripe onboarding yet: visitors "
    r"cannot pay it\.)"
    r"|(?P<disabled>Stripe does not let the provider take card payments at the moment"
    r"(?: \((?P<why>[^()]*)\))?\.))"
    r"(?: Stripe still needs: (?P<needs>.+?)(?: and (?P<more>\d+) more)?\.)?$"
)


def sentence(lang: str, key: str, **values: object) -> Markup:
    """Our sentence ``key`` with ``values`` put in: escaped text, or markup kept as it is
    (a Stripe code in ``<code lang="en">``)."""
    text = escape(i18n.translate(lang, key))
    return text.format(**values) if values else text


def not_bookable_words(lang: str, reason: str | None) -> Markup:
    """Catalog's reason an activity cannot be booked, in the page's language: its fixed
    sentences translated, Stripe's codes in them in words. A reason of another shape
    stays in English, marked ``lang="en"`` on a French page (screen readers read it
    with the right voice)."""
    if not reason:
        return Markup("")
    found = _NOT_BOOKABLE.match(reason.strip())
    if found is None:
        if lang == "en":
            return escape(reason)
        return Markup('<span lang="en">{}</span>').format(reason)
    if found["unstarted"]:
        text = sentence(lang, "p_nb_unstarted")
    elif found["unfinished"]:
        text = sentence(lang, "p_nb_unfinished")
    elif found["why"]:
        why = stripe_words(lang, "disabled", found["why"], capital=False)
        text = sentence(lang, "p_nb_disabled_why", why=why)
    else:
        text = sentence(lang, "p_nb_disabled")
    if found["needs"]:
        needs = Markup(", ").join(
            stripe_words(lang, "requirement", code.strip(), capital=False)
            for code in found["needs"].split(", ")
        )
        if found["more"]:
            needs += escape(i18n.translate(lang, "p_nb_more", n=int(found["more"])))
        text += Markup(" ") + sentence(lang, "p_nb_needs", needs=needs)
    return text


_EVENTS_FR = {
    "p_event_booking.confirmed.v1": "Réservation confirmée",
    "p_event_booking.cancelled.v1": "Réservation annulée",
    "p_event_booking.rebooked.v1": "Réservation déplacée",
    "p_event_booking.slot-cancelled.v1": "Départ annulé",
    "p_event_booking.redeemed.v1": "Visiteur enregistré à l'arrivée",
    "p_event_payments.payout-updated.v1": "Virement Stripe",
}
_EVENTS_EN = {
    "p_event_booking.confirmed.v1": "Booking confirmed",
    "p_event_booking.cancelled.v1": "Booking cancelled",
    "p_event_booking.rebooked.v1": "Booking moved",
    "p_event_booking.slot-cancelled.v1": "Departure cancelled",
    "p_event_booking.redeemed.v1": "Visitor checked in",
    "p_event_payments.payout-updated.v1": "Stripe payout",
}

i18n.extend(
    {
        "fr": {
            **_EVENTS_FR,
            # navigation
            "p_nav_label": "Espace prestataire",
            "p_nav_agenda": "Agenda",
            "p_nav_activities": "Activités",
            "p_nav_payouts": "Virements",
            "p_nav_webhooks": "Webhooks",
            "p_nav_export": "Export",
            # agenda
            "p_agenda_title": "Agenda des départs",
            "p_period": "Période",
            "p_period_today": "Aujourd'hui",
            "p_period_7d": "7 jours",
            "p_period_30d": "30 jours",
            "p_export_these": "Exporter ces réservations (CSV)",
            "p_agenda_count": "Départs sur la période\u00a0: {n}",
            "p_today": "Aujourd'hui",
            "p_no_departure_today": "Aucun départ aujourd'hui.",
            "p_departures_of": "Départs du {day}",
            "p_col_time": "Heure",
            "p_col_activity": "Activité",
            "p_col_sold": "Places vendues",
            "p_col_checked_in": "Arrivés",
            "p_col_on_hold": "En attente de paiement",
            "p_col_status": "État",
            "p_minutes": "{n} min",
            "p_sold_of": "{sold} / {capacity}",
            "p_untitled": "Activité",
            "p_badge_cancelled": "Annulé",
            "p_badge_closed": "Ventes fermées",
            "p_badge_sold_out": "Complet",
            "p_badge_limited": "Dernières places",
            "p_badge_not_for_sale": "Hors vente",
            "p_badge_on_sale": "En vente",
            # a departure
            "p_back_agenda": "← Agenda",
            "p_remaining": "Places restantes",
            "p_checkin_title": "Accueil des visiteurs",
            "p_ticket_code": "Code du billet",
            "p_ticket_code_hint": "Scannez le QR code du billet ou tapez son code "
            "(majuscules, tirets et espaces facultatifs).",
            "p_checkin": "Enregistrer l'arrivée",
            "p_checkin_who": "Enregistrer l'arrivée de {name}",
            "p_checked_in_ok": "Arrivée enregistrée : {name}, {n} place(s).",
            "p_checked_in_other": "Attention : ce billet est pour un autre départ.",
            "p_checked_in_at": "Arrivé(e) le {time}",
            "p_awaiting_payment": "Paiement en cours",
            "p_visitors_title": "Réservations ({n})",
            "p_no_visitors": "Aucune réservation sur ce départ pour l'instant.",
            "p_col_visitor": "Visiteur",
            "p_col_tickets": "Billets",
            "p_col_seats": "Places",
            "p_col_checkin": "Arrivée",
            "p_others": "Réservations annulées ou expirées ({n})",
            "p_seats_n": "{n} place(s)",
            "p_status_ON_HOLD": "En attente de paiement",
            "p_status_CONFIRMED": "Confirmée",
            "p_status_REDEEMED": "Arrivé",
            "p_status_CANCELLED": "Annulée",
            "p_status_EXPIRED": "Expirée",
            "p_actions_title": "Gérer ce départ",
            "p_capacity": "Capacité (places)",
            "p_capacity_hint": "En dessous des places déjà vendues, personne n'est annulé : "
            "la vente s'arrête.",
            "p_capacity_save": "Changer la capacité",
            "p_sales_open_now": "Les ventes sont ouvertes.",
            "p_sales_closed_now": "Les ventes sont fermées ; les réservations faites restent "
            "valables.",
            "p_sales_close": "Fermer les ventes",
            "p_sales_reopen": "Rouvrir les ventes",
            "p_cancel_departure": "Annuler ce départ",
            "p_done_capacity": "Capacité changée : {n} places. Les compteurs se mettent à "
            "jour dans quelques secondes.",
            "p_done_closed": "Ventes fermées pour ce départ.",
            "p_done_opened": "Ventes rouvertes pour ce départ.",
            "p_done_cancelled": "Départ annulé : {n} réservation(s) annulée(s) et remboursée(s) "
            "intégralement ({amount}). Les visiteurs sont prévenus par e-mail.",
            # cancelling a departure
            "p_cancel_title": "Annuler ce départ",
            "p_back_departure": "← Retour au départ",
            "p_cancel_preview": "{n} visiteur(s) ({seats} place(s)) seront remboursés "
            "intégralement, {amount} au total, et prévenus par e-mail.",
            "p_cancel_preview_none": "Aucune réservation payée sur ce départ : personne n'est "
            "à rembourser.",
            "p_cancel_holds": "{n} réservation(s) en attente de paiement seront libérées.",
            "p_cancel_final": "Un départ annulé ne peut pas être rouvert.",
            "p_cancel_note": "Message aux visiteurs (facultatif)",
            "p_cancel_note_hint": "Par exemple : « Orage annoncé sur le lac ». 500 caractères "
            "au plus.",
            "p_cancel_confirm": "Annuler le départ et rembourser",
            "p_cancel_keep": "Ne rien changer",
            # activities
            "p_activities_title": "Mes activités",
            "p_no_activities": "Aucune activité publiée. L'office de tourisme publie les "
            "nouvelles activités avec vous.",
            "p_bookable": "Réservable",
            "p_not_bookable": "Pas réservable",
            "p_edit_and_departures": "Modifier et ajouter des départs",
            "p_back_activities": "← Mes activités",
            "p_edit_title": "Description et prix",
            "p_form_has_errors": "Certains champs sont à corriger.",
            "p_field_title_fr": "Titre en français",
            "p_field_title_en": "Titre en anglais",
            "p_field_description_fr": "Description en français",
            "p_field_description_en": "Description en anglais",
            "p_prices": "Prix par billet ({currency})",
            "p_price_of": "{unit}",
            "p_field_cutoff": "Fin des réservations (minutes avant le départ)",
            "p_field_cutoff_hint": "0 : réservable jusqu'au départ ; 120 : jusqu'à deux heures "
            "avant.",
            "p_save": "Enregistrer",
            "p_done_saved": "Activité enregistrée. Les nouveaux prix s'appliquent aux "
            "prochaines réservations.",
            "p_add_departures": "Ajouter des départs",
            "p_local_time_hint": "Date et heure locales ({tz}).",
            "p_field_date": "Date",
            "p_field_time": "Heure de départ",
            "p_field_duration": "Durée (minutes)",
            "p_field_repeat": "Chaque jour pendant (jours)",
            "p_add_departures_button": "Ajouter",
            "p_done_slots": "Départs ajoutés : {n}.",
            "p_slots_partly": "{n} départ(s) ajouté(s), puis :",
            "p_upcoming": "Prochains départs (30 jours)",
            "p_no_upcoming": "Aucun départ prévu.",
            # payouts
            "p_payouts_title": "Paiements et virements",
            "p_account_title": "Compte Stripe",
            "p_account_unknown": "Votre compte de paiement n'est pas encore ouvert. L'office "
            "de tourisme vous envoie le lien d'inscription Stripe.",
            "p_charges": "Paiements par carte acceptés",
            "p_payouts_enabled": "Virements vers votre banque",
            "p_details_submitted": "Informations envoyées à Stripe",
            "p_yes": "Oui",
            "p_no": "Non",
            "p_disabled_reason": "Stripe bloque le compte pour l'instant : {reason}.",
            "p_requirements": "Stripe attend encore",
            "p_onboarding_pending": "Stripe vérifie vos informations.",
            "p_dashboard": "Ouvrir mon tableau de bord Stripe",
            "p_dashboard_hint": "Solde, virements et litiges, sur le site de Stripe.",
            "p_payouts_list": "Virements",
            "p_no_payouts": "Aucun virement pour l'instant.",
            "p_col_arrival": "Arrivée prévue",
            "p_col_amount": "Montant",
            "p_payout_PAID": "Versé",
            "p_payout_FAILED": "Échoué",
            "p_unknown": "Inconnue",
            "p_payout_why": "Motif : {reason}.",
            "p_nb_unstarted": "Le prestataire n'a pas encore commencé son inscription "
            "Stripe : les visiteurs ne peuvent pas le payer.",
            "p_nb_unfinished": "Le prestataire n'a pas encore terminé son inscription "
            "Stripe : les visiteurs ne peuvent pas le payer.",
            "p_nb_disabled": "Stripe ne permet pas au prestataire d'encaisser des paiements "
            "par carte pour le moment.",
            "p_nb_disabled_why": "Stripe ne permet pas au prestataire d'encaisser des "
            "paiements par carte pour le moment ({why}).",
            "p_nb_needs": "Stripe attend encore : {needs}.",
            "p_nb_more": " et {n} autre(s)",
            # webhooks
            "p_webhooks_title": "Webhooks",
            "p_webhooks_intro": "Recevez vos réservations dans votre propre logiciel : chaque "
            "évènement est envoyé en POST signé (Standard Webhooks) à l'adresse choisie.",
            "p_endpoints": "Adresses enregistrées",
            "p_no_endpoints": "Aucune adresse enregistrée.",
            "p_col_url": "Adresse (URL)",
            "p_col_events": "Évènements",
            "p_col_actions": "Actions",
            "p_enabled": "Active",
            "p_disabled": "Désactivée",
            "p_delivery_log": "Journal des envois",
            "p_rotate": "Nouveau secret",
            "p_disable": "Désactiver",
            "p_add_endpoint": "Ajouter une adresse",
            "p_field_description": "Description (facultative)",
            "p_secret_created": "Adresse {url} enregistrée. Son secret de signature :",
            "p_secret_rotated": "Nouveau secret de signature pour {url} :",
            "p_secret_once": "Copiez-le maintenant : il ne sera plus affiché.",
            "p_secret_previous": "L'ancien secret signe aussi les envois jusqu'au {when}.",
            "p_done_disabled": "Adresse désactivée : plus rien n'y sera envoyé.",
            "p_back_webhooks": "← Webhooks",
            "p_filter_status": "Filtrer par état",
            "p_all": "Tous",
            "p_delivery_PENDING": "En attente",
            "p_delivery_DELIVERED": "Reçu",
            "p_delivery_DEAD": "Abandonné",
            "p_no_deliveries": "Aucun envoi.",
            "p_col_event": "Évènement",
            "p_col_attempts": "Tentatives",
            "p_col_response": "Dernière réponse",
            "p_replay": "Renvoyer",
            "p_done_replayed": "Envoi remis dans la file : il part dans un instant.",
            "p_newer": "← Plus récents",
            "p_older": "Plus anciens →",
            # export
            "p_export_title": "Exporter les réservations",
            "p_export_intro": "Toutes les réservations de vos départs sur la période, dans un "
            "fichier CSV pour votre tableur.",
            "p_export_from": "Départs à partir du",
            "p_export_to": "Jusqu'au (inclus)",
            "p_export_download": "Télécharger le CSV",
            "p_csv_file": "reservations",
            "p_csv_id": "Réservation",
            "p_csv_activity": "Activité",
            "p_csv_departure": "Départ",
            "p_csv_status": "État",
            "p_csv_name": "Visiteur",
            "p_csv_email": "E-mail",
            "p_csv_tickets": "Billets",
            "p_csv_seats": "Places",
            "p_csv_total": "Total",
            "p_csv_currency": "Devise",
            "p_csv_checked_in": "Arrivé le",
            # refusals
            "p_e_already_checked_in": "Billet déjà utilisé : arrivée enregistrée le {when}.",
            "p_e_check_in_closed": "L'enregistrement de ce billet est ouvert du {opens} au "
            "{closes}.",
            "p_e_not_confirmed": "Ce billet ne peut pas servir : la réservation est « {status} ».",
            "p_e_code_empty": "Tapez ou scannez le code du billet.",
            "p_e_code_invalid": "Ce code de billet n'est pas valable. Vérifiez-le et réessayez.",
            "p_e_not_found": "Introuvable : ce n'est pas l'un de vos départs ou de vos billets.",
            "p_e_refused": "Le service a refusé cette demande.",
            "p_e_slot_started": "Ce départ a commencé : il ne peut plus être modifié.",
            "p_e_slot_cancelled": "Ce départ est annulé.",
            "p_e_slot_in_the_past": "Ce départ serait dans le passé.",
            "p_e_onboarding": "Votre inscription Stripe n'est pas terminée : le tableau de "
            "bord s'ouvrira ensuite.",
            "p_e_endpoint_disabled": "Cette adresse est désactivée.",
            "p_e_delivery_pending": "Cet envoi est déjà dans la file.",
            "p_e_event_types": "Choisissez des évènements de la liste.",
            "p_e_unsafe_url": "Cette adresse est refusée (elle doit être publique, en https).",
            "p_e_url": "Indiquez une adresse complète, commençant par https://.",
            "p_e_events": "Choisissez au moins un évènement.",
            "p_e_capacity": "Indiquez un nombre entier de places, de 0 à {high}.",
            "p_e_note_long": "Le message fait plus de 500 caractères.",
            "p_e_period": "Choisissez une période valable (une date de fin après celle de "
            "début, {days} jours au plus).",
            "p_e_required": "Ce champ est obligatoire.",
            "p_e_too_long": "{high} caractères au plus.",
            "p_e_too_long_any": "Texte trop long.",
            "p_e_range": "Valeur hors des limites permises.",
            "p_e_price": "Indiquez un prix en euros, par exemple 12 ou 12,50.",
            "p_e_cutoff": "Indiquez un nombre entier de minutes, de 0 à {high}.",
            "p_e_between": "Indiquez un nombre entier de {low} à {high}.",
            "p_e_date_time": "Indiquez une date et une heure valables.",
            "p_e_no_such_time": "Cette heure n'existe pas ce jour-là (changement d'heure).",
        },
        "en": {
            **_EVENTS_EN,
            "p_nav_label": "Provider space",
            "p_nav_agenda": "Agenda",
            "p_nav_activities": "Activities",
            "p_nav_payouts": "Payouts",
            "p_nav_webhooks": "Webhooks",
            "p_nav_export": "Export",
            "p_agenda_title": "Departures",
            "p_period": "Period",
            "p_period_today": "Today",
            "p_period_7d": "7 days",
            "p_period_30d": "30 days",
            "p_export_these": "Export these bookings (CSV)",
            "p_agenda_count": "Departures in this period: {n}",
            "p_today": "Today",
            "p_no_departure_today": "No departure today.",
            "p_departures_of": "Departures on {day}",
            "p_col_time": "Time",
            "p_col_activity": "Activity",
            "p_col_sold": "Seats sold",
            "p_col_checked_in": "Checked in",
            "p_col_on_hold": "Awaiting payment",
            "p_col_status": "Status",
            "p_minutes": "{n} min",
            "p_sold_of": "{sold} / {capacity}",
            "p_untitled": "Activity",
            "p_badge_cancelled": "Cancelled",
            "p_badge_closed": "Sales closed",
            "p_badge_sold_out": "Sold out",
            "p_badge_limited": "Last seats",
            "p_badge_not_for_sale": "Not on sale",
            "p_badge_on_sale": "On sale",
            "p_back_agenda": "← Agenda",
            "p_remaining": "Seats left",
            "p_checkin_title": "Check-in",
            "p_ticket_code": "Ticket code",
            "p_ticket_code_hint": "Scan the ticket's QR code or type its code (any case, "
            "dashes and spaces optional).",
            "p_checkin": "Check in",
            "p_checkin_who": "Check in {name}",
            "p_checked_in_ok": "Checked in: {name}, {n} seat(s).",
            "p_checked_in_other": "Note: this ticket is for another departure.",
            "p_checked_in_at": "Checked in on {time}",
            "p_awaiting_payment": "Payment in progress",
            "p_visitors_title": "Bookings ({n})",
            "p_no_visitors": "No booking on this departure yet.",
            "p_col_visitor": "Visitor",
            "p_col_tickets": "Tickets",
            "p_col_seats": "Seats",
            "p_col_checkin": "Check-in",
            "p_others": "Cancelled or expired bookings ({n})",
            "p_seats_n": "{n} seat(s)",
            "p_status_ON_HOLD": "Awaiting payment",
            "p_status_CONFIRMED": "Confirmed",
            "p_status_REDEEMED": "Checked in",
            "p_status_CANCELLED": "Cancelled",
            "p_status_EXPIRED": "Expired",
            "p_actions_title": "Manage this departure",
            "p_capacity": "Capacity (seats)",
            "p_capacity_hint": "Below the seats already sold, nobody is cancelled: sales stop.",
            "p_capacity_save": "Change the capacity",
            "p_sales_open_now": "Sales are open.",
            "p_sales_closed_now": "Sales are closed; bookings already made stay valid.",
            "p_sales_close": "Close sales",
            "p_sales_reopen": "Reopen sales",
            "p_cancel_departure": "Cancel this departure",
            "p_done_capacity": "Capacity changed: {n} seats. The counts catch up in a few seconds.",
            "p_done_closed": "Sales closed for this departure.",
            "p_done_opened": "Sales reopened for this departure.",
            "p_done_cancelled": "Departure cancelled: {n} booking(s) cancelled and refunded in "
            "full ({amount}). The visitors are told by e-mail.",
            "p_cancel_title": "Cancel this departure",
            "p_back_departure": "← Back to the departure",
            "p_cancel_preview": "{n} visitor(s) ({seats} seat(s)) will be refunded in full, "
            "{amount} in all, and told by e-mail.",
            "p_cancel_preview_none": "No paid booking on this departure: nobody to refund.",
            "p_cancel_holds": "{n} booking(s) awaiting payment will be released.",
            "p_cancel_final": "A cancelled departure cannot be reopened.",
            "p_cancel_note": "Message to the visitors (optional)",
            "p_cancel_note_hint": "For example: \u201cStorm forecast over the lake\u201d. "
            "500 characters at most.",
            "p_cancel_confirm": "Cancel the departure and refund",
            "p_cancel_keep": "Keep it",
            "p_activities_title": "My activities",
            "p_no_activities": "No activity published yet. The tourism office publishes new "
            "activities with you.",
            "p_bookable": "Bookable",
            "p_not_bookable": "Not bookable",
            "p_edit_and_departures": "Edit and add departures",
            "p_back_activities": "← My activities",
            "p_edit_title": "Description and prices",
            "p_form_has_errors": "Some fields need fixing.",
            "p_field_title_fr": "Title in French",
            "p_field_title_en": "Title in English",
            "p_field_description_fr": "Description in French",
            "p_field_description_en": "Description in English",
            "p_prices": "Price per ticket ({currency})",
            "p_price_of": "{unit}",
            "p_field_cutoff": "Bookings close (minutes before the start)",
            "p_field_cutoff_hint": "0: bookable until the start; 120: until two hours before.",
            "p_save": "Save",
            "p_done_saved": "Activity saved. New prices apply to the next bookings.",
            "p_add_departures": "Add departures",
            "p_local_time_hint": "Local date and time ({tz}).",
            "p_field_date": "Date",
            "p_field_time": "Start time",
            "p_field_duration": "Duration (minutes)",
            "p_field_repeat": "Every day for (days)",
            "p_add_departures_button": "Add",
            "p_done_slots": "Departures added: {n}.",
            "p_slots_partly": "{n} departure(s) added, then:",
            "p_upcoming": "Next departures (30 days)",
            "p_no_upcoming": "No departure scheduled.",
            "p_payouts_title": "Payments and payouts",
            "p_account_title": "Stripe account",
            "p_account_unknown": "Your payment account is not open yet. The tourism office "
            "sends you the Stripe sign-up link.",
            "p_charges": "Card payments accepted",
            "p_payouts_enabled": "Payouts to your bank",
            "p_details_submitted": "Details sent to Stripe",
            "p_yes": "Yes",
            "p_no": "No",
            "p_disabled_reason": "Stripe holds the account for now: {reason}.",
            "p_requirements": "Stripe still needs",
            "p_onboarding_pending": "Stripe is checking your details.",
            "p_dashboard": "Open my Stripe dashboard",
            "p_dashboard_hint": "Balance, payouts and disputes, on Stripe's site.",
            "p_payouts_list": "Payouts",
            "p_no_payouts": "No payout yet.",
            "p_col_arrival": "Expected arrival",
            "p_col_amount": "Amount",
            "p_payout_PAID": "Paid",
            "p_payout_FAILED": "Failed",
            "p_unknown": "Unknown",
            "p_payout_why": "Reason: {reason}.",
            "p_nb_unstarted": "The provider has not started its Stripe onboarding yet: "
            "visitors cannot pay it.",
            "p_nb_unfinished": "The provider has not finished its Stripe onboarding yet: "
            "visitors cannot pay it.",
            "p_nb_disabled": "Stripe does not let the provider take card payments at the moment.",
            "p_nb_disabled_why": "Stripe does not let the provider take card payments at the "
            "moment ({why}).",
            "p_nb_needs": "Stripe still needs: {needs}.",
            "p_nb_more": " and {n} more",
            "p_webhooks_title": "Webhooks",
            "p_webhooks_intro": "Get your bookings in your own software: each event is sent as "
            "a signed POST (Standard Webhooks) to the address you choose.",
            "p_endpoints": "Registered addresses",
            "p_no_endpoints": "No address registered.",
            "p_col_url": "Address (URL)",
            "p_col_events": "Events",
            "p_col_actions": "Actions",
            "p_enabled": "Active",
            "p_disabled": "Disabled",
            "p_delivery_log": "Delivery log",
            "p_rotate": "New secret",
            "p_disable": "Disable",
            "p_add_endpoint": "Add an address",
            "p_field_description": "Description (optional)",
            "p_secret_created": "Address {url} registered. Its signing secret:",
            "p_secret_rotated": "New signing secret for {url}:",
            "p_secret_once": "Copy it now: it will not be shown again.",
            "p_secret_previous": "The previous secret also signs deliveries until {when}.",
            "p_done_disabled": "Address disabled: nothing more will be sent to it.",
            "p_back_webhooks": "← Webhooks",
            "p_filter_status": "Filter by status",
            "p_all": "All",
            "p_delivery_PENDING": "Queued",
            "p_delivery_DELIVERED": "Delivered",
            "p_delivery_DEAD": "Given up",
            "p_no_deliveries": "No delivery.",
            "p_col_event": "Event",
            "p_col_attempts": "Attempts",
            "p_col_response": "Last response",
            "p_replay": "Send again",
            "p_done_replayed": "Delivery queued again: it goes out in a moment.",
            "p_newer": "← Newer",
            "p_older": "Older →",
            "p_export_title": "Export bookings",
            "p_export_intro": "Every booking on your departures in the period, as a CSV file "
            "for your spreadsheet.",
            "p_export_from": "Departures from",
            "p_export_to": "Until (included)",
            "p_export_download": "Download the CSV",
            "p_csv_file": "bookings",
            "p_csv_id": "Booking",
            "p_csv_activity": "Activity",
            "p_csv_departure": "Departure",
            "p_csv_status": "Status",
            "p_csv_name": "Visitor",
            "p_csv_email": "E-mail",
            "p_csv_tickets": "Tickets",
            "p_csv_seats": "Seats",
            "p_csv_total": "Total",
            "p_csv_currency": "Currency",
            "p_csv_checked_in": "Checked in at",
            "p_e_already_checked_in": "Ticket already used: checked in on {when}.",
            "p_e_check_in_closed": "Check-in for this ticket is open from {opens} to {closes}.",
            "p_e_not_confirmed": "This ticket cannot be used: the booking is \u201c{status}\u201d.",
            "p_e_code_empty": "Type or scan the ticket code.",
            "p_e_code_invalid": "This ticket code is not valid. Check it and try again.",
            "p_e_not_found": "Not found: not one of your departures or tickets.",
            "p_e_refused": "The service refused this request.",
            "p_e_slot_started": "This departure has started: it can no longer be changed.",
            "p_e_slot_cancelled": "This departure is cancelled.",
            "p_e_slot_in_the_past": "This departure would be in the past.",
            "p_e_onboarding": "Your Stripe sign-up is not finished: the dashboard opens once "
            "it is.",
            "p_e_endpoint_disabled": "This address is disabled.",
            "p_e_delivery_pending": "This delivery is already queued.",
            "p_e_event_types": "Choose events from the list.",
            "p_e_unsafe_url": "This address is refused (it must be public, over https).",
            "p_e_url": "Enter a full address starting with https://.",
            "p_e_events": "Choose at least one event.",
            "p_e_capacity": "Enter a whole number of seats, 0 to {high}.",
            "p_e_note_long": "The message is longer than 500 characters.",
            "p_e_period": "Choose a valid period (an end date after the start, {days} days "
            "at most).",
            "p_e_required": "This field is required.",
            "p_e_too_long": "{high} characters at most.",
            "p_e_too_long_any": "Too long.",
            "p_e_range": "Out of the allowed range.",
            "p_e_price": "Enter a price in euros, like 12 or 12.50.",
            "p_e_cutoff": "Enter a whole number of minutes, 0 to {high}.",
            "p_e_between": "Enter a whole number from {low} to {high}.",
            "p_e_date_time": "Enter a valid date and time.",
            "p_e_no_such_time": "This time does not exist that day (clock change).",
        },
    }
)
