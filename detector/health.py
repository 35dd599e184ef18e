"""What `/healthz` and `/readyz` answer, from what the poll loop recorded.

- **live** (`/healthz`): the poll loop completes cycles. It fails when no cycle, successful or
  not, has completed for `stall_s`: a hung loop (a deadlock, a blocked call with no timeout)
  is something only a restart fixes, so a liveness probe may act on it.
- **ready** (`/readyz`): the daemon is doing its job. It fails, with the reason, while the
  state file cannot be written, while a rule reload is refused, before the first successful
  poll, when the last `max_failed_cycles` cycles failed (the API is down or refuses us), or,
  when `max_event_lag_s` > 0, when the newest CDR seen started longer ago than that (the feed
  has stalled although requests succeed). Readiness is for alerting and load balancers, not
  for restarts: an API outage is not cured by restarting.

Thresholds are settings (`health:`); the event-lag check is off by default because a quiet
partner can legitimately have no calls for hours.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """When the daemon stops being ready or live.

    max_failed_cycles: consecutive failed poll cycles before /readyz fails.
    max_event_lag_s: /readyz fails when the newest CDR is older than this (0: never).
    stall_s: /healthz fails when no poll cycle completed for this long.
    """

    max_failed_cycles: int = 3
    max_event_lag_s: float = 0.0
    stall_s: float = 600.0


@dataclass(slots=True)
class Health:
    """What the loop recorded; read by the HTTP thread (plain attribute reads)."""

    started: float
    policy: HealthPolicy = HealthPolicy()
    last_ok: float | None = None
    last_cycle: float | None = None
    last_error: str = ""
    failures: int = 0
    state_error: str = ""
    reload_error: str = ""
    last_reload: dict[str, Any] = field(default_factory=dict)
    cycles: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def succeeded(self, now: float) -> None:
        """A cycle fetched, detected and committed."""
        self.last_ok = self.last_cycle = now
        self.last_error, self.state_error, self.failures = "", "", 0
        self.cycles += 1

    def failed(self, now: float, error: str) -> None:
        """A cycle was abandoned (the fetch failed); nothing was committed."""
        self.last_cycle = now
        self.last_error = error
        self.failures += 1

    def state_failed(self, now: float, error: str) -> None:
        """The state file could not be written; the loop goes on from the last commit."""
        self.failed(now, error)
        self.state_error = error

    def ready(self, now: float, newest_event: float | None) -> tuple[bool, str]:
        """(ready, reason): the first reason the daemon is not doing its job, or "ok"."""
        if self.state_error:
            return False, f"state file not writable: {self.state_error}"
        if self.reload_error:
            return False, f"rule reload failed: {self.reload_error}"
        if self.last_ok is None:
            return False, f"no successful poll yet {self.last_error}".strip()
        limit = self.policy.max_failed_cycles
        if self.failures >= limit:
            return False, f"the last {self.failures} poll cycles failed: {self.last_error}"
        lag_limit = self.policy.max_event_lag_s
        if lag_limit > 0 and newest_event is not None and now - newest_event > lag_limit:
            return False, (
                f"the newest CDR started {now - newest_event:.0f} s ago, more than "
                f"health.max_event_lag_s = {lag_limit:g}: the feed has stalled"
            )
        return True, "ok"

    def live(self, now: float) -> tuple[bool, str]:
        """(live, reason): False when the poll loop has not completed a cycle for `stall_s`."""
        since = self.last_cycle if self.last_cycle is not None else self.started
        idle = now - since
        if idle > self.policy.stall_s:
            return False, (
                f"the poll loop has not completed a cycle for {idle:.0f} s "
                f"(health.stall_s = {self.policy.stall_s:g})"
            )
        return True, "ok"


def iso(ts: float | None) -> str | None:
    """A wall-clock time as ISO 8601 UTC (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()
