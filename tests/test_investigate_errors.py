"""Every investigation command's errors: bad credentials, unknown account or call, empty range."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.cli import app
from detector.simulate import generate
from tests.simapi import ENV, SimApi, config, options, serve

runner = CliRunner()
CARD = str(Path(__file__).resolve().parents[1] / "examples" / "rate-card.yaml")
WRONG = "wrong-token-5551234"


def commands(account: str, days: tuple[str, str]) -> dict[str, list[str]]:
    """Each command over `days` (first, last) for `account`."""
    first, last = days
    return {
        "cdrs": ["cdrs", "--from", first, "--to", last, "--account", account],
        "billing": ["report", "billing", "--period", first[:7], "--rate-card", CARD,
                    "--account", account],
        "no-answer": ["report", "no-answer", "--days", "1", "--until", last, "--account", account],
        "kpis": ["report", "kpis", "--from", first, "--to", last, "--account", account],
        "call": ["call", "00000000-0000-4000-8000-000000000000", "--account", account],
    }  # fmt: skip


NAMES = ["cdrs", "billing", "no-answer", "kpis", "call"]


@pytest.fixture(scope="module", params=["a", "b"])
def api(request: pytest.FixtureRequest) -> Iterator[SimApi]:
    """The simulator in shape A, then B."""
    opts = options(request.param, accounts=2)
    with serve(generate(opts), opts) as running:
        yield running


def run(api: SimApi, tmp_path: Path, args: list[str], env: dict[str, str] = ENV) -> tuple[int, str]:
    """Exit code and everything printed."""
    result = runner.invoke(app, [*args, "--config", str(config(tmp_path, api.url))], env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("name", NAMES)
def test_bad_credentials_exit_2_naming_the_variables_not_the_token(
    api: SimApi, tmp_path: Path, name: str
) -> None:
    """A refused token stops the command with exit 2 and says which variables to check."""
    args = commands(api.busiest(), ("2026-03-01", "2026-03-02"))[name]
    code, output = run(api, tmp_path, args, {**ENV, "CDR_DETECTOR_AUTH_TOKEN": WRONG})
    assert code == 2, output
    assert "CDR_DETECTOR_AUTH_TOKEN" in output
    assert WRONG not in output


@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_account_is_named(api: SimApi, tmp_path: Path, name: str) -> None:
    """An account the partner does not have is an error naming it (exit 1)."""
    code, output = run(api, tmp_path, commands("MA_nobody", ("2026-03-01", "2026-03-02"))[name])
    assert code == 1, output
    assert "unknown account 'MA_nobody'" in output


@pytest.mark.parametrize("name", ["cdrs", "billing", "no-answer", "kpis"])
def test_an_empty_range_is_an_error_naming_it(api: SimApi, tmp_path: Path, name: str) -> None:
    """A range with no calls says so (exit 1) instead of printing an empty report."""
    code, output = run(api, tmp_path, commands(api.busiest(), ("2026-02-01", "2026-02-02"))[name])
    assert code == 1, output
    assert "no calls for" in output
    assert "2026-02" in output


def test_an_unknown_call_is_named_with_its_account(api: SimApi, tmp_path: Path) -> None:
    """A call id the account does not have is an error naming both (exit 1)."""
    code, output = run(api, tmp_path, commands(api.busiest(), ("2026-03-01", "2026-03-01"))["call"])
    assert code == 1, output
    assert f"account {api.busiest()} has no call '00000000-0000-4000-8000-000000000000'" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cdrs", "--from", "2026-03-05", "--to", "2026-03-01"], "before it starts"),
        (["cdrs", "--from", "March", "--to", "2026-03-01"], "--from: expected a day"),
        (["cdrs", "--from", "2026-03-01", "--to", "2026-03-01", "--status", "rang"], "--status"),
        (["cdrs", "--from", "2026-03-01", "--to", "2026-03-01", "--min-duration", "9",
          "--max-duration", "3"], "--min-duration (9) is above"),
        (["report", "billing", "--period", "03/2026", "--rate-card", CARD], "--period"),
        (["report", "kpis", "--from", "2026-03-01", "--to", "2026-03-01", "--chart", "k.svg"],
         "--chart"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_naming_the_option(
    api: SimApi, tmp_path: Path, args: list[str], message: str
) -> None:
    """Malformed dates, statuses, durations, periods and chart names exit 2 with the option."""
    code, output = run(api, tmp_path, args)
    assert code == 2, output
    assert message in output
