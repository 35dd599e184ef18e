"""The periodic info line of the daemon: what the cycles since the last one did, summed.

Every cycle logs at debug (`cycle`); at info the daemon writes one `summary` line every
`log.summary_every_s` (300 s by default): 288 lines a day instead of 8,640 at a 10 s interval.

>>> s = CycleSummary(every_s=60.0, started=0.0)
>>> s.add(cdrs=10, rejected=1, requests=2, findings=0, alerts=0)
>>> s.add(failed=True)
>>> s.take(30.0) is None
True
>>> summary = s.take(61.0)
>>> summary["cycles"], summary["failed_cycles"], summary["cdrs"], summary["over_s"]
(2, 1, 10, 61.0)
>>> s.take(62.0) is None
True
"""

from __future__ import annotations

from collections import Counter

FIELDS = ("cycles", "failed_cycles", "cdrs", "rejected", "requests", "findings", "alerts")


class CycleSummary:
    """Sums of the cycles since the last summary, handed out once `every_s` has passed."""

    def __init__(self, every_s: float, started: float) -> None:
        self.every_s = every_s
        self.since = started
        self.counts: Counter[str] = Counter()

    def add(self, *, failed: bool = False, **counts: int) -> None:
        """Count one cycle (ok or failed) and what it did."""
        self.counts["cycles"] += 1
        self.counts["failed_cycles"] += failed
        self.counts.update(counts)

    def take(self, now: float) -> dict[str, float] | None:
        """The summary if one is due at `now` (and start the next), else None."""
        if now - self.since < self.every_s:
            return None
        out: dict[str, float] = {name: self.counts[name] for name in FIELDS}
        out["over_s"] = round(now - self.since, 1)
        self.counts.clear()
        self.since = now
        return out
