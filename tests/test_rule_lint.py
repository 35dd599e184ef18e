"""`rules check` warnings: rules that load but will not do what their author believes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from detector.authoring import check_command
from detector.cli import app
from tests.test_rule_try import simulated
from tests.test_rules_loader import write

__all__ = ["simulated"]  # the module fixture: 8 simulated hours of 20 accounts

NO_ANSWER = """\
id: {id}
kind: ratio
match: {{direction: outbound, status: [answered, no_answer]}}
where: {{status: no_answer}}
window: 30m
min_volume: {low}
{cap}thresholds: {{warning: {level}}}
"""


def rule(text: str, **values: Any) -> str:
    """A rule file from a template."""
    return text.format(**values)


def test_twins_whose_volume_ranges_overlap_are_notified_twice(tmp_path: Path) -> None:
    """Two live variants of one rule warn until max_volume hands one's keys to the other."""
    write(tmp_path, "a.yaml", rule(NO_ANSWER, id="busy", low=25, cap="", level=0.76))
    write(tmp_path, "b.yaml", rule(NO_ANSWER, id="quiet", low=14, cap="", level=0.88))
    _, warnings = check_command(tmp_path, None)
    assert [(w.rule, w.path) for w in warnings] == [("busy", str(tmp_path / "a.yaml"))]
    assert "measures the same calls as 'quiet'" in warnings[0].message
    assert "both can fire for one key with 25 or more calls" in warnings[0].message
    write(
        tmp_path, "b.yaml", rule(NO_ANSWER, id="quiet", low=14, cap="max_volume: 24\n", level=0.88)
    )
    assert check_command(tmp_path, None)[1] == []


def test_the_shipped_pack_has_no_twins() -> None:
    """The default pack's rule variants are split by volume, so nothing warns without a sample."""
    assert check_command(Path("rules"), None)[1] == []


SAMPLE_RULES = {
    "never-matches": "kind: threshold\nmatch: {direction: inbound, talk_s: {gt: 86000}}\n"
    "thresholds: {warning: 1}\n",
    "where-never-holds": "kind: ratio\nmatch: {direction: outbound}\n"
    "where: {status: busy, answered: true}\nthresholds: {warning: 0.5}\n",
    "never-judged": "kind: ratio\nmatch: {direction: outbound}\nwhere: {answered: false}\n"
    "min_volume: 100000\nthresholds: {warning: 0.5}\n",
    "too-high": "kind: threshold\nmatch: {direction: outbound}\nthresholds: {warning: 100000}\n",
    "too-low": "kind: threshold\nmatch: {direction: outbound}\nthresholds: {warning: 1}\n",
    "in-warmup": "kind: spike\nmatch: {direction: outbound}\nwarmup: 7d\n"
    "thresholds: {warning: 3}\n",
    "spend-floor": "kind: spike\nmatch: {direction: outbound}\naggregate: {sum: cost}\n"
    "warmup: 1h\nfloor: 10000000\nthresholds: {warning: 3}\n",
    "spend-fast": "kind: threshold\nmatch: {direction: outbound}\nwindow: 5m\n"
    "aggregate: {sum: cost}\nthresholds: {warning: 600}\n",
    "spend-slow": "kind: threshold\nmatch: {direction: outbound}\nwindow: 60m\n"
    "aggregate: {sum: cost}\nthresholds: {warning: 2000}\n",
}
EXPECTED = {
    "never-matches": "matched none of the sample's 3,842 calls",
    "where-never-holds": "where held for none of the ",
    "never-judged": "no reading could be judged: volume never reached min_volume 100000",
    "too-high": "never approaches its lowest threshold 100,000: the highest value in the sample",
    "too-low": "reaches its lowest threshold 1 on 100% of the sample's account-days",
    "in-warmup": "judges nothing yet: the sample (0.3 days) is not longer than warmup 7d",
    "spend-floor": "no reading could be judged: no window reached floor 10,000,000 after "
    "warmup 1h with a day of history for the window's hour",
    "spend-fast": "overlaps 'spend-slow' (100% of the calls either matched, both did) and they "
    "notified twice for the same calls",
}


def test_a_sample_shows_what_each_rule_would_do(
    tmp_path: Path, simulated: tuple[Path, list[dict[str, Any]]]
) -> None:
    """Each kind of sample warning names its rule; a rule that behaves gets none."""
    sample, _ = simulated
    for name, body in SAMPLE_RULES.items():
        write(tmp_path, f"{name}.yaml", f"id: {name}\n{body}")
    _, warnings = check_command(tmp_path, sample)
    by_rule = {w.rule: w.message for w in warnings}
    assert set(by_rule) == set(EXPECTED), by_rule
    for name, fragment in EXPECTED.items():
        assert by_rule[name].startswith(fragment), (name, by_rule[name])


def test_strict_turns_warnings_into_a_failure(tmp_path: Path) -> None:
    """Warnings print after the ok line; `--strict` makes them exit 1, for CI."""
    write(tmp_path, "a.yaml", rule(NO_ANSWER, id="busy", low=25, cap="", level=0.76))
    write(tmp_path, "b.yaml", rule(NO_ANSWER, id="quiet", low=14, cap="", level=0.88))
    relaxed = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    strict = CliRunner().invoke(app, ["rules", "check", str(tmp_path), "--strict"])
    assert relaxed.exit_code == 0
    lines = relaxed.output.splitlines()
    assert lines[0] == f"ok: 2 rules in {tmp_path}"
    assert lines[1].startswith(f"warning: {tmp_path / 'a.yaml'}: rule 'busy': measures")
    assert lines[-1] == "1 warning"
    assert strict.exit_code == 1


def test_a_missing_sample_is_a_clear_error(tmp_path: Path) -> None:
    """`--sample` naming no file fails with what it expects."""
    write(tmp_path, "a.yaml", rule(NO_ANSWER, id="busy", low=25, cap="", level=0.76))
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path), "--sample", "nope.jsonl"])
    assert result.exit_code == 2
    assert "--sample: nope.jsonl: no such file (a JSONL/CSV file of wire rows)" in result.output
