"""The accounts of a world and every parameter their traffic is drawn from.

Size first: daily calls are log-uniform from 10 to 50,000 (a 10-call office next to a
50,000-call voicebot, four orders of magnitude, as a partner's real book spans), then a
profile weighted by size band (`profiles.py`), then each parameter from the profile's range.
Ranges that are not the profile's, and why:

- timezone: Asia/Kolkata 80 %, Asia/Dubai 6 %, Asia/Singapore 5 %, Europe/London 5 %,
  America/New_York 4 % (an Indian partner's customers, some of them abroad);
- route failures: 0.1–1.5 % of calls, log-uniform (congestion and temporary failures of
  healthy routes);
- misdials: 0.2–3 % of outbound calls, log-uniform (mistyped or stale numbers that fail at
  the switch);
- ring time: answered calls ring a lognormal time around the profile's median (sigma 0.4);
  unanswered ones ring out on the switch timer (30, 45 or 60 s);
- unanswered mix: Dirichlet around the profile's mean, concentration 30 (callees differ);
- international: the profile's share, but an account abroad calls its own market 40–90 %
  of the time (a Dubai account calls the UAE);
- focus market: GB 35 %, US 35 %, AE 20 %, AU 10 %, taking 50–90 % of the foreign calls
  (call centres serving one market);
- inbound from abroad: 20–80 % of the outbound international share (callers from the
  markets served);
- landlines 5–30 % and toll-free 0–2 % of domestic destinations (businesses call offices);
- DIDs: (1 + daily^0.6 / 4) × 0.5–2, 1–400 (caller-id pools grow with size);
- repeat contacts: daily × 0.5–4 numbers, 5–20,000, taking the profile's share of calls
  (customers, colleagues, suppliers; popular ones get most of the calls);
- trunks: 1–3, one more above 1,000 calls a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.simulate.world import seeds
from detector.simulate.world.profiles import Profile, Range, band_of, draw_profile
from detector.simulate.world.rhythm import Rhythm, jittered_hours

MIN_DAILY, MAX_DAILY = 10.0, 50_000.0
TIMEZONES: dict[str, float] = {
    "Asia/Kolkata": 0.80,
    "Asia/Dubai": 0.06,
    "Asia/Singapore": 0.05,
    "Europe/London": 0.05,
    "America/New_York": 0.04,
}
HOME_ZONE = "Asia/Kolkata"
ZONE_MARKET = {"Asia/Dubai": "AE", "Asia/Singapore": "SG", "Europe/London": "GB",
               "America/New_York": "US"}  # fmt: skip
FOCUS_MARKETS = {"GB": 0.35, "US": 0.35, "AE": 0.2, "AU": 0.1}
TIMEOUTS_S = (30.0, 45.0, 60.0)


@dataclass(frozen=True)
class Talk:
    """Talk time of answered calls: lognormal, plus a share ending within 6 s; capped at 3 h."""

    median_s: float
    sigma: float
    short_share: float


@dataclass(frozen=True)
class Outcomes:
    """How calls end: answer rates by direction, the unanswered mix, ringing, failures."""

    answer_out: float
    answer_in: float
    unanswered: tuple[float, float, float, float]
    """No answer, busy, originator cancel, rejected (sums to 1)."""
    ring_median_s: float
    timeout_s: float
    route_failure: float
    misdial: float


@dataclass(frozen=True)
class Reach:
    """Whom the account calls and is called by."""

    international: float
    focus: str | None
    focus_share: float
    inbound_international: float
    landline: float
    toll_free: float
    repeat: float
    dids: int
    contacts: int
    toll_free_dids: bool


@dataclass(frozen=True)
class WorldAccount:
    """One customer account of a world and its drawn parameters."""

    index: int
    auth_id: str
    internal_id: int
    name: str
    timezone: str
    profile: str
    outbound_share: float
    rhythm: Rhythm
    talk: Talk
    outcomes: Outcomes
    reach: Reach
    trunks: tuple[str, ...]

    @property
    def daily_calls(self) -> float:
        """Expected calls on an ordinary weekday at the world's start."""
        return self.rhythm.daily_calls

    @property
    def band(self) -> str:
        """Size band: "<100", "100-1000" or ">1000" calls a day."""
        return band_of(self.daily_calls)

    def to_api(self) -> dict[str, object]:
        """The account as `GET /accounts` lists it (with its timezone)."""
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


