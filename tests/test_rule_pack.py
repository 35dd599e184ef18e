"""The default rule pack in `rules/`: valid, covered by fixtures, and every fixture passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from detector.errors import RuleError
from detector.rules.loader import check_rules
from detector.rules.testing import run_rule_tests

PACK = Path(__file__).resolve().parent.parent / "rules"
PATTERNS = {
    "robocall", "wangiri", "irsf", "traffic_pumping", "sequential_dialing", "cli_spoofing",
    "no_answer_surge", "route_failure", "flatline",
}  # fmt: skip


def test_default_pack_passes_rules_check() -> None:
    """`rules check rules/` accepts the shipped pack."""
    assert len(check_rules(PACK).rules) >= 15


def test_default_pack_covers_every_pattern_of_detection_md() -> None:
    """Each fraud/fault pattern of DETECTION.md has at least one rule labelled with it."""
    labelled = {rule.labels.get("pattern") for rule in check_rules(PACK).rules}
    assert labelled >= PATTERNS


def test_default_pack_uses_every_rule_kind() -> None:
    """The pack exercises every kind, so each is tested end to end by a fixture."""
    kinds = {rule.kind for rule in check_rules(PACK).rules}
    assert kinds == {"threshold", "shift", "outlier", "match", "spike", "distinct", "new_value",
                     "flatline", "sequence"}  # fmt: skip


def test_every_default_rule_names_its_next_step() -> None:
    """Every shipped rule has a `runbook:` line, which every notification channel shows."""
    missing = [rule.id for rule in check_rules(PACK).rules if len(rule.runbook) < 20]
    assert missing == []


def test_every_rule_fixture_passes_and_every_rule_has_one() -> None:
    """`rules test rules/` passes with a positive and a negative case for every rule."""
    report = run_rule_tests(PACK)
    assert report.ok, report.render()
    assert report.untested == []
    by_rule: dict[str, set[str]] = {}
    for result in report.results:
        expectation = result.detail.split(",")[0]
        by_rule.setdefault(result.rule, set()).add(
            "quiet" if expectation.endswith("expected none") else "fires"
        )
    assert all(kinds == {"quiet", "fires"} for kinds in by_rule.values()), by_rule


def one_rule(tmp_path: Path, rule: str) -> Path:
    """A rule directory holding the pack's settings, lists, `rule` and its fixture only (the
    whole pack's fixtures take most of a minute and say nothing more here)."""
    target = tmp_path / "rules"
    shutil.copytree(PACK, target, ignore=lambda _d, names: [
        n for n in names if n.endswith(".yaml") and not n.startswith("_") and n != f"{rule}.yaml"
    ])  # fmt: skip
    return target


def test_a_wrong_expectation_fails_the_report(tmp_path: Path) -> None:
    """A fixture expecting the wrong severity makes the report fail and say so."""
    one_rule(tmp_path, "duration-cap")
    fixture = tmp_path / "rules" / "tests" / "duration-cap.yaml"
    fixture.write_text(fixture.read_text().replace("severity: critical", "severity: none"))
    report = run_rule_tests(tmp_path / "rules")
    assert not report.ok
    assert "FAIL duration-cap: a 9-hour call fires critical" in report.render()


def test_a_surge_seen_later_than_its_within_fails_the_report(tmp_path: Path) -> None:
    """A case's `within` bounds how soon its first finding comes: the no-answer surge seen
    after 10 minutes (the rule's warm-up) passes at 10 and fails at 5, and the report says
    when it came."""
    one_rule(tmp_path, "no-answer-surge")
    fixture = tmp_path / "rules" / "tests" / "no-answer-surge.yaml"
    assert "within: 10m" in fixture.read_text()
    fixture.write_text(fixture.read_text().replace("within: 10m", "within: 5m"))
    report = run_rule_tests(tmp_path / "rules")
    assert not report.ok
    line = next(x for x in report.render().splitlines() if "strong surge" in x)
    assert line.startswith("FAIL")
    assert "first after 10m (within 5m)" in line


def test_within_on_a_case_that_expects_nothing_is_refused(tmp_path: Path) -> None:
    """`within` with severity none (a bound on a finding that must not come) is refused with
    the fixture's path."""
    shutil.copytree(PACK, tmp_path / "rules")
    fixture = tmp_path / "rules" / "tests" / "duration-cap.yaml"
    fixture.write_text(
        fixture.read_text().replace("{severity: none}", "{severity: none, within: 5m}")
    )
    with pytest.raises(RuleError, match="within needs severity warning or critical") as info:
        run_rule_tests(tmp_path / "rules")
    assert str(info.value).startswith(str(fixture))


def test_a_broken_copy_of_the_pack_fails_naming_file_and_field(tmp_path: Path) -> None:
    """Breaking one field of one shipped rule makes `rules check` name that file and field."""
    shutil.copytree(PACK, tmp_path / "rules")
    path = tmp_path / "rules" / "no-answer-surge.yaml"
    path.write_text(path.read_text().replace("window: 20m", "window: half an hour"))
    with pytest.raises(RuleError) as info:
        check_rules(tmp_path / "rules")
    assert info.value.path.endswith("no-answer-surge.yaml")
    assert (info.value.rule, info.value.field) == ("no-answer-surge", "window")
