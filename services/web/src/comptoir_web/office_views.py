"""What the office console shows, computed without I/O: the period asked for, the
observatory's key figures, charts and tables, their CSV export, and a provider's
onboarding state in words.

A table is built once and serves twice: as the accessible table under its chart (the
``text`` of each cell) and as the CSV file (the ``raw`` value of each cell), so the page
and the download can never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.numbers import format_decimal, format_percent

from comptoir_web import i18n
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
#: Characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
        first = date.fromisoformat(raw_from) if raw_from else None
        last = date.fromisoformat(raw_to) if raw_to else None
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


def amount(cents: int) -> str:
    """Money in a CSV cell: a plain decimal (``105.00``), the currency in its own column."""
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


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
    cells.insert(3, Cell(percent(rate, lang), round(rate * 100, 2)))
    return cells


def week_label(week: str, lang: str) -> str:
    """``W48`` / ``S48`` under a column (the table says ``2026-W48``)."""
    number_part = week.rsplit("W", 1)[-1]
    return ("S" if lang == "fr" else "W") + number_part


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
    for row in observatory["by_week"]:
        monday = date.fromisoformat(row["week_start"])
        weeks.rows.append(
            [
                Cell(row["week"], row["week"]),
                Cell(i18n.day(monday, lang, fmt="medium"), monday.isoformat()),
                *_group_cells(row, lang),
            ]
        )
    categories = Table("category", t("office_chart_category"), [t("office_col_category")])
    categories.headers += _group_columns(t)
    for row in observatory["by_category"]:
        name = _name(row["category"], lang, lambda slug: i18n.category(lang, slug))
        categories.rows.append([Cell(name, name), *_group_cells(row, lang)])
    communes = Table("commune", t("office_chart_commune"), [t("office_col_commune")])
    communes.headers += _group_columns(t)
    for row in observatory["by_commune"]:
        name = _name(row["commune"], lang)
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
            cells.append(Cell(i18n.money(cents, currency, lang), amount(cents)))
        table.rows.append(cells)
    return table


def _guard(value: str | int | float) -> str | int | float:
    """A text cell a spreadsheet would run as a formula is kept as text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with a byte order mark (spreadsheets then read accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_guard(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([_guard(cell.raw) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


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
        Bar(week_label(row["week"], lang), float(row["fill_rate"]), percent(row["fill_rate"], lang))
        for row in observatory["by_week"]
    ]
    week_rates = [
        (row["week"], float(row["fill_rate"])) for row in observatory["by_week"] if row["capacity"]
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
