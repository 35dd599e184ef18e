"""A backtest lets event time pass as the daemon does: in poll-sized steps, quiet spells too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detector.backtest import cycles, replay
from detector.pipeline import Detector
from detector.rules.engine import RuleEngine
from detector.rules.testing import make_cdr, ruleset_of

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
RULE = {"id": "quiet", "kind": "flatline", "window": "10m", "warmup": "1d",
        "min_surprise": 5, "dispersion": 10, "thresholds": {"warning": 15}}  # fmt: skip


def test_a_silence_is_flagged_while_it_lasts_not_after_the_call_that_ends_it() -> None:
    """One account calling every two minutes for two days, silent for three hours, then calling
    again: the backtest flags the silence within it (before, time passed only once per 1,000
    CDRs, so the silence was first judged after the call that ended it, and never flagged)."""
    minutes = [m for m in range(0, 3 * 24 * 60, 2) if not 2 * 1440 <= m < 2 * 1440 + 180]
    cdrs = [make_cdr(START + timedelta(minutes=m), f"c{m}", {}) for m in minutes]
    detector = Detector(RuleEngine(ruleset_of(RULE)), None)
    alerts = replay(cdrs, detector).alerts
    firing = [a for a in alerts if a["status"] == "firing"]
    silence = START + timedelta(days=2)
    assert firing
    assert silence < datetime.fromisoformat(firing[0]["at"]) < silence + timedelta(hours=1)


def test_batches_hold_at_most_a_minute_of_event_time() -> None:
    """A busy stream is cut at 1,000 CDRs, a quiet one at a minute of call starts."""
    busy = [make_cdr(START + timedelta(milliseconds=10 * i), f"b{i}", {}) for i in range(2500)]
    quiet = [make_cdr(START + timedelta(seconds=25 * i), f"q{i}", {}) for i in range(10)]
    assert [len(b) for b in cycles(busy)] == [1000, 1000, 500]
    assert [len(b) for b in cycles(quiet)] == [3, 3, 3, 1]
