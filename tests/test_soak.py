"""The reliability run, shortened: an outage longer than the horizon, chaos and SIGKILLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import soak

pytestmark = pytest.mark.slow


def test_a_five_hour_outage_with_chaos_and_kills_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    """After 5 h of 503s (longer than the 4 h horizon), chaos and 3 SIGKILLs: every call once."""
    result = soak(tmp_path, hours=6, outage_hours=5, kills=3, speed=2400, accounts=12, say=print)
    assert result.served > 500
    assert result.processed == result.served
    assert result.api.get("503", 0) > 0


def test_a_five_hour_call_is_read_live_once_and_trips_the_duration_cap(tmp_path: Path) -> None:
    """With the default 24 h horizon, faults and 2 SIGKILLs, a 5-hour irsf call is processed
    (every served call exactly once) and the shipped duration-cap rule fires on it live."""
    result = soak(
        tmp_path, hours=6, outage_hours=0, kills=2, speed=2400, accounts=12,
        horizon_hours=24, longest=(5.0,), say=print,
    )  # fmt: skip
    assert result.processed == result.served
    assert result.caps >= 1
