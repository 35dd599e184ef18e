"""Call attempts (trunk `CallInitiated` webhooks) → findings: attempt rate and refused share.

Pure: attempts in, findings out, on event time. A CallInitiated arrives for every outbound
attempt, including those the platform refuses (`Allowed: false` with a reason such as a rate
or concurrency limit) which never become CDRs, and it arrives when the call starts, not when
it ends: a dialer burst shows in its first seconds. Two rules per account, both set in
`webhooks.attempts`:

- `attempts:rate` — attempts in the last `rate_window_s` (default 10 s) at or above
  `rate_warning` / `rate_critical` (20 / 50: 2 and 5 calls a second sustained);
- `attempts:refused` — the share of attempts the platform refused for one reason over
  `refused_window_s` (60 s), with at least `refused_min` attempts, at or above
  `refused_warning` / `refused_critical` (0.5 / 0.9): an account hammering its limits.

Findings go through the alert policy like any rule's. The windows are kept in memory only:
they span seconds to a minute, so a restart loses at most that much of a burst's start.

>>> from datetime import UTC, datetime, timedelta
>>> from detector.webhooks.events import Attempt
>>> t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
>>> burst = [Attempt(f"c{i}", "MA_1", "", "+9198", t0 + timedelta(seconds=i / 4), True, "")
...          for i in range(24)]
>>> [(f.source, f.severity.label, f.value) for f in AttemptMonitor(AttemptRules()).observe(burst)]
[('attempts:rate', 'warning', 20.0)]
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from detector.domain import Finding, Severity
from detector.webhooks.events import Attempt

RATE, REFUSED = "attempts:rate", "attempts:refused"


@dataclass(frozen=True, slots=True)
class AttemptRules:
    """Thresholds of the two attempt rules (see the module doc)."""

    rate_window_s: float = 10.0
    rate_warning: int = 20
    rate_critical: int = 50
    refused_window_s: float = 60.0
    refused_min: int = 10
    refused_warning: float = 0.5
    refused_critical: float = 0.9


@dataclass(slots=True)
class _Recent:
    """One account's attempts within the longest window, oldest first."""

    attempts: deque[Attempt] = field(default_factory=deque)
    fired: dict[str, Severity] = field(default_factory=dict)
    """The severity each rule last reported, so a burst gives one finding per level."""


class AttemptMonitor:
    """Keeps each account's recent attempts and reports the rules' findings."""

    def __init__(self, rules: AttemptRules) -> None:
        self.rules = rules
        self.accounts: dict[str, _Recent] = {}
        self._span = max(rules.rate_window_s, rules.refused_window_s)

    def observe(self, attempts: Iterable[Attempt]) -> list[Finding]:
        """Findings caused by `attempts` (in arrival order)."""
        found: list[Finding] = []
        for attempt in attempts:
            if not attempt.account:
                continue
            recent = self.accounts.setdefault(attempt.account, _Recent())
            recent.attempts.append(attempt)
            while (attempt.at - recent.attempts[0].at).total_seconds() > self._span:
                recent.attempts.popleft()
            found += self._judge(attempt, recent)
        return found

    def _judge(self, last: Attempt, recent: _Recent) -> list[Finding]:
        rules = self.rules
        rate = [a for a in recent.attempts if _age(last, a) <= rules.rate_window_s]
        levels = (float(rules.rate_warning), float(rules.rate_critical))
        out = self._level(RATE, last, recent, float(len(rate)), rate, levels, rules.rate_window_s)
        window = [a for a in recent.attempts if _age(last, a) <= rules.refused_window_s]
        refused = Counter(a.reason for a in window if not a.allowed)
        if len(window) >= rules.refused_min and refused:
            reason, n = refused.most_common(1)[0]
            hits = [a for a in window if not a.allowed and a.reason == reason]
            levels = (rules.refused_warning, rules.refused_critical)  # a share this time
            out += self._level(REFUSED, last, recent, n / len(window), hits, levels,
                               rules.refused_window_s, reason)  # fmt: skip
        return out

    def _level(
        self,
        source: str,
        last: Attempt,
        recent: _Recent,
        value: float,
        evidence: list[Attempt],
        levels: tuple[float, float],
        window_s: float,
        reason: str = "",
    ) -> list[Finding]:
        """A finding when `value` reaches a level higher than the one reported last."""
        severity = _severity(value, levels)
        if severity is None:
            recent.fired.pop(source, None)
            return []
        if recent.fired.get(source, Severity.INFO) >= severity:
            return []
        recent.fired[source] = severity
        threshold = levels[0] if severity is Severity.WARNING else levels[1]
        what = f"{value:.0f} call attempts in {window_s:.0f} s" if source == RATE else (
            f"{value:.0%} of attempts refused ({reason}) in {window_s:.0f} s")  # fmt: skip
        return [
            Finding(
                source=source, account=last.account, key=last.account, severity=severity,
                value=value, threshold=threshold, window_s=window_s, at=last.at,
                summary=f"{last.account}: {what}",
                evidence=tuple(a.call_id for a in evidence[-5:]),
                labels=(("reason", reason),) if reason else (),
            )
        ]  # fmt: skip


def _age(last: Attempt, attempt: Attempt) -> float:
    return (last.at - attempt.at).total_seconds()


def _severity(value: float, levels: tuple[float, float]) -> Severity | None:
    if value >= levels[1]:
        return Severity.CRITICAL
    if value >= levels[0]:
        return Severity.WARNING
    return None
