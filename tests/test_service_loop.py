"""The daemon loop polls back to back while it is behind, and waits the interval otherwise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detector.alerting.delivery import Delivery
from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.metrics import Metrics
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.store import StateStore
from tests.daemon import ROOT, processed, wait_for
from tests.feed import Call, FakeFeed
from tests.test_reload import Log

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CALLS = 300


@pytest.fixture
def behind(tmp_path: Path) -> Iterator[tuple[Service, Path]]:
    """A service whose feed holds far more than one poll's page budget, interval one hour."""
    feed = FakeFeed(now=T0 + timedelta(hours=1))
    feed.calls = [Call(f"c-{n:04d}", T0 + timedelta(seconds=10 * n)) for n in range(CALLS)]
    config = PollerConfig(per_page=10, max_pages_per_cycle=3, start_back_s=7200)
    state = tmp_path / "state.sqlite"
    store = StateStore(state)
    svc = Service(
        poller=Poller(feed.api(), normalize, config, feed.clock),
        detector=build_detector(ROOT / "rules", ModelSettings(enabled=False)),
        model=None,
        store=store,
        delivery=Delivery(store.outbox(), {}),
        metrics=Metrics(),
        receivers=[],
        rules_dir=ROOT / "rules",
        interval_s=3600.0,
        seen_ttl=timedelta(days=1),
        log=Log(),
        clock=feed.epoch,
    )
    yield svc, state
    store.close()


def test_a_poll_cut_short_by_its_page_budget_marks_the_service_behind(
    behind: tuple[Service, Path],
) -> None:
    """A budget-limited poll sets `catching_up`; the poll that finishes the backlog clears it."""
    svc, _ = behind
    seen = []
    for _ in range(100):
        svc.cycle()
        seen.append(svc.catching_up)
        if seen[-1] is False and True in seen:
            break
    assert True in seen, "300 rows at 10 per page cannot fit a 3-page budget"
    assert seen[-1] is False


def test_the_loop_catches_up_a_backlog_without_waiting_the_interval(
    behind: tuple[Service, Path],
) -> None:
    """With a one-hour interval, every backlogged call is still committed within seconds."""
    svc, state = behind
    loop = threading.Thread(target=svc.run, daemon=True)
    loop.start()
    try:
        wait_for(lambda: processed(state) == CALLS, 30, f"all {CALLS} calls committed")
    finally:
        svc.stopping.set()
        loop.join(10)
    assert not loop.is_alive()
