"""Run rules over traffic and keep what a rule author tunes by (`rules try`, `check --sample`).

Firings come from the real detection path: a `Detector` with only the rules under trial (the
rule set's settings and lists, no model) fed by `backtest.replay` in the backtest's batches,
so `rules try RULE FILE` fires exactly what `backtest FILE` fires for that rule (alerts are
per rule and account; no rule changes another's, except that a rule's alert is silenced by
the siblings it is `inhibited_by`, which therefore run with it, unreported). Beside it, a
`Recorder` runs each rule's compiled predicate and kind on its own state to keep what the
firing path throws away:
how many calls each predicate held for, each key's peak reading per local day (the account's
own timezone) among the readings that could be judged (volume within the account's
`min_volume`..`max_volume`), and which accounts had calls on which days.
The engine itself only passes on readings at or above a threshold, hence this second,
observing loop; it mirrors the engine's (allow-list gate, `match`, `watches_all`, group key,
ticks once a minute per account, idle keys swept) but emits nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

from detector.assembly import detector_for
from detector.backtest import BacktestResult, replay
from detector.config import ModelSettings
from detector.domain import CDR, Rejected
from detector.rules.engine import SWEEP_S, TICK_S
from detector.rules.fields import Facts, Locale
from detector.rules.kinds import KindContext, Reading
from detector.rules.loader import RuleSet
from detector.rules.predicate import Test, compile_predicate
from detector.rules.problems import predicate_fields
from detector.rules.runner import Runner
from detector.rules.spec import AnyRule
from detector.windows.clock import Zones


@dataclass(slots=True)
class Tally:
    """What one rule saw of the traffic (besides its alerts)."""

    matched: int = 0
    """Calls that passed the allow-list and `match`."""
    held: Counter[str] = field(default_factory=Counter)
    """Kind predicate (`where`, `first`, `then` …) → matched calls it held for."""
    peaks: dict[tuple[str, str, int], float] = field(default_factory=dict)
    """(account, group key, local day number) → the highest reading that could be judged."""
    top_volume: float = 0.0
    """The highest volume of any reading (judged or not): shows a floor never reached."""


@dataclass(slots=True)
class Trial:
    """The outcome of a trial: the replay's tallies and alerts, and each rule's `Tally`."""

    replay: BacktestResult
    tallies: dict[str, Tally]
    rules: tuple[AnyRule, ...]
    zone: ZoneInfo
    active: set[tuple[str, int]]
    """(account, local day number) of every day an account had calls."""
    both: Counter[tuple[str, str]]
    """(rule, later rule) → calls both matched (allow-list and `match`)."""

    def overlap(self, first: str, second: str) -> float:
        """Share of the calls either rule matched that both matched (Jaccard), 0 to 1."""
        both = self.both[(first, second)] + self.both[(second, first)]
        either = self.tallies[first].matched + self.tallies[second].matched - both
        return both / either if either else 0.0

    def firings(self, rule_id: str) -> list[dict[str, Any]]:
        """The FIRING notifications of one rule, in event-time order."""
        mine = [a for a in self.replay.alerts if a["rule"] == rule_id and a["status"] == "firing"]
        return sorted(mine, key=lambda a: (a["at"], a["account"]))

    def days(self) -> list[date]:
        """Every local day the traffic covers, first to last."""
        first, last = self.replay.first, self.replay.last
        if first is None or last is None:
            return []
        start, end = first.astimezone(self.zone).date(), last.astimezone(self.zone).date()
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def run_trial(
    ruleset: RuleSet, items: Iterable[CDR | Rejected], rule_ids: Iterable[str] | None = None
) -> Trial:
    """Replay `items` through the rules `rule_ids` (all enabled rules when None)."""
    wanted = None if rule_ids is None else set(rule_ids)
    rules = tuple(r for r in ruleset.rules if wanted is None or r.id in wanted)
    subset = replace(ruleset, rules=rules)
    recorder = Recorder(subset)
    running = replace(ruleset, rules=_with_inhibitors(ruleset.rules, rules))
    result = replay(items, detector_for(running, ModelSettings(enabled=False)), watch=recorder)
    zone = ZoneInfo(ruleset.settings.timezone)
    return Trial(result, recorder.tallies, rules, zone, recorder.active, recorder.both)


def _with_inhibitors(pack: tuple[AnyRule, ...], rules: tuple[AnyRule, ...]) -> tuple[AnyRule, ...]:
    """`rules` and every enabled rule of `pack` they are `inhibited_by`, directly or not, in
    the pack's order: what silences their alerts in the pack silences them here."""
    by_id = {r.id: r for r in pack}
    keep = {r.id for r in rules}
    todo = [name for r in rules for name in r.inhibited_by]
    while todo:
        name = todo.pop()
        if name in by_id and name not in keep:
            keep.add(name)
            todo.extend(by_id[name].inhibited_by)
    return tuple(r for r in pack if r.id in keep)


