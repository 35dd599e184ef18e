"""The daemon: poll → detect → commit, once per cycle, until told to stop; delivery runs apart.

One cycle fetches new CDRs, runs them through the pure `Detector`, and commits the cursor,
seen ids, touched account states, alerts and outbox rows in one SQLite transaction, then wakes
the delivery task (`alerting.delivery`), whose threads send the outbox rows: no receiver can
slow polling or detection. A fault while fetching abandons the cycle before anything is
applied, so the next cycle starts from the last commit. A state file that cannot be written
(disk full, read-only) abandons the cycle too: the detector is rebuilt from the last commit and
the loop retries with backoff while /readyz says why. SIGTERM/SIGINT finish the current cycle,
commit, give due notifications a few seconds and exit 0; SIGHUP (or a change to a rule file)
reloads the rules — an invalid set is refused and the previous one keeps running.

Exit codes (`errors.exit_code`): 2 for what an operator must fix (401/403 from the API, a
damaged state file), 1 when the loop cannot go on but a restart may help.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from detector.alerting.delivery import Delivery
from detector.console import Console
from detector.cyclelog import CycleLog
from detector.domain import CDR
from detector.errors import EXIT_CONFIG, AuthError, RuleError, SourceError, StateError, exit_code
from detector.health import Health, HealthPolicy
from detector.housekeeping import Housekeeping, Retention
from detector.metrics import Metrics, firing_by_rule
from detector.models.scorer import AnomalyModel
from detector.pipeline import Detector, Step
from detector.rules.loader import load_rules
from detector.rulewatch import RuleWatch
from detector.source.rows import PollResult
from detector.state.notifications import SilenceBook
from detector.state.store import Cycle, Snapshot, StateStore
from detector.summary import CycleSummary
from detector.webhooks import merge
from detector.webhooks.intake import Intake, latencies

DEFAULT_HEALTH = HealthPolicy()
DEFAULT_RETENTION = Retention()


class FeedPoller(Protocol):
    """What the loop needs from a poller: one exactly-once poll per cycle."""

    def poll(
        self, cursor: dict[str, Any] | None, seen: Callable[[Collection[str]], set[str]]
    ) -> PollResult:
        """Every CDR not returned before, and the next cursor."""
        ...


class Service:
    """Owns the loop; everything it uses is injected (see `assembly.build_service`).

    `rebuild` makes a detector from a state snapshot; with it, a failed commit rewinds to the
    last commit and the loop goes on; without it (some tests), the loop exits with code 1.
    """

    def __init__(
        self,
        *,
        poller: FeedPoller,
        detector: Detector,
        model: AnomalyModel | None,
        store: StateStore,
        delivery: Delivery,
        metrics: Metrics,
        receivers: list[str],
        rules_dir: Path,
        interval_s: float,
        seen_ttl: timedelta,
        log: Any,
        clock: Callable[[], float] = time.time,
        observer: Callable[[PollResult, Step], None] | None = None,
        health: HealthPolicy = DEFAULT_HEALTH,
        retention: Retention = DEFAULT_RETENTION,
        hooks: Intake | None = None,
        rebuild: Callable[[Snapshot], Detector] | None = None,
        summary_every_s: float = 300.0,
    ) -> None:
        self.poller, self.detector, self.model = poller, detector, model
        self.store, self.delivery, self.metrics = store, delivery, metrics
        self.receivers, self.interval_s, self.seen_ttl = receivers, interval_s, seen_ttl
        self.log, self.clock, self.observer = log, clock, observer
        self.retention, self.rebuild, self.hooks = retention, rebuild, hooks
        self.cursor: dict[str, Any] | None = None
        self.keep_from: datetime | None = None
        """The tailing cursor's low-water mark: seen ids from it on stay (`PollResult`)."""
        self.unread_s = 0.0
        """Feed seconds the last successful poll left unread (its open gaps)."""
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.watch = RuleWatch(rules_dir)
        self.watch.changed()
        self.health = Health(started=clock(), policy=health)
        self.backoff_s = 0.0
        self.catching_up = False
        """The last poll stopped at its page budget: poll again without waiting the interval."""
        self.rewind_pending = False
        """A commit failed: the detector must be rebuilt from the last commit before going on."""
        self.housekeeping = Housekeeping(self)
        self.summary = CycleSummary(summary_every_s, clock())
        self.cycle_log = CycleLog(metrics, log, self.summary, self.health, clock)
        metrics.receivers(receivers)
        metrics.rules(detector.policy.timings)
        metrics.poll_interval(interval_s)
        self._record_accounts(detector.accounts)
        self._silences: SilenceBook | None = None
        self.console = Console(self)
        """What the JSON API reads and changes (`detector.console`)."""

    def install_signals(self) -> None:
        """SIGTERM/SIGINT drain and stop; SIGHUP reloads rules (main thread only)."""
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())

    def run(self) -> int:
        """Loop until stopped; return the process exit code."""
        self.log.info("started", receivers=self.receivers, interval_s=self.interval_s)
        self.delivery.start()
        try:
            code = self._loop()
        finally:
            self.delivery.stop()
        self.log.info("stopped", cycles=self.health.cycles, exit_code=code)
        return code

    def _loop(self) -> int:
        while not self.stopping.is_set():
            if self.reload_requested.is_set() or self.watch.changed():
                self.reload_requested.clear()
                self.reload_rules()
            try:
                self.cycle()
            except AuthError as exc:
                self.log.error(
                    "stopping: the API refused our credentials", status=exc.status, error=str(exc)
                )
                return EXIT_CONFIG
            except StateError as exc:
                if not exc.transient or self.rebuild is None:
                    self.log.error("stopping: the state file cannot be used", error=str(exc))
                    return exit_code(exc)
                self._state_failed(exc)
            self.delivery.wake()
            self.housekeeping.run()
            if (summary := self.summary.take(self.clock())) is not None:
                self.log.info("summary", **summary)
            self._idle(0.0 if self.catching_up else self.interval_s + self.backoff_s)
        return 0

    def cycle(self) -> Step | None:
        """One poll cycle; returns what the detector did, or None when the fetch failed."""
        started = self.clock()
        if self.rewind_pending:
            self._rewind()
        try:
            result = self.poller.poll(self.cursor, self.store.seen)
        except AuthError:
            self.metrics.poll_cycle(
                self.clock() - started, ok=False, now=self.clock(), newest_event_ts=None
            )
            raise
        except SourceError as exc:
            self.catching_up = False
            self._fetch_failed(exc, started)
            return None
        self.catching_up = not result.complete
        return self.apply(result, started)

    def apply(
        self, result: PollResult, started: float, *, tailing: bool = True, polled: bool = True
    ) -> Step:
        """Detect over one poll's CDRs, and the webhook events waiting, and commit the outcome.

        Backfill passes `tailing=False`: its results carry a progress marker, not a cursor; a
        cycle run for webhooks alone passes `polled=False` too (`hook_cycle`).
        """
        confirmed = merge.confirm(result, self.store.early)
        fetched = list(result.cdrs)
        folded = self._drain_hooks([key for key, _ in result.new_ids])
        result.cdrs += folded.cdrs
        result.rejected += folded.rejected
        step = self.detector.process(result.cdrs)
        if self.hooks is not None:
            step.extend(self._watch_calls(self.hooks, result, folded, confirmed))
        changed = self._commit(result, step, tailing, folded.early, confirmed)
        self._record(result, step, started, polled=polled)
        self._hook_latency(step, folded, fetched)
        self._record_accounts(changed)
        if self.observer is not None:
            self.observer(result, step)
        return step

    def _idle(self, seconds: float) -> None:
        """Wait for the next poll; with webhooks on, run a cycle whenever events arrive."""
        if self.hooks is None:
            self.stopping.wait(seconds)
        else:
            self.hooks.idle(seconds, self.stopping, self.hook_cycle)

    def hook_cycle(self) -> Step | None:
        """A cycle for the queued webhook events alone: no API request, committed at once.

        A state failure is left to the next poll cycle, which handles it (rewind or exit)."""
        try:
            if self.rewind_pending:
                self._rewind()
            step = self.apply(PollResult([], [], {}, []), self.clock(), tailing=False, polled=False)
        except StateError as exc:
            self.log.error("webhook cycle not committed; the next poll retries", error=str(exc))
            if exc.transient and self.rebuild is not None:
                self.rewind_pending = True
            return None
        self.delivery.wake()
        return step

    def _drain_hooks(self, taken: Collection[str]) -> merge.Folded:
        """The webhook events queued since the last cycle (nothing without webhooks)."""
        if self.hooks is None:
            return merge.Folded()
        return self.hooks.fold(self.store.seen, self.store.early, taken)

    def _watch_calls(
        self, hooks: Intake, result: PollResult, folded: merge.Folded, confirmed: list[str]
    ) -> Step:
        """Attempt rules and calls in progress (`detector.opencalls`), with their metrics."""
        ended = {c.call_id for c in result.cdrs} | set(confirmed)
        ended |= {r.call_id for r in result.rejected if r.call_id}
        wall = self.clock()
        found = hooks.findings(
            folded, result.cdrs, ended, self._processed, self.detector.engine, wall
        )
        if (census := hooks.census(wall)) is not None:
            now, expired = census
            self.metrics.open_calls(now.by_account, now.by_destination, now.oldest_s, expired)
        return self.detector.consider(found)

    def _processed(self, ids: Collection[str]) -> set[str]:
        """The ids among `ids` whose CDR was committed (polled, or early from a Hangup)."""
        return self.store.seen(ids) | self.store.early(ids)

    def _hook_latency(self, step: Step, folded: merge.Folded, polled: list[CDR]) -> None:
        for path, seconds in latencies(step.alerts, folded, polled, self.clock()):
            self.metrics.alert_latency(path, seconds)

    def _fetch_failed(self, exc: SourceError, started: float) -> None:
        self.backoff_s = min(max(self.backoff_s * 2, self.interval_s), 300.0)
        self.cycle_log.fetch_failed(str(exc), started, self.unread_s, self.backoff_s)

    def _state_failed(self, exc: StateError) -> None:
        """A commit failed: keep the last commit, rebuild from it before the next cycle."""
        self.backoff_s = min(max(self.backoff_s * 2, self.interval_s), 300.0)
        self.catching_up = False
        self.rewind_pending = True
        self.cycle_log.state_failed(str(exc), self.backoff_s)

    def _rewind(self) -> None:
        """Replace the in-memory detector by the one the last commit describes."""
        if self.rebuild is None:
            raise RuntimeError("rewind needs a `rebuild` function")
        snapshot = self.store.load()
        self.detector = self.rebuild(snapshot)
        self.model = self.detector.model
        self.cursor = snapshot.cursor
        self.housekeeping.dropped.reset(self.detector)
        self.rewind_pending = False
        self.log.info("resumed from the last commit", cdrs_processed=snapshot.cdrs_processed)

    def _commit(
        self,
        result: PollResult,
        step: Step,
        tailing: bool,
        early: Collection[tuple[str, datetime]] = (),
        confirmed: Collection[str] = (),
    ) -> Collection[str]:
        """Commit the cycle; returns the accounts whose state changed."""
        self.detector.evict_idle()
        changed, evicted = self.detector.take_dirty()
        for account in evicted:
            self.metrics.forget_account(account)
        began = self.clock()
        self.store.commit_cycle(
            Cycle(
                cursor=result.cursor if tailing else None,
                new_ids=result.new_ids,
                cdrs=len(result.cdrs),
                changed_accounts=changed,
                evicted_accounts=evicted,
                detector_meta=self.detector.snapshot_meta(),
                model_blob=self.model.global_state() if self.model and result.cdrs else None,
                alerts=step.alerts,
                now=self.clock(),
                rejected=result.rejected,
                early=early,
                confirmed=confirmed,
            )
        )
        self.metrics.state_commit(self.clock() - began, len(changed))
        if tailing:
            self.cursor, self.keep_from = result.cursor, result.keep_from
        self.housekeeping.dropped.observe(changed, evicted)
        self._purge_seen()
        return changed

    def _purge_seen(self) -> None:
        """Forget seen ids after `seen_ttl` of event time, but never while the poller's
        low-water mark says a read may still return their rows (an outage or a backlog being
        read back), so however long a gap lasts no CDR is counted twice."""
        if self.detector.newest is not None:
            cutoff = self.detector.newest - self.seen_ttl
            if self.keep_from is not None:
                cutoff = min(cutoff, self.keep_from)
            self.store.purge_seen(cutoff)

    def _record(
        self, result: PollResult, step: Step, started: float, *, polled: bool = True
    ) -> None:
        self.cycle_log.processed(result, step, len(self.detector.accounts))
        if polled:
            self.cycle_log.gaps(result)
            self.unread_s = result.unread_s
            newest = self.detector.newest.timestamp() if self.detector.newest else None
            self.metrics.poll_cycle(
                self.clock() - started, ok=True, now=self.clock(), newest_event_ts=newest
            )
            self.health.succeeded(self.clock())
            self.backoff_s = 0.0
        self.health.counts.update(
            cdrs=len(result.cdrs), rejected=len(result.rejected), alerts=len(step.alerts)
        )

    def deliver_pending(self, timeout_s: float = 30.0) -> bool:
        """Send what the outbox holds now (for one-shot commands such as backfill)."""
        self.delivery.start()
        try:
            return self.delivery.settle(timeout_s)
        finally:
            self.delivery.stop()

    def _record_accounts(self, accounts: Iterable[str]) -> None:
        """Alert state and anomaly score of accounts whose detection state changed."""
        for account in accounts:
            state = self.detector.accounts.get(account)
            if state is None:
                continue
            self.metrics.alert_state(account, firing_by_rule(state.alerts))
            if state.model.score is not None:
                self.metrics.anomaly_score(account, state.model.score)

    def reload_rules(self) -> bool:
        """Load the rule directory again; keep the old set when the new one is invalid.

        On success unchanged rules keep their per-account state, changed rules start fresh
        and removed rules' state is dropped (`carry_over`); the alert policy takes the new
        timings. A refused set leaves everything running and shows in /readyz until a valid
        set loads.
        """
        self.watch.changed()  # whatever triggered this reload is now handled
        try:
            rules = load_rules(self.watch.directory)
        except RuleError as exc:
            self.cycle_log.reload_refused(exc)
            return False
        changes = self.detector.reload(rules)
        self.cycle_log.reloaded(len(rules.rules), changes, self.detector.policy.timings)
        return True

    def silence_book(self) -> SilenceBook:
        """The silences, on a connection of their own (opened at first use)."""
        if self._silences is None:
            self._silences = self.store.silences()
        return self._silences

    def ready(self) -> tuple[bool, str]:
        """/readyz: see `health.Health.ready`."""
        newest = self.detector.newest
        return self.health.ready(self.clock(), newest.timestamp() if newest else None)

    def live(self) -> tuple[bool, str]:
        """/healthz: see `health.Health.live`."""
        return self.health.live(self.clock())
