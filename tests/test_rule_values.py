"""Rule values checked against each field's domain, and every problem of a rule set at once.

One row per kind of field: a value that could never match is an error naming file, line,
rule and field, with the closest valid value when there is one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.errors import RuleError, RuleErrors
from detector.rules.loader import check_rules, load_rules
from tests.test_rules_loader import GOOD, write

TALK = "talk_s: {lt: 6}"
"""The second `match` entry of `GOOD` (line 3), replaced by the rows below."""


def match(entry: str) -> str:
    """`GOOD` with its `talk_s` condition replaced by another `match` entry."""
    return GOOD.replace(TALK, entry)


def kind(name: str, extra: str) -> str:
    """`GOOD` as a rule of another kind, with that kind's keys appended (from line 9)."""
    return GOOD.replace("kind: threshold", f"kind: {name}") + extra


WRONG_VALUES = [
    # enumerations
    pytest.param(GOOD.replace("direction: outbound", "direction: outgoing"), "match.direction",
                 "unknown direction 'outgoing' (did you mean outbound?)", 3, id="direction"),
    pytest.param(match("status: no-answer"), "match.status",
                 "unknown status 'no-answer' (did you mean no_answer?)", 3, id="status"),
    pytest.param(match("dest_type: premium"), "match.dest_type",
                 "unknown number type 'premium' (did you mean PREMIUM_RATE?)", 3, id="dest-type"),
    pytest.param(match("hangup_cause: UNALOCATED_NUMBER"), "match.hangup_cause",
                 "unknown hangup cause 'UNALOCATED_NUMBER' (did you mean UNALLOCATED_NUMBER?)", 3,
                 id="hangup-cause"),
    pytest.param(match("hangup_code: [3050, 3051]"), "match.hangup_code",
                 "unknown hangup code 3051 (did you mean 3050?)", 3, id="hangup-code"),
    pytest.param(match("hangup_cause: {prefix: [NORMAL-]}"), "match.hangup_cause.prefix",
                 "no hangup cause starts with 'NORMAL-'", 3, id="enumeration-prefix"),
    # ISO 3166 countries
    pytest.param(match("dest_country: Cuba"), "match.dest_country",
                 "unknown country 'Cuba': write an ISO 3166 alpha-2 code (did you mean CU (Cuba)?)",
                 3, id="country-name"),
    pytest.param(match("dest_country: cu"), "match.dest_country",
                 "unknown country 'cu': codes are upper case (did you mean CU (Cuba)?)", 3,
                 id="country-lower-case"),
    pytest.param(match("dest_country: [UK]"), "match.dest_country",
                 "unknown country 'UK': write an ISO 3166 alpha-2 code (did you mean GB", 3,
                 id="country-alias"),
    pytest.param(match("any: [{dest_country: Latvia}]"), "match.any[0].dest_country",
                 "(did you mean LV (Latvia)?)", 3, id="country-nested"),
    # E.164 numbers and prefixes
    pytest.param(match('to_prefix: ["0053"]'), "match.to_prefix",
                 "'0053' is not an E.164 prefix: write + and the digits (did you mean +53?)", 3,
                 id="prefix-not-e164"),
    pytest.param(match('to: {prefix: ["+999"]}'), "match.to.prefix",
                 "'+999' matches no number: no country calling code starts +999", 3,
                 id="prefix-no-calling-code"),
    pytest.param(match("from: anonymous"), "match.from",
                 "'anonymous' is not an E.164 number: write + and the digits; for caller ids "
                 "that are not numbers use from_invalid: true", 3, id="number-not-e164"),
    pytest.param(match("to_block: 9198000000"), "match.to_block",
                 "(did you mean +9198000000?)", 3, id="block-not-e164"),
    pytest.param(match('pair: "+912240000000-+5355512345"'), "match.pair",
                 "is not a pair: write FROM>TO", 3, id="pair"),
    pytest.param(GOOD + 'allow: {to_prefixes: ["9118"]}\n', "allow.to_prefixes[0]",
                 "'9118' is not an E.164 prefix: write + and the digits (did you mean +9118?)", 9,
                 id="allow-prefix"),
    # numeric ranges
    pytest.param(match("hour: {ge: 24}"), "match.hour.ge", "hour is 0 to 23, got ge 24", 3,
                 id="range-outside"),
    pytest.param(match("hour: 9.5"), "match.hour", "hour is a whole number, got 9.5", 3,
                 id="range-whole"),
    pytest.param(match("talk_s: {lt: 0}"), "match.talk_s.lt",
                 "talk_s is never below 0: lt 0 matches nothing", 3, id="range-matches-nothing"),
    pytest.param(match("cost: -1"), "match.cost", "cost is at least 0, got -1", 3,
                 id="range-negative"),
    pytest.param(match("hour: {ge: 22, lt: 6}"), "match.hour",
                 "no value is both ge 22 and lt 6 (for hours across midnight write any: "
                 "[{hour: {ge: 22}}, {hour: {lt: 6}}])", 3, id="range-disjoint"),
    # every kind's predicates, not only `match`
    pytest.param(kind("ratio", "where: {status: fail}\n"), "where.status",
                 "unknown status 'fail' (did you mean failed?)", 9, id="ratio-where"),
    pytest.param(kind("sequence", "first: {direction: inbound}\nthen: {direction: incoming}\n"),
                 "then.direction", "unknown direction 'incoming' (did you mean inbound?)", 10,
                 id="sequence-then"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "fragment", "line"), WRONG_VALUES)
