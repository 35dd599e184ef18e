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
(`judgement._accept`), so a campaign that switched on is not reported for weeks.

Accounts in their first `warmup` (2 days by default, and never less than four learned
buckets, whatever the setting) are learned, not judged; unseen slots (a first weekend night)
fall back on the nearest hour with history, the same hour on the other kind of day, then on
the account's level shaped by its segment's hour profile (`baseline.py`, `segments.py`).

`AnomalyModel` keeps the public face (state, counting CDRs in, the order of the steps); the
steps are plain functions of one account's `Walk` (`frame.py`): the early look (`look.py`),
the final judgement (`judgement.py`), the account's local day and its drift (`day.py`), and
the findings they report (`findings.py`).
"""

from __future__ import annotations

from datetime import datetime

from detector.domain import CDR, AlertTiming, Finding
from detector.models import judgement, look, snapshot
from detector.models.account import AccountModelState, Talk
from detector.models.baseline import Baseline
from detector.models.config import ModelConfig
from detector.models.features import Bucket
from detector.models.findings import SOURCE
from detector.models.frame import Frame, Walk
from detector.models.segments import Segment

__all__ = ["SOURCE", "AnomalyModel"]


class AnomalyModel:
    """Scores per-account buckets against the account's baseline and its segment's priors."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.frame = Frame(config)
        self.talk = Talk()
        """Talk seconds judged for good and dropped as too late, over this model's life."""
        self.restored_note = ""
        """What `restore_global` said about the saved state (set aside, migrated) at start."""

    @property
    def horizon(self) -> int:
        """Buckets a bucket stays open after its end, for the records of long calls."""
        return self.frame.horizon

    @property
    def warmup(self) -> int:
        """Buckets after an account's first call that are learned, not judged."""
        return self.frame.warmup

    @property
    def segments(self) -> dict[str, Segment]:
        """The segments' shared priors by name (the model's global state)."""
        return self.frame.segments

    def new_state(self) -> AccountModelState:
        """Empty state for a newly seen account."""
        return AccountModelState(baseline=Baseline.empty())

    def global_state(self) -> bytes:
        """The shared state (segments) as versioned bytes (`snapshot.py`)."""
        return snapshot.dump(self.frame.segments)

    def restore_global(self, blob: bytes) -> str:
        """Inverse of `global_state`; returns a note when an older layout was set aside,
        raises StateError (with what to do) for one this release cannot read."""
        restored = snapshot.load(blob)
        self.frame.segments = restored.segments
        return restored.note

    def timing(self) -> AlertTiming:
        """Alert lifecycle for model findings: resolve after two quiet buckets."""
        bucket_s = self.frame.bucket_s
        return AlertTiming(resolve_after_s=2.0 * bucket_s, cooldown_s=4.0 * bucket_s)

    def observe(self, cdr: CDR, state: AccountModelState) -> list[Finding]:
        """Count a CDR into the open bucket its call started in (findings come from `advance`)."""
        if self.config.disabled and cdr.account in self.config.disabled:
            return []
        index = int(cdr.start.timestamp()) // self.frame.bucket_s
        first = state.next
        if first is None:
            state.next = first = index - self.frame.horizon  # earlier calls may still arrive
            state.looked = state.since = index
        self.talk.seen_s += cdr.talk_s
        if index < first:  # its bucket was judged for good: it joins the oldest open one
            state.late += 1
            self.talk.late_s += cdr.talk_s
            index = first
        state.since = min(state.since, index)
        bucket = state.pending.get(index)
        if bucket is None:
            looked = look.LOOKED if index < state.looked else 0
            bucket = state.pending[index] = Bucket(looked=looked)
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
        ended = int(watermark.timestamp()) // self.frame.bucket_s
        walk = Walk(self.frame, account, state, [])
        if ended > state.looked:
            look.early(walk, ended)
        final = ended - self.frame.horizon
        if final > state.next:
            self._finalize(walk, final)
        return walk.out

    def _finalize(self, walk: Walk, final: int) -> None:
        """Judge every bucket before `final`: open ones and (up to `max_gap`) quiet ones."""
        state = walk.state
        ready = sorted(i for i in state.pending if i < final)
        position = state.next or final
        for index in [*ready, final]:
            for quiet in range(max(position, index - self.frame.max_gap, state.since), index):
                judgement.quiet(walk, quiet)
            if index < final:
                bucket = state.pending.pop(index)
                self.talk.judged_s += bucket.talk_s
                judgement.final(walk, index, bucket)
            position = index + 1
        state.next = final
