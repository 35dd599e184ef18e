"""What the daemon tidies between cycles: retention of old rows, and keys refused at the cap.

**Retention.** Every `every_s` seconds of wall time the poll loop purges, each in its own short
transaction: notifications sent more than `sent_s` ago (wall time: when they were sent),
alert episodes that resolved more than `alerts_s` before the newest CDR (event time, so a
replay keeps what live kept), rejected wire rows kept more than `rejected_s` (and all but
the newest `rejected_rows`), and silences that ended `alerts_s` ago (wall time). Dead letters
and alerts still firing are never purged. Seen ids are purged every cycle by the late-arrival
horizon (`poll.seen_ttl_s`), never below the poller's low-water mark.

**Dropped keys.** A rule keeps at most `rules.engine.MAX_KEYS` group keys per account (for
example distinct destination numbers); a key refused at the cap is counted in the account's
`RulesState.dropped`. After each commit the loop adds what grew to
`cdr_detector_rule_keys_dropped_total` and logs one line naming the accounts, so a cap that
bites (and the detection it costs) is visible.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from detector.errors import StateError
from detector.rules.engine import MAX_KEYS

if TYPE_CHECKING:
    from detector.pipeline import AccountState, Detector
    from detector.service import Service


@dataclass(frozen=True, slots=True)
class Retention:
    """How long finished rows are kept.

    sent_s: sent notifications, after they were sent (wall time).
    alerts_s: resolved alert episodes, after they resolved (event time).
    rejected_s: rejected wire rows (`state.rejected`), after they were rejected (wall time).
    rejected_rows: at most this many rejected rows are kept, the newest.
    every_s: wall seconds between two purges.
    """

    sent_s: float = 7 * 86400.0
    alerts_s: float = 30 * 86400.0
    rejected_s: float = 30 * 86400.0
    rejected_rows: int = 100_000
    every_s: float = 600.0


class DroppedKeys:
    """Turns the accounts' cumulative `RulesState.dropped` into increments since start."""

    def __init__(self, detector: Detector | None = None) -> None:
        self.known: dict[str, int] = {}
        self.pending: dict[str, int] = {}
        """Growth not reported yet, per account."""
        if detector is not None:
            self.reset(detector)

    def reset(self, detector: Detector) -> None:
        """Take every tracked account's count as the baseline (at start and after a rewind)."""
        self.known = {a: s.rules.dropped for a, s in detector.accounts.items()}

    def observe(
        self, changed: Mapping[str, AccountState], evicted: Collection[str]
    ) -> dict[str, int]:
        """Accounts whose count grew in this commit, with how much."""
        grew: dict[str, int] = {}
        for account, state in changed.items():
            now, before = state.rules.dropped, self.known.get(account, 0)
            if now > before:
                grew[account] = now - before
            self.known[account] = now
        for account in evicted:
            self.known.pop(account, None)
        for account, n in grew.items():
            self.pending[account] = self.pending.get(account, 0) + n
        return grew

    def take(self) -> dict[str, int]:
        """The growth not reported yet (and forget it)."""
        grew, self.pending = self.pending, {}
        return grew


class Housekeeping:
    """Runs retention and reports dropped keys for one `Service`."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.dropped = DroppedKeys(service.detector)
        self.next_purge = 0.0

    def run(self) -> None:
        """Report dropped keys; purge old rows when due. State failures are logged, not raised."""
        self._report_dropped()
        now = time.monotonic()
        if now < self.next_purge:
            return
        self.next_purge = now + self.service.retention.every_s
        try:
            self._purge()
        except StateError as exc:
            self.service.log.warning("retention purge failed; will try again", error=str(exc))

    def _report_dropped(self) -> None:
        grew = self.dropped.take()
        if not grew:
            return
        total = sum(grew.values())
        self.service.metrics.rule_keys_dropped(total)
        top = sorted(grew.items(), key=lambda kv: -kv[1])[:5]
        self.service.log.warning(
            "rule keys dropped at the per-account cap", keys=total, cap=MAX_KEYS,
            accounts=dict(top), accounts_affected=len(grew),
        )  # fmt: skip

    def _purge(self) -> None:
        svc, keep = self.service, self.service.retention
        sent = svc.store.purge_sent(svc.clock() - keep.sent_s)
        alerts = 0
        if svc.detector.newest is not None:
            alerts = svc.store.purge_alerts(svc.detector.newest - timedelta(seconds=keep.alerts_s))
        rejected = svc.store.purge_rejected(svc.clock() - keep.rejected_s, keep.rejected_rows)
        silences = svc.silence_book().purge(svc.clock() - keep.alerts_s)
        if sent or alerts or rejected or silences:
            svc.metrics.purged("sent_notifications", sent)
            svc.metrics.purged("resolved_alerts", alerts)
            svc.metrics.purged("rejected_rows", rejected)
            svc.log.info(
                "retention purge", sent_notifications=sent, resolved_alerts=alerts,
                rejected_rows=rejected, ended_silences=silences,
            )  # fmt: skip
