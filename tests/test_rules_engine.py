"""The rule engine: emission contract, labels, overrides, allow-lists, shadow, eviction."""

from __future__ import annotations

import itertools
import pickle
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from detector.alerting.policy import AlertPolicy, AlertsState
from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.domain import AlertStatus, Severity, fingerprint
from detector.pipeline import Detector
from detector.rules.engine import RuleEngine, RulesState
from detector.rules.runner import KeyState
from detector.rules.testing import make_cdr, ruleset_of
from tests.test_rule_kinds_contract import run, stream

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
SHORT = {
    "id": "short-calls",
    "kind": "threshold",
    "match": {"direction": "outbound", "talk_s": {"lt": 6}},
    "window": "10m",
    "thresholds": {"warning": 3, "critical": 6},
    "labels": {"pattern": "robocall"},
    "summary": "{account}: {value:.0f} short calls in {window}",
}


def engine_of(**changes: Any) -> RuleEngine:
    """An engine running the short-call rule with `changes` applied."""
    return RuleEngine(ruleset_of({**SHORT, **changes}))


def feed(engine: RuleEngine, offsets_s: list[float], **fields: Any) -> list[Any]:
    """Short outbound calls at the given offsets (seconds after T0), each to a new number."""
    state = engine.new_state()
    found = []
    vary = None if "to_number" in fields else "to"
    for i, offset in enumerate(offsets_s):
        cdr = make_cdr(T0 + timedelta(seconds=offset), f"c{i}", {"talk_s": 2, **fields}, vary, i)
        found.extend(engine.observe(cdr, state))
    return found


def test_rising_severity_emits_at_once() -> None:
    """Crossing warning and then critical each emit immediately, in that order."""
    found = feed(engine_of(), [0, 10, 20, 30, 40, 50])
    assert [f.severity for f in found] == [Severity.WARNING, Severity.CRITICAL]
    assert [f.value for f in found] == [3, 6]


def test_still_firing_heartbeat_is_at_most_once_per_quarter_window() -> None:
    """While above, findings repeat no more often than max(window/4, 60 s) of event time."""
    found = feed(engine_of(thresholds={"warning": 1}), [i * 10.0 for i in range(60)])
    times = [f.at for f in found]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert found
    assert all(gap >= 150 for gap in gaps)
    assert len(found) == 4  # t = 0, 150, 300, 450 s of a 590 s stream


def test_nothing_is_emitted_while_below_the_threshold() -> None:
    """Two short calls in a window never reach warning 3."""
    assert feed(engine_of(), [0, 400, 800, 1200]) == []


def test_dropping_below_then_crossing_again_emits_again() -> None:
    """After the value falls below the threshold the next crossing emits without waiting."""
    found = feed(engine_of(window="2m", thresholds={"warning": 2}), [0, 10, 300, 310])
    assert [f.at for f in found] == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=310)]


def test_finding_carries_labels_summary_evidence_and_window() -> None:
    """Labels are account, group and rule labels sorted; summary is rendered; evidence call ids."""
    finding = feed(engine_of(), [0, 10, 20])[0]
    assert finding.labels == (("account", "MA_test"), ("pattern", "robocall"))
    assert finding.summary == "MA_test: 3 short calls in 10m"
    assert finding.evidence == ("c0", "c1", "c2")
    assert (finding.source, finding.key, finding.window_s, finding.threshold) == (
        "short-calls",
        "MA_test",
        600.0,
        3,
    )
    assert dict(finding.details)["top_destinations"].count("×1") == 3
    assert not finding.shadow


def test_evidence_keeps_the_last_three_call_ids_and_eight_destinations() -> None:
    """A key remembers only its newest 3 matching call ids and 8 matching destinations."""
    track = KeyState(data=None)
    for i in range(12):
        track.remember(f"c{i}", f"+1555000{i:04d}")
    assert track.evidence == ["c9", "c10", "c11"]
    assert track.peers == [f"+1555000{i:04d}" for i in range(4, 12)]


