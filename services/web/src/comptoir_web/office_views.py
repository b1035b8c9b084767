"""What the office console shows, computed without I/O: the period asked for, the
observatory's key figures, charts and tables, their CSV export, and a provider's
onboarding state in words.

A table is built once and serves twice: as the accessible table under its chart (the
``text`` of each cell) and as the CSV file (the ``raw`` value of each cell, already in the
file's language), so the page and the download can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from babel import Locale
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup, escape

from comptoir_web import csvfile, i18n
from comptoir_web.charts import Bar, bar_chart, column_chart

Json = dict[str, Any]

#: The booking service's own bounds: 8 weeks back, 4 ahead by default; a year at most.
WEEKS_BACK = 8
WEEKS_AHEAD = 4
MAX_DAYS = 366
#: The parts of the observatory a CSV file can hold; ``providers`` is the office's only.
PARTS = ("week", "category", "commune", "lead_time", "providers")
SHARED_PARTS = ("week", "category", "commune", "lead_time")
LEAD_TIME_KEYS = {
    "same day": "office_lead_same_day",
    "1-6 days": "office_lead_days",
    "1-4 weeks": "office_lead_weeks",
    "over 4 weeks": "office_lead_over",
}
#: A group (category, commune) of fewer providers than this is not shown by its name on
#: the shared observatory: its figures would be one competitor's own.
SHARED_MIN_PROVIDERS = 3


# --- the period ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    #: Which quick choice made it: ``default``, ``season``, ``30d`` or ``custom``.
    choice: str = "default"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def default_period(today: date) -> Period:
    return Period(today - timedelta(weeks=WEEKS_BACK), today + timedelta(weeks=WEEKS_AHEAD))


def season(today: date) -> Period:
    """The tourist season today is in: summer from April to September, winter from
    October to March."""
    if 4 <= today.month <= 9:
        return Period(date(today.year, 4, 1), date(today.year, 9, 30), "season")
    start_year = today.year if today.month >= 10 else today.year - 1
    return Period(date(start_year, 10, 1), date(start_year + 1, 3, 31), "season")


def parse_period(query: Mapping[str, str], today: date) -> tuple[Period, str | None]:
    """The period asked for by the form or a quick choice, and the key of the error to
    show when what was typed cannot be used (the default period is shown then)."""
    quick = query.get("quick", "")
    if quick == "season":
        return season(today), None
    if quick == "30d":
        return Period(today - timedelta(days=29), today, "30d"), None
    raw_from, raw_to = query.get("from", "").strip(), query.get("to", "").strip()
    if not raw_from and not raw_to:
        return default_period(today), None
    try:
        first = i18n.typed_date(raw_from) if raw_from else None
        last = i18n.typed_date(raw_to) if raw_to else None
    except ValueError:
        return default_period(today), "office_e_date"
    span = timedelta(weeks=WEEKS_BACK + WEEKS_AHEAD)
    first = first or (last - span if last else today)
    last = last or first + span
    if last < first:
        return default_period(today), "office_e_order"
    if (last - first).days + 1 > MAX_DAYS:
        return default_period(today), "office_e_long"
    return Period(first, last, "custom"), None


# --- numbers in words ------------------------------------------------------------------


def percent(rate: float, lang: str) -> str:
    """``30 %`` / ``30%``; one decimal when it is not a whole percent (``15,4 %``)."""
    pattern = Locale.parse(lang).percent_formats[None].pattern
    return format_percent(rate, pattern.replace("0", "0.#", 1), locale=lang)


def number(value: int, lang: str) -> str:
    return format_decimal(value, locale=lang)


# --- tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    raw: str | int | float


@dataclass
class Table:
    part: str
    caption: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    #: The CSV file's own headers where they differ (its week column holds ISO weeks).
    csv_headers: list[str] | None = None

    def csv(self, lang: str) -> bytes:
        return csvfile.csv_bytes(
            self.csv_headers or self.headers, ([c.raw for c in row] for row in self.rows), lang
        )


def _group_columns(t: Callable[[str], str]) -> list[str]:
    return [
        t("office_col_slots"),
        t("office_col_capacity"),
        t("office_col_sold"),
        t("office_col_fill"),
        t("office_col_bookings"),
        t("office_col_cancelled_departures"),
    ]


def _group_cells(figures: Json, lang: str) -> list[Cell]:
    counts = [
        int(figures[k])
        for k in ("slots", "capacity", "seats_sold", "bookings", "cancelled_departures")
    ]
    rate = float(figures["fill_rate"])
    cells = [Cell(number(n, lang), n) for n in counts]
    cells.insert(3, Cell(percent(rate, lang), csvfile.decimal(rate * 100, lang)))
    return cells


def _iso_week(week: str) -> tuple[int, int]:
    """``2026-W48`` → (2026, 48)."""
    year, _, number_part = week.partition("-W")
    return int(year), int(number_part)


def week_label(week: str, lang: str) -> str:
    """``S48 2026`` / ``W48 2026``: the week in a table or a chart."""
    year, week_number = _iso_week(week)
    return i18n.translate(lang, "office_week_short", week=week_number, year=year)


def week_axis(week: str, lang: str) -> str:
    """``S48`` / ``W48`` under a column of the chart (its year is in the table)."""
    return week_label(week, lang).split(" ", 1)[0]


def week_words(week: str, lang: str) -> str:
    """``semaine 48 de 2026`` / ``week 48 of 2026``: the week in a sentence."""
    year, week_number = _iso_week(week)
    return i18n.translate(lang, "office_week_long", week=week_number, year=year)


def _name(value: str | None, lang: str, naming: Callable[[str], str] | None = None) -> str:
    if not value:
        return i18n.translate(lang, "office_not_described")
    return naming(value) if naming else value


def observatory_tables(observatory: Json, lang: str) -> dict[str, Table]:
    """The week, category, commune and lead-time tables of an observatory answer."""

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    weeks = Table("week", t("office_chart_week"), [t("office_col_week"), t("office_col_monday")])
    weeks.headers += _group_columns(t)
    weeks.csv_headers = [t("office_col_iso_week"), *weeks.headers[1:]]
    for row in observatory["by_week"]:
        monday = date.fromisoformat(row["week_start"])
        weeks.rows.append(
            [
                Cell(week_label(row["week"], lang), row["week"]),
                Cell(i18n.day(monday, lang, fmt="medium"), monday.isoformat()),
                *_group_cells(row, lang),
            ]
        )
    categories = Table("category", t("office_chart_category"), [t("office_col_category")])
    categories.headers += _group_columns(t)
    for row in observatory["by_category"]:
        if row.get("others"):
            name = t("office_others")
        else:
            name = _name(row["category"], lang, lambda slug: i18n.category(lang, slug))
        categories.rows.append([Cell(name, name), *_group_cells(row, lang)])
    communes = Table("commune", t("office_chart_commune"), [t("office_col_commune")])
    communes.headers += _group_columns(t)
    for row in observatory["by_commune"]:
        name = t("office_others") if row.get("others") else _name(row["commune"], lang)
        communes.rows.append([Cell(name, name), *_group_cells(row, lang)])
    lead = Table(
        "lead_time", t("office_chart_lead"), [t("office_col_lead"), t("office_col_bookings")]
    )
    for bucket in observatory["lead_time"]["buckets"]:
        label = t(LEAD_TIME_KEYS.get(bucket["label"], bucket["label"]))
        n = int(bucket["bookings"])
        lead.rows.append([Cell(label, label), Cell(number(n, lang), n)])
    return {table.part: table for table in (weeks, categories, communes, lead)}


def providers_table(report: Json | None, names: Mapping[str, str], lang: str) -> Table:
    """The money of each provider over the period (the office's eyes only)."""

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    table = Table(
        "providers",
        t("office_providers_money"),
        [
            t("office_col_provider"),
            t("office_col_currency"),
            t("office_col_payments"),
            t("office_col_gross"),
            t("office_col_refunds"),
            t("office_col_paid"),
            t("office_col_fee"),
        ],
    )
    for line in (report or {}).get("providers", []):
        currency = str(line["currency"])
        name = (
            line.get("provider_name")
            or names.get(str(line["provider_id"]))
            or str(line["provider_id"])
        )
        cells = [Cell(name, name), Cell(currency, currency)]
        cells.append(Cell(number(int(line["payments"]), lang), int(line["payments"])))
        for key in ("gross_cents", "refunds_cents", "paid_to_providers_cents", "office_fee_cents"):
            cents = int(line[key])
            cells.append(Cell(i18n.money(cents, currency, lang), csvfile.amount(cents, lang)))
        table.rows.append(cells)
    return table


# --- the shared observatory: no group small enough to show one provider ---------------


def providers_per_group(activities: Iterable[Json], key: str) -> dict[str | None, int]:
    """How many distinct providers have activities in each category (or commune)."""
    groups: dict[str | None, set[str]] = {}
    for activity in activities:
        value = activity.get(key) or None
        groups.setdefault(value, set()).add(str(activity.get("provider_id")))
    return {value: len(providers) for value, providers in groups.items()}


def merge_small_groups(
    rows: list[Json], key: str, providers: Mapping[str | None, int]
) -> list[Json]:
    """The observatory's rows by ``key`` with every group of fewer than
    ``SHARED_MIN_PROVIDERS`` providers merged into one "others" row (added last, only when
    there is one): a forwarded share link must not show one competitor's seats. A group
    the catalogue no longer lists counts as having no provider."""
    kept: list[Json] = []
    merged: list[Json] = []
    for row in rows:
        if providers.get(row.get(key) or None, 0) >= SHARED_MIN_PROVIDERS:
            kept.append(row)
        else:
            merged.append(row)
    if not merged:
        return kept
    others: Json = {key: None, "others": True}
    for name in ("slots", "capacity", "seats_sold", "bookings", "cancelled_departures"):
        others[name] = sum(int(row.get(name) or 0) for row in merged)
    capacity = others["capacity"]
    others["fill_rate"] = round(others["seats_sold"] / capacity, 4) if capacity else 0.0
    return [*kept, others]


def shared_observatory(observatory: Json, activities: list[Json]) -> Json:
    """What a share link shows: the observatory with the small groups merged."""
    return observatory | {
        "by_category": merge_small_groups(
            observatory["by_category"], "category", providers_per_group(activities, "category")
        ),
        "by_commune": merge_small_groups(
            observatory["by_commune"], "commune", providers_per_group(activities, "commune")
        ),
    }


# --- charts ----------------------------------------------------------------------------


def _rate_summary(lang: str, what: str, rows: list[tuple[str, float]]) -> str:
    if not rows:
        return i18n.translate(lang, "office_chart_empty", what=what)
    best = max(rows, key=lambda r: r[1])
    worst = min(rows, key=lambda r: r[1])
    return i18n.translate(
        lang,
        "office_chart_rate_summary",
        what=what,
        n=len(rows),
        best=best[0],
        best_rate=percent(best[1], lang),
        worst=worst[0],
        worst_rate=percent(worst[1], lang),
    )


def observatory_charts(observatory: Json, tables: dict[str, Table], lang: str) -> dict[str, Any]:
    """The four charts, each an SVG ``role="img"`` whose description says what it shows."""

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    grid = [(0.0, percent(0, lang)), (0.5, percent(0.5, lang)), (1.0, percent(1, lang))]
    week_bars = [
        Bar(
            week_axis(row["week"], lang),
            float(row["fill_rate"]),
            percent(row["fill_rate"], lang),
            week_words(row["week"], lang),
        )
        for row in observatory["by_week"]
    ]
    week_rates = [
        (week_words(row["week"], lang), float(row["fill_rate"]))
        for row in observatory["by_week"]
        if row["capacity"]
    ]

    def group_bars(part: str) -> tuple[list[Bar], list[tuple[str, float]]]:
        bars, rates = [], []
        for row, cells in zip(observatory[f"by_{part}"], tables[part].rows, strict=True):
            name = cells[0].text
            rate = float(row["fill_rate"])
            text = t(
                "office_bar_text",
                rate=percent(rate, lang),
                sold=number(int(row["seats_sold"]), lang),
                capacity=number(int(row["capacity"]), lang),
            )
            bars.append(Bar(name, rate, text))
            rates.append((name, rate))
        return bars, rates

    category_bars, category_rates = group_bars("category")
    commune_bars, commune_rates = group_bars("commune")
    lead_rows = observatory["lead_time"]["buckets"]
    lead_bars = [
        Bar(cells[0].text, float(b["bookings"]), number(int(b["bookings"]), lang))
        for b, cells in zip(lead_rows, tables["lead_time"].rows, strict=True)
    ]
    total_lead = sum(int(b["bookings"]) for b in lead_rows)
    median = observatory["lead_time"].get("median_hours")
    lead_summary = (
        t(
            "office_lead_summary",
            n=number(total_lead, lang),
            parts="; ".join(f"{b.label}: {b.text}" for b in lead_bars),
        )
        if total_lead
        else t("office_chart_empty", what=t("office_chart_lead"))
    )
    return {
        "week": column_chart(
            "chart-week",
            t("office_chart_week"),
            _rate_summary(lang, t("office_chart_week"), week_rates),
            week_bars,
            1.0,
            grid,
        ),
        "category": bar_chart(
            "chart-category",
            t("office_chart_category"),
            _rate_summary(lang, t("office_chart_category"), category_rates),
            category_bars,
            1.0,
        ),
        "commune": bar_chart(
            "chart-commune",
            t("office_chart_commune"),
            _rate_summary(lang, t("office_chart_commune"), commune_rates),
            commune_bars,
            1.0,
        ),
        "lead_time": bar_chart(
            "chart-lead_time",
            t("office_chart_lead"),
            lead_summary,
            lead_bars,
            float(max([int(b["bookings"]) for b in lead_rows] + [1])),
        ),
        "median_hours": median,
    }


def median_text(hours: float | None, lang: str) -> str:
    """The median lead time in days (or hours under two days)."""
    if hours is None:
        return i18n.translate(lang, "office_median_none")
    if hours < 48:
        return i18n.translate(
            lang, "office_median_hours", n=format_decimal(round(hours), locale=lang)
        )
    return i18n.translate(
        lang, "office_median_days", n=format_decimal(round(hours / 24, 1), locale=lang)
    )


# --- money of the period ---------------------------------------------------------------


def money_totals(report: Json | None, currency: str) -> Json:
    """The report's totals in the territory's currency (zeros when nothing moved)."""
    zero = {
        "currency": currency,
        "gross_cents": 0,
        "refunds_cents": 0,
        "net_cents": 0,
        "paid_to_providers_cents": 0,
        "office_fee_cents": 0,
        "payments": 0,
        "refunds": 0,
        "disputed_cents": 0,
        "disputes": 0,
    }
    for line in (report or {}).get("totals", []):
        if line["currency"] == currency:
            return zero | line
    return zero


def other_currencies(report: Json | None, currency: str) -> list[Json]:
    return [line for line in (report or {}).get("totals", []) if line["currency"] != currency]


# --- providers -------------------------------------------------------------------------


def onboarding_state(provider: Json, account: Json | None) -> str:
    """Where a provider is in its Stripe onboarding, as a key of the console's words:
    ``ready``, ``no_payouts``, ``restricted``, ``unfinished`` or ``not_started``."""
    if account is None:
        charges = bool(provider.get("charges_enabled"))
        payouts = bool(provider.get("payouts_enabled"))
        if charges:
            return "ready" if payouts else "no_payouts"
        return "not_started"
    if not account.get("account_id"):
        return "not_started"
    if account.get("charges_enabled"):
        return "ready" if account.get("payouts_enabled") else "no_payouts"
    if account.get("details_submitted"):
        return "restricted"
    return "unfinished"


# --- Stripe's codes in words -----------------------------------------------------------

#: Disputes still waiting for the provider or the bank: the ones to follow up.
OPEN_DISPUTES = frozenset(
    {"needs_response", "warning_needs_response", "under_review", "warning_under_review"}
)

i18n.extend(
    {
        "fr": {
            "office_week_short": "S{week} {year}",
            "office_week_long": "semaine {week} de {year}",
            "office_col_iso_week": "Semaine ISO",
            "office_others": "Autres",
            "office_code_unknown": "Code de Stripe non traduit :",
            "office_dispute_status_needs_response": "Réponse du prestataire attendue",
            "office_dispute_status_warning_needs_response": "Demande d'information de la "
            "banque : réponse attendue",
            "office_dispute_status_under_review": "Réponse envoyée, en cours d'examen par la "
            "banque",
            "office_dispute_status_warning_under_review": "Demande d'information en cours d'examen",
            "office_dispute_status_warning_closed": "Demande d'information close sans litige",
            "office_dispute_status_won": "Gagné par le prestataire",
            "office_dispute_status_lost": "Perdu : le visiteur a été remboursé par sa banque",
            "office_dispute_status_prevented": "Évité avant de devenir un litige",
            "office_dispute_reason_fraudulent": "Paiement non reconnu (fraude supposée)",
            "office_dispute_reason_product_not_received": "Prestation non reçue",
            "office_dispute_reason_duplicate": "Paiement en double",
            "office_dispute_reason_subscription_canceled": "Abonnement résilié",
            "office_dispute_reason_product_unacceptable": "Prestation jugée non conforme",
            "office_dispute_reason_credit_not_processed": "Remboursement promis non reçu",
            "office_dispute_reason_general": "Contestation sans motif précis",
            "office_dispute_reason_unrecognized": "Paiement non reconnu par le titulaire",
            "office_dispute_reason_bank_cannot_process": "La banque ne peut pas traiter le "
            "paiement",
            "office_dispute_reason_check_returned": "Chèque rejeté",
            "office_dispute_reason_customer_initiated": "Contestation à l'initiative du visiteur",
            "office_dispute_reason_debit_not_authorized": "Prélèvement non autorisé",
            "office_dispute_reason_incorrect_account_details": "Coordonnées bancaires incorrectes",
            "office_dispute_reason_insufficient_funds": "Provision insuffisante",
            "office_dispute_reason_noncompliant": "Paiement non conforme aux règles du réseau "
            "de cartes",
            "office_refund_failure_charge_for_pending_refund_disputed": "Le paiement a été "
            "contesté par la banque pendant le remboursement",
            "office_refund_failure_declined": "Remboursement refusé par la banque du visiteur",
            "office_refund_failure_expired_or_canceled_card": "Carte du visiteur expirée ou "
            "annulée",
            "office_refund_failure_insufficient_funds": "Solde du prestataire insuffisant "
            "pour rembourser",
            "office_refund_failure_lost_or_stolen_card": "Carte du visiteur déclarée perdue "
            "ou volée",
            "office_refund_failure_merchant_request": "Remboursement annulé à la demande du "
            "prestataire",
            "office_refund_failure_unknown": "Échec sans raison donnée par la banque",
            "office_requirement_external_account": "le compte bancaire qui recevra les virements",
            "office_requirement_verification_document": "une pièce d'identité",
            "office_requirement_verification_additional_document": "un justificatif de domicile",
            "office_requirement_dob": "la date de naissance",
            "office_requirement_name": "le nom et le prénom",
            "office_requirement_address": "l'adresse",
            "office_requirement_email": "l'adresse e-mail",
            "office_requirement_phone": "le numéro de téléphone",
            "office_requirement_id_number": "le numéro d'identification",
            "office_requirement_tos_acceptance": "l'acceptation des conditions de Stripe",
            "office_requirement_business_profile_url": "le site web de l'activité",
            "office_requirement_business_profile_mcc": "le secteur d'activité",
            "office_requirement_business_profile_product_description": "la description de "
            "l'activité",
            "office_requirement_business_type": "la forme juridique",
            "office_requirement_company": "les informations de l'entreprise",
            "office_requirement_company_tax_id": "le numéro SIREN ou de TVA",
            "office_requirement_representative": "les informations du représentant légal",
            "office_requirement_owners": "les informations des propriétaires",
            "office_requirement_directors": "les informations des dirigeants",
            "office_requirement_executives": "les informations des cadres dirigeants",
        },
        "en": {
            "office_week_short": "W{week} {year}",
            "office_week_long": "week {week} of {year}",
            "office_col_iso_week": "ISO week",
            "office_others": "Other",
            "office_code_unknown": "Stripe code not translated:",
            "office_dispute_status_needs_response": "Waiting for the provider's answer",
            "office_dispute_status_warning_needs_response": "Bank inquiry: answer expected",
            "office_dispute_status_under_review": "Answer sent, under review by the bank",
            "office_dispute_status_warning_under_review": "Bank inquiry under review",
            "office_dispute_status_warning_closed": "Bank inquiry closed without a dispute",
            "office_dispute_status_won": "Won by the provider",
            "office_dispute_status_lost": "Lost: the visitor's bank refunded the visitor",
            "office_dispute_status_prevented": "Prevented before it became a dispute",
            "office_dispute_reason_fraudulent": "Payment not recognised (suspected fraud)",
            "office_dispute_reason_product_not_received": "Service not received",
            "office_dispute_reason_duplicate": "Duplicate payment",
            "office_dispute_reason_subscription_canceled": "Subscription cancelled",
            "office_dispute_reason_product_unacceptable": "Service not as described",
            "office_dispute_reason_credit_not_processed": "Promised refund not received",
            "office_dispute_reason_general": "Dispute without a specific reason",
            "office_dispute_reason_unrecognized": "Payment not recognised by the cardholder",
            "office_dispute_reason_bank_cannot_process": "The bank cannot process the payment",
            "office_dispute_reason_check_returned": "Cheque returned",
            "office_dispute_reason_customer_initiated": "Disputed by the visitor",
            "office_dispute_reason_debit_not_authorized": "Debit not authorised",
            "office_dispute_reason_incorrect_account_details": "Incorrect bank details",
            "office_dispute_reason_insufficient_funds": "Insufficient funds",
            "office_dispute_reason_noncompliant": "Payment not compliant with card network rules",
            "office_refund_failure_charge_for_pending_refund_disputed": "The bank disputed "
            "the payment while it was being refunded",
            "office_refund_failure_declined": "Refund declined by the visitor's bank",
            "office_refund_failure_expired_or_canceled_card": "The visitor's card has expired "
            "or was cancelled",
            "office_refund_failure_insufficient_funds": "The provider's balance was too low "
            "to refund",
            "office_refund_failure_lost_or_stolen_card": "The visitor's card was reported "
            "lost or stolen",
            "office_refund_failure_merchant_request": "Refund cancelled at the provider's request",
            "office_refund_failure_unknown": "Failed without a reason from the bank",
            "office_requirement_external_account": "the bank account that receives payouts",
            "office_requirement_verification_document": "an identity document",
            "office_requirement_verification_additional_document": "a proof of address",
            "office_requirement_dob": "the date of birth",
            "office_requirement_name": "the first and last name",
            "office_requirement_address": "the address",
            "office_requirement_email": "the e-mail address",
            "office_requirement_phone": "the phone number",
            "office_requirement_id_number": "the identification number",
            "office_requirement_tos_acceptance": "acceptance of Stripe's terms",
            "office_requirement_business_profile_url": "the business's website",
            "office_requirement_business_profile_mcc": "the line of business",
            "office_requirement_business_profile_product_description": "a description of "
            "the business",
            "office_requirement_business_type": "the legal form",
            "office_requirement_company": "the company's details",
            "office_requirement_company_tax_id": "the company's tax number",
            "office_requirement_representative": "the legal representative's details",
            "office_requirement_owners": "the owners' details",
            "office_requirement_directors": "the directors' details",
            "office_requirement_executives": "the executives' details",
        },
    }
)


def _unknown_code(lang: str, code: str) -> Markup:
    """A code the console has no words for: said as such, the code as Stripe wrote it."""
    return Markup('{} <code lang="en">{}</code>').format(
        i18n.translate(lang, "office_code_unknown"), code
    )


def code_words(lang: str, kind: str, code: str | None) -> Markup:
    """A dispute's ``status`` or ``reason``, or a refund's ``failure_reason``
    (``kind`` = ``dispute_status``, ``dispute_reason``, ``refund_failure``) in words."""
    if not code:
        return Markup("")
    key = f"office_{kind}_{code}"
    if key not in i18n.MESSAGES["en"]:
        return _unknown_code(lang, code)
    return escape(i18n.translate(lang, key))


#: The last parts of a person's requirement (``individual.dob.day``...) that share words.
_PERSON_FIELDS = {
    "dob": "dob",
    "first_name": "name",
    "last_name": "name",
    "address": "address",
    "email": "email",
    "phone": "phone",
    "id_number": "id_number",
    "ssn_last_4": "id_number",
}
_PERSON_PREFIXES = ("individual.", "person.")
_GROUPS = ("representative", "owners", "directors", "executives")


def _requirement_key(code: str) -> str | None:
    """The word key of one of Stripe's ``requirements_due`` codes, or None."""
    parts = code.split(".")
    if code == "external_account" or code.startswith("external_account."):
        return "external_account"
    if parts[0] == "tos_acceptance":
        return "tos_acceptance"
    if parts[0] == "business_profile" and len(parts) > 1:
        key = f"business_profile_{parts[1]}"
        return key if f"office_requirement_{key}" in i18n.MESSAGES["en"] else None
    if code == "business_type":
        return "business_type"
    if parts[0] in _GROUPS or parts[0].startswith("person_"):
        # ``person_1ABC.first_name``: a person of the company (Stripe names them by id).
        return parts[0] if parts[0] in _GROUPS else "representative"
    if parts[0] == "company":
        return "company_tax_id" if parts[1:2] == ["tax_id"] else "company"
    if code.startswith(_PERSON_PREFIXES) and len(parts) > 1:
        if parts[1] == "verification":
            return (
                "verification_additional_document"
                if "additional_document" in parts
                else "verification_document"
            )
        return _PERSON_FIELDS.get(parts[1])
    return None


def requirement_words(lang: str, codes: Iterable[str]) -> list[Markup]:
    """What Stripe still needs from a provider, in words, each thing once (its date of
    birth is three codes: day, month and year)."""
    words: list[Markup] = []
    for code in codes:
        key = _requirement_key(code)
        item = (
            escape(i18n.translate(lang, f"office_requirement_{key}"))
            if key
            else _unknown_code(lang, code)
        )
        if item not in words:
            words.append(item)
    return words


def requirements_text(lang: str, codes: Iterable[str]) -> Markup:
    """``Stripe attend encore : une pièce d'identité, la date de naissance``."""
    words = requirement_words(lang, codes)
    if not words:
        return Markup("")
    sentence = escape(i18n.translate(lang, "office_requirements", items="\x00"))
    return Markup(sentence.replace("\x00", Markup(", ").join(words)))  # noqa: S704


def split_disputes(disputes: list[Json]) -> tuple[list[Json], list[Json]]:
    """The disputes still to follow up (waiting for an answer or a bank's decision), and
    the closed ones (won, lost...)."""
    open_ = [d for d in disputes if d.get("status") in OPEN_DISPUTES]
    closed = [d for d in disputes if d.get("status") not in OPEN_DISPUTES]
    return open_, closed
