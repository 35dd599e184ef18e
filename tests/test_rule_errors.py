"""One row per error message of the rule loader: a changed or lost message fails exactly one row."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.errors import RuleError
from detector.rules.loader import check_rules
from tests.test_rules_loader import GOOD, load_error, write

TALK = "talk_s: {lt: 6}"
"""The second `match` entry of `GOOD`, replaced by the predicate rows."""


def match(entry: str) -> str:
    """`GOOD` with its `talk_s` condition replaced by another `match` entry."""
    return GOOD.replace(TALK, entry)


RULE_FILE_ERRORS = [
    # pydantic validation of the rule schema
    pytest.param(GOOD + "treshold: 3\n", "treshold", "Extra inputs are not permitted", 9,
                 id="unknown-key"),
    pytest.param(GOOD.replace("thresholds: {warning: 40, critical: 120}\n", ""), "thresholds",
                 "Field required", 1, id="missing-field"),
    pytest.param(GOOD.replace("min_volume: 20", "min_volume: many"), "min_volume",
                 "Input should be a valid integer", 6, id="wrong-type"),
    pytest.param(GOOD.replace("min_volume: 20", "min_volume: -1"), "min_volume",
                 "greater than or equal to 0", 6, id="below-ge-bound"),
    pytest.param(GOOD.replace("kind: threshold", "kind: thresold"), "kind",
                 "'thresold' found using 'kind' does not match any of the expected tags", 2,
                 id="unknown-kind"),
    pytest.param(GOOD.replace("kind: threshold\n", ""), "kind",
                 "missing; set kind to one of threshold, ratio, shift, match", 1,
                 id="missing-kind"),
    pytest.param(GOOD + "group_by: [acount]\n", "group_by[0]",
                 "Input should be 'account', 'direction', 'trunk',", 9, id="unknown-choice"),
    # spec.py validators
    pytest.param(GOOD.replace("window: 60m", "window: 60 minutes"), "window",
                 "bad duration '60 minutes' (use e.g. 30s, 5m, 4h, 1h30m, 2d)", 4,
                 id="bad-duration-text"),
    pytest.param(GOOD.replace("window: 60m", "window: true"), "window",
                 "bad duration True (use e.g. 30s, 5m, 4h, 2d)", 4, id="bad-duration-bool"),
    pytest.param(GOOD.replace("{warning: 40, critical: 120}", "{}"), "thresholds",
                 "set at least one of warning, critical", 5, id="thresholds-without-level"),
    pytest.param(GOOD.replace("critical: 120", "critical: 10"), "thresholds",
                 "critical must be at or above warning", 5, id="critical-below-warning"),
    pytest.param(GOOD.replace("window: 60m", "window: 500ms"), "window",
                 "window must be at least 1s (got 0.5s)", 4, id="window-under-1s"),
    pytest.param(GOOD + "max_volume: 10\n", "max_volume",
                 "max_volume 10 is below min_volume 20: raise it or remove it", 9,
                 id="max-volume-below-min"),
    # predicate.py
    pytest.param(match("not: 5"), "match.not", "must be a mapping of field: condition", 3,
                 id="predicate-not-a-mapping"),
    pytest.param(match("any: []"), "match.any", "must be a non-empty list of mappings", 3,
                 id="any-empty"),
    pytest.param(match("to_prefix_list: riksy"), "match.to_prefix_list",
                 "unknown list 'riksy' (known: none)", 3, id="unknown-list"),
    pytest.param(match("talk: {lt: 6}"), "match.talk",
                 "unknown field 'talk' (did you mean talk_s?)", 3, id="unknown-field"),
    pytest.param(match("zone: 3"), "match.zone", "unknown field 'zone' (known: account,",
                 3, id="unknown-field-far"),
    pytest.param(match("talk_s: {}"), "match.talk_s", "empty condition", 3,
                 id="empty-condition"),
    pytest.param(match("status: {gt: a}"), "match.status.gt",
                 "gt needs a numeric field, 'status' is not", 3, id="order-on-text-field"),
    pytest.param(match("status: {in: failed}"), "match.status.in", "must be a list", 3,
                 id="in-not-a-list"),
    pytest.param(match("talk_s: {lte: 6}"), "match.talk_s.lte",
                 "unknown operator 'lte' (known: lt, le, gt, ge, eq, ne, in, not_in, prefix)", 3,
                 id="unknown-operator"),
    pytest.param(match("to_prefix: []"), "match.to_prefix", "needs at least one prefix", 3,
                 id="no-prefix"),
    pytest.param(match("to_prefix: 53"), "match.to_prefix",
                 "must be a string or a list of strings", 3, id="prefix-not-text"),
    pytest.param(match("answered: 1"), "match.answered", "'answered' is true or false, got 1", 3,
                 id="bool-field-value"),
    pytest.param(match("talk_s: six"), "match.talk_s", "'talk_s' is numeric, got 'six'", 3,
                 id="numeric-field-value"),
    pytest.param(match("status: 1.5"), "match.status", "'status' is text, got 1.5", 3,
                 id="text-field-value"),
    # template.py
    pytest.param(GOOD.replace('{window}"', '{window"'), "summary",
                 "bad template: expected '}' before end of string", 8, id="bad-template"),
    pytest.param(GOOD.replace("{window}", "{windw}"), "summary",
                 "unknown placeholder ['windw'] (known: ['account',", 8,
                 id="unknown-placeholder"),
    pytest.param(GOOD.replace("{window}", "{}"), "summary",
                 "positional placeholder {} is not allowed; use a name such as {account}", 8,
                 id="positional-placeholder"),
    pytest.param(GOOD.replace("{value:.0f}", "{value:d}"), "summary",
                 "template does not render: Unknown format code 'd'", 8,
                 id="template-not-rendering"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "fragment", "line"), RULE_FILE_ERRORS)
def test_rule_file_error_names_file_line_rule_and_field(
    tmp_path: Path, text: str, field: str, fragment: str, line: int | None
) -> None:
    """Each invalid rule file fails with its own message naming file, line, rule id and field."""
    error = load_error(tmp_path, text)
    message = str(error)
    assert (error.path, error.rule, error.field, error.line) == (
        str(tmp_path / "rule.yaml"), "short-calls", field, line,
    )  # fmt: skip
    where = f"{tmp_path / 'rule.yaml'}:{line}" if line else f"{tmp_path / 'rule.yaml'}"
    assert message.startswith(f"{where}: rule 'short-calls': field {field}: ")
    assert fragment in message


Files = dict[str, str | bytes | None]
"""Relative path → file text (bytes: written as they are), or None for a directory."""

DIRECTORY_ERRORS = [
    pytest.param({}, "nope", "nope", "", "", "not a rule directory", None, id="not-a-directory"),
    pytest.param({}, ".", ".", "", "", "no rule files (*.yaml) found", None, id="no-rule-files"),
    pytest.param({"a.yaml": GOOD, "b.yaml": GOOD}, ".", "b.yaml", "short-calls", "id",
                 "duplicate id, also in", 1, id="duplicate-id"),
    pytest.param({"lists/hot.yaml": "a: 1\n"}, ".", "lists/hot.yaml", "", "",
                 "a list file holds a YAML list of strings", 1, id="list-file-not-a-list"),
    pytest.param({"_ruleset.yaml": "home_country: gb\n"}, ".", "_ruleset.yaml", "",
                 "home_country", "unknown country 'gb': codes are upper case (did you mean GB", 1,
                 id="settings-field"),
    pytest.param({"rule.yaml": "- a\n"}, ".", "rule.yaml", "", "",
                 "a rule file holds one YAML mapping", 1, id="rule-file-not-a-mapping"),
    pytest.param({"rule.yaml": "id: [unclosed\n"}, ".", "rule.yaml", "", "",
                 "not valid YAML: while parsing a flow sequence", 2, id="not-valid-yaml"),
    pytest.param({"rule.yaml": None}, ".", "rule.yaml", "", "", "cannot read: ", None,
                 id="cannot-read"),
    pytest.param({"rule.yaml": b"id: caf\xe9\n"}, ".", "rule.yaml", "", "",
                 "cannot read: not UTF-8 text (byte 0xe9 at offset 7)", None, id="not-utf8"),
    pytest.param({"rule.yaml": GOOD, "lists/hot.txt": b"+53\xff\n"}, ".", "lists/hot.txt", "",
                 "", "cannot read: not UTF-8 text", None, id="list-txt-not-utf8"),
    pytest.param({"rule.yaml": GOOD, "_ruleset.yaml": "timezone: Mars/Base\n"}, ".",
                 "_ruleset.yaml", "", "timezone",
                 "unknown timezone 'Mars/Base' (use an IANA name such as Asia/Kolkata)", 1,
                 id="unknown-timezone"),
    pytest.param({"rule.yaml": GOOD, "_ruleset.yaml": "timezones: {MA_x: Mars/Base}\n"}, ".",
                 "_ruleset.yaml", "", "timezones",
                 "account 'MA_x': unknown timezone 'Mars/Base'", 1,
                 id="unknown-account-timezone"),
    pytest.param({"rule.yaml": GOOD, "_ruleset.yaml": "- IN\n"}, ".", "_ruleset.yaml", "", "",
                 "a settings file holds one YAML mapping", 1, id="settings-not-a-mapping"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "target", "culprit", "rule", "field", "fragment", "line"), DIRECTORY_ERRORS
)
def test_directory_error_names_the_culprit_file(
    tmp_path: Path,
    files: Files,
    target: str,
    culprit: str,
    rule: str,
    field: str,
    fragment: str,
    line: int | None,
) -> None:
    """Each directory, list, settings or YAML-level problem fails naming the file at fault."""
    for name, text in files.items():
        if text is None:
            (tmp_path / name).mkdir(parents=True)
        elif isinstance(text, bytes):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes(text)
        else:
            write(tmp_path, name, text)
    with pytest.raises(RuleError) as info:
        check_rules(tmp_path / target)
    error, path = info.value, str(tmp_path / culprit)
    assert (error.path, error.rule, error.field, error.line) == (path, rule, field, line)
    assert str(error).startswith(f"{path}:{line}: " if line else f"{path}: ")
    assert (f": rule {rule!r}:" in str(error)) == bool(rule)
    assert fragment in str(error)
