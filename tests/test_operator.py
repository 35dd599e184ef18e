"""Operating it: `doctor`, `state export`/`reset`, `--version`, and every operator mistake
answered with one line (in the configured log format) and the documented exit code."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector import __version__
from detector.cli import app
from detector.simulate import Scenario, SimOptions, SimulatorServer, generate
from detector.state.store import StateStore
from tests.daemon import ROOT, free_port
from tests.receivers import HttpReceiver

runner = CliRunner()
RULES = ROOT / "rules"


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[str, SimOptions]]:
    """An in-process simulator serving an hour of traffic; yields its bare host URL."""
    options = SimOptions(accounts=5, seed=2, duration=timedelta(hours=1), scenario=Scenario())
    server = SimulatorServer(generate(options), options, clock=lambda: 0.0)
    host, port = server.start()
    try:
        yield f"http://{host}:{port}", options
    finally:
        server.stop()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, simulator: tuple[str, SimOptions]) -> None:
    """The simulator's credentials in the environment."""
    monkeypatch.setenv("CDR_DETECTOR_AUTH_ID", simulator[1].auth_id)
    monkeypatch.setenv("CDR_DETECTOR_AUTH_TOKEN", simulator[1].auth_token)
    for name in ("SLACK_WEBHOOK", "WEBHOOK_URL", "SMTP_PASSWORD"):
        monkeypatch.delenv(f"CDR_DETECTOR_{name}", raising=False)


def doctor(*args: str) -> tuple[int, dict[str, str]]:
    """Run `doctor`; returns the exit code and each check's line by name."""
    result = runner.invoke(app, ["doctor", "--rules", str(RULES), *args])
    lines = {}
    for line in result.stdout.splitlines()[:-1]:
        status, name, *_ = line.split()
        lines[name] = line
        assert status in {"ok", "FAIL"}, line
    return result.exit_code, lines


