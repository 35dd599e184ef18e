"""Calls in progress: a long call to a risky destination alerts while it runs, before its CDR."""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.opencalls import OpenCalls
from detector.rules.engine import RuleEngine
from detector.rules.loader import load_rules
from detector.rules.testing import make_cdr, ruleset_of
from detector.webhooks.events import Attempt
from detector.webhooks.intake import EventClock
from tests.daemon import ROOT, processed
from tests.feed import Call, FakeFeed
from tests.test_webhooks import Daemon, body, post

OPEN_RULE = ROOT / "examples" / "open-calls" / "irsf-open-call.yaml"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def rules_with_open_rule(tmp: Path) -> Path:
    """The shipped rules plus the example `open` rule."""
    rules = tmp / "rules"
    shutil.copytree(ROOT / "rules", rules)
    shutil.copy(OPEN_RULE, rules / OPEN_RULE.name)
    return rules


def attempt(call_id: str, to: str, at: datetime, allowed: bool = True) -> Attempt:
    """A CallInitiated of account MA_1."""
    return Attempt(call_id, "MA_1", "trunk_1", to, at, allowed, "" if allowed else "cps")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> RuleEngine:
    """An engine over the shipped rules and the example `open` rule."""
    return RuleEngine(load_rules(rules_with_open_rule(tmp_path_factory.mktemp("open"))))


def test_an_open_call_to_a_risky_destination_warns_at_two_hours_and_is_critical_at_three(
    engine: RuleEngine,
) -> None:
    """The `open` rule reads the call's age: nothing before 2 h, warning at 2 h, critical at
    3 h, while a call of the same age to India never matches."""
    calls = OpenCalls(max_s=86400)
    calls.open([attempt("cu", "+5355512345", T0), attempt("in", "+919876543210", T0)], set())
    assert calls.judge(T0 + timedelta(minutes=119), engine) == []
    warning = calls.judge(T0 + timedelta(hours=2), engine)
    assert [(f.source, f.severity.label, f.evidence) for f in warning] == [
        ("irsf-open-call", "warning", ("cu",))
    ]
    critical = calls.judge(T0 + timedelta(hours=3), engine)
    assert [(f.severity.label, f.value) for f in critical] == [("critical", 10800.0)]


def test_open_calls_close_on_their_cdr_and_expire_at_the_longest_call(engine: RuleEngine) -> None:
    """A CDR closes its call; a refused attempt, or one whose CDR came first, never opens; a
    call open at the platform's longest call expires without a finding."""
    calls = OpenCalls(max_s=4 * 3600)
    calls.open(
        [attempt("a", "+5355500001", T0), attempt("b", "+5355500002", T0),
         attempt("refused", "+5355500003", T0, allowed=False),
         attempt("done", "+5355500004", T0)],
        done={"done"},
    )  # fmt: skip
    assert sorted(calls.calls) == ["a", "b"]
    assert calls.close(["a", "unknown"]) == 1
    assert calls.census(T0 + timedelta(hours=1)).by_destination == {"CU": 1}
    assert calls.judge(T0 + timedelta(hours=4), engine) == []
    assert (calls.expired, calls.census(T0).total) == (1, 0)


def test_an_open_rule_never_fires_on_cdrs_and_keeps_no_state() -> None:
    """CDRs are calls that ended: the `open` kind reads none of them (it fires only through
    the tracker), so a day of mixed traffic leaves no finding and almost no state."""
    from tests.test_rule_kinds_contract import run, stream

    rule = {"id": "open-any", "kind": "open", "thresholds": {"warning": 1}}
    engine = RuleEngine(ruleset_of(rule))
    state = engine.new_state()
    assert run(engine, stream(1), state) == []
    engine.observe(make_cdr(T0 + timedelta(days=60), "idle", {"talk_s": 1}), state)
    assert len(pickle.dumps(state)) < 8192


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon (fake feed, webhook intake on) whose rules include the `open` rule."""
    feed = FakeFeed(now=T0 + timedelta(minutes=2))
    feed.calls = [Call("anchor", T0)]
    d = Daemon(tmp_path, feed)
    rules = rules_with_open_rule(tmp_path)
    d.service.detector = build_detector(rules, ModelSettings(enabled=False))
    d.poll()
    yield d
    d.close()


def alert_rows(state: Path) -> list[tuple[str, str]]:
    """(rule, status) of every alert the daemon committed."""
    with sqlite3.connect(state) as conn:
        bodies = [json.loads(r[0]) for r in conn.execute("SELECT body FROM alerts")]
    return [(b["rule"], b["status"]) for b in bodies]


def test_a_three_hour_call_to_a_risky_destination_alerts_while_it_is_running(
    daemon: Daemon,
) -> None:
    """A CallInitiated to Cuba with no Hangup: the daemon's `open` rule alerts two hours in,
    with no CDR of the call processed; its CDR, 3 h 10 min in, is processed once and closes
    the call."""
    feed = daemon.feed
    call = Call("irsf-long", feed.now - timedelta(seconds=1), ring_s=5, talk_s=11_395)
    raw = body("CallInitiated", call, feed, to_number="+5355512345")
    assert post(daemon.ingest, raw) == 202
    daemon.service.hook_cycle()
    exposed = generate_latest(daemon.service.metrics.registry).decode()
    assert 'cdr_detector_open_calls{account="MA_FEED0001"} 1.0' in exposed
    assert 'cdr_detector_open_calls_by_destination{dest_country="CU"} 1.0' in exposed
    for _ in range(121):  # two hours of polls, a minute apart
        daemon.poll()
    assert ("irsf-open-call", "firing") in alert_rows(daemon.state)
    assert processed(daemon.state) == 1  # the anchor only: the call has no CDR yet
    feed.calls.append(call)
    for _ in range(75):
        daemon.poll()
    assert processed(daemon.state) == 2
    exposed = generate_latest(daemon.service.metrics.registry).decode()
    assert 'cdr_detector_open_calls{account="MA_FEED0001"}' not in exposed
    assert "cdr_detector_open_call_oldest_seconds 0.0" in exposed


def test_event_time_moves_on_at_the_feeds_pace_between_events() -> None:
    """With no event for ten wall seconds, event time moves ten seconds live and 6,000 against
    a simulator 600x faster, so a quiet simulated evening still ages a call in progress."""
    seen = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    live, fast = EventClock(), EventClock(rate=600.0)
    for clock in (live, fast):
        clock.saw(seen, 1000.0)
    assert live.now(1010.0) == seen + timedelta(seconds=10)
    assert fast.now(1010.0) == seen + timedelta(seconds=6000)
