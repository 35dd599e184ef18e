"""Incidents that change an account's own calls: surges, failures, silence, long calls.

- no_answer_surge (outbound, inbound or both; 20 min–12 h): a share f of the calls that
  would have been answered ring out to the switch timer instead (a callee-side network fault,
  a blocked caller id, a dead IVR). Long windows let quiet accounts show it too.
- route_failure (outbound, inbound or both; 5 min–12 h): a share f of calls fail at once with
  SWITCH_CONGESTION or NORMAL_TEMPORARY_FAILURE (a carrier route down).
- flatline (30 min–48 h, from day 2): the account makes and receives no calls; the window is
  as long as it takes the account to expect the drawn number of calls.
- duration_spike (1–4 h): either a share of the answered calls runs 5–50x its usual length
  (stuck channels, a takeover keeping lines open), or a burst of extra calls 1.5–6x the
  account's usual 99th-percentile talk time; calls end within 6 h.
"""

from __future__ import annotations

import numpy as np

from detector.simulate.calls import ANSWERED, CONGESTION, NO_ANSWER, TEMP_FAIL
from detector.simulate.world.accounts import WorldAccount
from detector.simulate.world.columns import BoolArray, Calls, assemble
from detector.simulate.world.grades import CLEAR, count_line, multiplier, share_line
from detector.simulate.world.incidents import HOUR, Incident, Kind, Placing, Plan, whole
from detector.simulate.world.norms import p99_talk, tail_beyond
from detector.simulate.world.rhythm import SLOT_S, slot_means
from detector.simulate.world.traffic import LONGEST_RING_S, Book, far_party, ring_times

MINUTE = 60.0
DIRECTIONS = ("outbound", "inbound", "both")
MOST = 0.95
"""A share dial never passes 95 %: some calls always get through."""
LONGEST_SPIKE_S = 6 * HOUR


def _in_direction(calls: Calls, direction: str | None) -> BoolArray:
    """Calls of the incident's direction."""
    if direction == "outbound":
        return calls.outbound
    if direction == "inbound":
        return ~calls.outbound
    return np.ones(len(calls), bool)


def _share_plan(
    rng: np.random.Generator, at: Placing, kind: Kind, usual: float, volume: float
) -> tuple[float, float] | None:
    """Line and dial of a share dial, or None when the grade cannot fit under `MOST`."""
    line = share_line(kind.name, usual, volume)
    if not np.isfinite(line):
        return None
    factor = multiplier(rng, at.grade, MOST / line)
    return None if factor is None else (line, line * factor)


class NoAnswerSurge(Kind):
    """Answered calls ring out instead (dial: the share of them that do)."""

    name = "no_answer_surge"
    durations = (20 * MINUTE, 12 * HOUR)
    directions = DIRECTIONS

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A share against the account's usual no-answer share in the direction."""
        end = at.start + self.duration(rng)
        norm = at.norm(at.start, end)
        answered = norm.answered(at.direction)
        usual = norm.no_answer_share(at.direction)
        found = _share_plan(rng, at, self, usual, answered)
        if found is None:
            return None
        line, dial = found
        after = usual + dial * (1.0 - usual)
        detail = (f"{at.direction}: no-answer share of ringing calls {usual:.0%} -> "
                  f"{after:.0%}, ~{dial * answered:.0f} more unanswered")  # fmt: skip
        return Plan(end, dial, line, usual, detail)

    def recast(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, calls: Calls
    ) -> Calls:
        """Answered calls in the window and direction ring out with probability `dial`."""
        hit = incident.covers(calls) & _in_direction(calls, incident.direction)
        hit &= (calls.outcome == ANSWERED) & (rng.random(len(calls)) < incident.dial)
        ring = account.outcomes.timeout_s - rng.uniform(0.0, 3.0, len(calls))
        return calls.replace(
            outcome=np.where(hit, NO_ANSWER, calls.outcome),
            talk=np.where(hit, 0.0, calls.talk),
            ring=np.where(hit, np.round(ring), calls.ring),
        )


class RouteFailure(Kind):
    """Calls fail at once with congestion-class causes (dial: the share that does)."""

    name = "route_failure"
    durations = (5 * MINUTE, 12 * HOUR)
    directions = DIRECTIONS

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A share against the account's usual route-failure share."""
        end = at.start + self.duration(rng)
        attempts = at.norm(at.start, end).attempts(at.direction)
        usual = at.account.outcomes.route_failure
        found = _share_plan(rng, at, self, usual, attempts)
        if found is None:
            return None
        line, dial = found
        detail = (f"{at.direction}: {dial:.0%} of calls fail with congestion causes "
                  f"(usual {usual:.1%}), ~{dial * attempts:.0f} failed")  # fmt: skip
        return Plan(end, dial, line, usual, detail)

    def recast(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, calls: Calls
    ) -> Calls:
        """Calls in the window and direction fail with probability `dial`."""
        n = len(calls)
        hit = incident.covers(calls) & _in_direction(calls, incident.direction)
        hit &= rng.random(n) < incident.dial
        cause = np.where(rng.random(n) < 0.5, CONGESTION, TEMP_FAIL)
        return calls.replace(
            outcome=np.where(hit, cause, calls.outcome),
            talk=np.where(hit, 0.0, calls.talk),
            ring=np.where(hit, np.round(rng.uniform(0.0, 2.0, n)), calls.ring),
        )


