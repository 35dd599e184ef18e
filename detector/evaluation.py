"""Scoring alerts against labelled incidents: recall, precision, time to detect, false-alert rate.

Definitions (DETECTION.md "How quality is measured"):
- an alert *hits* an incident when it is for the incident's account and its event time lies in
  [start, end + grace]; only FIRING notifications count, and escalations of one firing episode
  (same fingerprint and `starts_at`) count once ("after dedupe");
- recall: share of incidents hit by at least one alert;
- precision: share of alerts that hit some incident;
- time to detect: first hitting alert's time minus incident start (median, p95; negative → 0);
- false alerts per 1,000 account-days: alerts that hit nothing, over the clean account-days
  (accounts × days spanned, minus the account-days covered by incidents).
Per type, an alert belongs to the type of the incident it hits, else to its rule's `pattern`
label, else to "unlabelled".
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_GRACE = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Incident:
    """One labelled incident from the simulator's ground truth."""

    account: str
    type: str
    start: datetime
    end: datetime


def load_labels(path: Path) -> list[Incident]:
    """Read the simulator's labels JSONL (`account`, `type`, `start`, `end`)."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Incident(row["account"], row["type"], _ts(row["start"]), _ts(row["end"])))
    return out


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _episodes(alerts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    firsts: dict[tuple[str, str], Mapping[str, Any]] = {}
    for a in alerts:
        if a["status"] == "firing" and not a.get("shadow"):
            firsts.setdefault((a["fingerprint"], a["starts_at"]), a)
    return list(firsts.values())


def _stats(hits: int, incidents: int, tp: int, alerts: int, ttd: list[float]) -> dict[str, Any]:
    return {
        "recall": hits / incidents if incidents else None,
        "precision": tp / alerts if alerts else None,
        "ttd_median_s": float(np.median(ttd)) if ttd else None,
        "ttd_p95_s": float(np.percentile(ttd, 95)) if ttd else None,
        "alerts": alerts,
        "incidents": incidents,
    }


def evaluate(
    alerts: Iterable[Mapping[str, Any]],
    incidents: list[Incident],
    *,
    accounts: int,
    span: timedelta,
    grace: timedelta = DEFAULT_GRACE,
) -> dict[str, Any]:
    """Score alert JSON objects against incidents; returns {"overall": …, "by_type": …}."""
    by_account: dict[str, list[Incident]] = defaultdict(list)
    for inc in incidents:
        by_account[inc.account].append(inc)
    first_hit: dict[Incident, float] = {}
    alert_type: list[tuple[str, bool]] = []
    for a in _episodes(alerts):
        at = _ts(a["at"])
        hit = [i for i in by_account.get(a["account"], []) if i.start <= at <= i.end + grace]
        for inc in hit:
            delay = max((at - inc.start).total_seconds(), 0.0)
            first_hit[inc] = min(first_hit.get(inc, delay), delay)
        kind = hit[0].type if hit else str(a.get("labels", {}).get("pattern", "unlabelled"))
        alert_type.append((kind, bool(hit)))
    result: dict[str, Any] = {"by_type": {}}
    types = sorted({i.type for i in incidents} | {t for t, _ in alert_type})
    for t in types:
        incs = [i for i in incidents if i.type == t]
        mine = [hit for kind, hit in alert_type if kind == t]
        result["by_type"][t] = _stats(
            sum(1 for i in incs if i in first_hit),
            len(incs),
            sum(mine),
            len(mine),
            [first_hit[i] for i in incs if i in first_hit],
        )
    overall = _stats(
        len(first_hit),
        len(incidents),
        sum(1 for _, h in alert_type if h),
        len(alert_type),
        list(first_hit.values()),
    )
    incident_days = sum((i.end - i.start + grace).total_seconds() for i in incidents) / 86400
    clean_days = max(accounts * span.total_seconds() / 86400 - incident_days, 1e-9)
    false_alerts = sum(1 for _, h in alert_type if not h)
    overall["false_alerts_per_1000_account_days"] = false_alerts / clean_days * 1000
    result["overall"] = overall
    return result
