"""Fraud incidents: calls an attacker (or a compromised account) adds to ordinary traffic.

- robocall (20 min–2 h): an outbound burst to fresh Indian mobiles; 30–70 % answered for
  1–5 s, the rest cancelled, unanswered or busy.
- irsf (1–6 h): answered calls of ~20 min (lognormal, up to 4.5 h) to IRSF sinks until the
  spend is reached; ~15 % more attempts go unanswered.
- traffic_pumping (1–4 h): answered calls of 8+ min (median 15) from one DID to 1–3 premium
  numbers; 10 % more ring out.
- sequential_dialing (10–90 min): consecutive numbers of one mobile block, in order; most fail
  as unallocated or invalid.
- cli_spoofing (30 min–3 h): outbound calls whose caller id is the callee's own number or a
  5-digit stub.
- wangiri (a 10–45 min burst, then 30–90 min): one-ring (1–3 s, cancelled) inbound calls from
  distinct African/Pacific numbers, then 5–25 % of them called back, mostly answered.
- wangiri_outbound (15 min–2 h): the account rings distinct foreign numbers once (1–3 s,
  cancelled).
"""

from __future__ import annotations

import numpy as np

from detector.simulate.calls import (
    ANSWERED,
    BUSY,
    CANCELLED,
    INVALID,
    NO_ANSWER,
    REJECTED,
    UNALLOCATED,
)
from detector.simulate.world import numbering
from detector.simulate.world.accounts import WorldAccount
from detector.simulate.world.columns import Calls, FloatArray, IntArray, assemble, concat
from detector.simulate.world.grades import count_line, multiplier
from detector.simulate.world.incidents import HOUR, Incident, Kind, Placing, Plan, whole
from detector.simulate.world.traffic import Book, ring_times, talk_times

MINUTE = 60.0
LONGEST_IRSF_S = 4.5 * HOUR


def _times(rng: np.random.Generator, t0: float, t1: float, n: int) -> FloatArray:
    """`n` sorted whole-second start times in [t0, t1)."""
    return np.sort(np.floor(rng.uniform(t0, t1, n)))


def _dids(rng: np.random.Generator, pools: Book, n: int) -> IntArray:
    """`n` of the account's own DIDs."""
    return pools.dids[rng.integers(0, len(pools.dids), n)]


def _mix(rng: np.random.Generator, n: int, shares: dict[int, float]) -> IntArray:
    """`n` outcomes drawn with the given shares."""
    keys = np.array(list(shares), np.int64)
    p = np.array(list(shares.values()))
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _calls(
    rng: np.random.Generator,
    account: WorldAccount,
    outbound: bool,
    starts: FloatArray,
    *,
    outcome: IntArray,
    talk: FloatArray,
    local: IntArray,
    remote: IntArray,
    rate: FloatArray,
    ring: FloatArray | None = None,
) -> Calls:
    """Calls of one direction for the account (ring drawn from its law unless given)."""
    n = int(starts.shape[0])
    return assemble(
        rng, account.index, np.full(n, outbound), starts,
        ring=ring if ring is not None else ring_times(rng, outcome, account.outcomes),
        talk=talk, outcome=outcome, local=local, remote=remote, rate=rate,
        trunks=len(account.trunks),
    )  # fmt: skip


def _count_plan(
    rng: np.random.Generator, at: Placing, kind: Kind, usual: float, ceiling: float
) -> tuple[float, int] | None:
    """End time and whole count of a count dial for `at.grade`, or None."""
    line = count_line(kind.name, usual)
    factor = multiplier(rng, at.grade, ceiling / line)
    if factor is None:
        return None
    return at.start + kind.duration(rng), whole(line * factor, line)


