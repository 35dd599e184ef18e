"""A restart after rule files changed drops the state of exactly the changed rules."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.rules.testing import make_cdr
from detector.state.store import Cycle, StateStore

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def _run_and_save(rules: Path, state: Path) -> set[str]:
    detector = build_detector(rules, ModelSettings(enabled=False))
    calls = [
        make_cdr(T0 + timedelta(seconds=20 * i), f"c{i}", {"talk_s": 2.0, "to": f"+9198000{i:05d}"})
        for i in range(30)
    ]
    detector.process(calls)
    changed, _ = detector.take_dirty()
    store = StateStore(state)
    store.commit_cycle(Cycle(cursor=None, changed_accounts=changed,
                             detector_meta=detector.snapshot_meta()))  # fmt: skip
    store.close()
    return set(detector.accounts["MA_test"].rules.by_rule)


def _restart(rules: Path, state: Path) -> tuple[set[str], set[str]]:
    store = StateStore(state)
    detector = build_detector(rules, ModelSettings(enabled=False), store.load())
    store.close()
    return set(detector.accounts["MA_test"].rules.by_rule), detector.dirty


def test_unchanged_rules_keep_state_across_a_restart(tmp_path: Path) -> None:
    """With the same rule files, a restart resumes every rule's per-account state."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    before = _run_and_save(rules, tmp_path / "state.sqlite")
    after, dirty = _restart(rules, tmp_path / "state.sqlite")
    assert "robocall-short-answered" in before
    assert after == before
    assert not dirty


def test_a_rule_edited_while_down_starts_fresh_after_restart(tmp_path: Path) -> None:
    """A rule whose file changed while the daemon was down loses its saved state, others keep it."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    before = _run_and_save(rules, tmp_path / "state.sqlite")
    path = rules / "robocall-short-answered.yaml"
    path.write_text(path.read_text().replace("window: 30m", "window: 45m"))
    after, dirty = _restart(rules, tmp_path / "state.sqlite")
    assert "robocall-short-answered" in before
    assert after == before - {"robocall-short-answered"}
    assert dirty == {"MA_test"}
