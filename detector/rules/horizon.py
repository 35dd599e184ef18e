"""Rules that need calls longer than the poller's horizon (issue 18), for `rules check`.

Live, the daemon reads every call up to `poll.lateness_horizon_s` (the longest call the
platform allows) in time; a longer call is read late, by a list of its own. A rule that only
looks at calls talking longer than that (`match: {talk_s: {gt: …}}`) or whose `match`-kind
threshold on `talk_s` lies beyond it is therefore judged late or never: it works in a
backtest, where the file holds every call, but live it waits on calls the platform should not
allow. Each such rule gets one message naming the value and the horizon.

Only lower bounds that must hold count (`gt`/`ge`/`eq` on `talk_s`, at the top of `match` or
inside every branch of an `any`); a bound under `not` is an upper bound and is ignored.

>>> from detector.rules.spec import MatchRule
>>> rule = MatchRule(id="long", kind="match", match={"talk_s": {"gt": 14400}}, value="talk_s",
...                  thresholds={"warning": 14400, "critical": 28800})
>>> [(rid, m[:58]) for rid, m in beyond_horizon([rule], 3 * 3600.0)]
[('long', 'needs calls talking longer than 4h (match talk_s > 4h), be')]
>>> beyond_horizon([rule], 24 * 3600.0)
[]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from detector.rules.spec import AnyRule
from detector.rules.template import human_duration

_LOWER = ("gt", "ge", "eq")


def beyond_horizon(rules: Iterable[AnyRule], horizon_s: float) -> list[tuple[str, str]]:
    """(rule id, message) for each enabled rule that needs calls longer than `horizon_s`."""
    out = []
    for rule in rules:
        if not rule.enabled:
            continue
        needs = _needs(rule)
        if needs is not None and needs[0] > horizon_s:
            seconds, why = needs
            out.append((rule.id, _message(seconds, why, horizon_s)))
    return out


def _needs(rule: AnyRule) -> tuple[float, str] | None:
    """The talk time the rule needs before it can fire, and where that comes from."""
    found: list[tuple[float, str]] = []
    bound = _lower_bound(rule.match)
    if bound is not None:
        found.append((bound, f"match talk_s > {human_duration(bound)}"))
    if getattr(rule, "value", None) == "talk_s":
        levels = [x for x in (rule.thresholds.warning, rule.thresholds.critical) if x is not None]
        if levels:
            lowest = min(levels)
            found.append((lowest, f"its lowest threshold, {human_duration(lowest)} of talk"))
    return max(found, default=None)


def _lower_bound(predicate: Any) -> float | None:
    """The least talk time every call the predicate matches has, when it sets one."""
    if not isinstance(predicate, dict):
        return None
    bounds = []
    condition = predicate.get("talk_s")
    if isinstance(condition, dict):
        bounds += [float(v) for op, v in condition.items() if op in _LOWER and _number(v)]
    elif isinstance(condition, int | float) and not isinstance(condition, bool):
        bounds.append(float(condition))
    branches = predicate.get("any")
    if isinstance(branches, list) and branches:
        each = [_lower_bound(branch) for branch in branches]
        if all(b is not None for b in each):
            bounds.append(min(b for b in each if b is not None))
    return max(bounds, default=None)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _message(seconds: float, why: str, horizon_s: float) -> str:
    return (
        f"needs calls talking longer than {human_duration(seconds)} ({why}), beyond "
        f"poll.lateness_horizon_s ({human_duration(horizon_s)}): live, such calls are read "
        "only late, if ever; raise the horizon to the platform's longest call (Vobiz hangup "
        "cause 6000, max duration reached) or lower the rule's value"
    )
