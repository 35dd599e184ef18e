"""Scoring alerts against labelled incidents: recall, precision, time to detect, false-alert rate.

Definitions (DETECTION.md "How quality is measured"):
- an alert *hits* an incident when it is for the incident's account and its event time lies in
  [start, end + grace]; only FIRING notifications count, and escalations of one firing episode
  (same fingerprint and `starts_at`) count once ("after dedupe");
- recall: share of incidents hit by at least one alert, over the *scored* incidents: those
  graded `clear` or `near` by the world's analyst (`detector.simulate.world.grades`), or with
  no grade (scenario labels). `recall_near` and `recall_subtle` report the near and the
  subtle (below the analyst's line) incidents on their own; subtle ones carry no target;
- precision: share of alerts that hit some incident, subtle ones included (an alert on a
  real, if faint, incident is not a false alert);
- time to detect: first hitting alert's time minus incident start (median, p95; negative → 0),
  over the scored incidents;
- false alerts per 1,000 account-days: alerts that hit nothing, over the clean account-days
  (accounts × days spanned, minus the days covered by incidents and their grace).
Per type, an alert belongs to the type of the incident it hits, else to its rule's `pattern`
label, else to "unlabelled"; `by_rule` counts each rule's alerts and false alerts. Given each
account's size band (`bands`), the same figures are
reported per band (`by_band`, with its own false-alert rate) and per type and band
(`by_type_band`).
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
SUBTLE = "subtle"


@dataclass(frozen=True, slots=True)
class Incident:
    """One labelled incident from the simulator's ground truth."""

    account: str
    type: str
    start: datetime
    end: datetime
    grade: str = ""
    """clear, near or subtle for world incidents; "" (scored like clear) for scenarios."""
    direction: str = ""
    band: str = ""

    @property
    def scored(self) -> bool:
        """Whether the incident counts towards recall targets (not subtle)."""
        return self.grade != SUBTLE


@dataclass(frozen=True, slots=True)
class _Alert:
    """One deduplicated firing episode: account, type it is scored under, whether it hit."""

    account: str
    type: str
    hit: bool
    rule: str


