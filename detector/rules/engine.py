"""The rule engine: runs a loaded `RuleSet` over the CDRs of one account at a time.

State is partitioned by account: a `RulesState` holds, for one account, every rule's tracks
per group key (kind data plus emission memory). Per CDR the derived `Facts` are computed once;
each rule's allow-list and precompiled `match` run first, so a rule whose prefilter fails costs
one closure call. Idle keys are evicted by a sweep at most every few minutes of event time,
and keys per rule per account are capped, so state stays bounded. Pure: no clock, no I/O.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from detector.domain import CDR, AlertTiming, Finding
from detector.domain.cdr import Direction
from detector.rules.fields import Facts, Locale
from detector.rules.kinds import KindContext, Reading
from detector.rules.kinds.base import LATENESS_S, Compacting
from detector.rules.predicate import Test
from detector.rules.ruleset import RuleSet
from detector.rules.runner import KeyState, Runner, Subject
from detector.windows.clock import Zones

SWEEP_S = 900
"""Event-time seconds between two evictions of an account's empty keys."""
MAX_KEYS = 2000
"""Most group keys one rule keeps for one account (e.g. distinct `to` numbers)."""
TICK_S = 60
"""Event-time seconds between two `advance` checks of an account (flatline)."""


@dataclass(slots=True)
class RulesState:
    """Per-account state of every rule (tracks per rule id and group key); picklable."""

    by_rule: dict[str, dict[str, KeyState]] = field(default_factory=dict)
    next_sweep: int = 0
    next_tick: int = 0
    dropped: int = 0
    """Keys not tracked because a rule hit `MAX_KEYS` for this account."""


class RuleEngine:
    """Evaluates a loaded rule set against CDRs of one account at a time."""

    def __init__(self, rules: RuleSet, lateness_s: float = LATENESS_S) -> None:
        self.ruleset = rules
        """The validated rules this engine runs (compared by `reload.carry_over`)."""
        self.lateness_s = lateness_s
        """The Detector's allowed lateness (s): how far back windows keep history for late
        CDRs (`KindContext.lateness_s`); build a reloaded engine with the same value."""
        settings = rules.settings
        self.locale = Locale(settings.home_country)
        self.zones = Zones(settings.timezone, settings.timezones)
        """Each account's local clock (`RuleSettings.timezone` and `timezones`)."""
        context = KindContext(rules.lists, lateness_s)
        self.runners = tuple(Runner(spec, context) for spec in rules.rules)
        self.tickers = tuple(r for r in self.runners if r.kind.ticks)
        self.forgetful = tuple(r for r in self.runners if r.kind.forgets)
        """Rules whose keys can expire (the others keep baselines until the account goes)."""
        self.forgetful_by_id = {r.id: r for r in self.forgetful}
        self.compacting_by_id = {
            r.id: (cast(Compacting[Any], r.kind).compact, r.heartbeat)
            for r in self.runners
            if not r.kind.forgets and hasattr(r.kind, "compact")
        }
        """Rules that keep baselines but drop spent windows (and their evidence) on sweeps:
        the kind's `compact` and the rule's heartbeat, bound once (sweeps are frequent)."""
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
        self.index: dict[tuple[str, str, bool], tuple[RulePass, ...]] = {}
        """What `observe` runs per (direction, status, answered), built lazily from `plans`."""
        self.keys: dict[tuple[str, ...], Callable[[Facts], str]] = {}
        """One key function per `group_by` in `index`: rules sharing it (the windows of a
        surge family) share one object, so `observe` computes their key once per CDR."""
        self._watermark: tuple[datetime, int] | None = None

    def new_state(self) -> RulesState:
        """Empty state for a newly seen account."""
        return RulesState()

    def timings(self) -> dict[str, AlertTiming]:
        """Rule id → alert lifecycle durations, for the alert policy."""
        return {r.id: r.timing() for r in self.runners}

    def observe(self, cdr: CDR, state: RulesState) -> list[Finding]:
        """Add one CDR to its account's windows and return findings that are due."""
        facts = Facts(cdr, self.locale, self.zones.of(cdr.account))
        t = facts.t
        if t >= state.next_sweep:
            self.sweep(state, t)
        found: list[Finding] = []
        by_rule = state.by_rule
        account, call_id, to = facts.account, cdr.call_id, facts.to
        signature = (facts.direction, facts.status, facts.answered)
        steps = self.index.get(signature)
        if steps is None:
            steps = self.index[signature] = self._steps(*signature)
        last_of, last_key = None, account  # rules sharing a `group_by` share its key function
        for test, watches_all, gate, runner, rule_id, key_of, observe, floor, volume in steps:
            matched = True if test is None else test(facts)
            if not (matched or watches_all) or (gate is not None and not gate(facts)):
                continue
            if key_of is None:
                key = account
            elif key_of is last_of:
                key = last_key
            else:
                key = last_key = key_of(facts)
                last_of = key_of
            tracks = by_rule.get(rule_id)
            track = None if tracks is None else tracks.get(key)
            if track is None:
                track = self._new_track(state, runner, key)
                if track is None:
                    continue
            reading = observe(facts, matched, track.data)
            if matched:
                track.remember(call_id, to)
            if reading is None or (
                (reading.value < floor or reading.volume < volume) and not track.severity
            ):
                continue  # below every threshold or volume, nothing to reset: `level` is a no-op
            read = reading.at
            severity = runner.level(track, reading, account, t if read is None else read)
            if severity is not None:
                subject = _subject(account, key, t, cdr.start, read)
                found.append(runner.finding(track, reading, severity, subject))
        return found

    def _new_track(self, state: RulesState, runner: Runner, key: str) -> KeyState | None:
        """A new track for `key` of `runner`, or None when the rule hit `MAX_KEYS` here."""
        tracks = state.by_rule.get(runner.id)
        if tracks is None:
            tracks = state.by_rule[runner.id] = {}
        if len(tracks) >= MAX_KEYS:
            state.dropped += 1
            return None
        # one string per key across rules: the state pickles (and sits in memory) once per key
        track = tracks[sys.intern(key)] = KeyState(runner.kind.new_key())
        return track

    def _steps(self, direction: str, status: str, answered: bool) -> tuple[RulePass, ...]:
        """The rules a CDR of this direction, status and answered flag must visit, in order.

        A rule whose prefilter (its `match` entries on those fields) fails is left out, or kept
        with a test that never matches when it watches every CDR; one whose prefilter holds
        keeps only its other entries as the test (None: always matched). Without a `plans`
        entry for the direction, every rule runs its full `match` (the general path).
        """
        base = self.plans.get(direction)
        if base is None:
            return tuple(
                (p, w, g, r, r.id, k, o, r.floor, r.volume_floor) for p, w, g, r, k, o in self.plan
            )
        probe = _Probe(direction, status, answered)
        steps: list[RulePass] = []
        for _predicate, watches_all, gate, runner, key_of, observe in base:
            if runner.prefilter(probe):
                test = runner.rest
            elif watches_all:
                test = never
            else:
                continue
            by_account = runner.group_by == ("account",)
            key = None if by_account else self.keys.setdefault(runner.group_by, key_of)
            floors = runner.floor, runner.volume_floor
            steps.append((test, watches_all, gate, runner, runner.id, key, observe, *floors))
        return tuple(steps)

    def advance(self, account: str, watermark: datetime, state: RulesState) -> list[Finding]:
        """Event time passed to `watermark`: flatline checks, at most once a minute per account."""
        if not self.tickers:
            return []
        last = self._watermark
        if last is not None and last[0] is watermark:
            now = last[1]  # the pipeline advances every account to the same watermark
        else:
            now = int(watermark.timestamp())
            self._watermark = (watermark, now)
        if now < state.next_tick:
            return []
        state.next_tick = now + TICK_S
        found: list[Finding] = []
        at = datetime.fromtimestamp(now, UTC)
        clock = self.zones.of(account)
        for runner in self.tickers:
            for key, track in state.by_rule.get(runner.id, {}).items():
                reading = runner.kind.tick(track.data, now, clock)
                if reading is None:
                    continue
                finding = runner.judge(track, reading, Subject(account, key, now, at))
                if finding is not None:
                    found.append(finding)
        return found

    def sweep(self, state: RulesState, now: int) -> None:
        """Evict keys whose windows are empty and that emitted nothing recently.

        Visits only the rules that hold keys for this account (not every rule of the set).
        """
        state.next_sweep = now + SWEEP_S
        by_rule = state.by_rule
        forgetful = self.forgetful_by_id
        gone: list[str] = []
        for rule_id, tracks in by_rule.items():
            runner = forgetful.get(rule_id)
            if runner is None:
                compacting = self.compacting_by_id.get(rule_id)
                if compacting is not None:
                    self._compact(*compacting, tracks, now)
                elif rule_id not in self.rule_ids:  # a rule removed by a reload
                    gone.append(rule_id)
                continue
            expired, heartbeat = runner.kind.expired, runner.heartbeat
            idle = []
            for key, track in tracks.items():  # a loop, not a comprehension: no extra frame
                if now - track.emitted > heartbeat and expired(track.data, now):
                    idle.append(key)
            for key in idle:
                del tracks[key]
            if not tracks:
                gone.append(rule_id)
        for rule_id in gone:
            del by_rule[rule_id]

    @staticmethod
    def _compact(
        compact: Callable[[Any, int], bool], heartbeat: int, tracks: dict[str, KeyState], now: int
    ) -> None:
        """Keys of a baseline rule keep their baseline; a spent window and its evidence go."""
        for track in tracks.values():
            if now - track.emitted > heartbeat and compact(track.data, now):
                track.evidence.clear()
                track.peers.clear()