class Recorder:
    """Runs each rule's predicate and kind beside the detector and keeps a `Tally` per rule."""

    def __init__(self, ruleset: RuleSet) -> None:
        settings = ruleset.settings
        context = KindContext(ruleset.lists)
        self.runners = [Runner(rule, context) for rule in ruleset.rules]
        self.tests: dict[str, list[tuple[str, Test]]] = {
            r.id: [(name, compile_predicate(getattr(r, name), ruleset.lists, name))
                   for name in predicate_fields(r.kind) if name != "match"]
            for r in ruleset.rules
        }  # fmt: skip
        self.tallies = {rule.id: Tally() for rule in ruleset.rules}
        self.state: dict[str, dict[tuple[str, str], Any]] = {r.id: {} for r in self.runners}
        self.locale = Locale(settings.home_country)
        self.zones = Zones(settings.timezone, settings.timezones)
        self.zone = ZoneInfo(settings.timezone)
        self.next_tick: dict[str, int] = {}
        self.next_sweep = 0
        self.active: set[tuple[str, int]] = set()
        self.both: Counter[tuple[str, str]] = Counter()

    def batch(self, cdrs: list[CDR], watermark: datetime) -> None:
        """Observe a batch, then let event time reach `watermark` (ticks, sweeps)."""
        for cdr in cdrs:
            facts = Facts(cdr, self.locale, self.zones.of(cdr.account))
            self.active.add((cdr.account, facts.local_hour // 24))
            hits = [runner.id for runner in self.runners if self._observe(runner, facts)]
            if len(hits) > 1:
                self.both.update(combinations(hits, 2))
        self.advance(watermark)

    def _observe(self, runner: Runner, facts: Facts) -> bool:
        """Feed one call to one rule's kind; True when the rule matched it."""
        gate = runner.gate
        if gate is not None and not gate(facts):
            return False
        matched = runner.predicate(facts)
        tally = self.tallies[runner.id]
        if matched:
            tally.matched += 1
            for name, test in self.tests[runner.id]:
                if test(facts):
                    tally.held[name] += 1
        elif not runner.kind.watches_all:
            return False
        key = (facts.account, runner.key(facts))
        keys = self.state[runner.id]
        data = keys.get(key)
        if data is None:
            data = keys[key] = runner.kind.new_key()
        reading = runner.kind.observe(facts, matched, data)
        if reading is not None:
            self._note(runner, key, reading, facts.t if reading.at is None else reading.at)
        return matched

    def _note(self, runner: Runner, key: tuple[str, str], reading: Reading, t: int) -> None:
        tally = self.tallies[runner.id]
        tally.top_volume = max(tally.top_volume, reading.volume)
        limits = runner.limits.get(key[0], runner.default)
        if not (limits.enabled and limits.min_volume <= reading.volume <= limits.max_volume):
            return
        day = self.zones.of(key[0]).local_hour(t) // 24
        slot = (key[0], key[1], day)
        if reading.value > tally.peaks.get(slot, float("-inf")):
            tally.peaks[slot] = reading.value

    def advance(self, watermark: datetime) -> None:
        """Event time reached `watermark`: ticking kinds read, idle keys go."""
        now = int(watermark.timestamp())
        due = {a for a in {k[0] for s in self.state.values() for k in s}
               if now >= self.next_tick.get(a, 0)}  # fmt: skip
        for account in due:
            self.next_tick[account] = now + TICK_S
        for runner in self.runners:
            if runner.kind.ticks:
                self._tick(runner, now, due)
        if now >= self.next_sweep:
            self.next_sweep = now + SWEEP_S
            for runner in self.runners:
                keys = self.state[runner.id]
                if runner.kind.forgets:
                    for key in [k for k, d in keys.items() if runner.kind.expired(d, now)]:
                        del keys[key]

    def _tick(self, runner: Runner, now: int, due: set[str]) -> None:
        for key, data in self.state[runner.id].items():
            if key[0] in due:
                reading = runner.kind.tick(data, now, self.zones.of(key[0]))
                if reading is not None:
                    self._note(runner, key, reading, now if reading.at is None else reading.at)
