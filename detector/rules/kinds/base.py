"""The rule-kind plug-in contract and the pieces kinds share.

A kind turns CDRs of one group key into a value to compare with the rule's thresholds. Its
per-key state (`new_key`) is a small slotted object owned by the engine's `RulesState`; the
kind object itself is stateless configuration, built once from the rule spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol, TypeVar

from detector.rules.fields import Clock, Facts
from detector.rules.spec import AnyRule, SumOf
from detector.windows import bucket_width, span_of

Lists = Mapping[str, tuple[str, ...]]
T = TypeVar("T")


class Reading(NamedTuple):
    """What a kind reports after a CDR or a tick: the value and the volume behind it.

    A named tuple because one is built per CDR and rule on the hot path.
    """

    value: float
    volume: float
    note: str = ""


class Kind(Protocol):
    """A rule kind: stateless logic over per-key state objects."""

    name: ClassVar[str]
    watches_all: bool
    """True when CDRs that fail `match` must still be observed (matched=False), e.g. volume."""
    ticks: bool
    """True when the kind needs `tick` as the watermark advances (flatline)."""
    forgets: bool
    """False when `expired` is always False (baselines): sweeps then skip the rule."""

    def new_key(self) -> Any:
        """Empty state for a newly seen group key."""
        ...

    def observe(self, facts: Facts, matched: bool, data: Any) -> Reading | None:
        """Apply one CDR; the current reading, or None when there is nothing to judge."""
        ...

    def tick(self, data: Any, now: int) -> Reading | None:
        """Event time reached `now` (epoch s) with no CDR; a reading or None."""
        ...

    def expired(self, data: Any, now: int) -> bool:
        """True when the key holds nothing that still matters at `now` (evictable)."""
        ...


@dataclass(frozen=True, slots=True)
class Grid:
    """Bucket geometry of a window: width (s) and number of buckets."""

    width: int
    span: int

    @classmethod
    def of(cls, window_s: float) -> Grid:
        """Geometry for a window length."""
        width = bucket_width(window_s)
        return cls(width, span_of(window_s, width))


def amount_of(aggregate: Any) -> Callable[[Facts], float] | None:
    """Getter of the summed field for ``{sum: field}``; None for ``count``."""
    if isinstance(aggregate, SumOf):
        name = aggregate.sum
        return lambda f: float(getattr(f, name))
    return None


@dataclass(frozen=True, slots=True)
class KindContext:
    """What a kind may need besides its spec: list files and the local clock."""

    lists: Lists
    clock: Clock


KindFactory = Callable[[AnyRule, KindContext], Kind]


def narrow(spec: AnyRule, cls: type[T]) -> T:
    """`spec` as the model its kind expects (the registry pairs them; this guards misuse)."""
    if not isinstance(spec, cls):
        raise TypeError(f"rule {spec.id!r} is not a {cls.__name__}")
    return spec
