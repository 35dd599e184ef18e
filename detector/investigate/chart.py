"""The KPI report as a PNG: one row of bar charts per grouping (account, trunk, country), one
column per KPI (ASR, ACD, NER, short-call share, spend), the top keys of each grouping.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global
state). Keys come from CDRs and are untrusted: control characters are dropped and `$` is
escaped so matplotlib never reads a key as math text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from detector.errors import ConfigError
from detector.investigate.kpis import GROUPS, TOTAL, KpiRow
from detector.investigate.output import clean

Metric = tuple[str, Callable[[KpiRow], float | None]]
METRICS: tuple[Metric, ...] = (
    ("ASR %", lambda r: None if r.kpis.asr is None else r.kpis.asr * 100),
    ("ACD s", lambda r: r.kpis.acd_s),
    ("NER %", lambda r: None if r.kpis.ner is None else r.kpis.ner * 100),
    ("short calls %", lambda r: None if r.kpis.short_share is None else r.kpis.short_share * 100),
    ("spend", lambda r: sum(r.kpis.spend.values())),
)


def label(text: str) -> str:
    """A key as a safe axis label.

    >>> label("MA_$x\\x1b")
    'MA_\\\\$x?'
    """
    return clean(text).replace("$", r"\$")[:28]


def draw_kpis(rows: list[KpiRow], path: Path, title: str) -> None:
    """Write the chart of `rows` (the report's rows, totals left out) to `path`."""
    groups = [g for g in GROUPS if any(r.group == g and r.key != TOTAL for r in rows)]
    height = max(3.0, max(_count(rows, g) for g in groups) * 0.32 + 1.2) if groups else 3.0
    figure = Figure(
        figsize=(4.0 * len(METRICS), height * max(1, len(groups))), layout="constrained"
    )
    figure.suptitle(label(title))
    axes = figure.subplots(max(1, len(groups)), len(METRICS), squeeze=False)
    currencies = sorted({c for r in rows for c in r.kpis.spend})
    for i, group in enumerate(groups):
        mine = [r for r in rows if r.group == group and r.key != TOTAL][::-1]
        names = [label(r.key) for r in mine]
        for j, (metric, value) in enumerate(METRICS):
            ax = axes[i][j]
            ax.barh(names, [value(r) or 0.0 for r in mine], color="#3b75af")
            name = f"{metric} {label('+'.join(currencies))}" if metric == "spend" else metric
            ax.set_title(f"{name} by {group}", fontsize=10)
            ax.tick_params(axis="y", labelsize=8, labelleft=j == 0)
            if metric == "spend":  # amounts span 10 to 10^6: 600k reads, 600000 overlaps
                ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    try:
        figure.savefig(path, dpi=90)
    except OSError as exc:
        raise ConfigError(f"--chart: cannot write {path}: {exc.strerror}") from exc


def _count(rows: list[KpiRow], group: str) -> int:
    return sum(1 for r in rows if r.group == group and r.key != TOTAL)
