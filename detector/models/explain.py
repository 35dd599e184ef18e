"""Explain a model finding in words: the features that deviate most and by how much."""

from __future__ import annotations

from collections.abc import Sequence

from detector.models.baseline import Baseline
from detector.models.features import FEATURES, Bucket
from detector.models.judge import Verdict
from detector.models.learning import LONG

TOP_FEATURES = 3
"""How many deviating features a summary names at most."""

MIN_NAMED_Z = 2.0
"""Features closer to usual than this (standard deviations) are not named after the first."""

_PARENT_WORDS = {"attempts": "calls", "answered": "answered calls", "outbound": "outbound calls"}


def ratio(observed: float, expected: float) -> str:
    """A count against its expectation as people read it.

    >>> ratio(40, 0.8), ratio(140, 10.0), ratio(3, 0.01)
    ('40 (about 0.8 expected)', '14× usual (140 against ~10)', '3 (about 0.01 expected)')
    """
    if expected < 1.0:
        return f"{observed:.0f} (about {expected:.2g} expected)"
    return f"{observed / expected:.2g}× usual ({observed:.0f} against ~{expected:.0f})"


def share(f: int, count: float, parent: float, usual: float) -> str:
    """A part of a parent count against its usual share.

    >>> share(5, 35, 100, 0.02)
    'international 35% of outbound calls (usually 2%)'
    """
    feature = FEATURES[f]
    words = _PARENT_WORDS[feature.parent]
    return f"{feature.name} {count / parent:.0%} of {words} (usually {usual:.0%})"


def top_features(z: Sequence[float]) -> list[int]:
    """Indexes of the most deviating features (by z), largest first; always at least one.

    >>> top_features([0.5, 9.0, 4.0, 1.0])
    [1, 2]
    """
    order = sorted(range(len(z)), key=lambda f: -z[f])
    named = [f for f in order[:TOP_FEATURES] if z[f] >= MIN_NAMED_Z]
    return named or order[:1]


def long_words(long_s: float) -> str:
    """What "long" means for the account.

    >>> long_words(754.0), long_words(float("inf"))
    ('long calls are over 13 min', '')
    """
    if long_s == float("inf"):
        return ""
    return f"long calls are over {long_s / 60:.0f} min"


def counts(verdict: Verdict, bucket: Bucket) -> str:
    """An early look's summary: the deviating features' counts against their expectations."""
    parts = bucket.parts()
    return ", ".join(
        f"{FEATURES[f].name} {ratio(parts[f], verdict.expected[f])}"
        for f in top_features(verdict.z)
    )


def final(verdict: Verdict, bucket: Bucket, baseline: Baseline | None) -> str:
    """A final judgement's summary: per deviating feature its recent window when that spoke,
    else the bucket's count (calls) or share (parts)."""
    parts = []
    for f in top_features(verdict.z):
        feature = FEATURES[f]
        x, n = bucket.value(feature.part), bucket.value(feature.parent)
        observed, expected = verdict.window[f] if verdict.window else (0.0, 0.0)
        if expected > 0.0:
            text = f"{feature.name} {ratio(observed, expected)} over the last hours"
        elif f == 0:
            text = f"calls {ratio(x, verdict.expected[0])}"
        else:
            text = share(f, x, n, verdict.usual[f])
        if f == LONG and baseline is not None:
            text += f" ({long_words(baseline.long_s())})"
        parts.append(text)
    return ", ".join(parts)
