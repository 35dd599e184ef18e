"""One compiled rule: its gate, predicate, group key, kind and the emission contract.

Emission contract (the alert policy relies on it), per group key: while the value is at or
above a threshold (and the volume at or above `min_volume`), emit a finding at once when the
severity rises, otherwise at most once per ``max(window/4, 60 s)`` of event time; emit
nothing while below (which also resets the severity, so the next crossing emits at once).
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from detector.domain import AlertTiming, Finding, Severity
from detector.rules.fields import Facts
from detector.rules.kinds import KINDS, Kind, KindContext, Reading
from detector.rules.kinds.base import Floors
from detector.rules.predicate import Test, compile_predicate
from detector.rules.spec import AnyRule
from detector.rules.template import human_duration, render
from detector.windows.buckets import NEVER

INDEXED = ("direction", "status", "answered")
"""CDR fields the engine indexes rules by: top-level `match` entries on them are prefilters."""
EVIDENCE = 3
"""Call ids kept per key as evidence."""
PEERS = 8
"""Recent destinations kept per key for `top_destinations`."""


@dataclass(slots=True)
class KeyState:
    """Engine-side state of one group key of one rule: kind data plus emission memory."""

    data: Any
    severity: int = 0
    emitted: int = NEVER
    evidence: list[str] = field(default_factory=list)
    """The last `EVIDENCE` matching call ids (see `remember`)."""
    peers: list[str] = field(default_factory=list)
    """The last `PEERS` matching destinations."""

    def remember(self, call_id: str, to: str) -> None:
        """Keep a matching CDR's call id and destination, dropping the oldest beyond the caps.

        Short lists, not bounded deques: a deque costs over 600 bytes even when nearly empty,
        and a track exists per rule and group key, so deques were most of an account's state.
        """
        evidence, peers = self.evidence, self.peers
        evidence.append(call_id)
        if len(evidence) > EVIDENCE:
            del evidence[0]
        peers.append(to)
        if len(peers) > PEERS:
            del peers[0]

    def __getstate__(self) -> tuple[Any, ...]:
        """Pickle as a short tuple, without what is still at its default (most swept keys)."""
        if self.severity == 0 and self.emitted == NEVER and not self.evidence and not self.peers:
            return (self.data,)
        return (self.data, self.severity, self.emitted, self.evidence, self.peers)

    def __setstate__(self, state: Any) -> None:
        """Restore either form, and the `(None, slots)` form pickled before the tuple."""
        if len(state) == 2 and isinstance(state[1], dict):
            state = tuple(state[1][n] for n in ("data", "severity", "emitted", "evidence", "peers"))
        if len(state) == 1:
            state = (state[0], 0, NEVER, [], [])
        self.data, self.severity, self.emitted, self.evidence, self.peers = state


def __getattr__(name: str) -> Any:
    """State files written before `KeyState` had its name call it `Track` (the alert
    policy's lifecycle record has that name): unpickle it as `KeyState`."""
    if name == "Track":
        return KeyState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose reading it is and when: account, group key, event time (epoch s and datetime)."""

    account: str
    key: str
    t: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Limits:
    """Thresholds and volume floor in force for one account."""

    warning: float | None
    critical: float | None
    min_volume: float
    enabled: bool = True
    max_volume: float = float("inf")


class Runner:
    """A rule ready to run: everything per-CDR is precompiled into closures."""

    def __init__(self, spec: AnyRule, context: KindContext) -> None:
        self.spec = spec
        self.id = spec.id
        self.kind: Kind[Any] = KINDS[spec.kind](spec, context)
        self.predicate = compile_predicate(spec.match, context.lists, "match")
        head = {k: v for k, v in spec.match.items() if k in INDEXED}
        rest = {k: v for k, v in spec.match.items() if k not in INDEXED}
        self.prefilter: Test = compile_predicate(head, context.lists, "match")
        """The `match` entries on `INDEXED` fields alone (decided once per field combination)."""
        self.rest: Test | None = compile_predicate(rest, context.lists, "match") if rest else None
        """The other `match` entries, or None when there are none (then the prefilter decides)."""
        self.group_by = spec.group_by
        self.key: Callable[[Facts], str] = _key_of(spec.group_by)
        self.heartbeat = int(max(spec.window / 4, 60.0))
        cap = float("inf") if spec.max_volume is None else float(spec.max_volume)
        t = spec.thresholds
        self.default = Limits(t.warning, t.critical, spec.min_volume, max_volume=cap)
        self.limits = {acct: self._limits(o) for acct, o in spec.overrides.items()}
        self.exempt = frozenset(spec.allow.accounts)
        """Accounts the rule does not judge (`allow.accounts`)."""
        self.allow_to = spec.allow.to_prefixes
        self.allow_from = spec.allow.from_prefixes
        self.static_labels = tuple(spec.labels.items())
        floors = Floors.of(spec)
        self.floor = floors.level
        """The lowest threshold of any account: a reading below it cannot emit."""
        self.volume_floor = floors.volume
        """The lowest `min_volume` of any account: a reading with less volume cannot emit."""

    def _limits(self, override: Any) -> Limits:
        base = self.default
        t = override.thresholds
        warning, critical = (t.warning, t.critical) if t else (base.warning, base.critical)
        volume = base.min_volume if override.min_volume is None else override.min_volume
        return Limits(warning, critical, volume, override.enabled, base.max_volume)

    @property
    def gate(self) -> Callable[[Facts], bool] | None:
        """`applies`, or None when the rule has no allow-list (nothing to check)."""
        if self.exempt or self.allow_to or self.allow_from:
            return self.applies
        return None

    def applies(self, facts: Facts) -> bool:
        """False when the account or the numbers are allow-listed for this rule."""
        if facts.account in self.exempt:
            return False
        if self.allow_to and facts.to.startswith(self.allow_to):
            return False
        return not (self.allow_from and getattr(facts, "from").startswith(self.allow_from))

    def timing(self) -> AlertTiming:
        """Alert lifecycle durations of this rule for the alert policy."""
        s = self.spec
        resolve = max(s.window, float(self.heartbeat))
        ticks = self.kind.ticks
        return AlertTiming(
            s.for_, s.keep_firing_for, resolve, s.cooldown, s.repeat, ticks, s.inhibited_by
        )

    def judge(self, track: KeyState, reading: Reading, subject: Subject) -> Finding | None:
        """Apply the emission contract to a reading; a finding when one is due."""
        severity = self.level(track, reading, subject.account, subject.t)
        if severity is None:
            return None
        return self.finding(track, reading, severity, subject)

    def level(self, track: KeyState, reading: Reading, account: str, t: int) -> Severity | None:
        """The severity to emit now under the emission contract, or None (updates `track`)."""
        limits = self.limits.get(account, self.default) if self.limits else self.default
        severity = _severity(reading, limits)
        if severity == 0:
            track.severity = 0
            return None
        rising = severity > track.severity
        track.severity = severity
        if not rising and t - track.emitted < self.heartbeat:
            return None
        track.emitted = max(t, track.emitted)
        return Severity(severity)

    def finding(
        self, track: KeyState, reading: Reading, severity: Severity, subject: Subject
    ) -> Finding:
        """The finding for a reading at `severity` (labels, summary, evidence)."""
        account, key = subject.account, subject.key
        limits = self.limits.get(account, self.default)
        level = (limits.critical if severity == Severity.CRITICAL else limits.warning) or 0.0
        groups: dict[str, str] = dict(zip(self.group_by, key.split("|"), strict=False))
        groups["account"] = account
        labels = tuple(sorted({**dict(self.static_labels), **groups}.items()))
        values: dict[str, object] = {
            **groups, "key": key, "rule": self.id, "value": reading.value, "threshold": level,
            "severity": severity.label, "window": human_duration(self.spec.window),
            "note": reading.note, "expected": reading.expected,
        }  # fmt: skip
        details = [("top_destinations", _top(track.peers))] if track.peers else []
        if reading.note:
            details.append(("note", reading.note))
        if reading.expected is not None:
            details.append(("expected", f"{reading.expected:.6g}"))
        return Finding(
            source=self.id, account=account, key=key, severity=severity, value=reading.value,
            threshold=level, window_s=self.spec.window, at=subject.at,
            summary=render(self.spec.summary, values), evidence=tuple(track.evidence),
            labels=labels, details=tuple(details), shadow=self.spec.mode == "shadow",
        )  # fmt: skip


def _severity(reading: Reading, limits: Limits) -> int:
    if not limits.enabled or not limits.min_volume <= reading.volume <= limits.max_volume:
        return 0
    if limits.critical is not None and reading.value >= limits.critical:
        return Severity.CRITICAL
    if limits.warning is not None and reading.value >= limits.warning:
        return Severity.WARNING
    return 0


def _top(peers: list[str]) -> str:
    return ", ".join(f"{n}×{c}" for n, c in Counter(peers).most_common(3))


def _key_of(group_by: tuple[str, ...]) -> Callable[[Facts], str]:
    if len(group_by) == 1:
        return operator.attrgetter(group_by[0])  # every group field is text
    if len(group_by) == 2:  # e.g. (account, direction): no generator per CDR
        first, second = (operator.attrgetter(g) for g in group_by)
        return lambda f: f"{first(f)!s}|{second(f)!s}"
    getters = [operator.attrgetter(g) for g in group_by]
    return lambda f: "|".join(str(g(f)) for g in getters)
