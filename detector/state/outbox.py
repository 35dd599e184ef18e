"""The durable outbox: one SQLite row per notification × receiver, the queue between detection
and delivery.

The cycle's transaction adds rows (`enqueue`, never committing itself), so a notification
exists exactly when the alert that caused it was committed; the delivery task works on its own
connection through `Outbox`, one short transaction per change, so a slow receiver never holds
the cycle's transaction. Rows are keyed by (delivery_id, receiver): enqueueing the same
notification again (a replayed cycle) is a no-op.

A row is `pending` until it is `sent` or `dead` (refused for good, or beyond the receiver's
backlog cap). `due` returns pending rows whose `next_at` has come, oldest first, and holds a
row back while an older row of the same receiver and key (the alert's fingerprint) is still
pending, so a RESOLVED never overtakes its FIRING. Dead letters are kept until re-queued
(`requeue_dead`, i.e. `cdr-detector outbox retry`); sent rows are purged after the retention age.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.state.database import Handle, transaction

PENDING, SENT, DEAD = "pending", "sent", "dead"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    delivery_id TEXT NOT NULL,
    receiver TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    next_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT NOT NULL DEFAULT '',
    done_at REAL,
    PRIMARY KEY (delivery_id, receiver)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_at);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (receiver, fingerprint, status);
"""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One notification to queue for one receiver; `key` orders a receiver's rows (fingerprint)."""

    delivery_id: str
    receiver: str
    key: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One notification waiting for one receiver."""

    delivery_id: str
    receiver: str
    payload: Mapping[str, Any]
    attempts: int
    created_at: float
    next_at: float


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox table and its indexes if missing (idempotent)."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def enqueue(conn: sqlite3.Connection, envelopes: Iterable[Envelope], now: float) -> int:
    """Queue each envelope, due at `now`, inside the caller's transaction; return rows added."""
    rows = [
        (e.delivery_id, e.receiver, e.key, json.dumps(e.payload, sort_keys=True), now, now)
        for e in envelopes
    ]
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO outbox (delivery_id, receiver, fingerprint, payload, created_at,"
        " next_at) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return conn.total_changes - before


def pending_count(conn: sqlite3.Connection) -> dict[str, int]:
    """Pending rows per receiver."""
    rows = conn.execute(
        "SELECT receiver, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY receiver"
    )
    return {str(r): int(n) for r, n in rows}


def dead_letters(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest dead letters (delivery id, receiver, attempts, error, when), newest first."""
    rows = conn.execute(
        "SELECT delivery_id, receiver, attempts, last_error, done_at FROM outbox"
        " WHERE status = 'dead' ORDER BY done_at DESC, rowid DESC LIMIT ?",
        (limit,),
    )
    return [
        {"delivery_id": d, "receiver": r, "attempts": n, "error": e, "at": t}
        for d, r, n, e, t in rows
    ]


def dead_count(conn: sqlite3.Connection) -> dict[str, int]:
    """Dead letters per receiver."""
    rows = conn.execute(
        "SELECT receiver, COUNT(*) FROM outbox WHERE status = 'dead' GROUP BY receiver"
    )
    return {str(r): int(n) for r, n in rows}


class Outbox(Handle):
    """The delivery side of the outbox, on its own connection; safe to share between threads.

    Every method is one short transaction (or a read); SQLite failures surface as
    `StateError` (transient for a full disk or a lock), so a delivery worker can wait and retry.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, create_schema)

    def enqueue(self, envelopes: Iterable[Envelope], now: float) -> int:
        """Queue envelopes in a transaction of their own; the number of new rows."""

        def change(c: sqlite3.Connection) -> int:
            with transaction(c):
                return enqueue(c, envelopes, now)

        return self._run("committing", change)

    def due(self, now: float, limit: int, receiver: str) -> list[OutboxItem]:
        """Pending rows of `receiver` due at `now`, oldest first, never before an older sibling."""
        query = (
            "SELECT delivery_id, receiver, payload, attempts, created_at, next_at FROM outbox o"
            " WHERE status = 'pending' AND receiver = ? AND next_at <= ? AND NOT EXISTS ("
            "  SELECT 1 FROM outbox p WHERE p.receiver = o.receiver"
            "  AND p.fingerprint = o.fingerprint AND p.status = 'pending' AND p.rowid < o.rowid)"
            " ORDER BY next_at, rowid LIMIT ?"
        )

        def read(c: sqlite3.Connection) -> list[OutboxItem]:
            return [
                OutboxItem(str(d), str(r), json.loads(p), int(n), float(t0), float(t))
                for d, r, p, n, t0, t in c.execute(query, (receiver, now, limit))
            ]

        return self._run("reading the outbox", read)

    def next_due(self, receiver: str) -> float | None:
        """When the earliest pending row of `receiver` is due (None when nothing waits)."""
        row = self._run(
            "reading the outbox",
            lambda c: c.execute(
                "SELECT MIN(next_at) FROM outbox WHERE status = 'pending' AND receiver = ?",
                (receiver,),
            ).fetchone(),
        )
        return None if row is None or row[0] is None else float(row[0])

    def mark_sent(self, item: OutboxItem, now: float) -> None:
        """Record a successful delivery."""
        self._finish(item, SENT, now, "")

    def mark_dead(self, item: OutboxItem, error: str, now: float) -> None:
        """Record that the receiver refused this notification for good (a dead letter)."""
        self._finish(item, DEAD, now, error)

    def mark_retry(self, item: OutboxItem, next_at: float, error: str) -> None:
        """Record a failed attempt and when to try again."""
        self._write(
            "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?"
            " WHERE delivery_id = ? AND receiver = ? AND status = 'pending'",
            (next_at, error[:500], item.delivery_id, item.receiver),
        )

    def _finish(self, item: OutboxItem, status: str, now: float, error: str) -> None:
        self._write(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, done_at = ?, last_error = ?"
            " WHERE delivery_id = ? AND receiver = ? AND status = 'pending'",
            (status, now, error[:500], item.delivery_id, item.receiver),
        )

    def bury(self, receiver: str, error: str, now: float) -> int:
        """Dead-letter every pending row of `receiver` (it cannot work); return how many."""
        return self._write(
            "UPDATE outbox SET status = 'dead', done_at = ?, last_error = ?"
            " WHERE receiver = ? AND status = 'pending'",
            (now, error[:500], receiver),
        )

    def cap(self, receiver: str, keep: int, now: float) -> int:
        """Dead-letter the oldest pending rows of `receiver` beyond the newest `keep`."""
        return self._write(
            "UPDATE outbox SET status = 'dead', done_at = ?,"
            " last_error = 'dropped from a backlog over the receiver''s cap; re-queue with"
            " `cdr-detector outbox retry`'"
            " WHERE rowid IN (SELECT rowid FROM outbox WHERE receiver = ? AND status = 'pending'"
            " ORDER BY rowid DESC LIMIT -1 OFFSET ?)",
            (now, receiver, keep),
        )

    def requeue_dead(self, now: float, receiver: str | None = None) -> int:
        """Make dead letters (of one receiver, or all) pending again, due at `now`."""
        where = "" if receiver is None else " AND receiver = ?"
        params: tuple[Any, ...] = (now,) if receiver is None else (now, receiver)
        return self._write(
            "UPDATE outbox SET status = 'pending', next_at = ?, attempts = 0, done_at = NULL"  # noqa: S608 - no value is interpolated
            f" WHERE status = 'dead'{where}",
            params,
        )

    def purge_sent(self, older_than: float) -> int:
        """Delete sent rows finished before `older_than` (dead letters are kept)."""
        return self._write(
            "DELETE FROM outbox WHERE status = 'sent' AND done_at < ?", (older_than,)
        )

    def pending(self) -> dict[str, int]:
        """Pending rows per receiver."""
        return self._run("reading the outbox", pending_count)

    def dead(self) -> dict[str, int]:
        """Dead letters per receiver."""
        return self._run("reading the outbox", dead_count)

    def dead_letters(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest dead letters, newest first."""
        return self._run("reading the outbox", lambda c: dead_letters(c, limit))
