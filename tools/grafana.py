"""Grafana dashboard building blocks: panels, a grid layout, variables, query helpers.

Used by `tools.dashboards`; kept apart so the dashboards module reads as a list of panels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DATASOURCE_UID = "cdr-detector-prometheus"
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance"'
ACC = f'{SEL}, account="$account"'
TOP = 'account!="_other"'


@dataclass(frozen=True)
class Q:
    """One query of a panel: PromQL and its legend."""

    expr: str
    legend: str = ""


@dataclass
class Panel:
    """A panel before layout: kind, title, description, queries, size and unit."""

    kind: str
    title: str
    description: str
    queries: list[Q]
    w: int = 12
    h: int = 8
    unit: str = "short"
    extra: dict[str, Any] = field(default_factory=dict)


def stat(title: str, description: str, expr: str, unit: str = "short", w: int = 4) -> Panel:
    """A single-value panel."""
    return Panel("stat", title, description, [Q(expr)], w=w, h=4, unit=unit)


def series(title: str, description: str, *queries: Q, unit: str = "short", w: int = 12) -> Panel:
    """A time-series panel."""
    return Panel("timeseries", title, description, list(queries), w=w, unit=unit)


def bars(title: str, description: str, q: Q, unit: str = "short", link: bool = True) -> Panel:
    """A horizontal bar gauge of the top accounts, each bar linking to the account dashboard."""
    extra: dict[str, Any] = {}
    if link:
        extra["links"] = [
            {
                "title": "Account drill-down",
                "url": "/d/cdr-detector-account?var-account=${__field.labels.account}"
                "&${job:queryparam}&${instance:queryparam}",
            }
        ]
    return Panel("bargauge", title, description, [q], w=8, h=9, unit=unit, extra=extra)


def _targets(queries: list[Q]) -> list[dict[str, Any]]:
    return [
        {"datasource": DS, "expr": q.expr, "legendFormat": q.legend, "refId": chr(65 + i),
         "range": True}
        for i, q in enumerate(queries)
    ]  # fmt: skip


def _options(kind: str) -> dict[str, Any]:
    if kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        }
    if kind == "bargauge":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
        }
    return {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def layout(sections: list[tuple[str, list[Panel]]]) -> list[dict[str, Any]]:
    """Rows of panels placed left to right on the 24-column grid, with unique ids."""
    out: list[dict[str, Any]] = []
    y = 0
    for title, panels in sections:
        out.append(
            {"id": len(out) + 1, "type": "row", "title": title, "collapsed": False,
             "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []}
        )  # fmt: skip
        y += 1
        x, row_h = 0, 0
        for p in panels:
            if x + p.w > 24:
                x, y, row_h = 0, y + row_h, 0
            out.append(_panel(p, len(out) + 1, x, y))
            x, row_h = x + p.w, max(row_h, p.h)
        y += row_h
    return out


def _panel(p: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    return {
        "id": pid,
        "type": p.kind,
        "title": p.title,
        "description": p.description,
        "datasource": DS,
        "gridPos": {"h": p.h, "w": p.w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
        "options": _options(p.kind),
        "targets": _targets(p.queries),
        **p.extra,
    }


def _query_var(name: str, label: str, query: str, *, multi: bool) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "multi": multi,
        "includeAll": multi,
        **({"allValue": ".+"} if multi else {}),
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if multi else {},
        "refresh": 2,
        "sort": 1,
        "hide": 0,
        "regex": "",
        "options": [],
    }


def variables(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The datasource, job and instance variables every dashboard has, then `extra`."""
    datasource = {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {"selected": True, "text": "Prometheus", "value": DATASOURCE_UID},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
    }
    job = _query_var("job", "Job", "label_values(cdr_detector_build_info, job)", multi=True)
    instance = _query_var(
        "instance",
        "Instance",
        'label_values(cdr_detector_build_info{job=~"$job"}, instance)',
        multi=True,
    )
    return [datasource, job, instance, *extra]


def topk_variable() -> dict[str, Any]:
    """How many accounts the top-k panels show."""
    choices = ["5", "10", "20", "50"]
    return {
        "name": "topk",
        "label": "Top accounts",
        "type": "custom",
        "query": ",".join(choices),
        "current": {"selected": True, "text": "10", "value": "10"},
        "options": [{"selected": c == "10", "text": c, "value": c} for c in choices],
        "multi": False,
        "includeAll": False,
        "hide": 0,
    }


def account_variable() -> dict[str, Any]:
    """One account among those with their own series (the capped top set)."""
    query = f"label_values(cdr_detector_account_cdrs_total{{{SEL}, {TOP}}}, account)"
    return _query_var("account", "Account", query, multi=False)


def dashboard(
    uid: str,
    title: str,
    description: str,
    templating: list[dict[str, Any]],
    sections: list[tuple[str, list[Panel]]],
    annotations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A complete dashboard document."""
    links = [
        {"title": "cdr-detector", "type": "dashboards", "tags": ["cdr-detector"],
         "asDropdown": True, "includeVars": True, "keepTime": True}
    ]  # fmt: skip
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["cdr-detector"],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": annotations or []},
        "links": links,
        "templating": {"list": templating},
        "panels": layout(sections),
    }


def rate(metric: str, selector: str = SEL, by: str = "") -> str:
    """`sum [by (…)] (rate(metric{selector}[$__rate_interval]))`."""
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}{{{selector}}}[$__rate_interval]))"


def ratio(numerator: str, denominator: str, selector: str = SEL) -> str:
    """Ratio of two summed rates (a KPI over the whole selection)."""
    return f"{rate(numerator, selector)} / {rate(denominator, selector)}"


def recorded(rule: str, by: str, selector: str = SEL) -> str:
    """A shipped recording rule, summed by `by` over the selection."""
    return f"sum by ({by}) ({rule}{{{selector}}})"
