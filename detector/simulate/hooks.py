"""The simulator's trunk webhooks: signed CallInitiated and Hangup events, posted as sim time
reaches them, with faults.

Every outbound call sends `CallInitiated` at its start; every call sends `Hangup` at its end
(its CDR shows in the API a few seconds later). The body is `{"event", "timestamp", "data"}`
with the call's API row as data, signed with HMAC-SHA256 in `X-Vobiz-Signature` and carrying
a fresh `X-Vobiz-Request-ID`. Faults (`HookFaults`, seeded): a share of events dropped, sent
twice (a retry: same body, same request id), held back up to `delay_s` (so events arrive out
of order), or signed wrongly. The sender never blocks the API: it runs on its own thread and
gives up on an event after one failed attempt (a lost webhook, which the poller covers).
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from detector.simulate.responses import public
from detector.simulate.scenario import HookFaults
from detector.simulate.traffic import Traffic
from detector.webhooks.signature import sign


@dataclass(frozen=True, order=True)
class _Due:
    at: float
    seq: int
    body: bytes


def events(traffic: Traffic) -> list[_Due]:
    """Every webhook of the run, in the order of their sim times (epoch seconds)."""
    out: list[_Due] = []
    for seq, (row, start) in enumerate(zip(traffic.rows, traffic.starts, strict=True)):
        data = public(row)
        end = datetime.fromisoformat(str(data["end_time"]).replace("Z", "+00:00")).timestamp()
        direction = data.get("direction") or data.get("call_direction")
        if direction == "outbound":
            out.append(_Due(start, 2 * seq, _body("CallInitiated", start, data)))
        out.append(_Due(end, 2 * seq + 1, _body("Hangup", end, data)))
    return sorted(out)


def _body(event: str, at: float, data: dict[str, object]) -> bytes:
    stamp = datetime.fromtimestamp(at, UTC).isoformat()
    return json.dumps({"event": event, "timestamp": stamp, "data": data}).encode()


class HookSender:
    """Posts the run's webhooks to `url` as `now()` (sim epoch seconds) reaches them."""

    def __init__(
        self,
        traffic: Traffic,
        url: str,
        secret: bytes,
        now: Callable[[], float],
        faults: HookFaults | None = None,
        seed: int = 0,
    ) -> None:
        self.url, self.secret, self.now = url, secret, now
        self.faults = faults or HookFaults()
        self._due = events(traffic)
        self._held: list[tuple[float, _Due, str, str]] = []
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-webhooks", daemon=True)
        self._http = httpx.Client(timeout=5.0)
        self.sent = 0

    def start(self) -> None:
        """Begin posting on a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop posting."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._http.close()

    def _run(self) -> None:
        next_i = 0
        while not self._stop.wait(0.02):
            now = self.now()
            while next_i < len(self._due) and self._due[next_i].at <= now:
                self._schedule(self._due[next_i], now)
                next_i += 1
            ready = [h for h in self._held if h[0] <= now]
            self._held = [h for h in self._held if h[0] > now]
            for _, due, request_id, signature in sorted(ready, key=lambda h: h[0]):
                self._post(due.body, request_id, signature)

    def _schedule(self, due: _Due, now: float) -> None:
        """Decide the event's fate: dropped, held, duplicated, wrongly signed, or sent."""
        faults, rng = self.faults, self._rng
        if rng.random() < faults.drop_rate:
            return
        request_id = str(uuid.UUID(int=rng.getrandbits(128)))
        signature = sign(self.secret, due.body)
        if rng.random() < faults.bad_signature_rate:
            signature = sign(b"not-the-secret", due.body)
        copies = 2 if rng.random() < faults.duplicate_rate else 1
        for _ in range(copies):
            self._held.append((now + rng.uniform(0, faults.delay_s), due, request_id, signature))

    def _post(self, body: bytes, request_id: str, signature: str) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Vobiz-Signature": signature,
            "X-Vobiz-Request-ID": request_id,
        }
        try:
            self._http.post(self.url, content=body, headers=headers)
            self.sent += 1
        except httpx.HTTPError:
            pass  # a lost webhook: the poller will bring the call
