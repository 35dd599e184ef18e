"""Behaviour of individual rule kinds, match predicates and derived fields."""

from __future__ import annotations

import doctest
import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from detector.domain import Finding, Severity
from detector.rules.engine import RuleEngine
from detector.rules.fields import Facts, Locale
from detector.rules.kinds.shift import Share
from detector.rules.predicate import PredicateError, compile_predicate
from detector.rules.spec import RuleSettings
from detector.rules.testing import make_cdr, ruleset_of
from detector.windows.clock import LocalHours
from detector.windows.positional import named_state

MONDAY = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)  # 10:00 Monday in Asia/Kolkata


def run(rule: dict[str, Any], rows: list[tuple[float, dict[str, Any]]]) -> list[Finding]:
    """Feed (offset seconds, CDR fields) rows of one account through one rule."""
    engine = RuleEngine(ruleset_of({"id": "r", **rule}))
    state = engine.new_state()
    found: list[Finding] = []
    for i, (offset, fields) in enumerate(rows):
        found.extend(
            engine.observe(make_cdr(MONDAY + timedelta(seconds=offset), f"c{i}", fields), state)
        )
    return found


def test_ratio_needs_its_minimum_volume_before_judging() -> None:
    """A 100 % failure share on fewer CDRs than `min_volume` stays quiet, then fires."""
    rule = {"kind": "ratio", "where": {"status": "failed"}, "min_volume": 5,
            "thresholds": {"warning": 0.5}}  # fmt: skip
    rows = [(i * 10.0, {"status": "failed"}) for i in range(5)]
    assert run(rule, rows[:4]) == []
    found = run(rule, rows)
    assert [(f.value, f.severity) for f in found] == [(1.0, Severity.WARNING)]


def test_match_kind_compares_the_chosen_field_with_thresholds() -> None:
    """A single long call is judged on its talk time: 5 h warning, 9 h critical."""
    rule = {"kind": "match", "match": {"talk_s": {"gt": 14400}}, "value": "talk_s",
            "thresholds": {"warning": 14400, "critical": 28800}}  # fmt: skip
    found = run(rule, [(0, {"talk_s": 18000}), (10, {"talk_s": 600}), (20, {"talk_s": 32400})])
    assert [f.severity for f in found] == [Severity.WARNING, Severity.CRITICAL]


def test_distinct_counts_different_destinations_only() -> None:
    """Ten calls to two numbers count 2 distinct; ten calls to ten numbers count 10."""
    rule = {"kind": "distinct", "field": "to", "window": "5m", "thresholds": {"warning": 10}}
    same = [(i * 5.0, {"to_number": f"+91980000000{i % 2}"}) for i in range(10)]
    spread = [(i * 5.0, {"to_number": f"+91980000000{i}"}) for i in range(10)]
    assert run(rule, same) == []
    assert [f.value for f in run(rule, spread)] == [10]


def test_new_value_fires_after_warmup_and_not_within_lookback() -> None:
    """A country unseen for the account fires once history is long enough; a repeat does not."""
    rule = {"kind": "new_value", "field": "dest_country", "warmup": "1d", "lookback": "30d"}
    day = 86400.0
    rows = [(0, {"dest_country": "US"}), (0.5 * day, {"dest_country": "GB"}),
            (2 * day, {"dest_country": "CU"}), (3 * day, {"dest_country": "CU"}),
            (40 * day, {"dest_country": "US"})]  # fmt: skip
    found = run(rule, rows)
    assert [dict(f.details)["note"] for f in found] == [
        "new dest_country CU",
        "new dest_country US",
    ]


def test_sequence_needs_the_first_event_within_the_time_limit() -> None:
    """A callback counts only when the same number rang in within `within` before."""
    rule = {"kind": "sequence", "first": {"direction": "inbound", "answered": False},
            "then": {"direction": "outbound"}, "join": "peer", "within": "1h",
            "thresholds": {"warning": 1}}  # fmt: skip
    ring = {"direction": "inbound", "status": "cancelled", "from_number": "+5355500001"}
    back = {"direction": "outbound", "to_number": "+5355500001"}
    assert len(run(rule, [(0, ring), (600, back)])) == 1
    assert run(rule, [(0, ring), (7200, back)]) == []
    assert run(rule, [(0, back)]) == []


