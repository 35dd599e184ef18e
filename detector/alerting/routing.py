"""The route tree: which receivers get an alert, grouped by what, on which timings (pure).

Alertmanager's semantics: the root matches every alert; an alert descends into the first child
route whose matchers all hold, and keeps looking at the next siblings only when that child
has `continue: true`; the deepest matching routes are the alert's destinations, or the node
itself when no child matched. A child inherits the receiver, `group_by` and timings it does
not set. `group_by: ["..."]` groups by every label (one group per alert).

>>> root = build(RouteSettings(receiver="noc", group_by=["account"], routes=[
...     RouteSettings(matchers=['severity="critical"'], receiver="pager", **{"continue": True}),
...     RouteSettings(matchers=['team="fraud"'], receiver="fraud")]))
>>> [leaf.receiver for leaf in root.match({"severity": "critical", "team": "fraud"})]
['pager', 'fraud']
>>> [leaf.receiver for leaf in root.match({"severity": "warning", "team": "noc"})]
['noc']
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

from detector.alerting.settings import RouteSettings
from detector.alerting.silences import Matcher

ALL_LABELS = "..."


@dataclass(frozen=True, slots=True)
class GroupTiming:
    """Alertmanager's three waits, plus optional doubling of the repeat.

    group_wait_s: how long a new group gathers alerts before its first message.
    group_interval_s: the least time between two messages about a group's changes.
    repeat_interval_s: an unchanged group that still fires is sent again after this (0: never).
    exponential: the repeat doubles after each unchanged repeat (4h, 8h, 16h …), up to
        `max_repeat_s`; any change resets it.
    """

    group_wait_s: float = 30.0
    group_interval_s: float = 300.0
    repeat_interval_s: float = 4 * 3600.0
    exponential: bool = False
    max_repeat_s: float = 7 * 86400.0

    def repeat_after(self, repeats: int) -> float:
        """Seconds before the next repeat after `repeats` unchanged repeats.

        >>> GroupTiming(exponential=True).repeat_after(2) / 3600
        16.0
        """
        if not self.exponential:
            return self.repeat_interval_s
        return float(min(self.repeat_interval_s * 2 ** min(repeats, 30), self.max_repeat_s))


IMMEDIATE = GroupTiming(group_wait_s=0.0, group_interval_s=0.0, repeat_interval_s=0.0)
"""Every change sent at once, never repeated (the console log)."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """Where one alert goes: a receiver, what to group by, and the group's timings."""

    receiver: str
    group_by: tuple[str, ...]
    timing: GroupTiming

    def group(self, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """The group key (stable, short) and the group's labels for an alert's labels.

        `...` groups by every label but `severity`: one group per alert (fingerprint), which an
        escalation does not move.
        """
        if ALL_LABELS in self.group_by:
            chosen = {k: v for k, v in sorted(labels.items()) if k != "severity"}
        else:
            chosen = {name: labels.get(name, "") for name in self.group_by}
        text = self.receiver + "\x00" + "\x00".join(f"{k}={v}" for k, v in chosen.items())
        return hashlib.sha256(text.encode()).hexdigest()[:16], chosen


@dataclass(frozen=True, slots=True)
class Route:
    """A node of the tree, with everything inherited already resolved."""

    leaf: Leaf
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    routes: tuple[Route, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher of this node holds."""
        return all(m.matches(labels) for m in self.matchers)

    def match(self, labels: Mapping[str, str]) -> list[Leaf]:
        """The destinations of an alert with `labels` (the root always matches)."""
        found: list[Leaf] = []
        for child in self.routes:
            if child.matches(labels):
                found += child.match(labels)
                if not child.continue_:
                    break
        return found or [self.leaf]


DEFAULT_GROUP_BY = ("account",)


def build(settings: RouteSettings, parent: Leaf | None = None) -> Route:
    """The resolved tree from validated settings (the root must name a receiver)."""
    base = parent or Leaf(settings.receiver or "null", DEFAULT_GROUP_BY, GroupTiming())
    t = base.timing
    timing = replace(
        t,
        group_wait_s=_pick(settings.group_wait, t.group_wait_s),
        group_interval_s=_pick(settings.group_interval, t.group_interval_s),
        repeat_interval_s=_pick(settings.repeat_interval, t.repeat_interval_s),
        exponential=t.exponential
        if settings.exponential_repeat is None
        else settings.exponential_repeat,
    )
    group_by = tuple(settings.group_by) if settings.group_by is not None else base.group_by
    leaf = Leaf(settings.receiver or base.receiver, group_by, timing)
    return Route(
        leaf=leaf,
        matchers=tuple(Matcher.parse(m) for m in settings.matchers),
        continue_=settings.continue_,
        routes=tuple(build(child, leaf) for child in settings.routes),
    )


def fan_out(receivers: list[str], timing: GroupTiming = GroupTiming()) -> Route:
    """The tree used without `alerting.route`: every receiver gets every alert."""
    return Route(
        leaf=Leaf("null", DEFAULT_GROUP_BY, timing),
        routes=tuple(
            Route(Leaf(name, DEFAULT_GROUP_BY, timing), continue_=True) for name in receivers
        ),
    )


def _pick(value: float | None, inherited: float) -> float:
    return inherited if value is None else value
