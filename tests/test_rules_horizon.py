"""`rules check` warns about rules that need calls longer than the poller's horizon."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from detector.cli import app
from detector.rules.horizon import beyond_horizon
from detector.rules.spec import MatchRule, ThresholdRule

RULES = str(Path(__file__).resolve().parents[1] / "rules")
runner = CliRunner()


def test_a_rule_needing_calls_beyond_a_three_hour_horizon_is_warned_about(tmp_path: Path) -> None:
    """With a 3 h horizon, the shipped 4 h duration cap is named with both durations."""
    config = tmp_path / "config.yaml"
    config.write_text("poll: {lateness_horizon_s: 10800}\n")
    result = runner.invoke(app, ["rules", "check", RULES, "--config", str(config)])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if "lateness_horizon_s" in line]
    assert len(warned) == 1
    assert "rule 'duration-cap'" in warned[0]
    assert "longer than 4h" in warned[0]
    assert "(3h)" in warned[0]


def test_the_shipped_rules_fit_the_default_horizon() -> None:
    """With the default 24 h horizon no shipped rule needs calls the poller cannot see."""
    result = runner.invoke(app, ["rules", "check", RULES])
    assert result.exit_code == 0, result.output
    assert "lateness_horizon_s" not in result.output


def test_only_bounds_every_matched_call_has_count() -> None:
    """A bound in every `any` branch counts (the smallest); one under `not` or in one branch
    only does not; a sum of talk time over a window needs no long call."""
    thresholds = {"warning": 1.0}
    both = {"any": [{"talk_s": {"gt": 9000}}, {"talk_s": {"ge": 8000}}]}
    one = {"any": [{"talk_s": {"gt": 9000}}, {"status": "answered"}]}
    negated = {"not": {"talk_s": {"gt": 9000}}}
    rules = [
        MatchRule(id="both", kind="match", match=both, thresholds=thresholds),
        MatchRule(id="one", kind="match", match=one, thresholds=thresholds),
        MatchRule(id="negated", kind="match", match=negated, thresholds=thresholds),
        ThresholdRule(id="sum", kind="threshold", aggregate={"sum": "talk_s"},
                      thresholds={"warning": 50000.0}),
    ]  # fmt: skip
    assert [rule for rule, _ in beyond_horizon(rules, 7200.0)] == ["both"]
