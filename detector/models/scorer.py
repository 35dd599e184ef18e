"""The online anomaly model: each account against its own seasonal past, with count statistics.

Per CDR: add it to the bucket its call *started* in (event time; a few additions), however
late its record arrives, as long as that bucket is still open. A bucket stays open for
`horizon` (3 h by default: every ordinary call has ended by then) after its end on the
detector's watermark, then it is judged for good and learned, so every call counts, long
ones included (their records appear only when they end). The feed allows longer calls (the
poller reads calls up to 24 h); a record that comes after its bucket was judged joins the
oldest bucket still open (counted in `late`): no call is dropped, and open buckets stay
bounded (12 of 15 minutes per account at the default horizon). Waiting
3 hours for a verdict would be slow for what is obvious, so each bucket also gets an *early
look* as soon as it ends, on its counts so far against absolute expectations (`judge.py`):
an extreme bucket (surprise >= `thresholds.immediate`) is reported then and not again.
Buckets are judged against the running day's own level (`daylevel.py`): a day running high
as a whole (a dialer's first campaign day after quiet ones) lifts what its buckets are judged
against, as far as the account's days plausibly swing, and a day beyond that is reported
once, as a day.

The final judgement (`judge.py`, `counts.py`): calls against the slot's seasonal expectation,
parts of calls against their usual shares, each as a deviance residual with the account's
wobble; the bucket's surprise is the largest, Bonferroni-corrected over features. A finding
when the surprise reaches `thresholds.warning` in `persist_buckets` buckets in a row, or
`thresholds.immediate` at once. Alongside, a daily CUSUM per feature (`drift.py`) adds up
what no single bucket shows (a ramp over days). What looked normal is learned with full
weight, what did not with a tenth (`learning.py`): anomalies and ramps are not absorbed, so
their repeats stay anomalous; a lasting jump of level that was reported is accepted once
(`_accept`), so a campaign that switched on is not reported for weeks.

Accounts in their first `warmup` (2 days by default, and never less than four learned
buckets, whatever the setting) are learned, not judged; unseen slots (a first weekend night)
fall back on the nearest hour with history, the same hour on the other kind of day, then on
the account's level shaped by its segment's hour profile (`baseline.py`, `segments.py`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from detector.domain import CDR, AlertTiming, Finding, Severity
from detector.models import daylevel, explain, snapshot
from detector.models.account import AccountModelState, Talk
from detector.models.baseline import Baseline
from detector.models.config import ModelConfig, Thresholds
from detector.models.counts import count_deviance, count_z, score, surprise, z_of
from detector.models.drift import Drift
from detector.models.features import FEATURES, KEYS, N_FEATURES, Bucket
from detector.models.judge import (
    Context,
    Usual,
    Verdict,
    at_day_level,
    at_level,
    combined,
    judge,
    usual,
    window_z,
)
from detector.models.learning import learn_bucket, learn_calls, winsorized
from detector.models.segments import Segment
from detector.windows.clock import Zones
from detector.windows.seasonal import WEEKEND_START, hour_of_week

SOURCE = "model:account-behaviour"
"""The `Finding.source` of every model finding."""

LOOKED, REPORTED = 1, 2
"""`Bucket.looked`: the early look judged it; it also reported it."""

WOBBLE_AFTER_DAYS = 2
"""Days after the warm-up before an account's own days teach its day wobble: the first
days' expectations still lean on priors, and their misses are not the account's wobble."""

ACCEPT_BUCKETS = 4
ACCEPT_SHARE = 0.25
ACCEPT_RATIO = 2.0
ACCEPT_MAX = 100.0
"""A run of at least `ACCEPT_BUCKETS` buckets with unusually many calls, covering a quarter
of a day's expected calls at twice the expectation or more, is a new level (rescaled by at
most 100x at once)."""

MIN_HISTORY_BUCKETS = 4
"""Learned buckets an account needs before any judgement, whatever `warmup` says: with none
the model would judge a first bucket against nothing (3 calls where 0.006 are expected)."""

DRIFT_EXCLUDE_Z = 4.0
"""A feature this unusual in a bucket (the bucket or window judgement's business) is left out
of the day's drift sums."""

ONGOING_Z = 1.0
"""A window is judged only while its bucket shows the feature at least this far above usual."""

DAY_WOBBLE_STRENGTH = 100.0
"""Weight (in squared expected calls per day) of the segment's day wobble in an account's."""


BUSY_RATIO = 3.0
BUSY_FLOOR = 10.0
"""An account's days swing between busy and quiet ones (dialer campaigns on and off) when
its recent peak day of a kind brought `BUSY_RATIO` times its recent trough day or more (a
trough of fewer than `BUSY_FLOOR` calls counts as that many: a small account's chance
swings are not campaigns); its calls are then judged against its busy days."""


class AnomalyModel:
    """Scores per-account buckets against the account's baseline and its segment's priors."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.zones = Zones(config.timezone, config.timezones)
        self.bucket_s = config.bucket_s
        self.horizon = math.ceil(config.horizon.total_seconds() / self.bucket_s)
        self.warmup = int(config.warmup.total_seconds()) // self.bucket_s
        self.min_history = MIN_HISTORY_BUCKETS
        self.max_gap = max(int(config.max_gap.total_seconds()) // self.bucket_s, 1)
        self.per_day = 86400.0 / self.bucket_s
        self.per_slot = 3600.0 / self.bucket_s
        """Buckets of one slot in a day: they share the slot's estimate, so its error."""
        self.enabled = tuple(key in config.features for key in KEYS)
        self.segments: dict[str, Segment] = {}
        self.talk = Talk()
        """Talk seconds judged for good and dropped as too late, over this model's life."""
        self.restored_note = ""
        """What `restore_global` said about the saved state (set aside, migrated) at start."""
        self.half_drift = config.drift.threshold / 2.0
        self.swing_z = z_of(config.thresholds.warning)
        self.keep = 1.0 - config.bucket / config.window

    def new_state(self) -> AccountModelState:
        """Empty state for a newly seen account."""
        return AccountModelState(baseline=Baseline.empty())

    def global_state(self) -> bytes:
        """The shared state (segments) as versioned bytes (`snapshot.py`)."""
        return snapshot.dump(self.segments)

    def restore_global(self, blob: bytes) -> str:
        """Inverse of `global_state`; returns a note when an older layout was set aside,
        raises StateError (with what to do) for one this release cannot read."""
        restored = snapshot.load(blob)
        self.segments = restored.segments
        return restored.note

    def timing(self) -> AlertTiming:
        """Alert lifecycle for model findings: resolve after two quiet buckets."""
        return AlertTiming(resolve_after_s=2.0 * self.bucket_s, cooldown_s=4.0 * self.bucket_s)

    def observe(self, cdr: CDR, state: AccountModelState) -> list[Finding]:
        """Count a CDR into the open bucket its call started in (findings come from `advance`)."""
        if self.config.disabled and cdr.account in self.config.disabled:
            return []
        index = int(cdr.start.timestamp()) // self.bucket_s
        first = state.next
        if first is None:
            state.next = first = index - self.horizon  # earlier calls may still arrive
            state.looked = state.since = index
        self.talk.seen_s += cdr.talk_s
        if index < first:  # its bucket was judged for good: it joins the oldest open one
            state.late += 1
            self.talk.late_s += cdr.talk_s
            index = first
        state.since = min(state.since, index)
        bucket = state.pending.get(index)
        if bucket is None:
            bucket = state.pending[index] = Bucket(looked=LOOKED if index < state.looked else 0)
        baseline = state.baseline
        if baseline is None:
            baseline = state.baseline = Baseline.empty()
        bucket.add(cdr, self.config.home_country, baseline.long_s(), baseline.callers)
        return []

    def advance(self, account: str, watermark: datetime, state: AccountModelState) -> list[Finding]:
        """Event time reached `watermark`: early looks at buckets that ended, final
        judgements of buckets no record can reach any more."""
        if state.next is None:
            return []
        ended = int(watermark.timestamp()) // self.bucket_s
        findings: list[Finding] = []
        if ended > state.looked:
            self._early(account, state, ended, findings)
        final = ended - self.horizon
        if final > state.next:
            self._finalize(account, state, final, findings)
        return findings

    # --- early look -------------------------------------------------------------------------

    def _early(
        self, account: str, state: AccountModelState, ended: int, out: list[Finding]
    ) -> None:
        """Every bucket that ended since the last look, quiet ones too, in order: one with
        calls is judged (absolute counts only) against the running day's own level so far
        (`daylevel.py`), then joins that level; a day beyond how far the account's days swing
        is reported once."""
        start = max(state.looked, ended - int(self.per_day))
        state.looked = ended
        drift = state.drift
        for index in range(start, ended):
            bucket = state.pending.get(index)
            ctx = self._context(account, state, index)
            u = usual(ctx, calls_only=bucket is None)
            day = self._local_day(account, index)
            lift = daylevel.lift(drift, day, ctx, self.per_slot, self.swing_z)
            calls = joining = 0.0
            if bucket is not None:
                calls = float(bucket.attempts)
                joining = self._look(account, state, ctx, u, lift, index, bucket, out)
            if bucket is None or bucket.looked != REPORTED:  # a reported burst is not the day
                drift.add_on_day(calls, joining, u.mu, u.prior)
            if lift > 1.0 and self._warm(state, index):
                self._judge_day(account, state, ctx, lift, index, bucket, out)

    def _look(
        self, account: str, state: AccountModelState, ctx: Context, u: Usual, lift: float,
        index: int, bucket: Bucket, out: list[Finding],
    ) -> float:  # fmt: skip
        """The early look at a bucket that just ended, against the day's level `lift`; returns
        the calls it adds to that level (`daylevel.joining`)."""
        calls = float(bucket.attempts)
        if bucket.looked:
            return calls
        bucket.looked, bucket.lift = LOOKED, lift
        if not self._warm(state, index):
            return calls
        verdict = judge(bucket, ctx, at_level(u, lift), early=True)
        state.score = score(verdict.surprise)
        th = self.config.thresholds_of(self._segment_name(account, state))
        if verdict.surprise >= th.immediate:
            bucket.looked = REPORTED
            summary = explain.counts(verdict, bucket)
            out.append(self._finding(account, index, verdict.surprise, th, summary,
                                     bucket, kind="early"))  # fmt: skip
        return daylevel.joining(calls, u, verdict.z[0], self.config.learn_below)

    def _judge_day(
        self, account: str, state: AccountModelState, ctx: Context, lift: float, index: int,
        bucket: Bucket | None, out: list[Finding],
    ) -> None:  # fmt: skip
        """Report, once a day, a day whose own level is beyond how far the account's days
        plausibly swing (`daylevel.beyond`): its buckets no longer say it."""
        day = self._local_day(account, index)
        found = daylevel.beyond(state.drift, day, ctx, lift, self.per_slot, self.swing_z)
        if found is None:
            return
        observed, expected, wobble = found
        state.drift.day_reported(mark=True)
        th = self.config.thresholds_of(self._segment_name(account, state))
        value = max(surprise(count_z(observed, expected, wobble)), th.warning)
        summary = f"calls {explain.ratio(observed, expected)} so far today"
        out.append(self._finding(account, index, value, th, summary, bucket, kind="day"))

    # --- final judgement --------------------------------------------------------------------

    def _finalize(
        self, account: str, state: AccountModelState, final: int, out: list[Finding]
    ) -> None:
        """Judge every bucket before `final`: open ones and (up to `max_gap`) quiet ones."""
        ready = sorted(i for i in state.pending if i < final)
        position = state.next or final
        for index in [*ready, final]:
            for quiet in range(max(position, index - self.max_gap, state.since), index):
                self._quiet(account, state, quiet, out)
            if index < final:
                self._final(account, state, index, state.pending.pop(index), out)
            position = index + 1
        state.next = final

    def _quiet(
        self, account: str, state: AccountModelState, index: int, out: list[Finding]
    ) -> None:
        ctx = self._day(account, state, index, out)
        u = usual(ctx, calls_only=True)
        state.streak = 0
        drift = state.drift
        silent = -count_deviance(0.0, u.mu, u.spread)  # how unusual the silence is
        normal = drift.cusum(0) < self.half_drift and silent < self.config.learn_below
        learn_calls(0, ctx, u, 1.0 if normal else self.config.unusual_weight)
        drift.add(0, 0.0, u.mu)
        drift.add_estimate(u.mu, u.prior, u.noise * self.per_slot)
        drift.fade(self.keep, u.mu)
        if self._warm(state, index):
            self._check_drift(account, state, ctx, index, out)
        state.age += 1

    def _final(
        self, account: str, state: AccountModelState, index: int, bucket: Bucket, out: list[Finding]
    ) -> None:
        ctx = self._day(account, state, index, out)
        state.drift.count_day(bucket.attempts)
        self.talk.judged_s += bucket.talk_s
        u = usual(ctx)
        verdict = judge(bucket, ctx, u)
        window = self._slide(state, bucket.parts(), verdict, u)
        verdict = combined(verdict, window, self.enabled)
        warm = self._warm(state, index)
        if warm:
            shown = at_day_level(verdict, bucket.attempts, window[0], u, bucket.lift, self.enabled)
            state.score = score(shown.surprise)
            self._report(account, state, index, bucket, shown, out)
            frozen = tuple(state.drift.cusum(f) >= self.half_drift for f in range(N_FEATURES))
            learn_bucket(bucket, verdict, ctx, u, frozen)
        else:
            calm = Verdict((0.0,) * N_FEATURES, verdict.expected, verdict.usual, 0.0)
            learn_bucket(bucket, calm, ctx, u, (False,) * N_FEATURES, warm=False)
        if warm:
            self._accept(state, ctx, bucket.attempts, verdict)
        drift = state.drift
        for f, count in enumerate(bucket.parts()):
            if verdict.z[f] < DRIFT_EXCLUDE_Z:  # what single buckets show is not drift
                drift.add(f, count, verdict.expected[f])
        if verdict.z[0] < DRIFT_EXCLUDE_Z:
            drift.add_estimate(u.mu, u.prior, u.noise * self.per_slot)
        if warm:
            self._check_drift(account, state, ctx, index, out, bucket)
        state.age += 1

    def _accept(self, state: AccountModelState, ctx: Context, calls: int, verdict: Verdict) -> None:
        """A lasting change of level is accepted: once a reported run of buckets with
        unusually many calls covers `ACCEPT_SHARE` of a day's expected calls at `ACCEPT_RATIO`
        times the expectation or more, the account's slots are rescaled to the run's level.
        A campaign switching on, or an account growing overnight, is reported once, not every
        bucket for weeks; a few hours at night (a night shift) cover too little of a day to be
        accepted, so a second night is still reported."""
        drift = state.drift
        unusual = verdict.z[0] >= self.config.learn_below
        observed, expected, length = drift.run(unusual, calls, verdict.expected[0])
        if length < ACCEPT_BUCKETS or expected < ACCEPT_SHARE * drift.full_day():
            return
        if not drift.run_reported() and not drift.day_reported(drift.day):
            return  # a change nobody was told about is not accepted (a ramp stays a ramp)
        if observed < ACCEPT_RATIO * expected:
            return
        assert state.baseline is not None  # noqa: S101 (a judged bucket has a baseline)
        state.baseline.rescale(min(observed / expected, ACCEPT_MAX))
        drift.run(False, 0.0, 0.0)
        drift.alert(0)

    def _slide(
        self, state: AccountModelState, parts: tuple[int, ...], verdict: Verdict, u: Usual
    ) -> list[tuple[float, float, float]]:
        """Move every feature's recent window on by this bucket; each window's z and sums.

        A bucket whose own z is beyond `learn_below` enters the window with its excess shrunk
        to that level: the window is for trickles no bucket shows, and a burst that was
        already judged must not keep the window unusual for hours after it ended. And the
        window only speaks for a feature the bucket itself shows above usual (z >=
        `ONGOING_Z`): a trickle that stopped is not reported for the hours its window fades."""
        drift, keep, limit = state.drift, self.keep, self.config.learn_below
        out = []
        for f in range(N_FEATURES):
            x, e, z = float(parts[f]), verdict.expected[f], verdict.z[f]
            if z > limit:  # an extreme bucket weighs in the window as a merely unusual one
                x = e + (x - e) * limit / z
            observed, expected = drift.slide(f, x, e, keep)
            ongoing = z >= ONGOING_Z and self.enabled[f]
            z = window_z(f, observed, expected, u) if ongoing else 0.0
            out.append((z, observed, expected))
        return out

    def _report(
        self, account: str, state: AccountModelState, index: int, bucket: Bucket,
        verdict: Verdict, out: list[Finding],
    ) -> None:  # fmt: skip
        """Count the streak of unusual buckets and report a persistent or extreme one."""
        th = self.config.thresholds_of(self._segment_name(account, state))
        unusual = verdict.surprise >= th.warning
        state.streak = state.streak + 1 if unusual else 0
        persistent = state.streak >= self.config.persist_buckets
        if not unusual:
            return
        if bucket.looked == REPORTED:  # the early look reported it already
            state.drift.run_reported(mark=True)
            return
        if persistent or verdict.surprise >= th.immediate:
            summary = explain.final(verdict, bucket, state.baseline)
            out.append(self._finding(account, index, verdict.surprise, th, summary, bucket))
            state.drift.run_reported(mark=True)

    # --- days and drift ---------------------------------------------------------------------

    def _day(
        self, account: str, state: AccountModelState, index: int, out: list[Finding]
    ) -> Context:
        """The bucket's context; closes the account's running day when the bucket starts a
        new local day."""
        ctx = self._context(account, state, index)
        local_hour = self.zones.of(account).local_hour(index * self.bucket_s)
        day = local_hour // 24
        drift = state.drift
        if day != drift.day:
            if drift.day >= 0:
                self._close_day(account, state, ctx, index, out)
            weekend = hour_of_week(local_hour) >= WEEKEND_START
            complete = index > state.since
            drift.start_day(day, self._full_day(ctx, weekend), weekend, complete)
            ctx = self._context(account, state, index)
        return ctx

    def _full_day(self, ctx: Context, weekend: bool) -> float:
        """Calls a whole local day (weekday or weekend) is expected to bring."""
        baseline, profile = ctx.baseline, ctx.segment.profile
        prior = self.config.prior_strength * 3600.0 / self.bucket_s
        first = 24 * weekend
        hourly = sum(
            baseline.expected(s, profile, prior, ctx.day_wobble)[0]
            for s in range(first, first + 24)
        )
        return hourly * 3600.0 / self.bucket_s

    def _close_day(
        self, account: str, state: AccountModelState, ctx: Context, index: int, out: list[Finding]
    ) -> None:
        drift, cfg = state.drift, self.config.drift
        if not self._warm(state, index):
            return
        learn = index - state.since >= self.warmup + WOBBLE_AFTER_DAYS * self.per_day
        for f in range(N_FEATURES):
            observed, expected = drift.totals(f)
            if not self.enabled[f] or expected < cfg.min_expected:
                continue
            alerted = drift.alerted(f)
            wobble = self._day_wobble(state, ctx, f)
            d = drift.close_day(f, wobble, cfg.reference, cfg.cap)
            up = d >= self.config.learn_below or (d > 0.0 and drift.cusum(f) > 0.0)
            if drift.cusum(f) >= cfg.threshold:
                out.append(self._drift_finding(account, state, index, f, observed, expected))
                drift.alert(f)
            elif learn and not alerted and not up:
                self._learn_day(drift, ctx, f, observed - expected, expected, wobble)
        drift.days += 1

    def _learn_day(
        self, drift: Drift, ctx: Context, f: int, miss: float, expected: float, wobble: float
    ) -> None:
        """A day that was not unusually high teaches how much the account's days swing: its
        squared miss beyond Poisson noise and beyond what the expectation itself may be off by
        (`Drift.estimate`), winsorized. An unusual excess, or any excess while the CUSUM is
        past half its threshold, does not (a ramp would teach the wobble that hides it)."""
        variance = expected * (1.0 + wobble * expected)
        known = expected + (drift.estimate() if f == 0 else 0.0) * expected**2
        spread = winsorized(miss, variance) + variance - known
        drift.learn_day(f, spread)
        ctx.segment.learn_day_wobble(f, spread, expected**2)

    def _check_drift(
        self, account: str, state: AccountModelState, ctx: Context, index: int,
        out: list[Finding], bucket: Bucket | None = None,
    ) -> None:  # fmt: skip
        """Alert on a feature whose CUSUM, with the running day as if it ended now, is past h
        (once half of the day's expected calls are in)."""
        drift, cfg = state.drift, self.config.drift
        if drift.totals(0)[1] < 0.5 * drift.full_day():
            return
        for f in range(N_FEATURES):
            observed, expected = drift.totals(f)
            if not self.enabled[f] or observed <= expected or expected < cfg.min_expected:
                continue
            if drift.alerted(f):
                continue
            wobble = self._day_wobble(state, ctx, f)
            if drift.running(f, wobble, cfg.reference, cfg.cap) >= cfg.threshold:
                out.append(
                    self._drift_finding(account, state, index + 1, f, observed, expected, bucket)
                )
                drift.alert(f)

    def _day_wobble(self, state: AccountModelState, ctx: Context, f: int) -> float:
        """Feature `f`'s day-to-day wobble, plus for calls how uncertain the day's expectation
        itself is (a first weekend judged against a prior is not a drift)."""
        floor = self.config.drift.min_wobble**2
        drift = state.drift
        wobble = drift.wobble(f, ctx.segment.day_wobble_of(f), DAY_WOBBLE_STRENGTH, floor)
        return wobble + drift.estimate() if f == 0 else wobble

    # --- helpers ----------------------------------------------------------------------------

    def _warm(self, state: AccountModelState, index: int) -> bool:
        """Whether bucket `index` of the account may be judged: `warmup` after its first call,
        and never before `MIN_HISTORY_BUCKETS` of its buckets were learned."""
        baseline = state.baseline
        learned = baseline.level_count if baseline is not None else 0
        return index - state.since >= self.warmup and learned >= self.min_history

    def _context(self, account: str, state: AccountModelState, index: int) -> Context:
        baseline = state.baseline
        if baseline is None:
            baseline = state.baseline = Baseline.empty()
        name = self._segment_name(account, state)
        segment = self.segments.get(name)
        if segment is None:
            segment = self.segments[name] = Segment()
        floor = self.config.drift.min_wobble**2
        day = state.drift.wobble(0, segment.day_wobble_of(0), DAY_WOBBLE_STRENGTH, floor)
        slot = self._slot(account, index)
        peak, trough = state.drift.swing()
        busy = peak if trough >= 0.0 and peak >= BUSY_RATIO * max(trough, BUSY_FLOOR) else 0.0
        full = state.drift.full_day()
        return Context(baseline, segment, slot, self.config, self.enabled, day, busy, full)

    def _segment_name(self, account: str, state: AccountModelState) -> str:
        level = state.baseline.level if state.baseline is not None else 0.0
        return self.config.banding.of(account, level * self.per_day)

    def _local_day(self, account: str, index: int) -> int:
        """The account's local day (days since the epoch) of bucket `index`."""
        return self.zones.of(account).local_hour(index * self.bucket_s) // 24

    def _slot(self, account: str, index: int) -> int:
        """Seasonal slot of a bucket: the account's local hour of day, weekday or weekend."""
        local = self.zones.of(account).local_hour(index * self.bucket_s)
        weekend = hour_of_week(local) >= WEEKEND_START
        return 24 * weekend + local % 24

    def _finding(
        self, account: str, index: int, surprise: float, th: Thresholds, summary: str,
        bucket: Bucket | None, *, kind: str = "bucket", window_s: float | None = None,
    ) -> Finding:  # fmt: skip
        severity = Severity.CRITICAL if surprise >= th.critical else Severity.WARNING
        details = [("surprise", f"{surprise:.1f}"), ("look", kind)]
        if bucket is not None:
            details.append(("calls", str(bucket.attempts)))
        return Finding(
            source=SOURCE,
            account=account,
            key=account,
            severity=severity,
            value=score(surprise),
            threshold=score(th.warning),
            window_s=float(window_s or self.bucket_s),
            at=datetime.fromtimestamp((index + 1) * self.bucket_s, UTC),
            summary=summary,
            evidence=tuple(bucket.call_ids) if bucket is not None else (),
            labels=(("account", account), ("pattern", "account_behaviour")),
            shadow=self.config.shadow,
            details=tuple(details),
        )

    def _drift_finding(
        self, account: str, state: AccountModelState, index: int, f: int,
        observed: float, expected: float, bucket: Bucket | None = None,
    ) -> Finding:  # fmt: skip
        cfg = self.config.drift
        surprise = 2.0 * cfg.reference * cfg.threshold / math.log(10.0)
        th = self.config.thresholds_of(self._segment_name(account, state))
        name = FEATURES[f].name
        summary = f"{name} {explain.ratio(observed, expected)} so far today, drifting up"
        return self._finding(account, index - 1, max(surprise, th.warning), th, summary, bucket,
                             kind="drift", window_s=86400.0)  # fmt: skip
