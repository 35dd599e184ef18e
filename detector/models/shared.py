"""The one river model every account shares, fed account-relative deviations in [0, 1].

Per-account river models do not scale (a default `HalfSpaceTrees` pickles to ~170 KB), so
each account only keeps its baseline and all accounts share one `HalfSpaceTrees` over their
squashed deviations: "how unusual is this pattern of deviations across everyone's normal".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from river import anomaly

SQUASH_Z = 4.0
"""A deviation of this many floored z-scores maps to 0.5 + 0.5·tanh(1) ≈ 0.88."""


def squash(z: Sequence[float]) -> dict[int, float]:
    """Signed z-scores to river features in [0, 1] (0.5 = usual), as HalfSpaceTrees expects.

    >>> squash([0.0, 1e9, -1e9])
    {0: 0.5, 1: 1.0, 2: 0.0}
    """
    return {f: 0.5 + 0.5 * math.tanh(v / SQUASH_Z) for f, v in enumerate(z)}


def magnitude(z: Sequence[float]) -> float:
    """Root mean square of the three largest |z|: unsaturated, breaks HST ties at the top.

    >>> magnitude([3.0, 4.0, 0.0, 1.0]) == (26 / 3) ** 0.5
    True
    """
    top = sorted((v * v for v in z), reverse=True)[:3]
    return math.sqrt(sum(top) / len(top)) if top else 0.0


class SharedScorer:
    """Scores and learns squashed deviation vectors with one seeded `HalfSpaceTrees`."""

    def __init__(self, *, n_trees: int, height: int, window_size: int, seed: int) -> None:
        # river's methods are untyped; the forest is used through score_one/learn_one only.
        self.forest: Any = anomaly.HalfSpaceTrees(
            n_trees=n_trees, height=height, window_size=window_size, seed=seed
        )

    def raw_score(self, z: Sequence[float]) -> float:
        """Raw anomaly score: the forest's score plus a small, unbounded magnitude term.

        The forest's score is in [0, 1] and many outliers tie near its top; adding
        `magnitude / 1000` keeps the ranking of those outliers without changing the order of
        clearly different forest scores.
        """
        forest = float(self.forest.score_one(squash(z)))
        return forest + magnitude(z) / 1000.0

    def learn(self, z: Sequence[float]) -> None:
        """Learn a bucket judged normal."""
        self.forest.learn_one(squash(z))
