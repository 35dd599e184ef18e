"""The rule schema: YAML in, frozen typed rule objects out (pydantic, unknown keys forbidden).

One model per rule kind, discriminated by `kind`. Durations are written `30s`, `5m`, `4h`,
`2d` (or plain seconds) and stored as float seconds. `match` (and the kind-specific `where`,
`first`, `then`) are predicate mappings checked and compiled by `detector.rules.predicate`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from detector.rules.domains import DOMAINS

_PART = r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)"
_DURATION = re.compile(rf"(?:{_PART})+|\d+(?:\.\d+)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: Any) -> float:
    """Seconds in a duration such as ``"90s"``, ``"5m"``, ``"1h30m"``, ``"2d"`` or a number.

    >>> parse_duration("5m"), parse_duration("1.5h"), parse_duration("1h30m"), parse_duration(30)
    (300.0, 5400.0, 5400.0, 30.0)
    """
    if isinstance(value, bool):
        raise ValueError(f"bad duration {value!r} (use e.g. 30s, 5m, 4h, 2d)")
    if isinstance(value, int | float) and value >= 0:
        return float(value)
    text = value.strip() if isinstance(value, str) else ""
    if not text or _DURATION.fullmatch(text) is None:
        raise ValueError(f"bad duration {value!r} (use e.g. 30s, 5m, 4h, 1h30m, 2d)")
    if text.replace(".", "", 1).isdigit():
        return float(text)
    return sum(float(n) * _UNITS[unit] for n, unit in re.findall(_PART, text))


Duration = Annotated[float, BeforeValidator(parse_duration)]
GroupField = Literal[
    "account", "direction", "trunk", "from", "to", "dest_country", "pair", "peer", "to_block"
]
SumField = Literal["cost", "talk_s", "ring_s"]
Predicate = Annotated[dict[str, Any], "predicate"]
"""A predicate mapping (`match`, `where` …): the loader checks every field typed so, in any kind."""
Clock = Literal["start", "end"]
"""Which time of a call fills a window: its start (event time), or its end (when a long call
becomes known; duration rules)."""


class Frozen(BaseModel):
    """Base of every schema object: immutable, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Thresholds(Frozen):
    """Warning and critical levels; a value at or above a level has that severity."""

    warning: float | None = None
    critical: float | None = None

    @model_validator(mode="after")
    def _one_level(self) -> Thresholds:
        if self.warning is None and self.critical is None:
            raise ValueError("set at least one of warning, critical")
        if self.warning is not None and self.critical is not None and self.critical < self.warning:
            raise ValueError("critical must be at or above warning")
        return self


class SumOf(Frozen):
    """Aggregate that sums a numeric field (e.g. spend: ``{sum: cost}``)."""

    sum: SumField


Aggregate = Literal["count"] | SumOf


class Allow(Frozen):
    """CDRs this rule never looks at: allow-listed accounts and number prefixes."""

    accounts: tuple[str, ...] = ()
    to_prefixes: tuple[str, ...] = ()
    from_prefixes: tuple[str, ...] = ()


class Override(Frozen):
    """Per-account changes to a rule: other thresholds, volume floor, or off."""

    thresholds: Thresholds | None = None
    min_volume: int | None = Field(default=None, ge=0)
    enabled: bool = True


class RuleBase(Frozen):
    """Fields every rule kind shares."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    description: str = ""
    match: Predicate = Field(default_factory=dict)
    group_by: tuple[GroupField, ...] = ("account",)
    window: Duration = 3600.0
    thresholds: Thresholds
    min_volume: int = Field(default=0, ge=0)
    max_volume: int | None = Field(default=None, ge=1)
    """Readings with more volume do not emit (None: no cap): hands busy keys to another rule,
    e.g. a stricter variant for quiet accounts that stops where the main rule takes over. Not
    per account, and a late CDR's peak window is chosen without it (it may then not emit)."""
    for_: Duration = Field(default=0.0, alias="for")
    keep_firing_for: Duration = 0.0
    cooldown: Duration = 1800.0
    repeat: Duration = 0.0
    inhibited_by: tuple[str, ...] = ()
    """Rules that tell what this one would, sooner (its shorter-window siblings, with the same
    labels and `group_by`): while one of them fires on a key, or has notified within this
    rule's window, this rule's alert on that key opens silently unless it is more severe than
    what was notified (Alertmanager's inhibition, kept for the window the evidence spans)."""
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str = "{account}: {rule} at {value:.4g} (threshold {threshold:.4g}) in {window}"
    runbook: str = Field(default="", max_length=1000)
    """The next step for whoever gets the alert, one or two sentences (what to check, what to
    do); every notification channel shows it under the facts."""
    mode: Literal["live", "shadow"] = "live"
    overrides: dict[str, Override] = Field(default_factory=dict)
    allow: Allow = Allow()
    enabled: bool = True

    @field_validator("window")
    @classmethod
    def _positive_window(cls, window: float) -> float:
        if window < 1:
            raise ValueError(f"window must be at least 1s (got {window:g}s)")
        return window

    @field_validator("max_volume")
    @classmethod
    def _cap_above_floor(cls, cap: int | None, info: ValidationInfo) -> int | None:
        floor = info.data.get("min_volume", 0)
        if cap is not None and cap < floor:
            raise ValueError(f"max_volume {cap} is below min_volume {floor}: raise it or remove it")
        return cap


