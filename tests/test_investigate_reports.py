"""`report billing`, `report no-answer` and `report kpis` against the simulator, both shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.domain import CDR, Direction, Status
from detector.enrich.kpi import Tally
from detector.investigate.noanswer import MIN_CALLS, flag, tally
from detector.simulate import generate
from detector.simulate.traffic import write_mispriced_jsonl
from tests.simapi import ENV, SimApi, config, options, serve

runner = CliRunner()
CARD = str(Path(__file__).resolve().parents[1] / "examples" / "rate-card.yaml")
RANGE = ["--from", "2026-03-01", "--to", "2026-03-02"]


@pytest.fixture(scope="module", params=["a", "b"])
def api(request: pytest.FixtureRequest) -> Iterator[SimApi]:
    """Two simulated days (5 % of calls mispriced, a no-answer surge) in shape A, then B."""
    opts = options(request.param)
    with serve(generate(opts), opts) as running:
        yield running


def report(api: SimApi, tmp_path: Path, *args: str, mode: str = "global") -> Any:
    """A report's JSON output (asserting success)."""
    cfg = str(config(tmp_path, api.url, mode))
    result = runner.invoke(app, ["report", *args, "--format", "json", "--config", cfg], env=ENV)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("mode", ["global", "per-account"])
def test_billing_finds_every_injected_mismatch_and_nothing_else(
    api: SimApi, tmp_path: Path, mode: str
) -> None:
    """Against the simulator's own tariff, the mispriced calls are found with P = R = 1.0."""
    labels = tmp_path / "mispriced.jsonl"
    write_mispriced_jsonl(api.traffic.mispriced, labels)
    body = report(api, tmp_path, "billing", "--period", "2026-03", "--rate-card", CARD,
                  "--labels", str(labels), mode=mode)  # fmt: skip
    score = body["score"]
    assert score["labelled"] == len(api.traffic.mispriced) >= 20
    assert (score["precision"], score["recall"]) == (1.0, 1.0), score
    kinds = {m.kind for m in api.traffic.mispriced}
    assert kinds == {"wrong_rate", "per_second", "unanswered_charged", "free_call", "double_charge"}


def test_billing_totals_add_up_to_what_was_billed(api: SimApi, tmp_path: Path) -> None:
    """Per-destination totals of one account sum to its billed costs; differences to mismatches."""
    account = api.busiest()
    body = report(api, tmp_path, "billing", "--period", "2026-03", "--rate-card", CARD,
                  "--account", account)  # fmt: skip
    billed = sum(c.cost for c in api.cdrs(account))
    assert sum(t["billed"] for t in body["totals"]) == pytest.approx(billed, abs=1e-6)
    assert {t["account"] for t in body["totals"]} == {account}
    mismatched = sum(m["difference"] for m in body["mismatches"])
    difference = sum(t["difference"] for t in body["totals"])
    assert difference == pytest.approx(mismatched, abs=1e-6)


@pytest.mark.parametrize("mode", ["global", "per-account"])
def test_no_answer_flags_the_account_whose_rate_surged(
    api: SimApi, tmp_path: Path, mode: str
) -> None:
    """The account with a simulated no-answer surge on day two is flagged as rising."""
    body = report(api, tmp_path, "no-answer", "--days", "1", "--until", "2026-03-02", mode=mode)
    flagged = {r["key"]: r["flag"] for r in body["rows"] if r["group"] == "account" and r["flag"]}
    assert list(flagged) == [api.busiest()]
    assert flagged[api.busiest()].startswith("rose +")


