"""The rule author's commands at the edge: read a CDR or traffic, explain, try, print.

`rules explain RULE --cdr FILE|JSON` takes one wire row (either response shape) given inline
as a JSON object, or a JSONL/CSV file holding one row (or several and ``--call-id``). The row
goes through the live `normalize`, so the explanation sees the call exactly as the daemon
would.
"""

from __future__ import annotations

import json
from pathlib import Path

from detector.domain import CDR, Rejected
from detector.errors import ConfigError
from detector.rules.explain import explain, render
from detector.rules.loader import load_rules
from detector.source.files import read_cdrs
from detector.source.normalize import normalize


def explain_command(rules_dir: Path, rule_id: str, source: str, call_id: str | None) -> str:
    """The text of `rules explain`."""
    ruleset = load_rules(rules_dir)
    cdr = read_one_cdr(source, call_id)
    try:
        return render(explain(ruleset, rule_id, cdr))
    except KeyError as exc:
        raise ConfigError(f"{rules_dir}: {exc.args[0]}") from exc


def read_one_cdr(source: str, call_id: str | None = None) -> CDR:
    """The CDR of an inline JSON wire row, or of a file's only row (or the row `call_id`)."""
    text = source.strip()
    if text.startswith("{"):
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"--cdr: not a JSON object ({exc.msg} at column {exc.colno})"
            ) from exc
        return _usable(normalize(row), "--cdr")
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"--cdr: {source!r} is neither a JSON object nor a file")
    items = list(read_cdrs(path))
    if call_id is not None:
        items = [i for i in items if i.call_id == call_id]
        if not items:
            raise ConfigError(f"--cdr: no call {call_id!r} in {path}")
    elif len(items) != 1:
        raise ConfigError(f"--cdr: {path} holds {len(items)} rows; pick one with --call-id")
    return _usable(items[0], str(path))


def _usable(item: CDR | Rejected, where: str) -> CDR:
    if isinstance(item, Rejected):
        raise ConfigError(f"{where}: the row is not a usable CDR ({item.reason}: {item.detail})")
    return item
