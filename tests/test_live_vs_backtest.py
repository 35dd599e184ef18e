"""Live equals backtest: CDRs tailed by the poller and a backtest of the same CDRs raise the same.

Live: random calls published by the fake feed (late arrivals, pages shifting between requests)
are tailed by the real poller, and each poll's CDRs go through a `Detector`, like the service
does. Backtest: the rows the poller returned, in the order it returned them, are written as a
JSONL file and replayed by `run_backtest` through a fresh `Detector` with the same rules.
Both end by letting a day of event time pass. Compared: every alert's full JSON body
(fingerprint, delivery id, status, severity, event times, evidence) and every finding.

The allowed lateness is set above the longest generated call plus lag plus poll interval, so no
CDR is late: a CDR past the lateness may find its alert already resolved live (at a poll's
watermark) but still open in a backtest batch, which is an accepted difference.

The property once failed: live resolved a quiet alert at a poll's watermark and fired anew on
the next finding, while a backtest batch holding both incidents treated the second as a
heartbeat of the first. `AlertPolicy.on_finding` now closes a fingerprint that has been quiet
long enough before taking the new finding, so batching no longer matters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from detector.backtest import run_backtest
from detector.domain import CDR, Alert, Finding
from detector.pipeline import Detector, Step
from detector.rules.engine import RuleEngine
from detector.rules.testing import ruleset_of
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from tests.feed import Call, FakeFeed

T0 = datetime(2026, 3, 25, 20, 0, tzinfo=UTC)
ACCOUNTS = ("MA_FEED0001", "MA_FEED0002")
LATENESS = timedelta(minutes=40)
"""Longer than any generated call plus its publishing lag plus one poll interval."""
RULES: tuple[dict[str, Any], ...] = (
    {
        "id": "short-calls", "kind": "threshold", "match": {"talk_s": {"lt": 6}},
        "window": "10m", "thresholds": {"warning": 2, "critical": 4},
    },
    {
        "id": "no-answer", "kind": "ratio", "where": {"status": "no_answer"}, "window": "15m",
        "min_volume": 3, "thresholds": {"warning": 0.5, "critical": 0.8},
    },
    {
        "id": "spend", "kind": "threshold", "aggregate": {"sum": "cost"}, "window": "30m",
        "thresholds": {"warning": 2, "critical": 5}, "cooldown": "5m",
    },
    {
        "id": "long-call", "kind": "match", "value": "talk_s", "match": {"answered": True},
        "thresholds": {"warning": 300, "critical": 900}, "for": "2m",
    },
)  # fmt: skip
"""Sensitive rules of several kinds so that short random streams fire, escalate and resolve."""


class Recording(Detector):
    """A `Detector` that also keeps every finding it returns (run_backtest only counts them)."""

    def __init__(self) -> None:
        engine = RuleEngine(ruleset_of(*RULES), lateness_s=LATENESS.total_seconds())
        super().__init__(engine, None)
        self.found: list[Finding] = []
        self._inside = False

    def process(self, cdrs: Iterable[CDR]) -> Step:
        """`Detector.process`, recording its findings."""
        self._inside = True
        try:
            step = super().process(cdrs)
        finally:
            self._inside = False
        self.found += step.findings
        return step

    def advance(self, watermark: datetime) -> Step:
        """`Detector.advance`, recording its findings when called from outside `process`."""
        step = super().advance(watermark)
        if not self._inside:
            self.found += step.findings
        return step


def keyed(alerts: Iterable[Alert]) -> list[str]:
    """Alerts as sorted canonical JSON (the order within one event-time instant may differ)."""
    return sorted(json.dumps(a.to_json(), sort_keys=True) for a in alerts)


def findings(found: Iterable[Finding]) -> list[tuple[str, str, str, int, float, str, str]]:
    """Findings by rule, account, key, severity, value, event time and summary, sorted."""
    return sorted(
        (f.source, f.account, f.key, int(f.severity), f.value, f.at.isoformat(), f.summary)
        for f in found
    )


calls = st.lists(
    st.tuples(
        st.integers(0, 2 * 3600),  # start offset (s)
        st.integers(0, 40),  # ring
        st.sampled_from([0, 0, 2, 3, 5, 40, 200, 400, 1000]),  # talk (0: not answered)
        st.integers(0, 90),  # publishing lag
        st.sampled_from(ACCOUNTS),
    ),
    min_size=1,
    max_size=40,
)


def tail(feed: FakeFeed, target: Detector, step_s: int) -> tuple[list[str], list[Alert]]:
    """Poll until every call is published and read; the call ids returned and the alerts."""
    config = PollerConfig(per_page=4, start_back_s=86400, max_pages_per_cycle=500)
    poller = Poller(feed.api(), normalize, config, feed.clock)
    cursor: dict[str, Any] | None = None
    seen: set[str] = set()
    returned: list[str] = []
    alerts: list[Alert] = []
    # every tier must get one read after the last call is published (cadence is latency only)
    settle = max(config.tier_every_s) + 3 * step_s
    end = max(c.visible_at for c in feed.calls) + timedelta(seconds=settle)
    while feed.now <= end:
        result = poller.poll(cursor, lambda ids: {i for i in ids if i in seen})
        step = target.process(result.cdrs)
        alerts += step.alerts
        returned += [c.call_id for c in result.cdrs]
        seen.update(key for key, _ in result.new_ids)
        cursor = result.cursor
        feed.advance(step_s)
    assert target.newest is not None
    final = target.advance(target.newest + timedelta(days=1))
    return returned, alerts + final.alerts


GAP = [
    (0, 0, 1000, 0, ACCOUNTS[0]),
    (5027, 22, 200, 17, ACCOUNTS[1]),
    (6590, 27, 1000, 0, ACCOUNTS[0]),
]
"""Two spend incidents of one account 110 minutes apart (found by hypothesis)."""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls, st.integers(120, 900), st.sampled_from([0.0, 1.0, 7.0]))
@example(GAP, 754, 1.0)
def test_backtest_of_what_the_poller_saw_raises_what_live_raised(
    tmp_path_factory: Any, spec: list[tuple[int, int, int, int, str]], step_s: int, tick_s: float
) -> None:
    """Replaying the polled CDRs as a file gives exactly the alerts and findings live gave."""
    feed = FakeFeed(now=T0, tick_s=tick_s)
    feed.calls = [
        Call(f"call-{i:03d}", T0 + timedelta(seconds=s), ring, talk, lag, account)
        for i, (s, ring, talk, lag, account) in enumerate(spec)
    ]
    live = Recording()
    returned, live_alerts = tail(feed, live, step_s)
    assert sorted(returned) == sorted(c.call_id for c in feed.calls)  # the poller saw everything
    by_id = {c.call_id: c for c in feed.calls}
    path = tmp_path_factory.mktemp("backtest") / "cdrs.jsonl"
    path.write_text("".join(json.dumps(feed.render(by_id[i])) + "\n" for i in returned))
    replay = Recording()
    result = run_backtest(path, replay, settle=timedelta(days=1))
    assert sorted(json.dumps(a, sort_keys=True) for a in result.alerts) == keyed(live_alerts)
    assert findings(replay.found) == findings(live.found)
