"""Health: /readyz fails with the reason after N failed cycles or on a stale feed, and /healthz
fails when the poll loop stops completing cycles; from the pure record up to the service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detector.alerting.delivery import Delivery
from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.health import Health, HealthPolicy
from detector.metrics import Metrics
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.store import StateStore
from tests.daemon import ROOT
from tests.feed import Call, FakeFeed, Fault
from tests.test_reload import Log

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_ready_only_after_a_successful_cycle() -> None:
    """Before the first good poll /readyz says so, with the last error."""
    health = Health(started=0.0)
    health.failed(1.0, "HTTP 503")
    assert health.ready(1.0, None) == (False, "no successful poll yet HTTP 503")
    health.succeeded(2.0)
    assert health.ready(2.0, None) == (True, "ok")


def test_not_ready_after_n_consecutive_failures_and_ready_after_one_success() -> None:
    """Two failures are tolerated, the third makes /readyz fail naming the error; one success
    clears it."""
    health = Health(started=0.0, policy=HealthPolicy(max_failed_cycles=3))
    health.succeeded(1.0)
    for n in range(2):
        health.failed(2.0 + n, "API timeout")
        assert health.ready(3.0, None)[0]
    health.failed(5.0, "API timeout")
    assert health.ready(5.0, None) == (False, "the last 3 poll cycles failed: API timeout")
    health.succeeded(6.0)
    assert health.ready(6.0, None) == (True, "ok")


def test_not_ready_when_the_newest_cdr_is_older_than_the_allowed_lag() -> None:
    """With max_event_lag_s set, a feed whose newest call is too old is not ready; 0 is off."""
    health = Health(started=0.0, policy=HealthPolicy(max_event_lag_s=900))
    health.succeeded(1000.0)
    assert health.ready(1000.0, newest_event=500.0) == (True, "ok")
    ready, reason = health.ready(2000.0, newest_event=500.0)
    assert not ready
    assert reason.startswith("the newest CDR started 1500 s ago")
    off = Health(started=0.0)
    off.succeeded(1.0)
    assert off.ready(10**9, newest_event=0.0) == (True, "ok")


def test_state_errors_and_refused_rules_come_first() -> None:
    """A state file that cannot be written is the first reason given."""
    health = Health(started=0.0)
    health.succeeded(1.0)
    health.reload_error = "rules/x.yaml: field 'window'"
    health.state_failed(2.0, "disk is full")
    assert health.ready(2.0, None) == (False, "state file not writable: disk is full")


def test_live_until_no_cycle_completed_for_stall_s() -> None:
    """/healthz holds while cycles complete (even failed ones) and fails after `stall_s` without."""
    health = Health(started=100.0, policy=HealthPolicy(stall_s=60))
    assert health.live(150.0) == (True, "ok")
    assert not health.live(161.0)[0], "no cycle since start for 61 s"
    health.failed(200.0, "HTTP 500")
    assert health.live(250.0) == (True, "ok")
    live, reason = health.live(300.0)
    assert not live
    assert reason == "the poll loop has not completed a cycle for 100 s (health.stall_s = 60)"


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[Service, FakeFeed]]:
    """A service over a fake feed with one call; the feed's faults are queued by the test."""
    feed = FakeFeed(now=T0 + timedelta(minutes=5))
    feed.calls = [Call("c-1", T0)]
    store = StateStore(tmp_path / "state.sqlite")
    svc = Service(
        poller=Poller(
            feed.api(max_retries=0), normalize, PollerConfig(start_back_s=600), feed.clock
        ),
        detector=build_detector(ROOT / "rules", ModelSettings(enabled=False)),
        model=None,
        store=store,
        delivery=Delivery(store.outbox(), {}),
        metrics=Metrics(),
        receivers=[],
        rules_dir=ROOT / "rules",
        interval_s=1.0,
        seen_ttl=timedelta(days=1),
        log=Log(),
        clock=feed.epoch,
        health=HealthPolicy(max_failed_cycles=3),
    )
    yield svc, feed
    store.close()


def test_an_api_outage_makes_the_service_unready_with_the_reason(
    outage: tuple[Service, FakeFeed],
) -> None:
    """Three cycles failing on HTTP 503 make /readyz fail naming it; the next good cycle heals."""
    svc, feed = outage
    svc.cycle()
    assert svc.ready() == (True, "ok")
    for _ in range(3):
        feed.advance(3600)
        feed.faults.append(Fault("500"))
        assert svc.cycle() is None
    ready, reason = svc.ready()
    assert not ready
    assert reason.startswith("the last 3 poll cycles failed")
    assert svc.live() == (True, "ok"), "failing cycles still complete: the loop is alive"
    feed.advance(3600)
    svc.cycle()
    assert svc.ready() == (True, "ok")