class ThresholdRule(RuleBase):
    """Count or sum of matching CDRs per key over a sliding window."""

    kind: Literal["threshold"]
    aggregate: Aggregate = "count"


class RatioRule(RuleBase):
    """Share of the key's matching CDRs (`match`) that also satisfy `where`."""

    kind: Literal["ratio"]
    where: Predicate
    min_volume: int = Field(default=20, ge=1)


class ShiftRule(RatioRule):
    """Share of the key's matching CDRs satisfying `where`, in points above its usual share.

    `prior` is the usual share of similar accounts, worth `prior_weight` calls until the key
    has history; `max_weight` caps how many calls the learned share is worth (hour-to-hour
    variation beyond chance); `min_surprise` is the least ``-log10`` tail bound that emits.
    Thresholds are excesses in points of share (0.3 = 30 points above the usual share), or
    odds ratios with ``measure: odds``.
    """

    kind: Literal["shift"]  # type: ignore[assignment]
    min_volume: int = Field(default=10, ge=1)
    prior: float = Field(gt=0.0, lt=1.0)
    prior_weight: float = Field(default=20.0, ge=0.0)
    max_weight: float = Field(default=200.0, gt=0.0)
    min_surprise: float = Field(default=6.0, ge=0.0)
    measure: Literal["points", "odds"] = "points"
    warmup: Duration = 0.0
    """Nothing is judged until this long after the key's first call: when observation starts,
    only calls that have already ended are in, the short and unanswered ones first, so the
    first window's share leans toward them."""
    nowcast: bool = False
    """Judge the newest window as it will be once its calls have ended: calls are counted by
    their start but arrive at their end, so the quick kind (unanswered, failed) is in before
    the long one; the key learns how long each kind lasts (`windows.durations`)."""

    @model_validator(mode="after")
    def _levels_fit_the_measure(self) -> ShiftRule:
        for level in (self.thresholds.warning, self.thresholds.critical):
            if level is None:
                continue
            if self.measure == "points" and not 0.0 < level <= 1.0:
                raise ValueError(
                    f"a shift threshold in points is an excess of share, above 0 and at most 1"
                    f" (got {level:g}; 0.3 means 30 points above the account's usual share)"
                )
            if self.measure == "odds" and level <= 1.0:
                raise ValueError(
                    f"a shift threshold in odds is a ratio above 1 (got {level:g}; 3 means the"
                    " part grew three times as fast as the rest)"
                )
        return self


class MatchRule(RuleBase):
    """A single CDR that satisfies `match`; `value` (a numeric field) is compared to thresholds."""

    kind: Literal["match"]
    value: SumField | None = None
    thresholds: Thresholds = Thresholds(warning=1.0)


class SpikeRule(RuleBase):
    """Window aggregate over the key's own seasonal hour-of-week baseline (a factor), when
    surprising for its volume (`min_surprise`, negative binomial shape `dispersion`)."""

    kind: Literal["spike"]
    aggregate: Aggregate = "count"
    floor: float = Field(default=10.0, ge=0)
    min_baseline: float = Field(default=1.0, gt=0)
    warmup: Duration = 86400.0
    min_surprise: float = Field(default=6.0, ge=0.0)
    dispersion: float = Field(default=20.0, gt=0.0)
    clock: Clock = "start"
    per: Literal["hour", "call"] = "hour"
    """hour: against the seasonal baseline; call: against the window's calls times the key's
    usual amount per call (sum aggregates: the mean per call, e.g. ACD)."""

    @model_validator(mode="after")
    def _per_call_sums(self) -> SpikeRule:
        if self.per == "call" and self.aggregate == "count":
            raise ValueError("per: call compares an amount per call: use aggregate: {sum: FIELD}")
        return self