RulePass = tuple[
    Test | None,
    bool,
    Callable[[Facts], bool] | None,
    Runner,
    str,
    Callable[[Facts], str] | None,
    Callable[[Facts, bool, Any], Reading | None],
    float,
    float,
]
"""One rule as `observe` runs it: test (None: always), watches_all, gate, runner, rule id,
group key (None: the account), the kind's observe, the lowest threshold (`Runner.floor`) and
the lowest volume floor (`Runner.volume_floor`)."""


class _Probe:
    """Just the indexed fields of a CDR, to evaluate rule prefilters once per combination."""

    __slots__ = ("answered", "direction", "status")

    def __init__(self, direction: str, status: str, answered: bool) -> None:
        self.direction = direction
        self.status = status
        self.answered = answered


def _subject(account: str, key: str, t: int, start: datetime, read: int | None) -> Subject:
    """Whose finding and when: the CDR's start, or the end of the later window a late CDR
    read (`Reading.at`)."""
    if read is None:
        return Subject(account, key, t, start)
    return Subject(account, key, read, datetime.fromtimestamp(read, UTC))


def never(_facts: Facts) -> bool:
    """The test of a rule that watches every CDR but whose prefilter rules this kind out."""
    return False


def _may_see(runner: Runner, direction: str) -> bool:
    """False when `runner` can skip CDRs of `direction`: its `match` requires another one.

    Only rules that observe matching CDRs alone (not `watches_all`) can skip; a top-level
    ``direction: value`` entry of `match` fails for every other direction.
    """
    if runner.kind.watches_all:
        return True
    wanted = runner.spec.match.get("direction") if isinstance(runner.spec.match, dict) else None
    return not isinstance(wanted, str) or str(wanted) == direction
