"""The simulated partner API over real loopback HTTP, driven by an injected clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from detector.errors import ConfigError
from detector.simulate import Scenario, SimOptions, SimulatorServer, Traffic, generate
from detector.simulate.scenario import Chaos, Outage, parse_scenario

AUTH = {"X-Auth-ID": "PA_SIM", "X-Auth-Token": "sim-token"}
OPTIONS = SimOptions(accounts=12, seed=9, speed=60.0, duration=timedelta(hours=2))


class ManualClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        """Start at zero."""
        self.now = 0.0

    def __call__(self) -> float:
        """The current reading."""
        return self.now


Api = tuple[httpx.Client, ManualClock, "SimulatorServer"]


@pytest.fixture(scope="module")
def traffic_a() -> Traffic:
    """Two hours of shape-A traffic for 12 accounts."""
    return generate(OPTIONS)


def _serve(traffic: Traffic, options: SimOptions) -> Iterator[Api]:
    """A running server, a client pointed at it and its clock."""
    clock = ManualClock()
    server = SimulatorServer(traffic, options, clock=clock)
    host, port = server.start()
    with httpx.Client(base_url=f"http://{host}:{port}", headers=AUTH, timeout=5) as client:
        yield client, clock, server
    server.stop()


@pytest.fixture
def api(traffic_a: Traffic) -> Iterator[Api]:
    """The shape-A API."""
    yield from _serve(traffic_a, OPTIONS)


def _finish(clock: ManualClock, traffic: Traffic, options: SimOptions) -> None:
    """Move the clock past the moment the feed becomes final."""
    clock.now = (traffic.final_at - options.start).total_seconds() / options.speed + 1


def _all_pages(client: httpx.Client, path: str, **params: str | int) -> list[dict[str, object]]:
    """Every row of a listing, page by page (per_page=100)."""
    rows: list[dict[str, object]] = []
    page = 1
    while True:
        body = client.get(path, params={**params, "page": page, "per_page": 100}).json()
        rows.extend(body["data"])
        if len(body["data"]) < 100:
            return rows
        page += 1


def test_wrong_credentials_get_401_with_the_documented_body(
    api: Api,
) -> None:
    """A wrong token answers 401 with status/error/code/message/timestamp/requestId."""
    client, _, _ = api
    response = client.get("/api/v1/partner/cdrs", headers={"X-Auth-Token": "nope"})
    body = response.json()
    assert response.status_code == 401
    assert body["status"] == "error"
    assert body["error"]["code"] == "UNAUTHORIZED"
    assert {"message", "details"} <= set(body["error"])
    assert body["requestId"]
    assert body["timestamp"]


def test_rows_appear_only_once_available(api: Api, traffic_a: Traffic) -> None:
    """At a given sim time the feed holds exactly the rows whose available_at has passed."""
    client, clock, server = api
    clock.now = 30.0  # 30 minutes of sim time at 60x
    stats = client.get("/_sim/stats").json()
    now = server.sim_now()
    expected = sum(1 for t in traffic_a.available if t <= now.timestamp())
    assert now == OPTIONS.start + timedelta(minutes=30)
    assert (
        stats["visible"] == expected == client.get("/api/v1/partner/cdrs").json()["meta"]["total"]
    )
    assert stats["total"] == len(traffic_a.rows)
    assert stats["final"] is False
    assert all(
        "available_at" not in row for row in client.get("/api/v1/partner/cdrs").json()["data"]
    )


def test_pages_are_newest_first_without_gaps_or_overlaps(api: Api, traffic_a: Traffic) -> None:
    """Paging a static (final) feed returns every row once, newest start time first."""
    client, clock, _ = api
    _finish(clock, traffic_a, OPTIONS)
    assert client.get("/_sim/stats").json()["final"] is True
    rows = _all_pages(client, "/api/v1/partner/cdrs")
    ids = [r["call_uuid"] for r in rows]
    starts = [str(r["start_time"]) for r in rows]
    assert len(ids) == len(set(ids)) == len(traffic_a.rows)
    assert starts == sorted(starts, reverse=True)


def test_default_page_size_is_20_and_the_maximum_100(api: Api, traffic_a: Traffic) -> None:
    """per_page defaults to 20 and is capped at 100."""
    client, clock, _ = api
    _finish(clock, traffic_a, OPTIONS)
    assert len(client.get("/api/v1/partner/cdrs").json()["data"]) == 20
    body = client.get("/api/v1/partner/cdrs", params={"per_page": 500}).json()
    assert len(body["data"]) == 100
    assert body["meta"]["per_page"] == 100


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"status": "no-answer"}, lambda r: r["status"] == "no-answer"),
        ({"status": "no_answer"}, lambda r: r["status"] == "no-answer"),
        ({"call_direction": "inbound"}, lambda r: r["direction"] == "inbound"),
        ({"min_duration": 300}, lambda r: r["duration_seconds"] >= 300),
        (
            {"max_duration": 5, "status": "answered"},
            lambda r: r["status"] == "answered" and r["duration_seconds"] <= 5,
        ),
        ({"hangup_cause": "USER_BUSY"}, lambda r: r["hangup_cause"] == "USER_BUSY"),
    ],
)
def test_filters_select_matching_rows(
    api: Api,
    traffic_a: Traffic,
    params: dict[str, str | int],
    check: Callable[[dict[str, Any]], bool],
) -> None:
    """Each filter returns only, and all, the rows that match it."""
    client, clock, _ = api
    _finish(clock, traffic_a, OPTIONS)
    rows = _all_pages(client, "/api/v1/partner/cdrs", **params)
    expected = [r for r in traffic_a.rows if check(r)]
    assert rows
    assert all(check(r) for r in rows)
    assert len(rows) == len(expected)


def test_number_and_date_filters(api: Api, traffic_a: Traffic) -> None:
    """from_number matches without the +91 prefix; a date range outside the run is empty."""
    client, clock, _ = api
    _finish(clock, traffic_a, OPTIONS)
    number = str(traffic_a.rows[0]["from_number"])
    rows = _all_pages(client, "/api/v1/partner/cdrs", from_number=number[3:])
    assert rows
    assert all(number[3:] in str(r["from_number"]) for r in rows)
    same_day = client.get(
        "/api/v1/partner/cdrs", params={"start_date": "2026-03-02", "end_date": "2026-03-02"}
    )
    next_day = client.get(
        "/api/v1/partner/cdrs", params={"start_date": "2026-03-03", "end_date": "2026-03-03"}
    )
    assert same_day.json()["meta"]["total"] == len(traffic_a.rows)
    assert next_day.json() == {"data": [], "meta": {"total": 0, "page": 1, "per_page": 20}}
    assert (
        client.get("/api/v1/partner/cdrs", params={"start_date": "03/02/2026"}).status_code == 400
    )


def test_account_endpoint_serves_only_that_account(api: Api, traffic_a: Traffic) -> None:
    """The per-account listing holds exactly that account's rows; unknown accounts are 404."""
    client, clock, _ = api
    _finish(clock, traffic_a, OPTIONS)
    account = traffic_a.accounts[0].auth_id
    rows = _all_pages(client, f"/api/v1/partner/accounts/{account}/cdrs")
    assert len(rows) == sum(1 for r in traffic_a.rows if r["account_auth_id"] == account)
    assert {r["account_auth_id"] for r in rows} == {account}
    one = client.get(f"/api/v1/partner/accounts/{account}/cdrs/{rows[0]['call_uuid']}")
    assert one.json()["call_uuid"] == rows[0]["call_uuid"]
    assert client.get("/api/v1/partner/accounts/MA_missing0/cdrs").status_code == 404


