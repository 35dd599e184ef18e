"""The backtest fast paths give exactly what the general paths give (no behaviour change)."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import phonenumbers

from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.domain import CDR, Rejected
from detector.enrich.numbers import NumberCache, classify_uncached
from detector.simulate import SimOptions, generate
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
