"""A client-side token bucket: at most `rate_per_s` requests per second, bursts up to `burst`.

The clock and the sleep are injected so tests run instantly; the bucket never reads time itself.
"""

from __future__ import annotations

from collections.abc import Callable


class TokenBucket:
    """Blocks (through the injected `sleep`) until a request may go out.

    >>> t = [0.0]
    >>> waits: list[float] = []
    >>> bucket = TokenBucket(2.0, clock=lambda: t[0], sleep=waits.append, burst=1)
    >>> bucket.acquire(), bucket.acquire()
    (0.0, 0.5)
    """

    def __init__(
        self,
        rate_per_s: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        burst: int | None = None,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.rate = rate_per_s
        self.burst = float(burst if burst is not None else max(1, int(rate_per_s)))
        self._clock, self._sleep = clock, sleep
        self._tokens = self.burst
        self._last = clock()

    def acquire(self) -> float:
        """Take one token, sleeping first if none is left; return the seconds slept."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        wait = (1.0 - self._tokens) / self.rate
        self._sleep(wait)
        # The token that accrues during the wait is spent on this request.
        self._tokens = 0.0
        self._last = now + wait
        return wait
