"""What a notification needs to know about each rule: its headline, runbook, units and scope.

A `RuleCard` is read from a loaded rule (any kind) once, when the rules load: the `summary`
template (the headline), the `runbook:` line, the unit of its value (money for spend, a
duration for talk time, a share for ratios, a multiple for spikes, else a count), the unit of
its norm (`expected`, for rules with a baseline) and which calls it looks at (direction and
answer state from its `match`; see `briefing.Scope`). `Cards` adds the rule set's home
country and timezones (accounts' local time in every channel).

The headline is the rule's own `summary` template filled again at notification time with
values written for people: `{value:.0f}` of a spend rule becomes `₹672` (currency from the
CDRs), `{window}` becomes `5 min`, and the account's norm is added (`— usually ₹12`) when the
rule has a baseline and the template does not show it, as are the main destination country
(`, mostly to Vietnam`) when most involved calls went to one foreign country.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any, Literal

from detector.alerting.briefing import Briefing, Measure, Scope
from detector.alerting.wording import amount, country, duration, money, percent

Unit = Literal["money", "duration", "share", "points", "times", "count"]
MEASURES: dict[Unit, Measure] = {"money": "spend", "duration": "minutes"}
_SUMS: dict[str, Unit] = {"cost": "money", "talk_s": "duration", "ring_s": "duration"}
_SECONDS = re.compile(r"(\{(?:value|threshold)(?::[^}]*)?\})[ -]?(?:seconds|s)\b")


@dataclass(frozen=True, slots=True)
class RuleCard:
    """One rule as notifications describe it."""

    summary: str = ""
    runbook: str = ""
    unit: Unit = "count"
    norm_unit: Unit = "count"
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True, slots=True)
class Cards:
    """Every rule's card plus the rule set's home country and timezones."""

    by_rule: Mapping[str, RuleCard] = field(default_factory=dict)
    home_country: str = ""
    timezone: str = "UTC"
    timezones: Mapping[str, str] = field(default_factory=dict)

    def of(self, rule: str) -> RuleCard:
        """The card of `rule`; the model's alerts get `MODEL_RUNBOOK`, unknown rules nothing."""
        if rule.startswith("model:"):
            return MODEL_CARD
        return self.by_rule.get(rule, RuleCard())

    def zone_of(self, account: str) -> str:
        """The account's IANA timezone."""
        return self.timezones.get(account, self.timezone)

    @classmethod
    def of_ruleset(cls, ruleset: Any) -> Cards:
        """Cards of a loaded `RuleSet` (its rules and settings)."""
        settings = ruleset.settings
        return cls(
            by_rule={r.id: card_of(r) for r in ruleset.rules},
            home_country=str(getattr(settings, "home_country", "")),
            timezone=str(getattr(settings, "timezone", "UTC")),
            timezones=dict(getattr(settings, "timezones", {}) or {}),
        )


MODEL_RUNBOOK = (
    "The account behaves unlike its own usual week (the summary names how): open its dashboard, "
    "compare the named features with the same hours of past weeks, and ask the customer; if "
    "it cannot explain them, act as for the rule of that pattern (e.g. block the destinations)."
)
MODEL_CARD = RuleCard(runbook=MODEL_RUNBOOK)


def card_of(rule: Any) -> RuleCard:
    """The card of one rule object (read by attribute, so every kind works)."""
    kind = str(getattr(rule, "kind", ""))
    base = _base_unit(rule)
    unit, norm = _units(kind, str(getattr(rule, "measure", "")), base)
    match = dict(getattr(rule, "match", {}) or {})
    direction = match.get("direction")
    answered = match.get("answered")
    scope = Scope(
        direction=direction if isinstance(direction, str) else None,
        answered=answered if isinstance(answered, bool) else None,
        measure=MEASURES.get(base, "calls"),
    )
    return RuleCard(str(getattr(rule, "summary", "")), str(getattr(rule, "runbook", "") or ""),
                    unit, norm, scope)  # fmt: skip


def _units(kind: str, measure: str, base: Unit) -> tuple[Unit, Unit]:
    """(unit of the value, unit of the norm) of a rule kind (see `detector.rules.kinds`).

    >>> _units("shift", "odds", "count"), _units("open", "", "count")
    (('times', 'share'), ('duration', 'duration'))
    """
    if kind == "open":  # a call in progress: its age so far
        return "duration", "duration"
    if kind == "shift":  # an excess in points of share, or an odds ratio; the norm is a share
        return ("times" if measure == "odds" else "points"), "share"
    if kind == "ratio":
        return "share", "share"
    if kind == "spike":  # the window against its usual amount
        return "times", base
    if kind == "outlier":  # outliers against the expected number
        return "times", "count"
    return base, base


