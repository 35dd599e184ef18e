"""`cdr-detector report kpis`: ASR, ACD, NER, short-call share, ring time and spend by account,
trunk and destination country over a range of days, as a table, CSV or JSON, and a PNG chart.

Every number is `detector.enrich.kpi`'s, the same code the daemon's KPI metrics count with, so
the report and a dashboard over the same calls agree. Destination countries cover outbound
calls only (an inbound call's "to" is the customer's own number); accounts and trunks cover
both directions. Each grouping lists its `--top N` keys by attempts, then a total row.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.domain import CDR, Direction
from detector.enrich.kpi import Kpis, Tally
from detector.errors import ConfigError, NoDataError
from detector.investigate.output import (
    FORMATS,
    NO_COUNTRY,
    money,
    num,
    pct,
    print_tables,
    table,
    write_csv,
    write_json,
)
from detector.investigate.reader import Days, Filters
from detector.investigate.session import Where, day_progress, session

GROUPS = ("account", "trunk", "country")
TOTAL = "(all)"
COLUMNS = ("group", "key", "attempts", "answered", "asr", "acd_s", "ner", "short_share",
           "mean_ring_s", "spend", "currency")  # fmt: skip


@dataclass(frozen=True, slots=True)
class KpiRow:
    """The KPIs of one key of one grouping."""

    group: str
    key: str
    kpis: Kpis

    def to_json(self) -> dict[str, Any]:
        """The CSV / JSON row; spend is a number when the row has one currency."""
        k = self.kpis
        single = len(k.spend) == 1
        spend: object = next(iter(k.spend.values())) if single else money(k.spend)
        return {
            "group": self.group, "key": self.key, "attempts": k.attempts,
            "answered": k.answered, "asr": k.asr, "acd_s": k.acd_s, "ner": k.ner,
            "short_share": k.short_share, "mean_ring_s": k.mean_ring_s,
            "spend": spend if k.spend else 0.0,
            "currency": next(iter(k.spend)) if single else "+".join(sorted(k.spend)),
        }  # fmt: skip


def _keys(cdr: CDR) -> Iterable[tuple[str, str]]:
    yield "account", cdr.account
    yield "trunk", cdr.trunk or "(none)"
    if cdr.direction is Direction.OUTBOUND:
        yield "country", cdr.dest_country or NO_COUNTRY


def tally(cdrs: Iterable[CDR]) -> dict[tuple[str, str], Tally]:
    """A tally per (grouping, key), plus each grouping's total under `TOTAL`."""
    tallies: dict[tuple[str, str], Tally] = {}
    for cdr in cdrs:
        for group, key in _keys(cdr):
            for name in (key, TOTAL):
                tallies.setdefault((group, name), Tally()).add(cdr)
    return tallies


def rows(tallies: dict[tuple[str, str], Tally], top: int) -> list[KpiRow]:
    """Per grouping: the `top` keys by attempts (ties by key), then the total."""
    out: list[KpiRow] = []
    for group in GROUPS:
        mine = [(key, t) for (g, key), t in tallies.items() if g == group and key != TOTAL]
        mine.sort(key=lambda pair: (-pair[1].attempts, pair[0]))
        out.extend(KpiRow(group, key, t.kpis()) for key, t in mine[:top])
        if (group, TOTAL) in tallies:
            out.append(KpiRow(group, TOTAL, tallies[(group, TOTAL)].kpis()))
    return out


def kpis_command(
    where: Where,
    *,
    days: Days,
    account: str | None,
    top: int,
    fmt: str,
    chart: Path | None,
) -> list[KpiRow]:
    """Read `days`, compute the KPI rows, print them and draw the chart if asked."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if top < 1:
        raise ConfigError(f"--top must be at least 1, got {top}")
    if chart is not None and chart.suffix.lower() != ".png":
        raise ConfigError(f"--chart: write a .png file, not {chart.name!r}")
    with session(where) as current, day_progress(current, days, "reading"):
        tallies = tally(c for found in current.reader.days(days, Filters(), account)
                        for c in found.cdrs)  # fmt: skip
    if not tallies:
        raise NoDataError(f"no calls for {account or 'any account'} on {days}")
    found = rows(tallies, top)
    _print(found, fmt, days)
    if chart is not None:
        from detector.investigate.chart import draw_kpis  # noqa: PLC0415 - matplotlib on demand

        draw_kpis(found, chart, f"KPIs {days}")
    return found


def _print(found: list[KpiRow], fmt: str, days: Days) -> None:
    body = [r.to_json() for r in found]
    if fmt == "csv":
        write_csv(sys.stdout, COLUMNS, body)
        return
    if fmt == "json":
        write_json(sys.stdout, {"range": str(days), "rows": body})
        return
    head = ("key", "attempts", "ASR", "ACD s", "NER", "short", "ring s", "spend")
    tables = []
    for group in GROUPS:
        mine = [r for r in found if r.group == group]
        if mine:
            title = f"KPIs by {group} {days}" + (" (outbound)" if group == "country" else "")
            tables.append(table(title, head, [_cells(r) for r in mine]))
    print_tables(tables)


def _cells(row: KpiRow) -> tuple[str, ...]:
    k = row.kpis
    return (row.key, f"{k.attempts:,}", pct(k.asr), num(k.acd_s), pct(k.ner),
            pct(k.short_share), num(k.mean_ring_s), money(k.spend))  # fmt: skip
