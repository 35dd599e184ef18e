"""World calls as wire rows (through `detector.simulate.wire`) or as normalised CDRs.

Everything that can be done on whole columns is (ISO times, costs, call ids, numbers as
text); the per-row loop only assembles dicts, in slices of `SLICE` calls so the Python
objects of a large chunk never exist at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache

import numpy as np

from detector.domain import CDR, Rejected
from detector.errors import ConfigError
from detector.simulate.calls import ANSWERED, OUTCOMES
from detector.simulate.scenario import Chaos
from detector.simulate.traffic import Traffic
from detector.simulate.wire import HIDDEN_FIELD, Row, row_a, row_b
from detector.simulate.world import stream
from detector.simulate.world.columns import Calls, FloatArray
from detector.simulate.world.draw import World
from detector.simulate.world.numbering import costs
from detector.source.normalize import normalize

SLICE = 20_000


def rows(world: World, batches: Iterable[Calls], shape: str) -> Iterator[Row]:
    """Wire rows of shape "a" or "b", each with its `available_at`, in batch order."""
    for calls in batches:
        yield from _slices(world, calls, shape)


def _slices(world: World, calls: Calls, shape: str) -> Iterator[Row]:
    """Rows of one batch, built `SLICE` calls at a time."""
    auth = [a.auth_id for a in world.accounts]
    internal = [a.internal_id for a in world.accounts]
    trunks = [a.trunks for a in world.accounts]
    for lo in range(0, len(calls), SLICE):
        part = calls.select(np.arange(lo, min(lo + SLICE, len(calls))))
        yield from _slice(part, shape, auth, internal, trunks)


def cdrs(world: World, batches: Iterable[Calls], shape: str) -> Iterator[CDR]:
    """The same calls as `rows`, normalised exactly as the live path does."""
    for row in rows(world, batches, shape):
        cdr = normalize(row)
        if isinstance(cdr, Rejected):  # a generator bug, never the data's fault
            raise RuntimeError(f"world {world.seed}: row rejected: {cdr.reason}: {cdr.detail}")
        yield cdr


def _slice(
    calls: Calls,
    shape: str,
    auth: list[str],
    internal: list[int],
    trunks: list[tuple[str, ...]],
) -> Iterator[Row]:
    """Rows of one slice of calls."""
    start, end, available = _iso(calls.start), _iso(calls.end), _iso(calls.available)
    answer = _iso(calls.start + calls.ring)
    answered = (calls.outcome == ANSWERED).tolist()
    local, remote = _numbers(calls.local), _numbers(calls.remote)
    outbound = calls.outbound.tolist()
    cost = costs(calls.talk, calls.rate, calls.outbound).tolist()
    mos = np.round(3.6 + calls.uid[:, 15] / 255.0 * 0.9, 2).tolist()
    columns = zip(
        _uuids(calls), calls.account.tolist(), outbound, calls.outcome.tolist(),
        calls.talk.astype(np.int64).tolist(), calls.ring.astype(np.int64).tolist(),
        local, remote, cost, calls.trunk.tolist(), strict=True,
    )  # fmt: skip
    for i, (call_id, acct, out, code, talk, ring, mine, far, price, trunk) in enumerate(columns):
        outcome = OUTCOMES[code]
        common = (price, start[i], answer[i] if answered[i] else None, end[i], trunks[acct][trunk])
        call = (call_id, mine if out else far, far if out else mine, out, outcome, talk, ring)
        if shape == "a":
            row = row_a(call, auth[acct], common)
        else:
            row = row_b(call, auth[acct], internal[acct], mos[i], available[i], common)
        row[HIDDEN_FIELD] = available[i]
        yield row


def _iso(epoch: FloatArray) -> list[str]:
    """Whole epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`, from a date and a time-of-day table.

    >>> _iso(np.array([0.0, 86_399.0]))
    ['1970-01-01T00:00:00Z', '1970-01-01T23:59:59Z']
    """
    seconds = np.floor(epoch).astype(np.int64)
    day, second = np.divmod(seconds, 86_400)
    dates = {int(d): _date(int(d)) for d in np.unique(day)}
    clock = _clock()
    return [dates[d] + clock[s] for d, s in zip(day.tolist(), second.tolist(), strict=True)]


def _date(day: int) -> str:
    """`YYYY-MM-DDT` of a day number since the epoch."""
    return f"{np.datetime64(day, 'D')}T"


@cache
def _clock() -> list[str]:
    """`HH:MM:SSZ` of every second of a day."""
    return [f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)]


def _numbers(digits: np.ndarray) -> list[str]:
    """E.164 text of integer numbers."""
    return ["+" + d for d in digits.astype(str).tolist()]


def _uuids(calls: Calls) -> list[str]:
    """Version-4 UUID text of each call's 16 random bytes."""
    raw = calls.uid.copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = raw.tobytes().hex()
    return [
        f"{text[k : k + 8]}-{text[k + 8 : k + 12]}-{text[k + 12 : k + 16]}-"
        f"{text[k + 16 : k + 20]}-{text[k + 20 : k + 32]}"
        for k in range(0, len(text), 32)
    ]


MAX_SERVED = 1_000_000
"""Calls the fake API holds in memory at most (about 1.2 KB each as rows and indexes)."""


def served(world: World, shape: str) -> Traffic:
    """The whole world as `Traffic` the fake API serves; ConfigError when it is too big."""
    expected = world.expected_calls()
    if expected > MAX_SERVED:
        raise ConfigError(
            f"world {world.seed} with {len(world.accounts)} accounts over {world.days:g} days "
            f"holds about {expected:,.0f} calls; the simulator serves at most "
            f"{MAX_SERVED:,} from memory: lower --accounts or --duration (--to-file streams "
            "any size to a file)"
        )
    rows_: list[Row] = []
    available: list[float] = []
    starts: list[float] = []
    for calls in stream.batches(world, list(world.accounts)):
        available.extend(calls.available.tolist())
        starts.extend(calls.start.tolist())
        rows_.extend(_slices(world, calls, shape))
    return Traffic(rows_, available, starts, world.labels(), list(world.accounts), Chaos())
