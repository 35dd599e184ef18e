"""`cdr-detector rules test DIR`: run each rule's fixtures (``DIR/tests/*.yaml``) and compare.

A fixture file tests one rule with named cases; each case lists CDR rows (any `CDR` field,
plus generators) and the findings it expects::

    rule: robocall-short-answered
    cases:
      - name: a dialer burst fires critical
        start: 2026-01-05T10:00:00Z        # case epoch; row `at` is an offset from it
        cdrs:
          - {at: 0s, count: 500, every: 5s, direction: outbound, talk_s: 2, vary: to}
        advance: 3h                         # optional: let event time pass (flatline)
        expect: {severity: critical}        # or warning / none; optional `at_least: N`,
                                            # `within: 10m` (how soon, see `Expect.within`)

Rows default to an answered outbound domestic call of account ``MA_test``; ``vary: to`` (or
``from``) adds the row index to that number so each generated call dials a new number.

Rules that judge an account against itself need its usual days: ``background: {per_day: 300,
days: 3}`` generates them before `start` (see `detector.rules.background`), and ``scale: [1,
10, 100]`` runs the case for a small, a medium and a big account in the same pattern (the
background's calls a day and every row's ``count`` multiplied, ``every`` divided): each must
give the expected verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from detector.domain import CDR, Direction, Finding, Severity, Status
from detector.errors import RuleError
from detector.rules.background import Background, ordinary_rows
from detector.rules.engine import RuleEngine
from detector.rules.kinds import KindContext
from detector.rules.loader import RuleSet, load_rules, validate_rule
from detector.rules.spec import Duration, RuleSettings, parse_duration
from detector.rules.template import human_duration

DEFAULT_START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
_CDR_FIELDS = set(CDR.__dataclass_fields__)


class Expect(BaseModel):
    """The highest severity the case must produce (``none``: no finding at all)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    severity: Literal["none", "warning", "critical"]
    at_least: int = Field(default=1, ge=1)
    within: Duration | None = None
    """The first finding at `severity` must come at most this long after the case's `start`,
    in event time (the finding's `at`): how soon the rule sees the pattern, e.g. a strong surge
    within ``10m`` from an account's first day. Not with severity ``none``."""

    @model_validator(mode="after")
    def _within_needs_a_finding(self) -> Expect:
        if self.within is not None and self.severity == "none":
            raise ValueError("expect.within needs severity warning or critical (none never fires)")
        return self


