"""Silences from the operator's side: matcher syntax, `cdr-detector silence add|ls|expire`,
`outbox retry`, the HTTP JSON API behind its token, and numbers masked in the logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import structlog
from typer.testing import CliRunner

from detector import logs
from detector.alerting.delivery import Delivery
from detector.alerting.masking import Masker
from detector.alerting.silences import Matcher, Silence
from detector.assembly import build_detector
from detector.cli import app
from detector.config import ModelSettings
from detector.http import HttpServer
from detector.metrics import Metrics
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.store import Cycle, StateStore
from tests.daemon import ROOT
from tests.feed import FakeFeed
from tests.test_health import T0
from tests.test_outbox import envelopes, episode
from tests.test_reload import Log

runner = CliRunner()
TOKEN = "silence-t0ken"  # noqa: S105 - a test credential


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("account=MA_1", {"account": "MA_1"}, True),
        ('account="MA_1"', {"account": "MA_2"}, False),
        ("severity!=info", {"severity": "critical"}, True),
        ("rule=~robocall-.*", {"rule": "robocall-short-answered"}, True),
        ("rule=~robocall", {"rule": "robocall-short-answered"}, False),
        ("team!~fraud|billing", {"team": "noc"}, True),
        ("team=", {}, True),
    ],
)
def test_matchers_follow_alertmanager_syntax(
    text: str, labels: dict[str, str], expected: bool
) -> None:
    """=, !=, =~ and !~ (anchored regexes, optional quotes; a missing label is empty)."""
    assert Matcher.parse(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("matchers", "message"),
    [
        ([], "at least one matcher"),
        (["team=~.*"], "cannot mute everything"),
        (["account"], "is not name=value"),
        (["rule=~(x"], "bad regular expression"),
    ],
)
def test_silences_that_would_be_mistakes_are_refused(matchers: list[str], message: str) -> None:
    """No matchers, matchers matching everything, or bad syntax: refused with the reason."""
    with pytest.raises(ValueError, match=message):
        Silence.new(matchers, 0, 60)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state file with nothing in it."""
    path = tmp_path / "state.sqlite"
    StateStore(path).close()
    return path


def test_silence_add_ls_expire_from_the_command_line(state: Path) -> None:
    """`silence add` prints the id, `ls` shows it, `expire` ends it, a second `expire` is exit 2."""
    added = runner.invoke(app, ["silence", "add", "account=MA_1", "rule=~robocall.*",
                                "--duration", "1h", "--comment", "maintenance",
                                "--state", str(state)])  # fmt: skip
    assert added.exit_code == 0, added.output
    silence_id = added.output.split()[0]
    listed = runner.invoke(app, ["silence", "ls", "--json", "--state", str(state)])
    [shown] = json.loads(listed.output)
    assert shown["id"] == silence_id
    assert shown["matchers"] == ['account="MA_1"', 'rule=~"robocall.*"']
    assert shown["comment"] == "maintenance"
    assert (
        runner.invoke(app, ["silence", "expire", silence_id, "--state", str(state)]).exit_code == 0
    )
    assert (
        json.loads(runner.invoke(app, ["silence", "ls", "--json", "--state", str(state)]).output)
        == []
    )
    again = runner.invoke(app, ["silence", "expire", silence_id, "--state", str(state)])
    assert again.exit_code == 2
    assert "no active silence" in again.output


def test_a_bad_silence_is_refused_with_exit_2(state: Path) -> None:
    """A matcher that matches everything is refused with the reason, nothing stored."""
    result = runner.invoke(app, ["silence", "add", "team=~.*", "--state", str(state)])
    assert result.exit_code == 2
    assert "cannot mute everything" in result.output


