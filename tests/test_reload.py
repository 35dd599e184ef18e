"""Rule reload: an invalid set is refused and the old one keeps running; state of unchanged rules
survives, changed rules start fresh, removed rules' state is dropped; SIGHUP in a real daemon."""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest

from detector.alerting.delivery import Delivery
from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.domain import CDR
from detector.metrics import Metrics
from detector.rules.engine import RuleEngine, RulesState
from detector.rules.reload import carry_over
from detector.rules.testing import make_cdr, ruleset_of
from detector.rulewatch import RuleWatch
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.rows import PollResult
from detector.source.settings import PollerConfig
from detector.state.store import StateStore
from tests.daemon import ROOT, Simulator, daemon, free_port, wait_for, write_config
from tests.feed import FakeFeed

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
SPEND = "irsf-spend-velocity-5m"
"""The shipped rule the scenarios lean on: warning at a spend of 25,000 within 5 minutes."""


class Log:
    """A structlog-like logger that records (level, event, fields)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **kw: self.events.append((level, event, kw))


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A private copy of the shipped rule directory."""
    return Path(shutil.copytree(ROOT / "rules", tmp_path / "rules"))


@pytest.fixture
def service(tmp_path: Path, rules: Path) -> Iterator[Service]:
    """A real Service (SQLite store, metrics, no notifiers) over the copied rules, model off."""
    store = StateStore(tmp_path / "state.sqlite")
    feed = FakeFeed(now=T0)
    svc = Service(
        poller=Poller(feed.api(), normalize, PollerConfig(), feed.clock),
        detector=build_detector(rules, ModelSettings(enabled=False)),
        model=None,
        store=store,
        delivery=Delivery(store.outbox(), {}),
        metrics=Metrics(),
        receivers=[],
        rules_dir=rules,
        interval_s=1.0,
        seen_ttl=timedelta(days=1),
        log=Log(),
        clock=T0.timestamp,
    )
    yield svc
    store.close()


def spend(n: int, cost: float, account: str = "MA_spend", at_s: float = 0.0) -> CDR:
    """An outbound call of `account` costing `cost`, `at_s` seconds after T0."""
    return make_cdr(
        T0 + timedelta(seconds=at_s), f"{account}-{n}", {"cost": cost, "account": account}
    )


def feed(svc: Service, *cdrs: CDR) -> list[str]:
    """Apply one poll's worth of CDRs; the (rule, status) of each alert it raised."""
    result = PollResult(list(cdrs), [], {"v": 1}, [(c.call_id, c.start) for c in cdrs])
    step = svc.apply(result, 0.0)
    return [f"{a.source}:{a.status.value}" for a in step.alerts]


def edit(path: Path, old: str, new: str) -> None:
    """Replace `old` by `new` in a rule file (which must contain it)."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def scrape(svc: Service) -> str:
    """The reload series of the service's metrics."""
    text = generate_latest(svc.metrics.registry).decode()
    return "\n".join(ln for ln in text.splitlines() if "reload" in ln and not ln.startswith("#"))


def test_unchanged_rule_state_survives_a_reload(service: Service, rules: Path) -> None:
    """A window half-filled before a reload that edits another rule completes a finding after it."""
    assert feed(service, spend(1, 20000)) == []
    edit(rules / "failure-surge.yaml", "description: ", "description: (edited) ")
    assert service.reload_rules()
    assert feed(service, spend(2, 20000, at_s=60)) == [f"{SPEND}:firing"]
    assert service.health.last_reload["changed"] == ["failure-surge"]


def test_reload_keeps_the_configured_lateness(service: Service, rules: Path) -> None:
    """The reloaded engine keeps the allowed lateness its windows were built with."""
    service.detector.engine = RuleEngine(service.detector.engine.ruleset, lateness_s=120.0)
    edit(rules / "failure-surge.yaml", "description: ", "description: (edited) ")
    assert service.reload_rules()
    assert service.detector.engine.lateness_s == 120.0


def test_changed_rule_starts_fresh(service: Service, rules: Path) -> None:
    """A rule whose spec changed forgets what its window held before the reload."""
    feed(service, spend(1, 20000))
    edit(rules / f"{SPEND}.yaml", "warning: 25000", "warning: 35000")
    assert service.reload_rules()
    assert feed(service, spend(2, 20000, at_s=60)) == []
    assert feed(service, spend(3, 20000, at_s=120)) == [f"{SPEND}:firing"]


def test_removed_rule_state_is_dropped_and_committed(
    service: Service, rules: Path, tmp_path: Path
) -> None:
    """Deleting a rule file removes its state from every account, also in the state file."""
    feed(service, spend(1, 20000, "MA_a"), spend(2, 20000, "MA_b"))
    (rules / f"{SPEND}.yaml").unlink()
    assert service.reload_rules()
    feed(service, spend(3, 1, "MA_c", at_s=60))
    with_rule = [a for a, s in service.detector.accounts.items() if SPEND in s.rules.by_rule]
    stored = StateStore(tmp_path / "state.sqlite").load().accounts
    assert with_rule == []
    assert {a for a in ("MA_a", "MA_b") if SPEND in stored[a].rules.by_rule} == set()
    assert service.health.last_reload["removed"] == [SPEND]


