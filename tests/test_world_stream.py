"""A world's stream: availability order, chunked and lazy, shards, rows and CDRs alike."""

from __future__ import annotations

import inspect
import itertools
import tracemalloc
from dataclasses import fields
from datetime import datetime
from typing import Literal

import numpy as np

from detector.domain import CDR
from detector.simulate.wire import HIDDEN_FIELD
from detector.simulate.world import World, draw_world
from detector.simulate.world.stream import CHUNK_S, batches
from detector.source.normalize import normalize


def _at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_rows_come_in_availability_order() -> None:
    """Every row becomes available no earlier than the one before it."""
    world = draw_world(11, 25, 1)
    seen = [_at(str(row[HIDDEN_FIELD])) for row in world.stream()]
    assert len(seen) > 10_000
    assert all(a <= b for a, b in itertools.pairwise(seen))


def test_stream_is_a_lazy_generator_of_bounded_chunks() -> None:
    """The stream is a generator; each batch holds a chunk's calls, not the world's."""
    world = draw_world(12, 20, 2)
    assert inspect.isgenerator(world.stream())
    sizes = [len(b) for b in batches(world, list(world.accounts))]
    assert len(sizes) == int(2 * 86_400 / CHUNK_S)
    assert max(sizes) < sum(sizes) / 4


def _peak(world: World) -> tuple[int, int]:
    """Peak traced memory while iterating the world's calls, and their total size (bytes)."""
    tracemalloc.start()
    total = 0
    for batch in batches(world, list(world.accounts)):
        total += sum(getattr(batch, f.name).nbytes for f in fields(batch))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, total


def test_streaming_memory_does_not_grow_with_the_worlds_length() -> None:
    """Four days of a world peak at about the memory of one day, though they hold 4x the calls."""
    one_peak, one_total = _peak(draw_world(13, 20, 1))
    four_peak, four_total = _peak(draw_world(13, 20, 4))
    assert four_total > 3 * one_total
    assert four_peak < 1.5 * one_peak
    assert four_peak < four_total / 3


def test_a_shard_yields_exactly_its_accounts_calls() -> None:
    """Streaming some accounts gives the same rows as the full stream filtered to them."""
    world = draw_world(14, 12, 0.5)
    shard = [world.accounts[i].auth_id for i in (1, 4, 7)]
    whole = [r for r in world.stream() if r["account_auth_id"] in shard]
    assert list(world.stream(shard)) == whole
    assert list(world.stream([1, 4, 7])) == whole


def test_background_is_the_same_with_or_without_incidents() -> None:
    """Accounts without an incident get identical calls whether or not incidents are drawn."""
    with_incidents = draw_world(15, 30, 1)
    clean = draw_world(15, 30, 1, incidents_per_type=0)
    hit = {i.account for i in with_incidents.incidents}
    quiet = [a.index for a in with_incidents.accounts if a.index not in hit][:5]
    assert list(with_incidents.stream(quiet)) == list(clean.stream(quiet))


def test_cdrs_are_the_normalised_rows_in_the_same_order() -> None:
    """`form="cdrs"` yields what normalising each wire row gives, for both shapes."""
    world = draw_world(16, 6, 0.25)
    shapes: tuple[Literal["a", "b"], ...] = ("a", "b")
    for shape in shapes:
        rows = list(world.stream(shape=shape))
        cdrs = list(world.stream(form="cdrs", shape=shape))
        assert all(isinstance(c, CDR) for c in cdrs)
        assert cdrs == [normalize(r) for r in rows]


def test_rows_carry_consistent_times_costs_and_ids() -> None:
    """Answered rows have an answer time and a talk-based cost; ids are unique UUIDs."""
    world = draw_world(17, 10, 0.25)
    rows = list(world.stream())
    assert len({r["call_uuid"] for r in rows}) == len(rows)
    for row in rows[:5000]:
        answered = row["status"] == "answered"
        assert (row["answer_time"] is not None) == answered
        assert (row["duration_seconds"] > 0) == answered
        assert _at(str(row["end_time"])) >= _at(str(row["start_time"]))
        assert float(str(row["cost"])) >= 0
    talk = np.array([r["duration_seconds"] for r in rows])
    assert talk.max() <= 6 * 3600