def load_labels(path: Path) -> list[Incident]:
    """Read the simulator's labels JSONL (`account`, `type`, `start`, `end`, and for worlds
    `grade`, `direction`, `band`)."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Incident(row["account"], row["type"], _ts(row["start"]), _ts(row["end"]),
                                row.get("grade", ""), row.get("direction", ""),
                                row.get("band", "")))  # fmt: skip
    return out


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _episodes(alerts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    firsts: dict[tuple[str, str], Mapping[str, Any]] = {}
    for a in alerts:
        if a["status"] == "firing" and not a.get("shadow"):
            firsts.setdefault((a["fingerprint"], a["starts_at"]), a)
    return list(firsts.values())


def _match(
    alerts: Iterable[Mapping[str, Any]], incidents: list[Incident], grace: timedelta
) -> tuple[dict[Incident, float], list[_Alert]]:
    """First-hit delay per incident hit, and every episode with its type and hit flag."""
    by_account: dict[str, list[Incident]] = defaultdict(list)
    for inc in incidents:
        by_account[inc.account].append(inc)
    first_hit: dict[Incident, float] = {}
    scored: list[_Alert] = []
    for a in _episodes(alerts):
        at = _ts(a["at"])
        hit = [i for i in by_account.get(a["account"], []) if i.start <= at <= i.end + grace]
        for inc in hit:
            delay = max((at - inc.start).total_seconds(), 0.0)
            first_hit[inc] = min(first_hit.get(inc, delay), delay)
        kind = hit[0].type if hit else str(a.get("labels", {}).get("pattern", "unlabelled"))
        scored.append(_Alert(str(a["account"]), kind, bool(hit), str(a.get("rule", ""))))
    return first_hit, scored


def _share(hit: int, total: int) -> float | None:
    return hit / total if total else None


def _stats(
    incidents: list[Incident], first_hit: Mapping[Incident, float], alerts: list[_Alert]
) -> dict[str, Any]:
    """Recall (scored, near, subtle), precision and time to detect of one group."""
    scored = [i for i in incidents if i.scored]
    near = [i for i in incidents if i.grade == "near"]
    subtle = [i for i in incidents if i.grade == SUBTLE]
    ttd = [first_hit[i] for i in scored if i in first_hit]
    return {
        "recall": _share(len(ttd), len(scored)),
        "recall_near": _share(sum(i in first_hit for i in near), len(near)),
        "recall_subtle": _share(sum(i in first_hit for i in subtle), len(subtle)),
        "precision": _share(sum(a.hit for a in alerts), len(alerts)),
        "ttd_median_s": float(np.median(ttd)) if ttd else None,
        "ttd_p95_s": float(np.percentile(ttd, 95)) if ttd else None,
        "alerts": len(alerts),
        "incidents": len(scored),
        "near": len(near),
        "subtle": len(subtle),
    }


def _false_rate(
    alerts: list[_Alert], incidents: list[Incident], accounts: int, span: timedelta,
    grace: timedelta,
) -> float:  # fmt: skip
    """False alerts per 1,000 clean account-days of a group of accounts."""
    incident_days = sum((i.end - i.start + grace).total_seconds() for i in incidents) / 86400
    clean_days = max(accounts * span.total_seconds() / 86400 - incident_days, 1e-9)
    return sum(1 for a in alerts if not a.hit) / clean_days * 1000


def evaluate(
    alerts: Iterable[Mapping[str, Any]],
    incidents: list[Incident],
    *,
    accounts: int,
    span: timedelta,
    grace: timedelta = DEFAULT_GRACE,
    bands: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Score alert JSON objects against incidents: {"overall", "by_type"} and, given each
    account's band, {"by_band", "by_type_band"}."""
    first_hit, scored = _match(alerts, incidents, grace)
    types = sorted({i.type for i in incidents} | {a.type for a in scored})
    result: dict[str, Any] = {"by_type": {}}
    for t in types:
        mine = [i for i in incidents if i.type == t]
        result["by_type"][t] = _stats(mine, first_hit, [a for a in scored if a.type == t])
    overall = _stats(incidents, first_hit, scored)
    overall["false_alerts_per_1000_account_days"] = _false_rate(
        scored, incidents, accounts, span, grace
    )
    result["overall"] = overall
    result["by_rule"] = _by_rule(scored)
    if bands is not None:
        result.update(_by_band(bands, incidents, first_hit, scored, span, grace, types))
    return result


def _by_rule(scored: list[_Alert]) -> dict[str, dict[str, int]]:
    """Alerts and false alerts per rule (or model), most false alerts first."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"alerts": 0, "false": 0})
    for a in scored:
        counts[a.rule]["alerts"] += 1
        counts[a.rule]["false"] += not a.hit
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1]["false"], kv[0])))


def _by_band(
    bands: Mapping[str, str],
    incidents: list[Incident],
    first_hit: Mapping[Incident, float],
    scored: list[_Alert],
    span: timedelta,
    grace: timedelta,
    types: list[str],
) -> dict[str, Any]:
    """The per-band and per-type-and-band sections."""
    by_band: dict[str, Any] = {}
    by_type_band: dict[str, dict[str, Any]] = {t: {} for t in types}
    for band in sorted(set(bands.values())):
        members = sum(1 for b in bands.values() if b == band)
        incs = [i for i in incidents if bands.get(i.account) == band]
        alerts = [a for a in scored if bands.get(a.account) == band]
        stats = _stats(incs, first_hit, alerts)
        stats["accounts"] = members
        stats["false_alerts"] = sum(1 for a in alerts if not a.hit)
        stats["false_alerts_per_1000_account_days"] = _false_rate(
            alerts, incs, members, span, grace
        )
        by_band[band] = stats
        for t in types:
            by_type_band[t][band] = _stats(
                [i for i in incs if i.type == t], first_hit, [a for a in alerts if a.type == t]
            )
    return {"by_band": by_band, "by_type_band": by_type_band}
