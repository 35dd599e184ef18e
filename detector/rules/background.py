"""Ordinary traffic for rule fixtures: an account's usual days, generated before the case.

A rule that judges an account against its own history needs history in its tests. A fixture
case may say ``background: {per_day: 300, days: 3}``: that many days of ordinary calls for the
case's account, ending at the case's `start`, drawn reproducibly (the same case always gets
the same calls). Knobs, all optional but `per_day`:

=================  ==========  =====================================================
key                default     meaning
=================  ==========  =====================================================
``per_day``        (required)  calls a day (weekdays; weekends get ``weekend`` of it)
``days``           2           days of history before ``start``
``outbound``       0.9         share of calls the account places
``answered``       0.6         share of calls answered
``busy``           0.1         share of calls busy (the rest of the unanswered ring out)
``failed``         0.01        share failing on the route (SWITCH_CONGESTION)
``talk_s``         90          median talk time of an answered call (lognormal)
``talk_sigma``     0.8         spread of talk time (lognormal sigma)
``hours``          office      ``office`` (09-19 local, some evening) or ``flat`` (24 h)
``weekend``        0.3         weekend volume as a share of a weekday's
``rate``           0           INR per started minute of an answered outbound call (its
                               ``cost``; 0: no cost)
=================  ==========  =====================================================

Arrivals are Poisson with the hour's rate; times are UTC (the rule set's timezone decides the
local hour, so "office" hours use an offset of +05:30, India's).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

OFFICE = (
    0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.03, 0.05, 0.3, 1.0, 1.0, 1.0,
    0.8, 0.7, 1.0, 1.0, 1.0, 0.9, 0.6, 0.3, 0.15, 0.05, 0.02, 0.01,
)  # fmt: skip
"""Relative call rate per local hour of an office account."""
LOCAL_OFFSET = timedelta(hours=5, minutes=30)


class Background(BaseModel):
    """The `background` knobs of a fixture case (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    per_day: float = Field(gt=0)
    days: float = Field(default=2.0, gt=0)
    outbound: float = Field(default=0.9, ge=0, le=1)
    answered: float = Field(default=0.6, ge=0, le=1)
    busy: float = Field(default=0.1, ge=0, le=1)
    failed: float = Field(default=0.01, ge=0, le=1)
    talk_s: float = Field(default=90.0, gt=0)
    talk_sigma: float = Field(default=0.8, ge=0)
    hours: str = Field(default="office", pattern="^(office|flat)$")
    weekend: float = Field(default=0.3, ge=0)
    rate: float = Field(default=0.0, ge=0)

    def scaled(self, factor: float) -> Background:
        """The same account `factor` times as busy."""
        return self.model_copy(update={"per_day": self.per_day * factor})


def ordinary_rows(background: Background, start: datetime, seed: str) -> list[dict[str, Any]]:
    """Fixture rows (absolute `start` times) of the days before `start`, reproducibly."""
    rng = random.Random(f"{seed}/{background.per_day}")
    shape = OFFICE if background.hours == "office" else (1.0,) * 24
    scale = 24.0 / sum(shape)
    begin = start - timedelta(days=background.days)
    rows: list[dict[str, Any]] = []
    for hour in range(math.ceil(background.days * 24)):
        at = begin + timedelta(hours=hour)
        local = at + LOCAL_OFFSET
        rate = background.per_day / 24.0 * scale * shape[local.hour]
        if local.weekday() >= 5:
            rate *= background.weekend
        for _ in range(_poisson(rng, rate)):
            when = at + timedelta(seconds=int(rng.random() * 3600))
            if when < start:
                rows.append(_call(rng, background, when, len(rows)))
    return rows


def _call(rng: random.Random, bg: Background, when: datetime, n: int) -> dict[str, Any]:
    """One ordinary call's fixture fields."""
    outbound = rng.random() < bg.outbound
    peer = f"+9198{rng.randrange(10**8):08d}"
    row: dict[str, Any] = {
        "start": when,
        "direction": "outbound" if outbound else "inbound",
        "from_number": "+912240000000" if outbound else peer,
        "to_number": peer if outbound else "+912240000000",
        "call_id": f"bg-{n}",
    }
    roll = rng.random()
    if roll < bg.answered:
        talk = rng.lognormvariate(math.log(bg.talk_s), bg.talk_sigma)
        talk_s = max(1.0, round(talk))
        row.update(status="answered", talk_s=talk_s, ring_s=rng.uniform(3, 15))
        if outbound and bg.rate:
            row["cost"] = math.ceil(talk_s / 60.0) * bg.rate
    elif roll < bg.answered + bg.failed:
        row.update(status="failed", hangup_cause="SWITCH_CONGESTION", hangup_code=3090, ring_s=0)
    elif roll < bg.answered + bg.failed + bg.busy:
        row.update(status="busy", hangup_cause="USER_BUSY", hangup_code=3010, ring_s=2)
    else:
        row.update(status="no_answer", hangup_cause="NO_ANSWER", ring_s=rng.uniform(30, 50))
    return row


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method below 30, a rounded normal above)."""
    if mean >= 30.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
