"""The durable outbox: one SQLite row per alert × receiver, drained by the dispatcher.

These helpers take an open `sqlite3.Connection` and never commit: the state store runs
`create_schema` and `enqueue` inside its one-transaction-per-cycle, and the dispatcher wraps
each `mark_*` in its own short transaction. Rows are keyed by (delivery_id, receiver), so
enqueueing the same alert again (a replayed cycle) is a no-op.

A row is `pending` until it is `sent` or `dead` (permanently refused). `due` returns pending
rows whose `next_at` has come, oldest first, and holds back a row while an older row for the
same receiver and fingerprint is still pending, so a RESOLVED never overtakes its FIRING.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from detector.domain import Alert

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


def enqueue(
    conn: sqlite3.Connection, alerts: Iterable[Alert], receivers: Iterable[str], now: float
) -> int:
    """Queue every alert for every receiver, due at `now`; return how many rows were new."""
    names = list(receivers)
    rows = [
        (a.delivery_id, r, a.fingerprint, json.dumps(a.to_json(), sort_keys=True), now, now)
        for a in alerts
        for r in names
    ]
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO outbox (delivery_id, receiver, fingerprint, payload, created_at,"
        " next_at) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return conn.total_changes - before


def due(
    conn: sqlite3.Connection,
    now: float,
    limit: int = 100,
    receivers: Collection[str] | None = None,
) -> list[OutboxItem]:
    """Pending rows due at `now`, oldest first, never ahead of an older pending sibling.

    `receivers`, when given, restricts the rows to those receivers.
    """
    only = "" if receivers is None else f" AND receiver IN ({','.join('?' * len(receivers))})"
    # S608: only "?" placeholders are interpolated into the text, never values.
    query = (
        "SELECT delivery_id, receiver, payload, attempts, created_at, next_at FROM outbox o"  # noqa: S608
        f" WHERE status = 'pending' AND next_at <= ?{only} AND NOT EXISTS ("
        "  SELECT 1 FROM outbox p WHERE p.receiver = o.receiver"
        "  AND p.fingerprint = o.fingerprint AND p.status = 'pending' AND p.rowid < o.rowid)"
        " ORDER BY next_at, rowid LIMIT ?"
    )
    rows = conn.execute(query, (now, *(receivers or ()), limit))
    return [
        OutboxItem(str(d), str(r), json.loads(p), int(n), float(c), float(t))
        for d, r, p, n, c, t in rows
    ]


def mark_sent(conn: sqlite3.Connection, delivery_id: str, receiver: str, now: float) -> None:
    """Record a successful delivery."""
    _finish(conn, delivery_id, receiver, status=SENT, now=now, error="")


def mark_retry(
    conn: sqlite3.Connection, delivery_id: str, receiver: str, next_at: float, error: str
) -> None:
    """Record a failed attempt and when to try again."""
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?"
        " WHERE delivery_id = ? AND receiver = ? AND status = 'pending'",
        (next_at, error[:500], delivery_id, receiver),
    )


def mark_dead(
    conn: sqlite3.Connection, delivery_id: str, receiver: str, error: str, now: float = 0.0
) -> None:
    """Record that the receiver refused this notification for good (dead letter)."""
    _finish(conn, delivery_id, receiver, status=DEAD, now=now, error=error)


def _finish(
    conn: sqlite3.Connection,
    delivery_id: str,
    receiver: str,
    *,
    status: str,
    now: float,
    error: str,
) -> None:
    conn.execute(
        "UPDATE outbox SET status = ?, attempts = attempts + 1, done_at = ?, last_error = ?"
        " WHERE delivery_id = ? AND receiver = ? AND status = 'pending'",
        (status, now, error[:500], delivery_id, receiver),
    )


def pending_count(conn: sqlite3.Connection) -> dict[str, int]:
    """Pending rows per receiver."""
    rows = conn.execute(
        "SELECT receiver, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY receiver"
    )
    return {str(r): int(n) for r, n in rows}


def dead_letters(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest dead-lettered rows (delivery id, receiver, attempts, error), newest first."""
    rows = conn.execute(
        "SELECT delivery_id, receiver, attempts, last_error FROM outbox WHERE status = 'dead'"
        " ORDER BY done_at DESC LIMIT ?",
        (limit,),
    )
    return [{"delivery_id": d, "receiver": r, "attempts": n, "error": e} for d, r, n, e in rows]


def purge_done(conn: sqlite3.Connection, older_than: float) -> int:
    """Delete sent rows finished before `older_than` (dead letters are kept); return the count."""
    cur = conn.execute("DELETE FROM outbox WHERE status = 'sent' AND done_at < ?", (older_than,))
    return cur.rowcount
