"""French and English: the storefront's words, and money and dates the Babel way.

Money is integer cents with its currency; times are stored in UTC and shown in the
activity's time zone (Europe/Paris unless the territory says otherwise).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")
DEFAULT_TZ = "Europe/Paris"


def money(cents: int, currency: str, lang: str) -> str:
    return format_currency(Decimal(cents) / 100, currency, locale=lang)


def _local(moment: datetime, tz: str) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz or DEFAULT_TZ))


def when(moment: datetime, lang: str, tz: str = DEFAULT_TZ) -> str:
    """``samedi 14 juin 2025 à 18:00`` / ``Saturday, June 14, 2025 at 6:00 PM``."""
    day_text = format_date(_local(moment, tz), "full", locale=lang)
    return translate(lang, "at_time", day=day_text, time=hour(moment, lang, tz))


def hour(moment: datetime, lang: str, tz: str = DEFAULT_TZ) -> str:
    return format_time(_local(moment, tz), "short", locale=lang)


def day(value: date | datetime, lang: str, tz: str = DEFAULT_TZ, fmt: str = "full") -> str:
    if isinstance(value, datetime):
        value = _local(value, tz).date()
    return format_date(value, fmt, locale=lang)


def local_date(moment: datetime, tz: str = DEFAULT_TZ) -> date:
    return _local(moment, tz).date()


#: The days a typed date may name: wider than any real period, narrow enough that the
#: days and midnights computed from it (a period's end, its bounds in UTC) stay dates.
TYPED_DAYS = (date(1900, 1, 1), date(9000, 12, 31))


def typed_date(raw: str) -> date:
    """A date typed in a form or a query (``YYYY-MM-DD``). ``ValueError`` when it is no
    date, or one so far off (year 1, year 9999) that a page would fall off the calendar
    computing with it: every page answers such a date as it answers a malformed one."""
    day = date.fromisoformat(raw.strip())
    if not TYPED_DAYS[0] <= day <= TYPED_DAYS[1]:
        raise ValueError(f"date out of range: {raw}")
    return day


def _lang(lang: str) -> Lang:
    return "en" if lang == "en" else "fr"


def translate(lang: str, key: str, **values: Any) -> str:
    text = MESSAGES[_lang(lang)].get(key)
    if text is None:
        text = MESSAGES["en"].get(key) or key
    elif lang == "fr":
        text = french_spacing(text)
    return text.format(**values) if values else text


_BEFORE_COLON = re.compile(r" :")
_BEFORE_HIGH = re.compile(r" ([;!?%»])")
_AFTER_GUILLEMET = re.compile(r"« ")


@functools.cache
def french_spacing(text: str) -> str:
    """French typography of our own words (never of the values put in them): a
    non-breaking space before ``:`` and inside guillemets, a narrow one before ``; ! ? %``,
    so that no sign starts a line on a phone."""
    text = _BEFORE_COLON.sub("\u00a0:", text)
    text = _BEFORE_HIGH.sub("\u202f\\1", text)
    return _AFTER_GUILLEMET.sub("«\u00a0", text)


CATEGORIES: dict[str, dict[str, str]] = {
    "fr": {
        "nautical": "Activités nautiques",
        "walk": "Balades et randonnées",
        "workshop": "Ateliers",
        "museum": "Visites et musées",
    },
    "en": {
        "nautical": "On the water",
        "walk": "Walks and hikes",
        "workshop": "Workshops",
        "museum": "Visits and museums",
    },
}


def category(lang: str, slug: str) -> str:
    return CATEGORIES[_lang(lang)].get(slug) or slug.replace("-", " ").capitalize()


UNITS: dict[str, dict[str, str]] = {
    "fr": {
        "adult": "Adulte",
        "child": "Enfant",
        "youth": "Jeune",
        "infant": "Bébé",
        "family": "Famille",
        "senior": "Senior",
        "student": "Étudiant",
    },
    "en": {
        "adult": "Adult",
        "child": "Child",
        "youth": "Youth",
        "infant": "Infant",
        "family": "Family",
        "senior": "Senior",
        "student": "Student",
    },
}


def unit_name(lang: str, unit_id: str) -> str:
    return UNITS[_lang(lang)].get(unit_id) or unit_id.replace("-", " ").replace("_", " ").title()


MESSAGES: dict[Lang, dict[str, str]] = {
    "fr": {
        "lang_name": "Français",
        "colon": "\u00a0: ",
        "other_lang": "English",
        "skip": "Aller au contenu",
        "site": "Comptoir",
        "tagline": "Réservez en direct auprès des prestataires du territoire, sans commission.",
        "search_title": "Activités à {territory}",
        "filters": "Filtrer les activités",
        "f_date": "Date",
        "f_category": "Catégorie",
        "f_commune": "Commune",
        "f_price": "Prix maximum par personne (€)",
        "f_available": "Seulement avec des places",
        "any": "Toutes",
        "search": "Rechercher",
        "reset": "Effacer les filtres",
        "results": "Activités trouvées\u00a0: {n}",
        "no_results": "Aucune activité ne correspond à ces critères.",
        "from_price": "à partir de {price}",
        "free": "Gratuit",
        "next_slot": "Prochain départ : {when}",
        "seats_left": "{n} place(s) restante(s)",
        "no_upcoming": "Aucun départ à venir",
        "sold_out": "Complet",
        "closed": "Fermé",
        "limited": "Dernières places",
        "at_time": "{day} à {time}",
        "description": "Description",
        "meeting_point": "Point de rendez-vous",
        "meeting_point_commune": "À {commune} ; le prestataire vous précise le lieu exact.",
        "what_to_bring": "À prévoir",
        "photos": "Photos",
        "calendar": "Disponibilités",
        "calendar_range": "Du {start} au {end}",
        "earlier": "Semaines précédentes",
        "later": "Semaines suivantes",
        "choose_slot": "Choisissez un départ",
        "no_slots": "Aucun départ sur cette période.",
        "waitlist_join": "Liste d'attente",
        "tickets": "Billets",
        "unit_price": "{price} par billet",
        "quantity_of": "Nombre de billets « {unit} »",
        "units_rule": "De {min} à {max} billets par réservation.",
        "your_details": "Vos coordonnées",
        "name": "Nom et prénom",
        "email": "Adresse e-mail",
        "email_help": "Votre billet et la confirmation vous y seront envoyés.",
        "hold_button": "Réserver ces places",
        "hold_note": "Les places sont bloquées pendant quelques minutes, le temps de payer.",
        "policy": "Conditions d'annulation",
        "policy_tier": "Annulation au moins {hours} h avant le départ : {percent} % remboursé.",
        "policy_none": "Aucun remboursement en cas d'annulation.",
        "policy_else": "Plus tard : pas de remboursement.",
        "back_to_search": "Toutes les activités",
        "hold_title": "Vos places sont bloquées",
        "hold_expires": "Temps restant pour payer",
        "hold_until": "jusqu'à {time}",
        "hold_expired_now": "Le délai est écoulé : vos places ont été libérées.",
        "summary": "Récapitulatif",
        "total": "Total",
        "fee": "Dont frais de l'office de tourisme",
        "pay_title": "Paiement",
        "pay_simulated": "Paiement simulé (mode test)",
        "pay_simulated_help": "Mode test : aucun argent n'est débité, le paiement est simulé.",
        "pay_checkout": "Payer {amount} par carte",
        "pay_checkout_help": "Vous serez redirigé vers la page de paiement sécurisée de Stripe.",
        "pay_preparing": "Préparation du paiement…",
        "pay_processing": "Paiement reçu, confirmation en cours…",
        "pay_failed": "Le paiement a échoué : {reason}",
        "refresh": "Actualiser",
        "confirmed_title": "Réservation confirmée",
        "ticket": "Votre billet",
        "ticket_code": "Code du billet",
        "ticket_help": "Présentez ce code QR (ou le code) au prestataire le jour venu.",
        "qr_alt": "Code QR du billet {code}",
        "reservation_title": "Ma réservation",
        "status": "État",
        "status_ON_HOLD": "En attente de paiement",
        "status_CONFIRMED": "Confirmée",
        "status_CANCELLED": "Annulée",
        "status_EXPIRED": "Expirée",
        "status_REDEEMED": "Utilisée",
        "expired_text": "Le délai de paiement est écoulé et les places ont été libérées.",
        "cancelled_text": "Cette réservation est annulée.",
        "refund": "Remboursement : {amount}",
        "refund_none": "Aucun remboursement selon les conditions d'annulation.",
        "refund_PENDING": "en cours",
        "refund_SUCCEEDED": "effectué",
        "refund_FAILED": "en échec, le prestataire vous contactera",
        "redeemed_text": "Ce billet a été utilisé le {when}.",
        "activity": "Activité",
        "date": "Date",
        "seats": "Places",
        "visitor": "Au nom de",
        "manage": "Gérer ma réservation",
        "cancel_link": "Annuler la réservation",
        "rebook_link": "Changer de date",
        "book_again": "Réserver à nouveau",
        "cancel_title": "Annuler ma réservation",
        "cancel_refund": "Si vous annulez maintenant, vous serez remboursé de {amount} "
        "({percent} %).",
        "cancel_no_refund": "Si vous annulez maintenant, vous ne serez pas remboursé.",
        "cancel_hold": "Rien n'a été payé : les places seront simplement libérées.",
        "cancel_confirm": "Confirmer l'annulation",
        "keep": "Garder ma réservation",
        "cancelled_done": "Votre réservation est annulée.",
        "rebook_title": "Changer de date",
        "rebook_help": "Le prix payé reste le même. Choisissez un autre départ avec {n} "
        "place(s) libre(s).",
        "rebook_confirm": "Déplacer ma réservation",
        "rebook_none": "Aucun autre départ n'a assez de places pour le moment.",
        "rebooked_done": "Votre réservation a été déplacée.",
        "waitlist_title": "Liste d'attente",
        "waitlist_intro": "Ce départ est complet. Inscrivez-vous : si des places se libèrent, "
        "nous vous proposerons une réservation par e-mail.",
        "waitlist_button": "M'inscrire sur la liste d'attente",
        "waitlist_position": "Vous êtes n° {n} sur la liste d'attente.",
        "waitlist_WAITING": "En attente",
        "waitlist_OFFERED": "Des places vous sont proposées : consultez l'e-mail reçu pour payer.",
        "waitlist_BOOKED": "Vous avez réservé.",
        "waitlist_LAPSED": "L'offre a expiré.",
        "waitlist_LEFT": "Vous avez quitté la liste d'attente.",
        "waitlist_CANCELLED": "Le départ a été annulé.",
        "waitlist_leave": "Quitter la liste d'attente",
        "not_found_title": "Page introuvable",
        "not_found_text": "Cette page n'existe pas, ou ce lien n'est plus valable.",
        "no_access_title": "Réservation inaccessible",
        "no_access_text": "Ouvrez le lien reçu par e-mail pour accéder à votre réservation.",
        "error_title": "Un problème est survenu",
        "error_text": "Nous n'avons pas pu traiter votre demande. Réessayez dans un instant.",
        "unavailable": "Le service de réservation ne répond pas pour le moment. "
        "Réessayez dans un instant.",
        "home": "Retour à l'accueil",
        "error_prefix": "Erreur",
        "e_not-enough-seats": "Il ne reste que {remaining} place(s) sur ce départ.",
        "e_unit-count": "Choisissez de {min_units} à {max_units} billets.",
        "e_slot-closed": "Ce départ n'est plus ouvert à la réservation.",
        "e_booking-closed": "Les réservations pour ce départ sont closes.",
        "e_slot-cancelled": "Ce départ a été annulé.",
        "e_no-seats": "Choisissez au moins un billet.",
        "e_illegal-transition": "Cette action n'est plus possible pour cette réservation.",
        "e_already-started": "Ce départ a déjà commencé.",
        "e_not-confirmed": "Cette réservation n'est pas confirmée.",
        "e_seats-available": "Ce départ a encore des places : réservez-les directement.",
        "e_same-slot": "Votre réservation est déjà sur ce départ.",
        "e_validation": "Vérifiez les champs du formulaire.",
        "e_not-found": "Introuvable.",
        "e_idempotency-key-in-use": "Votre demande est déjà en cours de traitement.",
        "e_choose_slot": "Choisissez un départ.",
        "e_choose_units": "Choisissez au moins un billet.",
        "e_name": "Indiquez votre nom.",
        "e_email": "Indiquez une adresse e-mail valide.",
        "e_payment_unavailable": "Le paiement n'est pas disponible pour le moment. "
        "Réessayez dans un instant.",
        "countdown_label": "minutes et secondes restantes",
    },
    "en": {
        "lang_name": "English",
        "colon": ": ",
        "other_lang": "Français",
        "skip": "Skip to content",
        "site": "Comptoir",
        "tagline": "Book directly with the territory's local providers, commission free.",
        "search_title": "Things to do in {territory}",
        "filters": "Filter activities",
        "f_date": "Date",
        "f_category": "Category",
        "f_commune": "Town",
        "f_price": "Maximum price per person (€)",
        "f_available": "Only with seats left",
        "any": "All",
        "search": "Search",
        "reset": "Clear filters",
        "results": "Activities found: {n}",
        "no_results": "No activity matches these filters.",
        "from_price": "from {price}",
        "free": "Free",
        "next_slot": "Next departure: {when}",
        "seats_left": "{n} seat(s) left",
        "no_upcoming": "No upcoming departure",
        "sold_out": "Sold out",
        "closed": "Closed",
        "limited": "Few seats left",
        "at_time": "{day} at {time}",
        "description": "Description",
        "meeting_point": "Meeting point",
        "meeting_point_commune": "In {commune}; the provider tells you the exact place.",
        "what_to_bring": "What to bring",
        "photos": "Photos",
        "calendar": "Availability",
        "calendar_range": "From {start} to {end}",
        "earlier": "Earlier weeks",
        "later": "Later weeks",
        "choose_slot": "Choose a departure",
        "no_slots": "No departure in this period.",
        "waitlist_join": "Waitlist",
        "tickets": "Tickets",
        "unit_price": "{price} per ticket",
        "quantity_of": "Number of “{unit}” tickets",
        "units_rule": "{min} to {max} tickets per reservation.",
        "your_details": "Your details",
        "name": "Full name",
        "email": "E-mail address",
        "email_help": "Your ticket and confirmation are sent there.",
        "hold_button": "Hold these seats",
        "hold_note": "Seats are held for a few minutes while you pay.",
        "policy": "Cancellation policy",
        "policy_tier": "Cancelled at least {hours} h before the start: {percent}% refunded.",
        "policy_none": "No refund on cancellation.",
        "policy_else": "Later: no refund.",
        "back_to_search": "All activities",
        "hold_title": "Your seats are held",
        "hold_expires": "Time left to pay",
        "hold_until": "until {time}",
        "hold_expired_now": "Time is up: your seats have been released.",
        "summary": "Summary",
        "total": "Total",
        "fee": "Of which tourism office fee",
        "pay_title": "Payment",
        "pay_simulated": "Simulated payment (test mode)",
        "pay_simulated_help": "Test mode: no money is taken, the payment is simulated.",
        "pay_checkout": "Pay {amount} by card",
        "pay_checkout_help": "You will be taken to Stripe's secure payment page.",
        "pay_preparing": "Preparing the payment…",
        "pay_processing": "Payment received, confirming…",
        "pay_failed": "The payment failed: {reason}",
        "refresh": "Refresh",
        "confirmed_title": "Booking confirmed",
        "ticket": "Your ticket",
        "ticket_code": "Ticket code",
        "ticket_help": "Show this QR code (or the code) to the provider on the day.",
        "qr_alt": "QR code of ticket {code}",
        "reservation_title": "My reservation",
        "status": "Status",
        "status_ON_HOLD": "Awaiting payment",
        "status_CONFIRMED": "Confirmed",
        "status_CANCELLED": "Cancelled",
        "status_EXPIRED": "Expired",
        "status_REDEEMED": "Used",
        "expired_text": "The time to pay ran out and the seats were released.",
        "cancelled_text": "This reservation is cancelled.",
        "refund": "Refund: {amount}",
        "refund_none": "No refund under the cancellation policy.",
        "refund_PENDING": "in progress",
        "refund_SUCCEEDED": "done",
        "refund_FAILED": "failed, the provider will contact you",
        "redeemed_text": "This ticket was used on {when}.",
        "activity": "Activity",
        "date": "Date",
        "seats": "Seats",
        "visitor": "Name",
        "manage": "Manage my reservation",
        "cancel_link": "Cancel the reservation",
        "rebook_link": "Change the date",
        "book_again": "Book again",
        "cancel_title": "Cancel my reservation",
        "cancel_refund": "If you cancel now, you will be refunded {amount} ({percent}%).",
        "cancel_no_refund": "If you cancel now, you will not be refunded.",
        "cancel_hold": "Nothing was paid: the seats will simply be released.",
        "cancel_confirm": "Confirm the cancellation",
        "keep": "Keep my reservation",
        "cancelled_done": "Your reservation is cancelled.",
        "rebook_title": "Change the date",
        "rebook_help": "The price paid stays the same. Choose another departure with {n} free "
        "seat(s).",
        "rebook_confirm": "Move my reservation",
        "rebook_none": "No other departure has enough seats right now.",
        "rebooked_done": "Your reservation has been moved.",
        "waitlist_title": "Waitlist",
        "waitlist_intro": "This departure is sold out. Join the waitlist: if seats free up, we "
        "will offer you a booking by e-mail.",
        "waitlist_button": "Join the waitlist",
        "waitlist_position": "You are number {n} on the waitlist.",
        "waitlist_WAITING": "Waiting",
        "waitlist_OFFERED": "Seats are offered to you: see the e-mail you received to pay.",
        "waitlist_BOOKED": "You have booked.",
        "waitlist_LAPSED": "The offer lapsed.",
        "waitlist_LEFT": "You left the waitlist.",
        "waitlist_CANCELLED": "The departure was cancelled.",
        "waitlist_leave": "Leave the waitlist",
        "not_found_title": "Page not found",
        "not_found_text": "This page does not exist, or this link is no longer valid.",
        "no_access_title": "Reservation not available",
        "no_access_text": "Open the link you received by e-mail to reach your reservation.",
        "error_title": "Something went wrong",
        "error_text": "We could not process your request. Please try again in a moment.",
        "unavailable": "The booking service is not answering right now. Please try again in "
        "a moment.",
        "home": "Back to the home page",
        "error_prefix": "Error",
        "e_not-enough-seats": "Only {remaining} seat(s) left on this departure.",
        "e_unit-count": "Choose {min_units} to {max_units} tickets.",
        "e_slot-closed": "This departure is no longer open for booking.",
        "e_booking-closed": "Bookings for this departure have closed.",
        "e_slot-cancelled": "This departure has been cancelled.",
        "e_no-seats": "Choose at least one ticket.",
        "e_illegal-transition": "This is no longer possible for this reservation.",
        "e_already-started": "This departure has already started.",
        "e_not-confirmed": "This reservation is not confirmed.",
        "e_seats-available": "This departure still has seats: book them directly.",
        "e_same-slot": "Your reservation is already on this departure.",
        "e_validation": "Please check the form's fields.",
        "e_not-found": "Not found.",
        "e_idempotency-key-in-use": "Your request is already being processed.",
        "e_choose_slot": "Choose a departure.",
        "e_choose_units": "Choose at least one ticket.",
        "e_name": "Enter your name.",
        "e_email": "Enter a valid e-mail address.",
        "e_payment_unavailable": "Payment is not available right now. Please try again in a "
        "moment.",
        "countdown_label": "minutes and seconds left",
    },
}


def extend(words: dict[Lang, dict[str, str]]) -> None:
    """Add the words of another part of the site (the provider portal, the office
    console); a key defined twice is a mistake, caught at import."""
    for lang, entries in words.items():
        clash = MESSAGES[lang].keys() & entries.keys()
        if clash:
            raise ValueError(f"words defined twice ({lang}): {sorted(clash)}")
        MESSAGES[lang].update(entries)
