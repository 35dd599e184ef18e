"""The `shift` kind's nowcast: windows judged as they will read once their calls have ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detector.domain import Finding
from detector.rules.engine import RuleEngine
from detector.rules.kinds.shift import Share
from detector.rules.testing import make_cdr, ruleset_of
from detector.windows.durations import Durations, nowcast
from detector.windows.positional import named_state

DAY = datetime(2026, 1, 5, 3, 30, tzinfo=UTC)  # 09:00 Monday in Asia/Kolkata
TALKS = (150.0, 300.0, 600.0, 1200.0)
"""Talk times of the answered calls (seconds), in turn: a call centre's, minutes long."""

NO_ANSWER = {
    "kind": "shift", "match": {"status": ["answered", "no_answer"]},
    "group_by": ["account", "direction"], "where": {"status": "no_answer"}, "window": "20m",
    "min_volume": 15, "prior": 0.3, "prior_weight": 30, "warmup": "10m",
    "thresholds": {"warning": 0.2, "critical": 0.4},
}  # fmt: skip


def calls(start: datetime, minutes: int, per_minute: list[int], missed: float) -> list[Any]:
    """Calls started each minute (`per_minute[m]` of them, the last count repeating), a share
    `missed` of them ringing out after 30 s, the rest answered and talking for minutes."""
    rows = []
    for m in range(minutes):
        count = per_minute[min(m, len(per_minute) - 1)]
        for k in range(count):
            at = start + timedelta(minutes=m, seconds=k * 60 // count)
            n = len(rows)
            if (n * missed) % 1.0 + missed >= 1.0:
                fields = {"status": "no_answer", "ring_s": 30.0, "talk_s": 0.0}
            else:
                fields = {"talk_s": TALKS[n % len(TALKS)], "ring_s": 8.0}
            rows.append(make_cdr(at, f"c{start:%d%H%M}-{n}", {**fields, "to": f"+9198{n:08d}"}))
    return rows


def feed(nowcast: bool, *days: list[Any]) -> list[Finding]:
    """Run the calls through a no-answer `shift` rule in the order a feed delivers them (by
    their end); the findings of the last day."""
    engine = RuleEngine(ruleset_of({"id": "na", **NO_ANSWER, "nowcast": nowcast}))
    state = engine.new_state()
    found: list[Finding] = []
    for day in days:
        found = []
        for cdr in sorted(day, key=lambda c: c.end):
            found.extend(engine.observe(cdr, state))
    return found


def usual_day() -> list[Any]:
    """Yesterday: eight hours at ten calls a minute, 40 % of them unanswered."""
    return calls(DAY - timedelta(days=1), 480, [10], 0.4)


def ramp(missed: float) -> list[Any]:
    """This morning: from two calls a minute to twenty in ten minutes, then steady for 40."""
    return calls(DAY, 50, [10, 30, 60], missed)


def test_a_morning_ramp_whose_answered_calls_still_talk_is_not_a_no_answer_surge() -> None:
    """A call centre ramping up at its usual 40 % unanswered alerts without the nowcast (its
    quick unanswered calls are in, its answered ones still talking) and stays quiet with it."""
    assert feed(False, usual_day(), ramp(0.4)) != []
    assert feed(True, usual_day(), ramp(0.4)) == []


def test_a_ramp_whose_calls_stop_being_answered_is_still_found_within_ten_minutes() -> None:
    """The same ramp with 90 % of its calls ringing out is reported, at most ten minutes in."""
    found = feed(True, usual_day(), ramp(0.9))
    assert found != []
    assert min(f.at for f in found) <= DAY + timedelta(minutes=10)


def test_a_shift_key_saved_before_durations_were_learned_loads_and_learns_them() -> None:
    """A `shift` key pickled before the nowcast existed loads without durations, and judging
    it with a nowcast rule starts learning them instead of failing."""
    state = named_state(Share())[1]
    del state["quick"], state["slow"]  # what a build before the nowcast pickled
    restored = Share.__new__(Share)
    restored.__setstate__((None, state))
    assert restored.quick is None
    engine = RuleEngine(ruleset_of({"id": "na", **NO_ANSWER, "nowcast": True}))
    rule_state = engine.new_state()
    for cdr in calls(DAY, 3, [4], 0.5):
        engine.observe(cdr, rule_state)
    keys = _shares(rule_state)
    assert keys
    assert all(data.quick is not None and data.quick.weight > 0 for data in keys)


def _shares(state: Any) -> list[Share]:
    """Every `Share` held in an engine state (found by walking it)."""
    seen: list[Share] = []
    stack = [state]
    while stack:
        item = stack.pop()
        if isinstance(item, Share):
            seen.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
        elif hasattr(item, "__slots__"):
            stack.extend(getattr(item, s) for s in item.__slots__ if hasattr(item, s))
    return seen


cells_of = st.dictionaries(
    st.integers(min_value=0, max_value=29),
    st.tuples(st.integers(min_value=1, max_value=500), st.floats(min_value=0.0, max_value=1.0)),
    min_size=1,
)


@given(cells_of, st.floats(min_value=0.05, max_value=0.95))
def test_a_window_whose_calls_have_all_ended_reads_its_plain_share(
    raw: dict[int, tuple[int, float]], usual: float
) -> None:
    """Once every call of the window has ended, the nowcast is the window's own share and
    volume, whatever the usual share."""
    quick, slow = Durations(), Durations()
    for seconds in (20, 40, 60) * 3:
        quick.add(seconds)
        slow.add(30 * seconds)
    cells = {bucket: [float(n), round(n * share)] for bucket, (n, share) in raw.items()}
    calls = sum(n for n, _ in cells.values())
    share, worth = nowcast(cells, 60, 30 * 60 + 10**6, usual, quick, slow)
    plain = sum(part for _, part in cells.values()) / calls
    assert share == pytest.approx(plain, abs=1e-4)
    assert worth == pytest.approx(calls, rel=1e-6)