def test_accounts_and_me(api: Api, traffic_a: Traffic) -> None:
    """/accounts pages through accounts with their timezone; /me describes the partner."""
    client, _, _ = api
    body = client.get("/api/v1/partner/accounts", params={"per_page": 5, "page": 2}).json()
    assert body["total"] == 12
    assert body["page"] == 2
    assert body["size"] == 5
    assert [a["auth_id"] for a in body["accounts"]] == [a.auth_id for a in traffic_a.accounts[5:10]]
    assert body["accounts"][0]["timezone"]
    me = client.get("/api/v1/partner/me").json()
    assert me["auth_id"] == "PA_SIM"
    assert me["can_view_cdrs"] is True


def test_shape_b_serves_the_shape_b_envelope() -> None:
    """Shape B answers {success, count, data, pagination} with has_next/has_prev."""
    options = replace(OPTIONS, shape="b", accounts=4)
    traffic = generate(options)
    for client, clock, _ in _serve(traffic, options):
        _finish(clock, traffic, options)
        body = client.get("/api/v1/partner/cdrs", params={"page": 2, "per_page": 10}).json()
        pagination = body["pagination"]
        assert body["success"] is True
        assert body["count"] == 10
        assert pagination["total"] == len(traffic.rows)
        assert pagination["pages"] == -(-len(traffic.rows) // 10)
        assert pagination["has_next"] is True
        assert pagination["has_prev"] is True
        assert "uuid" in body["data"][0]
        assert "billsec" in body["data"][0]


def test_chaos_injects_errors_and_oldest_first_order() -> None:
    """error_rates 503 at 1.0 answers 503 with Retry-After; sort oldest reverses the order."""
    failing = Scenario(chaos=Chaos(error_rates={503: 1.0}))
    options = replace(OPTIONS, accounts=3, scenario=failing)
    for client, _, _ in _serve(generate(options), options):
        response = client.get("/api/v1/partner/cdrs")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
    oldest = replace(OPTIONS, accounts=3, scenario=Scenario(chaos=Chaos(sort="oldest")))
    traffic = generate(oldest)
    for client, clock, _ in _serve(traffic, oldest):
        _finish(clock, traffic, oldest)
        rows = _all_pages(client, "/api/v1/partner/cdrs")
        starts = [str(r["start_time"]) for r in rows]
        assert starts == sorted(starts)
        assert len(rows) == len(traffic.rows)


def test_chaos_malformed_bodies_are_not_json() -> None:
    """malformed_rate 1.0 makes every CDR page unparseable."""
    options = replace(OPTIONS, accounts=3, scenario=Scenario(chaos=Chaos(malformed_rate=1.0)))
    for client, _, _ in _serve(generate(options), options):
        response = client.get("/api/v1/partner/cdrs")
        assert response.status_code == 200
        with pytest.raises(ValueError, match="Expecting value"):
            response.json()


def test_sim_time_runs_at_the_configured_speed() -> None:
    """Ten clock seconds at 60x are ten simulated minutes."""
    options = replace(OPTIONS, accounts=2, start=datetime(2026, 3, 2, 3, 30, tzinfo=UTC))
    clock = ManualClock()
    server = SimulatorServer(generate(options), options, clock=clock)
    clock.now = 10.0
    assert server.sim_now() == datetime(2026, 3, 2, 3, 40, tzinfo=UTC)


def test_an_outage_answers_503_for_its_span_of_sim_time_only() -> None:
    """Within a chaos outage every request is a 503; before and after it the API answers."""
    down = Scenario(chaos=Chaos(outages=(Outage(timedelta(minutes=30), timedelta(hours=1)),)))
    options = replace(OPTIONS, accounts=3, scenario=down)
    for client, clock, _ in _serve(generate(options), options):
        codes = []
        for minutes in (10, 45, 89, 95):
            clock.now = minutes  # one wall second is a sim minute at 60x
            codes.append(client.get("/api/v1/partner/cdrs").status_code)
        assert codes == [200, 503, 503, 200]


def test_scenario_outages_parse_and_bad_ones_name_the_field() -> None:
    """`chaos.outages` takes `{start, duration}` offsets; an absolute start is refused."""
    good = parse_scenario({"chaos": {"outages": [{"start": "30m", "duration": "5h"}]}}, "s.yaml")
    assert good.chaos.outages == (Outage(timedelta(minutes=30), timedelta(hours=5)),)
    with pytest.raises(ConfigError, match=r"chaos.outages\[0\].start"):
        parse_scenario(
            {"chaos": {"outages": [{"start": "2026-03-02T00:00:00Z", "duration": "1h"}]}}, "s"
        )