@pytest.mark.parametrize("mode", ["global", "per-account"])
def test_kpis_are_the_kpi_definitions_over_the_simulated_calls(
    api: SimApi, tmp_path: Path, mode: str
) -> None:
    """Each account's report row equals `Tally` over its simulated calls, in either mode."""
    body = report(api, tmp_path, "kpis", *RANGE, "--top", "10", mode=mode)
    rows = {r["key"]: r for r in body["rows"] if r["group"] == "account"}
    for account in api.traffic.accounts:
        tally = Tally()
        for cdr in api.cdrs(account.auth_id):
            tally.add(cdr)
        k, row = tally.kpis(), rows[account.auth_id]
        assert (row["attempts"], row["answered"]) == (k.attempts, k.answered)
        expected = {"asr": k.asr, "acd_s": k.acd_s, "ner": k.ner, "short_share": k.short_share,
                    "mean_ring_s": k.mean_ring_s}  # fmt: skip
        for name, value in expected.items():
            assert row[name] == pytest.approx(value), name
        assert row["spend"] == pytest.approx(k.spend["INR"])
    assert rows["(all)"]["attempts"] == len(api.cdrs())


def test_kpis_draw_a_png_chart(api: SimApi, tmp_path: Path) -> None:
    """`--chart FILE.png` writes a PNG image next to the table."""
    chart = tmp_path / "kpis.png"
    cfg = str(config(tmp_path, api.url))
    result = runner.invoke(app, ["report", "kpis", *RANGE, "--chart", str(chart), "--config", cfg],
                           env=ENV)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "KPIs by country" in result.stdout


T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


def calls(n: int, answered: int, **fields: Any) -> list[CDR]:
    """`n` outbound calls (of MA_1 on trunk t1 to an Indian mobile unless `fields` say
    otherwise), the first `answered` of them answered, the rest unanswered."""
    base: dict[str, Any] = {
        "account": "MA_1", "direction": Direction.OUTBOUND, "to_number": "+919800000001",
        "trunk": "t1", "dest_country": "IN", **fields,
    }  # fmt: skip
    out = []
    for i in range(n):
        status = Status.ANSWERED if i < answered else Status.NO_ANSWER
        start = T0 + timedelta(minutes=i)
        talk = 60.0 if i < answered else 0.0
        call_id = f"c{i}-{base['account']}-{base['trunk']}-{base['to_number']}"
        out.append(CDR(call_id, base["account"], base["direction"], status, start, None, start,
                       talk, 8.0, "+919800000009", base["to_number"], trunk=base["trunk"],
                       dest_country=base["dest_country"]))  # fmt: skip
    return out


def two(n: int, first: int, second: int, **fields: Any) -> list[CDR]:
    """`n` calls each of MA_1 (`first` answered) and MA_2 (`second` answered)."""
    return calls(n, first, **fields) + calls(n, second, account="MA_2", **fields)


@pytest.mark.parametrize(
    ("now", "before", "group", "key", "flagged"),
    [
        (calls(30, 5, direction=Direction.INBOUND, to_number="+918000000001"), [], "number",
         "+918000000001", "number configuration"),
        (calls(30, 25) + calls(30, 5, trunk="t2"), [], "trunk", "t2", "routing"),
        (two(40, 10, 10, dest_country="AE"), two(40, 30, 30, dest_country="AE"), "destination",
         "AE", "route degraded"),
        (two(40, 10, 30), two(40, 30, 30), "destination", "IN", ""),
        (calls(40, 20), calls(40, 35), "account", "MA_1", "rose"),
        (calls(MIN_CALLS - 1, 0, direction=Direction.INBOUND, to_number="+918000000002"), [],
         "number", "+918000000002", ""),
        (calls(40, 30), calls(40, 31), "account", "MA_1", ""),
    ],
)  # fmt: skip
def test_no_answer_flags(
    now: list[CDR], before: list[CDR], group: str, key: str, flagged: str
) -> None:
    """Ringing-out numbers, a worse trunk, a route worse for several accounts and an account's
    rise are told apart; one account's surge, a handful of calls or a steady rate is not a
    route problem."""
    rows = tally(now, before)
    flag(rows)
    assert rows[(group, key)].flag.startswith(flagged)
    assert bool(rows[(group, key)].flag) == bool(flagged)
