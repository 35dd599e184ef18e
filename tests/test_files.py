"""Reading CDR files: JSONL, CSV, gzip, bad lines (detector.source.files)."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from detector.domain.cdr import CDR, Rejected, Status
from detector.errors import SourceError
from detector.source.files import read_cdrs, read_rows

FIXTURES = Path(__file__).parent / "fixtures"
ROW_A: dict[str, Any] = json.loads((FIXTURES / "shape_a_row.json").read_text())
ROW_B: dict[str, Any] = json.loads((FIXTURES / "shape_b_row.json").read_text())


def write_jsonl(path: Path, lines: list[str]) -> Path:
    """Write text lines to `path` (gzip when it ends in .gz)."""
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_both_shapes_blank_lines_and_a_bad_line(tmp_path: Path) -> None:
    """Both shapes become CDRs, blank lines are skipped, a non-JSON line names its number."""
    path = write_jsonl(
        tmp_path / "cdrs.jsonl", [json.dumps(ROW_A), "", "  ", "{not json", json.dumps(ROW_B)]
    )
    items = list(read_cdrs(path))
    assert [type(i) for i in items] == [CDR, Rejected, CDR]
    bad = items[1]
    assert isinstance(bad, Rejected)
    assert (bad.reason, bad.detail) == ("not_an_object", "line 4: not a JSON object")


def test_json_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    """A JSON array or scalar line is yielded as text and rejected as not an object."""
    path = write_jsonl(tmp_path / "cdrs.jsonl", ["[1, 2]", "42"])
    assert list(read_rows(path)) == [(1, "[1, 2]"), (2, "42")]
    assert {r.reason for r in read_cdrs(path) if isinstance(r, Rejected)} == {"not_an_object"}


def test_rejected_rows_carry_the_line_number(tmp_path: Path) -> None:
    """A row normalize rejects says which line it came from."""
    path = write_jsonl(
        tmp_path / "cdrs.jsonl", [json.dumps(ROW_A), json.dumps({**ROW_A, "status": "?"})]
    )
    bad = list(read_cdrs(path))[1]
    assert isinstance(bad, Rejected)
    assert bad.reason == "bad_status"
    assert bad.detail.startswith("line 2: ")


def test_gzip_jsonl(tmp_path: Path) -> None:
    """A .jsonl.gz file reads like the plain file."""
    plain = write_jsonl(tmp_path / "cdrs.jsonl", [json.dumps(ROW_A), json.dumps(ROW_B)])
    packed = write_jsonl(tmp_path / "cdrs.jsonl.gz", [json.dumps(ROW_A), json.dumps(ROW_B)])
    assert list(read_cdrs(packed)) == list(read_cdrs(plain))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows as CSV with a header of their union of keys (gzip when .gz); None → ""."""
    fields = sorted({key for row in rows for key in row})
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


@pytest.mark.parametrize("name", ["cdrs.csv", "cdrs.csv.gz"])
def test_csv_gives_the_same_cdrs_as_json(tmp_path: Path, name: str) -> None:
    """A CSV of wire fields (numbers as text, empty cells as null) equals the JSON rows' CDRs."""
    path = write_csv(tmp_path / name, [ROW_A, ROW_B])
    jsonl = write_jsonl(tmp_path / "cdrs.jsonl", [json.dumps(ROW_A), json.dumps(ROW_B)])
    assert list(read_cdrs(path)) == list(read_cdrs(jsonl))


def test_csv_coerces_numbers_but_not_phone_numbers(tmp_path: Path) -> None:
    """CSV cells become ints and floats for numeric fields only; blank cells become None."""
    path = write_csv(tmp_path / "cdrs.csv", [{**ROW_B, "destination_number": "0044740012345"}])
    ((line, row),) = read_rows(path)
    assert line == 2
    assert isinstance(row, dict)
    assert (row["hangup_cause_code"], row["mos"], row["cost"]) == (3000, None, 0.02)
    assert row["destination_number"] == "0044740012345"


def test_csv_header_only_gives_nothing(tmp_path: Path) -> None:
    """A CSV with only its header has no rows."""
    path = tmp_path / "cdrs.csv"
    path.write_text("call_uuid,status\n\n", encoding="utf-8")
    assert list(read_rows(path)) == []


def test_csv_status_spelling(tmp_path: Path) -> None:
    """A CSV row goes through the same normalisation as JSON, spelling folding included."""
    path = write_csv(tmp_path / "cdrs.csv", [{**ROW_A, "status": "no-answer", "answer_time": None}])
    (cdr,) = read_cdrs(path)
    assert isinstance(cdr, CDR)
    assert cdr.status is Status.NO_ANSWER


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    """A file that cannot be opened raises the project's SourceError."""
    with pytest.raises(SourceError, match="cannot read"):
        list(read_rows(tmp_path / "absent.jsonl"))


def test_broken_gzip_is_a_source_error(tmp_path: Path) -> None:
    """A .gz file that is not gzip raises SourceError, not a gzip exception."""
    path = tmp_path / "cdrs.jsonl.gz"
    path.write_bytes(b"not gzip at all\n")
    with pytest.raises(SourceError):
        list(read_rows(path))


def test_account_argument_fills_rows_without_one(tmp_path: Path) -> None:
    """read_cdrs passes the per-account endpoint's account to rows that lack one."""
    row = {k: v for k, v in ROW_A.items() if k != "account_auth_id"}
    path = write_jsonl(tmp_path / "cdrs.jsonl", [json.dumps(row)])
    (cdr,) = read_cdrs(path, account="MA_x")
    assert isinstance(cdr, CDR)
    assert cdr.account == "MA_x"