@pytest.mark.usefixtures("credentials")
def test_doctor_passes_against_the_simulator(
    tmp_path: Path, simulator: tuple[str, SimOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against the simulator (given as a bare host) every check passes, and --notify sends a
    test notification that the receiver gets."""
    with HttpReceiver() as hook:
        monkeypatch.setenv("CDR_DETECTOR_WEBHOOK_URL", f"{hook.url}/hook")
        code, lines = doctor(
            "--api-url", simulator[0], "--state", str(tmp_path / "s.sqlite"),
            "--metrics-addr", f"127.0.0.1:{free_port()}", "--notify", "webhook",
        )  # fmt: skip
        assert [a["account"] for r in hook.requests for a in r.json()["alerts"]] == ["doctor-test"]
    assert code == 0, lines
    assert set(lines) == {
        "settings", "api", "rules", "state", "receiver:console", "receiver:webhook", "metrics",
    }  # fmt: skip
    assert "credentials accepted" in lines["api"]
    assert "test notification accepted" in lines["receiver:webhook"]


@pytest.mark.usefixtures("credentials")
def test_doctor_names_a_wrong_token(
    simulator: tuple[str, SimOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token the API refuses fails the api check with the 401 and what to check."""
    monkeypatch.setenv("CDR_DETECTOR_AUTH_TOKEN", "wrong")
    code, lines = doctor("--api-url", simulator[0], "--metrics-addr", f"127.0.0.1:{free_port()}")
    assert code == 1
    assert lines["api"].startswith("FAIL")
    assert "HTTP 401" in lines["api"]
    assert "wrong" not in lines["api"]


@pytest.mark.usefixtures("credentials")
def test_doctor_names_a_broken_rule_set(tmp_path: Path, simulator: tuple[str, SimOptions]) -> None:
    """A rule file with an error fails the rules check, naming the file."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "robocall-short-answered.yaml").write_text("id: x\nkind: threshold\nwindow: -1\n")
    result = runner.invoke(
        app, ["doctor", "--rules", str(rules), "--api-url", simulator[0],
              "--metrics-addr", f"127.0.0.1:{free_port()}"],
    )  # fmt: skip
    assert result.exit_code == 1
    [line] = [x for x in result.stdout.splitlines() if " rules " in x]
    assert line.startswith("FAIL")
    assert "robocall-short-answered.yaml" in line


@pytest.mark.usefixtures("credentials")
def test_doctor_names_a_dead_receiver(
    simulator: tuple[str, SimOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver nobody answers fails its check when a test notification is asked for."""
    monkeypatch.setenv("CDR_DETECTOR_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
    code, lines = doctor(
        "--api-url", simulator[0], "--metrics-addr", f"127.0.0.1:{free_port()}",
        "--notify", "all",
    )  # fmt: skip
    assert code == 1
    assert lines["receiver:webhook"].startswith("FAIL")
    assert lines["api"].startswith("ok")


@pytest.mark.usefixtures("credentials")
def test_doctor_names_a_busy_metrics_port_and_a_wrong_api_path(
    simulator: tuple[str, SimOptions],
) -> None:
    """A metrics address in use and an API URL with the wrong path are both named."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, lines = doctor(
            "--api-url", simulator[0] + "/v2", "--metrics-addr", f"127.0.0.1:{port}"
        )
    assert code == 1
    assert lines["metrics"].startswith("FAIL")
    assert "/api/v1/partner" in lines["api"]


def _state_with_an_alert(path: Path) -> None:
    """A state file with one committed alert notification."""
    from detector.doctor import sample_alert
    from detector.state.store import Cycle

    store = StateStore(path)
    at = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    store.commit_cycle(Cycle(cursor={"head": "x"}, cdrs=1, alerts=[sample_alert(at)]))
    store.close()


def test_state_export_writes_meta_cursor_and_alerts_as_jsonl(tmp_path: Path) -> None:
    """`state export` prints one JSON object per line: meta, cursor, then the alerts."""
    path = tmp_path / "state.sqlite"
    _state_with_an_alert(path)
    result = runner.invoke(app, ["state", "export", "--state", str(path)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["type"] for r in records] == ["meta", "cursor", "alert"]
    assert records[0]["cdrs_processed"] == 1
    assert records[1]["cursor"] == {"head": "x"}
    assert records[2]["account"] == "doctor-test"


def test_state_reset_needs_yes_and_then_removes_the_file(tmp_path: Path) -> None:
    """Without --yes nothing is deleted (exit 2); with it the file and its companions go."""
    path = tmp_path / "state.sqlite"
    _state_with_an_alert(path)
    refused = runner.invoke(app, ["state", "reset", "--state", str(path)])
    assert refused.exit_code == 2
    assert path.exists()
    done = runner.invoke(app, ["state", "reset", "--state", str(path), "--yes"])
    assert done.exit_code == 0, done.output
    assert not path.exists()
    assert not Path(f"{path}-wal").exists()


def test_version_prints_the_package_version() -> None:
    """`--version` prints the version and exits 0."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"cdr-detector {__version__}\n"


def test_help_shows_metavars_not_types() -> None:
    """Flags show no `<bool>` and path options say what they take."""
    out = runner.invoke(app, ["run", "--help"]).output
    assert "<bool>" not in out
    assert "--config FILE" in out
    assert "--metrics-addr HOST:PORT" in out


def cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `python -m detector ARGS` as a process; returns the exit code and stderr."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "detector", *args], capture_output=True, text=True,
        cwd=tmp_path, env={**base, **(env or {})}, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stderr


MISTAKES = [
    ("two bad settings", "poll: {interval_s: -1}\nlog: {format: xml}\n", {}, "2 problems"),
    ("not YAML", "poll: [unclosed\n", {}, "not valid YAML"),
    ("a bad override", "", {"CDR_DETECTOR__POLL__PER_PAGE": "500"}, "CDR_DETECTOR__POLL__PER_PAGE"),
    ("no credentials", "", {}, "missing API credentials"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("what", "config", "env", "says"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_operator_mistakes_give_one_line_and_exit_2(
    tmp_path: Path, what: str, config: str, env: dict[str, str], says: str
) -> None:
    """Each mistake prints exactly one `error:` line (no traceback) and exits 2."""
    path = tmp_path / "config.yaml"
    path.write_text(config + f"rules: {{dir: {RULES}}}\n" if "[unclosed" not in config else config)
    code, err = cli(tmp_path, "run", "--config", str(path), env=env)
    assert code == 2, err
    [line] = err.splitlines()
    assert line.startswith("error: "), line
    assert says in line


@pytest.mark.slow
def test_a_busy_metrics_port_is_one_json_line_in_a_json_deployment(tmp_path: Path) -> None:
    """With log.format json, a metrics address in use is one JSON object naming the setting."""
    path = tmp_path / "config.yaml"
    path.write_text(f"log: {{format: json}}\nrules: {{dir: {RULES}}}\n")
    env = {"CDR_DETECTOR_AUTH_ID": "PA_X", "CDR_DETECTOR_AUTH_TOKEN": "t"}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        addr = f"127.0.0.1:{busy.getsockname()[1]}"
        code, err = cli(
            tmp_path, "run", "--config", str(path), "--metrics-addr", addr,
            "--state", str(tmp_path / "s.sqlite"), env=env,
        )  # fmt: skip
    assert code == 2
    lines = [json.loads(line) for line in err.splitlines()]
    assert lines[-1]["event"] == "error"
    assert lines[-1]["exit_code"] == 2
    assert "metrics.listen" in lines[-1]["error"]
    assert all(isinstance(line, dict) for line in lines)
