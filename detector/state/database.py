"""Opening the SQLite state file; SQLite's failures as `StateError`s that say what to do.

Every connection to the state file comes from `connect` (WAL journal, a busy timeout so the
cycle, the delivery task and the CLI can share the file), and every `sqlite3.Error` or
`OSError` met while using it passes through `translate`, which names the file, what was being
done, the cause in words and the operator's next step. `transient` marks what may pass by
itself (a full disk, an I/O error, a lock held by another process): the daemon keeps its last
commit and tries again; anything else (a corrupt or foreign file, a read-only or unusable
folder) stops it with exit code 2.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Self, TypeVar

from detector.errors import StateError

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another connection's transaction (the cycle's, the delivery
task's, a `silence add` from the CLI) before reporting the file as locked."""

_TRANSIENT_CODES = {"SQLITE_FULL", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_LOCKED"}
_TRANSIENT_ERRNO = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection to `path` (created with its folder when missing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise translate(exc, path, "creating the state folder") from None
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        raise translate(exc, path, "opening") from None
    return conn


class Handle:
    """A connection of its own to the state file, shareable between threads (one at a time),
    with every SQLite failure translated (`_run`) and short write transactions (`_write`)."""

    def __init__(self, path: Path, schema: Callable[[sqlite3.Connection], None]) -> None:
        self.path = path
        self._conn = connect(path)
        self._lock = threading.Lock()
        self._run("creating tables", lambda c: _in_transaction(c, schema))

    def close(self) -> None:
        """Close this connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, doing: str, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return work(self._conn)
            except sqlite3.Error as exc:
                raise translate(exc, self.path, doing) from None

    def _write(self, sql: str, params: Any = ()) -> int:
        """One statement in its own transaction; the number of rows it changed."""

        def change(c: sqlite3.Connection) -> int:
            with transaction(c):
                return int(c.execute(sql, params).rowcount)

        return self._run("committing", change)


def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], None]) -> None:
    with transaction(conn):
        work(conn)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` … `COMMIT`, rolled back when anything (the commit too) fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def translate(exc: sqlite3.Error | OSError, path: Path, doing: str) -> StateError:
    """A `StateError` for `exc`, met while `doing` something with the state file at `path`.

    >>> full = sqlite3.OperationalError("database or disk is full")
    >>> err = translate(full, Path("s.db"), "committing")
    >>> err.transient, str(err).split(":")[0]
    (True, 'state file s.db')
    """
    if isinstance(exc, OSError):
        return _os_error(exc, path, doing)
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    head = f"state file {path}: {doing} failed ({text})"
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return StateError(
            f"{head}: the disk is full; free space on {_where(path)} (the daemon keeps its last "
            "commit and retries)",
            transient=True,
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return StateError(
            f"{head}: the file or its folder is read-only; give the daemon's user write access "
            f"to {_where(path)} or point state.path at a writable folder",
            transient=doing == "committing",
        )
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or _corrupt(text):
        return StateError(
            f"{head}: the file is damaged or not a cdr-detector state file; move it aside and "
            "start again (the daemon then re-reads from poll.start_back_s) or restore a backup"
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return StateError(
            f"{head}: cannot open it; check that {_where(path)} exists, is a folder and is "
            "writable by the daemon's user"
        )
    transient = any(name.startswith(code) for code in _TRANSIENT_CODES) or "locked" in text
    return StateError(
        f"{head}: check the disk and that no other process holds the file", transient=transient
    )


def _os_error(exc: OSError, path: Path, doing: str) -> StateError:
    reason = exc.strerror or type(exc).__name__
    head = f"state file {path}: {doing} failed ({reason})"
    if exc.errno in _TRANSIENT_ERRNO:
        return StateError(f"{head}: free space on {_where(path)}", transient=True)
    return StateError(
        f"{head}: make {_where(path)} a writable folder for the daemon's user, or point "
        "state.path elsewhere"
    )


def _where(path: Path) -> str:
    return str(path.parent) if str(path.parent) not in {"", "."} else "the current folder"


def _corrupt(text: str) -> bool:
    return "not a database" in text or "malformed" in text
