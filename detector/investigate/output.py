"""Rendering investigation results: terminal tables, CSV and JSON, with untrusted text made safe.

CDR text (numbers, causes, trunk and account ids) comes from the API and is untrusted:
- on a terminal, control characters (escape sequences could rewrite the screen) become "?",
  and rich markup in the text is escaped, so "[red]" prints as itself;
- in CSV, a cell a spreadsheet would run as a formula (starting with = + - @ tab or CR) gets a
  leading apostrophe, except plain numbers such as +919876543210 or -0.5, which stay numbers;
- JSON is escaped by the encoder.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

FORMATS = ("table", "csv", "json")
NO_COUNTRY = "(no country)"
"""The destination key of numbers without a country: international networks (+882, +883),
IPRS (+979), satellite ranges, and callees that are not numbers at all."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean(text: object) -> str:
    """Text safe to print on a terminal: control characters replaced by "?".

    >>> clean("+91\\x1b[2J98")
    '+91?[2J98'
    """
    return _CONTROL.sub("?", str(text))


def csv_cell(value: object) -> object:
    """A CSV cell no spreadsheet will run as a formula (see the module doc).

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("+919876543210"), csv_cell(-0.5), csv_cell("")
    ("'=HYPERLINK(1)", '+919876543210', -0.5, '')
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    return value if _PLAIN_NUMBER.fullmatch(value) else "'" + value


def iso(ts: datetime | None) -> str:
    """ISO 8601 UTC with a Z, or "" for none."""
    return "" if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage, "-" when undefined.

    >>> pct(0.4567), pct(None)
    ('45.7%', '-')
    """
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def num(value: float | None, digits: int = 1) -> str:
    """A number with thousands separators, "-" when undefined."""
    return "-" if value is None else f"{value:,.{digits}f}"


def money(amounts: Mapping[str, float]) -> str:
    """Amounts per currency: "12.30 INR", or "1.00 INR + 2.00 USD"; "-" for none."""
    if not amounts:
        return "-"
    return " + ".join(f"{v:,.2f} {clean(c)}".strip() for c, v in sorted(amounts.items()))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """A rich table whose cells are shown literally (markup escaped, control characters gone)."""
    out = Table(*columns, title=escape(title), title_justify="left", box=box.SIMPLE_HEAD)
    for row in rows:
        out.add_row(*(escape(clean(cell)) for cell in row))
    return out


def print_tables(tables: Iterable[Table], out: IO[str] | None = None) -> None:
    """Print tables to stdout (or `out`): as wide as the terminal, else (a file, a pipe) wide
    enough never to wrap ids and numbers."""
    target = out or sys.stdout
    width = None if target.isatty() else 200
    console = Console(file=target, width=width, highlight=False, soft_wrap=False)
    for item in tables:
        console.print(item)


def write_csv(
    out: IO[str], columns: Sequence[str], rows: Iterable[Mapping[str, Any]], header: bool = True
) -> None:
    """Rows as CSV with the given columns (missing values empty), formula-safe."""
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(_plain(row.get(c))) for c in columns])


def write_json(out: IO[str], body: object) -> None:
    """One JSON document, indented."""
    out.write(json.dumps(body, indent=2, default=_plain, ensure_ascii=False) + "\n")


def json_line(body: object) -> str:
    """One compact JSON line (for JSON lines output)."""
    return json.dumps(body, separators=(",", ":"), default=_plain, ensure_ascii=False)


def _plain(value: object) -> object:
    """Values as CSV and JSON show them: times in ISO, enums by value, None empty in CSV."""
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return "" if value is None else value
