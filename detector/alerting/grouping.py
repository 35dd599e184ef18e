"""Grouping: many alert transitions in, few messages out, on Alertmanager's timings (pure).

A group holds the latest transition of each alert (by fingerprint) routed to one receiver with
the same group labels (by default the account). `admit` adds a transition; `flush(now)` decides
whether a message goes out, with `now` injected (wall time):

- a new group waits `group_wait` to gather its first alerts, then sends them in one message;
- after a message, changes (a new alert, an escalation, a resolution) wait until
  `group_interval` has passed since that message, then go out together;
- a group whose firing alerts did not change is sent again every `repeat_interval`
  (doubling each time when `exponential`; a change resets it); 0 never repeats;
- a silenced alert is left out of every message and recorded once per transition as silenced;
  an alert that resolves while silenced and was never notified disappears quietly, one whose
  firing was notified keeps its resolution until the silence ends, so the receiver always
  learns that what it was told about is over;
- a resolution is sent once, only for an alert whose firing this group notified; a group with
  nothing left is deleted.

So a storm of findings for N accounts costs about N messages per `group_interval`, never one
per finding. `next_flush` is when `flush` has something to decide; the notification stage
calls it then (and the state stores the group as JSON between calls).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from detector.alerting.routing import GroupTiming

AlertJson = dict[str, Any]
Muted = Callable[[Mapping[str, Any]], str | None]
"""The id of the silence muting an alert now, or None."""
RECHECK_S = 60.0
"""How often a group holding silenced alerts looks again (at least its group interval)."""


@dataclass(slots=True)
class Entry:
    """The latest transition of one alert in a group."""

    alert: AlertJson
    notified: bool = False
    """A FIRING of this alert went out in one of this group's messages."""
    muted: bool = False
    recorded: str = ""
    """The delivery id last recorded as silenced (each transition is recorded once)."""


@dataclass(slots=True)
class Group:
    """One aggregation group of one receiver."""

    key: str
    receiver: str
    labels: dict[str, str]
    timing: GroupTiming
    created_at: float
    entries: dict[str, Entry] = field(default_factory=dict)
    next_flush: float | None = None
    last_sent_at: float | None = None
    sent_digest: str = ""
    repeats: int = 0
    seq: int = 0

    def to_json(self) -> dict[str, Any]:
        """What the state stores."""
        body = asdict(self)
        body["timing"] = asdict(self.timing)
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Group:
        """Inverse of `to_json`."""
        data = dict(body)
        data["timing"] = GroupTiming(**data["timing"])
        data["entries"] = {fp: Entry(**e) for fp, e in data["entries"].items()}
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Message:
    """One notification about a group: its firing alerts, then its resolutions."""

    delivery_id: str
    group_key: str
    receiver: str
    group_labels: dict[str, str]
    alerts: list[AlertJson]


@dataclass(slots=True)
class Flush:
    """What one `flush` decided: the group afterwards (None: delete it), maybe a message, and
    the (delivery id, silence id) of transitions newly recorded as silenced."""

    group: Group | None
    message: Message | None = None
    silenced: list[tuple[str, str]] = field(default_factory=list)


def admit(
    group: Group | None,
    alert: AlertJson,
    now: float,
    *,
    key: str,
    receiver: str,
    labels: dict[str, str],
    timing: GroupTiming,
    notified: bool = False,
) -> Group:
    """`group` (new when None) with `alert` as its fingerprint's latest transition.

    `notified` carries over that the receiver was told this alert fires in another group (an
    escalation that moved it: grouping by severity), so its resolution is told here.
    """
    if group is None:
        group = Group(key, receiver, labels, timing, created_at=now)
    fingerprint = str(alert["fingerprint"])
    entry = group.entries.get(fingerprint)
    if entry is None:
        group.entries[fingerprint] = Entry(alert, notified=notified)
    else:
        entry.alert = alert
        entry.notified = entry.notified or notified
    earliest = _earliest(group)
    due = max(now, earliest)
    group.next_flush = due if group.next_flush is None else min(group.next_flush, due)
    return group


