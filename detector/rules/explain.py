"""Why one rule does or does not look at one CDR (`cdr-detector rules explain`).

For one call: every clause of each predicate of the rule (`match`, and the kind's `where`,
`first`, `then` …) with the rule's condition, the call's value and the verdict, nested
`any`/`not` included; the allow-list; the derived fields the rule reads and how this call
got them; the group key and what the call adds to that key's window; and what the kind reads
from this call alone, against the thresholds in force for the account. The clauses are
compiled and evaluated by the same predicate compiler the engine runs, one clause at a time.
Pure: a rule set and a CDR in, an `Explanation` out; `render` makes the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from detector.domain import CDR
from detector.domain.finding import Severity
from detector.enrich.kpi import SHORT_CALL_S
from detector.rules.domains import closest
from detector.rules.fields import Facts, Locale
from detector.rules.kinds import KindContext, Reading
from detector.rules.predicate import LIST_KEYS, PREFIX_KEYS, compile_predicate
from detector.rules.problems import predicate_fields
from detector.rules.ruleset import RuleSet
from detector.rules.runner import KeyState, Runner
from detector.rules.spec import AnyRule, SumOf
from detector.rules.template import human_duration
from detector.windows.clock import Zones

DERIVED = frozenset(
    {"answered", "dest_country", "dest_type", "international", "premium", "invalid",
     "short_call", "from_invalid", "self_call", "peer", "to_block", "pair", "hour",
     "hour_of_week"}
)  # fmt: skip
"""Fields computed from the CDR rather than read from it (see `detector.rules.fields`)."""


@dataclass(frozen=True, slots=True)
class Clause:
    """One entry of a predicate: its path, the condition, the call's value and the verdict."""

    path: str
    condition: str
    value: str
    holds: bool
    parts: tuple[Clause, ...] = ()


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything `render` prints about one rule and one call."""

    rule: AnyRule
    cdr: CDR
    predicates: tuple[tuple[str, tuple[Clause, ...]], ...]
    allowed_by: str
    """Why the allow-list skips this call ("" when it does not)."""
    matched: bool
    derived: tuple[tuple[str, str, str], ...]
    """(field, value, how it was derived) for each derived field the rule reads."""
    key: str
    adds: str
    alone: Reading | None
    severity: Severity | None
    limits: str


def explain(ruleset: RuleSet, rule_id: str, cdr: CDR) -> Explanation:
    """Explain `rule_id` of `ruleset` for `cdr`; KeyError naming the known ids if unknown."""
    rule = next((r for r in ruleset.rules if r.id == rule_id), None)
    if rule is None:
        raise KeyError(unknown_rule(ruleset, rule_id))
    settings = ruleset.settings
    facts = Facts(
        cdr,
        Locale(settings.home_country),
        Zones(settings.timezone, settings.timezones).of(cdr.account),
    )
    runner = Runner(rule, KindContext(ruleset.lists))
    predicates = tuple(
        (name, clauses(getattr(rule, name), ruleset.lists, name, facts))
        for name in predicate_fields(rule.kind)
    )
    allowed_by = _allowed_by(runner, facts)
    matched = runner.predicate(facts) and not allowed_by
    watches = matched or runner.kind.watches_all
    data = runner.kind.new_key()
    alone = runner.kind.observe(facts, matched, data) if watches and not allowed_by else None
    severity = None
    if alone is not None:
        severity = runner.level(KeyState(data), alone, cdr.account, facts.t)
    return Explanation(
        rule, cdr, predicates, allowed_by, matched, _derived(rule, facts, ruleset),
        runner.key(facts), _adds(rule, runner, facts, matched), alone, severity,
        _limits(runner, cdr.account),
    )  # fmt: skip


def unknown_rule(ruleset: RuleSet, rule_id: str) -> str:
    """What to say when `rule_id` is not an enabled rule of `ruleset`."""
    ids = sorted(r.id for r in ruleset.rules)
    near = closest(rule_id, ids)
    known = f"did you mean {near}?" if near else f"known: {', '.join(ids)}"
    return f"no enabled rule {rule_id!r} ({known})"


def clauses(spec: Mapping[str, Any], lists: Mapping[str, tuple[str, ...]], path: str,
            facts: Facts) -> tuple[Clause, ...]:  # fmt: skip
    """Each entry of a predicate mapping evaluated on `facts`."""
    return tuple(_clause(str(k), v, lists, f"{path}.{k}", facts) for k, v in spec.items())


def _clause(key: str, value: Any, lists: Mapping[str, tuple[str, ...]], path: str,
            facts: Facts) -> Clause:  # fmt: skip
    if key == "any":
        options = tuple(
            Clause(f"{path}[{i}]", "", "", all(c.holds for c in group), group)
            for i, option in enumerate(value)
            for group in [clauses(option, lists, f"{path}[{i}]", facts)]
        )
        return Clause(path, "any of", "", any(o.holds for o in options), options)
    if key == "not":
        inner = clauses(value, lists, path, facts)
        return Clause(path, "not", "", not all(c.holds for c in inner), inner)
    holds = bool(compile_predicate({key: value}, lists, path)(facts))
    return Clause(path, f"{key}: {flow(value)}", _value_of(key, value, lists, facts), holds)


def _value_of(key: str, value: Any, lists: Mapping[str, tuple[str, ...]], facts: Facts) -> str:
    """The call's value for one clause (with the matching list entry for list clauses)."""
    if key in PREFIX_KEYS:
        return str(getattr(facts, PREFIX_KEYS[key]))
    if key in LIST_KEYS:
        number = str(getattr(facts, LIST_KEYS[key]))
        hits = [p for p in lists.get(str(value), ()) if number.startswith(p)]
        return f"{number} (entry {max(hits, key=len)})" if hits else f"{number} (no entry)"
    return flow(getattr(facts, key))


