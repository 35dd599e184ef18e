"""What the daemon writes to its log, and how it notices rules updated the Kubernetes way.

Each poll cycle is a debug line and one info `summary` line sums up the cycles since the last;
a ConfigMap update (an atomic swap of the `..data` symlink) is seen as a rule change and the
swapped-in rules load.
"""

from __future__ import annotations

import itertools
import shutil
import threading
from datetime import timedelta
from pathlib import Path

from detector.alerting.delivery import Delivery
from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.metrics import Metrics
from detector.rules.loader import load_rules
from detector.rulewatch import RuleWatch
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.store import StateStore
from tests.daemon import ROOT, wait_for
from tests.feed import FakeFeed
from tests.test_reload import T0, Log


def test_cycles_log_at_debug_and_a_summary_at_info(tmp_path: Path) -> None:
    """Every cycle is a debug `cycle` line; `summary` lines at info sum the cycles between."""
    ticks = itertools.count(T0.timestamp(), 7.0)
    feed = FakeFeed(now=T0)
    store = StateStore(tmp_path / "state.sqlite")
    log = Log()
    svc = Service(
        poller=Poller(feed.api(), normalize, PollerConfig(), feed.clock),
        detector=build_detector(ROOT / "rules", ModelSettings(enabled=False)),
        model=None, store=store, delivery=Delivery(store.outbox(), {}), metrics=Metrics(),
        receivers=[], rules_dir=ROOT / "rules", interval_s=0.01, seen_ttl=timedelta(days=1),
        log=log, clock=lambda: next(ticks), summary_every_s=60.0,
    )  # fmt: skip
    loop = threading.Thread(target=svc.run, daemon=True)
    loop.start()
    try:
        wait_for(lambda: sum(e == "summary" for _, e, _ in log.events) >= 2, 30, "two summaries")
    finally:
        svc.stopping.set()
        loop.join(10)
        store.close()
    levels = {(level, event) for level, event, _ in log.events}
    assert ("debug", "cycle") in levels
    assert ("info", "cycle") not in levels
    summaries = [fields for level, event, fields in log.events if event == "summary"]
    assert all(level == "info" for level, event, _ in log.events if event == "summary")
    assert all(s["cycles"] >= 1 and s["over_s"] >= 60.0 for s in summaries)


def configmap_volume(root: Path, source: Path, version: str, pattern: str = "*.y*ml") -> None:
    """Lay out `source`'s files the way the kubelet mounts a ConfigMap: real files in a
    timestamped folder, `..data` pointing at it, top-level symlinks through `..data`, and no
    link for a key that is gone."""
    folder = root / f"..{version}"
    folder.mkdir()
    for path in source.glob(pattern):
        shutil.copy(path, folder / path.name)
    tmp_link = root / "..data_tmp"
    tmp_link.symlink_to(folder.name)
    tmp_link.replace(root / "..data")  # the atomic swap the kubelet does
    for path in folder.iterdir():
        link = root / path.name
        if not link.is_symlink():
            link.symlink_to(Path("..data") / path.name)
    for link in root.iterdir():  # keys gone from the ConfigMap lose their links too
        if link.is_symlink() and not link.exists():
            link.unlink()


def test_a_configmap_update_is_seen_and_the_new_rules_load(tmp_path: Path) -> None:
    """A swap of the ConfigMap's `..data` symlink counts as a rule change, and loading the
    directory afterwards reads the new files (hidden versions are never loaded twice)."""
    first, second = tmp_path / "v1", tmp_path / "v2"
    shutil.copytree(ROOT / "rules", first)
    shutil.copytree(ROOT / "rules", second)
    (second / "duration-cap.yaml").unlink()
    mount = tmp_path / "mount"
    (mount / "lists").mkdir(parents=True)  # the lists ConfigMap, mounted inside the rules one
    configmap_volume(mount / "lists", first / "lists", "2026_12_05_00_00_00.1", "*.txt")
    configmap_volume(mount, first, "2026_12_05_00_00_00.1")
    before = len(load_rules(mount).rules)
    watch = RuleWatch(mount)
    watch.changed()
    assert not watch.changed()
    configmap_volume(mount, second, "2026_12_05_00_01_00.2")
    assert watch.changed()
    assert len(load_rules(mount).rules) == before - 1