def evict(group: Group, fingerprint: str) -> Entry | None:
    """Take an alert out of a group it no longer belongs to (its severity moved it); the
    group says nothing about it any more (the group it moved to does)."""
    return group.entries.pop(fingerprint, None)


def _earliest(group: Group) -> float:
    """The first moment a change may be sent: group wait, then group interval after a message."""
    if group.last_sent_at is None:
        return group.created_at + group.timing.group_wait_s
    return group.last_sent_at + group.timing.group_interval_s


def flush(group: Group, now: float, muted: Muted) -> Flush:
    """Decide what `group` sends at `now` (call it once `group.next_flush <= now`)."""
    result = Flush(group)
    firing, resolved = _visible(group, muted, result)
    digest = _digest(firing)
    changed = digest != group.sent_digest or bool(resolved)
    repeat_due = (
        bool(firing)
        and group.last_sent_at is not None
        and group.timing.repeat_interval_s > 0
        and now >= group.last_sent_at + _repeat(group)
    )
    if (changed and (firing or resolved)) or repeat_due:
        result.message = _send(group, now, firing, resolved, changed, digest)
    group.next_flush = _next(group, now, firing)
    result.group = group if group.entries else None
    return result


def _visible(group: Group, muted: Muted, result: Flush) -> tuple[list[Entry], list[Entry]]:
    """Firing and notified-resolved entries not silenced; drop what can never be sent."""
    firing, resolved = [], []
    for fingerprint, entry in list(group.entries.items()):
        alert = entry.alert
        silence = muted(alert)
        is_firing = alert.get("status") == "firing"
        entry.muted = silence is not None
        if silence is not None:
            if entry.recorded != alert["delivery_id"]:
                entry.recorded = str(alert["delivery_id"])
                result.silenced.append((entry.recorded, silence))
            if not is_firing and not entry.notified:
                del group.entries[fingerprint]
            continue
        if is_firing:
            firing.append(entry)
        elif entry.notified:
            resolved.append(entry)
        else:
            del group.entries[fingerprint]  # resolved before anyone was told it fired
    return firing, resolved


def _send(
    group: Group,
    now: float,
    firing: list[Entry],
    resolved: list[Entry],
    changed: bool,
    digest: str,
) -> Message:
    group.seq += 1
    for entry in firing:
        entry.notified = True
    for entry in resolved:
        del group.entries[str(entry.alert["fingerprint"])]
    group.repeats = 0 if changed else group.repeats + 1
    group.sent_digest, group.last_sent_at = digest, now
    return Message(
        # a group deleted (all resolved) and made again under its key starts its seq anew:
        # its creation time keeps the new notices' ids apart from the old ones', or the
        # outbox would take a new notice for one already sent and drop it
        delivery_id=f"{group.key}.{int(group.created_at * 1000)}:{group.seq}",
        group_key=group.key,
        receiver=group.receiver,
        group_labels=dict(group.labels),
        alerts=[e.alert for e in firing] + [e.alert for e in resolved],
    )


def _next(group: Group, now: float, firing: list[Entry]) -> float | None:
    """When the group next has something to decide: a repeat, or a look at its silences."""
    candidates = []
    timing = group.timing
    if firing and timing.repeat_interval_s > 0 and group.last_sent_at is not None:
        candidates.append(group.last_sent_at + _repeat(group))
    if any(e.muted for e in group.entries.values()):
        candidates.append(now + max(timing.group_interval_s, RECHECK_S))
    return min(candidates) if candidates else None


def _repeat(group: Group) -> float:
    """The repeat delay, never shorter than the group interval."""
    return max(group.timing.repeat_after(group.repeats), group.timing.group_interval_s)


def _digest(firing: list[Entry]) -> str:
    """Identity of the set of firing transitions (fingerprint and delivery id)."""
    parts = sorted(f"{e.alert['fingerprint']}:{e.alert['delivery_id']}" for e in firing)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16] if parts else ""
