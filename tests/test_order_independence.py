"""Arrival order within the allowed lateness: what the detector's output depends on, and not.

Compared: the alerts as a multiset of their full JSON bodies (fingerprint, delivery id, status,
severity, event times, value, evidence), after letting a day of event time pass at the end.
Every CDR is processed as its own batch, the worst case of poll boundaries.

1. Interleaving: the accounts' streams are merged in a random order (each account's own order
   kept, every CDR within the allowed lateness of the newest one seen). State is partitioned
   by account, so the alerts must be identical.
2. Within one account, a permutation within the allowed lateness changes *when* a sliding
   window is evaluated; a late CDR reads the peak of the windows that contain it (while they
   are retained), so the highest severity per rule is that of start order for counts and sums,
   and for ratios when only CDRs in the part arrive late, one per bucket (a share is not
   monotone in a window's contents: a window missing a late CDR outside the part reads a higher
   share than any window in start order, and start order reads prefixes of a bucket).
3. Batching: the engine evaluates a batch account by account (for cache locality), but a batch
   yields the findings of its CDRs one at a time, in arrival order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from detector.domain import CDR, Alert, AlertStatus
from detector.pipeline import Detector
from detector.rules.engine import RuleEngine
from detector.rules.testing import make_cdr, ruleset_of
from tests.test_live_vs_backtest import RULES, T0

LATENESS = timedelta(minutes=10)
TALKS = (0, 0, 2, 3, 5, 40, 200, 400, 1000)


def run(cdrs: Iterable[CDR], rules: Iterable[dict[str, Any]] = RULES) -> list[Alert]:
    """Every alert a fresh detector raises, one CDR per batch, then a day later."""
    engine = RuleEngine(ruleset_of(*rules), lateness_s=LATENESS.total_seconds())
    detector = Detector(engine, None)
    alerts: list[Alert] = []
    for cdr in cdrs:
        step = detector.process([cdr])
        assert step.late == 0, "the arrival order must stay within the allowed lateness"
        alerts += step.alerts
    assert detector.newest is not None
    return alerts + detector.advance(detector.newest + timedelta(days=1)).alerts


def bodies(alerts: Iterable[Alert]) -> list[str]:
    """Alerts as sorted canonical JSON."""
    return sorted(json.dumps(a.to_json(), sort_keys=True) for a in alerts)


def call(n: int, offset_s: int, talk_s: int, account: str) -> CDR:
    """An outbound call of `account`, `offset_s` after T0, to its own number."""
    fields = {"talk_s": talk_s, "cost": round(talk_s / 60 * 0.45, 2), "account": account}
    if talk_s == 0:
        fields["status"] = "no_answer"
    return make_cdr(T0 + timedelta(seconds=offset_s), f"c{n:03d}", fields, "to", n + 1)


streams = st.lists(
    st.tuples(st.integers(0, 2 * 3600), st.sampled_from(TALKS), st.sampled_from(["A", "B", "C"])),
    min_size=1,
    max_size=40,
).map(lambda spec: [call(n, *item) for n, item in enumerate(sorted(spec))])
"""Random calls of three accounts over two hours, sorted by start."""


def within_lateness(cdrs: list[CDR], seed: int, same_account_order: bool) -> list[CDR]:
    """`cdrs` (sorted by start) reordered so that none arrives later than `LATENESS`.

    Each CDR is delayed by a random jitter below the lateness; with `same_account_order`
    one account's calls keep their relative order (only the interleaving changes).
    """
    rng = random.Random(seed)
    limit = LATENESS.total_seconds() - 1
    arrival: dict[str, float] = {}
    last: dict[str, float] = {}
    for cdr in cdrs:
        at = cdr.start.timestamp() + rng.uniform(0, limit)
        if same_account_order:
            at = max(at, last.get(cdr.account, at))
            at = min(at, cdr.start.timestamp() + limit)
            last[cdr.account] = at
        arrival[cdr.call_id] = at
    ranked = sorted(cdrs, key=lambda c: (arrival[c.call_id], c.start))
    if same_account_order:
        for account in {c.account for c in cdrs}:
            mine = [c for c in ranked if c.account == account]
            assert mine == sorted(mine, key=lambda c: c.start)
    return ranked


@settings(max_examples=60, deadline=None)
@given(streams, st.integers(0, 2**32))
def test_interleaving_accounts_within_the_lateness_does_not_change_alerts(
    cdrs: list[CDR], seed: int
) -> None:
    """Merging the accounts' streams in another order (within the lateness) raises the same."""
    assert bodies(run(within_lateness(cdrs, seed, same_account_order=True))) == bodies(run(cdrs))


def fired(alerts: Iterable[Alert]) -> dict[str, int]:
    """Fingerprint → highest severity notified FIRING."""
    out: dict[str, int] = {}
    for a in alerts:
        if a.status is AlertStatus.FIRING:
            out[a.fingerprint] = max(out.get(a.fingerprint, 0), int(a.severity))
    return out


