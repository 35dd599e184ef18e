"""Under-threshold incidents: changes no rule names, for the anomaly model to find.

Each one keeps every call ordinary-looking (the account's own outcomes, talk law, callees) and
stays below what the rules look for (no burst, no fraud destination, no absolute cap), so a
rule pack should not find it by design; it is a change in the account's *own* behaviour that
an analyst comparing the account with itself would flag.

Each kind's dial, and where the analyst's line is (written before any detector ran):
- volume_drift (2–4 days, from day 3): extra calls on the window's last day, relative to its
  usual; flagged at +50 % AND >= 100 extra calls that day;
- night_shift (two nights, 01:00–05:00 local): extra calls per night; flagged at >= 3x the
  usual calls of those hours AND >= 10 a night;
- destination_mix (6 h–2 days): the share of domestic outbound calls going to one foreign
  market instead; flagged at +15 points of international share AND >= 20 such calls;
- duration_creep (1–3 days, from day 3): the last day's answered calls' extra talk time,
  relative; flagged at +50 % mean talk AND >= 30 answered calls that day;
- caller_pool (2 h–1 day): the share of outbound calls sent with a caller id from a pool the
  account never used; flagged at 30 % of outbound calls AND >= 20 such calls.

How each is made:
- volume_drift: extra calls shaped like the account's own (its hour-of-day shape and
  weekends), ramping linearly from nothing at the start to their full rate at the end.
- night_shift: only for accounts whose hours are not round the clock or a night shift.
- destination_mix: one market the account does not focus on, at ordinary tariffs.
- duration_creep: answered calls' talk grows by a factor rising linearly over the window
  (capped at the ordinary 3 h).
- caller_pool: 5–50 fresh Indian mobile numbers as caller ids (valid numbers, so no CLI rule
  applies); a new trunk would show the same way to the model.

Grades as for every kind (`grades.py`): the dial drawn 1.6–5x the line (clear), 1.05–1.35x
(near) or 0.55–0.92x (subtle), below each kind's ceiling.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from detector.simulate.calls import ANSWERED
from detector.simulate.world import numbering
from detector.simulate.world.accounts import WorldAccount
from detector.simulate.world.columns import Calls, FloatArray, assemble
from detector.simulate.world.grades import multiplier
from detector.simulate.world.incidents import HOUR, Incident, Kind, Placing, Plan, whole
from detector.simulate.world.rhythm import SLOT_S
from detector.simulate.world.traffic import (
    LONGEST_ORDINARY_S,
    Book,
    far_party,
    outcomes,
    ring_times,
    talk_times,
)

DAY = 24 * HOUR
NIGHT_HOURS = (1, 5)
"""Local hours of a night shift: from 01:00 to 05:00."""
NIGHT_WORKERS = ("round_the_clock", "night_shift")
"""Shapes of accounts that already call at night (no night-shift incident for them)."""


def _line(relative: float, usual: float, minimum: float) -> float:
    """An analyst line on an extra amount: `relative` × the usual, at least `minimum`.

    >>> _line(0.5, 1000.0, 100.0), _line(0.5, 40.0, 100.0)
    (500.0, 100.0)
    """
    return max(relative * usual, minimum)


def _usual_rate(account: WorldAccount, when: FloatArray) -> FloatArray:
    """The account's usual calls per second at each instant: its hour shape and weekends (not
    its day-to-day swings)."""
    zone = ZoneInfo(account.timezone)
    rhythm = account.rhythm
    out = np.empty(when.shape[0])
    for i, t in enumerate(when.tolist()):
        local = datetime.fromtimestamp(t, zone)
        weekend = rhythm.weekend if local.weekday() >= 5 else 1.0
        out[i] = rhythm.daily_calls / 86_400.0 * rhythm.hours[local.hour] * weekend
    return out


def _ordinary(
    rng: np.random.Generator, account: WorldAccount, pools: Book, starts: FloatArray
) -> Calls:
    """Calls at `starts` drawn from the account's own laws (direction, outcome, talk, callee)."""
    n = int(starts.shape[0])
    outbound = rng.random(n) < account.outbound_share
    outcome = outcomes(rng, account.outcomes, outbound)
    did = np.floor(len(pools.dids) * rng.random(n) ** 2).astype(np.int64)
    remote, rate = far_party(rng, account, pools, outbound, outcome)
    rate = np.where(outbound, rate, pools.did_rates[did])
    return assemble(
        rng, account.index, outbound, np.sort(np.floor(starts)),
        ring=ring_times(rng, outcome, account.outcomes), talk=talk_times(rng, account.talk, n),
        outcome=outcome, local=pools.dids[did], remote=remote, rate=rate,
        trunks=len(account.trunks),
    )  # fmt: skip