def test_spike_waits_for_warmup_and_floor_then_compares_with_the_baseline() -> None:
    """After a week of 1 call/h, 30 calls in an hour is a 30× spike; before warm-up it is not."""
    rule = {"kind": "spike", "window": "60m", "warmup": "7d", "floor": 10,
            "thresholds": {"warning": 5, "critical": 20}}  # fmt: skip
    history: list[tuple[float, dict[str, Any]]] = [(h * 3600.0, {}) for h in range(24 * 8)]
    burst: list[tuple[float, dict[str, Any]]] = [(24 * 8 * 3600.0 + 60 * i, {}) for i in range(30)]
    found = run(rule, history + burst)
    assert found
    assert found[-1].severity is Severity.CRITICAL
    assert run(rule, history[:24] + [(24 * 3600.0 + 60 * i, {}) for i in range(30)]) == []


def test_flatline_fires_on_advance_when_a_busy_account_goes_silent() -> None:
    """Four days of a call a minute, then silence: advance reports the calls expected since
    the last one (70 after 70 minutes), not before the silence is `window` long."""
    rule = {"kind": "flatline", "window": "1h", "warmup": "3d", "thresholds": {"warning": 30}}
    engine = RuleEngine(ruleset_of({"id": "quiet", **rule}))
    state = engine.new_state()
    last = MONDAY
    for i in range(4 * 24 * 60):
        last = MONDAY + timedelta(minutes=i)
        engine.observe(make_cdr(last, f"c{i}", {}), state)
    assert engine.advance("MA_test", last + timedelta(minutes=5), state) == []
    found = engine.advance("MA_test", last + timedelta(minutes=70), state)
    assert [round(f.value) for f in found] == [70]
    assert found[0].at == last + timedelta(minutes=70)


def office_days(engine: RuleEngine, days: int, state: Any, last_day_hours: int = 8) -> datetime:
    """Feed a call a minute from 10:00 to 18:00 India time for `days` days; return the last."""
    last = MONDAY
    for day in range(days):
        hours = last_day_hours if day == days - 1 else 8
        for i in range(hours * 60):
            last = MONDAY + timedelta(days=day, minutes=i)
            engine.observe(make_cdr(last, f"c{day}-{i}", {}), state)
    return last


def flatline_findings(engine: RuleEngine, state: Any, last: datetime, hours: int) -> list[Finding]:
    """Advance minute by minute for `hours` after `last`, collecting findings."""
    found: list[Finding] = []
    for minute in range(1, hours * 60 + 1):
        found.extend(engine.advance("MA_test", last + timedelta(minutes=minute), state))
    return found


def test_flatline_catches_an_outage_after_two_days_of_history() -> None:
    """Two office days, then silence from noon on the third: caught at its hour-of-day level."""
    rule = {"id": "quiet", "kind": "flatline", "window": "2h", "warmup": "2d",
            "thresholds": {"warning": 15, "critical": 120}}  # fmt: skip
    engine = RuleEngine(ruleset_of(rule))
    state = engine.new_state()
    last = office_days(engine, 3, state, last_day_hours=2)
    found = flatline_findings(engine, state, last, 3)
    assert found
    assert found[0].severity is Severity.CRITICAL
    assert round(found[0].value) == 120


def test_flatline_does_not_flag_the_quiet_night_after_office_days() -> None:
    """Three office days then the night: nights were silent before, so silence is expected."""
    rule = {"id": "quiet", "kind": "flatline", "window": "2h", "warmup": "2d",
            "thresholds": {"warning": 15}}  # fmt: skip
    engine = RuleEngine(ruleset_of(rule))
    state = engine.new_state()
    last = office_days(engine, 3, state)
    assert flatline_findings(engine, state, last, 15) == []


