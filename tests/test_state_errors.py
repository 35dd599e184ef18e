"""Failures of the state file are errors that say what to do, never tracebacks: a missing,
unusable, damaged or newer file, and a full disk, which the running loop survives (it rewinds
to the last commit, says why in /readyz, and loses and double-counts nothing once space is back).
"""

from __future__ import annotations

import pickle
import resource
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from detector.alerting.delivery import Delivery
from detector.assembly import build_detector
from detector.cli import app
from detector.config import ModelSettings
from detector.errors import StateError, exit_code
from detector.metrics import Metrics
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.store import Cycle, StateStore
from tests.daemon import (
    ROOT,
    Simulator,
    daemon,
    free_port,
    processed,
    spawn,
    wait_for,
    write_config,
)
from tests.feed import Call, FakeFeed
from tests.test_reload import Log

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
runner = CliRunner()


def test_a_missing_state_folder_is_created(tmp_path: Path) -> None:
    """A state path in folders that do not exist yet works: the folders are made."""
    store = StateStore(tmp_path / "a" / "b" / "state.sqlite")
    store.close()
    assert (tmp_path / "a" / "b" / "state.sqlite").is_file()


def test_a_state_folder_that_cannot_exist_is_an_operator_error(tmp_path: Path) -> None:
    """A state path under a regular file fails with exit code 2 and names the folder."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateError) as caught:
        StateStore(tmp_path / "file" / "state.sqlite")
    assert exit_code(caught.value) == 2
    assert str(tmp_path / "file") in str(caught.value)
    assert "writable folder" in str(caught.value)


def test_a_damaged_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    """A file that is not SQLite is refused (exit 2): move it aside or restore a backup."""
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    with pytest.raises(StateError) as caught:
        StateStore(path)
    assert exit_code(caught.value) == 2
    assert "damaged or not a cdr-detector state file" in str(caught.value)
    assert "move it aside" in str(caught.value)


def test_run_and_inspect_on_a_damaged_file_exit_2_with_one_line(tmp_path: Path) -> None:
    """`state inspect` on a damaged file prints one error line and exits 2, no traceback."""
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"\x00garbage" * 500)
    result = runner.invoke(app, ["state", "inspect", "--state", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "damaged" in result.output


def test_an_unreadable_account_state_names_the_account(tmp_path: Path) -> None:
    """A damaged pickled account fails the load naming that account, not with a raw exception."""
    path = tmp_path / "state.sqlite"
    StateStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO accounts VALUES ('MA_broken', ?)", (pickle.dumps(1)[:-3],))
    store = StateStore(path)
    with pytest.raises(StateError, match="account MA_broken"):
        store.load()
    store.close()


def test_a_newer_schema_says_upgrade(tmp_path: Path) -> None:
    """A file written by a newer release is refused, naming both versions."""
    path = tmp_path / "state.sqlite"
    StateStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StateError, match="schema version 99"):
        StateStore(path)


def limit_pages(store: StateStore, pages: int) -> None:
    """Let the state file grow to `pages` pages at most: SQLite then reports it full."""
    store.conn.execute(f"PRAGMA max_page_count = {pages}")


def test_a_commit_on_a_full_disk_is_transient_and_stores_nothing(tmp_path: Path) -> None:
    """A full file fails the commit with a transient error (exit 1 if at start) and no row lands."""
    store = StateStore(tmp_path / "state.sqlite")
    limit_pages(store, store.conn.execute("PRAGMA page_count").fetchone()[0])
    ids = [(f"call-{n:05d}-{'x' * 40}", T0) for n in range(2000)]
    with pytest.raises(StateError) as caught:
        store.commit_cycle(Cycle(cursor={"v": 1}, new_ids=ids, cdrs=len(ids)))
    assert caught.value.transient
    assert exit_code(caught.value) == 1
    assert "disk is full" in str(caught.value)
    assert store.inspect()["cdrs_processed"] == 0
    store.close()


CALLS = 400


@pytest.fixture
def full(tmp_path: Path) -> Iterator[tuple[Service, StateStore]]:
    """A service over 400 calls whose state file may not grow for now."""
    feed = FakeFeed(now=T0 + timedelta(hours=2))
    feed.calls = [
        Call(f"c-{n:04d}-{'p' * 60}", T0 + timedelta(seconds=10 * n)) for n in range(CALLS)
    ]
    store = StateStore(tmp_path / "state.sqlite")
    rules = ROOT / "rules"

    def rebuild(snapshot: object) -> object:
        return build_detector(rules, ModelSettings(enabled=False), snapshot)  # type: ignore[arg-type]

    svc = Service(
        poller=Poller(
            feed.api(), normalize, PollerConfig(per_page=50, start_back_s=10800), feed.clock
        ),
        detector=build_detector(rules, ModelSettings(enabled=False)),
        model=None,
        store=store,
        delivery=Delivery(store.outbox(), {}),
        metrics=Metrics(),
        receivers=[],
        rules_dir=rules,
        interval_s=0.05,
        seen_ttl=timedelta(days=1),
        log=Log(),
        rebuild=rebuild,  # type: ignore[arg-type]
    )
    limit_pages(store, store.conn.execute("PRAGMA page_count").fetchone()[0] + 2)
    yield svc, store
    store.close()


def test_the_loop_survives_a_full_disk_and_counts_every_call_once(
    full: tuple[Service, StateStore],
) -> None:
    """Disk full: the loop keeps running, /readyz says why; space back: every call counted once."""
    svc, store = full
    loop = threading.Thread(target=svc.run, daemon=True)
    loop.start()
    try:
        wait_for(lambda: svc.health.state_error, 30, "a failed commit")
        ready, reason = svc.ready()
        assert not ready
        assert reason.startswith("state file not writable")
        assert "disk is full" in reason
        assert loop.is_alive()
        limit_pages(store, 1_000_000)
        wait_for(lambda: store.inspect()["cdrs_processed"] == CALLS, 60, "every call committed")
        wait_for(lambda: svc.ready()[0], 30, "ready again")
    finally:
        svc.stopping.set()
        loop.join(30)
    assert store.inspect()["cdrs_processed"] == CALLS
    assert store.inspect()["seen_ids"] == CALLS
    events = [e[1] for e in svc.log.events]
    assert "state file write failed; nothing committed, retrying from the last commit" in events
    assert "resumed from the last commit" in events


def test_run_on_a_damaged_state_file_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` refuses a damaged state file with exit code 2 (do not restart) and one line."""
    monkeypatch.setenv("CDR_DETECTOR_AUTH_ID", "PA_X")
    monkeypatch.setenv("CDR_DETECTOR_AUTH_TOKEN", "tok")
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"\x00garbage" * 500)
    result = runner.invoke(app, ["run", "--state", str(path), "--metrics-addr", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert "damaged" in result.output
    assert "Traceback" not in result.output


def _can_unshare() -> bool:
    try:
        done = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    except FileNotFoundError:
        return False
    return done.returncode == 0


@pytest.mark.skipif(
    not _can_unshare(), reason="needs `unshare -rm` (user namespaces) for a ro mount"
)
def test_a_read_only_state_folder_stops_the_daemon_with_exit_2(tmp_path: Path) -> None:
    """On a read-only mount the daemon exits 2 naming the folder, with no traceback."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mount = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    args = [
        "run", "--state", str(folder / "state.sqlite"), "--metrics-addr", "127.0.0.1:0",
        "--api-url", "http://127.0.0.1:9/api/v1/partner",
    ]  # fmt: skip
    proc = spawn(
        args, tmp_path / "ro.log", prefix=["unshare", "-rm", "sh", "-c", mount, str(folder)]
    )
    assert proc.popen.wait(timeout=60) == 2, proc.text()
    text = proc.text()
    assert str(folder) in text
    assert "writable" in text
    assert "Traceback" not in text


def _readiness(port: int) -> str:
    try:
        return str(httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json()["detail"])
    except httpx.HTTPError:
        return ""


@pytest.mark.slow
def test_a_daemon_whose_disk_fills_keeps_running_and_catches_up(tmp_path: Path) -> None:
    """A daemon limited to 256 KB files reports the full disk in /readyz and keeps running;
    with the limit lifted it counts every served call exactly once."""
    sim = Simulator(
        tmp_path, "--accounts", "6", "--speed", "2000", "--seed", "4", "--duration", "30m"
    )
    state = tmp_path / "state.sqlite"
    config = write_config(tmp_path, 2000.0, log={"format": "json", "level": "warning"})
    port, limit = free_port(), 256 * 1024

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    proc = daemon(tmp_path, sim, config, port, {}, "daemon", preexec=small_files)
    try:
        reason = wait_for(
            lambda: "state file not writable" in (r := _readiness(port)) and r, 60,
            "/readyz to report the full state file",
        )  # fmt: skip
        assert proc.popen.poll() is None, proc.text()
        unlimited = resource.RLIM_INFINITY
        resource.prlimit(proc.popen.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
        wait_for(lambda: sim.stats()["final"], 120, "the simulated hour to end")
        served = sim.stats()["calls"]
        wait_for(lambda: processed(state) == served, 120, f"cdrs_processed == {served}")
    finally:
        code = proc.stop()
        sim.proc.stop()
    assert code == 0, proc.text()
    assert "full" in reason or "I/O" in reason or "File too large" in reason, reason
    assert processed(state) == served
    assert "Traceback" not in proc.text()
