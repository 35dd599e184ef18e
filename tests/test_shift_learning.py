"""The `shift` kind's baseline: what it learns, and what a surge must not teach it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from detector.rules.engine import RuleEngine
from detector.rules.kinds.shift import Share
from detector.rules.testing import make_cdr, ruleset_of

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
SLOW = {
    "id": "na-slow", "kind": "shift", "match": {"status": ["answered", "no_answer"]},
    "group_by": ["account", "direction"], "where": {"status": "no_answer"}, "window": "4h",
    "min_volume": 8, "prior": 0.3, "prior_weight": 30, "min_surprise": 5,
    "thresholds": {"warning": 0.2, "critical": 0.4},
}  # fmt: skip


def quiet_calls(start: datetime, hours: int, missed_every: int, per_hour: int = 3) -> list[Any]:
    """`per_hour` calls an hour; every `missed_every`-th rings out (1: all), the rest talk 2 min."""
    rows = []
    for n in range(hours * per_hour):
        at = start + timedelta(minutes=60 // per_hour * n)
        if n % missed_every == 0:
            fields = {"status": "no_answer", "ring_s": 30.0, "talk_s": 0.0}
        else:
            fields = {"talk_s": 120.0, "ring_s": 8.0}
        rows.append(make_cdr(at, f"c{start:%d%H}-{n}", {**fields, "to": f"+9198{n:08d}"}))
    return rows


def usual_share(state: Any) -> float:
    """The no-answer rule's usual share for the account's outbound calls."""
    (track,) = state.by_rule["na-slow"].values()
    data: Share = track.data
    return data.usual.share(0.3, 30)


def test_a_quiet_accounts_surge_is_not_learned_although_no_single_hour_shows_it() -> None:
    """Three calls an hour, all ringing out, are no evidence in any one hour, but the 4-hour
    window reads a surge: the hours closing meanwhile stay out of the usual share, which
    learned them before (its usual share drifted from 26 % to 34 % in eight hours)."""
    engine = RuleEngine(ruleset_of(SLOW))
    state = engine.new_state()
    for cdr in quiet_calls(START, 72, 4):
        engine.observe(cdr, state)
    before = usual_share(state)
    assert 0.22 < before < 0.3
    for cdr in quiet_calls(START + timedelta(hours=72), 8, 1):
        engine.observe(cdr, state)
    assert usual_share(state) - before < 0.03


def test_ordinary_hours_of_a_quiet_account_are_still_learned() -> None:
    """The same account whose calls go unanswered a little more often than usual (a third
    instead of a quarter, no surge) keeps learning its hours: the usual share follows."""
    engine = RuleEngine(ruleset_of(SLOW))
    state = engine.new_state()
    for cdr in quiet_calls(START, 72, 4):
        engine.observe(cdr, state)
    before = usual_share(state)
    for cdr in quiet_calls(START + timedelta(hours=72), 24, 3):
        engine.observe(cdr, state)
    assert usual_share(state) > before + 0.01


def test_a_very_quiet_accounts_surge_is_not_learned_once_it_has_a_day_of_history() -> None:
    """An account of a call an hour holds fewer calls in its decayed history than the 30 beyond
    the prior's weight after which suspicious hours are left out, so every surge of it was
    learned (its usual share climbed 7 points in eight hours of calls all ringing out); once
    it has a day of history the surge's hours stay out once the window reads a surge (3
    points, from its first hours)."""
    engine = RuleEngine(ruleset_of(SLOW))
    state = engine.new_state()
    for cdr in quiet_calls(START, 72, 10, per_hour=1):
        engine.observe(cdr, state)
    before = usual_share(state)
    assert before < 0.2
    for cdr in quiet_calls(START + timedelta(hours=72), 8, 1, per_hour=1):
        engine.observe(cdr, state)
    assert usual_share(state) - before < 0.05
