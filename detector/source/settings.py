"""How the poller reads the feed (`PollerConfig`): the one set of defaults for polling.

The settings file's `poll:` section (`detector.config.PollSettings`) takes its defaults from
here, so the two cannot drift; the poller's module docstring says what each bound guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from detector.errors import ConfigError
from detector.source.tiers import Tier, build_tiers


@dataclass(frozen=True)
class PollerConfig:
    """How the poller reads the feed; see the module docstring for what each bound guarantees."""

    per_page: int = 100
    max_ring_s: float = 130.0
    max_lag_s: float = 60.0
    horizon_s: float = 86400.0
    """The longest call (talk seconds) the platform allows: Vobiz ends longer calls itself
    (hangup cause 6000, "max duration reached"). Calls longer still are read whole by their
    own tier, late, and counted (`PollResult.beyond`), never dropped."""
    date_tz: str = "UTC"
    max_pages_per_cycle: int = 50
    start_back_s: float = 0.0
    account: str | None = None
    tier_bounds_s: tuple[int, ...] = (1, 90, 300, 900, 2700, 10800)
    tier_every_s: tuple[float, ...] = (300.0, 300.0, 300.0, 900.0, 1800.0, 3600.0, 3600.0)
    latency_budget: float = 25.0
    """Latency first (issue 16): the head tiers (unanswered, one-ring and short calls) are
    read at every poll while their reads are expected to cost at most this many requests per
    poll (their new rows' pages plus what they re-read); beyond, a tier's overhead-targeted
    cadence applies (efficiency mode). 0 turns latency-first off. The daemon sets it to half of
    the requests its API rate limit allows per poll interval."""
    head_s: int = 90
    """The head: the tiers whose calls all last under this many seconds of talk (at least
    the first tier), see `detector.source.head`."""
    workers: int = 4
    interval_s: float = 10.0
    target_overhead: float = 0.25
    max_clock_skew_s: float = 600.0
    """A row ending later than the poller's clock plus this is rejected (`future_time`)."""

    def __post_init__(self) -> None:
        if self.per_page < 1 or self.horizon_s < 1:
            raise ConfigError("poll: need per_page >= 1 and lateness_horizon_s >= 1")
        bounds = self.tier_bounds_s
        if list(bounds) != sorted(set(bounds)) or (bounds and bounds[0] < 1):
            raise ConfigError("poll.tier_bounds_s must be increasing positive seconds")
        if len(self.tier_every_s) != len(bounds) + 1 or min(self.tier_every_s) < 0:
            raise ConfigError("poll.tier_every_s needs one cadence (>= 0 s) per tier")
        if self.workers < 1 or self.max_pages_per_cycle < 1 or self.interval_s <= 0:
            raise ConfigError("poll: need workers >= 1, max_pages_per_cycle >= 1, interval_s > 0")
        if min(self.target_overhead, self.max_clock_skew_s, self.latency_budget) < 0:
            raise ConfigError(
                "poll: target_overhead, max_clock_skew_s and latency_budget must be >= 0"
            )
        try:
            ZoneInfo(self.date_tz)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"poll.date_tz: unknown time zone {self.date_tz!r}") from exc

    def tiers(self) -> list[Tier]:
        """The disjoint sub-lists the poller reads."""
        return build_tiers(
            self.tier_bounds_s, self.tier_every_s, self.max_ring_s, self.max_lag_s, self.horizon_s
        )
