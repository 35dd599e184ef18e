"""The side threads of notification: a worker that repeats one turn until stopped, and the
bounded memory of what it found.

The enricher (call details) and the briefer (facts and chart) each fetch from the partner API
on their own thread so that neither detection nor delivery ever waits for them. Both are a
`Worker`: `run_once()` does one turn (and is what tests call, with no thread), `start()` runs
turns on a daemon thread until `stop()`. What they find is kept for the last `keep` alerts in
a `Kept`, oldest forgotten first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Worker:
    """A named daemon thread calling `run_once()` until `stop()`; subclasses define the turn."""

    thread_name = "cdr-detector-worker"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """One turn; False when there was nothing to do."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop after the current turn; what is queued is dropped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()


class Kept(OrderedDict[K, V], Generic[K, V]):
    """A mapping that keeps only its `keep` most recently put entries."""

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep

    def put(self, key: K, value: V) -> None:
        """Set `key` as the newest entry, forgetting the oldest beyond `keep`."""
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.keep:
            self.popitem(last=False)
