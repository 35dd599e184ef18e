"""`irsf-spend-spike-60m`: an hour's spend against the account's own usual for the hours the
window covers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from detector.domain import CDR, Finding, Severity
from detector.rules.testing import make_cdr
from tests.pack_rule import pack_findings

MONDAY = datetime(2026, 1, 5, 3, 30, tzinfo=UTC)  # 09:00 Monday in Asia/Kolkata
DAY_S = 86400
RULE = "irsf-spend-spike-60m"


def call(at: int, n: int, cost: float) -> CDR:
    """An answered outbound one-minute call `at` seconds after Monday 09:00 local."""
    fields = {"talk_s": 60, "ring_s": 0, "cost": cost, "to_number": f"+9198{n:08d}"}
    return make_cdr(MONDAY + timedelta(seconds=at), f"c{n}", fields)


def call_centre(days: int, busy: int = 1) -> list[CDR]:
    """09:00-18:00 local: 300 calls an hour of about 100 INR each (30,000 an hour), except the
    lunch hour 12:00-13:00 at a fifth of that; the last day `busy` times as many calls."""
    rng = random.Random(7)
    cdrs: list[CDR] = []
    for day in range(days):
        for hour in range(9):
            every = (60 if hour == 3 else 12) // (busy if day == days - 1 else 1)
            for i in range(3600 // every):
                at = day * DAY_S + hour * 3600 + i * every
                cdrs.append(call(at, len(cdrs), rng.uniform(80.0, 120.0)))
    return cdrs


def test_the_window_after_a_busy_hour_is_judged_against_both_hours() -> None:
    """Four ordinary days raise nothing: at 12:01 the window still holds most of the busy
    11:00 hour, which is judged at that hour's usual, not at the quiet lunch hour's (against
    the lunch hour alone it read as five times the usual spend)."""
    found: list[Finding] = pack_findings(RULE, call_centre(4))
    assert found == []


def test_spend_far_above_the_lunch_hours_usual_fires() -> None:
    """Eighty thousand rupees more in Thursday's lunch hour (about 14 times its usual) fire
    critical."""
    extra = [call(3 * DAY_S + 3 * 3600 + 90 * i + 30, 10**6 + i, 2000.0) for i in range(40)]
    found = pack_findings(RULE, call_centre(4) + extra)
    assert max(f.severity for f in found) == Severity.CRITICAL


def test_a_campaign_day_at_the_usual_cost_per_call_is_no_spike() -> None:
    """A fifth day with six times the calls, each costing what the account's calls usually
    cost, spends six times the usual hour and raises nothing: only dearer calls are a spike
    (judged against the hour's usual spend alone it was a warning all day)."""
    assert pack_findings(RULE, call_centre(5, busy=6)) == []