class Robocall(Kind):
    """A burst of short answered outbound calls (dial: extra short answered calls per hour)."""

    name = "robocall"
    durations = (20 * MINUTE, 2 * HOUR)

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """Extra short calls per hour against the account's usual short-call rate."""
        end = at.start + self.duration(rng)
        norm = at.norm(at.start, end)
        usual = norm.short_answered_per_hour()
        line = count_line(self.name, usual)
        factor = multiplier(rng, at.grade, 20_000.0 / line)
        if factor is None:
            return None
        count = whole(line * factor * norm.hours, line * norm.hours)
        dial = count / norm.hours
        ratio = f" ({(usual + dial) / usual:.1f}x)" if usual >= 0.05 else ""
        detail = f"short answered calls +{dial:.0f}/h on a usual {usual:.1f}/h{ratio}"
        params = (("answered", float(count)), ("answer_share", rng.uniform(0.3, 0.7)))
        return Plan(end, dial, line, usual, detail, params)

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """The burst: answered 1–5 s calls and the attempts that were not answered."""
        answered = int(incident.param("answered"))
        share = incident.param("answer_share")
        other = round(answered * (1.0 - share) / share)
        outcome = np.concatenate(
            [
                np.full(answered, ANSWERED, np.int64),
                _mix(rng, other, {CANCELLED: 0.45, NO_ANSWER: 0.35, BUSY: 0.15, REJECTED: 0.05}),
            ]
        )
        outcome = rng.permutation(outcome)
        n = answered + other
        remote, rate = numbering.IN_MOBILE.draw(rng, n)
        return _calls(rng, account, True, _times(rng, incident.start, incident.end, n),
                      outcome=outcome, talk=rng.uniform(0.5, 5.49, n),
                      local=_dids(rng, pools, n), remote=remote, rate=rate)  # fmt: skip


class Irsf(Kind):
    """Long answered calls to IRSF sinks (dial: INR spent on them)."""

    name = "irsf"
    durations = (HOUR, 6 * HOUR)
    night_bias = True

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A spend target; the line is absolute."""
        line = count_line(self.name)
        factor = multiplier(rng, at.grade, 1e3)
        if factor is None:
            return None
        spend = line * factor
        return Plan(
            at.start + self.duration(rng),
            spend,
            line,
            0.0,
            f"INR {spend:,.0f} on calls to IRSF sinks (premium, satellite, high-risk)",
        )

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """Answered calls until the spend is reached (on the same side of the line), plus
        unanswered attempts."""
        remote, rate, talk = _spend(rng, incident.dial, over=incident.dial >= incident.line)
        n = int(talk.shape[0])
        misses = int(np.ceil(0.15 * n))
        far, far_rate = numbering.IRSF_SINKS.draw(rng, misses)
        outcome = np.concatenate([np.full(n, ANSWERED, np.int64), np.full(misses, NO_ANSWER)])
        count = n + misses
        return _calls(rng, account, True, _times(rng, incident.start, incident.end, count),
                      outcome=outcome, talk=np.concatenate([talk, np.zeros(misses)]),
                      local=_dids(rng, pools, count), remote=np.concatenate([remote, far]),
                      rate=np.concatenate([rate, far_rate]))  # fmt: skip


def _spend(
    rng: np.random.Generator, target: float, *, over: bool
) -> tuple[IntArray, FloatArray, FloatArray]:
    """IRSF calls whose charges add up to `target` INR, the last one trimmed: above the target
    by less than one minute's rate when `over`, else below it."""
    numbers: list[int] = []
    rates: list[float] = []
    talks: list[float] = []
    total = 0.0
    while total < target:
        number, rate = numbering.IRSF_SINKS.draw(rng, 1)
        talk = float(np.clip(rng.lognormal(np.log(20 * MINUTE), 0.8), MINUTE, LONGEST_IRSF_S))
        minutes = np.ceil(talk / MINUTE)
        left = (target - total) / float(rate[0])
        if minutes > left:
            minutes = np.ceil(left) if over else np.floor(left)
            talk = minutes * MINUTE
            if minutes < 1:
                break
        numbers.append(int(number[0]))
        rates.append(float(rate[0]))
        talks.append(talk)
        total += minutes * float(rate[0])
    return np.array(numbers, np.int64), np.array(rates), np.array(talks)


