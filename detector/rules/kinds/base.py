"""The rule-kind plug-in contract and the pieces kinds share.

A kind turns CDRs of one group key into a value to compare with the rule's thresholds. Its
per-key state (`new_key`) is a small slotted object owned by the engine's `RulesState`; the
kind object itself is stateless configuration, built once from the rule spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol, TypeVar

from detector.rules.fields import Facts
from detector.rules.spec import AnyRule, SumOf
from detector.windows import Buckets, bucket_width, span_of
from detector.windows.clock import LocalHours

Lists = Mapping[str, tuple[str, ...]]
T = TypeVar("T")
S = TypeVar("S")
"""A kind's per-key state."""
S_contra = TypeVar("S_contra", contravariant=True)


class Reading(NamedTuple):
    """What a kind reports after a CDR or a tick: the value and the volume behind it.

    A named tuple because one is built per CDR and rule on the hot path.
    """

    value: float
    volume: float
    note: str = ""
    at: int | None = None
    """When the window read ends (epoch s), if later than the CDR: a late CDR reads a window
    ending after its own start, and a finding is stamped with the window it reports on
    (`read_at`). None: at the CDR's start (or the tick)."""
    expected: float | None = None
    """What the key usually shows for this reading (its baseline), when the kind has one:
    rendered as `{expected}` in summaries and kept with the finding, so a person sees the
    value against the account's own norm."""


def read_at(t: int, end: int, width: int) -> int | None:
    """`Reading.at` for a CDR at `t` that read the window ending at bucket `end`: that bucket's
    start when it is after `t`, else None (the CDR's own time).

    >>> read_at(125, 2, 60), read_at(125, 4, 60)
    (None, 240)
    """
    start = end * width
    return start if start > t else None


def moment(facts: Facts, on_end: bool) -> tuple[int, int]:
    """When a CDR counts for a kind (epoch s) and its local hour: the call's start, or its end
    for kinds on the `end` clock (duration rules: a long call is only known once it ends, so
    bucketing it by its start would always make it hours late).

    >>> from detector.rules.testing import make_cdr, DEFAULT_START
    >>> from detector.rules.fields import Facts, Locale
    >>> from detector.windows.clock import LocalHours
    >>> cdr = make_cdr(DEFAULT_START, "c1", {"talk_s": 7200})
    >>> facts = Facts(cdr, Locale(), LocalHours("UTC"))
    >>> [t - facts.t for t, _ in (moment(facts, False), moment(facts, True))]
    [0, 7205]
    """
    if not on_end:
        return facts.t, facts.local_hour
    end = facts.end
    return end, facts.clock.local_hour(end)


class Kind(Protocol[S]):
    """A rule kind: stateless logic over per-key state objects of type `S`, declared once by
    the kind's `new_key` and taken by every other method (mypy checks each kind against it;
    the engine holds kinds as ``Kind[Any]``)."""

    name: ClassVar[str]
    watches_all: bool
    """True when CDRs that fail `match` must still be observed (matched=False), e.g. volume."""
    ticks: bool
    """True when the kind needs `tick` as the watermark advances (flatline)."""
    forgets: bool
    """False when `expired` is always False (baselines): sweeps then skip the rule."""

    def new_key(self) -> S:
        """Empty state for a newly seen group key."""
        ...

    def observe(self, facts: Facts, matched: bool, data: S) -> Reading | None:
        """Apply one CDR; the current reading, or None when there is nothing to judge."""
        ...

    def tick(self, data: S, now: int, clock: LocalHours) -> Reading | None:
        """Event time reached `now` (epoch s) with no CDR; a reading or None. `clock` is the
        account's local time (its timezone)."""
        ...

    def expired(self, data: S, now: int) -> bool:
        """True when the key holds nothing that still matters at `now` (evictable)."""
        ...


class Compacting(Protocol[S_contra]):
    """A kind that keeps a baseline (never expires) but can drop its spent window on sweeps."""

    def compact(self, data: S_contra, now: int) -> bool:
        """Drop what no later reading needs at `now`; True when the window is empty."""
        ...


def amount_of(aggregate: Any) -> Callable[[Facts], float] | None:
    """Getter of the summed field for ``{sum: field}``; None for ``count``."""
    if isinstance(aggregate, SumOf):
        name = aggregate.sum
        return lambda f: float(getattr(f, name))
    return None


LATENESS_S = 600.0
"""Allowed lateness (s) when none is given: the Detector's default."""


@dataclass(frozen=True, slots=True)
class KindContext:
    """What a kind may need besides its spec: list files and the lateness. (Local time comes
    per account: `Facts.local_hour`, and the clock `tick` is given.)

    `lateness_s` is the Detector's allowed lateness: windowed kinds retain that much history
    beyond their window so a late CDR can update the windows it belongs to.
    """

    lists: Lists
    lateness_s: float = LATENESS_S


@dataclass(frozen=True, slots=True)
class Grid:
    """Bucket geometry of a window: width (s), number of buckets and retention beyond it.

    `keep` is the allowed lateness in buckets, rounded up: a CDR older than the retention
    (bucket ``<= head - span - keep``) started more than the lateness before the newest CDR
    of its key, hence before the Detector's newest minus the lateness, so the Detector counts
    it as late (`Step.late`) when the engine and the Detector share the lateness.
    """

    width: int
    span: int
    keep: int = 0

    @classmethod
    def of(cls, window_s: float, lateness_s: float = 0.0) -> Grid:
        """Geometry for a window length and an allowed lateness."""
        width = bucket_width(window_s)
        return cls(width, span_of(window_s, width), -(-int(max(lateness_s, 0.0)) // width))


@dataclass(frozen=True, slots=True)
class Floors:
    """What a reading needs to emit for some account: the lowest threshold (`level`), the
    lowest `min_volume` (`volume`), and the `min_volume` in force per account."""

    level: float
    volume: float
    default_volume: float
    volumes: Mapping[str, float]

    @classmethod
    def of(cls, spec: AnyRule) -> Floors:
        """Floors of a rule over its defaults and every per-account override."""
        levels = [spec.thresholds.warning, spec.thresholds.critical]
        volumes = {}
        for account, override in spec.overrides.items():
            if override.thresholds is not None:
                levels += [override.thresholds.warning, override.thresholds.critical]
            else:
                levels += [spec.thresholds.warning, spec.thresholds.critical]
            volumes[account] = float(
                spec.min_volume if override.min_volume is None else override.min_volume
            )
        level = min((x for x in levels if x is not None), default=float("inf"))
        volume = min([float(spec.min_volume), *volumes.values()])
        return cls(level, volume, float(spec.min_volume), volumes)

    def volume_of(self, account: str) -> float:
        """The `min_volume` in force for `account`."""
        return self.volumes.get(account, self.default_volume)


KindFactory = Callable[[AnyRule, KindContext], Kind[Any]]


def narrow(spec: AnyRule, cls: type[T]) -> T:
    """`spec` as the model its kind expects (the registry pairs them; this guards misuse)."""
    if not isinstance(spec, cls):
        raise TypeError(f"rule {spec.id!r} is not a {cls.__name__}")
    return spec


def late_ends(window: Buckets, bucket: int, span: int) -> list[int]:
    """Ends of the windows a late CDR in `bucket` is read over, ascending: the buckets holding
    events of `window` from `bucket` to ``min(head, bucket + span - 1)`` (the windows that
    contain it, at the points an in-order stream would have read them), then the newest
    bucket `head` (the key's current state) when it is not among them.
    """
    head = window.head
    last = min(head, bucket + span - 1)
    ends = window.holding(bucket, last)
    return ends if head == last else [*ends, head]
