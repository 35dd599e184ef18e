"""The notification stage's state: alerts waiting to be routed, groups, silences, silenced records.

The cycle's transaction puts each new (non-shadow) alert in `notify_queue` together with the
alert itself, so an alert is routed exactly when it was committed. The notification stage, on
its own connection (`NotificationStore`), takes queued alerts, updates its groups and writes the
messages they produce into the outbox in one transaction (`commit`), so a crash between the two
replays nothing twice and loses nothing. Silences are written by the daemon's HTTP API or by
`cdr-detector silence add` from another process (WAL and the busy timeout make that safe)
through `SilenceBook`; the stage reads them on every step. Bodies are JSON: what they mean is
the alerting package's business, not the store's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from detector.state import outbox
from detector.state.database import Handle, transaction
from detector.state.outbox import Envelope

SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (key TEXT PRIMARY KEY, receiver TEXT NOT NULL, body TEXT NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, ends_at REAL NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS silenced (
    delivery_id TEXT NOT NULL, receiver TEXT NOT NULL, silence_id TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (delivery_id, receiver)
) WITHOUT ROWID;
"""

Json = dict[str, Any]


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the stage's tables if missing (idempotent)."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def enqueue(conn: sqlite3.Connection, alert_json: Mapping[str, Any]) -> None:
    """Queue one committed alert for routing (inside the cycle's transaction)."""
    conn.execute(
        "INSERT INTO notify_queue (body) VALUES (?)", (json.dumps(alert_json, sort_keys=True),)
    )


def silences(conn: sqlite3.Connection, now: float | None = None) -> list[Json]:
    """Silences not yet ended at `now` (all when None), soonest to end first."""
    if now is None:
        rows = conn.execute("SELECT body FROM silences ORDER BY ends_at")
    else:
        rows = conn.execute("SELECT body FROM silences WHERE ends_at > ? ORDER BY ends_at", (now,))
    return [json.loads(r[0]) for r in rows]


class NotificationStore(Handle):
    """The notification stage's handle on the state file (its own connection, thread-safe)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, create_schema)

    def take(self, limit: int) -> list[tuple[int, Json]]:
        """The oldest queued alerts: (sequence number, alert JSON)."""
        rows = self._run(
            "reading the notification queue",
            lambda c: c.execute(
                "SELECT seq, body FROM notify_queue ORDER BY seq LIMIT ?", (limit,)
            ).fetchall(),
        )
        return [(int(s), json.loads(b)) for s, b in rows]

    def groups(self) -> dict[str, Json]:
        """Every stored group, by key."""
        rows = self._run(
            "reading groups", lambda c: c.execute("SELECT key, body FROM groups").fetchall()
        )
        return {str(k): json.loads(b) for k, b in rows}

    def silences(self, now: float | None = None) -> list[Json]:
        """Silences not yet ended at `now` (all when None)."""
        return self._run("reading silences", lambda c: silences(c, now))

    def commit(
        self,
        *,
        consumed: Iterable[int],
        changed: Mapping[str, tuple[str, Json]],
        deleted: Iterable[str],
        envelopes: Iterable[Envelope],
        silenced: Iterable[tuple[str, str, str]],
        now: float,
    ) -> None:
        """One step of the stage, atomically: queue rows taken, groups (receiver, JSON) stored
        or deleted, messages queued for delivery, (delivery id, receiver, silence) recorded."""

        def write(c: sqlite3.Connection) -> None:
            with transaction(c):
                c.executemany("DELETE FROM notify_queue WHERE seq = ?", ((s,) for s in consumed))
                c.executemany(
                    "INSERT OR REPLACE INTO groups (key, receiver, body) VALUES (?, ?, ?)",
                    ((k, r, json.dumps(b, sort_keys=True)) for k, (r, b) in changed.items()),
                )
                c.executemany("DELETE FROM groups WHERE key = ?", ((k,) for k in deleted))
                outbox.enqueue(c, envelopes, now)
                c.executemany(
                    "INSERT OR IGNORE INTO silenced (delivery_id, receiver, silence_id, at)"
                    " VALUES (?, ?, ?, ?)",
                    ((d, r, s, now) for d, r, s in silenced),
                )

        self._run("committing", write)


class SilenceBook(Handle):
    """Adding, listing and expiring silences (the CLI and the HTTP API), on its own connection."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, create_schema)

    def add(self, silence: Mapping[str, Any]) -> None:
        """Store a new silence (`id`, `ends_at` and the rest of its JSON)."""
        body = json.dumps(dict(silence), sort_keys=True)
        self._write(
            "INSERT INTO silences (id, ends_at, body) VALUES (?, ?, ?)",
            (silence["id"], float(silence["ends_at"]), body),
        )

    def active(self, now: float, include_ended: bool = False) -> list[Json]:
        """Silences not yet ended at `now` (or all)."""
        return self._run("reading silences", lambda c: silences(c, None if include_ended else now))

    def expire(self, silence_id: str, now: float) -> bool:
        """End a silence now; False when there is no such silence still active."""

        def change(c: sqlite3.Connection) -> bool:
            with transaction(c):
                row = c.execute(
                    "SELECT body FROM silences WHERE id = ? AND ends_at > ?", (silence_id, now)
                ).fetchone()
                if row is None:
                    return False
                body = {**json.loads(row[0]), "ends_at": now}
                c.execute(
                    "UPDATE silences SET ends_at = ?, body = ? WHERE id = ?",
                    (now, json.dumps(body, sort_keys=True), silence_id),
                )
                return True

        return self._run("committing", change)

    def silenced(self, limit: int = 50) -> list[Json]:
        """The newest notifications silences held back: delivery id, receiver, silence, when."""
        rows = self._run(
            "reading silences",
            lambda c: c.execute(
                "SELECT delivery_id, receiver, silence_id, at FROM silenced ORDER BY at DESC"
                " LIMIT ?", (limit,)
            ).fetchall(),
        )  # fmt: skip
        return [{"delivery_id": d, "receiver": r, "silence_id": s, "at": t} for d, r, s, t in rows]

    def purge(self, older_than: float) -> int:
        """Forget silences that ended before `older_than`, and silenced records that old."""

        def change(c: sqlite3.Connection) -> int:
            with transaction(c):
                c.execute("DELETE FROM silenced WHERE at < ?", (older_than,))
                return int(
                    c.execute("DELETE FROM silences WHERE ends_at < ?", (older_than,)).rowcount
                )

        return self._run("committing", change)