def test_a_track_pickled_with_bounded_deques_still_remembers_within_the_caps() -> None:
    """State saved when evidence was kept in deques loads and keeps the same caps."""
    old = KeyState(data=None)
    old.evidence = deque(["a", "b", "c"], maxlen=3)  # type: ignore[assignment]
    old.peers = deque(["+1"] * 8, maxlen=8)  # type: ignore[assignment]
    track = pickle.loads(pickle.dumps(old))  # noqa: S301 - our own bytes, like the store
    track.remember("d", "+2")
    assert list(track.evidence) == ["b", "c", "d"]
    assert list(track.peers) == ["+1"] * 7 + ["+2"]


def test_group_by_adds_the_group_value_to_key_and_labels() -> None:
    """Grouping by destination makes one key (and fingerprint) per number."""
    found = feed(engine_of(group_by=["account", "to"]), [0, 10, 20], to_number="+5355512345")
    assert found[0].key == "MA_test|+5355512345"
    assert ("to", "+5355512345") in found[0].labels


def test_per_account_override_changes_thresholds_for_that_account_only() -> None:
    """An override raises the bar for its account and leaves the others alone."""
    engine = engine_of(overrides={"MA_big": {"thresholds": {"warning": 100}}})
    assert feed(engine, [0, 10, 20], account="MA_big") == []
    assert len(feed(engine, [0, 10, 20], account="MA_small")) == 1


def test_a_volume_cap_silences_readings_above_it() -> None:
    """With `max_volume: 4`, the 3rd and 4th short calls emit but the 5th (volume 5) does not."""
    found = feed(engine_of(max_volume=4), [0, 10, 20, 30, 40, 50])
    assert [f.value for f in found] == [3]
    assert feed(engine_of(), [0, 10, 20, 30, 40, 50])[0].value == 3


def test_override_can_switch_a_rule_off_for_an_account() -> None:
    """`enabled: false` in an override silences the rule for that account."""
    engine = engine_of(overrides={"MA_lab": {"enabled": False}})
    assert feed(engine, [0, 10, 20, 30, 40, 50], account="MA_lab") == []


def test_allow_lists_skip_accounts_and_prefixes() -> None:
    """Allow-listed accounts and destination prefixes are never counted."""
    engine = engine_of(allow={"accounts": ["MA_test"]})
    assert feed(engine, [0, 10, 20]) == []
    engine = engine_of(allow={"to_prefixes": ["+9198"]})
    assert feed(engine, [0, 10, 20]) == []
    assert len(feed(engine, [0, 10, 20], to_number="+5355500000")) == 1


def test_min_volume_counts_all_cdrs_of_the_key() -> None:
    """Below `min_volume` CDRs (matching or not) nothing is judged; above it the rule fires."""
    engine = engine_of(min_volume=5)
    assert feed(engine, [0, 10, 20]) == []
    state = engine.new_state()
    for i in range(3):
        long_call = make_cdr(T0 + timedelta(seconds=i), f"l{i}", {"talk_s": 300}, "to", i)
        engine.observe(long_call, state)
    short = [make_cdr(T0 + timedelta(seconds=10 + i), f"s{i}", {"talk_s": 2}) for i in range(3)]
    found = [f for c in short for f in engine.observe(c, state)]
    assert [f.value for f in found] == [3]


def test_shadow_rules_mark_their_findings() -> None:
    """`mode: shadow` findings carry shadow=True for the policy to record, not notify."""
    assert all(f.shadow for f in feed(engine_of(mode="shadow"), [0, 10, 20]))


def test_timings_default_resolve_after_to_the_window() -> None:
    """AlertTiming carries for, keep_firing_for and cooldown, and resolves after the window."""
    timing = engine_of(**{"for": "2m", "keep_firing_for": "5m", "cooldown": "1h"}).timings()
    assert timing["short-calls"].resolve_after_s == 600.0
    assert (timing["short-calls"].for_s, timing["short-calls"].keep_firing_for_s) == (120, 300)
    assert timing["short-calls"].cooldown_s == 3600


