"""Read `_models.yaml` (next to the rules) into a frozen `ModelConfig`, or fail naming the field.

The file is optional: without it the model runs with the defaults below, live. Every key is
optional and unknown keys are errors. It is read when the detector starts (a restart applies
a change; rule reloads do not touch the model). The daemon's settings (`model.enabled`,
`model.mode`) override the file's `enabled` and `mode`, so one deployment can keep the model
in shadow without editing the rules directory.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from detector.errors import ConfigError
from detector.models.config import DriftConfig, ModelConfig, Thresholds
from detector.models.segments import Banding, band_names
from detector.rules.spec import Duration, Frozen, RuleSettings

MODELS_FILE = "_models.yaml"
MAX_HORIZON_S = 12 * 3600.0
"""Open buckets are kept per account for `horizon`: 12 h of 15-minute buckets is 48 of them."""

FeatureKey = Literal[
    "calls", "no_answer", "failed", "short", "long", "international", "premium_invalid",
    "new_caller",
]  # fmt: skip
FEATURE_KEYS: tuple[FeatureKey, ...] = get_args(FeatureKey)


class ThresholdsSpec(Frozen):
    """Surprise levels (-log10 of a bucket's tail probability)."""

    warning: float = Field(6.5, gt=0)
    critical: float = Field(10.0, gt=0)
    immediate: float = Field(9.0, gt=0)
    immediate_excess: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdsSpec:
        if self.critical < self.warning or self.immediate < self.warning:
            raise ValueError("critical and immediate must be at least warning")
        return self

    def frozen(self) -> Thresholds:
        """As the model's value type."""
        return Thresholds(self.warning, self.critical, self.immediate, self.immediate_excess)


class DriftSpec(Frozen):
    """The daily CUSUM's reference, threshold and floors."""

    reference: float = Field(1.0, gt=0)
    threshold: float = Field(5.0, gt=0)
    min_wobble: float = Field(0.1, ge=0)
    cap: float = Field(4.0, gt=0)
    min_expected: float = Field(1.0, ge=0)


class SegmentsSpec(Frozen):
    """Size bands (calls per day), tiers (account → name) and per-segment thresholds."""

    bands: list[float] = Field(default_factory=lambda: [100.0, 1000.0])
    tiers: dict[str, str] = Field(default_factory=dict)
    thresholds: dict[str, ThresholdsSpec] = Field(default_factory=dict)

    @field_validator("bands")
    @classmethod
    def _increasing(cls, bands: list[float]) -> list[float]:
        if any(b <= 0 for b in bands) or any(a >= b for a, b in itertools.pairwise(bands)):
            raise ValueError("bands are calls per day, positive and increasing, e.g. [100, 1000]")
        return bands


class ModelsFile(Frozen):
    """`_models.yaml`: see `rules/_models.yaml` for every key with its meaning."""

    enabled: bool = True
    mode: Literal["live", "shadow"] = "shadow"
    bucket: Duration = 900.0
    horizon: Duration = 10800.0
    warmup: Duration = 2 * 86400.0
    window: Duration = 7200.0
    features: list[FeatureKey] = Field(default_factory=lambda: list(FEATURE_KEYS), min_length=1)
    thresholds: ThresholdsSpec = Field(default_factory=ThresholdsSpec)
    persist_buckets: int = Field(2, ge=1)
    learn_below: float = Field(2.0, gt=0)
    drift: DriftSpec = Field(default_factory=DriftSpec)
    segments: SegmentsSpec = Field(default_factory=SegmentsSpec)
    disabled: list[str] = Field(default_factory=list)

    @field_validator("bucket")
    @classmethod
    def _divides_an_hour(cls, seconds: float) -> float:
        if seconds < 60 or 3600 % seconds:
            raise ValueError("a bucket divides an hour evenly: 1m, 5m, 10m, 15m, 20m, 30m or 1h")
        return seconds

    @model_validator(mode="after")
    def _window(self) -> ModelsFile:
        if self.window < self.bucket:
            raise ValueError("window must be at least one bucket")
        if self.horizon > MAX_HORIZON_S:
            raise ValueError(
                "horizon is at most 12h: every open bucket is kept per account until then; a "
                "longer call's record joins the oldest bucket still open"
            )
        return self


def read_models_file(directory: Path) -> ModelsFile:
    """`DIR/_models.yaml` validated (defaults when the file does not exist)."""
    path = directory / MODELS_FILE
    if not path.exists():
        return ModelsFile()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_models(raw, str(path))


def parse_models(raw: Any, source: str) -> ModelsFile:
    """Validate an already-parsed `_models.yaml` mapping; errors name `source` and the field."""
    if raw is None:
        return ModelsFile()
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the model settings file holds one YAML mapping")
    try:
        return ModelsFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ConfigError(f"{source}: field {where}: {first['msg']}") from exc


def model_config(spec: ModelsFile, local: RuleSettings, *, mode: str | None = None) -> ModelConfig:
    """The frozen config from the file, the rule set's local settings (timezones, home
    country) and a mode override."""
    bounds = tuple(float(b) for b in spec.segments.bands)
    return ModelConfig(
        bucket=timedelta(seconds=spec.bucket),
        horizon=timedelta(seconds=spec.horizon),
        warmup=timedelta(seconds=spec.warmup),
        window=timedelta(seconds=spec.window),
        features=frozenset(spec.features),
        thresholds=spec.thresholds.frozen(),
        segment_thresholds={k: v.frozen() for k, v in spec.segments.thresholds.items()},
        persist_buckets=spec.persist_buckets,
        learn_below=spec.learn_below,
        drift=DriftConfig(**spec.drift.model_dump()),
        banding=Banding(bounds, band_names(bounds), dict(spec.segments.tiers)),
        timezone=local.timezone,
        timezones=local.timezones,
        home_country=local.home_country,
        disabled=frozenset(spec.disabled),
        shadow=(mode or spec.mode) == "shadow",
    )
