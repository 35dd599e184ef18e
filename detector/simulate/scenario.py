"""Scenario files: which incidents to inject where and when, plus optional API chaos.

```yaml
incidents:
  - {type: robocall, account: 3, start: 30m, duration: 40m, intensity: 1.0}
  - {type: irsf, account: MA_1a2b3c4d, start: "2026-03-02T18:00:00Z", duration: 1h,
     longest: 12h}
chaos: {error_rates: {"500": 0.05}, latency_ms: 50, sort: newest,
        outages: [{start: 30m, duration: 5h}]}
```
An irsf incident includes one call past any duration cap: 4.5 h, or `longest` (up to the
platform's maximum, to try reading long calls live; ordinary calls last minutes to 3 h). An
outage answers every API request with 503 while sim time is within it (an API down for hours,
as an operator's worst week has it); everything else is per request or row.
`account` is an id or an index into the accounts listed busiest first (taken modulo the number
of accounts, so one scenario fits any `--accounts`); `start` is an offset from the simulation
start (`90s`, `30m`, `1h30m`) or an ISO 8601 time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from detector.errors import ConfigError

INCIDENT_TYPES = (
    "robocall",
    "irsf",
    "no_answer_surge",
    "wangiri",
    "traffic_pumping",
    "sequential_dialing",
    "route_failure",
    "flatline",
    "cli_spoofing",
)
SORTS = ("newest", "oldest", "random")
_SPAN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@dataclass(frozen=True)
class IncidentSpec:
    """One incident to inject: type, account (id or index), start (offset or time), duration."""

    type: str
    account: str | int
    start: timedelta | datetime
    duration: timedelta
    intensity: float = 1.0
    longest: float | None = None
    """irsf: how long its longest call lasts, in seconds (default 4.5 h)."""


@dataclass(frozen=True)
class RateLimitBursts:
    """Every `every_s` wall seconds the API answers 429 for `length_s` seconds."""

    every_s: float
    length_s: float
    retry_after_s: float = 1.0


@dataclass(frozen=True)
class Outage:
    """The API answers 503 to everything from `start` (offset from the run's start) for
    `duration` of sim time."""

    start: timedelta
    duration: timedelta


@dataclass(frozen=True)
class HookFaults:
    """Trunk webhook faults (`--webhook-url`): shares of events dropped, sent twice (the same
    request id) and signed wrongly, and how long one may be held back (reordering)."""

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    bad_signature_rate: float = 0.0
    delay_s: float = 0.0


@dataclass(frozen=True)
class Chaos:
    """Faults the simulated API injects; every rate is a probability per request or row."""

    error_rates: dict[int, float] = field(default_factory=dict)
    rate_limit_bursts: RateLimitBursts | None = None
    latency_ms: float = 0.0
    malformed_rate: float = 0.0
    truncated_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder: bool = False
    late_fraction: float = 0.0
    clock_skew_s: float = 0.0
    sort: str = "newest"
    cost_mismatch_rate: float = 0.0
    """Share of calls billed wrong on purpose, labelled (see `detector.simulate.mispricing`)."""
    outages: tuple[Outage, ...] = ()
    webhooks: HookFaults = HookFaults()


@dataclass(frozen=True)
class Scenario:
    """Incidents to inject and the chaos to apply."""

    incidents: tuple[IncidentSpec, ...] = ()
    chaos: Chaos = field(default_factory=Chaos)


def parse_span(text: str) -> timedelta:
    """A duration like `90s`, `30m`, `1h30m`, `2d`.

    >>> parse_span("1h30m")
    datetime.timedelta(seconds=5400)
    """
    match = _SPAN.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"not a duration like 30m or 1h30m: {text!r}")
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario YAML file; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read scenario: {exc}") from exc
    return parse_scenario(data, str(path))


def builtin_scenario() -> Scenario:
    """The packaged scenario: every incident type, early ones for demos, later ones spread out."""
    text = resources.files("detector.simulate").joinpath("scenarios/default.yaml").read_text()
    return parse_scenario(yaml.safe_load(text), "builtin:default.yaml")


def parse_scenario(data: Any, source: str) -> Scenario:
    """Validate an already-parsed scenario mapping; `source` names it in errors."""
    if data is None:
        return Scenario()
    _require_map(data, source, "", {"incidents", "chaos"})
    raw = data.get("incidents") or []
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: incidents: expected a list")
    incidents = tuple(_incident(item, f"{source}: incidents[{i}]") for i, item in enumerate(raw))
    chaos = _chaos(data.get("chaos") or {}, f"{source}: chaos")
    return Scenario(incidents, chaos)


def _require_map(data: Any, where: str, name: str, allowed: set[str]) -> None:
    """Fail unless `data` is a mapping whose keys are all in `allowed`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}{name}: expected a mapping")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ConfigError(f"{where}{name}: unknown field(s) {', '.join(unknown)}")


