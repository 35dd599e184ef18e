"""Simulated customer accounts: a business profile, a volume level and a home timezone each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detector.simulate.dialplan import random_mobiles


@dataclass(frozen=True)
class Profile:
    """How one kind of business calls: direction mix, volume multiplier and talk-time law."""

    name: str
    outbound_share: float
    volume_factor: float
    talk_median_s: float
    talk_sigma: float


PROFILES: tuple[Profile, ...] = (
    Profile("call_centre", 0.9, 1.6, 75.0, 0.9),
    Profile("retail", 0.45, 0.8, 240.0, 1.0),
    Profile("small_office", 0.6, 0.4, 110.0, 1.1),
    Profile("voice_bot", 0.95, 1.6, 45.0, 0.7),
)
PROFILE_WEIGHTS = (0.3, 0.25, 0.3, 0.15)
TIMEZONES = ("Asia/Kolkata", "Asia/Dubai", "Asia/Singapore")
TIMEZONE_WEIGHTS = (0.9, 0.06, 0.04)
MEDIAN_DAILY_CALLS = 160.0


class Customer(Protocol):
    """What the fake API needs of an account: ids, name, zone and its `GET /accounts` entry."""

    @property
    def auth_id(self) -> str:
        """The account's `MA_…` id."""

    @property
    def name(self) -> str:
        """Display name."""

    @property
    def timezone(self) -> str:
        """IANA timezone."""

    def to_api(self) -> dict[str, object]:
        """The account as `GET /accounts` lists it."""


@dataclass(frozen=True)
class Account:
    """One simulated customer account (`MA_…`) and the parameters its traffic is drawn from.

    Accounts are listed busiest first, so a scenario's account index 0 is the busiest one.
    """

    auth_id: str
    name: str
    timezone: str
    profile: Profile
    daily_calls: float
    asr: float
    dids: tuple[str, ...]
    frequent: tuple[str, ...]
    trunks: tuple[str, ...]
    internal_id: int

    def to_api(self) -> dict[str, object]:
        """The account as `GET /accounts` lists it."""
        return {
            "auth_id": self.auth_id,
            "id": self.internal_id,
            "name": self.name,
            "timezone": self.timezone,
            "status": "active",
            "cps_limit": 10,
            "concurrent_calls_limit": 50,
            "pricing_tier": {"currency": "INR", "rate_per_minute": 0.45, "pulse_seconds": 60},
        }


def make_accounts(rng: np.random.Generator, count: int) -> list[Account]:
    """Draw `count` accounts (lognormal volumes, per-account ASR 45–65 %), busiest first."""
    drafts = [_draft(rng, i) for i in range(count)]
    drafts.sort(key=lambda a: -a.daily_calls)
    return drafts


def _draft(rng: np.random.Generator, serial: int) -> Account:
    """One account with its own numbers, trunks and traffic parameters."""
    profile = PROFILES[int(rng.choice(len(PROFILES), p=PROFILE_WEIGHTS))]
    level = float(rng.lognormal(np.log(MEDIAN_DAILY_CALLS), 0.6))
    daily = float(np.clip(level * profile.volume_factor, 15.0, 2500.0))
    hex_id = "".join(f"{int(b):02x}" for b in rng.integers(0, 256, size=4))
    n_trunks = int(rng.integers(1, 4))
    return Account(
        auth_id=f"MA_{hex_id}",
        name=f"{profile.name.replace('_', ' ').title()} {serial + 1}",
        timezone=TIMEZONES[int(rng.choice(len(TIMEZONES), p=TIMEZONE_WEIGHTS))],
        profile=profile,
        daily_calls=daily,
        asr=float(rng.uniform(0.45, 0.65)),
        dids=tuple(random_mobiles(rng, int(rng.integers(1, 8)))),
        frequent=tuple(random_mobiles(rng, int(rng.integers(10, 40)))),
        trunks=tuple(f"trunk_{hex_id}_{t}" for t in range(n_trunks)),
        internal_id=10_000 + serial,
    )