SHORT = [(298, 2), (305, 2), (654, 2), (716, 2), (1035, 2)]
"""Five short calls: in start order the 10-minute window ending at 716 s holds four (critical)."""


def test_reordering_one_account_within_the_lateness_fires_the_same_peak() -> None:
    """Short calls arriving out of order within the lateness still reach the critical peak."""
    cdrs = [call(n, t, talk, "A") for n, (t, talk) in enumerate(SHORT)]
    shuffled = [cdrs[i] for i in (1, 2, 0, 4, 3)]  # 305, 654, 298 (late), 1035, 716 (late)
    assert fired(run(cdrs)) == {next(iter(fired(run(cdrs)))): 2}
    assert fired(run(shuffled)) == fired(run(cdrs))


PEAKS = (
    {"id": "calls", "kind": "threshold", "window": "10m", "min_volume": 2,
     "thresholds": {"warning": 6, "critical": 10}},
    {"id": "talk", "kind": "threshold", "window": "10m", "aggregate": {"sum": "talk_s"},
     "match": {"answered": True}, "thresholds": {"warning": 900, "critical": 2000}},
)  # fmt: skip
"""A count (with a volume floor) and a sum of talk seconds over ten minutes."""
SHARE = (
    {"id": "failing", "kind": "ratio", "window": "10m", "where": {"status": "no_answer"},
     "min_volume": 3, "thresholds": {"warning": 0.5, "critical": 0.75}},
)  # fmt: skip
"""The share of unanswered calls over ten minutes, judged from three calls."""


def by_rule(alerts: Iterable[Alert]) -> dict[str, int]:
    """Rule → highest severity notified FIRING."""
    out: dict[str, int] = {}
    for a in alerts:
        if a.status is AlertStatus.FIRING:
            out[a.source] = max(out.get(a.source, 0), int(a.severity))
    return out


def delayed(cdrs: list[CDR], lags: list[int]) -> list[CDR]:
    """`cdrs` in the order they arrive when each one is visible its lag (seconds) after it
    starts (each lag below the lateness, so none arrives after a CDR that started more than
    the lateness after it)."""
    arrival = {c.call_id: c.start.timestamp() + d for c, d in zip(cdrs, lags, strict=False)}
    return sorted(cdrs, key=lambda c: (arrival.get(c.call_id, c.start.timestamp()), c.start))


LIMIT = int(LATENESS.total_seconds()) - 1
delays = st.lists(
    st.sampled_from([0, 0, 60, LIMIT // 2, LIMIT]) | st.integers(0, LIMIT), max_size=30
)
"""Per call, how long after its start it arrives: often none or the whole lateness."""
one_account = st.lists(
    st.tuples(st.integers(0, 1800), st.sampled_from(TALKS)), min_size=8, max_size=30
).map(lambda spec: [call(n, *item, "A") for n, item in enumerate(sorted(spec))])
"""Random calls of one account over half an hour, sorted by start."""


@settings(max_examples=80, deadline=None)
@given(one_account, delays)
def test_any_arrival_within_the_lateness_fires_the_start_order_peak_of_counts_and_sums(
    cdrs: list[CDR], lags: list[int]
) -> None:
    """Count and sum rules reach the same highest severity whatever the arrival order."""
    assert by_rule(run(delayed(cdrs, lags), PEAKS)) == by_rule(run(cdrs, PEAKS))


one_per_bucket = st.lists(
    st.tuples(st.integers(0, 90), st.booleans()), min_size=8, max_size=30, unique_by=lambda x: x[0]
).map(
    lambda spec: [
        call(n, b * 20, 0 if part else 60, "A") for n, (b, part) in enumerate(sorted(spec))
    ]
)
"""Random calls of one account, at most one per 20-second bucket; True: unanswered (the part)."""


@settings(max_examples=80, deadline=None)
@given(one_per_bucket, delays)
def test_late_calls_in_the_part_of_a_ratio_fire_the_start_order_peak(
    cdrs: list[CDR], lags: list[int]
) -> None:
    """A ratio reaches the same highest severity when calls in its part arrive late."""
    late = [d if c.talk_s == 0 else 0 for c, d in zip(cdrs, lags, strict=False)]
    assert by_rule(run(delayed(cdrs, late), SHARE)) == by_rule(run(cdrs, SHARE))


@settings(max_examples=60, deadline=None)
@given(streams, st.integers(0, 2**32))
def test_a_batch_gives_the_findings_of_its_cdrs_one_by_one_in_arrival_order(
    cdrs: list[CDR], seed: int
) -> None:
    """A batch is evaluated account by account, yet it yields exactly the findings of its CDRs
    processed one at a time, in arrival order (no rule here ticks, so batching adds none)."""
    ranked = within_lateness(cdrs, seed, same_account_order=False)

    def fresh() -> Detector:
        engine = RuleEngine(ruleset_of(*RULES), lateness_s=LATENESS.total_seconds())
        return Detector(engine, None)

    one = fresh()
    alone = [finding for cdr in ranked for finding in one.process([cdr]).findings]
    assert fresh().process(ranked).findings == alone
