"""`cdr-detector call UUID` against the simulator: causes, context and alerts, both shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.domain import CDR, Alert, AlertStatus, Severity
from detector.simulate import generate
from detector.state.store import Cycle, StateStore
from tests.simapi import ENV, SimApi, config, options, serve

runner = CliRunner()


@pytest.fixture(scope="module", params=["a", "b"])
def api(request: pytest.FixtureRequest) -> Iterator[SimApi]:
    """Two simulated days served in shape A, then in shape B."""
    opts = options(request.param)
    with serve(generate(opts), opts) as running:
        yield running


def first(api: SimApi, cause: str) -> CDR:
    """The first simulated call of the busiest account that ended with `cause`."""
    return next(c for c in api.cdrs(api.busiest()) if c.hangup_cause == cause)


def call_json(api: SimApi, tmp_path: Path, *args: str) -> dict[str, Any]:
    """`call ... --json` parsed (asserting success)."""
    cfg = str(config(tmp_path, api.url))
    result = runner.invoke(app, ["call", *args, "--json", "--config", cfg], env=ENV)
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_a_failed_call_shows_its_causes_in_words(api: SimApi, tmp_path: Path) -> None:
    """An unallocated number reads as such from the text cause, the SIP code and (B) the code."""
    cdr = first(api, "UNALLOCATED_NUMBER")
    body = call_json(api, tmp_path, cdr.call_id, "--account", cdr.account)
    meaning = body["call"]["meaning"]
    assert meaning["class"] == "number"
    assert meaning["hangup_cause"] == (
        "UNALLOCATED_NUMBER (Q.850 1): the number is not assigned to anyone"
    )
    assert meaning["sip_code"] == "404: Not Found: no such number"
    if api.options.shape == "b":
        assert meaning["hangup_code"] == "3050: unallocated number"
    assert body["call"]["to"] == cdr.to_number
    assert body["raw"]["sip_response_code"] == 404


def test_the_context_is_the_accounts_same_minute_and_clock_hour(
    api: SimApi, tmp_path: Path
) -> None:
    """Same-minute calls and the hour's attempts are exactly the account's calls in them."""
    cdr = first(api, "NORMAL_CLEARING")
    body = call_json(api, tmp_path, cdr.call_id, "--account", cdr.account)
    hour = cdr.start.replace(minute=0, second=0)
    minute = cdr.start.replace(second=0)
    mine = api.cdrs(cdr.account)
    in_hour = [c for c in mine if hour <= c.start < hour + timedelta(hours=1)]
    in_minute = {c.call_id for c in mine if minute <= c.start < minute + timedelta(minutes=1)}
    assert body["hour"]["attempts"] == len(in_hour)
    assert body["hour"]["answered"] == sum(c.answered for c in in_hour)
    assert {c["call_id"] for c in body["same_minute"]} == in_minute
    assert cdr.call_id in in_minute


def test_without_an_account_the_call_is_found_by_asking_each(api: SimApi, tmp_path: Path) -> None:
    """With no --account the command asks the accounts in turn and names the right one."""
    cdr = api.cdrs(api.traffic.accounts[-1].auth_id)[0]
    body = call_json(api, tmp_path, cdr.call_id)
    assert body["call"]["account"] == cdr.account


def alert_body(
    account: str, rule: str, at: datetime, status: str, ids: list[str]
) -> dict[str, Any]:
    """A notification body as `backtest --out` writes it (resolved: 20 min after firing)."""
    starts = at if status == "firing" else at - timedelta(minutes=20)
    return {"fingerprint": f"fp-{rule}", "delivery_id": f"fp-{rule}:{status}", "account": account,
            "rule": rule, "severity": "critical", "status": status,
            "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M:%SZ"), "summary": f"{rule} fired",
            "evidence": {"call_ids": ids, "window_s": "1800"}, "shadow": False}  # fmt: skip


def test_the_alerts_the_call_belongs_to_come_from_an_alerts_file(
    api: SimApi, tmp_path: Path
) -> None:
    """Evidence naming the call and an alert whose window covers it are listed; others not."""
    cdr = first(api, "NORMAL_CLEARING")
    other = api.traffic.accounts[1].auth_id
    lines = [
        alert_body(
            cdr.account, "robocall", cdr.start + timedelta(hours=2), "firing", [cdr.call_id]
        ),
        alert_body(cdr.account, "spend", cdr.start + timedelta(minutes=10), "firing", ["x"]),
        alert_body(cdr.account, "spend", cdr.start + timedelta(minutes=30), "resolved", ["x"]),
        alert_body(cdr.account, "late", cdr.start + timedelta(hours=3), "firing", ["y"]),
        alert_body(other, "flatline", cdr.start, "firing", ["z"]),
    ]
    path = tmp_path / "alerts.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    body = call_json(api, tmp_path, cdr.call_id, "--alerts", str(path))
    assert [(a["rule"], a["relation"]) for a in body["alerts"]] == [
        ("robocall", "evidence"), ("spend", "in window"),
    ]  # fmt: skip
    assert body["call"]["account"] == cdr.account


def test_alerts_are_read_from_the_daemons_state_file(api: SimApi, tmp_path: Path) -> None:
    """An alert recorded in a state file, with the call as evidence, shows in the text output."""
    cdr = first(api, "NORMAL_CLEARING")
    store = StateStore(tmp_path / "state.sqlite")
    at = cdr.start + timedelta(minutes=5)
    alert = Alert("fp1", "fp1:1", "robocall-burst", cdr.account, Severity.CRITICAL,
                  AlertStatus.FIRING, at, at, "robocall burst", 40.0, 30.0, (),
                  evidence=(cdr.call_id,), details=(("window_s", "900"),))  # fmt: skip
    store.commit_cycle(Cycle(cursor=None, alerts=[alert]))
    store.close()
    result = runner.invoke(app, ["call", cdr.call_id, "--state", str(tmp_path / "state.sqlite"),
                                 "--config", str(config(tmp_path, api.url))], env=ENV)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "robocall-burst" in result.stdout
    assert "evidence" in result.stdout
    assert "◀ this call" in result.stdout
