"""`cdr-detector state export` and `state reset`: take the state file's contents out as JSONL,
and start over with an empty one.

Export writes one JSON object per line, each with a `type`:

    meta         schema version, when the file was created, CDRs processed, the export time
    cursor       where the poller will resume (null before the first commit)
    alert        every alert notification recorded (the webhook payload), oldest first
    finding      the latest finding of every open alert (pending or firing), per account
    dead_letter  notifications a receiver refused for good

It reads only, so it is safe while the daemon runs (SQLite WAL readers do not block the
writer). Reset removes the file and its WAL and shared-memory companions, and refuses while
another process holds the file: stop the daemon first. Export before you reset when you
want to keep the history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detector.domain import iso
from detector.errors import StateError
from detector.state.store import StateStore

ALL = 10**9


def export_records(store: StateStore, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every exported record, in the order documented above."""
    info = store.inspect()
    snapshot = store.load()
    yield {
        "type": "meta", "schema_version": info["schema_version"],
        "created_at": info["created_at"], "cdrs_processed": info["cdrs_processed"],
        "exported_at": iso(now or datetime.now(UTC)),
    }  # fmt: skip
    yield {"type": "cursor", "cursor": snapshot.cursor}
    for alert in store.alerts(limit=ALL):
        yield {"type": "alert", **alert}
    for account, state in sorted(snapshot.accounts.items()):
        for fingerprint, track in sorted(state.alerts.open.items()):
            yield _finding(account, fingerprint, track)
    for dead in reversed(store.outbox().dead_letters(limit=ALL)):
        yield {"type": "dead_letter", **dead}


def _finding(account: str, fingerprint: str, track: Any) -> dict[str, Any]:
    f = track.latest
    return {
        "type": "finding", "account": account, "fingerprint": fingerprint,
        "phase": str(track.phase), "rule": f.source, "severity": f.severity.label,
        "value": f.value, "threshold": f.threshold, "at": iso(f.at), "summary": f.summary,
        "labels": dict(f.labels), "evidence": list(f.evidence),
    }  # fmt: skip


def reset(path: Path) -> list[Path]:
    """Delete the state file and its companions; returns what was removed.

    Refuses (StateError) when the file is locked by another process, e.g. a running daemon.
    """
    if not path.exists():
        raise StateError(f"no state file at {path}: nothing to reset")
    _ensure_unused(path)
    removed = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists():
            candidate.unlink()
            removed.append(candidate)
    return removed


def _ensure_unused(path: Path) -> None:
    conn = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        raise StateError(
            f"state file {path} is in use ({exc}): stop the daemon before resetting it"
        ) from None
    finally:
        conn.close()
