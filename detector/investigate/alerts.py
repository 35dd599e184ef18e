"""The alerts a call belongs to, from the daemon's state file or a backtest's alerts JSONL.

Both hold the same notification bodies (`Alert.to_json`): firing and resolved notifications of
a fingerprint, each with `starts_at`, `at`, the rule's window (`evidence.window_s`) and a few
evidence call ids. One *episode* is a fingerprint from its first firing to its resolution.
A call is related to an episode when its id is in the evidence (`evidence`), or when the
call started inside the episode's reach (`in window`): from one rule window before the alert
fired (the calls the rule judged) until the alert resolved (still open: no end).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from detector.domain import CDR
from detector.errors import ConfigError
from detector.state.store import StateStore

_SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class Episode:
    """One alert from firing to resolution, as a call's context needs it."""

    rule: str
    account: str
    severity: str
    summary: str
    starts_at: datetime
    ends_at: datetime | None
    window: timedelta
    call_ids: frozenset[str]
    shadow: bool

    def relation(self, cdr: CDR) -> str | None:
        """ "evidence", "in window" or None (see the module doc)."""
        if cdr.call_id in self.call_ids:
            return "evidence"
        after = cdr.start >= self.starts_at - self.window
        before = self.ends_at is None or cdr.start <= self.ends_at
        return "in window" if after and before else None

    def to_json(self) -> dict[str, object]:
        """The episode for `call --json`."""
        return {
            "rule": self.rule, "account": self.account, "severity": self.severity,
            "summary": self.summary, "starts_at": self.starts_at, "ends_at": self.ends_at,
            "window_s": self.window.total_seconds(), "shadow": self.shadow,
        }  # fmt: skip


def episodes(bodies: list[dict[str, Any]]) -> list[Episode]:
    """Notification bodies grouped into episodes (by fingerprint and first firing)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for body in bodies:
        key = (str(body.get("fingerprint", "")), str(body.get("starts_at", "")))
        groups.setdefault(key, []).append(body)
    return [_episode(group) for group in groups.values() if _time(group[0].get("starts_at"))]


def _episode(group: list[dict[str, Any]]) -> Episode:
    first = group[0]
    resolved = [b for b in group if b.get("status") == "resolved"]
    evidence = [b.get("evidence") or {} for b in group]
    ids = {str(i) for e in evidence if isinstance(e, dict) for i in e.get("call_ids") or ()}
    window = max((_float(e.get("window_s")) for e in evidence if isinstance(e, dict)), default=0.0)
    severity = max((str(b.get("severity", "")) for b in group), key=_rank)
    return Episode(
        rule=str(first.get("rule", "")),
        account=str(first.get("account", "")),
        severity=severity,
        summary=str(group[-1].get("summary", "")),
        starts_at=_time(first.get("starts_at")) or datetime.min,
        ends_at=_time(resolved[-1].get("at")) if resolved else None,
        window=timedelta(seconds=window),
        call_ids=frozenset(ids),
        shadow=bool(first.get("shadow", False)),
    )


def related(found: list[Episode], cdr: CDR) -> list[tuple[Episode, str]]:
    """The episodes of `cdr`'s account that it belongs to, with how."""
    out = []
    for episode in found:
        how = episode.relation(cdr) if episode.account == cdr.account else None
        if how is not None:
            out.append((episode, how))
    return sorted(out, key=lambda pair: (pair[1] != "evidence", pair[0].starts_at))


def from_state(path: Path, account: str | None, call_id: str | None = None) -> list[Episode]:
    """Episodes of `account` (or mentioning `call_id`) recorded in a daemon's state file."""
    if not path.exists():
        raise ConfigError(f"--state: no state file at {path}")
    store = StateStore(path)
    try:
        return episodes(store.alerts(account=account, mentioning=call_id))
    finally:
        store.close()


def from_file(path: Path) -> list[Episode]:
    """Episodes in an alerts JSONL file (`cdr-detector backtest --out`)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"--alerts: cannot read {path}: {exc.strerror}") from exc
    bodies = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
        except ValueError:
            raise ConfigError(f"--alerts: {path} line {number} is not JSON") from None
        if isinstance(body, dict):
            bodies.append(body)
    return episodes(bodies)


def account_of(found: list[Episode], call_id: str) -> str | None:
    """The account of an episode whose evidence names `call_id`, if any."""
    return next((e.account for e in found if call_id in e.call_ids), None)


def _rank(severity: str) -> int:
    return _SEVERITY_ORDER.get(severity, -1)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
