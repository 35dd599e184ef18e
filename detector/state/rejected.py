"""The `rejected` table: wire rows the source refused, kept so nothing is lost to the user.

Each row the normaliser or the poller rejects (a reason from `Rejected`'s vocabulary, a
detail, the call id when known and the wire row as JSON cut at 16 KB) is written in the same
transaction as the cycle that read it, and purged after the retention age and beyond a row cap
(`housekeeping.Retention`), so a feed of nothing but poison cannot fill the disk.
`state inspect` shows the counts by reason and the newest rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from detector.domain import Rejected

Param = str | int

SCHEMA = """
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, reason TEXT NOT NULL,
    call_id TEXT NOT NULL, detail TEXT NOT NULL, row TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_at ON rejected (at)
"""
_COLUMNS = ("at", "reason", "call_id", "detail", "row")


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the table and its index if missing (inside the caller's transaction)."""
    for statement in SCHEMA.split(";"):
        conn.execute(statement)


def add(conn: sqlite3.Connection, rows: Iterable[Rejected], now: float) -> None:
    """Keep `rows`, rejected at `now` (Unix seconds), in the caller's transaction."""
    conn.executemany(
        "INSERT INTO rejected (at, reason, call_id, detail, row) VALUES (?, ?, ?, ?, ?)",
        ((now, r.reason, r.call_id, r.detail, r.row) for r in rows),
    )


def purge(conn: sqlite3.Connection, older_than: float, keep_at_most: int) -> int:
    """Delete rows rejected before `older_than` and all but the newest `keep_at_most`."""
    gone = conn.execute("DELETE FROM rejected WHERE at < ?", (older_than,)).rowcount
    edge = conn.execute(
        "SELECT id FROM rejected ORDER BY id DESC LIMIT 1 OFFSET ?", (keep_at_most,)
    ).fetchone()
    if edge is not None:
        gone += conn.execute("DELETE FROM rejected WHERE id <= ?", (edge[0],)).rowcount
    return int(gone)


def newest(conn: sqlite3.Connection, limit: int, reason: str | None = None) -> list[dict[str, Any]]:
    """The newest rows kept (optionally of one reason), newest first; `at` as ISO 8601."""
    query = "SELECT at, reason, call_id, detail, row FROM rejected"
    args: list[Param] = [limit]
    if reason is not None:
        query, args = query + " WHERE reason = ?", [reason, limit]
    rows = conn.execute(query + " ORDER BY id DESC LIMIT ?", args).fetchall()
    found = [dict(zip(_COLUMNS, r, strict=True)) for r in rows]
    for row in found:
        row["at"] = datetime.fromtimestamp(float(row["at"]), UTC).isoformat()
    return found


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows kept, by reason."""
    rows = conn.execute("SELECT reason, COUNT(*) FROM rejected GROUP BY reason ORDER BY reason")
    return {str(reason): int(n) for reason, n in rows}


def brief(row: dict[str, Any], width: int = 200) -> dict[str, Any]:
    """A kept row for a summary: its wire row cut to `width` characters."""
    raw = str(row["row"])
    return {**row, "row": raw if len(raw) <= width else raw[:width] + "…"}
