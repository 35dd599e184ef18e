"""The poller's JSON cursor: where tailing stands, committed with each cycle's results.

`floor` (calls starting before it are not watched), `head` (newest start seen), `order` of the
feed ("newest" or "other"), the per-tier `lists` (`detector.source.tiers.ListState`), `base`
(where a tier with no saved position starts reading: every row at or above the floor that has
not been returned starts at or after it) and, for a feed that is not newest-first, the `sweep`
of an unfinished fallback pass. Positions are never dropped: a fallback keeps `lists`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from detector.source.tiers import ListState, fmt, iso


@dataclass
class Cursor:
    """The tailing position; `detector.source.poller`'s docstring gives each field's meaning."""

    floor: datetime
    head: datetime
    order: str = "newest"
    lists: dict[str, ListState] = field(default_factory=dict)
    base: datetime | None = None
    """Where a tier without a saved position starts reading (None in cursors from before it
    existed: the poller then derives it from the saved tiers, or uses the floor)."""
    sweep: dict[str, Any] | None = None
    """A fallback pass cut short by the page budget: its next page, bound and date filter."""

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> Cursor | None:
        """From the committed JSON form; None before the first poll anchored the floor."""
        if not raw or raw.get("floor") is None:
            return None
        lists = raw.get("lists") or {}
        return cls(
            floor=iso(raw["floor"]),
            head=iso(raw["head"]),
            order=str(raw.get("order", "newest")),
            lists={name: ListState.load(state) for name, state in lists.items()},
            base=iso(raw["base"]) if raw.get("base") else None,
            sweep=raw.get("sweep"),
        )

    def dump(self) -> dict[str, Any]:
        """The JSON form committed with the cycle."""
        out = {
            "v": 2,
            "floor": fmt(self.floor),
            "head": fmt(self.head),
            "order": self.order,
            "lists": {name: state.dump() for name, state in self.lists.items()},
        }
        if self.base is not None:
            out["base"] = fmt(self.base)
        if self.sweep is not None:
            out["sweep"] = self.sweep
        return out
