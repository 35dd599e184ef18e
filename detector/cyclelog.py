"""What the loop tells its operators: metrics, log lines, the periodic summary and /readyz.

`Service` decides what a cycle does (retry, back off, rewind, reload); `CycleLog` only
reports it, so the loop reads as the loop and every counter and warning of a cycle, a failed
cycle and a rule reload is in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from detector.domain import Alert, AlertTiming
from detector.errors import RuleError
from detector.health import Health, iso
from detector.metrics import Metrics
from detector.pipeline import Step
from detector.rules.reload import RuleChanges
from detector.source.rows import PollResult
from detector.summary import CycleSummary


@dataclass(slots=True)
class CycleLog:
    """Counts, logs and sums each cycle's CDRs, rejections, findings, alerts and feed gaps."""

    metrics: Metrics
    log: Any
    summary: CycleSummary
    health: Health
    clock: Callable[[], float]

    def processed(self, result: PollResult, step: Step, accounts: int) -> None:
        """What the detector took in and gave out this cycle (polled or webhooks alone)."""
        m = self.metrics
        m.calls(result.cdrs)
        for rej in result.rejected:
            m.cdrs_rejected(rej.reason)
        if result.rejected:
            self.log.warning(
                "rows rejected",
                count=len(result.rejected),
                reasons=dict(Counter(r.reason for r in result.rejected)),
                example=result.rejected[0].detail,
            )
        m.late_cdrs(step.late)
        for f in step.findings:
            m.finding(f.source, f.severity.label)
        for a in step.alerts:
            m.alert(a, self.clock())
        m.accounts_tracked(accounts)
        self.log.debug(
            "cycle", cdrs=len(result.cdrs), rejected=len(result.rejected),
            requests=result.requests, findings=len(step.findings), alerts=describe(step.alerts),
        )  # fmt: skip
        self.summary.add(
            cdrs=len(result.cdrs), rejected=len(result.rejected), requests=result.requests,
            findings=len(step.findings), alerts=len(step.alerts),
        )  # fmt: skip

    def gaps(self, result: PollResult) -> None:
        """Log and count the feed gaps this poll opened or finished reading."""
        for gap in result.opened:
            self.log.warning(
                "feed gap: this stretch is read before the list goes on",
                tier=gap.tier, since=gap.low.isoformat(), until=gap.high.isoformat(),
                seconds=round(gap.seconds),
            )  # fmt: skip
        for gap in result.closed:
            self.log.info(
                "feed gap read", tier=gap.tier, since=gap.low.isoformat(),
                until=gap.high.isoformat(), seconds=round(gap.seconds),
            )  # fmt: skip
        self.metrics.feed_gaps(len(result.opened))
        self.metrics.feed_unread(result.unread_s)
        for cdr in result.beyond:
            self.log.warning(
                "a call longer than poll.lateness_horizon_s: read late; set the horizon to the "
                "platform's longest call", call_id=cdr.call_id, account=cdr.account,
                talk_s=cdr.talk_s, start=cdr.start.isoformat(),
            )  # fmt: skip
        self.metrics.beyond_horizon(len(result.beyond))

    def fetch_failed(self, error: str, started: float, unread_s: float, retry_in_s: float) -> None:
        """A poll that failed before anything was applied; the feed goes unread meanwhile."""
        self.summary.add(failed=True)
        self.health.failed(self.clock(), error)
        if self.health.last_ok is not None:
            self.metrics.feed_unread(unread_s + max(0.0, self.clock() - self.health.last_ok))
        self.metrics.poll_cycle(
            self.clock() - started, ok=False, now=self.clock(), newest_event_ts=None
        )
        self.log.warning(
            "poll cycle abandoned; nothing committed", error=error, retry_in_s=retry_in_s
        )

    def state_failed(self, error: str, retry_in_s: float) -> None:
        """A commit that failed: nothing of the cycle was kept."""
        self.summary.add(failed=True)
        self.health.state_failed(self.clock(), error)
        self.metrics.poll_cycle(0.0, ok=False, now=self.clock(), newest_event_ts=None)
        self.metrics.state_failure()
        self.log.error(
            "state file write failed; nothing committed, retrying from the last commit",
            error=error, retry_in_s=retry_in_s,
        )  # fmt: skip

    def reloaded(
        self, rules: int, changes: RuleChanges, timings: Mapping[str, AlertTiming]
    ) -> None:
        """A rule set that loaded: what it kept, changed, added and removed."""
        self.health.reload_error = ""
        self.health.last_reload = {
            "ok": True, "at": iso(self.clock()), "rules": rules,
            "kept": len(changes.kept), "changed": list(changes.changed),
            "added": list(changes.added), "removed": list(changes.removed),
        }  # fmt: skip
        self.metrics.rule_reload(ok=True)
        self.metrics.rules_loaded(rules)
        self.metrics.rules(timings)
        self.log.info("rules reloaded", **self.health.last_reload, accounts=len(changes.accounts))

    def reload_refused(self, exc: RuleError) -> None:
        """A rule set refused: why, until a valid set loads (/readyz)."""
        self.health.reload_error = str(exc)
        self.health.last_reload = {"ok": False, "at": iso(self.clock()), "error": str(exc)}
        self.metrics.rule_reload(ok=False)
        self.log.error(
            "rule reload refused; previous rules keep running",
            error=str(exc), file=exc.path, rule=exc.rule, field=exc.field,
        )  # fmt: skip


def describe(alerts: list[Alert]) -> list[str]:
    """Up to ten alerts as `status:rule:account:severity`, for the debug line."""
    return [f"{a.status.value}:{a.source}:{a.account}:{a.severity.label}" for a in alerts[:10]]
