"""Calibrate raw anomaly scores to [0, 1] by their rank among recent raw scores.

Raw scores of different scorers (and of one scorer over time) are not comparable; their rank
is. The calibrator keeps a bounded, sorted reservoir of past raw scores: until it is full it
keeps all of them, then each new score replaces a random one, so the sample leans towards
recent traffic with a mean age of `size` scores. The calibrated score is the share of the
reservoir below the raw score by more than `tie`: ties at the top never reach 1, and after a
constant stretch (every past score equal) a slightly different score is not ranked above all.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Calibrator:
    """Rank of a raw score over a bounded, seeded reservoir of past raw scores."""

    size: int = 4096
    min_scores: int = 200
    seed: int = 0
    tie: float = 0.01
    scores: list[float] = field(default_factory=list)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def ready(self) -> bool:
        """True once enough scores were seen to give meaningful ranks."""
        return len(self.scores) >= self.min_scores

    def calibrate(self, raw: float) -> float:
        """Share of remembered raw scores below `raw` by more than `tie`; 0 until `ready`.

        >>> c = Calibrator(min_scores=4, tie=0.0)
        >>> for s in (0.1, 0.2, 0.3, 0.4):
        ...     c.add(s)
        >>> c.calibrate(0.35), c.calibrate(0.05), c.calibrate(9.0)
        (0.75, 0.0, 1.0)
        """
        if not self.ready:
            return 0.0
        return bisect.bisect_left(self.scores, raw - self.tie) / len(self.scores)

    def add(self, raw: float) -> None:
        """Remember a raw score (replacing a random one when the reservoir is full)."""
        if len(self.scores) >= self.size:
            del self.scores[self.rng.randrange(len(self.scores))]
        bisect.insort(self.scores, raw)