def _ramped(rng: np.random.Generator, incident: Incident, account: WorldAccount) -> FloatArray:
    """Start times of extra calls whose rate ramps from 0 to `slope` × usual over the window."""
    slots = np.arange(incident.start, incident.end, SLOT_S)
    mids = slots + SLOT_S / 2.0
    frac = (mids - incident.start) / (incident.end - incident.start)
    mean = _usual_rate(account, mids) * SLOT_S * incident.param("slope") * frac
    counts = rng.poisson(mean)
    starts = np.repeat(slots, counts) + rng.random(int(counts.sum())) * SLOT_S
    return starts[starts < incident.end]


class VolumeDrift(Kind):
    """Ordinary-looking calls growing over days (dial: the last day's extra share)."""

    name = "volume_drift"
    durations = (2 * DAY, 4 * DAY)
    earliest_s = 3 * DAY

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A relative increase of the last day against its usual calls."""
        days = float(np.round(self.duration(rng) / DAY))
        end = at.start + days * DAY
        usual = at.norm(end - DAY, end).calls
        if usual <= 0:
            return None
        line = _line(0.5, usual, 100.0) / usual
        factor = multiplier(rng, at.grade, 3.0 / line)
        if factor is None:
            return None
        dial = line * factor
        slope = dial / (1.0 - 0.5 / days)  # the last day averages its share of the ramp
        detail = (f"calls growing over {days:.0f} days to +{dial:.0%} on the last day "
                  f"(~{dial * usual:.0f} extra calls against ~{usual:.0f})")  # fmt: skip
        return Plan(end, dial, line, usual, detail, (("slope", slope),))

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """The extra calls, shaped like the account's own."""
        return _ordinary(rng, account, pools, _ramped(rng, incident, account))


class NightShift(Kind):
    """Calls at 01:00–05:00 local two nights running (dial: extra calls a night)."""

    name = "night_shift"
    durations = (28 * HOUR, 28 * HOUR)
    earliest_s = 3 * DAY

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """From the next local 01:00: a count per night against the usual of those hours."""
        if at.account.rhythm.shape in NIGHT_WORKERS:
            return None
        first = _next_local(at.start, at.account.timezone, NIGHT_HOURS[0])
        night = (NIGHT_HOURS[1] - NIGHT_HOURS[0]) * HOUR
        end = first + DAY + night
        if end > at.limit:
            return None
        usual = at.norm(first, first + night).calls
        line = _line(2.0, usual, 10.0)
        factor = multiplier(rng, at.grade, 300.0 / line)
        if factor is None:
            return None
        per_night = float(whole(line * factor, line))
        detail = (f"{per_night:.0f} calls a night at 01:00-05:00 local, two nights "
                  f"(usual ~{usual:.1f})")  # fmt: skip
        return Plan(end, per_night, line, usual, detail, (("first", first),))

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """`dial` ordinary calls in each of the two nights."""
        first = incident.param("first")
        night = (NIGHT_HOURS[1] - NIGHT_HOURS[0]) * HOUR
        n = int(incident.dial)
        starts = np.concatenate([first + rng.random(n) * night,
                                 first + DAY + rng.random(n) * night])  # fmt: skip
        return _ordinary(rng, account, pools, starts)


def _next_local(after: float, zone: str, hour: int) -> float:
    """The first local `hour`:00 at or after `after` (epoch s) in `zone`."""
    tz = ZoneInfo(zone)
    local = datetime.fromtimestamp(after, tz)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target < local:
        target = (target + timedelta(days=1)).replace(hour=hour)
    return target.timestamp()