class TrafficPumping(Kind):
    """Long calls from one DID to a few premium numbers (dial: answered calls of 8+ min)."""

    name = "traffic_pumping"
    durations = (HOUR, 4 * HOUR)

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A count of long calls; the line is absolute."""
        found = _count_plan(rng, at, self, 0.0, 200.0)
        if found is None:
            return None
        end, count = found
        sinks = int(rng.integers(1, 4))
        return Plan(end, float(count), count_line(self.name), 0.0,
                    f"{count} calls of 8+ min to {sinks} premium number(s) from one DID",
                    (("sinks", float(sinks)),))  # fmt: skip

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """The long calls, and 10 % more attempts that ring out."""
        count = int(incident.dial)
        misses = int(np.ceil(0.1 * count))
        sinks, sink_rates = numbering.PUMPING_SINKS.draw(rng, int(incident.param("sinks")))
        pick = rng.integers(0, len(sinks), count + misses)
        talk = np.clip(rng.lognormal(np.log(15 * MINUTE), 0.4, count), 8 * MINUTE, 3 * HOUR)
        outcome = np.concatenate([np.full(count, ANSWERED, np.int64), np.full(misses, NO_ANSWER)])
        n = count + misses
        return _calls(rng, account, True, _times(rng, incident.start, incident.end, n),
                      outcome=outcome, talk=np.concatenate([talk, np.zeros(misses)]),
                      local=np.full(n, pools.dids[0]), remote=sinks[pick],
                      rate=sink_rates[pick])  # fmt: skip


class SequentialDialing(Kind):
    """A range scan: consecutive numbers in order (dial: calls in the sequence)."""

    name = "sequential_dialing"
    durations = (10 * MINUTE, 90 * MINUTE)

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A count of consecutive numbers; the line is absolute."""
        found = _count_plan(rng, at, self, 0.0, 2000.0)
        if found is None:
            return None
        end, count = found
        return Plan(end, float(count), count_line(self.name), 0.0,
                    f"{count} calls to consecutive numbers of one mobile block")  # fmt: skip

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """Consecutive numbers from a random block start, mostly failing at the switch."""
        n = int(incident.dial)
        first, rate = numbering.IN_MOBILE.draw(rng, 1)
        remote = (first[0] // 10_000) * 10_000 + np.arange(n, dtype=np.int64)
        outcome = _mix(rng, n, {UNALLOCATED: 0.55, INVALID: 0.1, NO_ANSWER: 0.2, ANSWERED: 0.1,
                                BUSY: 0.05})  # fmt: skip
        return _calls(rng, account, True, _times(rng, incident.start, incident.end, n),
                      outcome=outcome, talk=rng.uniform(1.0, 20.0, n),
                      local=_dids(rng, pools, n), remote=remote,
                      rate=np.full(n, rate[0]))  # fmt: skip


class CliSpoofing(Kind):
    """Outbound calls with a spoofed caller id (dial: such calls)."""

    name = "cli_spoofing"
    durations = (30 * MINUTE, 3 * HOUR)

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A count of spoofed calls; the line is absolute."""
        found = _count_plan(rng, at, self, 0.0, 2000.0)
        if found is None:
            return None
        end, count = found
        return Plan(end, float(count), count_line(self.name), 0.0,
                    f"{count} calls whose caller id is the callee's number or a stub")  # fmt: skip

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """Calls to fresh mobiles from the callee's own number or a 5-digit stub."""
        n = int(incident.dial)
        remote, rate = numbering.IN_MOBILE.draw(rng, n)
        stub = 9_100_000 + rng.integers(0, 100_000, n)
        local = np.where(rng.random(n) < 0.5, remote, stub)
        answered = rng.random(n) < account.outcomes.answer_out
        outcome = np.where(answered, ANSWERED, _mix(rng, n, {NO_ANSWER: 0.6, BUSY: 0.2,
                                                              CANCELLED: 0.2}))  # fmt: skip
        return _calls(rng, account, True, _times(rng, incident.start, incident.end, n),
                      outcome=outcome, talk=talk_times(rng, account.talk, n), local=local,
                      remote=remote, rate=rate)  # fmt: skip


class Wangiri(Kind):
    """One-ring inbound calls from many foreign numbers, then callbacks to some of them."""

    name = "wangiri"
    durations = (10 * MINUTE, 45 * MINUTE)

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A count of one-ring calls against the account's usual foreign one-ring calls."""
        burst = self.duration(rng)
        norm = at.norm(at.start, at.start + burst)
        usual = norm.one_ring("inbound", at.account.reach.inbound_international)
        line = count_line(self.name, usual)
        factor = multiplier(rng, at.grade, 1000.0 / line)
        if factor is None:
            return None
        count = whole(line * factor, line)
        back = max(1, round(count * rng.uniform(0.05, 0.25)))
        end = at.start + burst + rng.uniform(30 * MINUTE, 90 * MINUTE)
        detail = (f"{count} one-ring calls from distinct foreign numbers in "
                  f"{burst / MINUTE:.0f} min (usual {usual:.1f}), {back} called back")  # fmt: skip
        params = (("burst_s", burst), ("callbacks", float(back)))
        return Plan(end, float(count), line, usual, detail, params)

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """The one-ring burst into the account's DIDs, then its callbacks."""
        n = int(incident.dial)
        split = incident.start + incident.param("burst_s")
        callers, caller_rates = numbering.WANGIRI_SOURCES.draw(rng, n)
        inbound = _calls(rng, account, False, _times(rng, incident.start, split, n),
                         outcome=np.full(n, CANCELLED, np.int64), talk=np.zeros(n),
                         local=_dids(rng, pools, n), remote=callers,
                         rate=np.full(n, numbering.INBOUND_RATE),
                         ring=rng.uniform(1.0, 3.0, n))  # fmt: skip
        m = int(incident.param("callbacks"))
        pick = rng.integers(0, n, m)
        outcome = np.where(rng.random(m) < 0.8, ANSWERED, NO_ANSWER)
        back = _calls(rng, account, True, _times(rng, split, incident.end, m), outcome=outcome,
                      talk=rng.lognormal(np.log(60.0), 0.6, m), local=_dids(rng, pools, m),
                      remote=callers[pick], rate=caller_rates[pick])  # fmt: skip
        return concat([inbound, back])


class WangiriOutbound(Kind):
    """The account rings many distinct foreign numbers once (dial: such calls)."""

    name = "wangiri_outbound"
    durations = (15 * MINUTE, 2 * HOUR)

    def plan(self, rng: np.random.Generator, at: Placing) -> Plan | None:
        """A count of one-ring calls against the account's usual foreign one-ring calls."""
        end = at.start + self.duration(rng)
        norm = at.norm(at.start, end)
        usual = norm.one_ring("outbound", at.account.reach.international)
        line = count_line(self.name, usual)
        factor = multiplier(rng, at.grade, 2000.0 / line)
        if factor is None:
            return None
        count = whole(line * factor, line)
        detail = (f"{count} one-ring outbound calls to distinct foreign numbers in "
                  f"{(end - at.start) / MINUTE:.0f} min (usual {usual:.1f})")  # fmt: skip
        return Plan(end, float(count), line, usual, detail)

    def added(
        self, rng: np.random.Generator, incident: Incident, account: WorldAccount, pools: Book
    ) -> Calls:
        """Cancelled after 1–3 s of ringing, to numbers in the ordinary foreign markets."""
        n = int(incident.dial)
        victims, rate = numbering.foreign_mix(None, 0.0).draw(rng, n)
        return _calls(rng, account, True, _times(rng, incident.start, incident.end, n),
                      outcome=np.full(n, CANCELLED, np.int64), talk=np.zeros(n),
                      local=_dids(rng, pools, n), remote=victims, rate=rate,
                      ring=rng.uniform(1.0, 3.0, n))  # fmt: skip
