"""The no-answer surges at the start of observation: unanswered calls end first."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from detector.rules.testing import make_cdr
from tests.pack_rule import pack_findings

START = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)


def busy_first_hour(no_answer: float) -> list[dict[str, Any]]:
    """Two calls a second from the first one on (a busy call centre's morning), `no_answer` of
    them ringing out after 20 s, the rest answered and talking about four minutes
    (log-normal), for half an hour, the same every run."""
    rng = random.Random(5)
    calls = []
    for i in range(3600):
        if rng.random() < no_answer:
            calls.append({"status": "no_answer", "ring_s": 20, "at": i // 2})
        else:
            talk = rng.lognormvariate(math.log(240), 0.6)
            calls.append({"status": "answered", "ring_s": 8, "talk_s": talk, "at": i // 2})
    return calls


def findings(rule_id: str, calls: list[dict[str, Any]]) -> list[str]:
    """Summaries of a pack rule's findings, the CDRs fed in the order they end."""
    cdrs = [
        make_cdr(
            START + timedelta(seconds=c["at"]), f"c{n}", {k: v for k, v in c.items() if k != "at"}
        )
        for n, c in enumerate(calls)
    ]
    return [f.summary for f in pack_findings(rule_id, cdrs)]


@pytest.mark.parametrize(
    "rule_id", ["no-answer-surge", "no-answer-surge-hour", "no-answer-surge-slow"]
)
def test_a_busy_account_seen_from_its_first_call_is_not_a_surge(rule_id: str) -> None:
    """In the first minutes only the calls that rang out have ended (the answered ones are
    still talking), so the share looks like a surge; the rule waits until it is not."""
    assert findings(rule_id, busy_first_hour(no_answer=0.3)) == []


def test_a_real_surge_from_the_first_call_still_fires() -> None:
    """The same account with nine calls in ten ringing out fires."""
    assert findings("no-answer-surge", busy_first_hour(no_answer=0.9))