def test_flatline_judges_an_account_by_its_own_timezone() -> None:
    """Office days in India time for an account mapped to Asia/Kolkata in `timezones`, while the
    rule set's timezone is New York: its outage is judged on its own hours (critical, 120)."""
    rule = {"id": "quiet", "kind": "flatline", "window": "2h", "warmup": "2d",
            "thresholds": {"warning": 15, "critical": 120}}  # fmt: skip
    settings = RuleSettings(timezone="America/New_York", timezones={"MA_test": "Asia/Kolkata"})
    engine = RuleEngine(ruleset_of(rule, settings=settings))
    state = engine.new_state()
    last = office_days(engine, 3, state, last_day_hours=2)
    found = flatline_findings(engine, state, last, 3)
    assert found
    assert (found[0].severity, round(found[0].value)) == (Severity.CRITICAL, 120)


def test_local_hour_fields_use_the_accounts_own_timezone() -> None:
    """At 04:30 UTC it is 10:00 in India but 23:30 in New York: a business-hours rule fires
    for the default (India) account only."""
    rule = {"id": "office", "kind": "match", "match": {"hour": {"ge": 9, "lt": 18}}}
    settings = RuleSettings(timezones={"MA_ny": "America/New_York"})
    engine = RuleEngine(ruleset_of(rule, settings=settings))
    india = make_cdr(MONDAY, "c1", {"account": "MA_in"})
    new_york = make_cdr(MONDAY, "c2", {"account": "MA_ny"})
    assert len(engine.observe(india, engine.new_state())) == 1
    assert engine.observe(new_york, engine.new_state()) == []


def test_advance_is_skipped_until_the_next_tick_is_due() -> None:
    """Within a minute of the previous check, advance returns at once without reading keys."""
    rule = {"id": "quiet", "kind": "flatline", "window": "1h", "warmup": "0s",
            "thresholds": {"warning": 0}}  # fmt: skip
    engine = RuleEngine(ruleset_of(rule))
    state = engine.new_state()
    engine.observe(make_cdr(MONDAY, "c", {}), state)
    engine.advance("MA_test", MONDAY + timedelta(hours=2), state)
    tick = state.next_tick
    engine.advance("MA_test", MONDAY + timedelta(hours=2, seconds=30), state)
    assert state.next_tick == tick


def test_predicates_support_lists_operators_any_not_and_prefixes() -> None:
    """Membership, comparisons, any/not and prefixes compose as documented."""
    test = compile_predicate(
        {"status": ["failed", "busy"], "talk_s": {"ge": 0, "lt": 6},
         "any": [{"to_prefix": ["+53"]}, {"premium": True}], "not": {"trunk": "lab"}},
        {},
    )  # fmt: skip
    base = {"status": "failed", "talk_s": 3.0, "to": "+5355512345", "premium": False, "trunk": ""}
    assert test(SimpleNamespace(**base))
    assert not test(SimpleNamespace(**{**base, "status": "answered"}))
    assert not test(SimpleNamespace(**{**base, "to": "+44"}))
    assert test(SimpleNamespace(**{**base, "to": "+44", "premium": True}))
    assert not test(SimpleNamespace(**{**base, "trunk": "lab"}))


@pytest.mark.parametrize(
    ("spec", "field"),
    [({"premium": "yes"}, "match.premium"), ({"talk_s": {"between": 1}}, "match.talk_s.between"),
     ({"any": []}, "match.any"), ({"to_prefix": 53}, "match.to_prefix")],
)  # fmt: skip
def test_predicate_errors_name_the_field(spec: dict[str, Any], field: str) -> None:
    """Type and operator mistakes are reported with their dotted path."""
    with pytest.raises(PredicateError) as info:
        compile_predicate(spec, {})
    assert info.value.field == field


