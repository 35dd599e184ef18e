"""The SQLite state file: cursor, seen call ids, per-account detection state, alerts and outbox.

One poll cycle is one transaction (`commit_cycle`): the poller's new cursor and seen ids, the
states of the accounts the cycle touched, the alerts it raised and their outbox rows land
together or not at all, so a crash anywhere replays from the last commit with the same outcome.
Checkpoint cost grows with the accounts touched in the cycle, not with all accounts.

Account states are pickled: the file is our own (never load a state file from an untrusted
source), and river's models are picklable by design. The schema carries a version; a file
written by a newer version is refused with a message saying what to do.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from detector.alerting import outbox
from detector.domain import Alert
from detector.errors import StateError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    delivery_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
"""


@dataclass(slots=True)
class Snapshot:
    """Everything loaded at start-up to resume where the last commit left off."""

    cursor: dict[str, Any] | None
    detector_meta: dict[str, Any]
    accounts: dict[str, Any]
    model_blob: bytes | None
    cdrs_processed: int


@dataclass(slots=True)
class Cycle:
    """What one poll cycle commits, all in one transaction."""

    cursor: dict[str, Any] | None
    new_ids: Iterable[tuple[str, datetime]] = ()
    cdrs: int = 0
    changed_accounts: Mapping[str, Any] = field(default_factory=dict)
    evicted_accounts: Collection[str] = ()
    detector_meta: Mapping[str, Any] = field(default_factory=dict)
    model_blob: bytes | None = None
    alerts: list[Alert] = field(default_factory=list)
    receivers: Collection[str] = ()
    now: float = 0.0


class StateStore:
    """The one owner of the SQLite state file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._init_schema()
        except sqlite3.Error as exc:
            raise StateError(
                f"cannot open state file {path}: {exc}; check the path and its permissions"
            ) from exc

    def _init_schema(self) -> None:
        self.conn.executescript(_SCHEMA)
        outbox.create_schema(self.conn)
        version = self._meta("schema_version")
        if version is None:
            self._set_meta("schema_version", str(SCHEMA_VERSION))
            self._set_meta("created_at", datetime.now().astimezone().isoformat())
        elif int(version) > SCHEMA_VERSION:
            raise StateError(
                f"state file {self.path} has schema version {version}, newer than this release "
                f"understands ({SCHEMA_VERSION}); upgrade cdr-detector or point --state at a "
                "new file"
            )

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def seen(self, ids: Collection[str]) -> set[str]:
        """Which of `ids` earlier cycles already committed."""
        found: set[str] = set()
        batch = list(ids)
        for i in range(0, len(batch), 500):
            chunk = batch[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(f"SELECT id FROM seen WHERE id IN ({marks})", chunk)  # noqa: S608
            found.update(str(r[0]) for r in rows)
        return found

    def load(self) -> Snapshot:
        """Read the state left by the last commit."""
        cursor = self._meta("cursor")
        meta = self._meta("detector_meta")
        accounts = {
            str(a): pickle.loads(b)  # noqa: S301 - our own state file, never a foreign one
            for a, b in self.conn.execute("SELECT account, blob FROM accounts")
        }
        model = self.conn.execute("SELECT blob FROM blobs WHERE name = 'model'").fetchone()
        return Snapshot(
            cursor=json.loads(cursor) if cursor else None,
            detector_meta=json.loads(meta) if meta else {},
            accounts=accounts,
            model_blob=bytes(model[0]) if model else None,
            cdrs_processed=int(self._meta("cdrs_processed") or 0),
        )

    def commit_cycle(self, cycle: Cycle) -> None:
        """Store one cycle's outcome atomically."""
        c = self.conn
        try:
            c.execute("BEGIN IMMEDIATE")
            c.executemany(
                "INSERT OR IGNORE INTO seen (id, at) VALUES (?, ?)",
                ((i, at.timestamp()) for i, at in cycle.new_ids),
            )
            if cycle.cursor is not None:
                self._set_meta("cursor", json.dumps(cycle.cursor, sort_keys=True))
            self._set_meta("detector_meta", json.dumps(dict(cycle.detector_meta), sort_keys=True))
            total = int(self._meta("cdrs_processed") or 0) + cycle.cdrs
            self._set_meta("cdrs_processed", str(total))
            c.executemany(
                "INSERT OR REPLACE INTO accounts (account, blob) VALUES (?, ?)",
                ((a, pickle.dumps(s, protocol=5)) for a, s in cycle.changed_accounts.items()),
            )
            c.executemany(
                "DELETE FROM accounts WHERE account = ?", ((a,) for a in cycle.evicted_accounts)
            )
            if cycle.model_blob is not None:
                c.execute(
                    "INSERT OR REPLACE INTO blobs (name, blob) VALUES ('model', ?)",
                    (cycle.model_blob,),
                )
            c.executemany(
                "INSERT OR IGNORE INTO alerts (delivery_id, fingerprint, at, body)"
                " VALUES (?, ?, ?, ?)",
                (
                    (a.delivery_id, a.fingerprint, a.to_json()["at"], json.dumps(a.to_json()))
                    for a in cycle.alerts
                ),
            )
            live = [a for a in cycle.alerts if not a.shadow]
            outbox.enqueue(c, live, list(cycle.receivers), cycle.now)
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    def purge_seen(self, older_than: datetime) -> int:
        """Forget seen ids whose event time is older than the late-arrival horizon."""
        cur = self.conn.execute("DELETE FROM seen WHERE at < ?", (older_than.timestamp(),))
        return cur.rowcount

    def recent_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest alerts recorded, newest first."""
        rows = self.conn.execute("SELECT body FROM alerts ORDER BY at DESC LIMIT ?", (limit,))
        return [json.loads(r[0]) for r in rows]

    def alerts(
        self, account: str | None = None, mentioning: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Recorded alert notifications, oldest first: of one account, or whose body mentions
        `mentioning` as a JSON string (a call id in the evidence), or both."""
        where, args = [], []
        if account is not None:
            where.append("json_extract(body, '$.account') = ?")
            args.append(account)
        if mentioning is not None:
            where.append("instr(body, ?) > 0")
            args.append(json.dumps(mentioning))
        sql = "SELECT body FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC LIMIT ?"
        rows = self.conn.execute(sql, (*args, limit)).fetchall()
        return [json.loads(r[0]) for r in reversed(rows)]

    def inspect(self) -> dict[str, Any]:
        """A summary for `cdr-detector state inspect`."""
        count = self.conn.execute
        cursor = self._meta("cursor")
        return {
            "path": str(self.path),
            "schema_version": int(self._meta("schema_version") or 0),
            "created_at": self._meta("created_at"),
            "cdrs_processed": int(self._meta("cdrs_processed") or 0),
            "cursor": json.loads(cursor) if cursor else None,
            "accounts_tracked": count("SELECT COUNT(*) FROM accounts").fetchone()[0],
            "seen_ids": count("SELECT COUNT(*) FROM seen").fetchone()[0],
            "alerts_recorded": count("SELECT COUNT(*) FROM alerts").fetchone()[0],
            "outbox_pending": outbox.pending_count(self.conn),
            "size_bytes": self.path.stat().st_size if self.path.exists() else 0,
        }

    def close(self) -> None:
        """Close the connection (WAL is checkpointed by SQLite)."""
        self.conn.close()
