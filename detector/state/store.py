"""The SQLite state file: cursor, seen call ids, per-account detection state, alerts and outbox.

One poll cycle is one transaction (`commit_cycle`): the poller's new cursor and seen ids, the
states of the accounts the cycle touched, the alerts it raised and their outbox rows land
together or not at all, so a crash anywhere replays from the last commit with the same outcome.
Checkpoint cost grows with the accounts touched in the cycle, not with all accounts.

Account states are pickled: the file is our own (never load a state file from an untrusted
source), and river's models are picklable by design. The schema carries a version; a file
written by a newer version is refused with a message saying what to do.

The store owns its SQL: `commit_cycle` queues each new alert for the notification stage
(`state.notifications`), which routes and groups them into outbox rows on its own connection
(`StateStore.notifications()`); the delivery task works the outbox through another
(`StateStore.outbox()`); silences are kept through `StateStore.silences()`.
Every SQLite failure becomes a `StateError` (`state.database.translate`): a full disk while
committing rolls the cycle back and is transient, a damaged file is not.

Retention (`purge`): seen ids older than the late-arrival horizon (never below the poller's
low-water mark), sent notifications older than `sent_s` (wall time), alert episodes that
resolved more than `alerts_s` ago (event time) and rejected rows (`state.rejected`) after
`rejected_s` and beyond `rejected_rows`; dead letters and alerts still firing are never purged.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from detector.domain import Alert, Rejected, iso
from detector.errors import StateError
from detector.state import notifications, outbox, rejected
from detector.state.database import connect, transaction, translate
from detector.state.notifications import NotificationStore, SilenceBook
from detector.state.outbox import Outbox

T = TypeVar("T")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
CREATE TABLE IF NOT EXISTS early (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS early_at ON early (at);
CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    delivery_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alerts_at ON alerts (at);
CREATE INDEX IF NOT EXISTS alerts_episode ON alerts (fingerprint, at);
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
    now: float = 0.0
    rejected: Collection[Rejected] = ()
    early: Iterable[tuple[str, datetime]] = ()
    """Ids of CDRs a webhook delivered before the poller (`webhooks.merge`), with their start."""
    confirmed: Collection[str] = ()
    """Early ids whose poller copy this cycle returned: they leave `early` (they are in
    `new_ids`, so they join `seen`)."""


class StateStore:
    """The one owner of the SQLite state file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = connect(path)
        """The loop's connection: only the thread that runs cycles uses it."""
        self._run("opening", lambda _: self._init_schema())
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()

    def _view(self, doing: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read on a second connection, for other threads (HTTP status, metrics)."""
        with self._reader_lock:
            try:
                if self._reader is None:
                    self._reader = connect(self.path)
                return work(self._reader)
            except sqlite3.Error as exc:
                raise translate(exc, self.path, doing) from None

    def _run(self, doing: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the connection, SQLite failures translated into `StateError`."""
        try:
            return work(self.conn)
        except sqlite3.Error as exc:
            raise translate(exc, self.path, doing) from None

    def _init_schema(self) -> None:
        with transaction(self.conn):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            outbox.create_schema(self.conn)
            rejected.create_schema(self.conn)
            notifications.create_schema(self.conn)
            self._check_version()

    def _check_version(self) -> None:
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

    def outbox(self) -> Outbox:
        """A handle on the outbox with its own connection, for the delivery task's threads."""
        return Outbox(self.path)

    def notifications(self) -> NotificationStore:
        """A handle for the notification stage (queue, groups), with its own connection."""
        return NotificationStore(self.path)

    def silences(self) -> SilenceBook:
        """A handle on the silences (HTTP API, CLI), with its own connection."""
        return SilenceBook(self.path)

    def seen(self, ids: Collection[str]) -> set[str]:
        """Which of `ids` earlier cycles already committed."""
        return self._run("reading seen ids", lambda _: self._seen(list(ids)))

    def early(self, ids: Collection[str]) -> set[str]:
        """Which of `ids` a webhook delivered (and a cycle processed) before the poller did."""
        return self._run("reading early ids", lambda _: self._seen(list(ids), "early"))

    def _seen(self, batch: list[str], table: str = "seen") -> set[str]:
        found: set[str] = set()
        for i in range(0, len(batch), 500):
            chunk = batch[i : i + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id FROM {table} WHERE id IN ({marks})"  # noqa: S608 - our own names
            found.update(str(r[0]) for r in self.conn.execute(sql, chunk))
        return found

    def load(self) -> Snapshot:
        """Read the state left by the last commit."""
        return self._run("loading", lambda _: self._load())

    def _load(self) -> Snapshot:
        cursor = self._meta("cursor")
        meta = self._meta("detector_meta")
        accounts = {
            str(a): self._unpickle(b, f"account {a}")
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

    def _unpickle(self, blob: bytes, what: str) -> Any:
        try:
            return pickle.loads(blob)  # noqa: S301 - our own state file, never a foreign one
        except Exception as exc:  # any unpickling failure means the same thing
            raise StateError(
                f"state file {self.path}: the saved state of {what} cannot be read "
                f"({type(exc).__name__}: {str(exc)[:200]}); it is damaged or was written by an "
                "incompatible version: move the file aside and start again, or restore a backup"
            ) from None

    def commit_cycle(self, cycle: Cycle) -> None:
        """Store one cycle's outcome atomically; on any failure nothing of it is stored."""
        self._run("committing", lambda c: self._commit(c, cycle))

    def _commit(self, c: sqlite3.Connection, cycle: Cycle) -> None:
        with transaction(c):
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
            for alert in cycle.alerts:
                body = alert.to_json()
                new = c.execute(
                    "INSERT OR IGNORE INTO alerts (delivery_id, fingerprint, at, body)"
                    " VALUES (?, ?, ?, ?)",
                    (alert.delivery_id, alert.fingerprint, body["at"], json.dumps(body)),
                ).rowcount
                if new and not alert.shadow:
                    notifications.enqueue(c, body)
            rejected.add(c, cycle.rejected, cycle.now)
            c.executemany(
                "INSERT OR IGNORE INTO early (id, at) VALUES (?, ?)",
                ((i, at.timestamp()) for i, at in cycle.early),
            )
            c.executemany("DELETE FROM early WHERE id = ?", ((i,) for i in cycle.confirmed))

    def purge_seen(self, older_than: datetime) -> int:
        """Forget seen (and unconfirmed early) ids of calls that started before `older_than`."""
        cut = (older_than.timestamp(),)
        return self._write("DELETE FROM seen WHERE at < ?", cut) + self._write(
            "DELETE FROM early WHERE at < ?", cut
        )

    def purge_alerts(self, older_than: datetime) -> int:
        """Forget alert episodes that resolved before `older_than` (event time); return rows."""
        return self._write(
            "DELETE FROM alerts WHERE at < :cut AND EXISTS (SELECT 1 FROM alerts r"
            " WHERE r.fingerprint = alerts.fingerprint AND r.at >= alerts.at AND r.at < :cut"
            " AND json_extract(r.body, '$.status') = 'resolved')",
            {"cut": iso(older_than)},
        )

    def purge_sent(self, older_than: float) -> int:
        """Delete notifications sent before `older_than` (Unix seconds); dead letters stay."""
        return self._write(
            "DELETE FROM outbox WHERE status = 'sent' AND done_at < ?", (older_than,)
        )

    def purge_rejected(self, older_than: float, keep_at_most: int) -> int:
        """Forget rejected rows kept since before `older_than` (Unix seconds), and all but
        the newest `keep_at_most`."""

        def change(c: sqlite3.Connection) -> int:
            with transaction(c):
                return rejected.purge(c, older_than, keep_at_most)

        return self._run("committing", change)

    def rejected_rows(self, limit: int = 20, reason: str | None = None) -> list[dict[str, Any]]:
        """The newest rejected rows kept (optionally of one reason), newest first."""
        return self._view("reading rejected rows", lambda c: rejected.newest(c, limit, reason))

    def rejected_counts(self) -> dict[str, int]:
        """Rejected rows kept, by reason."""
        return self._view("reading rejected rows", rejected.counts)

    def _write(self, sql: str, params: Any) -> int:
        def change(c: sqlite3.Connection) -> int:
            with transaction(c):
                return int(c.execute(sql, params).rowcount)

        return self._run("committing", change)

    def outbox_summary(self) -> dict[str, Any]:
        """Pending and dead-lettered notifications per receiver, and the newest dead letters."""

        def read(c: sqlite3.Connection) -> dict[str, Any]:
            return {
                "pending": outbox.pending_count(c),
                "dead": outbox.dead_count(c),
                "recent_dead_letters": outbox.dead_letters(c, 10),
            }

        return self._view("reading the outbox", read)

    def alert_history(self, fingerprint: str, limit: int = 50) -> list[dict[str, Any]]:
        """The recorded transitions of one alert, newest first (safe from any thread)."""
        rows = self._view(
            "reading alerts",
            lambda c: c.execute(
                "SELECT body FROM alerts WHERE fingerprint = ? ORDER BY at DESC LIMIT ?",
                (fingerprint, limit),
            ).fetchall(),
        )
        return [json.loads(r[0]) for r in rows]

    def recent_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest alerts recorded, newest first (safe from any thread)."""
        rows = self._view(
            "reading alerts",
            lambda c: c.execute(
                "SELECT body FROM alerts ORDER BY at DESC LIMIT ?", (limit,)
            ).fetchall(),
        )
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
        return self._run("reading", lambda _: self._inspect())

    def _inspect(self) -> dict[str, Any]:
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
            "dead_letters": outbox.dead_count(self.conn),
            "recent_dead_letters": outbox.dead_letters(self.conn, 10),
            "rejected": rejected.counts(self.conn),
            "recent_rejected": [rejected.brief(r) for r in rejected.newest(self.conn, 5)],
            "notifications_queued": count("SELECT COUNT(*) FROM notify_queue").fetchone()[0],
            "notification_groups": count("SELECT COUNT(*) FROM groups").fetchone()[0],
            "silences_active": len(notifications.silences(self.conn, time.time())),
            "notifications_silenced": count("SELECT COUNT(*) FROM silenced").fetchone()[0],
            "size_bytes": self.path.stat().st_size if self.path.exists() else 0,
        }

    def drop_model_state(self) -> bool:
        """Forget the model's shared state (`state reset-model`); whether there was one.

        Per-account model state needs no reset: a layout the release does not know loads
        empty (`AccountModelState.__setstate__`), and rules, alerts and the cursor stay.
        """
        cur = self.conn.execute("DELETE FROM blobs WHERE name = 'model'")
        return cur.rowcount > 0

    def close(self) -> None:
        """Close the connections (WAL is checkpointed by SQLite)."""
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        self.conn.close()
