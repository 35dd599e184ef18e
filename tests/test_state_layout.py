"""State pickled by position keeps its layout: fields are only ever appended (see `positional`)."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import detector.rules.kinds
import detector.windows
from detector.windows.positional import Positional

PINNED: dict[str, tuple[str, ...]] = {
    "detector.rules.kinds.flatline.Traffic": (
        "baseline", "last", "ticked", "missed", "known", "seen", "due", "level", "day",
        "day_seen", "day_due", "guess", "off_days", "days", "outbound", "off_calls", "before",
        "today", "doubt", "hour", "hour_missed", "hours_surprise",
    ),
    "detector.rules.kinds.outlier.Tail": (
        "window", "shares", "history", "limit", "beyond", "fresh", "hot", "since", "usual",
        "starts", "earlier", "firing",
    ),
    "detector.rules.kinds.spike.Trend": ("window", "baseline", "moments", "peaks"),
    "detector.rules.kinds.shift.Share": ("window", "usual", "since", "quick", "slow"),
    "detector.windows.buckets.Buckets": (
        "head", "cells", "count", "total", "low", "kept", "older", "older_total", "first",
    ),
    "detector.windows.histogram.LogHistogram": ("bins", "total"),
    "detector.windows.seasonal.Seasonal": (
        "slots", "mean", "hour", "current", "hours_seen", "daily", "recent",
    ),
    "detector.windows.usual.UsualShare": (
        "part", "population", "hour", "open_part", "open_population",
    ),
}  # fmt: skip
"""Each positional class's pickled fields as released; state files on disk hold them in this
order, so a field may be appended after them but never inserted, reordered or removed."""


def positional_classes() -> dict[str, type]:
    """Every `Positional` subclass in the rule kinds and windows, by qualified name."""
    for package in (detector.rules.kinds, detector.windows):
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found: dict[str, type] = {}
    todo = list(Positional.__subclasses__())
    while todo:
        cls = todo.pop()
        found[f"{cls.__module__}.{cls.__qualname__}"] = cls
        todo.extend(cls.__subclasses__())
    return found


def test_positional_state_fields_are_only_ever_appended() -> None:
    """Every class pickled by position starts with its released fields in their released order,
    and a new such class is pinned here before it ships (its state files depend on it)."""
    classes = {
        n: c
        for n, c in positional_classes().items()
        if not n.startswith("detector.windows.positional")
    }
    assert sorted(classes) == sorted(PINNED), "pin the new positional class's fields in PINNED"
    for name, cls in classes.items():
        fields = tuple(f.name for f in dataclasses.fields(cls) if f.init)
        released = PINNED[name]
        assert fields[: len(released)] == released, f"{name}: append new fields at the end"
