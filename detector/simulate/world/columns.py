"""A batch of world calls as numpy columns: how calls travel until they become wire rows.

Numbers are int64 E.164 digits (`numbering.py`), outcomes the codes of
`detector.simulate.calls` (ANSWERED … TEMP_FAIL), times epoch seconds. `local` is the
account's side of the call (its DID, or whatever caller id it sent), `remote` the far party;
a row's from/to follow from the direction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from detector.simulate.calls import ANSWERED

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
MIN_LAG_S, MAX_LAG_S = 2.0, 8.0
"""Publishing lag: a CDR shows up in the feed 2–8 s after its call ends (as today's simulator)."""


@dataclass(frozen=True)
class Calls:
    """Columns of equal length, one entry per call."""

    account: IntArray
    outbound: BoolArray
    start: FloatArray
    ring: FloatArray
    talk: FloatArray
    outcome: IntArray
    local: IntArray
    remote: IntArray
    rate: FloatArray
    """INR per started minute if answered (destination tariff, or the inbound rate)."""
    lag: FloatArray
    uid: npt.NDArray[np.uint8]
    """16 random bytes per call (shape n × 16), the call id."""
    trunk: IntArray
    """Index into the account's trunks."""

    def __len__(self) -> int:
        """Number of calls."""
        return int(self.start.shape[0])

    @property
    def end(self) -> FloatArray:
        """When each call ends."""
        return self.start + self.ring + self.talk

    @property
    def available(self) -> FloatArray:
        """When each call's CDR shows up in the feed: its end plus the publishing lag."""
        return self.end + self.lag

    def select(self, which: BoolArray | IntArray) -> Calls:
        """The calls picked by a mask or an index array, in that order."""
        return Calls(*(getattr(self, f)[which] for f in _FIELDS))

    def replace(self, **columns: npt.NDArray[np.generic]) -> Calls:
        """The same calls with some columns swapped."""
        values = {f: columns.get(f, getattr(self, f)) for f in _FIELDS}
        return Calls(**values)


_FIELDS = tuple(f.name for f in fields(Calls))


def concat(parts: list[Calls]) -> Calls:
    """All calls of `parts`, in order."""
    parts = [p for p in parts if len(p)] or parts[:1]
    if not parts:
        return empty()
    if len(parts) == 1:
        return parts[0]
    return Calls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


def empty() -> Calls:
    """No calls."""
    z = np.zeros(0)
    i = np.zeros(0, np.int64)
    return Calls(i, np.zeros(0, bool), z, z, z, i, i, i, z, z, np.zeros((0, 16), np.uint8), i)


def assemble(
    rng: np.random.Generator,
    account: int,
    outbound: BoolArray,
    start: FloatArray,
    *,
    ring: FloatArray,
    talk: FloatArray,
    outcome: IntArray,
    local: IntArray,
    remote: IntArray,
    rate: FloatArray,
    trunks: int,
) -> Calls:
    """Calls of one account; talk is whole seconds ≥ 1 when answered and 0 otherwise."""
    n = int(start.shape[0])
    answered = outcome == ANSWERED
    return Calls(
        account=np.full(n, account, np.int64),
        outbound=outbound.astype(bool),
        start=np.floor(start).astype(np.float64),
        ring=np.round(ring).astype(np.float64),
        talk=np.where(answered, np.maximum(np.round(talk), 1.0), 0.0),
        outcome=outcome.astype(np.int64),
        local=local.astype(np.int64),
        remote=remote.astype(np.int64),
        rate=rate.astype(np.float64),
        lag=rng.uniform(MIN_LAG_S, MAX_LAG_S, n),
        uid=rng.integers(0, 256, size=(n, 16), dtype=np.uint8),
        trunk=rng.integers(0, max(trunks, 1), size=n).astype(np.int64),
    )
