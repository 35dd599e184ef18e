"""Poison input is quarantined, never fatal: the daemon keeps running and keeps the rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from detector.alerting.delivery import Delivery
from detector.assembly import build_detector
from detector.cli import app
from detector.config import ModelSettings
from detector.housekeeping import Retention
from detector.metrics import Metrics
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.store import StateStore
from tests.daemon import ROOT, processed
from tests.feed import Call, FakeFeed
from tests.test_reload import Log

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CAP = 256 * 1024
GOOD = 60


def row(call_id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    """A shape-A row of an answered 30-second call, with `extra` fields on top."""
    return {
        "call_uuid": call_id, "account_auth_id": "MA_FEED0001", "from_number": "+919876500001",
        "to_number": "+919876500002", "direction": "outbound", "status": "answered",
        "duration_seconds": 30, "start_time": start, "end_time": end, **extra,
    }  # fmt: skip


def iso(at: datetime) -> str:
    """UTC ISO 8601 with Z."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def poison(at: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    """One row of each kind of poison, all visible at `at`."""
    start, end = iso(at), iso(at + timedelta(seconds=30))
    ahead = at + timedelta(days=4 * 365)
    return [
        (at, row("p-9999", "9999-12-31T23:00:00Z", "9999-12-31T23:00:30Z")),
        (at, row("p-2030", iso(ahead), iso(ahead + timedelta(seconds=30)))),
        (at, row("p-field", start, end, hangup_cause="X" * 1_000_000)),
        (at, row("y" * 100_000, start, end)),
        (at, row("p-talk", start, end, duration_seconds=10**12)),
        (at, row("p-cost", start, end, cost=1e15)),
    ]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Service, FakeFeed, StateStore]]:
    """A real Service over a fake feed of good calls, with a 256 KiB response cap."""
    feed = FakeFeed(now=T0 + timedelta(minutes=5))
    feed.calls = [Call(f"ok-{n:03d}", T0 + timedelta(seconds=20 * n)) for n in range(GOOD)]
    store = StateStore(tmp_path / "state.sqlite")
    config = PollerConfig(per_page=10, start_back_s=3600, max_pages_per_cycle=30)
    svc = Service(
        poller=Poller(feed.api(max_response_bytes=CAP), normalize, config, feed.clock),
        detector=build_detector(ROOT / "rules", ModelSettings(enabled=False)),
        model=None,
        store=store,
        delivery=Delivery(store.outbox(), {}),
        metrics=Metrics(),
        receivers=[],
        rules_dir=ROOT / "rules",
        interval_s=10.0,
        seen_ttl=timedelta(days=1),
        log=Log(),
        clock=feed.epoch,
    )
    yield svc, feed, store
    store.close()


def run(svc: Service, feed: FakeFeed, cycles: int) -> None:
    """Poll `cycles` times a minute apart; every cycle must succeed."""
    for _ in range(cycles):
        feed.advance(60)
        assert svc.cycle() is not None, svc.health.last_error


def test_poison_rows_are_kept_in_rejected_and_the_daemon_runs_on(
    daemon: tuple[Service, FakeFeed, StateStore], tmp_path: Path
) -> None:
    """Year 9999, four years ahead, huge fields and ids, absurd talk and cost: all quarantined."""
    svc, feed, store = daemon
    run(svc, feed, 2)
    feed.raw_rows += poison(feed.now - timedelta(seconds=40))
    run(svc, feed, 30)
    reasons = store.rejected_counts()
    assert reasons == {
        "time_out_of_range": 1,
        "future_time": 1,
        "row_too_large": 1,
        "field_too_long": 1,
        "value_out_of_range": 2,
    }
    assert processed(tmp_path / "state.sqlite") == GOOD
    assert svc.detector.newest is not None
    assert svc.detector.newest < feed.now
    kept = {r["reason"]: r for r in store.rejected_rows(10)}
    assert json.loads(kept["future_time"]["row"])["call_uuid"] == "p-2030"
    assert "X" * 1000 in kept["row_too_large"]["row"]
    assert len(kept["field_too_long"]["row"]) <= 16_385


def test_state_inspect_shows_rejected_counts_and_recent_rows(
    daemon: tuple[Service, FakeFeed, StateStore], tmp_path: Path
) -> None:
    """`state inspect --json` lists rejected rows by reason and the newest of them."""
    svc, feed, _ = daemon
    feed.raw_rows += poison(feed.now)
    run(svc, feed, 8)
    path = tmp_path / "state.sqlite"
    result = CliRunner().invoke(app, ["state", "inspect", "--state", str(path), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["rejected"]["time_out_of_range"] == 1
    assert len(info["recent_rejected"]) == 5
    assert all(len(r["row"]) <= 201 for r in info["recent_rejected"])


def test_a_page_far_larger_than_asked_is_never_parsed_whole(
    daemon: tuple[Service, FakeFeed, StateStore], tmp_path: Path
) -> None:
    """A response over the byte cap is read again in smaller pages: every call once, none lost."""
    svc, feed, _ = daemon
    feed.calls += [
        Call(f"bulk-{n:05d}", T0 - timedelta(minutes=50) + timedelta(seconds=n // 3))
        for n in range(1000)
    ]
    feed.flood = 1  # the next answer ignores per_page: ~450 KB for a 10-row page
    run(svc, feed, 18)
    api = svc.poller.api  # type: ignore[attr-defined]
    assert api.stats.requests["oversized"] == 1
    assert processed(tmp_path / "state.sqlite") == GOOD + 1000


def test_rejected_rows_are_purged_after_their_retention(
    daemon: tuple[Service, FakeFeed, StateStore],
) -> None:
    """Rejected rows older than the retention go; beyond the row cap only the newest stay."""
    svc, feed, store = daemon
    feed.raw_rows += poison(feed.now)
    run(svc, feed, 3)
    assert sum(store.rejected_counts().values()) == 6
    assert store.purge_rejected(0.0, 4) == 2
    assert "time_out_of_range" not in store.rejected_counts()  # the oldest went first
    svc.retention = Retention(rejected_s=3600.0, every_s=0.0)
    feed.advance(2 * 3600)
    svc.housekeeping.run()
    assert store.rejected_counts() == {}