class Flatline(Kind):
    """The account goes silent (dial: calls it would have made meanwhile)."""

    name = "flatline"
    durations = (30 * MINUTE, 48 * HOUR)
    earliest_s = 24 * HOUR

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """Silence long enough to miss the drawn number of expected calls."""
        line = count_line(self.name)
        limit = min(at.start + self.durations[1], at.limit)
        most = at.norm(at.start, limit).calls
        factor = multiplier(rng, at.grade, most / line)
        if factor is None:
            return None
        end = _reach(at, line * factor, limit)
        if end - at.start < self.durations[0]:
            if at.grade != CLEAR:
                return None  # too busy: half an hour of silence is already clear
            end = at.start + self.durations[0]
        expected = at.norm(at.start, end).calls
        detail = f"silent {(end - at.start) / HOUR:.1f} h where ~{expected:.0f} calls were expected"
        return Plan(end, expected, line, expected, detail)

    def recast(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, calls: Calls
    ) -> Calls:
        """Every call of the window is gone."""
        return calls.select(~incident.covers(calls))


def _reach(at: Placing, target: float, limit: float) -> float:
    """The first time after `at.start` by which the account expects `target` calls."""
    norm = at.norm(at.start, limit)
    base = norm.world_start
    first = int((at.start - base) // SLOT_S)
    stop = min(int(np.ceil((limit - base) / SLOT_S)), len(norm.table.hour))
    rate = slot_means(at.account.rhythm, norm.table, base, first, stop) / SLOT_S
    edges = np.clip(base + np.arange(first, stop + 1) * SLOT_S, at.start, limit)
    cumulative = np.cumsum(np.diff(edges) * rate)
    k = int(np.searchsorted(cumulative, target))
    if k >= len(cumulative) or rate[k] <= 0:
        return limit
    before = float(cumulative[k - 1]) if k else 0.0
    return float(edges[k] + (target - before) / rate[k])


class DurationSpike(Kind):
    """Calls far longer than the account's norm (dial: extra calls beyond its p99 talk time)."""

    name = "duration_spike"
    durations = (HOUR, 4 * HOUR)

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """Stretch a share of answered calls when that reaches the dial, else a burst."""
        end = at.start + self.duration(rng)
        norm = at.norm(at.start, end)
        usual = norm.long_calls()
        line = count_line(self.name, usual)
        factor = multiplier(rng, at.grade, 500.0 / line)
        if factor is None:
            return None
        target = line * factor
        p99 = p99_talk(at.account)
        stretch = rng.uniform(5.0, 50.0)
        share = target / max(norm.answered(None) * tail_beyond(at.account, p99 / stretch), 1e-9)
        if share <= 0.5 and rng.random() < 0.5:
            detail = (f"{share:.0%} of answered calls {stretch:.0f}x longer: ~{target:.0f} "
                      f"calls past the usual p99 of {p99 / MINUTE:.0f} min")  # fmt: skip
            return Plan(end, target, line, usual, detail,
                        (("share", share), ("stretch", stretch)))  # fmt: skip
        count = whole(target, line)
        detail = (f"{count} extra calls of {1.5 * p99 / MINUTE:.0f}-{6 * p99 / MINUTE:.0f} min "
                  f"(usual p99 {p99 / MINUTE:.0f} min, ~{usual:.1f} such calls)")  # fmt: skip
        return Plan(end, float(count), line, usual, detail, (("p99", p99),))

    def lingers(self, plan: Plan) -> float:
        """The longest call the spike can make: 6x the p99 (burst) or a stretched call."""
        params = dict(plan.params)
        longest = 6.0 * params["p99"] if "p99" in params else LONGEST_SPIKE_S
        return min(longest, LONGEST_SPIKE_S) + LONGEST_RING_S

    def recast(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, calls: Calls
    ) -> Calls:
        """Stretched calls (share variant): answered calls in the window run `stretch`x."""
        params = dict(incident.params)
        if "share" not in params:
            return calls
        hit = incident.covers(calls) & (calls.outcome == ANSWERED)
        hit &= rng.random(len(calls)) < params["share"]
        longer = np.minimum(np.round(calls.talk * params["stretch"]), LONGEST_SPIKE_S)
        return calls.replace(talk=np.where(hit, longer, calls.talk))

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """Burst variant: extra answered outbound calls 1.5–6x the account's p99 long."""
        params = dict(incident.params)
        if "p99" not in params:
            return super().added(rng, incident, account, pools)
        n = int(incident.dial)
        outbound = np.ones(n, bool)
        outcome = np.full(n, ANSWERED, np.int64)
        remote, rate = far_party(rng, account, pools, outbound, outcome)
        talk = np.minimum(params["p99"] * rng.uniform(1.5, 6.0, n), LONGEST_SPIKE_S)
        starts = np.sort(np.floor(rng.uniform(incident.start, incident.end, n)))
        return assemble(
            rng, account.index, outbound, starts, ring=ring_times(rng, outcome, account.outcomes),
            talk=talk, outcome=outcome, local=pools.dids[rng.integers(0, len(pools.dids), n)],
            remote=remote, rate=rate, trunks=len(account.trunks),
        )  # fmt: skip
