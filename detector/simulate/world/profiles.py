"""Business profiles: the ranges each kind of customer draws its traffic parameters from.

Every range is wide on purpose: a world must hold the accounts a real VoIP partner carries,
not the ones a rule was tuned on. Each account draws one value per range (uniform, or
log-uniform where the quantity spans orders of magnitude).

| profile | weight by band | out | answered out · in | talk median · sigma | < 6 s |
|---|---|---|---|---|---|
| voicebot | .08 · .12 · .20 | 85–100 % | 25–60 % · 80–95 % | 20–75 s · 0.5–0.9 | 2–35 % |
| predictive_dialer | .07 · .12 · .20 | 95–100 % | 20–45 % · 60–90 % | 45–150 s · 0.8–1.2 | 2–12 % |
| call_centre | .15 · .30 · .30 | 40–90 % | 40–75 % · 75–95 % | 90–300 s · 0.7–1.1 | 0–5 % |
| small_office | .45 · .20 · .03 | 35–70 % | 55–85 % · 60–90 % | 60–200 s · 0.9–1.3 | 0–5 % |
| support_desk | .20 · .20 · .15 | 3–30 % | 50–80 % · 80–97 % | 120–420 s · 0.7–1.0 | 1–8 % |
| wholesale | .05 · .06 · .12 | 80–100 % | 40–70 % · 50–80 % | 90–300 s · 1.2–1.7 | 2–10 % |

Weights are per size band (<100 · 100–1,000 · >1,000 calls a day); "< 6 s" is the share of
answered calls that end within 6 s on top of the lognormal talk-time law. Why these ranges:
- voicebot: IVR/AI campaigns make short scripted calls; answering-machine detection hangs up
  within seconds, so some bots have a sizeable share of answered calls under 6 s.
- predictive_dialer: dials ahead of its agents, so a low answer rate and many early cancels
  (abandoned calls).
- call_centre: agents in both directions; some serve the UK/US/Gulf markets (night shifts,
  heavy international).
- small_office: a few people in business hours, mostly calling repeat contacts.
- support_desk: customers call in, often on toll-free DIDs; an IVR answers nearly everything,
  and callers who give up show as originator cancels.
- wholesale: carrier traffic around the clock with a heavy tail of long calls (ordinary calls
  still end by 3 h).

Other per-profile ranges are in `PROFILES` below: ring time (median of answered calls'
ringing), the unanswered mix (no answer, busy, originator cancel, rejected; each account draws
around the profile's mean), hour-of-day shapes, weekend factor and the share of accounts
closed at weekends, the chance of on/off dialer campaigns, the international share and the
chance that it focuses on one market, the share of calls to repeat contacts and toll-free DIDs.
Profile weights depend on the size band so that a 50,000-call small office stays rare while
the size itself stays log-uniform (the size is drawn first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Range:
    """A closed interval to draw from; `log` draws log-uniformly."""

    lo: float
    hi: float
    log: bool = False

    def draw(self, rng: np.random.Generator) -> float:
        """One value in [lo, hi].

        >>> 10 <= Range(10, 1000, log=True).draw(np.random.default_rng(0)) <= 1000
        True
        """
        if self.log:
            return float(np.exp(rng.uniform(np.log(self.lo), np.log(self.hi))))
        return float(rng.uniform(self.lo, self.hi))


@dataclass(frozen=True)
class Profile:
    """The ranges one kind of business draws from (see the module table)."""

    name: str
    outbound: Range
    answer_out: Range
    answer_in: Range
    talk_median_s: Range
    talk_sigma: Range
    short_share: Range
    ring_median_s: Range
    unanswered: tuple[float, float, float, float]
    """Mean shares of unanswered calls: no answer, busy, originator cancel, rejected."""
    shapes: dict[str, float]
    """Hour-of-day shapes (`detector.simulate.world.rhythm.SHAPES`) and their weights."""
    weekend: Range
    closed_weekends: float
    """Probability that the account makes almost no calls at weekends."""
    campaigns: float
    """Probability that the account runs dialer campaigns that switch on and off by day."""
    international: Range
    focus: float
    """Probability that the international traffic concentrates on one market."""
    repeat: Range
    toll_free_dids: float


PROFILES: tuple[Profile, ...] = (
    Profile("voicebot", Range(0.85, 1.0), Range(0.25, 0.6), Range(0.8, 0.95),
            Range(20, 75, log=True), Range(0.5, 0.9), Range(0.02, 0.35), Range(4, 10),
            (0.55, 0.15, 0.25, 0.05), {"extended": 0.5, "evening": 0.3, "business": 0.2},
            Range(0.2, 1.0), 0.15, 0.6, Range(0.0, 0.02), 0.1, Range(0.02, 0.2), 0.0),
    Profile("predictive_dialer", Range(0.95, 1.0), Range(0.2, 0.45), Range(0.6, 0.9),
            Range(45, 150, log=True), Range(0.8, 1.2), Range(0.02, 0.12), Range(5, 12),
            (0.5, 0.15, 0.3, 0.05), {"business": 0.5, "extended": 0.3, "evening": 0.2},
            Range(0.0, 0.6), 0.3, 0.7, Range(0.0, 0.05), 0.3, Range(0.05, 0.2), 0.0),
    Profile("call_centre", Range(0.4, 0.9), Range(0.4, 0.75), Range(0.75, 0.95),
            Range(90, 300, log=True), Range(0.7, 1.1), Range(0.0, 0.05), Range(5, 12),
            (0.6, 0.2, 0.15, 0.05),
            {"business": 0.35, "extended": 0.3, "night_shift": 0.2, "round_the_clock": 0.15},
            Range(0.0, 0.8), 0.25, 0.2, Range(0.0, 0.6), 0.35, Range(0.1, 0.4), 0.1),
    Profile("small_office", Range(0.35, 0.7), Range(0.55, 0.85), Range(0.6, 0.9),
            Range(60, 200, log=True), Range(0.9, 1.3), Range(0.0, 0.05), Range(6, 15),
            (0.6, 0.25, 0.1, 0.05), {"business": 0.85, "extended": 0.15},
            Range(0.0, 0.3), 0.5, 0.0, Range(0.0, 0.05), 0.2, Range(0.4, 0.8), 0.0),
    Profile("support_desk", Range(0.03, 0.3), Range(0.5, 0.8), Range(0.8, 0.97),
            Range(120, 420, log=True), Range(0.7, 1.0), Range(0.01, 0.08), Range(2, 8),
            (0.45, 0.1, 0.4, 0.05), {"extended": 0.45, "round_the_clock": 0.3, "business": 0.25},
            Range(0.3, 1.0), 0.1, 0.0, Range(0.0, 0.03), 0.2, Range(0.15, 0.4), 0.6),
    Profile("wholesale", Range(0.8, 1.0), Range(0.4, 0.7), Range(0.5, 0.8),
            Range(90, 300, log=True), Range(1.2, 1.7), Range(0.02, 0.1), Range(4, 12),
            (0.55, 0.2, 0.15, 0.1), {"round_the_clock": 0.8, "extended": 0.2},
            Range(0.7, 1.0), 0.0, 0.0, Range(0.1, 0.6), 0.3, Range(0.2, 0.5), 0.0),
)  # fmt: skip
BY_NAME = {p.name: p for p in PROFILES}

BAND_WEIGHTS: dict[str, tuple[float, ...]] = {
    "<100": (0.08, 0.07, 0.15, 0.45, 0.20, 0.05),
    "100-1000": (0.12, 0.12, 0.30, 0.20, 0.20, 0.06),
    ">1000": (0.20, 0.20, 0.30, 0.03, 0.15, 0.12),
}
"""Profile weights (in `PROFILES` order) per size band."""

BANDS = ("<100", "100-1000", ">1000")


def band_of(daily_calls: float) -> str:
    """The size band of an account by its daily calls.

    >>> band_of(10), band_of(100), band_of(50_000)
    ('<100', '100-1000', '>1000')
    """
    if daily_calls < 100:
        return BANDS[0]
    return BANDS[1] if daily_calls <= 1000 else BANDS[2]


def draw_profile(rng: np.random.Generator, daily_calls: float) -> Profile:
    """A profile for an account of this size."""
    weights = np.asarray(BAND_WEIGHTS[band_of(daily_calls)])
    return PROFILES[int(rng.choice(len(PROFILES), p=weights / weights.sum()))]