def test_outbox_retry_requeues_dead_letters_shown_by_inspect(state: Path) -> None:
    """Dead letters show in `state inspect`; `outbox retry` makes them pending again."""
    store = StateStore(state)
    with store.outbox() as box:
        box.enqueue(envelopes(episode()[:2], ["slack"]), 100.0)
        for item in box.due(100.0, 10, "slack"):
            box.mark_dead(item, "slack: HTTP 404: no_service", 101.0)
    store.close()
    inspected = json.loads(
        runner.invoke(app, ["state", "inspect", "--json", "--state", str(state)]).output
    )
    assert inspected["dead_letters"] == {"slack": 1}
    assert inspected["recent_dead_letters"][0]["error"] == "slack: HTTP 404: no_service"
    result = runner.invoke(app, ["outbox", "retry", "--state", str(state)])
    assert result.output.strip() == "re-queued 1 dead letter"
    listed = json.loads(
        runner.invoke(app, ["outbox", "ls", "--json", "--state", str(state)]).output
    )
    assert listed["pending"] == {"slack": 2}
    assert listed["dead"] == {}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, Service]]:
    """A service with its HTTP API on (token required), over a fresh state."""
    store = StateStore(tmp_path / "state.sqlite")
    feed = FakeFeed(now=T0)
    svc = Service(
        poller=Poller(feed.api(), normalize, PollerConfig(), feed.clock),
        detector=build_detector(ROOT / "rules", ModelSettings(enabled=False)),
        model=None, store=store, delivery=Delivery(store.outbox(), {}), metrics=Metrics(),
        receivers=[], rules_dir=ROOT / "rules", interval_s=1.0, seen_ttl=timedelta(days=1),
        log=Log(),
    )  # fmt: skip
    server = HttpServer(svc.metrics, svc.console.status, svc.ready, svc.live, api=True,
                        token=TOKEN, backend=svc.console)  # fmt: skip
    host, port = server.start("127.0.0.1", 0)
    yield f"http://{host}:{port}", svc
    server.stop()
    store.close()


def test_silences_over_the_http_api(api: tuple[str, Service]) -> None:
    """POST creates (201), GET lists, DELETE expires; a bad body is 400 with the reason."""
    base, _ = api
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"matchers": ["account=MA_1"], "duration": "30m", "comment": "deploy",
            "created_by": "noc"}  # fmt: skip
    assert httpx.post(f"{base}/api/silences", json=body).status_code == 401
    created = httpx.post(f"{base}/api/silences", json=body, headers=auth)
    assert created.status_code == 201
    silence_id = created.json()["id"]
    listed = httpx.get(f"{base}/api/silences", headers=auth).json()["silences"]
    assert [s["id"] for s in listed] == [silence_id]
    bad = httpx.post(f"{base}/api/silences", json={"matchers": ["x"], "duration": "1h"},
                     headers=auth)  # fmt: skip
    assert bad.status_code == 400
    assert "not name=value" in bad.json()["error"]
    assert httpx.delete(f"{base}/api/silences/{silence_id}", headers=auth).json() == {
        "expired": True
    }
    assert httpx.get(f"{base}/api/silences", headers=auth).json()["silences"] == []


def test_an_alert_link_shows_its_history(api: tuple[str, Service]) -> None:
    """/api/alerts/FINGERPRINT (a notification's link) lists its transitions; unknown is 404."""
    base, svc = api
    alerts = episode()
    svc.store.commit_cycle(Cycle(cursor=None, alerts=alerts))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    found = httpx.get(f"{base}/api/alerts/{alerts[0].fingerprint}", headers=auth).json()
    assert [t["status"] for t in found["transitions"]] == ["resolved", "firing", "firing"]
    assert httpx.get(f"{base}/api/alerts/nope", headers=auth).status_code == 404


def test_numbers_are_masked_in_every_log_line() -> None:
    """With the masker, structlog and standard-library log lines carry no full number."""
    out, root = io.StringIO(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure("json", "info", stream=out, mask=Masker().processor)
    try:
        structlog.get_logger().warning("rows rejected", example="from +919812345321")
        logging.getLogger("some.library").warning("calling +447911123456 failed")
    finally:
        structlog.reset_defaults()
        root.handlers[:], root.level = handlers, level
    assert "+919812345321" not in out.getvalue()
    assert "+447911123456" not in out.getvalue()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["example"] == "from +9198•••••321"
    assert second["event"] == "calling +4479•••••456 failed"
