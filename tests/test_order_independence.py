"""Arrival order within the allowed lateness: what the detector's output depends on, and not.

Compared: the alerts as a multiset of their full JSON bodies (fingerprint, delivery id, status,
severity, event times, value, evidence), after letting a day of event time pass at the end.
Every CDR is processed as its own batch, the worst case of poll boundaries.

1. Interleaving: the accounts' streams are merged in a random order (each account's own order
   kept, every CDR within the allowed lateness of the newest one seen). State is partitioned
   by account, so the alerts must be identical.
2. Within one account, a permutation within the allowed lateness changes *when* a sliding
   window is evaluated: a late CDR is counted in the window ending at the newest event, not in
   the window ending at its own start, so a peak that only existed in event-time order can be
   missed. This is a documented exception of the current window semantics (found by
   hypothesis); the smallest example is kept, marked xfail, as the specification to meet.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.alerting.policy import AlertPolicy
from detector.domain import CDR, Alert, AlertStatus
from detector.pipeline import Detector
from detector.rules.engine import RuleEngine
from detector.rules.testing import make_cdr, ruleset_of
from tests.test_live_vs_backtest import RULES, T0

LATENESS = timedelta(minutes=10)
TALKS = (0, 0, 2, 3, 5, 40, 200, 400, 1000)


def run(cdrs: Iterable[CDR]) -> list[Alert]:
    """Every alert a fresh detector raises, one CDR per batch, then a day later."""
    engine = RuleEngine(ruleset_of(*RULES))
    detector = Detector(engine, None, AlertPolicy(engine.timings()), allowed_lateness=LATENESS)
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


@pytest.mark.xfail(
    strict=True, reason="a window is evaluated at the newest event, not at a late CDR's start"
)
def test_reordering_one_account_within_the_lateness_fires_the_same_peak() -> None:
    """Short calls arriving out of order within the lateness still reach the critical peak."""
    cdrs = [call(n, t, talk, "A") for n, (t, talk) in enumerate(SHORT)]
    shuffled = [cdrs[i] for i in (1, 2, 0, 4, 3)]  # 305, 654, 298 (late), 1035, 716 (late)
    assert fired(run(cdrs)) == {next(iter(fired(run(cdrs)))): 2}
    assert fired(run(shuffled)) == fired(run(cdrs))
