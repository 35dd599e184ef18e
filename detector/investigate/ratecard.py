"""A rate card: per-minute rates by destination prefix, pulse rules and per-attempt charges.

```yaml
currency: INR                 # the currency the card charges in (required)
pulse: 60/60                  # default pulse: first increment / next increments, in seconds
unanswered: 0.02              # default charge per unanswered outbound attempt
rates:                        # longest matching prefix of the dialled number wins
  - {prefix: "+91", name: India, per_minute: 0.45}
  - {prefix: "+44", name: United Kingdom, per_minute: 2.5, pulse: 1/1}
  - {prefix: "+", name: Rest of world, per_minute: 9.0}
  - {direction: inbound, prefix: "+", name: Inbound, per_minute: 0.15, unanswered: 0}
```

A rate's keys: `prefix` (the E.164 start of the *dialled* number, `to`; "+" matches all),
`per_minute`, and optionally `name` (the destination in reports, default the prefix),
`direction` (outbound by default, inbound, or any), `pulse`, `unanswered` and `setup` (a
fixed charge per answered call). Pulse `60/60` bills whole minutes, `1/1` per second, `30/6` a
first 30 s then 6-s steps. The charge of an answered call is `setup + per_minute × billed
seconds / 60`; an unanswered one costs `unanswered`. Money is exact (`Decimal`). Unknown keys
and bad values are errors naming the file, the entry and the key.

>>> card = parse_card({"currency": "INR", "rates": [{"prefix": "+91", "per_minute": 0.45},
...     {"prefix": "+44", "per_minute": 2.5, "pulse": "30/6"}]}, "x")
>>> card.charge("+919876543210", "outbound", 61.0, answered=True)[1]
Decimal('0.90')
>>> card.charge("+447700900123", "outbound", 31.0, answered=True)[1]
Decimal('1.5')
>>> card.charge("+919876543210", "outbound", 0.0, answered=False)[1]
Decimal('0')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from detector.errors import ConfigError

DIRECTIONS = ("outbound", "inbound", "any")
_CARD_KEYS = {"currency", "pulse", "unanswered", "rates", "tolerance"}
_RATE_KEYS = {"prefix", "name", "per_minute", "direction", "pulse", "unanswered", "setup"}
_MINUTE = Decimal(60)
_PREFIX = re.compile(r"\+\d*")


@dataclass(frozen=True, slots=True)
class Pulse:
    """Billing increments: the first `first` seconds, then steps of `step` seconds."""

    first: int
    step: int

    def billed_seconds(self, talk_s: float) -> int:
        """Seconds billed for `talk_s` of talk (0 for none).

        >>> Pulse(60, 60).billed_seconds(61), Pulse(1, 1).billed_seconds(61.2)
        (120, 62)
        >>> Pulse(30, 6).billed_seconds(31), Pulse(30, 6).billed_seconds(0)
        (36, 0)
        """
        if talk_s <= 0:
            return 0
        if talk_s <= self.first:
            return self.first
        return self.first + math.ceil((talk_s - self.first) / self.step) * self.step

    def __str__(self) -> str:
        return f"{self.first}/{self.step}"


@dataclass(frozen=True, slots=True)
class Rate:
    """One line of the card."""

    prefix: str
    name: str
    per_minute: Decimal
    direction: str
    pulse: Pulse
    unanswered: Decimal
    setup: Decimal


@dataclass(frozen=True, slots=True)
class RateCard:
    """The card: its currency, a default tolerance, and rates by direction, longest prefix first."""

    currency: str
    rates: tuple[Rate, ...]
    tolerance: Decimal | None = None

    def rate_for(self, number: str, direction: str) -> Rate | None:
        """The rate of the longest prefix of `number` for `direction`, or None."""
        for rate in self.rates:
            if rate.direction in (direction, "any") and number.startswith(rate.prefix):
                return rate
        return None

    def charge(
        self, number: str, direction: str, talk_s: float, *, answered: bool
    ) -> tuple[Rate | None, Decimal | None]:
        """The rate applied and the exact charge of one call (None, None without a rate)."""
        rate = self.rate_for(number, direction)
        if rate is None:
            return None, None
        if not answered:
            return rate, rate.unanswered
        billed = rate.pulse.billed_seconds(talk_s)
        return rate, rate.setup + rate.per_minute * billed / _MINUTE


def load_card(path: Path) -> RateCard:
    """Read and validate a rate card file (`yaml.safe_load`)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--rate-card: cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_card(data, str(path))


def parse_card(data: Any, source: str) -> RateCard:
    """Validate an already-parsed rate card; errors name `source`, the entry and the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a rate card is a mapping with currency and rates")
    _unknown(data, _CARD_KEYS, source)
    currency = data.get("currency")
    if not isinstance(currency, str) or not currency.strip():
        raise ConfigError(f"{source}: currency: required, e.g. INR")
    pulse = _pulse(data.get("pulse", "60/60"), f"{source}: pulse")
    unanswered = _money(data.get("unanswered", 0), f"{source}: unanswered")
    raw = data.get("rates")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: rates: expected a non-empty list of rates")
    rates = [_rate(item, f"{source}: rates[{i}]", pulse, unanswered) for i, item in enumerate(raw)]
    seen: dict[tuple[str, str], int] = {}
    for i, rate in enumerate(rates):
        first = seen.setdefault((rate.prefix, rate.direction), i)
        if first != i:
            raise ConfigError(
                f"{source}: rates[{i}]: prefix {rate.prefix!r} ({rate.direction}) is already "
                f"rated in rates[{first}]"
            )
    rates.sort(key=lambda r: (-len(r.prefix), r.direction == "any"))
    tolerance = data.get("tolerance")
    return RateCard(
        currency.strip().upper(),
        tuple(rates),
        None if tolerance is None else _money(tolerance, f"{source}: tolerance"),
    )


def _rate(item: Any, where: str, pulse: Pulse, unanswered: Decimal) -> Rate:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a mapping with prefix and per_minute")
    _unknown(item, _RATE_KEYS, where)
    prefix = item.get("prefix")
    if not isinstance(prefix, str) or _PREFIX.fullmatch(prefix) is None:
        raise ConfigError(f"{where}.prefix: expected an E.164 prefix such as '+91', got {prefix!r}")
    if "per_minute" not in item:
        raise ConfigError(f"{where}.per_minute: required")
    direction = item.get("direction", "outbound")
    if direction not in DIRECTIONS:
        raise ConfigError(f"{where}.direction: expected one of {', '.join(DIRECTIONS)}")
    return Rate(
        prefix=prefix,
        name=str(item.get("name") or prefix),
        per_minute=_money(item["per_minute"], f"{where}.per_minute"),
        direction=direction,
        pulse=_pulse(item["pulse"], f"{where}.pulse") if "pulse" in item else pulse,
        unanswered=_money(item.get("unanswered", unanswered), f"{where}.unanswered"),
        setup=_money(item.get("setup", 0), f"{where}.setup"),
    )


def _unknown(data: dict[Any, Any], allowed: set[str], where: str) -> None:
    extra = sorted(str(k) for k in data if k not in allowed)
    if extra:
        known = ", ".join(sorted(allowed))
        raise ConfigError(f"{where}: unknown key(s) {', '.join(extra)} (known: {known})")


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where}: expected an amount, got {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: expected an amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{where}: expected an amount of 0 or more, got {value!r}")
    return amount


def _pulse(value: Any, where: str) -> Pulse:
    parts = str(value).split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ConfigError(f"{where}: expected FIRST/NEXT seconds (60/60, 1/1), got {value!r}")
    return Pulse(int(parts[0]), int(parts[1]))
