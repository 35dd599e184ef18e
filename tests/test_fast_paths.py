"""The backtest fast paths give exactly what the general paths give (no behaviour change)."""

from __future__ import annotations

import copy
import random
from dataclasses import FrozenInstanceError, fields
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import phonenumbers
import pytest

from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.domain import CDR, Rejected
from detector.domain.cdr import new_cdr
from detector.enrich.numbers import NumberCache, classify_uncached
from detector.simulate import SimOptions, generate
from detector.source import wire
from detector.source.fastrow import read_fast
from detector.source.files import read_cdrs
from detector.source.normalize import normalize

RULES = Path(__file__).resolve().parents[1] / "rules"
ROW = {
    "call_uuid": "c-1", "account_auth_id": "MA_1", "from_number": "+919876543210",
    "to_number": "+447400123456", "direction": "outbound", "status": "answered",
    "start_time": "2026-03-02T03:30:09Z", "answer_time": "2026-03-02T03:30:12Z",
    "end_time": "2026-03-02T03:31:12Z", "duration_seconds": 60, "cost": 1.5,
}  # fmt: skip


def test_classification_matches_phonenumbers_for_every_calling_code() -> None:
    """Cached classification equals the plain phonenumbers reference for random numbers."""
    rng = random.Random(11)
    codes = [str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]
    cache = NumberCache()
    for _ in range(4000):
        code = rng.choice(codes)
        national = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 15 - len(code))))
        number = f"+{code}{national}"
        assert cache.classify(number) == classify_uncached(number), number


def test_plain_utc_times_equal_the_general_parse() -> None:
    """A `…Z` time parses to the same instant as its `+00:00` spelling."""
    fast = normalize(ROW)
    general = normalize({**ROW, "start_time": "2026-03-02T03:30:09+00:00"})
    assert isinstance(fast, CDR)
    assert isinstance(general, CDR)
    assert fast == general


def test_impossible_plain_time_is_still_rejected() -> None:
    """A well-shaped but impossible date is a bad_time, as before."""
    item = normalize({**ROW, "start_time": "2026-02-30T03:30:09Z"})
    assert isinstance(item, Rejected)
    assert item.reason == "bad_time"


def test_status_spellings_still_fold() -> None:
    """Status text in another spelling still folds to its enum (the folding fallback)."""
    item = normalize({**ROW, "status": " No-Answer ", "answer_time": None})
    assert isinstance(item, CDR)
    assert item.status.value == "no_answer"


def test_json_the_stdlib_accepts_still_parses(tmp_path: Path) -> None:
    """A line orjson refuses (NaN) still reaches normalise, which rejects the number."""
    path = tmp_path / "rows.jsonl"
    path.write_text('{"call_uuid": "c-2", "cost": NaN, "mos": 1}\nnot json\n')
    items = list(read_cdrs(path))
    assert isinstance(items[0], Rejected)
    assert items[0].reason == "missing_field"
    assert isinstance(items[1], Rejected)
    assert items[1].reason == "not_an_object"


def test_direction_prefilter_keeps_findings_identical() -> None:
    """Skipping rules by direction yields the same findings as visiting every rule."""
    options = SimOptions(accounts=12, duration=timedelta(hours=6), seed=5)
    rows = [normalize(row) for row in generate(options).rows]
    cdrs = [item for item in rows if isinstance(item, CDR)]
    fast = build_detector(RULES, ModelSettings(enabled=False))
    slow = build_detector(RULES, ModelSettings(enabled=False))
    slow.engine.plans = {}
    expected = [f for c in cdrs for f in slow.engine.observe(c, slow.state_of(c.account).rules)]
    found = [f for c in cdrs for f in fast.engine.observe(c, fast.state_of(c.account).rules)]
    assert found == expected
    assert len(cdrs) > 500
    assert any(f.account for f in expected)


