"""Silences: label matchers with a start, an end and a comment (pure).

An alert's labels for matching (`alert_labels`) are its rule's labels plus `rule` (also as
`alertname`, Alertmanager's name), `account` and `severity`. A matcher is Alertmanager's
syntax: `name=value`, `name!=value`, `name=~regex`, `name!~regex` (regexes are anchored at both
ends, values may be double-quoted). A silence needs at least one matcher that does not match
an empty label, so no silence can mute everything by accident.

While a silence is active (`starts_at <= now < ends_at`) the notification pipeline sends
nothing about the alerts it matches: they are recorded and counted as silenced. A resolution
of an alert whose firing was notified before the silence waits for the silence to end, so the
receiver is never left believing an alert still fires.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from detector.rules.spec import parse_duration

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label condition.

    >>> Matcher.parse('severity=~"warn.*"').matches({"severity": "warning"})
    True
    >>> Matcher.parse("account!=MA_1").matches({"account": "MA_1"})
    False
    """

    name: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """A matcher from `name<op>value`; ValueError saying what is wrong."""
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(
                f"matcher {text!r} is not name=value, name!=value, name=~regex or name!~regex"
            )
        name, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        pattern = None
        if op in {"=~", "!~"}:
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ValueError(f"matcher {text!r}: bad regular expression ({exc})") from None
        return cls(name, op, value, pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfy this condition (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        pattern = self.pattern if self.pattern is not None else re.compile(self.value)
        found = pattern.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes the alerts its matchers all match, from `starts_at` until `ends_at` (Unix s)."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    comment: str = ""
    created_by: str = ""

    @classmethod
    def new(
        cls,
        matchers: Iterable[str],
        starts_at: float,
        ends_at: float,
        comment: str = "",
        created_by: str = "",
    ) -> Silence:
        """A silence with a fresh id; ValueError for bad matchers or times."""
        parsed = tuple(Matcher.parse(m) for m in matchers)
        if not parsed:
            raise ValueError("a silence needs at least one matcher (e.g. account=MA_1)")
        if all(m.matches({}) for m in parsed):
            raise ValueError(
                "these matchers also match alerts without those labels: add one that names a "
                "value (e.g. account=MA_1), so the silence cannot mute everything"
            )
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        return cls(uuid.uuid4().hex[:12], parsed, starts_at, ends_at, comment, created_by)

    def active(self, now: float) -> bool:
        """Whether it mutes at `now`."""
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher holds for `labels`."""
        return all(m.matches(labels) for m in self.matchers)

    def to_json(self) -> dict[str, Any]:
        """The stored and API form."""
        return {
            "id": self.id, "matchers": [str(m) for m in self.matchers],
            "starts_at": self.starts_at, "ends_at": self.ends_at,
            "comment": self.comment, "created_by": self.created_by,
        }  # fmt: skip

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Silence:
        """Inverse of `to_json`."""
        return cls(
            str(body["id"]), tuple(Matcher.parse(m) for m in body["matchers"]),
            float(body["starts_at"]), float(body["ends_at"]),
            str(body.get("comment", "")), str(body.get("created_by", "")),
        )  # fmt: skip


def from_request(body: Mapping[str, Any], now: float) -> Silence:
    """A new silence from an API or CLI request; ValueError naming what is wrong.

    `matchers` (list of strings), and `duration` (`2h`, `30m`, seconds) or `ends_at` (Unix
    seconds or ISO 8601); optional `starts_at` (default now), `comment`, `created_by`.

    >>> s = from_request({"matchers": ["account=MA_1"], "duration": "2h", "comment": "test"}, 0)
    >>> (s.ends_at, s.comment, [str(m) for m in s.matchers])
    (7200.0, 'test', ['account="MA_1"'])
    """
    matchers = body.get("matchers")
    if not isinstance(matchers, list) or not all(isinstance(m, str) for m in matchers):
        raise ValueError('"matchers" must be a list of strings such as "account=MA_1"')
    starts = _when(body.get("starts_at"), now, "starts_at")
    if body.get("ends_at") is not None:
        ends = _when(body["ends_at"], now, "ends_at")
    elif body.get("duration") is not None:
        ends = starts + parse_duration(body["duration"])
    else:
        raise ValueError('give "duration" (e.g. "2h") or "ends_at"')
    return Silence.new(
        matchers, starts, ends, str(body.get("comment", ""))[:1000],
        str(body.get("created_by", ""))[:200],
    )  # fmt: skip


def _when(value: Any, default: float, name: str) -> float:
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not Unix seconds or ISO 8601") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def alert_labels(alert: Mapping[str, Any]) -> dict[str, str]:
    """The labels silences and routes match against.

    >>> alert_labels({"rule": "robocall", "account": "MA_1", "severity": "warning",
    ...               "labels": {"team": "fraud"}})["alertname"]
    'robocall'
    """
    labels = {str(k): str(v) for k, v in dict(alert.get("labels") or {}).items()}
    rule = str(alert.get("rule", ""))
    labels.update(
        rule=rule, alertname=rule, account=str(alert.get("account", "")),
        severity=str(alert.get("severity", "")),
    )  # fmt: skip
    return labels


def muted_by(labels: Mapping[str, str], silences: Iterable[Silence], now: float) -> str | None:
    """The id of the first active silence matching `labels`, or None."""
    for silence in silences:
        if silence.active(now) and silence.matches(labels):
            return silence.id
    return None
