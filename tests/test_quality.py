"""`python -m bench.quality` on a tiny world: the whole path runs and reports every section.

World 300 with 14 accounts over 2 days holds ~17,000 calls and one incident of each type, so
the replay takes seconds. Quality targets are not asserted here: they are the bench's figures
on full worlds, not a property of a 14-account sample.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.quality import REPORTING, TUNING, main, misses
from bench.shards import replay, rules_with_zones, shards
from detector.rules.loader import load_rules
from detector.simulate.world import draw_world
from detector.simulate.world.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--worlds", "300", "--accounts", "14", "--days", "2", "--no-model"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON the bench writes for the tiny world, sharded over two processes."""
    out = tmp_path_factory.mktemp("quality") / "q.json"
    main([*TINY, "--jobs", "2", "--json", str(out)])
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def test_tuning_and_reporting_worlds_do_not_overlap() -> None:
    """Worlds 1–10 and 31–46 tune, 11–30 report, and no world is both."""
    assert ((*range(1, 11), *range(31, 47)), tuple(range(11, 31))) == (TUNING, REPORTING)
    assert not set(TUNING) & set(REPORTING)


def test_report_has_every_type_band_and_grade_section(report: dict[str, Any]) -> None:
    """Rules-only scores list every incident type that fits in the tiny world's two days (the
    under-threshold kinds need days of history first), every size band and the grade
    recalls."""
    scores = report["scores"]["rules only"]
    fits = {n for n, k in KINDS.items() if k.earliest_s + k.durations[0] <= 2 * 86_400}
    assert set(scores["by_type"]) >= fits
    assert len(fits) == 11
    assert set(scores["by_band"]) == {"<100", "100-1000", ">1000"}
    assert all("recall_near" in s and "recall_subtle" in s for s in scores["by_type"].values())
    assert sum(s["incidents"] + s["subtle"] for s in scores["by_band"].values()) == 11
    assert report["runs"]["300"]["cdrs"] > 10_000


def test_targets_name_what_misses() -> None:
    """The verdict lists each missed target by name, and nothing when all are met."""
    good = {"recall": 1.0, "precision": 1.0, "incidents": 2, "alerts": 2}
    bad = {"recall": 0.5, "precision": 0.5, "incidents": 2, "alerts": 2}
    overall = {"false_alerts_per_1000_account_days": 0.5}
    band = {"false_alerts_per_1000_account_days": 3.0}
    assert misses({"by_type": {"irsf": good}, "overall": overall}) == []
    found = misses({"by_type": {"irsf": bad}, "overall": overall, "by_band": {"<100": band}})
    assert found == ["recall irsf", "precision irsf", "false alerts <100"]


def test_rules_alone_are_not_held_to_the_models_kinds() -> None:
    """A rules-only verdict skips recall on the under-threshold kinds, which are the model's;
    the same miss counts for rules + model."""
    missed = {"recall": 0.0, "precision": None, "incidents": 6, "alerts": 0}
    report = {
        "by_type": {"night_shift": missed},
        "overall": {"false_alerts_per_1000_account_days": 0.0},
    }
    assert misses(report, rules_only=True) == []
    assert misses(report) == ["recall night_shift"]


def test_the_rule_set_gets_the_worlds_timezones(tmp_path: Path) -> None:
    """The replayed rule set maps every account outside Asia/Kolkata to its own zone."""
    world = draw_world(300, 14, 2)
    rules = load_rules(rules_with_zones(ROOT / "rules", world, tmp_path))
    assert rules.settings.timezones == world.timezones()
    assert world.timezones()


def test_shards_cover_every_account_once() -> None:
    """Sharding splits the accounts into disjoint groups of similar expected volume."""
    world = draw_world(5, 40, 1)
    groups = shards(world, 3)
    members = sorted(i for g in groups for i in g)
    assert members == list(range(40))
    volumes = [world.expected_calls(list(g)) for g in groups]
    assert max(volumes) < 2 * min(volumes) + max(a.daily_calls for a in world.accounts)


def test_a_shard_replays_the_world_from_its_own_start(tmp_path: Path) -> None:
    """A world drawn from a Wednesday is replayed from that Wednesday (the worker draws it
    again), so its alerts fall inside the world's span, not the default start's."""
    start = datetime(2026, 3, 4, 3, 30, tzinfo=UTC)
    world = draw_world(300, 14, 2, start)
    rules = rules_with_zones(ROOT / "rules", world, tmp_path)
    replayed = replay(world, rules, jobs=1, model=False)
    times = [datetime.fromisoformat(a["at"]) for a in replayed.alerts]
    assert times
    assert min(times) >= start
