"""Disjoint sub-lists of the feed by talk duration, and what the poller remembers about each.

A tier is the feed filtered to `min_duration <= duration <= max_duration`. Because a CDR
appears when its call ends, a tier's rows all appear within a known delay of their start:
`delay = max_ring + upper + max_lag`. Short tiers therefore stay almost in arrival order, which
keeps the rows a read must skip few. The last bounded tier ends at the horizon `H`, the
longest call the platform allows (issue 18); calls longer than that are outside every
promise, so they get a tier of their own, `[H+1, ∞)`, with no delay bound (`beyond`): it is
normally empty (one page-1 probe per cadence), and whatever appears in it is read whole and
counted, never dropped (see `detector.source.poller`). A tier is named by its range, so a
saved position is only ever reused for the same list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from detector.source.cadence import Cost


@dataclass(frozen=True)
class Tier:
    """One sub-list: filter bounds (seconds, inclusive), delay bound and longest cadence."""

    name: str
    low: int
    high: int | None
    delay_s: float
    every_s: float
    beyond: bool = False
    """Calls longer than the horizon: no delay bound, read to the floor, ids kept."""

    def params(self) -> dict[str, str | int]:
        """The list filter for this tier."""
        params: dict[str, str | int] = {"min_duration": self.low}
        if self.high is not None:
            params["max_duration"] = self.high
        return params


def build_tiers(
    bounds: tuple[int, ...], every: tuple[float, ...], ring_s: float, lag_s: float, horizon_s: float
) -> list[Tier]:
    """Tiers `[0, b0-1], …, [b_last, H]` and `[H+1, ∞)`, with delay bounds and cadences.

    Bounds at or above the horizon `H` are dropped with their cadences; the beyond tier is
    read at the longest cadence.

    >>> tiers = build_tiers((60, 7200), (30, 600, 900), 130.0, 60, 3600)
    >>> [(t.name, t.delay_s, t.every_s, t.beyond) for t in tiers]
    [('0-59', 249.0, 30, False), ('60-3600', 3790.0, 600, False), ('3601+', 3790.0, 900, True)]
    """
    top = int(horizon_s)
    lows = (0, *(b for b in bounds if b <= top))
    tiers: list[Tier] = []
    for i, low in enumerate(lows):
        high = lows[i + 1] - 1 if i + 1 < len(lows) else top
        tiers.append(Tier(f"{low}-{high}", low, high, ring_s + high + lag_s, every[i]))
    last = tiers[-1].delay_s
    tiers.append(Tier(f"{top + 1}+", top + 1, None, last, max(every), beyond=True))
    return tiers


@dataclass
class Resume:
    """An unfinished scan of one list: continue at `page`, down to rows starting at `bound`.

    `reached`: the oldest start read so far by the scan (None before it read a row), so
    `reached - bound` is the feed time it still has to read (a gap's unread seconds).
    """

    page: int
    bound: datetime
    reached: datetime | None = None
    top: datetime | None = None
    """Where the scan was cut first (its `reached` then): the gap is `bound..top`."""

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> Resume | None:
        """From the JSON form."""
        if not raw:
            return None
        reached, top = raw.get("reached"), raw.get("top")
        return cls(
            int(raw["page"]),
            iso(raw["bound"]),
            iso(reached) if reached else None,
            iso(top) if top else None,
        )

    def dump(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"page": self.page, "bound": fmt(self.bound)}
        if self.reached is not None:
            out["reached"] = fmt(self.reached)
        if self.top is not None:
            out["top"] = fmt(self.top)
        return out

    def unread_s(self) -> float:
        """Seconds of feed time between the bound and the oldest start read so far."""
        if self.reached is None:
            return 0.0
        return max(0.0, (self.reached - self.bound).total_seconds())


@dataclass
class ListState:
    """What the last read of one list saw.

    `total`: the list's total at that read's first page (None when the API gave none);
    `mark`: a start time no later than that read's first request (the newest start seen so far);
    `age`: polls since that read; `at`: the poller's clock at that read (a list is due when
    either says its cadence has passed, so a sped-up simulator under a wall clock and a caller
    polling less often than `interval_s` both keep the cadence; neither affects correctness);
    `resume`: set while a scan cut short by the page budget still has to finish;
    `cost`: what its reads cost so far, which sets its cadence (`detector.source.cadence`);
    `after`: rows that read found that were listed after its first request (at least), which
    the next read's count may skip (`detector.source.scan`).
    """

    total: int | None
    mark: datetime
    at: datetime
    age: int = 0
    resume: Resume | None = None
    cost: Cost | None = None
    after: int = 0

    @classmethod
    def load(cls, raw: Mapping[str, Any]) -> ListState:
        """From the JSON form."""
        return cls(
            total=None if raw.get("total") is None else int(raw["total"]),
            mark=iso(raw["mark"]),
            at=iso(raw["at"]),
            age=int(raw.get("age", 0)),
            resume=Resume.load(raw.get("resume")),
            cost=Cost.load(raw.get("cost")),
            after=int(raw.get("after", 0)),
        )

    def dump(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"total": self.total, "mark": fmt(self.mark)}
        out |= {"at": fmt(self.at), "age": self.age}
        if self.resume is not None:
            out["resume"] = self.resume.dump()
        if self.cost is not None:
            out["cost"] = self.cost.dump()
        if self.after:
            out["after"] = self.after
        return out


def fmt(value: datetime) -> str:
    """An instant as UTC ISO 8601."""
    return value.astimezone(UTC).isoformat()


def iso(value: Any) -> datetime:
    """An ISO 8601 string as an aware UTC datetime."""
    return datetime.fromisoformat(str(value)).astimezone(UTC)
