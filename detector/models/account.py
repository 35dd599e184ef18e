"""Per-account model state (open buckets, baseline, drift) and the model's talk-time ledger.

`AccountModelState` pickles as a versioned tuple and is checkpointed with the account; a
state of another layout (an older release) restarts that account's model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detector.models.baseline import Baseline
from detector.models.drift import Drift
from detector.models.features import Bucket

STATE_VERSION = 2
"""Layout of `AccountModelState`; a state of another layout restarts the account's model."""


@dataclass(slots=True)
class AccountModelState:
    """Per-account model state: open buckets, baseline, drift; picklable, a few KB."""

    baseline: Baseline | None = None
    drift: Drift = field(default_factory=Drift)
    pending: dict[int, Bucket] = field(default_factory=dict)
    """Open buckets by index (epoch seconds // bucket length)."""
    next: int | None = None
    """Oldest bucket not yet judged for good; older records are late (counted, dropped)."""
    since: int = 0
    """Bucket of the account's earliest call seen: quiet buckets before it are not learned."""
    looked: int = 0
    """Buckets before this index had their early look."""
    age: int = 0
    """Buckets judged since the account's first call (warm-up)."""
    late: int = 0
    streak: int = 0
    """Unusual buckets in a row up to the last judged one."""
    score: float | None = None
    """Anomaly score of the last bucket judged (early look or final; None until one), for
    the `account_anomaly_score` metric."""
    unusual_at: int = -1
    """The latest bucket whose early look was unusual (at `thresholds.warning` or more): a
    second one within the recent window confirms a small extreme bucket (`look.confirmed`)."""

    def __getstate__(self) -> tuple[object, ...]:
        """Pickle as a versioned tuple (no field names)."""
        return (STATE_VERSION, self.baseline, self.drift, self.pending, self.next,
                self.since, self.looked, self.age, self.late, self.streak, self.score,
                self.unusual_at)  # fmt: skip

    def __setstate__(self, state: object) -> None:
        """Inverse of `__getstate__`; a state of another layout (an older release) becomes an
        empty state: the account's model learns again from its next calls."""
        fresh = AccountModelState()
        for name in self.__slots__:
            object.__setattr__(self, name, getattr(fresh, name))
        names = ("baseline", "drift", "pending", "next", "since", "looked", "age", "late",
                 "streak", "score", "unusual_at")  # fmt: skip
        if isinstance(state, tuple) and len(state) in (11, 12) and state[0] == STATE_VERSION:
            for name, value in zip(names, state[1:], strict=False):  # 11: before `unusual_at`
                object.__setattr__(self, name, value)

    @classmethod
    def empty(cls) -> AccountModelState:
        """State used when no model is configured (no baseline allocated)."""
        return cls()


@dataclass(slots=True)
class Talk:
    """Talk time seen and judged by the model; how much of it came after its own bucket had
    been judged (records later than the horizon, judged in the oldest bucket still open)."""

    seen_s: float = 0.0
    judged_s: float = 0.0
    late_s: float = 0.0

    @property
    def share_judged(self) -> float:
        """Share of the talk time seen that was judged (in buckets judged so far): nothing is
        dropped, so 1.0 once every bucket is judged; the bench prints it."""
        return self.judged_s / self.seen_s if self.seen_s else 1.0

    @property
    def share_late(self) -> float:
        """Share of the talk time judged in a later bucket than its call's own."""
        return self.late_s / self.judged_s if self.judged_s else 0.0
