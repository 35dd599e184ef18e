"""`cdr-detector cdrs` against the simulator: both shapes, both modes, filters, chaos, errors."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.config import Settings
from detector.domain import Direction, Status
from detector.investigate.query import export, table_line
from detector.investigate.reader import Days, Filters
from detector.investigate.session import over
from detector.simulate import Scenario, Traffic, generate
from detector.simulate.scenario import Chaos, RateLimitBursts
from detector.source.client import CdrApi
from tests.simapi import ENV, SimApi, config, options, serve

runner = CliRunner()
RANGE = ["--from", "2026-03-01", "--to", "2026-03-02"]


@pytest.fixture(scope="module", params=["a", "b"])
def api(request: pytest.FixtureRequest) -> Iterator[SimApi]:
    """Two simulated days served in shape A, then in shape B."""
    opts = options(request.param)
    with serve(generate(opts), opts) as running:
        yield running


def cli(*args: str) -> tuple[int, str, str]:
    """Run the CLI with the simulator's credentials: exit code, stdout, stderr."""
    result = runner.invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("mode", ["global", "per-account"])
def test_csv_export_has_every_call_of_the_range_once(
    api: SimApi, tmp_path: Path, mode: str
) -> None:
    """The CSV of two days holds each simulated call once, in start order, in either mode."""
    code, out, err = cli("cdrs", *RANGE, "--format", "csv", "--config",
                         str(config(tmp_path, api.url)), "--mode", mode)  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    ids = [r["call_id"] for r in rows]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == {c.call_id for c in api.cdrs()}
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)
    assert f"{len(rows):,} calls written" in err


def test_filters_return_what_the_api_page_promises(api: SimApi, tmp_path: Path) -> None:
    """Direction, status, minimum talk and number filters select exactly the matching calls."""
    account = api.busiest()
    code, out, err = cli("cdrs", *RANGE, "--account", account, "--direction", "outbound",
                         "--status", "answered", "--min-duration", "60", "--format", "jsonl",
                         "--config", str(config(tmp_path, api.url)))  # fmt: skip
    assert code == 0, err
    got = {json.loads(line)["call_id"] for line in out.splitlines()}
    expected = {
        c.call_id for c in api.cdrs(account)
        if c.direction is Direction.OUTBOUND and c.status is Status.ANSWERED and c.talk_s >= 60
    }  # fmt: skip
    assert got == expected
    assert got


def test_status_no_answer_is_accepted_in_either_spelling(api: SimApi, tmp_path: Path) -> None:
    """`--status no-answer` and `--status no_answer` both list the unanswered calls."""
    cfg = str(config(tmp_path, api.url))
    outputs = [cli("cdrs", *RANGE, "--status", s, "--format", "jsonl", "--config", cfg)[1]
               for s in ("no-answer", "no_answer")]  # fmt: skip
    assert outputs[0] == outputs[1]
    expected = sum(1 for c in api.cdrs() if c.status is Status.NO_ANSWER)
    assert len(outputs[0].splitlines()) == expected


def test_the_table_prints_untrusted_text_literally() -> None:
    """A caller id carrying an escape sequence is shown with the control character replaced."""
    line = table_line({"start": "2026-03-01T00:00:00Z", "account": "MA_1", "direction": "inbound",
                       "status": "answered", "from": "+91\x1b[2J", "to": "+9198", "talk_s": 1.0,
                       "cost": 0.0, "hangup_cause": "NORMAL_CLEARING", "call_id": "c"})  # fmt: skip
    assert "\x1b" not in line
    assert "+91?[2J" in line


CHAOS = Chaos(
    error_rates={500: 0.15, 502: 0.05, 503: 0.1},
    rate_limit_bursts=RateLimitBursts(every_s=30.0, length_s=4.0, retry_after_s=2.0),
    truncated_rate=0.03,
    malformed_rate=0.02,
    duplicate_rate=0.05,
    reorder=True,
)


STORMY = options("b", accounts=10, scenario=Scenario(chaos=CHAOS))


@pytest.fixture(scope="module")
def stormy() -> Traffic:
    """Two days of ten accounts whose API answers with 429 bursts, 5xx, broken bodies."""
    return generate(STORMY)


def test_a_long_export_through_429s_and_5xx_loses_and_doubles_nothing(stormy: Traffic) -> None:
    """Paging 20 rows at a time through throttling and server errors writes every call once."""
    opts = STORMY
    with serve(stormy, opts) as sim:
        api = CdrApi(sim.url, opts.auth_id, opts.auth_token, rate_per_s=50.0, max_retries=8,
                     clock=sim.clock, sleep=sim.clock.sleep)  # fmt: skip
        settings = Settings.model_validate({"poll": {"per_page": 20}})
        sink = io.StringIO()
        written = export(over(api, settings), Days.parse(*RANGE[1::2]), Filters(), None, sink,
                         "jsonl")  # fmt: skip
        expected = {c.call_id for c in sim.cdrs()}
        api.close()
    ids = [json.loads(line)["call_id"] for line in sink.getvalue().splitlines()]
    assert written == len(ids) == len(expected)
    assert set(ids) == expected
    outcomes = api.stats.requests
    assert min(outcomes[k] for k in ("429", "500", "502", "503", "malformed")) > 0, outcomes
    assert api.stats.retries > 0