class Case(BaseModel):
    """One scenario: CDR rows in, an expectation out."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    start: datetime = DEFAULT_START
    background: Background | None = None
    """Ordinary days of the account before `start` (see `detector.rules.background`)."""
    cdrs: list[dict[str, Any]] = Field(default_factory=list)
    scale: list[float] = Field(default_factory=lambda: [1.0], min_length=1)
    """Run the case once per factor, the account that many times as busy (background calls a
    day and every row's `count` multiplied, `every` divided): the verdict must not change."""
    advance: Duration | None = None
    expect: Expect


class Fixture(BaseModel):
    """A fixture file: the rule under test and its cases."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: str
    cases: list[Case]


@dataclass(frozen=True, slots=True)
class CaseResult:
    """Outcome of one case."""

    rule: str
    case: str
    ok: bool
    detail: str


@dataclass(slots=True)
class RuleTestReport:
    """All case outcomes of a fixture directory."""

    results: list[CaseResult] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every case passed."""
        return bool(self.results) and all(r.ok for r in self.results)

    def render(self) -> str:
        """One line per case plus a summary line."""
        lines = [
            f"{'ok  ' if r.ok else 'FAIL'} {r.rule}: {r.case} ({r.detail})" for r in self.results
        ]
        passed = sum(r.ok for r in self.results)
        lines.append(f"{passed}/{len(self.results)} cases passed")
        if self.untested:
            lines.append(f"rules without fixtures: {', '.join(self.untested)}")
        return "\n".join(lines)


def run_rule_tests(directory: Path) -> RuleTestReport:
    """Load the rules in `directory` and run every fixture in ``directory/tests``."""
    ruleset = load_rules(directory)
    report = RuleTestReport()
    tested: set[str] = set()
    for path in sorted((directory / "tests").glob("*.yaml")):
        fixture = _fixture(path)
        tested.add(fixture.rule)
        rules = tuple(r for r in ruleset.rules if r.id == fixture.rule)
        if not rules:
            raise RuleError(f"{path}: unknown rule {fixture.rule!r}", path=str(path), field="rule")
        engine = RuleEngine(replace(ruleset, rules=rules))
        report.results.extend(_run(engine, fixture.rule, case) for case in fixture.cases)
    report.untested = sorted(r.id for r in ruleset.rules if r.id not in tested)
    return report


def ruleset_of(
    *rules: dict[str, Any],
    lists: dict[str, tuple[str, ...]] | None = None,
    settings: RuleSettings | None = None,
) -> RuleSet:
    """A rule set from rule mappings, validated exactly as rule files are (for tests)."""
    settings = settings or RuleSettings()
    context = KindContext(lists or {})
    specs = tuple(validate_rule(raw, context, Path(f"<{raw.get('id')}>")) for raw in rules)
    return RuleSet(specs, lists or {}, settings, {r.id: f"<{r.id}>" for r in specs})


def run_case(engine: RuleEngine, case: Case, factor: float = 1.0) -> list[Finding]:
    """Feed a case's CDRs (its background, then its rows, in start order; the account
    `factor` times as busy) through one engine, event time following them as the pipeline's
    watermark does (the engine's lateness behind); return every finding."""
    cdrs = sorted(case_cdrs(case, factor), key=lambda c: c.start)
    states: dict[str, Any] = {}
    findings: list[Finding] = []
    lag = timedelta(seconds=engine.lateness_s)
    for cdr in cdrs:
        state = states.setdefault(cdr.account, engine.new_state())
        findings.extend(engine.advance(cdr.account, cdr.start - lag, state))
        findings.extend(engine.observe(cdr, state))
    if case.advance is not None and cdrs:
        last = cdrs[-1].start
        for step in range(0, int(case.advance) + 1, 60):
            for account, state in states.items():
                findings.extend(engine.advance(account, last + timedelta(seconds=step), state))
    return findings


def case_cdrs(case: Case, factor: float = 1.0) -> list[CDR]:
    """A case's CDRs: its background (scaled by `factor`), then its rows (scaled too)."""
    out: list[CDR] = []
    if case.background is not None:
        for row in ordinary_rows(case.background.scaled(factor), case.start, case.name):
            fields = dict(row)
            out.append(make_cdr(fields.pop("start"), fields.pop("call_id"), fields))
    return out + expand(case.cdrs, case.start, factor)


def expand(rows: list[dict[str, Any]], start: datetime, factor: float = 1.0) -> list[CDR]:
    """CDRs from fixture rows (``at`` offset, ``count``/``every`` repetition, ``vary``), the
    repetitions `factor` times as many and as frequent."""
    out: list[CDR] = []
    for n, row in enumerate(rows):
        spec = dict(row)
        at = start + timedelta(seconds=parse_duration(spec.pop("at", 0)))
        count = round(int(spec.pop("count", 1)) * factor)
        every = parse_duration(spec.pop("every", 0)) / factor
        vary = spec.pop("vary", None)
        for i in range(count):
            out.append(make_cdr(at + timedelta(seconds=every * i), f"r{n}-{i}", spec, vary, i))
    return out


def make_cdr(
    start: datetime, call_id: str, fields: dict[str, Any], vary: str | None = None, index: int = 0
) -> CDR:
    """One CDR: an answered outbound domestic call unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "call_id": call_id, "account": "MA_test", "direction": "outbound", "status": "answered",
        "talk_s": 60.0, "ring_s": 5.0, "from_number": "+912240000000",
        "to_number": "+919800000000", "dest_country": "IN", "dest_type": "MOBILE",
    }  # fmt: skip
    values.update({_ALIASES.get(k, k): v for k, v in fields.items()})
    unknown = set(values) - _CDR_FIELDS
    if unknown:
        raise RuleError(f"unknown CDR field(s) in fixture: {sorted(unknown)}", field="cdrs")
    if vary in {"to", "from"}:
        name = f"{vary}_number"
        values[name] = f"{values[name][: -len(str(index))]}{index}" if index else values[name]
    values["direction"] = Direction(values["direction"])
    values["status"] = Status(values["status"])
    values["start"] = start
    answered = values["status"] is Status.ANSWERED
    ring, talk = float(values["ring_s"]), float(values["talk_s"]) if answered else 0.0
    values["talk_s"] = talk
    values["answer"] = start + timedelta(seconds=ring) if answered else None
    values["end"] = start + timedelta(seconds=ring + talk)
    return CDR(**values)


_ALIASES = {"from": "from_number", "to": "to_number"}


def _fixture(path: Path) -> Fixture:
    try:
        return Fixture.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise RuleError(f"{path}: invalid rule test fixture: {exc}", path=str(path)) from exc


def _run(engine: RuleEngine, rule: str, case: Case) -> CaseResult:
    outcomes = [_verdict(engine, case, factor) for factor in case.scale]
    ok = all(good for good, _ in outcomes)
    if len(outcomes) == 1:
        return CaseResult(rule, case.name, ok, outcomes[0][1])
    detail = "; ".join(f"x{f:g}: {d}" for f, (_, d) in zip(case.scale, outcomes, strict=True))
    return CaseResult(rule, case.name, ok, detail)


def _verdict(engine: RuleEngine, case: Case, factor: float) -> tuple[bool, str]:
    """Whether the case, scaled by `factor`, met its expectation, and what it got."""
    try:
        findings = run_case(engine, case, factor)
    except (RuleError, ValueError) as exc:
        return False, f"error: {exc}"
    top = max((f.severity for f in findings), default=None)
    got = top.label if top is not None else "none"
    wanted = case.expect.severity
    ok = got == wanted and (wanted == "none" or len(findings) >= case.expect.at_least)
    level = Severity[wanted.upper()] if wanted != "none" else None
    hits = sum(1 for f in findings if f.severity == level) if level else 0
    detail = f"expected {wanted}, got {got}; {hits} at {wanted}"
    if level is None or case.expect.within is None:
        return ok, detail
    first = min((f.at for f in findings if f.severity >= level), default=None)
    if first is None:
        return False, detail
    after = (first - case.start).total_seconds()
    return ok and after <= case.expect.within, f"{detail}, first after {human_duration(after)} " + (
        f"(within {human_duration(case.expect.within)})"
    )


def _mark(ok: bool) -> str:
    return "ok  " if ok else "FAIL"
