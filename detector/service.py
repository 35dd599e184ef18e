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
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from stat import S_ISREG
from typing import Any, Protocol

from detector.alerting.delivery import Delivery
from detector.console import Console, iso
from detector.domain import CDR, Alert
from detector.errors import EXIT_CONFIG, AuthError, RuleError, SourceError, StateError, exit_code
from detector.health import Health, HealthPolicy
from detector.housekeeping import Housekeeping, Retention
from detector.metrics import Metrics, firing_by_rule
from detector.models.scorer import AnomalyModel
from detector.pipeline import Detector, Step
from detector.rules.loader import load_rules
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


@dataclass(slots=True)
class RuleWatch:
    """Notices changes to the rule directory by file names, sizes and mtimes.

    The first call only records the directory. A file that vanishes while it is being looked
    at (an editor replacing it) counts as absent, so the next call sees it again as a change.
    """

    directory: Path
    signature: tuple[tuple[str, int, int], ...] | None = None

    def changed(self) -> bool:
        """True when the directory's rule files differ from the last call."""
        current = tuple(self._files())
        changed = self.signature is not None and current != self.signature
        self.signature = current
        return changed

    def _files(self) -> Iterator[tuple[str, int, int]]:
        for path in sorted(self.directory.rglob("*")):
            if path.suffix not in {".yaml", ".yml", ".txt"}:
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            if S_ISREG(stat.st_mode):
                yield str(path), stat.st_size, stat.st_mtime_ns


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
        metrics.receivers(receivers)
        metrics.rules(detector.policy.timings)
        metrics.poll_interval(interval_s)
        self._record_accounts(detector.accounts)
        self._silences: SilenceBook | None = None
        self._expired_seen = 0
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
        census, calls = hooks.census(wall), hooks.calls
        if census is not None:
            expired, self._expired_seen = calls.expired - self._expired_seen, calls.expired
            self.metrics.open_calls(
                census.by_account, census.by_destination, census.oldest_s, expired
            )
        return self.detector.consider(found)

    def _processed(self, ids: Collection[str]) -> set[str]:
        """The ids among `ids` whose CDR was committed (polled, or early from a Hangup)."""
        return self.store.seen(ids) | self.store.early(ids)

    def _hook_latency(self, step: Step, folded: merge.Folded, polled: list[CDR]) -> None:
        for path, seconds in latencies(step.alerts, folded, polled, self.clock()):
            self.metrics.alert_latency(path, seconds)

    def _fetch_failed(self, exc: SourceError, started: float) -> None:
        self.summary.add(failed=True)
        self.health.failed(self.clock(), str(exc))
        if self.health.last_ok is not None:  # the feed goes unread while polls fail
            self.metrics.feed_unread(self.unread_s + max(0.0, self.clock() - self.health.last_ok))
        self.backoff_s = min(max(self.backoff_s * 2, self.interval_s), 300.0)
        self.metrics.poll_cycle(
            self.clock() - started, ok=False, now=self.clock(), newest_event_ts=None
        )
        self.log.warning(
            "poll cycle abandoned; nothing committed", error=str(exc), retry_in_s=self.backoff_s
        )

    def _state_failed(self, exc: StateError) -> None:
        """A commit failed: keep the last commit, rebuild from it before the next cycle."""
        self.summary.add(failed=True)
        self.health.state_failed(self.clock(), str(exc))
        self.backoff_s = min(max(self.backoff_s * 2, self.interval_s), 300.0)
        self.catching_up = False
        self.rewind_pending = True
        self.metrics.poll_cycle(0.0, ok=False, now=self.clock(), newest_event_ts=None)
        self.metrics.state_failure()
        self.log.error(
            "state file write failed; nothing committed, retrying from the last commit",
            error=str(exc), retry_in_s=self.backoff_s,
        )  # fmt: skip

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
        m = self.metrics
        m.calls(result.cdrs)
        for rej in result.rejected:
            m.cdrs_rejected(rej.reason)
        if result.rejected:
            reasons = Counter(r.reason for r in result.rejected)
            self.log.warning(
                "rows rejected",
                count=len(result.rejected),
                reasons=dict(reasons),
                example=result.rejected[0].detail,
            )
        m.late_cdrs(step.late)
        if polled:
            self._gaps(result)
        for f in step.findings:
            m.finding(f.source, f.severity.label)
        for a in step.alerts:
            m.alert(a, self.clock())
        m.accounts_tracked(len(self.detector.accounts))
        if polled:
            newest = self.detector.newest.timestamp() if self.detector.newest else None
            m.poll_cycle(self.clock() - started, ok=True, now=self.clock(), newest_event_ts=newest)
            self.health.succeeded(self.clock())
            self.backoff_s = 0.0
        self.health.counts.update(
            cdrs=len(result.cdrs), rejected=len(result.rejected), alerts=len(step.alerts)
        )
        self.log.debug(
            "cycle",
            cdrs=len(result.cdrs),
            rejected=len(result.rejected),
            requests=result.requests,
            findings=len(step.findings),
            alerts=_describe(step.alerts),
        )
        self.summary.add(
            cdrs=len(result.cdrs), rejected=len(result.rejected), requests=result.requests,
            findings=len(step.findings), alerts=len(step.alerts),
        )  # fmt: skip

    def _gaps(self, result: PollResult) -> None:
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
        self.unread_s = result.unread_s
        for cdr in result.beyond:
            self.log.warning(
                "a call longer than poll.lateness_horizon_s: read late; set the horizon to the "
                "platform's longest call", call_id=cdr.call_id, account=cdr.account,
                talk_s=cdr.talk_s, start=cdr.start.isoformat(),
            )  # fmt: skip
        self.metrics.beyond_horizon(len(result.beyond))

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
            self._reload_refused(exc)
            return False
        changes = self.detector.reload(rules)
        self.health.reload_error = ""
        self.health.last_reload = {
            "ok": True, "at": iso(self.clock()), "rules": len(rules.rules),
            "kept": len(changes.kept), "changed": list(changes.changed),
            "added": list(changes.added), "removed": list(changes.removed),
        }  # fmt: skip
        self.metrics.rule_reload(ok=True)
        self.metrics.rules_loaded(len(rules.rules))
        self.metrics.rules(self.detector.policy.timings)
        self.log.info("rules reloaded", **self.health.last_reload, accounts=len(changes.accounts))
        return True

    def _reload_refused(self, exc: RuleError) -> None:
        self.health.reload_error = str(exc)
        self.health.last_reload = {"ok": False, "at": iso(self.clock()), "error": str(exc)}
        self.metrics.rule_reload(ok=False)
        self.log.error(
            "rule reload refused; previous rules keep running",
            error=str(exc), file=exc.path, rule=exc.rule, field=exc.field,
        )  # fmt: skip

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


def _describe(alerts: list[Alert]) -> list[str]:
    return [f"{a.status.value}:{a.source}:{a.account}:{a.severity.label}" for a in alerts[:10]]