def test_advance_without_ticking_rules_does_nothing() -> None:
    """With no flatline rule, advance returns no findings and leaves the state untouched."""
    engine, state = engine_of(), RulesState()
    assert engine.advance("MA_test", T0 + timedelta(days=1), state) == []
    assert state == RulesState()


def test_idle_keys_are_evicted_after_their_window() -> None:
    """Keys whose windows emptied are dropped by the periodic sweep, keeping state small."""
    engine = engine_of(group_by=["account", "to"])
    state = engine.new_state()
    for i in range(50):
        engine.observe(make_cdr(T0 + timedelta(seconds=i), f"c{i}", {"talk_s": 2}, "to", i), state)
    assert len(state.by_rule["short-calls"]) == 50
    later = make_cdr(T0 + timedelta(hours=2), "late", {"talk_s": 200})
    engine.observe(later, state)
    assert "short-calls" not in state.by_rule
    assert len(pickle.dumps(state)) < 8192


def test_findings_drive_the_alert_policy_to_fire_and_resolve() -> None:
    """Engine findings through the real AlertPolicy: one FIRING, then RESOLVED after the window."""
    engine = engine_of()
    policy = AlertPolicy(engine.timings())
    alerts_state, alerts = AlertsState(), []
    for finding in feed(engine, [0, 10, 20, 30, 40, 50]):
        alerts.extend(policy.on_finding(finding, alerts_state))
    alerts.extend(policy.advance(T0 + timedelta(hours=1), alerts_state))
    statuses = [a.status for a in alerts]
    assert statuses[0] is AlertStatus.FIRING
    assert statuses[-1] is AlertStatus.RESOLVED
    expected = fingerprint("short-calls", {"account": "MA_test", "pattern": "robocall"})
    assert {a.fingerprint for a in alerts} == {expected}


def test_field_index_gives_the_findings_of_the_general_path() -> None:
    """Skipping rules by (direction, status, answered) finds exactly what full matching finds."""
    rules: list[dict[str, Any]] = [
        {**SHORT, "id": "a", "match": {"status": ["no_answer", "failed"], "talk_s": {"lt": 6}}},
        {**SHORT, "id": "b", "match": {"answered": True, "direction": "inbound"}},
        {**SHORT, "id": "c", "min_volume": 4, "match": {"status": {"ne": "answered"}}},
        {**SHORT, "id": "d", "match": {"any": [{"answered": False}, {"talk_s": {"gt": 90}}]}},
    ]
    fast, slow = (RuleEngine(ruleset_of(*rules)) for _ in range(2))
    slow.plans = {}  # no direction plan: every rule runs its whole `match`
    cdrs = stream(7, n=1500)
    expected = run(slow, cdrs, slow.new_state())
    assert run(fast, cdrs, fast.new_state()) == expected
    assert {f.source for f in expected} == {"a", "b", "c", "d"}
    assert len(fast.index[("outbound", "answered", True)]) == 2  # "c" stays: it watches all


def test_rules_grouped_alike_find_what_each_rule_keying_alone_finds() -> None:
    """Rules of one grouping share a key per CDR (next to each other or with another grouping
    between them) and find exactly what the general path (every rule keying alone) finds."""
    rules: list[dict[str, Any]] = [
        {**SHORT, "id": "a", "group_by": ["account", "dest_country"]},
        {**SHORT, "id": "b", "group_by": ["account", "direction"]},
        {**SHORT, "id": "c", "group_by": ["account", "dest_country"], "window": "30m"},
        {**SHORT, "id": "d", "group_by": ["account", "dest_country"], "window": "1h"},
    ]
    fast, slow = (RuleEngine(ruleset_of(*rules)) for _ in range(2))
    slow.plans = {}  # the general path: no shared key functions
    cdrs = stream(7, n=1500)
    expected = run(slow, cdrs, slow.new_state())
    assert run(fast, cdrs, fast.new_state()) == expected
    assert {(f.source, f.key.split("|")[1]) for f in expected} >= {
        ("a", "CU"),
        ("b", "outbound"),
        ("c", "CU"),
        ("c", "IN"),
        ("d", "GB"),
    }