class OutlierRule(RuleBase):
    """Matching CDRs whose `field` lies beyond the key's own `quantile`, as a factor over the
    expected number, when surprising (`min_surprise`) and at least `floor` of them; before
    `min_history` values, beyond `prior_reach` times the key's median if set (which also holds
    a young key's limit to rising a doubling at a time unless that median's limit is higher)."""

    kind: Literal["outlier"]
    field: SumField = "talk_s"
    quantile: float = Field(default=0.99, gt=0.5, lt=1.0)
    min_history: int = Field(default=50, ge=1)
    prior_reach: float | None = Field(default=None, gt=1.0)
    warmup: Duration = 6 * 3600.0
    floor: float = Field(default=3.0, ge=1.0)
    min_surprise: float = Field(default=6.0, ge=0.0)
    max_weight: float = Field(default=500.0, gt=0.0)
    clock: Clock = "start"


class DistinctRule(RuleBase):
    """Number of distinct values of `field` among the key's matching CDRs in the window."""

    kind: Literal["distinct"]
    field: GroupField


class NewValueRule(RuleBase):
    """A value of `field` not seen for the key within `lookback` (after `warmup` of history)."""

    kind: Literal["new_value"]
    field: GroupField
    lookback: Duration = 30 * 86400.0
    warmup: Duration = 86400.0
    thresholds: Thresholds = Thresholds(warning=1.0)


class FlatlineRule(RuleBase):
    """No matching CDR for at least `window` while the seasonal baseline expected many (the
    value, at the key's recent pace), when surprising (`min_surprise`: negative binomial shape
    `dispersion` per local hour, `spell_dispersion` for the whole silence)."""

    kind: Literal["flatline"]
    warmup: Duration = 3 * 86400.0
    min_surprise: float = Field(default=6.0, ge=0.0)
    dispersion: float = Field(default=10.0, gt=0.0)
    spell_dispersion: float = Field(default=100.0, gt=0.0)


class SequenceRule(RuleBase):
    """`then` CDRs whose `join` value appeared in a `first` CDR within `within` before."""

    kind: Literal["sequence"]
    first: Predicate
    then: Predicate
    join: GroupField = "peer"
    within: Duration = 86400.0
    thresholds: Thresholds = Thresholds(warning=1.0)


class OpenRule(RuleBase):
    """A call still in progress (a trunk `CallInitiated` with no `Hangup` or CDR yet) open for
    at least a threshold (seconds); `match` sees it as an answered outbound call whose talk
    time is its age so far (`detector.opencalls`; needs `trunk_webhooks`)."""

    kind: Literal["open"]
    window: Duration = 600.0


AnyRule = (
    ThresholdRule
    | RatioRule
    | ShiftRule
    | MatchRule
    | SpikeRule
    | OutlierRule
    | DistinctRule
    | NewValueRule
    | FlatlineRule
    | SequenceRule
    | OpenRule
)
"""Any rule (the type)."""

RuleSpec = Annotated[AnyRule, Field(discriminator="kind")]
"""Any rule, chosen by its `kind` when validating."""


class Vocabulary(Frozen):
    """Values the feed sends beyond the known ones, accepted in rules (`detector.rules.domains`)."""

    hangup_cause: tuple[str, ...] = ()
    hangup_code: tuple[int, ...] = ()


class RuleSettings(Frozen):
    """Rule-set wide settings (``_ruleset.yaml``): where the accounts live."""

    home_country: str = "IN"
    vocabulary: Vocabulary = Vocabulary()
    timezone: str = "Asia/Kolkata"

    timezones: dict[str, str] = Field(default_factory=dict)
    """Account → its own timezone, for accounts not in `timezone` (local hours, baselines)."""

    @field_validator("home_country")
    @classmethod
    def _known_country(cls, code: str) -> str:
        problem = DOMAINS["dest_country"].check(code) if code else "must not be empty"
        if problem:
            raise ValueError(problem)
        return code

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return known_zone(name)

    @field_validator("timezones")
    @classmethod
    def _known_zones(cls, zones: dict[str, str]) -> dict[str, str]:
        for account, name in zones.items():
            try:
                known_zone(name)
            except ValueError as exc:
                raise ValueError(f"account {account!r}: {exc}") from None
        return zones


def known_zone(name: str) -> str:
    """`name` when it is an IANA timezone; ValueError saying what to write otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r} (use an IANA name such as Asia/Kolkata)"
        ) from None
    return name