def test_prefilter_drops_only_rules_that_cannot_match() -> None:
    """Inbound CDRs skip outbound-only rules but keep rules that watch every CDR."""
    engine = build_detector(RULES, ModelSettings(enabled=False)).engine
    inbound = {plan[3].id for plan in engine.plans["inbound"]}
    for runner in engine.runners:
        outbound_only = runner.spec.match.get("direction") == "outbound"
        assert (runner.id in inbound) is (not outbound_only or runner.kind.watches_all)


def _general(row: dict[str, object], **kwargs: Any) -> CDR | Rejected:
    """`normalize` through its general path (a mapping that is not a dict skips the fast one)."""
    return normalize(MappingProxyType(row), **kwargs)


EDGE_VALUES: list[object] = [
    None, "", " ", 0, -0.0, 1, 2.5, -1, True, False, 10**400, 2**1001, float("nan"),
    float("inf"), "7", " 7 ", "x", [], {}, "+919876543210", " +919876543210", "9876543210",
    "2026-03-02T03:30:09Z", "2026-03-02T09:00:09+05:30", "2026-03-02T03:30:09", "no-answer",
    "Answered", "outbound", "INBOUND",
]  # fmt: skip
"""Values the fast path must either take exactly like the general path or leave to it."""
FIELDS = sorted({*ROW, "uuid", "account_id", "caller_id_number", "caller_id", "billsec",
                 "destination_number", "call_direction", "ring_duration_seconds", "ring_time",
                 "duration", "total_cost", "hangup_cause", "hangup_cause_name", "mos",
                 "hangup_cause_code", "sip_response_code", "currency", "trunk_id", "context",
                 "sip_user_agent"})  # fmt: skip


@pytest.mark.parametrize("field", FIELDS)
def test_fast_path_equals_general_path_for_edge_values(field: str) -> None:
    """Each field set to each edge value gives the same CDR or rejection on both paths."""
    for value in EDGE_VALUES:
        for account in (None, "MA_given"):
            row = {**ROW, field: value}
            fast, slow = normalize(row, account=account), _general(row, account=account)
            assert repr(fast) == repr(slow), (field, value)


@pytest.mark.parametrize("shape", ["a", "b"])
def test_simulated_rows_take_the_fast_path_unchanged(shape: Literal["a", "b"]) -> None:
    """Simulator rows of both shapes all take the fast path and equal the general result."""
    options = SimOptions(accounts=6, duration=timedelta(hours=3), seed=3, shape=shape)
    rows = generate(options).rows
    for row in rows:
        fast = read_fast(row, None)  # raises when it would fall back
        assert repr(fast) == repr(_general(row))
    assert len(rows) > 200


def test_new_cdr_is_an_ordinary_frozen_cdr() -> None:
    """`new_cdr` builds a CDR equal to the dataclass constructor's, just as frozen."""
    built = normalize(ROW)
    assert isinstance(built, CDR)
    values = [getattr(built, item.name) for item in fields(CDR)]
    fresh = new_cdr(*values)
    assert type(fresh) is CDR
    assert fresh == CDR(*values)
    assert repr(fresh) == repr(built)
    assert copy.deepcopy(fresh) == fresh
    with pytest.raises(FrozenInstanceError):
        fresh.cost = 2.0  # type: ignore[misc]


WIRE_ALIASES = [
    names for name, names in vars(wire).items() if name.isupper() and isinstance(names, tuple)
]
"""Every attribute's wire names, as `detector.source.wire` lists them."""


@pytest.mark.parametrize("names", WIRE_ALIASES, ids=lambda names: names[0])
def test_fast_path_reads_every_wire_alias(names: tuple[str, ...]) -> None:
    """Each wire name alone carrying each edge value gives the general path's result."""
    for name in names:
        for value in EDGE_VALUES:
            row = {key: v for key, v in ROW.items() if key not in names} | {name: value}
            assert repr(normalize(row)) == repr(_general(row)), (name, value)
