"""An alert's picture: the account's last 24 hours (or fewer, see `Series.hours`) of the rule's
measure as a small PNG.

Drawn from the `Series` in the alert's briefing (see `alerting.briefing` for where its data
comes from): the measure per 15 minutes as bars, the usual band (10th to 90th percentile of
the day's buckets before the alert) as a shaded strip, and the alert's window shaded in its
severity colour; hours on the x axis are the account's local time. Rendering runs where a
notification is sent (the email courier) or asked for (the daemon's status page,
`/api/alerts/{fingerprint}/chart.png`), never on the detection path: a failed or slow drawing
only leaves the image out.

matplotlib's object API on the Agg canvas (no pyplot, no display, no global state). Labels
come from our own words (measure, timezone), never from CDR text.
"""

from __future__ import annotations

import io
from datetime import timedelta

from matplotlib.dates import DateFormatter, HourLocator, date2num
from matplotlib.figure import Figure

from detector.alerting.briefing import Series
from detector.alerting.content import AlertView
from detector.alerting.render import colour
from detector.alerting.wording import parse_utc, zone

LABELS = {"spend": "spend", "minutes": "talk minutes", "calls": "calls"}
SIZE = (5.6, 2.2)
DPI = 100


def chart_png(alert: AlertView) -> bytes | None:
    """The PNG of the alert's chart, or None when its briefing has no series."""
    series = alert.briefing.series if alert.briefing is not None else None
    if series is None or not series.values:
        return None
    return draw(
        series, alert.timezone, colour(alert), alert.briefing.currency if alert.briefing else ""
    )


def draw(series: Series, timezone: str, accent: str, currency: str = "") -> bytes | None:
    """Bars of `series` in `timezone` with its usual band and alert window, as PNG bytes."""
    start = parse_utc(series.start)
    begin, end = parse_utc(series.alert_from), parse_utc(series.alert_to)
    if start is None or begin is None or end is None:
        return None
    tz = zone(timezone)
    step = timedelta(seconds=series.step_s)
    xs = date2num([start + i * step for i in range(len(series.values))])  # type: ignore[no-untyped-call]
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    ax.bar(xs, series.values, width=step / timedelta(days=1), align="edge", color="#57606a",
           linewidth=0)  # fmt: skip
    if series.high > 0:
        ax.axhspan(series.low, series.high, color="#2E90FA", alpha=0.3, linewidth=0, zorder=3)
    edges = date2num([begin, end])  # type: ignore[no-untyped-call]
    ax.axvspan(float(edges[0]), float(edges[1]), color=accent, alpha=0.25, linewidth=0)
    unit = LABELS.get(series.measure, series.measure)
    if series.measure == "spend" and currency:
        unit = f"spend ({currency})"
    ax.set_title(f"{unit} per 15 min, last {series.hours} h ({timezone}); band: usual; "
                 "shaded: alert",
                 fontsize=8, loc="left")  # fmt: skip
    ax.xaxis.set_major_locator(HourLocator(byhour=range(0, 24, 3), tz=tz))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=tz))  # type: ignore[no-untyped-call]
    ax.tick_params(labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout(pad=0.4)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