def unanswered(window: str) -> dict[str, Any]:
    """A no-answer share rule with a volume floor of 12, lowered to 5 for the test account."""
    return {
        "id": "unanswered", "kind": "ratio", "match": {"direction": "outbound"},
        "where": {"status": "no_answer"}, "window": window, "min_volume": 12,
        "thresholds": {"warning": 0.3, "critical": 0.5},
        "overrides": {"MA_test": {"min_volume": 5}},
    }  # fmt: skip


def test_volume_and_threshold_shortcuts_find_what_the_full_contract_finds() -> None:
    """Skipping readings below every account's threshold or volume floor changes no finding."""
    rules: list[dict[str, Any]] = [unanswered("30m"), {**SHORT, "min_volume": 8}]
    fast, slow = (RuleEngine(ruleset_of(*rules)) for _ in range(2))
    for runner in slow.runners:  # every reading goes through the emission contract
        runner.floor, runner.volume_floor = float("-inf"), 0.0
    assert [r.volume_floor for r in fast.runners] == [5.0, 8.0]
    cdrs = stream(11, n=1500)
    expected = run(slow, cdrs, slow.new_state())
    assert run(fast, cdrs, fast.new_state()) == expected
    assert {f.source for f in expected} == {"unanswered", "short-calls"}


def test_sweep_drops_state_of_rules_no_longer_in_the_set() -> None:
    """Keys of a rule removed by a reload go at the next sweep; baselines of kept rules stay."""
    novelty = {"id": "new-country", "kind": "new_value", "field": "dest_country",
               "thresholds": {"warning": 1}}  # fmt: skip
    engine = RuleEngine(ruleset_of(SHORT, novelty))
    state = engine.new_state()
    engine.observe(make_cdr(T0, "c1", {"talk_s": 2}), state)
    state.by_rule["gone"] = {}
    engine.sweep(state, int((T0 + timedelta(days=1)).timestamp()))
    assert set(state.by_rule) == {"new-country"}


def test_late_call_within_the_lateness_is_judged_in_its_own_window() -> None:
    """Five calls, the head moves on, then a sixth late call completes their window: critical."""
    offsets = [0.0, 10, 20, 30, 40, 640, 50]  # 50 arrives after 640, within the lateness
    found = feed(engine_of(), offsets)
    assert [(f.severity, f.value) for f in found] == [
        (Severity.WARNING, 3),
        (Severity.CRITICAL, 6),
    ]
    assert found[-1].at == T0 + timedelta(seconds=50)
    without = feed(RuleEngine(ruleset_of(SHORT), lateness_s=0), offsets)
    assert [f.severity for f in without] == [Severity.WARNING]  # older than the window: lost


def test_a_late_call_that_completes_a_later_window_is_stamped_at_that_window() -> None:
    """A call from 100 s arriving after calls at 300 and 310 s completes the window ending in
    the 300-320 s bucket, so its finding is at 300 s (that bucket's start), not at 100 s."""
    found = feed(engine_of(), [300.0, 310, 100])
    assert [(f.severity, f.value, f.at) for f in found] == [
        (Severity.WARNING, 3, T0 + timedelta(seconds=300))
    ]


def test_late_peaks_skipped_by_the_bound_change_no_finding() -> None:
    """Reading late peaks only when the O(1) bound can reach a floor finds what always reading
    them finds, on a stream whose calls arrive when they end."""
    talk = {**SHORT, "id": "talk", "match": {}, "aggregate": {"sum": "talk_s"},
            "thresholds": {"warning": 600, "critical": 1200}, "min_volume": 3}  # fmt: skip
    rules: list[dict[str, Any]] = [unanswered("10m"), {**SHORT, "min_volume": 8}, talk]
    fast, slow = (RuleEngine(ruleset_of(*rules)) for _ in range(2))
    for runner in slow.runners:  # every late CDR reads its peak, every reading is judged
        runner.floor, runner.volume_floor = float("-inf"), 0.0
        floors = runner.kind.floors  # type: ignore[attr-defined]
        runner.kind.floors = replace(floors, level=float("-inf"), volume=0.0)  # type: ignore[attr-defined]
    cdrs = sorted(stream(11, n=1500), key=lambda c: c.end)
    assert any(b.start < a.start for a, b in itertools.pairwise(cdrs))
    expected = run(slow, cdrs, slow.new_state())
    assert run(fast, cdrs, fast.new_state()) == expected
    assert {f.source for f in expected} == {"unanswered", "short-calls", "talk"}


