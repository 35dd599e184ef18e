"""Explain a model finding in words: the features that deviate most and by how much."""

from __future__ import annotations

from collections.abc import Sequence

from detector.models.features import FEATURES, SHARES

TOP_FEATURES = 3
"""How many deviating features a summary names at most."""

MIN_NAMED_Z = 2.0
"""Features closer to usual than this (in floored z-scores) are not named after the first."""


def describe(feature: int, value: float, usual: float) -> str:
    """One feature's deviation as people read it.

    >>> describe(0, 140.0, 10.0)
    'attempts 14× usual'
    >>> describe(2, 12.0, 0.0)
    'short calls 12 (usually ~0)'
    >>> describe(8, 0.8, 0.02)
    'international share 80% (usually 2%)'
    >>> describe(1, 1.0, 20.0)
    'answered 0.05× usual'
    """
    name = FEATURES[feature]
    if feature in SHARES:
        return f"{name} {value:.0%} (usually {usual:.0%})"
    if usual < 0.5:
        return f"{name} {value:.3g} (usually ~{usual:.0f})"
    return f"{name} {value / usual:.2g}× usual"


def top_features(z: Sequence[float]) -> list[int]:
    """Indexes of the most deviating features (by |z|), largest first; always at least one.

    >>> top_features([0.5, 9.0, -4.0, 1.0])
    [1, 2]
    """
    order = sorted(range(len(z)), key=lambda f: -abs(z[f]))
    named = [f for f in order[:TOP_FEATURES] if abs(z[f]) >= MIN_NAMED_Z]
    return named or order[:1]


def summary(z: Sequence[float], x: Sequence[float], usual: Sequence[float]) -> str:
    """The finding's sentence, e.g. "attempts 14× usual, short calls 30× usual"."""
    return ", ".join(describe(f, x[f], usual[f]) for f in top_features(z))
