"""Per-key state that pickles by position: its fields' values without their names.

An account's rule state holds a few dozen small slotted objects (windows, usual shares,
baselines), and the default pickle of a slotted dataclass names every field of every object:
``(None, {"part": 0.8, "population": 37.7, ...})``. `Positional` pickles the values alone, in
field order, leaves out the trailing ones still at their defaults (an idle key's empty window
is one number), and writes a float that holds a whole number as an int (a count, an hour, an
unset 0.0: two bytes instead of nine), read back as the same float.

Loading accepts that tuple and the named form pickled before, so state files written by
earlier releases still load; a field missing from either takes its default, and `_named` lets
a class migrate the named form its own way. The layout rule that follows: append new fields
at the end, never reorder or remove one. Fields declared with ``init=False`` are derived, not
pickled (`_restored` recomputes them). The first field must never hold None (a tuple
``(None, {...})`` is the named form).

>>> from dataclasses import dataclass
>>> @dataclass(slots=True)
... class Sums(Positional):
...     count: float = 0.0
...     total: float = 0.0
...     hour: int = -1
>>> Sums(3.0, 0.5).__getstate__()
(3, 0.5)
>>> s = Sums.__new__(Sums)
>>> s.__setstate__((3, 0.5)); s
Sums(count=3.0, total=0.5, hour=-1)
>>> s.__setstate__((None, {"total": 2.0})); s  # the named form of earlier releases
Sums(count=0.0, total=2.0, hour=-1)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import MISSING, fields
from operator import attrgetter
from typing import Any

WHOLE = 2**31
"""Floats below this (in magnitude) that hold whole numbers pickle as ints (at most 5 bytes)."""


class Layout:
    """The pickled (``init=True``) fields of one class, worked out once."""

    __slots__ = ("defaults", "floats", "get", "makers", "names")

    def __init__(self, cls: type) -> None:
        chosen = [f for f in fields(cls) if f.init]
        self.names = tuple(f.name for f in chosen)
        self.get = attrgetter(*self.names)
        """The fields' values as a tuple (at least two fields)."""
        self.floats = frozenset(i for i, f in enumerate(chosen) if f.type in ("float", float))
        """Positions of the fields declared `float`."""
        self.makers = tuple(_maker(f.default, f.default_factory) for f in chosen)
        """Per field, a function returning its default (a fresh one for a default factory)."""
        self.defaults = tuple(make() for make in self.makers)
        """Per field, its default, to compare with (never handed out: it may be mutable)."""


_LAYOUTS: dict[type, Layout] = {}


class Positional:
    """Mixin for slotted dataclasses: pickle as a short tuple of values (see the module)."""

    __slots__ = ()

    def __getstate__(self) -> tuple[Any, ...]:
        """The fields' values in order, without the trailing defaults (at least one value)."""
        layout = _layout(type(self))
        values = layout.get(self)
        size, defaults = len(values), layout.defaults
        while size > 1 and _same(values[size - 1], defaults[size - 1]):
            size -= 1
        floats = layout.floats
        return tuple(_whole(v) if i in floats else v for i, v in enumerate(values[:size]))

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        """Restore the tuple `__getstate__` wrote, or the named form of earlier releases."""
        if len(state) == 2 and state[0] is None and isinstance(state[1], dict):
            self._named(state[1])
        else:
            layout = _layout(type(self))
            floats, size = layout.floats, len(state)
            for i, (name, make) in enumerate(zip(layout.names, layout.makers, strict=True)):
                if i >= size:
                    setattr(self, name, make())
                else:
                    setattr(self, name, float(state[i]) if i in floats else state[i])
        self._restored()

    def _named(self, named: dict[str, Any]) -> None:
        """Restore the named form (``{field: value}``); a missing field takes its default."""
        layout = _layout(type(self))
        for name, make in zip(layout.names, layout.makers, strict=True):
            setattr(self, name, named[name] if name in named else make())

    def _restored(self) -> None:
        """Recompute derived (``init=False``) fields after loading; nothing by default."""


def named_state(obj: Positional) -> tuple[None, dict[str, Any]]:
    """The named form the default pickle of a slotted dataclass holds (what releases before
    `Positional` wrote): for tests that load old state."""
    return None, {name: getattr(obj, name) for name in _layout(type(obj)).names}


def _layout(cls: type) -> Layout:
    """The pickled fields of `cls` (cached per class)."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = _LAYOUTS[cls] = Layout(cls)
    return layout


def _maker(default: Any, factory: Any) -> Callable[[], Any]:
    """A function returning a field's default (a fresh one for a default factory)."""
    if factory is not MISSING:
        return factory  # type: ignore[no-any-return]
    return lambda: default


def _same(value: Any, default: Any) -> bool:
    """True when `value` is its field's default exactly (a float's sign included)."""
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    if isinstance(value, float):
        return value == default and math.copysign(1.0, value) == math.copysign(1.0, default)
    return bool(value == default)


def _whole(value: Any) -> Any:
    """A float holding a small whole number as that int (not -0.0, which would lose its sign;
    not a large one, which would pickle longer than the float)."""
    if (
        isinstance(value, float)
        and value.is_integer()
        and -WHOLE <= value < WHOLE
        and (value != 0.0 or math.copysign(1.0, value) > 0.0)
    ):
        return int(value)
    return value