def test_build_detector_gives_the_engine_the_detectors_lateness() -> None:
    """The Detector's allowed lateness sets how far back the engine's windows keep history."""
    detector = build_detector(RULES_DIR, ModelSettings(enabled=False), None, 120.0)
    assert detector.engine.lateness_s == 120.0
    assert detector.allowed_lateness == timedelta(seconds=120)
    assert RuleEngine(ruleset_of(SHORT)).lateness_s == 600.0


def test_a_call_older_than_the_retention_is_counted_late_by_the_detector() -> None:
    """What the windows no longer retain is older than the allowed lateness: reported as late."""
    engine = RuleEngine(ruleset_of(SHORT), lateness_s=600)
    detector = Detector(engine, None)
    at = [2000, 1400, 799]  # 20 s buckets: window 71..100, retained from 41 (820 s) on
    cdrs = [make_cdr(T0 + timedelta(seconds=s), f"c{s}", {"talk_s": 2}) for s in at]
    assert [detector.process([cdr]).late for cdr in cdrs] == [0, 0, 1]
    hits = detector.accounts["MA_test"].rules.by_rule["short-calls"]["MA_test"].data.hits
    assert (hits.count, hits.older, len(hits.cells), len(hits.kept)) == (1, 1, 1, 1)  # 799 s: no


def test_sweep_keeps_a_baseline_but_drops_its_spent_window_and_evidence() -> None:
    """A shift key survives a sweep with its learned share; its old window and call ids go."""
    shift = {"id": "unanswered", "kind": "shift", "match": {"direction": "outbound"},
             "where": {"status": "no_answer"}, "window": "20m", "prior": 0.3,
             "thresholds": {"warning": 0.2}}  # fmt: skip
    engine = RuleEngine(ruleset_of(shift))
    state = engine.new_state()
    for i in range(200):
        status = "no_answer" if i % 3 == 0 else "answered"
        engine.observe(make_cdr(T0 + timedelta(minutes=i), f"c{i}", {"status": status}), state)
    [track] = state.by_rule["unanswered"].values()
    learned = track.data.usual.population
    assert track.data.window.cells
    assert track.evidence
    engine.sweep(state, int((T0 + timedelta(days=1)).timestamp()))
    [kept] = state.by_rule["unanswered"].values()
    assert kept.data.usual.population == learned > 0
    assert (kept.data.window.cells, kept.data.window.count, kept.evidence) == ({}, 0.0, [])


def test_a_key_pickles_small_when_idle_and_loads_from_the_older_form() -> None:
    """A key at its defaults pickles as its data alone; the `(None, slots)` form of earlier
    releases and a busy key both load back unchanged."""
    idle, busy = KeyState({"n": 1}), KeyState({"n": 2}, 1, 5, ["c1"], ["+911"])
    assert idle.__getstate__() == ({"n": 1},)
    assert [pickle.loads(pickle.dumps(t)) for t in (idle, busy)] == [idle, busy]  # noqa: S301
    older = KeyState.__new__(KeyState)
    older.__setstate__((None, {"data": {"n": 2}, "severity": 1, "emitted": 5,
                               "evidence": ["c1"], "peers": ["+911"]}))  # fmt: skip
    assert older == busy


def test_a_key_saved_under_its_old_class_name_loads() -> None:
    """Rule state pickled when a key's class was `runner.Track` loads as a `KeyState`."""
    key = KeyState({"n": 2}, 1, 5, ["c1"], ["+911"])
    blob = pickle.dumps(key, protocol=2)
    old = blob.replace(b"\nKeyState\n", b"\nTrack\n")
    assert old != blob
    assert pickle.loads(old) == key  # noqa: S301 - bytes made here