def test_a_value_that_cannot_match_is_an_error_with_a_suggestion(
    tmp_path: Path, text: str, field: str, fragment: str, line: int
) -> None:
    """A wrong value fails the load naming file, line, rule and field, and says what to write."""
    write(tmp_path, "rule.yaml", text)
    with pytest.raises(RuleErrors) as info:
        load_rules(tmp_path)
    assert len(info.value.errors) == 1, str(info.value)
    error = info.value.errors[0]
    assert (error.rule, error.field, error.line) == ("short-calls", field, line)
    assert str(error).startswith(f"{tmp_path / 'rule.yaml'}:{line}: rule 'short-calls': ")
    assert fragment in str(error)


def test_every_shipped_value_is_in_its_domain() -> None:
    """The default pack, its lists and settings pass the value checks."""
    assert len(check_rules(Path("rules")).rules) >= 15


def test_list_entries_must_be_e164_prefixes(tmp_path: Path) -> None:
    """A list entry that is not an E.164 prefix is named by file and line, the rest still load."""
    write(tmp_path, "rule.yaml", match("to_prefix_list: risky"))
    write(tmp_path, "lists/risky.txt", "+371\n53  # Cuba\n+999\n")
    with pytest.raises(RuleErrors) as info:
        load_rules(tmp_path)
    lines = str(info.value).splitlines()
    listed = tmp_path / "lists" / "risky.txt"
    assert lines == [
        f"{listed}:2: entry '53' is not an E.164 prefix: write + and the digits"
        " (did you mean +53?)",
        f"{listed}:3: entry '+999' matches no number: no country calling code starts +999",
    ]


def test_an_empty_list_file_cannot_be_matched(tmp_path: Path) -> None:
    """A rule on a list with no entries would match nothing, so it is an error."""
    write(tmp_path, "rule.yaml", match("to_prefix_list: hot"))
    write(tmp_path, "lists/hot.txt", "# nothing yet\n")
    with pytest.raises(RuleErrors, match=r"field match\.to_prefix_list: list 'hot' is empty"):
        load_rules(tmp_path)


def test_the_vocabulary_setting_accepts_a_carriers_own_causes(tmp_path: Path) -> None:
    """Causes and codes listed under `vocabulary` in _ruleset.yaml are accepted in rules."""
    write(tmp_path, "rule.yaml", match("any: [{hangup_cause: CARRIER_BLOCK}, {hangup_code: 7001}]"))
    write(
        tmp_path,
        "_ruleset.yaml",
        "vocabulary: {hangup_cause: [CARRIER_BLOCK], hangup_code: [7001]}\n",
    )
    assert load_rules(tmp_path).rules[0].id == "short-calls"


def test_the_vocabulary_setting_extends_only_feed_vocabularies(tmp_path: Path) -> None:
    """Directions and statuses are fixed by the CDR, so the vocabulary refuses them."""
    write(tmp_path, "rule.yaml", GOOD)
    write(tmp_path, "_ruleset.yaml", "home_country: IN\nvocabulary: {direction: [sideways]}\n")
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    assert (info.value.field, info.value.line) == ("vocabulary.direction", 2)
    assert "Extra inputs are not permitted" in str(info.value)


SEVERAL = """\
id: irsf-cuba
kind: threshold
tresholds: {warning: 1}
match: {direction: outgoing, dest_country: Cuba}
window: 60m
thresholds: {warning: 1}
summary: "{account}: {valu} calls to Cuba"
"""


def test_a_file_with_several_errors_reports_all_of_them(tmp_path: Path) -> None:
    """Three mistakes in one file and one in another come back together, each located."""
    write(tmp_path, "cuba.yaml", SEVERAL)
    write(tmp_path, "short.yaml", GOOD.replace("window: 60m", "window: an hour"))
    with pytest.raises(RuleErrors) as info:
        load_rules(tmp_path)
    cuba, short = tmp_path / "cuba.yaml", tmp_path / "short.yaml"
    found = [(e.path, e.line, e.rule, e.field) for e in info.value.errors]
    assert found == [
        (str(cuba), 3, "irsf-cuba", "tresholds"),
        (str(cuba), 4, "irsf-cuba", "match.direction"),
        (str(cuba), 4, "irsf-cuba", "match.dest_country"),
        (str(cuba), 7, "irsf-cuba", "summary"),
        (str(short), 4, "short-calls", "window"),
    ]
    assert "(did you mean CU (Cuba)?)" in str(info.value.errors[2])


def test_rules_check_prints_every_error_and_fails(tmp_path: Path) -> None:
    """`rules check` prints one line per problem and a count, and exits 2."""
    write(tmp_path, "cuba.yaml", SEVERAL)
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0].startswith(f"error: {tmp_path / 'cuba.yaml'}:3: rule 'irsf-cuba': ")
    assert sum(line.startswith("error: ") for line in lines) == 4
    assert lines[-1] == "4 errors in 1 file"
