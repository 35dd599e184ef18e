"""A flatline on a feed whose watermark moves in jumps: one silence, one alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detector.domain import CDR
from detector.pipeline import Detector
from detector.rules.engine import RuleEngine
from detector.rules.testing import make_cdr, ruleset_of

MONDAY = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
RULE = {"id": "quiet", "kind": "flatline", "window": "10m", "warmup": "1d", "min_surprise": 5,
        "dispersion": 10, "thresholds": {"warning": 15, "critical": 100}}  # fmt: skip


def calls(every_s: int, start: datetime, end: datetime, account: str) -> list[CDR]:
    """One call every `every_s` seconds from `start` up to `end`, of `account`."""
    out, t = [], start
    while t < end:
        out.append(make_cdr(t, f"{account}-{t.timestamp():.0f}", {"account": account}))
        t += timedelta(seconds=every_s)
    return out


def firing(silent_after: datetime, other_every_s: int) -> list[str]:
    """Two days of one call a minute on MA_test and its silence from `silent_after` for six
    hours, while another account's calls (one every `other_every_s`) move the watermark, fed
    one CDR at a time as a feed that brings nothing else would; MA_test's firing alerts."""
    detector = Detector(RuleEngine(ruleset_of(RULE)), None)
    end = silent_after + timedelta(hours=6)
    feed = calls(60, MONDAY, silent_after, "MA_test")
    feed += calls(other_every_s, MONDAY, end, "MA_other")
    notices: list[str] = []
    for cdr in sorted(feed, key=lambda c: c.end):
        step = detector.process([cdr])
        notices += [
            f"{a.severity.label}@{a.starts_at:%H:%M}"
            for a in step.alerts
            if a.account == "MA_test" and a.status == "firing"
        ]
    return notices


def test_a_silence_seen_only_at_sparse_watermarks_fires_one_alert_per_severity() -> None:
    """With the watermark moving only every 13 minutes (a small feed at night), a six-hour
    silence of a one-call-a-minute account is one alert, escalated once: the gaps between its
    ticks are not quiet spells that resolve it and fire it again."""
    silent_after = MONDAY + timedelta(days=2, hours=1)
    sparse = firing(silent_after, other_every_s=13 * 60)
    dense = firing(silent_after, other_every_s=60)
    assert [n.split("@")[0] for n in sparse] == ["warning", "critical"]
    assert [n.split("@")[0] for n in dense] == ["warning", "critical"]