def _base_unit(rule: Any) -> Unit:
    aggregate = getattr(rule, "aggregate", None)
    field_name = getattr(aggregate, "sum", None) or getattr(rule, "value", None)
    return _SUMS.get(str(field_name), "count") if field_name else "count"


def show(value: float | None, unit: Unit, currency: str) -> str:
    """A value in its unit for people.

    >>> show(672.4, "money", "INR"), show(0.764, "share", ""), show(300, "duration", "")
    ('₹672', '76 %', '5 min')
    >>> show(0.3, "points", ""), show(3.42, "times", "")
    ('30 points', '3.42')
    """
    if value is None:
        return "–"
    if unit == "money":
        return money(value, currency)
    if unit == "duration":
        return duration(value)
    if unit == "share":
        return percent(value)
    if unit == "points":
        return f"{value * 100:.0f} points"
    return amount(value)


class Shown(str):
    """Text that ignores a template's format spec (`{value:.0f}` of `₹672` is `₹672`)."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return str(self)


def headline(
    card: RuleCard, alert: Mapping[str, Any], currency: str, briefing: Briefing | None,
    home_country: str = "",
) -> str:  # fmt: skip
    """The rule's summary in words for people, with its norm and main destination country."""
    expected = _float((alert.get("evidence") or {}).get("expected"))
    window = (alert.get("evidence") or {}).get("window_s")
    values: dict[str, object] = {
        **{str(k): Shown(str(v)) for k, v in dict(alert.get("labels") or {}).items()},
        "account": Shown(str(alert.get("account", ""))), "key": Shown(str(alert.get("key", ""))),
        "rule": Shown(str(alert.get("rule", ""))), "severity": Shown(str(alert.get("severity"))),
        "value": Shown(show(_float(alert.get("value")), card.unit, currency)),
        "threshold": Shown(show(_float(alert.get("threshold")), card.unit, currency)),
        "window": Shown(duration(float(window)) if window else "–"),
        "note": Shown(str((alert.get("evidence") or {}).get("note", ""))),
        "expected": Shown(show(expected, card.norm_unit, currency)),
    }  # fmt: skip
    template = card.summary
    if card.unit == "duration":  # `{value:.0f} s` reads `4 h 29 min` once filled for people
        template = _SECONDS.sub(r"\1", template)
    text = _fill(template, values) or str(alert.get("summary", ""))
    where = _main_country(briefing, home_country)
    if where and where not in text:
        text += f", mostly to {where}"
    if _shows_norm(card.summary, alert, expected):
        return text
    if expected is None and card.unit == "money" and briefing is not None:
        expected = briefing.usual  # spend rules have no baseline: the day's own norm
    if expected is not None:
        text += f" — usually {show(expected, card.norm_unit, currency)}"
    return text


def _shows_norm(template: str, alert: Mapping[str, Any], expected: float | None) -> bool:
    """True when the headline already says the norm: `{expected}`, a note naming the usual or
    expected value, or a value that is the norm itself (a flatline's expected calls)."""
    note = str((alert.get("evidence") or {}).get("note", ""))
    noted = _uses(template, "note") and ("usual" in note or "expected" in note)
    return _uses(template, "expected") or noted or expected == _float(alert.get("value"))


def _fill(template: str, values: Mapping[str, object]) -> str:
    if not template:
        return ""
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError, AttributeError):
        return ""


def _uses(template: str, name: str) -> bool:
    try:
        return any(n == name for _, n, _, _ in Formatter().parse(template))
    except ValueError:
        return False


def _main_country(briefing: Briefing | None, home: str) -> str:
    if briefing is None or not briefing.destinations or not briefing.calls:
        return ""
    by_country: dict[str, int] = {}
    for d in briefing.destinations:
        by_country[d.country] = by_country.get(d.country, 0) + d.calls
    code, calls = max(by_country.items(), key=lambda kv: kv[1])
    if not code or code == home or calls * 2 < briefing.calls:
        return ""
    return country(code)


def _float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(str(value))
    except ValueError:
        return None


def cards_of(rules: Iterable[Any]) -> dict[str, RuleCard]:
    """Cards by rule id (for tests and tools that have rules but no rule set)."""
    return {r.id: card_of(r) for r in rules}
