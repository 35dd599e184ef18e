"""Retention and dropped keys: old sent notifications and resolved alert episodes are purged
(firing alerts and dead letters never are), and keys refused at a rule's cap are reported."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from detector.alerting.delivery import Delivery
from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.domain import CDR
from detector.housekeeping import Retention
from detector.metrics import Metrics
from detector.rules.engine import MAX_KEYS
from detector.rules.testing import make_cdr
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.rows import PollResult
from detector.source.settings import PollerConfig
from detector.state.store import Cycle, StateStore
from tests.daemon import ROOT
from tests.feed import FakeFeed
from tests.test_outbox import envelopes, episode
from tests.test_reload import Log

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PUMPING = "traffic-pumping-repeat-number"


def test_resolved_episodes_are_purged_after_the_age_and_firing_ones_kept(tmp_path: Path) -> None:
    """An episode that resolved before the cut-off goes; one still firing stays, however old."""
    store = StateStore(tmp_path / "state.sqlite")
    resolved = episode()  # fires at T0, resolves ~30 min later
    firing = [replace(resolved[0], fingerprint="still-firing", delivery_id="still-firing:1")]
    store.commit_cycle(Cycle(cursor=None, alerts=resolved + firing))
    assert store.purge_alerts(resolved[-1].at) == 0, "the resolution itself is not older yet"
    assert store.purge_alerts(resolved[-1].at + timedelta(seconds=1)) == 3
    assert [a["fingerprint"] for a in store.recent_alerts()] == ["still-firing"]
    store.close()


@pytest.fixture
def pumping_rules(tmp_path: Path) -> Path:
    """A rule directory holding only the traffic-pumping rule (grouped by caller and callee)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("_ruleset.yaml", f"{PUMPING}.yaml"):
        shutil.copy(ROOT / "rules" / name, rules / name)
    return rules


@pytest.fixture
def service(tmp_path: Path, pumping_rules: Path) -> Iterator[Service]:
    """A service over that rule, with retention due on every housekeeping run."""
    store = StateStore(tmp_path / "state.sqlite")
    feed = FakeFeed(now=T0)
    svc = Service(
        poller=Poller(feed.api(), normalize, PollerConfig(), feed.clock),
        detector=build_detector(pumping_rules, ModelSettings(enabled=False)),
        model=None,
        store=store,
        delivery=Delivery(store.outbox(), {}),
        metrics=Metrics(),
        receivers=["webhook"],
        rules_dir=pumping_rules,
        interval_s=1.0,
        seen_ttl=timedelta(days=1),
        log=Log(),
        clock=lambda: 10_000.0,
        retention=Retention(sent_s=60, alerts_s=3600, every_s=0),
    )
    yield svc
    store.close()


def long_calls(n: int, first: int = 0) -> list[CDR]:
    """`n` answered 10-minute calls of one account, each to a different number."""
    return [
        make_cdr(
            T0 + timedelta(seconds=i),
            f"call-{i}",
            {"talk_s": 600.0, "to": f"+9198{i:08d}", "account": "MA_pump"},
        )
        for i in range(first, first + n)
    ]


def apply(svc: Service, cdrs: list[CDR]) -> None:
    """One poll's worth of CDRs through detect and commit."""
    svc.apply(PollResult(cdrs, [], {"v": 1}, [(c.call_id, c.start) for c in cdrs]), 0.0)


def test_keys_refused_at_the_cap_are_counted_and_logged(service: Service) -> None:
    """A rule past its per-account key cap: the refused keys show in a metric and a log line."""
    apply(service, long_calls(MAX_KEYS + 7))
    service.housekeeping.run()
    exposition = generate_latest(service.metrics.registry).decode()
    assert "cdr_detector_rule_keys_dropped_total 7.0" in exposition.splitlines()
    [line] = [e for e in service.log.events if e[1] == "rule keys dropped at the per-account cap"]
    assert line[0] == "warning"
    assert line[2]["keys"] == 7
    assert line[2]["accounts"] == {"MA_pump": 7}
    apply(service, long_calls(3, first=MAX_KEYS + 7))
    service.housekeeping.run()
    exposition = generate_latest(service.metrics.registry).decode()
    assert "cdr_detector_rule_keys_dropped_total 10.0" in exposition.splitlines()


def test_housekeeping_purges_sent_notifications_but_keeps_dead_letters(
    service: Service,
) -> None:
    """Sent rows older than `sent_s` go at the next housekeeping; a dead letter stays."""
    box = service.store.outbox()
    box.enqueue(envelopes(episode(), ["webhook"]), 1000.0)
    [first] = box.due(1000.0, 1, "webhook")
    box.mark_sent(first, 1000.0)
    [second] = box.due(1000.0, 1, "webhook")
    box.mark_dead(second, "refused", 1000.0)
    service.housekeeping.run()
    assert box.dead() == {"webhook": 1}
    assert service.store.inspect()["outbox_pending"] == {"webhook": 1}
    exposition = generate_latest(service.metrics.registry).decode()
    assert 'cdr_detector_purged_rows_total{table="sent_notifications"} 1.0' in exposition
    box.close()
