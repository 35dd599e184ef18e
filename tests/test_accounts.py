"""Per-account tailing and trunk attribution, for feeds whose rows carry no account id."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from detector.domain import CDR, Rejected
from detector.simulate import Scenario, SimOptions, SimulatorServer, generate
from detector.source.accounts import PerAccountPoller, trunk_normalizer
from detector.source.client import CdrApi
from detector.source.normalize import normalize
from detector.source.settings import PollerConfig

ROW = {
    "call_uuid": "c-1",
    "from_number": "+919876543210",
    "to_number": "+919812345678",
    "direction": "outbound",
    "status": "answered",
    "duration_seconds": 30,
    "start_time": "2026-03-02T04:00:00Z",
    "answer_time": "2026-03-02T04:00:05Z",
    "end_time": "2026-03-02T04:00:35Z",
    "trunk_id": "trunk_a",
}


def test_trunk_map_fills_a_missing_account() -> None:
    """A row with no account takes the account its trunk is mapped to."""
    cdr = trunk_normalizer(normalize, {"trunk_a": "MA_1"})(ROW)
    assert isinstance(cdr, CDR)
    assert cdr.account == "MA_1"


def test_unmapped_trunk_is_rejected_not_guessed() -> None:
    """A row on a trunk missing from the map is rejected as missing_field."""
    result = trunk_normalizer(normalize, {"trunk_b": "MA_1"})(ROW)
    assert isinstance(result, Rejected)
    assert result.reason == "missing_field"


def test_explicit_account_wins_over_the_trunk_map() -> None:
    """An account id already on the row is kept."""
    cdr = trunk_normalizer(normalize, {"trunk_a": "MA_1"})({**ROW, "account_auth_id": "MA_9"})
    assert isinstance(cdr, CDR)
    assert cdr.account == "MA_9"


def test_per_account_mode_returns_every_call_of_every_account_once() -> None:
    """Tailing each `/accounts/{id}/cdrs` over a simulated hour yields each served call once."""
    now = [0.0]
    options = SimOptions(accounts=4, speed=1.0, seed=4, duration=timedelta(hours=1),
                         scenario=Scenario())  # fmt: skip
    server = SimulatorServer(generate(options), options, clock=lambda: now[0])
    host, port = server.start()
    api = CdrApi(f"http://{host}:{port}/api/v1/partner", options.auth_id, options.auth_token,
                 rate_per_s=1000)  # fmt: skip
    config = PollerConfig(start_back_s=86400, interval_s=180.0)  # each poll = 180 s of feed time
    poller = PerAccountPoller(api, normalize, config, lambda: datetime.now(UTC), refresh_every=3)
    seen: set[str] = set()
    counted: Counter[str] = Counter()
    cursor = None
    try:
        for _ in range(30):
            now[0] += 180.0
            result = poller.poll(cursor, lambda ids: {i for i in ids if i in seen})
            cursor = result.cursor
            counted.update(c.call_id for c in result.cdrs)
            seen.update(i for i, _ in result.new_ids)
        served = server.stats()["calls"]
    finally:
        server.stop()
        api.close()
    assert server.stats()["final"]
    assert counted
    assert max(counted.values()) == 1
    assert len(counted) == served
    assert cursor is not None
    assert len(cursor["accounts"]) == 4
