"""`_models.yaml` next to the rules, the daemon's overrides, `backtest --detectors`, and
`state reset-model`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.assembly import build_model
from detector.cli import app
from detector.config import ModelSettings
from detector.errors import ConfigError
from detector.models.loader import MODELS_FILE, ModelsFile, parse_models, read_models_file
from detector.state.store import Cycle, StateStore

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def rules_with(tmp_path: Path, text: str) -> Path:
    """A copy of the default rule pack whose `_models.yaml` is `text`."""
    directory = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", directory)
    (directory / MODELS_FILE).write_text(text)
    return directory


def test_the_shipped_file_documents_the_defaults() -> None:
    """`rules/_models.yaml` says exactly what the model does without it."""
    assert read_models_file(ROOT / "rules") == ModelsFile()


def test_without_the_file_the_defaults_apply(tmp_path: Path) -> None:
    """A rule directory without `_models.yaml` gets the defaults."""
    assert read_models_file(tmp_path) == ModelsFile()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bucket: 7m", "field bucket: .*divides an hour"),
        (
            "thresholds: {warning: 8, critical: 7}",
            "critical and immediate must be at least warning",
        ),
        ("segments: {bands: [1000, 100]}", "field segments.bands: .*increasing"),
        ("features: [calls, loudness]", "field features.1: "),
        ("drift: {threshold: 0}", "field drift.threshold: "),
        ("windows: 2h", "field windows: Extra inputs"),
        ("- just a list", "one YAML mapping"),
    ],
)
def test_bad_settings_name_the_file_and_field(text: str, message: str, tmp_path: Path) -> None:
    """Each mistake is refused with the file, the field and what is wrong."""
    (tmp_path / MODELS_FILE).write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        read_models_file(tmp_path)
    assert str(tmp_path / MODELS_FILE) in str(caught.value)


def test_the_daemon_setting_overrides_the_mode(tmp_path: Path) -> None:
    """`model.mode` in the daemon's settings wins over the file's `mode`."""
    directory = rules_with(tmp_path, "mode: live\nwarmup: 2d\n")
    live = build_model(ModelSettings(), rules_dir=directory)
    shadow = build_model(ModelSettings(mode="shadow"), rules_dir=directory)
    assert live is not None
    assert not live.config.shadow
    assert live.warmup == 2 * 96
    assert shadow is not None
    assert shadow.config.shadow
    assert build_model(ModelSettings(enabled=False), rules_dir=directory) is None


def test_the_file_can_disable_the_model(tmp_path: Path) -> None:
    """`enabled: false` in `_models.yaml` leaves the detector without a model."""
    assert build_model(ModelSettings(), rules_dir=rules_with(tmp_path, "enabled: false")) is None


def test_segments_and_opt_outs_reach_the_model(tmp_path: Path) -> None:
    """Tiers, bands, per-segment thresholds and opted-out accounts are passed through."""
    text = (
        "segments: {bands: [50], tiers: {MA_big: carrier}, thresholds: {carrier: {warning: 8,"
        " critical: 12, immediate: 12}}}\ndisabled: [MA_lab]\n"
    )
    model = build_model(ModelSettings(), rules_dir=rules_with(tmp_path, text))
    assert model is not None
    config = model.config
    assert config.banding.of("MA_big", 10.0) == "carrier"
    assert config.banding.of("MA_x", 10.0) == "under 50/day"
    assert config.thresholds_of("carrier").warning == 8.0
    assert config.disabled == {"MA_lab"}


def test_rules_check_validates_the_model_settings(tmp_path: Path) -> None:
    """`rules check` validates `_models.yaml` too, and refuses a bad one with exit code 2."""
    good = runner.invoke(app, ["rules", "check", str(ROOT / "rules")])
    assert good.exit_code == 0, good.output
    bad = runner.invoke(app, ["rules", "check", str(rules_with(tmp_path, "bucket: 0"))])
    assert bad.exit_code == 2
    assert f"{MODELS_FILE}: field bucket" in bad.output


def test_parse_accepts_an_empty_file() -> None:
    """An empty `_models.yaml` means the defaults."""
    assert parse_models(None, "x") == ModelsFile()


def simulated(tmp_path: Path) -> Path:
    """Two simulated days of 30 accounts with a robocall burst on the second day."""
    rows, scenario = tmp_path / "rows.jsonl", tmp_path / "s.yaml"
    scenario.write_text(
        "incidents:\n  - {type: robocall, account: 25, start: 1d3h, duration: 40m}\n"
    )
    made = runner.invoke(app, [
        "simulate", "--accounts", "30", "--duration", "2d", "--seed", "3", "--scenario",
        str(scenario), "--to-file", str(rows),
    ])  # fmt: skip
    assert made.exit_code == 0, made.output
    return rows


def test_backtest_runs_rules_models_or_both(tmp_path: Path) -> None:
    """`--detectors rules|models|all` chooses who alerts; the JSON has the same keys."""
    rows = simulated(tmp_path)
    rules = rules_with(tmp_path, "mode: live\nwarmup: 1d\n")  # the second day is judged
    sources, bodies = {}, {}
    for chosen in ("rules", "models", "all"):
        out = tmp_path / f"{chosen}.jsonl"
        result = runner.invoke(app, [
            "backtest", str(rows), "--rules", str(rules), "--detectors", chosen, "--format",
            "json", "--out", str(out),
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        bodies[chosen] = json.loads(result.output)
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        sources[chosen] = {a["rule"].startswith("model:") for a in lines}
    assert sources == {"rules": {False}, "models": {True}, "all": {False, True}}
    assert set(bodies["rules"]) == set(bodies["models"]) == set(bodies["all"])


def test_backtest_refuses_an_unknown_detector(tmp_path: Path) -> None:
    """A misspelt `--detectors` value is refused, listing the choices."""
    result = runner.invoke(app, ["backtest", str(tmp_path / "x.jsonl"), "--detectors", "model"])
    assert result.exit_code == 2
    assert "rules, models, all" in result.output


def test_reset_model_drops_only_the_model_state(tmp_path: Path) -> None:
    """`state reset-model` forgets the model's shared state and keeps the cursor."""
    path = tmp_path / "state.sqlite"
    store = StateStore(path)
    store.commit_cycle(Cycle(cursor={"page": 3}, model_blob=b"blob"))
    store.close()
    first = runner.invoke(app, ["state", "reset-model", "--state", str(path)])
    again = runner.invoke(app, ["state", "reset-model", "--state", str(path)])
    assert (first.exit_code, again.exit_code) == (0, 0)
    assert "model state dropped" in first.output
    assert "no model state" in again.output
    snapshot = StateStore(path).load()
    assert snapshot.model_blob is None
    assert snapshot.cursor == {"page": 3}
