"""`rules explain RULE --cdr`: each clause with the call's value and verdict, for one CDR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from detector.cli import app
from detector.rules.explain import explain
from detector.rules.loader import load_rules
from detector.source.normalize import normalize
from tests.test_rules_loader import write

PACK = Path("rules")


def row(**fields: Any) -> dict[str, Any]:
    """A shape-A wire row: an answered 700 s outbound call to Cuba at 01:30 UTC."""
    base: dict[str, Any] = {
        "call_uuid": "c-cuba-1", "from_number": "+912240001111", "to_number": "+5355512345",
        "direction": "outbound", "status": "answered", "duration_seconds": 700,
        "ring_duration_seconds": 6, "hangup_cause": "NORMAL_CLEARING", "cost": 420.0,
        "currency": "INR", "start_time": "2026-03-25T01:30:00Z",
        "end_time": "2026-03-25T01:41:46Z", "account_auth_id": "MA_48149cf4",
    }  # fmt: skip
    return {**base, **fields}


def run(*args: str) -> tuple[int, list[str]]:
    """Run the CLI; its exit code and output lines."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output.splitlines()


def test_a_matching_call_shows_every_clause_true_and_what_it_alone_reads() -> None:
    """A long call to a risky destination: every clause holds, and it alone is critical."""
    code, lines = run("rules", "explain", "irsf-risky-destination", "--cdr", json.dumps(row()))
    assert code == 0, lines
    assert lines[1:5] == [
        "  match:",
        "    ✓ direction: outbound                 outbound",
        "    ✓ answered: true                      true",
        "    ✓ to_prefix_list: risky_destinations  +5355512345 (entry +53)",
    ]
    assert "=> the rule looks at this call." in lines
    assert "  answered = true  (status is answered)" in lines
    assert lines[-3].startswith("window: key MA_48149cf4 (account) over 1h; this call is judged")
    assert lines[-1] == "this call alone: value 700, volume 1: critical"


def test_a_non_matching_call_shows_the_clause_that_fails() -> None:
    """A domestic call fails only the list clause, so the rule adds nothing for it."""
    domestic = json.dumps(row(to_number="+919800000000"))
    code, lines = run("rules", "explain", "irsf-risky-destination", "--cdr", domestic)
    assert code == 0, lines
    assert "    ✗ to_prefix_list: risky_destinations  +919800000000 (no entry)" in lines
    assert "    ✓ direction: outbound                 outbound" in lines
    assert "=> the rule does not look at this call." in lines
    assert any(line.endswith("; this call adds nothing") for line in lines)


def test_kind_predicates_nested_clauses_and_derived_fields_are_explained(tmp_path: Path) -> None:
    """`where`, `any`/`not` and the local hour (account timezone) are shown with their values."""
    write(tmp_path, "_ruleset.yaml", "home_country: IN\ntimezone: Asia/Kolkata\n")
    write(
        tmp_path,
        "night.yaml",
        """\
id: night-international
kind: ratio
match: {not: {international: false}, any: [{hour: {ge: 22}}, {hour: {lt: 8}}]}
where: {talk_s: {gt: 600}}
thresholds: {warning: 0.5}
""",
    )
    ruleset = load_rules(tmp_path)
    cdr = normalize(row())
    found = explain(ruleset, "night-international", cdr)
    (match_name, match), (where_name, where) = found.predicates
    assert (match_name, where_name) == ("match", "where")
    negated, either = match
    assert (negated.condition, negated.holds, negated.parts[0].holds) == ("not", True, False)
    assert [(p.holds, p.parts[0].value) for p in either.parts] == [(False, "7"), (True, "7")]
    assert (where[0].condition, where[0].value, where[0].holds) == (
        "talk_s: {gt: 600}",
        "700",
        True,
    )
    derived = {name: (value, how) for name, value, how in found.derived}
    assert derived["hour"] == ("7", "2026-03-25 01:30 UTC in Asia/Kolkata")
    assert derived["international"] == ("true", "dest_country CU vs home_country IN")
    assert found.matched
    assert found.adds == "adds 1 to the calls judged and 1 to those where `where` holds"
    assert (found.alone.value, found.alone.volume) == (1.0, 1.0) if found.alone else False


def test_an_allow_listed_call_is_not_looked_at(tmp_path: Path) -> None:
    """An allow-listed destination prefix is named as the reason the rule skips the call."""
    write(
        tmp_path,
        "spend.yaml",
        """\
id: spend
kind: threshold
match: {direction: outbound}
aggregate: {sum: cost}
thresholds: {warning: 100}
allow: {to_prefixes: ["+5355"]}
""",
    )
    found = explain(load_rules(tmp_path), "spend", normalize(row()))
    assert found.allowed_by == "to +5355512345 starts with allow-listed +5355"
    assert not found.matched
    assert found.alone is None


def test_a_file_with_several_rows_needs_a_call_id(tmp_path: Path) -> None:
    """From a JSONL file, `--call-id` picks the row; without it the command says what to do."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(row()) + "\n" + json.dumps(row(call_uuid="c-2")) + "\n")
    code, lines = run("rules", "explain", "irsf-hot-list", "--cdr", str(rows))
    assert code == 2
    assert f"{rows} holds 2 rows; pick one with --call-id" in " ".join(lines)
    code, lines = run("rules", "explain", "irsf-hot-list", "--cdr", str(rows), "--call-id", "c-2")
    assert code == 0, lines
    assert "call c-2 of MA_48149cf4" in lines[0]


def test_an_unknown_rule_gets_the_closest_id() -> None:
    """A misspelt rule id is refused with the id it most likely meant."""
    code, lines = run("rules", "explain", "irsf-risky", "--cdr", json.dumps(row()))
    assert code == 2
    assert "did you mean irsf-risky-destination?" in " ".join(lines)