def flow(value: Any) -> str:
    """A value written as in a YAML flow mapping.

    >>> flow({"lt": 6, "in": ["a", "b"]}), flow(True), flow(3.0)
    ('{lt: 6, in: [a, b]}', 'true', '3')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return '""' if value == "" else str(value)


def _allowed_by(runner: Runner, facts: Facts) -> str:
    if facts.account in runner.exempt:
        return f"account {facts.account} is allow-listed"
    to_hits = [p for p in runner.allow_to if facts.to.startswith(p)]
    if to_hits:
        return f"to {facts.to} starts with allow-listed {to_hits[0]}"
    frm = str(getattr(facts, "from"))
    from_hits = [p for p in runner.allow_from if frm.startswith(p)]
    return f"from {frm} starts with allow-listed {from_hits[0]}" if from_hits else ""


def _fields_read(rule: AnyRule) -> set[str]:
    """Every field name the rule's predicates, group key and kind read."""
    names: set[str] = set(rule.group_by)

    def walk(spec: Any) -> None:
        if isinstance(spec, Mapping):
            for key, value in spec.items():
                names.add(PREFIX_KEYS.get(key) or LIST_KEYS.get(key) or str(key))
                walk(value)
        elif isinstance(spec, list):
            for item in spec:
                walk(item)

    for name in predicate_fields(rule.kind):
        walk(getattr(rule, name))
    for attr in ("field", "join", "value"):
        read = getattr(rule, attr, None)
        if isinstance(read, str):
            names.add(read)
    return names


def _derived(rule: AnyRule, facts: Facts, ruleset: RuleSet) -> tuple[tuple[str, str, str], ...]:
    read = sorted(_fields_read(rule) & DERIVED)
    return tuple((name, flow(getattr(facts, name)), _how(name, facts, ruleset)) for name in read)


def _how(name: str, facts: Facts, ruleset: RuleSet) -> str:
    """How the call got derived field `name`, in a few words."""
    settings = ruleset.settings
    to, frm = facts.to, str(getattr(facts, "from"))
    if name in {"hour", "hour_of_week"}:
        zone = settings.timezones.get(facts.account, settings.timezone)
        when = f"{facts.cdr.start.astimezone(UTC):%Y-%m-%d %H:%M} UTC in {zone}"
        return when if name == "hour" else f"{when}; 0 is Monday 00:00"
    if name == "international":
        country = facts.dest_country or "(unknown)"
        return f"dest_country {country} vs home_country {settings.home_country}"
    if name == "short_call":
        return f"talk_s {facts.talk_s:g} {'<' if facts.short_call else '>='} {SHORT_CALL_S:g}"
    if name == "peer":
        return "the caller (inbound call)" if facts.direction == "inbound" else "the callee"
    return {
        "answered": f"status is {facts.status}",
        "dest_country": f"the country of {to}",
        "dest_type": f"the number type of {to}",
        "premium": f"dest_type is {facts.dest_type or '(unknown)'}",
        "invalid": f"dest_type is {facts.dest_type or '(unknown)'}",
        "from_invalid": f"{frm} is {'not ' if facts.from_invalid else ''}an E.164 number",
        "self_call": f"from {frm} {'=' if facts.self_call else '≠'} to {to}",
        "to_block": f"{to} without its last 2 digits",
        "pair": "caller>callee",
    }[name]


