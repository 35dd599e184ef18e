"""The rule engine: runs a loaded `RuleSet` over the CDRs of one account at a time.

State is partitioned by account: a `RulesState` holds, for one account, every rule's tracks
per group key (kind data plus emission memory). Per CDR the derived `Facts` are computed once;
each rule's allow-list and precompiled `match` run first, so a rule whose prefilter fails costs
one closure call. Idle keys are evicted by a sweep at most every few minutes of event time,
and keys per rule per account are capped, so state stays bounded. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from detector.domain import CDR, AlertTiming, Finding
from detector.domain.cdr import Direction
from detector.rules.fields import Clock, Facts, Locale
from detector.rules.kinds import KindContext
from detector.rules.loader import RuleSet
from detector.rules.runner import Runner, Subject, Track

SWEEP_S = 900
"""Event-time seconds between two evictions of an account's empty keys."""
MAX_KEYS = 2000
"""Most group keys one rule keeps for one account (e.g. distinct `to` numbers)."""
TICK_S = 60
"""Event-time seconds between two `advance` checks of an account (flatline)."""


@dataclass(slots=True)
class RulesState:
    """Per-account state of every rule (tracks per rule id and group key); picklable."""

    by_rule: dict[str, dict[str, Track]] = field(default_factory=dict)
    next_sweep: int = 0
    next_tick: int = 0
    dropped: int = 0
    """Keys not tracked because a rule hit `MAX_KEYS` for this account."""


class RuleEngine:
    """Evaluates a loaded rule set against CDRs of one account at a time."""

    def __init__(self, rules: RuleSet) -> None:
        self.ruleset = rules
        """The validated rules this engine runs (compared by `reload.carry_over`)."""
        settings = rules.settings
        self.locale = Locale(settings.home_country, settings.timezone)
        self.clock = Clock(settings.timezone)
        context = KindContext(rules.lists, self.clock)
        self.runners = tuple(Runner(spec, context) for spec in rules.rules)
        self.tickers = tuple(r for r in self.runners if r.kind.ticks)
        self.rule_ids = frozenset(r.id for r in self.runners)
        self.plan = tuple(
            (r.predicate, r.kind.watches_all, r.gate, r, r.key, r.kind.observe)
            for r in self.runners
        )
        """Per rule, what the hot loop calls, bound once."""
        self.plans = {
            d.value: tuple(p for p in self.plan if _may_see(p[3], d.value)) for d in Direction
        }
        """`plan` per CDR direction, without rules whose `match` needs the other direction."""

    def new_state(self) -> RulesState:
        """Empty state for a newly seen account."""
        return RulesState()

    def timings(self) -> dict[str, AlertTiming]:
        """Rule id → alert lifecycle durations, for the alert policy."""
        return {r.id: r.timing() for r in self.runners}

    def observe(self, cdr: CDR, state: RulesState) -> list[Finding]:
        """Add one CDR to its account's windows and return findings that are due."""
        facts = Facts(cdr, self.locale, self.clock)
        if facts.t >= state.next_sweep:
            self.sweep(state, facts.t)
        found: list[Finding] = []
        by_rule = state.by_rule
        plan = self.plans.get(facts.direction, self.plan)
        for predicate, watches_all, gate, runner, key_of, observe in plan:
            matched = predicate(facts)
            if not (matched or watches_all) or (gate is not None and not gate(facts)):
                continue
            tracks = by_rule.get(runner.id)
            if tracks is None:
                tracks = by_rule[runner.id] = {}
            key = key_of(facts)
            track = tracks.get(key)
            if track is None:
                if len(tracks) >= MAX_KEYS:
                    state.dropped += 1
                    continue
                track = tracks[key] = Track(runner.kind.new_key())
            reading = observe(facts, matched, track.data)
            if matched:
                track.evidence.append(facts.cdr.call_id)
                track.peers.append(facts.to)
            if reading is not None:
                severity = runner.level(track, reading, facts.account, facts.t)
                if severity is not None:
                    subject = Subject(facts.account, key, facts.t, facts.cdr.start)
                    found.append(runner.finding(track, reading, severity, subject))
        return found

    def advance(self, account: str, watermark: datetime, state: RulesState) -> list[Finding]:
        """Event time passed to `watermark`: flatline checks, at most once a minute per account."""
        if not self.tickers:
            return []
        now = int(watermark.timestamp())
        if now < state.next_tick:
            return []
        state.next_tick = now + TICK_S
        found: list[Finding] = []
        at = datetime.fromtimestamp(now, UTC)
        for runner in self.tickers:
            for key, track in state.by_rule.get(runner.id, {}).items():
                reading = runner.kind.tick(track.data, now)
                if reading is None:
                    continue
                finding = runner.judge(track, reading, Subject(account, key, now, at))
                if finding is not None:
                    found.append(finding)
        return found

    def sweep(self, state: RulesState, now: int) -> None:
        """Evict keys whose windows are empty and that emitted nothing recently."""
        state.next_sweep = now + SWEEP_S
        for runner in self.runners:
            tracks = state.by_rule.get(runner.id)
            if tracks is None:
                continue
            idle = [
                key
                for key, track in tracks.items()
                if now - track.emitted > runner.heartbeat and runner.kind.expired(track.data, now)
            ]
            for key in idle:
                del tracks[key]
            if not tracks:
                del state.by_rule[runner.id]
        for rule_id in [r for r in state.by_rule if r not in self.rule_ids]:
            del state.by_rule[rule_id]


def _may_see(runner: Runner, direction: str) -> bool:
    """False when `runner` can skip CDRs of `direction`: its `match` requires another one.

    Only rules that observe matching CDRs alone (not `watches_all`) can skip; a top-level
    ``direction: value`` entry of `match` fails for every other direction.
    """
    if runner.kind.watches_all:
        return True
    wanted = runner.spec.match.get("direction") if isinstance(runner.spec.match, dict) else None
    return not isinstance(wanted, str) or str(wanted) == direction
