"""The alert policy: findings in, alert notifications out, on event time only (pure).

Semantics (Alertmanager-like), per fingerprint = ``fingerprint(finding.source, labels)``:

- Rules emit a finding when a key crosses a threshold, again at once when severity rises, and
  otherwise a heartbeat at most every ``max(window/4, 60 s)`` while still above it.
- The first finding opens the fingerprint as *pending*. A finding that arrives once it has been
  pending for ``for_s`` (0 → the first finding itself) fires it: one FIRING alert.
- While firing, heartbeats only refresh ``last_seen`` and the latest evidence: no duplicate
  notification. A severity rise above the last notified severity (warning → critical) sends
  another FIRING alert; ``repeat_s`` (if > 0) re-sends FIRING after that long without one.
  A later drop in severity is not notified; the alert stays at its highest severity.
- ``advance(watermark)`` resolves a fingerprint with no finding for
  ``resolve_after_s + keep_firing_for_s``: one RESOLVED alert stamped ``last_seen`` plus that
  quiet time (not the watermark, so replays in any batch size agree). A pending fingerprint
  that goes quiet is dropped without a notification. A ticking rule (flatline: judged at each
  advance, `AlertTiming.ticks`) resolves only there: when the watermark jumps past the quiet
  time because no CDR arrived (a small feed at night), the next tick that still finds the
  silence continues the same alert instead of resolving and re-firing it.
- Cooldown: a fingerprint that fires again within ``cooldown_s`` of its previous FIRING
  notification is re-opened *silently* and later resolves silently, unless it escalates above
  the severity last notified, which notifies (and ends the silence).
- Inhibition: a rule's alert opens silently, like a cooldown, while an alert of a rule it is
  `inhibited_by` (a shorter-window sibling) on the same labels is firing or notified within
  this rule's window (`resolve_after_s`): the calls that tip a 4-hour window an hour after a
  surge ended are the ones the 20-minute rule already told. It notifies if it escalates above
  what was notified.
- Shadow findings go through the same lifecycle; their alerts carry ``shadow=True`` so they
  are recorded but not notified.

``delivery_id`` is ``f"{fingerprint}:{seq}"`` where ``seq`` is stored in the state and grows
per fingerprint: ``seq = max(previous + 1, int(event-time epoch seconds))``. The time floor
keeps ids unique even after the account's state was evicted or the cooldown memory pruned,
so a receiver (and the outbox's primary key) never mistakes a new notification for an old
one, while a replay of the same findings still yields the same ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from detector.domain import Alert, AlertStatus, AlertTiming, Finding, Severity, fingerprint

DEFAULT_TIMING = AlertTiming()
MEMORY_S = 86400.0
"""The least time a resolved fingerprint's last notification is remembered. Findings may come
hours behind the watermark (a call's CDR arrives when it ends, and a rule on the `start`
clock stamps its finding at the call's start), so a memory dropped one cooldown after the
watermark passed its notification let a long call's late finding re-notify an alert its
first minutes had fired."""


class Phase(StrEnum):
    """Where one fingerprint is in its lifecycle."""

    PENDING = "pending"
    FIRING = "firing"


@dataclass(slots=True)
class Track:
    """The lifecycle record of one open (pending or firing) fingerprint."""

    fingerprint: str
    phase: Phase
    first_seen: datetime
    last_seen: datetime
    latest: Finding
    peak: Severity
    seq: int
    starts_at: datetime | None = None
    notified_severity: Severity | None = None
    last_notified: datetime | None = None
    silent: bool = False


@dataclass(slots=True)
class Memory:
    """What is kept of a resolved fingerprint: its sequence and last FIRING notification."""

    seq: int
    last_fired: datetime | None
    severity: Severity | None


@dataclass(slots=True)
class AlertsState:
    """Per-account lifecycle of each fingerprint; picklable.

    `open` holds pending and firing fingerprints (truthy iff anything is open); `recent`
    remembers resolved ones only as long as their cooldown can still matter.
    """

    open: dict[str, Track] = field(default_factory=dict)
    recent: dict[str, Memory] = field(default_factory=dict)


def next_seq(previous: int, at: datetime) -> int:
    """The next delivery sequence number: strictly increasing, floored by event time.

    >>> from datetime import UTC
    >>> next_seq(0, datetime(2024, 1, 1, tzinfo=UTC))
    1704067200
    >>> next_seq(1704067200, datetime(2024, 1, 1, tzinfo=UTC))
    1704067201
    """
    return max(previous + 1, int(at.timestamp()))


class AlertPolicy:
    """Turns findings into alert transitions: fire, escalate, repeat, resolve; cooldown, dedupe."""

    def __init__(
        self, timings: Mapping[str, AlertTiming], default: AlertTiming = DEFAULT_TIMING
    ) -> None:
        self.timings = dict(timings)
        self.default = default
        every = [*self.timings.values(), default]
        horizons = [MEMORY_S, *(t.cooldown_s for t in every)]
        horizons += [t.resolve_after_s for t in every if t.inhibited_by]
        self.memory = timedelta(seconds=max(horizons))
        """How long a resolved fingerprint's last notification can still silence one (its
        cooldown, or an inhibited rule's window, after the watermark passed it)."""

    def timing(self, source: str) -> AlertTiming:
        """The lifecycle durations of one rule or model (the default when unknown)."""
        return self.timings.get(source, self.default)

    def on_finding(self, finding: Finding, state: AlertsState) -> list[Alert]:
        """A finding arrived for this account; return the notifications it causes (maybe none)."""
        fp = fingerprint(finding.source, dict(finding.labels))
        track = state.open.get(fp)
        closed: list[Alert] = []
        if track is not None and self._lapsed(track, finding):
            # quiet long enough to have resolved: close it exactly as `advance` would have, so
            # the outcome does not depend on whether a watermark passed in between (batching)
            closed = self._close(fp, track, state)
            track = None
        if track is None:
            track = self._open(fp, finding, state)
            state.open[fp] = track
        else:
            track.last_seen = max(track.last_seen, finding.at)
            track.latest = finding
            track.peak = max(track.peak, finding.severity)
        if track.phase is Phase.PENDING:
            return closed + self._maybe_fire(track, finding)
        return closed + self._while_firing(track, finding)

    def _lapsed(self, track: Track, finding: Finding) -> bool:
        """The open alert went quiet long enough before this finding to have resolved. Not for
        a ticking rule: its findings come only at advances, and every advance that found
        nothing already had its chance to resolve it (a sparse watermark is no silence)."""
        if self.timing(track.latest.source).ticks:
            return False
        return finding.at - track.last_seen >= self._quiet(track)

    def _quiet(self, track: Track) -> timedelta:
        timing = self.timing(track.latest.source)
        return timedelta(seconds=timing.resolve_after_s + timing.keep_firing_for_s)

    def _close(self, fp: str, track: Track, state: AlertsState) -> list[Alert]:
        """Forget an open fingerprint; a firing one resolves at its last finding + quiet."""
        del state.open[fp]
        alerts = []
        if track.phase is Phase.FIRING:
            alerts = self._resolve(track, track.last_seen + self._quiet(track))
        state.recent[fp] = Memory(track.seq, track.last_notified, track.notified_severity)
        return alerts

    def advance(self, watermark: datetime, state: AlertsState) -> list[Alert]:
        """Event time passed; resolve fingerprints quiet for long enough, forget old cooldowns."""
        alerts: list[Alert] = []
        for fp in sorted(state.open):
            track = state.open[fp]
            if watermark - track.last_seen >= self._quiet(track):
                alerts.extend(self._close(fp, track, state))
        self._forget(watermark, state)
        return alerts

    def _open(self, fp: str, finding: Finding, state: AlertsState) -> Track:
        memory = state.recent.pop(fp, None)
        track = Track(
            fingerprint=fp,
            phase=Phase.PENDING,
            first_seen=finding.at,
            last_seen=finding.at,
            latest=finding,
            peak=finding.severity,
            seq=memory.seq if memory else 0,
        )
        timing = self.timing(finding.source)
        if (
            memory is not None
            and memory.last_fired is not None
            and (finding.at - memory.last_fired < timedelta(seconds=timing.cooldown_s))
        ):
            _silence(track, memory.last_fired, memory.severity)
        if timing.inhibited_by:
            horizon = finding.at - timedelta(seconds=timing.resolve_after_s)
            for source in timing.inhibited_by:
                told = _told(state, fingerprint(source, dict(finding.labels)))
                if told is not None and told[0] > horizon:
                    _silence(track, *told)
        return track

    def _maybe_fire(self, track: Track, finding: Finding) -> list[Alert]:
        for_s = self.timing(finding.source).for_s
        if finding.at - track.first_seen < timedelta(seconds=for_s):
            return []
        track.phase = Phase.FIRING
        track.starts_at = finding.at
        if track.silent:
            if track.notified_severity is not None and track.peak > track.notified_severity:
                track.silent = False
                return [self._notify(track, AlertStatus.FIRING, finding.at)]
            return []
        return [self._notify(track, AlertStatus.FIRING, finding.at)]

    def _while_firing(self, track: Track, finding: Finding) -> list[Alert]:
        notified = track.notified_severity
        if notified is not None and track.peak > notified:
            track.silent = False
            return [self._notify(track, AlertStatus.FIRING, finding.at)]
        repeat_s = self.timing(finding.source).repeat_s
        if track.silent or repeat_s <= 0 or track.last_notified is None:
            return []
        if finding.at - track.last_notified >= timedelta(seconds=repeat_s):
            return [self._notify(track, AlertStatus.FIRING, finding.at)]
        return []

    def _resolve(self, track: Track, at: datetime) -> list[Alert]:
        if track.silent:
            return []
        return [self._notify(track, AlertStatus.RESOLVED, at)]

    def _notify(self, track: Track, status: AlertStatus, at: datetime) -> Alert:
        track.seq = next_seq(track.seq, at)
        if status is AlertStatus.FIRING:
            track.notified_severity = track.peak
            track.last_notified = at
        f = track.latest
        return Alert(
            fingerprint=track.fingerprint,
            delivery_id=f"{track.fingerprint}:{track.seq}",
            source=f.source,
            account=f.account,
            severity=track.peak if track.notified_severity is None else track.notified_severity,
            status=status,
            at=at,
            starts_at=track.starts_at or at,
            summary=f.summary,
            value=f.value,
            threshold=f.threshold,
            labels=f.labels,
            evidence=f.evidence,
            details=_with_window(f),
            shadow=f.shadow,
        )

    def _forget(self, watermark: datetime, state: AlertsState) -> None:
        """Drop cooldown memories that can no longer silence anything (ids stay unique)."""
        stale = [
            fp
            for fp, memory in state.recent.items()
            if memory.last_fired is None or watermark - memory.last_fired > self.memory
        ]
        for fp in stale:
            del state.recent[fp]


def _told(state: AlertsState, fp: str) -> tuple[datetime, Severity | None] | None:
    """When fingerprint `fp` last notified FIRING, and at what severity: from its open track,
    else from its memory of a resolved one."""
    track = state.open.get(fp)
    if track is not None and track.last_notified is not None:
        return track.last_notified, track.notified_severity
    memory = state.recent.get(fp)
    if memory is not None and memory.last_fired is not None:
        return memory.last_fired, memory.severity
    return None


def _silence(track: Track, notified: datetime, severity: Severity | None) -> None:
    """Open `track` silently: what it would tell was notified at `notified` (at `severity`);
    only a rise above the highest severity so told notifies."""
    track.silent = True
    if track.last_notified is None or notified > track.last_notified:
        track.last_notified = notified
    if severity is not None and (
        track.notified_severity is None or severity > track.notified_severity
    ):
        track.notified_severity = severity


def _with_window(finding: Finding) -> tuple[tuple[str, str], ...]:
    """The finding's details plus its window length (for rendering), unless already there."""
    if any(key == "window_s" for key, _ in finding.details):
        return finding.details
    return (*finding.details, ("window_s", f"{finding.window_s:g}"))