def draw_account(seed: int, index: int, days: float) -> WorldAccount:
    """Account `index` of world `seed`; the same whatever the world's size."""
    rng = seeds.stream(seed, seeds.ACCOUNTS, index)
    daily = Range(MIN_DAILY, MAX_DAILY, log=True).draw(rng)
    profile = draw_profile(rng, daily)
    zone = _choice(rng, TIMEZONES)
    hex_id = rng.bytes(4).hex()
    per_day = (
        seeds.stream(seed, seeds.ACCOUNTS, index, 1),
        seeds.stream(seed, seeds.ACCOUNTS, index, 2),
    )
    return WorldAccount(
        index=index,
        auth_id=f"MA_{hex_id}",
        internal_id=10_000 + index,
        name=f"{profile.name.replace('_', ' ').title()} {index + 1}",
        timezone=zone,
        profile=profile.name,
        outbound_share=profile.outbound.draw(rng),
        rhythm=_rhythm(rng, profile, daily, zone, days, per_day),
        talk=Talk(
            profile.talk_median_s.draw(rng),
            profile.talk_sigma.draw(rng),
            profile.short_share.draw(rng),
        ),
        outcomes=_outcomes(rng, profile),
        reach=_reach(rng, profile, daily, zone),
        trunks=tuple(f"trunk_{hex_id}_{t}" for t in range(_trunks(rng, daily))),
    )


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """A key drawn with the given weights."""
    keys = list(weights)
    p = np.asarray([weights[k] for k in keys])
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _rhythm(
    rng: np.random.Generator, profile: Profile, daily_calls: float, zone: str, days: float,
    streams: tuple[np.random.Generator, np.random.Generator],
) -> Rhythm:  # fmt: skip
    """Volume over time: shape, weekends, day factors with campaigns, trend, burstiness."""
    daily, switch = streams
    shape = _choice(rng, profile.shapes)
    if shape == "night_shift" and zone != HOME_ZONE:
        shape = "extended"
    closed = rng.random() < profile.closed_weekends
    weekend = rng.uniform(0.01, 0.05) if closed else profile.weekend.draw(rng)
    count = int(np.ceil(days)) + 3
    day_sigma = rng.uniform(0.05, 0.35)
    campaigns = rng.random() < profile.campaigns
    on_p, off_level = rng.uniform(0.55, 0.9), rng.uniform(0.03, 0.25)
    # Own streams for the per-day draws, so a longer world extends the same days.
    factors = daily.lognormal(0.0, day_sigma, count)
    if campaigns:
        factors = np.where(switch.random(count) < on_p, factors, factors * off_level)
    return Rhythm(
        daily_calls=daily_calls,
        shape=shape,
        hours=jittered_hours(rng, shape),
        weekend=float(weekend),
        days=tuple(float(f) for f in factors),
        trend=float(rng.uniform(-0.3, 0.3)),
        burstiness=Range(4.0, 40.0, log=True).draw(rng),
    )


def _outcomes(rng: np.random.Generator, profile: Profile) -> Outcomes:
    """Answer rates, the unanswered mix, ring time and failure rates."""
    mix = rng.dirichlet(30.0 * np.asarray(profile.unanswered))
    return Outcomes(
        answer_out=profile.answer_out.draw(rng),
        answer_in=profile.answer_in.draw(rng),
        unanswered=(float(mix[0]), float(mix[1]), float(mix[2]), float(mix[3])),
        ring_median_s=profile.ring_median_s.draw(rng),
        timeout_s=TIMEOUTS_S[int(rng.integers(0, len(TIMEOUTS_S)))],
        route_failure=Range(0.001, 0.015, log=True).draw(rng),
        misdial=Range(0.002, 0.03, log=True).draw(rng),
    )


def _reach(rng: np.random.Generator, profile: Profile, daily: float, zone: str) -> Reach:
    """Destinations, callers and number pools."""
    international = profile.international.draw(rng)
    focus: str | None = None
    focus_share = 0.0
    if zone in ZONE_MARKET:
        international = max(international, rng.uniform(0.4, 0.9))
        focus, focus_share = ZONE_MARKET[zone], rng.uniform(0.6, 0.9)
    elif rng.random() < profile.focus:
        focus, focus_share = _choice(rng, FOCUS_MARKETS), rng.uniform(0.5, 0.9)
    dids = (1.0 + daily**0.6 / 4.0) * rng.uniform(0.5, 2.0)
    return Reach(
        international=international,
        focus=focus,
        focus_share=focus_share,
        inbound_international=international * rng.uniform(0.2, 0.8),
        landline=rng.uniform(0.05, 0.3),
        toll_free=rng.uniform(0.0, 0.02),
        repeat=profile.repeat.draw(rng),
        dids=int(np.clip(round(dids), 1, 400)),
        contacts=int(np.clip(round(daily * rng.uniform(0.5, 4.0)), 5, 20_000)),
        toll_free_dids=bool(rng.random() < profile.toll_free_dids),
    )


def _trunks(rng: np.random.Generator, daily: float) -> int:
    """How many trunks the account sends calls over."""
    return int(rng.integers(1, 4)) + (1 if daily > 1000 else 0)
