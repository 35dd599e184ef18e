"""`cdr-detector score INPUT.csv`: anomaly scores for a CSV series, streaming, row by row.

Input: a header naming `timestamp,value` (one series) or `timestamp,key,value` (one series per
key), then one row per observation, in time order. Timestamps are ISO 8601 (`2024-03-04T10:15:00Z`,
`2024-03-04 10:15:00`; no zone means UTC) or epoch seconds; values are numbers. Output: the
same rows with `anomaly_score` in [0, 1] appended (`timestamp,value,anomaly_score` or
`timestamp,key,value,anomaly_score`), each written as soon as its row is read: a score only
ever uses the rows above it. A bad row stops the run with its line number and what is wrong;
every row before it has been written.
"""

from __future__ import annotations

import contextlib
import csv
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detector.errors import ConfigError
from detector.models.series import SeriesScorer

HEADERS = (("timestamp", "value"), ("timestamp", "key", "value"))


@dataclass(frozen=True, slots=True)
class Row:
    """One input observation, with its original text kept for the output."""

    line: int
    timestamp: str
    key: str
    value_text: str
    at: datetime
    value: float


@dataclass(slots=True)
class Summary:
    """What a run scored."""

    rows: int = 0
    keys: int = 0
    above_09: int = 0
    """Rows scored 0.9 or more (one in ten million for a series behaving as before)."""


def parse_time(text: str, line: int) -> datetime:
    """A timestamp cell as an aware UTC-or-zoned datetime; ConfigError naming the line.

    >>> parse_time("2024-03-04 10:15:00", 2).isoformat()
    '2024-03-04T10:15:00+00:00'
    >>> parse_time("1709547300", 3).isoformat()
    '2024-03-04T10:15:00+00:00'
    """
    cell = text.strip()
    try:
        if cell.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(cell), UTC)
        moment = datetime.fromisoformat(cell.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise ConfigError(
            f"line {line}: timestamp {cell!r} is not ISO 8601 (2024-03-04T10:15:00Z) "
            "nor epoch seconds"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def read_header(reader: Iterator[list[str]]) -> bool:
    """Check the header line; whether the file has a key column."""
    header = next(reader, None)
    names = tuple(cell.strip().lower() for cell in header or ())
    if names not in HEADERS:
        raise ConfigError(
            "the first line must be the header `timestamp,value` or `timestamp,key,value`, "
            f"not {','.join(header or [])!r}"
        )
    return len(names) == 3


def read_rows(reader: Iterator[list[str]], keyed: bool) -> Iterator[Row]:
    """The rows after the header, validated one at a time (blank lines skipped)."""
    width = 3 if keyed else 2
    line = 1
    for cells in reader:
        line += 1
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != width:
            raise ConfigError(f"line {line}: {len(cells)} fields where the header has {width}")
        stamp, value_text = cells[0], cells[-1]
        yield Row(line, stamp, cells[1] if keyed else "", value_text, parse_time(stamp, line),
                  _number(value_text, line))  # fmt: skip


def _text(score: float) -> str:
    """A score with 9 decimals, never printed as 1 (anything beyond one in 10^63 ties).

    >>> _text(0.5), _text(0.99999999999)
    ('0.500000000', '0.999999999')
    """
    return f"{min(score, 0.999999999):.9f}"


def _number(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"line {line}: value {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"line {line}: value {text.strip()!r} is not a finite number")
    return value


def score_csv(
    source: TextIO, sink: TextIO, *, timezone: str = "UTC", window: float = 12.0
) -> Summary:
    """Score every row of `source` before learning it; write each row with its score."""
    scorer = SeriesScorer(window=window, timezone=timezone)
    reader = csv.reader(source)
    keyed = read_header(reader)
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(["timestamp", *(["key"] if keyed else []), "value", "anomaly_score"])
    summary = Summary()
    for row in read_rows(reader, keyed):
        value = scorer.score_one(row.value, row.at, row.key)
        scorer.learn_one(row.value, row.at, row.key)
        writer.writerow([row.timestamp, *([row.key] if keyed else []), row.value_text,
                         _text(value)])  # fmt: skip
        summary.rows += 1
        summary.above_09 += value >= 0.9
    summary.keys = len(scorer.keys)
    return summary


def score_command(input_file: Path, out: Path | None, timezone: str, window: float) -> Summary:
    """`cdr-detector score`: open the files (`-` is stdin), score, return the tallies."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"--timezone {timezone!r} is not an IANA zone (e.g. UTC, Asia/Kolkata)"
        ) from None
    if window < 1:
        raise ConfigError(f"--window must be at least 1 row, not {window}")
    with contextlib.ExitStack() as stack:
        try:
            source = (
                sys.stdin
                if str(input_file) == "-"
                else stack.enter_context(input_file.open(encoding="utf-8", newline=""))
            )
            sink = (
                stack.enter_context(out.open("w", encoding="utf-8", newline=""))
                if out
                else sys.stdout
            )
        except OSError as exc:
            raise ConfigError(f"{exc.filename}: {exc.strerror}") from exc
        try:
            return score_csv(source, sink, timezone=timezone, window=window)
        except ConfigError as exc:
            raise ConfigError(f"{input_file}: {exc}") from exc