def _incident(item: Any, where: str) -> IncidentSpec:
    """One validated incident entry."""
    _require_map(item, where, "", {"type", "account", "start", "duration", "intensity", "longest"})
    missing = [k for k in ("type", "account", "start", "duration") if k not in item]
    if missing:
        raise ConfigError(f"{where}.{missing[0]}: required")
    kind = item["type"]
    if kind not in INCIDENT_TYPES:
        raise ConfigError(f"{where}.type: unknown {kind!r} (known: {', '.join(INCIDENT_TYPES)})")
    account = item["account"]
    if isinstance(account, bool) or not isinstance(account, str | int):
        raise ConfigError(f"{where}.account: expected an account id or index")
    intensity = _number(item.get("intensity", 1.0), f"{where}.intensity")
    if intensity <= 0:
        raise ConfigError(f"{where}.intensity: must be positive")
    start = _start(item["start"], f"{where}.start")
    longest = None
    if "longest" in item:
        if kind != "irsf":
            raise ConfigError(f"{where}.longest: only irsf incidents have a longest call")
        longest = _span(item["longest"], f"{where}.longest").total_seconds()
    span = _span(item["duration"], f"{where}.duration")
    return IncidentSpec(kind, account, start, span, intensity, longest)


def _number(value: Any, where: str) -> float:
    """A float, or a ConfigError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _rate(value: Any, where: str) -> float:
    """A probability in [0, 1]."""
    rate = _number(value, where)
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{where}: expected a probability between 0 and 1, got {rate}")
    return rate


def _span(value: Any, where: str) -> timedelta:
    """A positive duration from text like `30m` or a number of seconds."""
    try:
        span = (
            timedelta(seconds=float(value))
            if isinstance(value, int | float)
            else parse_span(str(value))
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if span <= timedelta(0):
        raise ConfigError(f"{where}: must be positive")
    return span


def _start(value: Any, where: str) -> timedelta | datetime:
    """An offset from the simulation start, or an absolute aware time (naive means UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if "T" in text or "-" in text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: not an ISO 8601 time: {text!r}") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return parse_span(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _chaos(data: Any, where: str) -> Chaos:
    """The validated chaos section."""
    _require_map(data, where, "", {f.name for f in fields(Chaos)})
    errors: dict[int, float] = {}
    for code, rate in (data.get("error_rates") or {}).items():
        if not str(code).isdigit() or not 400 <= int(code) <= 599:
            raise ConfigError(f"{where}.error_rates: {code!r} is not an HTTP error status")
        errors[int(code)] = _rate(rate, f"{where}.error_rates.{code}")
    sort = data.get("sort", "newest")
    if sort not in SORTS:
        raise ConfigError(f"{where}.sort: expected one of {', '.join(SORTS)}, got {sort!r}")
    names = ("malformed_rate", "truncated_rate", "duplicate_rate", "late_fraction",
             "cost_mismatch_rate")  # fmt: skip
    rates = {k: _rate(data.get(k, 0.0), f"{where}.{k}") for k in names}
    return Chaos(
        outages=_outages(data.get("outages") or [], f"{where}.outages"),
        webhooks=_hook_faults(data.get("webhooks") or {}, f"{where}.webhooks"),
        error_rates=errors,
        rate_limit_bursts=_bursts(data.get("rate_limit_bursts"), f"{where}.rate_limit_bursts"),
        latency_ms=_number(data.get("latency_ms", 0.0), f"{where}.latency_ms"),
        reorder=bool(data.get("reorder", False)),
        clock_skew_s=_number(data.get("clock_skew_s", 0.0), f"{where}.clock_skew_s"),
        sort=sort,
        **rates,
    )


def _hook_faults(data: Any, where: str) -> HookFaults:
    """The validated webhook faults."""
    names = {"drop_rate", "duplicate_rate", "bad_signature_rate", "delay_s"}
    _require_map(data, where, "", names)
    rates = {k: _rate(data.get(k, 0.0), f"{where}.{k}") for k in names - {"delay_s"}}
    return HookFaults(delay_s=_number(data.get("delay_s", 0.0), f"{where}.delay_s"), **rates)


def _outages(data: Any, where: str) -> tuple[Outage, ...]:
    """The validated outage list: each `{start: 30m, duration: 5h}`."""
    if not isinstance(data, list):
        raise ConfigError(f"{where}: expected a list of {{start, duration}}")
    out = []
    for i, item in enumerate(data):
        _require_map(item, f"{where}[{i}]", "", {"start", "duration"})
        start = _start(item.get("start", "0s"), f"{where}[{i}].start")
        if not isinstance(start, timedelta):
            raise ConfigError(f"{where}[{i}].start: give an offset such as 30m")
        out.append(Outage(start, _span(item.get("duration"), f"{where}[{i}].duration")))
    return tuple(out)


def _bursts(data: Any, where: str) -> RateLimitBursts | None:
    """The rate-limit burst schedule, if any."""
    if data is None:
        return None
    _require_map(data, where, "", {"every_s", "length_s", "retry_after_s"})
    if "every_s" not in data or "length_s" not in data:
        raise ConfigError(f"{where}: every_s and length_s are required")
    return RateLimitBursts(
        _number(data["every_s"], f"{where}.every_s"),
        _number(data["length_s"], f"{where}.length_s"),
        _number(data.get("retry_after_s", 1.0), f"{where}.retry_after_s"),
    )
