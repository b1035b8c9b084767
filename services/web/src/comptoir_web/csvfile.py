"""CSV files that people open in a spreadsheet: the provider's bookings, the office's
observatory.

- UTF-8 with a byte-order mark, so that spreadsheets read the accents;
- in French, semicolons between cells and decimal commas (what a French spreadsheet
  opens with a double click); in English, commas and decimal points;
- every text cell that a spreadsheet would take for a formula (``= + - @``, tab, carriage
  return) starts with a quote: a visitor's name cannot run code on the office's machine.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from fastapi.responses import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain number as ``decimal``/``amount`` write it (``-5,00``): a number, not a formula.
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
Cell = str | int | float | None


def guard(value: Cell) -> str | int | float:
    """The cell as written: numbers as they are, text guarded against formulas."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def delimiter(lang: str) -> str:
    return ";" if lang == "fr" else ","


def decimal(value: float | int, lang: str, places: int = 2) -> str:
    """A decimal number the way the file's spreadsheet reads it: ``12,50`` / ``12.50``."""
    text = f"{value:.{places}f}"
    return text.replace(".", ",") if lang == "fr" else text


def amount(cents: int, lang: str) -> str:
    """Integer cents as a decimal amount of the currency unit (the currency goes in a
    column of its own)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}{',' if lang == 'fr' else '.'}{rest:02d}"


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Cell]], lang: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter(lang), lineterminator="\r\n")
    writer.writerow([guard(h) for h in headers])
    for row in rows:
        writer.writerow([guard(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_response(content: bytes, filename: str) -> Response:
    """A download named ``filename`` (ASCII fallback plus the UTF-8 name)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
            )
        },
    )