class DestinationMix(Kind):
    """Domestic outbound calls go to one foreign market instead (dial: the share that does)."""

    name = "destination_mix"
    durations = (6 * HOUR, 2 * DAY)
    earliest_s = 2 * DAY

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A share of domestic outbound calls against 15 points and 20 calls."""
        end = at.start + self.duration(rng)
        reach = at.account.reach
        domestic = at.norm(at.start, end).attempts("outbound") * (1.0 - reach.international)
        if domestic <= 0:
            return None
        line = max(0.15 / (1.0 - reach.international), 20.0 / domestic)
        factor = multiplier(rng, at.grade, 0.9 / line)
        if factor is None:
            return None
        dial = line * factor
        markets = sorted(set(numbering.FOREIGN) - {reach.focus or ""})
        market = int(rng.integers(len(markets)))
        detail = (
            f"{dial:.0%} of domestic outbound calls to {markets[market]} "
            f"(~{dial * domestic:.0f} calls; usual international {reach.international:.0%})"
        )
        return Plan(end, dial, line, reach.international, detail, (("market", float(market)),))

    def recast(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, calls: Calls
    ) -> Calls:
        """Outbound calls to Indian numbers in the window go abroad with probability `dial`."""
        markets = sorted(set(numbering.FOREIGN) - {account.reach.focus or ""})
        mix = numbering.FOREIGN[markets[int(incident.param("market"))]]
        domestic = calls.outbound & (calls.remote // 10**10 == 91)
        hit = incident.covers(calls) & domestic & (rng.random(len(calls)) < incident.dial)
        far, rate = mix.draw(rng, int(hit.sum()))
        remote, rates = calls.remote.copy(), calls.rate.copy()
        remote[hit], rates[hit] = far, rate
        return calls.replace(remote=remote, rate=rates)


class DurationCreep(Kind):
    """Answered calls grow longer over days (dial: the last day's extra talk, relative)."""

    name = "duration_creep"
    durations = (DAY, 3 * DAY)
    earliest_s = 3 * DAY

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A relative talk increase on the last day; needs 30 answered calls that day."""
        days = max(1.0, float(np.round(self.duration(rng) / DAY)))
        end = at.start + days * DAY
        answered = at.norm(end - DAY, end).answered(None)
        if answered < 30.0:
            return None
        line = 0.5
        factor = multiplier(rng, at.grade, 4.0 / line)
        if factor is None:
            return None
        dial = line * factor
        slope = dial / (1.0 - 0.5 / days)
        detail = (f"talk time growing over {days:.0f} day(s) to +{dial:.0%} on the last day "
                  f"(~{answered:.0f} answered calls that day)")  # fmt: skip
        return Plan(end, dial, line, 0.0, detail, (("slope", slope),))

    def recast(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, calls: Calls
    ) -> Calls:
        """Answered calls in the window talk longer by a factor ramping from 1."""
        frac = np.clip((calls.start - incident.start) / (incident.end - incident.start), 0, 1)
        grow = 1.0 + incident.param("slope") * frac
        hit = incident.covers(calls) & (calls.outcome == ANSWERED)
        talk = np.where(hit, np.minimum(np.round(calls.talk * grow), LONGEST_ORDINARY_S),
                        calls.talk)  # fmt: skip
        return calls.replace(talk=talk)


class CallerPool(Kind):
    """Outbound calls with caller ids the account never used (dial: their share)."""

    name = "caller_pool"
    durations = (2 * HOUR, DAY)
    earliest_s = 2 * DAY

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A share of outbound calls against 30 % and 20 calls."""
        end = at.start + self.duration(rng)
        outbound = at.norm(at.start, end).attempts("outbound")
        if outbound <= 0:
            return None
        line = max(0.3, 20.0 / outbound)
        factor = multiplier(rng, at.grade, 0.95 / line)
        if factor is None:
            return None
        dial = line * factor
        size = float(rng.integers(5, 51))
        seed = float(rng.integers(0, 2**31))
        detail = (f"{dial:.0%} of outbound calls (~{dial * outbound:.0f}) from {size:.0f} "
                  "caller ids the account never used")  # fmt: skip
        return Plan(end, dial, line, 0.0, detail, (("pool", size), ("pool_seed", seed)))

    def recast(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, calls: Calls
    ) -> Calls:
        """Outbound calls in the window take a pool number as caller id with probability `dial`."""
        pool_rng = np.random.default_rng(int(incident.param("pool_seed")))
        pool, _ = numbering.IN_MOBILE.draw(pool_rng, int(incident.param("pool")))
        hit = incident.covers(calls) & calls.outbound & (rng.random(len(calls)) < incident.dial)
        local = calls.local.copy()
        local[hit] = pool[rng.integers(0, len(pool), int(hit.sum()))]
        return calls.replace(local=local)


SUBTLE_KINDS: tuple[Kind, ...] = (
    VolumeDrift(), NightShift(), DestinationMix(), DurationCreep(), CallerPool(),
)  # fmt: skip
"""The under-threshold kinds, in registry order."""

SUBTLE_TYPES = tuple(kind.name for kind in SUBTLE_KINDS)
