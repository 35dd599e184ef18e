"""`cdr-detector cdrs`: a date range of CDRs with every API filter, as a table, CSV or JSON lines.

Output streams day by day (oldest first, each day in start-time order), so a month of a busy
account never sits in memory; a progress bar runs on stderr when it is a terminal. CSV and JSON
lines carry every normalised field, the same names for both response shapes (`FIELDS`); the
table shows the ones people scan. `--raw` writes each row exactly as the API sent it (JSON
lines; the API applied the filters), rows the detector cannot read included.

Rows that cannot be normalised are never dropped silently: they are counted by reason on
stderr, and `--raw` keeps them. No call in the range is an error (exit 1) naming the range
and the filters, so an empty file is never mistaken for a quiet month.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from detector.domain import CDR
from detector.errors import ConfigError, NoDataError
from detector.investigate.output import clean, iso, json_line, write_csv
from detector.investigate.reader import DayCalls, Days, Filters
from detector.investigate.session import Session, Where, day_progress, session

FIELDS = (
    "start", "call_id", "account", "direction", "status", "from", "to", "dest_country",
    "dest_type", "talk_s", "ring_s", "answer", "end", "hangup_cause", "hangup_code", "sip_code",
    "cost", "currency", "trunk", "context", "mos", "user_agent",
)  # fmt: skip
"""CSV / JSON lines columns, in order."""

_TABLE = (
    ("start", 20), ("account", 12), ("direction", 9), ("status", 9), ("from", 15), ("to", 16),
    ("talk_s", 6), ("cost", 8), ("hangup_cause", 24), ("call_id", 36),
)  # fmt: skip
"""Table columns and their widths."""

CDR_FORMATS = ("table", "csv", "jsonl")


def cdr_fields(cdr: CDR) -> dict[str, Any]:
    """A CDR as a flat mapping of `FIELDS` (times as ISO 8601 UTC)."""
    return {
        "start": iso(cdr.start), "call_id": cdr.call_id, "account": cdr.account,
        "direction": cdr.direction.value, "status": cdr.status.value, "from": cdr.from_number,
        "to": cdr.to_number, "dest_country": cdr.dest_country, "dest_type": cdr.dest_type,
        "talk_s": cdr.talk_s, "ring_s": cdr.ring_s, "answer": iso(cdr.answer),
        "end": iso(cdr.end), "hangup_cause": cdr.hangup_cause, "hangup_code": cdr.hangup_code,
        "sip_code": cdr.sip_code, "cost": cdr.cost, "currency": cdr.currency,
        "trunk": cdr.trunk, "context": cdr.context, "mos": cdr.mos, "user_agent": cdr.user_agent,
    }  # fmt: skip


def table_line(values: dict[str, Any] | None = None) -> str:
    """One fixed-width table line (the header when `values` is None); text made safe."""
    cells = []
    for name, width in _TABLE:
        text = name.upper() if values is None else _short(values[name])
        cells.append(clean(text)[:width].ljust(width))
    return " ".join(cells).rstrip()


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def cdrs_command(
    where: Where,
    days: Days,
    filters: Filters,
    *,
    account: str | None,
    fmt: str,
    out: Path | None,
    raw: bool = False,
) -> int:
    """Write the calls of `days` matching `filters`; return how many were written."""
    if fmt not in CDR_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(CDR_FORMATS)}, not {fmt!r}")
    with session(where) as current, _sink(out) as sink:
        return export(current, days, filters, account, sink, "raw" if raw else fmt)


def export(
    current: Session, days: Days, filters: Filters, account: str | None, sink: IO[str], fmt: str
) -> int:
    """Stream the calls of `days` to `sink` in `fmt` (or "raw"); return how many were written."""
    writer = _Writer(sink, fmt)
    rejected: Counter[str] = Counter()
    with day_progress(current, days, "reading"):
        for found in current.reader.days(days, filters, account):
            writer.day(found)
            rejected.update(r.reason for r, _ in found.rejected)
    _summary(current, writer.written, rejected, fmt == "raw")
    if writer.written == 0 and not rejected:
        scope = f"account {account}" if account else "any account"
        extra = f" with {filters.describe()}" if filters.describe() else ""
        raise NoDataError(f"no calls for {scope} on {days}{extra}")
    return writer.written


@contextmanager
def _sink(out: Path | None) -> Iterator[IO[str]]:
    if out is None:
        yield sys.stdout
        return
    try:
        handle = out.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigError(f"--out: cannot write {out}: {exc.strerror}") from exc
    with handle:
        yield handle


class _Writer:
    """Streams days of calls in one format; the header goes out with the first call."""

    def __init__(self, sink: IO[str], fmt: str) -> None:
        self.sink, self.fmt = sink, fmt
        self.written = 0

    def day(self, found: DayCalls) -> None:
        if self.fmt == "raw":
            for row in found.rows.values():
                self.sink.write(json_line(row) + "\n")
            self.written += len(found.rows)
            return
        rows = [cdr_fields(c) for c in found.cdrs]
        if not rows:
            return
        if self.fmt == "csv":
            write_csv(self.sink, FIELDS, rows, header=self.written == 0)
        elif self.fmt == "jsonl":
            self.sink.writelines(json_line(r) + "\n" for r in rows)
        else:
            if self.written == 0:
                self.sink.write(table_line() + "\n")
            self.sink.writelines(table_line(r) + "\n" for r in rows)
        self.written += len(rows)
        self.sink.flush()


def _summary(current: Session, written: int, rejected: Counter[str], raw: bool) -> None:
    stats = current.reader.api.stats
    what = "rows" if raw else "calls"
    current.console.print(
        f"{written:,} {what} written; {stats.total:,} API requests ({stats.retries} retried)"
    )
    if rejected and not raw:
        reasons = ", ".join(f"{n} {reason}" for reason, n in rejected.most_common())
        current.console.print(
            f"[yellow]{sum(rejected.values())} rows could not be read ({reasons}): "
            "--raw writes every row as the API sent it[/]"
        )
