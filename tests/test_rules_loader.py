"""The YAML rule loader: valid files load into frozen rules; each error names file, rule, field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from detector.errors import RuleError
from detector.rules.loader import check_rules, load_rules
from detector.rules.spec import ThresholdRule, parse_duration

GOOD = """\
id: short-calls
kind: threshold
match: {direction: outbound, talk_s: {lt: 6}}
window: 60m
thresholds: {warning: 40, critical: 120}
min_volume: 20
for: 1m
summary: "{account}: {value:.0f} short calls in {window}"
"""


def write(directory: Path, name: str, text: str) -> Path:
    """Write one file into the rule directory."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> RuleError:
    """Load a directory holding one rule file and return the RuleError it raises."""
    write(tmp_path, "rule.yaml", text)
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    return info.value


def test_a_valid_rule_loads_into_a_frozen_typed_object(tmp_path: Path) -> None:
    """Durations become seconds, `for` maps to `for_`, and the rule cannot be mutated."""
    write(tmp_path, "rule.yaml", GOOD)
    rule = load_rules(tmp_path).rules[0]
    assert isinstance(rule, ThresholdRule)
    assert (rule.window, rule.for_, rule.min_volume) == (3600.0, 60.0, 20)
    with pytest.raises(ValidationError):
        rule.window = 5  # type: ignore[misc]


def test_unknown_key_names_file_rule_and_field(tmp_path: Path) -> None:
    """A misspelt key is an error naming the file, the rule id and the key."""
    error = load_error(tmp_path, GOOD + "treshold: 3\n")
    assert (error.rule, error.field) == ("short-calls", "treshold")
    assert "rule.yaml" in str(error)
    assert "'short-calls'" in str(error)
    assert "treshold" in str(error)


def test_bad_duration_names_the_field(tmp_path: Path) -> None:
    """An unparseable duration is an error on that field with an example of the syntax."""
    error = load_error(tmp_path, GOOD.replace("window: 60m", "window: 60 minutes"))
    assert error.field == "window"
    assert "bad duration" in str(error)
    assert "rule.yaml" in str(error)


def test_missing_threshold_names_thresholds(tmp_path: Path) -> None:
    """A threshold rule without thresholds is an error on `thresholds`."""
    text = GOOD.replace("thresholds: {warning: 40, critical: 120}\n", "")
    error = load_error(tmp_path, text)
    assert error.field == "thresholds"
    assert "short-calls" in str(error)


def test_empty_thresholds_need_a_level(tmp_path: Path) -> None:
    """Thresholds with neither warning nor critical are refused."""
    error = load_error(tmp_path, GOOD.replace("{warning: 40, critical: 120}", "{}"))
    assert error.field == "thresholds"
    assert "warning" in str(error)


def test_a_volume_cap_below_the_floor_is_refused(tmp_path: Path) -> None:
    """`max_volume` under `min_volume` could never emit, so it is an error naming both."""
    error = load_error(tmp_path, GOOD + "max_volume: 10\n")
    assert error.field == "max_volume"
    assert "max_volume 10 is below min_volume 20" in str(error)
    assert "short-calls" in str(error)


def test_unknown_kind_names_kind_and_lists_the_known_ones(tmp_path: Path) -> None:
    """An unknown kind is an error on `kind` that lists the valid kinds."""
    error = load_error(tmp_path, GOOD.replace("kind: threshold", "kind: thresold"))
    assert error.field == "kind"
    assert "thresold" in str(error)
    assert "'threshold'" in str(error)


def test_bad_list_reference_names_the_match_field(tmp_path: Path) -> None:
    """A reference to a list file that does not exist names the field and the known lists."""
    write(tmp_path, "lists/risky.txt", "+53\n")
    text = GOOD.replace("talk_s: {lt: 6}", "to_prefix_list: riksy")
    error = load_error(tmp_path, text)
    assert error.field == "match.to_prefix_list"
    assert "riksy" in str(error)
    assert "risky" in str(error)


def test_unknown_match_field_names_the_path(tmp_path: Path) -> None:
    """A match on a field that does not exist names its dotted path."""
    error = load_error(tmp_path, GOOD.replace("talk_s: {lt: 6}", "talk: {lt: 6}"))
    assert error.field == "match.talk"


def test_wrong_operator_type_names_the_operator(tmp_path: Path) -> None:
    """An ordering operator on a text field is refused at load, naming the operator."""
    error = load_error(tmp_path, GOOD.replace("direction: outbound", "direction: {lt: 3}"))
    assert error.field == "match.direction.lt"


def test_duplicate_id_names_both_files(tmp_path: Path) -> None:
    """Two files with the same rule id: the error names the id and both files."""
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD)
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    assert info.value.field == "id"
    assert "a.yaml" in str(info.value)
    assert "b.yaml" in str(info.value)


def test_summary_with_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    """A summary template naming an unknown placeholder fails at load, not at alert time."""
    error = load_error(tmp_path, GOOD.replace("{window}", "{windw}"))
    assert error.field == "summary"
    assert "windw" in str(error)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    """A file that is not YAML is refused with its path."""
    error = load_error(tmp_path, "id: [unclosed\n")
    assert "rule.yaml" in str(error)
    assert "YAML" in str(error)


def test_kind_specific_predicates_are_checked_too(tmp_path: Path) -> None:
    """A ratio's `where` is compiled at load; a bad field there names `where.…`."""
    text = GOOD.replace("kind: threshold", "kind: ratio") + "where: {stauts: failed}\n"
    error = load_error(tmp_path, text)
    assert error.field == "where.stauts"


def test_settings_file_and_lists_are_loaded(tmp_path: Path) -> None:
    """`_ruleset.yaml` sets home country and timezone; list files load with comments removed."""
    write(tmp_path, "rule.yaml", GOOD)
    write(tmp_path, "_ruleset.yaml", "home_country: GB\ntimezone: Europe/London\n")
    write(tmp_path, "lists/risky.txt", "# comment\n+53  # Cuba\n\n+371\n")
    write(tmp_path, "lists/hot.yaml", "['+8821', '+8831']\n")
    ruleset = load_rules(tmp_path)
    assert ruleset.settings.home_country == "GB"
    assert ruleset.lists == {"hot": ("+8821", "+8831"), "risky": ("+53", "+371")}


def test_disabled_rules_are_validated_but_not_run(tmp_path: Path) -> None:
    """`enabled: false` keeps the rule out of the set while still checking it."""
    write(tmp_path, "rule.yaml", GOOD + "enabled: false\n")
    ruleset = load_rules(tmp_path)
    assert ruleset.rules == ()
    assert "short-calls" in ruleset.files


def test_check_rules_refuses_an_empty_directory(tmp_path: Path) -> None:
    """`rules check` on a directory without rules fails instead of passing silently."""
    with pytest.raises(RuleError, match="no rule files"):
        check_rules(tmp_path)


def test_missing_directory_is_a_rule_error(tmp_path: Path) -> None:
    """A rule directory that does not exist is reported as such."""
    with pytest.raises(RuleError, match="not a rule directory"):
        load_rules(tmp_path / "nope")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("4h", 14400.0),
        ("2d", 172800.0),
        ("1h30m", 5400.0),
        (45, 45.0),
    ],
)
def test_durations_parse_to_seconds(text: str | int, seconds: float) -> None:
    """Durations accept s, m, h, d, w units, compounds and plain seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "-3s", "m5", True])
def test_bad_durations_are_refused(text: object) -> None:
    """Anything else is a ValueError with an example of the syntax."""
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)