def test_invalid_rule_set_is_refused_and_the_old_rules_keep_firing(
    service: Service, rules: Path
) -> None:
    """A broken rule file is refused with file, rule and field in logs, /readyz and metrics."""
    feed(service, spend(1, 20000))
    edit(rules / f"{SPEND}.yaml", "window: 5m", "window: soon")
    assert not service.reload_rules()
    ready, detail = service.ready()
    assert not ready
    assert f"{SPEND}.yaml" in detail
    assert "field window" in detail
    level, _, fields = service.log.events[-1]
    assert (level, fields["rule"], fields["field"]) == ("error", SPEND, "window")
    assert fields["file"].endswith(f"{SPEND}.yaml")
    assert "cdr_detector_rules_last_reload_success 0.0" in scrape(service)
    assert 'cdr_detector_rule_reloads_total{outcome="error"} 1.0' in scrape(service)
    assert feed(service, spend(2, 20000, at_s=60)) == [f"{SPEND}:firing"]
    assert service.console.status()["rule_reload_error"] == detail.removeprefix(
        "rule reload failed: "
    )


def test_fixing_the_rule_file_reloads_and_clears_the_error(service: Service, rules: Path) -> None:
    """After a refused set, a valid one loads, /readyz is ready again and the gauge is back to 1."""
    feed(service, spend(1, 100))
    edit(rules / f"{SPEND}.yaml", "window: 5m", "window: soon")
    assert not service.reload_rules()
    edit(rules / f"{SPEND}.yaml", "window: soon", "window: 5m")
    assert service.reload_rules()
    assert service.ready() == (True, "ok")
    assert "cdr_detector_rules_last_reload_success 1.0" in scrape(service)
    assert 'cdr_detector_rule_reloads_total{outcome="ok"} 1.0' in scrape(service)


def test_alert_timings_follow_the_new_rule_set(service: Service, rules: Path) -> None:
    """A `for:` added by a reload holds the next alert of that rule pending."""
    edit(rules / f"{SPEND}.yaml", "window: 5m", "window: 5m\nfor: 10m")
    assert service.reload_rules()
    assert service.detector.policy.timing(SPEND).for_s == 600
    assert feed(service, spend(1, 35000)) == []


def test_rule_watch_sees_edits_but_not_its_first_look(rules: Path) -> None:
    """The watch reports a changed, added or removed rule file once, and nothing on first sight."""
    watch = RuleWatch(rules)
    assert not watch.changed()
    (rules / "extra.yaml").write_text("id: extra\n")
    assert watch.changed()
    assert not watch.changed()
    (rules / "extra.yaml").unlink()
    assert watch.changed()


def test_carry_over_treats_a_changed_list_or_kind_as_a_changed_rule() -> None:
    """Editing a list a rule names, or its kind, resets that rule; other rules keep state."""
    hot = {
        "id": "hot", "kind": "match", "match": {"to_prefix_list": "hot"},
        "thresholds": {"critical": 1},
    }  # fmt: skip
    count = {"id": "count", "kind": "threshold", "thresholds": {"warning": 5}}
    old = RuleEngine(ruleset_of(hot, count, lists={"hot": ("+53",)}))
    state = old.new_state()
    old.observe(make_cdr(T0, "c1", {"to": "+5350000000"}), state)
    assert set(state.by_rule) == {"hot", "count"}
    new = RuleEngine(
        ruleset_of(hot, {**count, "kind": "ratio", "where": {}}, lists={"hot": ("+6",)})
    )
    changes = carry_over(old, new, {"MA_test": state})
    assert (changes.kept, changes.changed, changes.accounts) == ((), ("count", "hot"), ("MA_test",))
    assert state.by_rule == {}
    assert new.observe(make_cdr(T0, "c2", {}), state) == []  # no stale kind data to trip on
    same = RuleEngine(ruleset_of(hot, count, lists={"hot": ("+53",)}))
    kept = RulesState(by_rule={key: {} for key in ("hot", "count", "gone")})
    assert carry_over(old, same, {"MA_x": kept}).kept == ("count", "hot")
    assert set(kept.by_rule) == {"hot", "count"}


def _ready(url: str) -> tuple[int, dict[str, Any]] | None:
    try:
        answer = httpx.get(f"{url}/readyz", timeout=2)
    except httpx.HTTPError:
        return None
    return answer.status_code, answer.json()


@pytest.mark.slow
def test_sighup_with_a_broken_rule_keeps_the_daemon_running_until_fixed(tmp_path: Path) -> None:
    """SIGHUP after breaking a rule: /readyz 503 naming it, the process lives; fixed: 200 again."""
    rules = Path(shutil.copytree(ROOT / "rules", tmp_path / "rules"))
    sim = Simulator(
        tmp_path, "--accounts", "4", "--speed", "300", "--seed", "2", "--duration", "1h"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, rules={"dir": str(rules)}, poll={"interval_s": 0.2})
    proc = daemon(tmp_path, sim, config, port, {}, "daemon")
    try:
        wait_for(lambda: (_ready(url) or (0,))[0] == 200, 60, "/readyz 200")
        edit(rules / f"{SPEND}.yaml", "window: 5m", "window: soon")
        proc.popen.send_signal(signal.SIGHUP)
        _, body = wait_for(lambda: (r := _ready(url)) and r[0] == 503 and r, 30, "/readyz 503")
        assert re.search(rf"{SPEND}\.yaml.*window", body["detail"]), body
        metrics = httpx.get(f"{url}/metrics", timeout=5).text
        assert "cdr_detector_rules_last_reload_success 0.0" in metrics
        assert proc.popen.poll() is None
        edit(rules / f"{SPEND}.yaml", "window: soon", "window: 5m")
        proc.popen.send_signal(signal.SIGHUP)
        wait_for(lambda: (_ready(url) or (0,))[0] == 200, 30, "/readyz 200 after the fix")
    finally:
        exit_code = proc.stop()
        sim.proc.stop()
    assert exit_code == 0, proc.text()
    assert "rule reload refused" in proc.text()