def _adds(rule: AnyRule, runner: Runner, facts: Facts, matched: bool) -> str:
    """What this call contributes to its key's window, from the rule's kind-specific keys."""
    if matched:
        return _contribution(rule, facts)
    if runner.kind.watches_all:
        return "counts only in the key's volume (min_volume counts every call of the key)"
    return "adds nothing"


def _contribution(rule: AnyRule, facts: Facts) -> str:
    aggregate, where = getattr(rule, "aggregate", None), getattr(rule, "where", None)
    field, value = getattr(rule, "field", None), getattr(rule, "value", None)
    first, then = getattr(rule, "first", None), getattr(rule, "then", None)
    if isinstance(aggregate, SumOf):
        return f"adds {getattr(facts, aggregate.sum):g} to the sum of {aggregate.sum}"
    if isinstance(where, dict):
        part = compile_predicate(where, {}, "where")(facts)
        return f"adds 1 to the calls judged and {int(part)} to those where `where` holds"
    if isinstance(field, str):
        return f"adds {field} {flow(getattr(facts, field))} to the values seen"
    if isinstance(value, str):
        return f"is judged alone: its {value} {getattr(facts, value):g} against the thresholds"
    if isinstance(first, dict) and isinstance(then, dict):
        join = str(getattr(rule, "join", "peer"))
        on = f"{join} {flow(getattr(facts, join))}"
        within = human_duration(float(getattr(rule, "within", 0.0)))
        steps = [
            f"opens a sequence on {on}" if compile_predicate(first, {}, "first")(facts) else "",
            f"completes one if a `first` call had {on} within {within}"
            if compile_predicate(then, {}, "then")(facts)
            else "",
        ]
        return " and ".join(filter(None, steps)) or "adds nothing (neither first nor then holds)"
    return "adds 1 to the count"


def _limits(runner: Runner, account: str) -> str:
    limits = runner.limits.get(account, runner.default)
    levels = (("warning", limits.warning), ("critical", limits.critical))
    parts = [f"{name} {level:g}" for name, level in levels if level is not None]
    parts.append(f"min_volume {limits.min_volume:g}")
    if limits.max_volume != float("inf"):
        parts.append(f"max_volume {limits.max_volume:g}")
    if not limits.enabled:
        parts.append("disabled for this account")
    where = "override for" if account in runner.limits else "default, for"
    return f"{', '.join(parts)} ({where} {account})"


def render(e: Explanation) -> str:
    """The explanation as text, one clause per line."""
    rule, cdr = e.rule, e.cdr
    out = [f"rule {rule.id} ({rule.kind}, window {human_duration(rule.window)}, "
           f"mode {rule.mode}): call {cdr.call_id} of {cdr.account} "
           f"at {cdr.start.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"]  # fmt: skip
    rows: list[tuple[str, str, bool]] = []
    for name, group in e.predicates:
        out_rows = list(_rows(group, 1))
        rows += [(f"{name}:" if out_rows else f"{name}: (empty, every call)", "", True), *out_rows]
    width = max(len(r[0]) for r in rows) + 2
    out += [f"  {text:<{width}}{value}".rstrip() for text, value, _ in rows]
    out.append(f"  allow-list: {e.allowed_by or 'this call is not allow-listed'}")
    verdict = "looks at this call" if e.matched else "does not look at this call"
    out.append(f"=> the rule {verdict}.")
    if e.derived:
        out.append("derived fields:")
        out += [f"  {name} = {value}  ({how})" for name, value, how in e.derived]
    window = human_duration(rule.window)
    out.append(
        f"window: key {e.key} ({', '.join(rule.group_by)}) over {window}; this call {e.adds}"
    )
    out.append(f"thresholds: {e.limits}")
    out.append(f"this call alone: {_alone(e)}")
    return "\n".join(out)


def _rows(group: tuple[Clause, ...], depth: int) -> list[tuple[str, str, bool]]:
    rows = []
    for clause in group:
        mark = "✓" if clause.holds else "✗"
        label = clause.condition or clause.path.rsplit(".", 1)[-1]
        rows.append((f"{'  ' * depth}{mark} {label}", clause.value, clause.holds))
        rows += _rows(clause.parts, depth + 1)
    return rows


def _alone(e: Explanation) -> str:
    if e.alone is None:
        if not e.matched:
            return "no reading (the rule does not look at it)"
        return "no reading (this kind judges a call with others: a baseline, warmup or sequence)"
    reading = f"value {e.alone.value:.4g}, volume {e.alone.volume:g}"
    if e.severity is not None:
        return f"{reading}: {e.severity.label}"
    return f"{reading}: below the thresholds or min_volume (other calls in the window add up)"