def test_derived_fields_use_home_country_and_local_time() -> None:
    """International, premium, short call, peer, block and Kolkata hour-of-week are derived."""
    cdr = make_cdr(MONDAY, "c", {"to_number": "+5355512345", "dest_country": "CU",
                                 "dest_type": "PREMIUM_RATE", "talk_s": 3})  # fmt: skip
    facts = Facts(cdr, Locale(), LocalHours("Asia/Kolkata"))
    assert (facts.international, facts.premium, facts.short_call) == (True, True, True)
    assert (facts.peer, facts.to_block) == ("+5355512345", "+53555123")
    assert (facts.hour_of_week, facts.hour) == (10, 10)
    assert not facts.from_invalid
    assert not facts.self_call


@pytest.mark.parametrize(
    "module", ["detector.rules.predicate", "detector.rules.spec", "detector.rules.template"]
)
def test_rule_module_examples_hold(module: str) -> None:
    """The runnable examples in the rule modules' docstrings pass."""
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


def test_fields_derived_on_use_read_like_the_others() -> None:
    """`pair`, `hour` and `hour_of_week` work in predicates and group keys though not stored."""
    cdr = make_cdr(MONDAY, "c", {"from_number": "+912240000001", "to_number": "+5355512345"})
    facts = Facts(cdr, Locale(), LocalHours("Asia/Kolkata"))
    assert facts.pair == "+912240000001>+5355512345"
    test = compile_predicate({"hour": {"ge": 10}, "hour_of_week": 10}, {})
    assert test(facts)
    rule = {"id": "pairs", "kind": "threshold", "group_by": ["pair"], "thresholds": {"warning": 1}}
    engine = RuleEngine(ruleset_of(rule))
    (finding,) = engine.observe(cdr, engine.new_state())
    assert finding.key == "+912240000001>+5355512345"


UNANSWERED = {"kind": "ratio", "where": {"status": "no_answer"}, "window": "10m",
              "min_volume": 5, "thresholds": {"warning": 0.5}}  # fmt: skip
Rows = list[tuple[float, dict[str, Any]]]
MIXED: Rows = [(0, {}), (5, {}), (10, {}), (20, {"status": "no_answer"}), (650, {}),
               (30, {"status": "no_answer"}), (35, {"status": "no_answer"})]  # fmt: skip
"""Three answered, one unanswered; the head moves on; two late unanswered complete 3 of 6."""


def test_ratio_reads_the_peak_share_of_the_windows_a_late_call_belongs_to() -> None:
    """Late unanswered calls lift their own window to 50 % of six calls: warning at 35 s."""
    found = run(UNANSWERED, MIXED)
    assert [(f.value, f.severity, f.at) for f in found] == [
        (0.5, Severity.WARNING, MONDAY + timedelta(seconds=35))
    ]


def test_ratio_late_peak_ignores_windows_below_the_accounts_volume_floor() -> None:
    """With a volume floor of seven for this account, the six-call window cannot fire."""
    rule = {**UNANSWERED, "overrides": {"MA_test": {"min_volume": 7}}}
    assert run(rule, MIXED) == []


def test_sum_of_a_field_reads_the_peak_of_a_late_calls_window() -> None:
    """Talk time summed over five minutes: a late 300 s call completes a 900 s window."""
    rule = {"kind": "threshold", "aggregate": {"sum": "talk_s"}, "window": "5m",
            "thresholds": {"warning": 900}}  # fmt: skip
    rows: Rows = [(0, {"talk_s": 300}), (60, {"talk_s": 300}), (400, {"talk_s": 10}),
                  (120, {"talk_s": 300})]  # fmt: skip
    assert [(f.value, f.at) for f in run(rule, rows)] == [(900, MONDAY + timedelta(seconds=120))]


def test_a_shift_key_saved_before_its_warmup_clock_loads_as_past_it() -> None:
    """A `shift` key pickled before keys remembered their first call loads with `since` at the
    epoch, so a rule given a `warmup` judges it at once instead of failing to load."""
    state = named_state(Share())[1]
    del state["since"]  # what a build before `warmup` pickled
    restored = Share.__new__(Share)
    restored.__setstate__((None, state))
    assert restored.since == 0
    assert restored.window.count == 0.0
