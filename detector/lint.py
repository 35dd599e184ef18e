"""Warnings about rules that load but will not do what their author believes (`rules check`).

An error stops a rule set; a warning says what a valid rule does that is probably not meant:

- **twins** (no sample needed): two live rules of the same kind that measure the same calls
  the same way (equal predicates, group keys, window and aggregate) and whose volume ranges
  (`min_volume`..`max_volume`) overlap, so one incident is notified twice;
- with ``--sample FILE`` (replayed through every rule, `detector.trial`):
  - a rule whose `match` held for none of the sample's calls, or a kind predicate (`where`,
    `then` …) that held for none of the calls it matched;
  - no reading that could be judged (volume never reached `min_volume`, a `spike` window never
    its `floor`, or a `warmup` longer than the sample);
  - a threshold never approached: the highest judged value is under `NEAR` of the lowest
    threshold;
  - a threshold always exceeded: the lowest threshold is reached on `OFTEN` or more of the
    sample's account-days (a day an account had calls), so it fires on ordinary traffic;
  - overlapping rules that notified twice for the same calls: two live rules that matched
    mostly the same calls (at least `OVERLAP` of the calls either matched) and whose FIRING
    alerts for one account share an evidence call id. Rules that catch one incident from
    different angles (spend and a risky destination) overlap little and are not reported.

A sample with no incidents makes rules for rare events (a hot list, a 4-hour call) report
that they matched nothing: that is what the sample shows, not a defect; judge each warning
against what the rule is for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from detector.histogram import number
from detector.rules.kinds.spike import PER_CALL_HISTORY
from detector.rules.loader import RuleSet
from detector.rules.problems import predicate_fields
from detector.rules.spec import AnyRule, SpikeRule
from detector.rules.template import human_duration
from detector.trial import Trial

NEAR = 0.5
"""A threshold is 'approached' when some judged value reaches this share of it."""
OFTEN = 0.5
"""A threshold reached on this share of account-days fires on ordinary traffic."""
OVERLAP = 0.5
"""Share of the calls either of two rules matched that both matched, to call them overlapping."""
EXAMPLES = 3
"""Occasions named in an overlap warning."""


@dataclass(frozen=True, slots=True)
class LintWarning:
    """One warning about one rule (or a pair), with the file it came from."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        """``FILE: rule 'ID': message``."""
        return f"{self.path}: rule {self.rule!r}: {self.message}"


def static_warnings(ruleset: RuleSet) -> list[LintWarning]:
    """Warnings that need no traffic: live twins whose volume ranges overlap."""
    out = []
    live = [r for r in ruleset.rules if r.mode == "live"]
    for a, b in combinations(live, 2):
        if _twins(a, b):
            low = max(a.min_volume, b.min_volume)
            volume = f" with {low} or more calls" if low else ""
            message = (
                f"measures the same calls as {b.id!r} (same kind, predicates, group_by, window) "
                f"and both can fire for one key{volume}: an incident is notified twice; split "
                f"them with min_volume/max_volume, or merge them"
            )
            out.append(LintWarning(ruleset.files.get(a.id, ""), a.id, message))
    return out


def _twins(a: AnyRule, b: AnyRule) -> bool:
    if a.kind != b.kind or a.group_by != b.group_by or a.window != b.window:
        return False
    if any(getattr(a, n) != getattr(b, n) for n in predicate_fields(a.kind)):
        return False
    if getattr(a, "aggregate", None) != getattr(b, "aggregate", None):
        return False
    top_a = float("inf") if a.max_volume is None else a.max_volume
    top_b = float("inf") if b.max_volume is None else b.max_volume
    return max(a.min_volume, b.min_volume) <= min(top_a, top_b)


def sample_warnings(ruleset: RuleSet, trial: Trial) -> list[LintWarning]:
    """Warnings from replaying a sample through every rule."""
    out = []
    for rule in trial.rules:
        path = ruleset.files.get(rule.id, "")
        out += [LintWarning(path, rule.id, m) for m in _rule_messages(rule, trial)]
    out += _double_notifications(ruleset, trial)
    return out


def _rule_messages(rule: AnyRule, trial: Trial) -> list[str]:
    """The first thing the sample shows wrong with one rule (at most one message)."""
    message = _matching(rule, trial) or _judging(rule, trial)
    return [message] if message else []


def _matching(rule: AnyRule, trial: Trial) -> str | None:
    """A predicate that never held, or a warmup the sample cannot pass."""
    tally = trial.tallies[rule.id]
    if tally.matched == 0:
        return f"matched none of the sample's {trial.replay.cdrs:,} calls"
    dead = [n for n in predicate_fields(rule.kind) if n != "match" and not tally.held[n]]
    if dead:
        return f"{dead[0]} held for none of the {tally.matched:,} calls it matched"
    warmup, span = float(getattr(rule, "warmup", 0.0)), _span_s(trial)
    if warmup >= span:
        return (f"judges nothing yet: the sample ({span / 86400:.1f} days) is not longer than "
                f"warmup {human_duration(warmup)}")  # fmt: skip
    return None


def _unjudged(rule: AnyRule, top_volume: float) -> str:
    """Why no reading was judged: a `spike` rule's window stays under its `floor` (or its hour
    lacks history) without a reading at all; other kinds name their `min_volume`."""
    if isinstance(rule, SpikeRule):
        known = (f"{PER_CALL_HISTORY} calls learned" if rule.per == "call"
                 else "a day of history for the window's hour")  # fmt: skip
        return (f"no reading could be judged: no window reached floor {number(rule.floor)} "
                f"after warmup {human_duration(rule.warmup)} with {known}")  # fmt: skip
    return (f"no reading could be judged: volume never reached min_volume {rule.min_volume} "
            f"(highest {number(top_volume)})")  # fmt: skip


def _judging(rule: AnyRule, trial: Trial) -> str | None:
    """No reading judged, a threshold never approached, or one reached on ordinary days."""
    tally = trial.tallies[rule.id]
    if not tally.peaks:
        return _unjudged(rule, tally.top_volume)
    lowest = min(x for x in (rule.thresholds.warning, rule.thresholds.critical) if x is not None)
    highest = max(tally.peaks.values())
    if highest < NEAR * lowest:
        return (f"never approaches its lowest threshold {number(lowest)}: the highest value in "
                f"the sample is {number(highest)}")  # fmt: skip
    days = {(a, d) for (a, _, d), v in tally.peaks.items() if v >= lowest}
    share = len(days) / max(len(trial.active), 1)
    if share >= OFTEN:
        return (f"reaches its lowest threshold {number(lowest)} on {share:.0%} of the sample's "
                f"account-days: it would fire on ordinary traffic")  # fmt: skip
    return None


def _span_s(trial: Trial) -> float:
    first, last = trial.replay.first, trial.replay.last
    return (last - first).total_seconds() if first and last else 0.0


def _double_notifications(ruleset: RuleSet, trial: Trial) -> list[LintWarning]:
    """Pairs of live rules whose FIRING alerts for one account share evidence calls."""
    live = {r.id for r in trial.rules if r.mode == "live"}
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in trial.replay.alerts:
        if alert["status"] == "firing" and alert["rule"] in live:
            by_account[alert["account"]].append(alert)
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for account, alerts in by_account.items():
        for a, b in combinations(alerts, 2):
            first, second = sorted((a["rule"], b["rule"]))
            if first != second and set(_calls(a)) & set(_calls(b)):
                seen[(first, second)].add(f"{account} at {min(a['at'], b['at'])}")
    out = []
    for (first, second), occasions in sorted(seen.items()):
        share = trial.overlap(first, second)
        if share < OVERLAP:
            continue
        examples = ", ".join(sorted(occasions)[:EXAMPLES])
        message = (f"overlaps {second!r} ({share:.0%} of the calls either matched, both did) "
                   f"and they notified twice for the same calls {len(occasions)} times "
                   f"(e.g. {examples}): merge them, or separate what they match")  # fmt: skip
        out.append(LintWarning(ruleset.files.get(first, ""), first, message))
    return out


def _calls(alert: dict[str, Any]) -> list[str]:
    evidence = alert.get("evidence") or {}
    return list(evidence.get("call_ids", [])) if isinstance(evidence, dict) else []
