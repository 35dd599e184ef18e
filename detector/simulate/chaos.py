"""Request-level faults of the simulated API: errors, 429 bursts, latency, broken bodies."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from detector.simulate.scenario import Chaos
from detector.simulate.wire import Row


@dataclass(frozen=True)
class Fault:
    """An error answer instead of the real one: HTTP status and an optional Retry-After."""

    status: int
    retry_after_s: float | None = None


class ChaosGate:
    """Decides, per request, whether to fail it, delay it or damage its body (seeded)."""

    def __init__(
        self,
        chaos: Chaos,
        seed: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Faults drawn from a generator seeded with `seed`; bursts timed on `clock`."""
        self._chaos = chaos
        self._rng = random.Random(seed)
        self._clock = clock
        self._t0 = clock()
        self._sleep = sleep
        self._lock = threading.Lock()

    def _draw(self) -> float:
        """A uniform number in [0, 1) (thread-safe)."""
        with self._lock:
            return self._rng.random()

    def fault(self) -> Fault | None:
        """The fault to answer this request with, if any (also applies latency)."""
        if self._chaos.latency_ms > 0:
            self._sleep(self._chaos.latency_ms / 1000.0)
        bursts = self._chaos.rate_limit_bursts
        if bursts is not None and (self._clock() - self._t0) % bursts.every_s < bursts.length_s:
            return Fault(429, bursts.retry_after_s)
        for status, rate in sorted(self._chaos.error_rates.items()):
            if self._draw() < rate:
                return Fault(status, 1.0 if status in (429, 503) else None)
        return None

    def damage(self, body: bytes) -> bytes:
        """The body as sent: sometimes malformed (not JSON) or cut short."""
        if self._draw() < self._chaos.malformed_rate:
            return b"<html><body>502 Bad Gateway</body></html>"
        if self._draw() < self._chaos.truncated_rate:
            return body[: len(body) // 2]
        return body

    def shuffle(self, rows: list[Row]) -> list[Row]:
        """The page's rows, shuffled when `reorder` is on or the sort is `random`."""
        if not (self._chaos.reorder or self._chaos.sort == "random"):
            return rows
        out = list(rows)
        with self._lock:
            self._rng.shuffle(out)
        return out
