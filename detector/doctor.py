"""`cdr-detector doctor`: check a deployment piece by piece before (or instead of) running it.

Checks, each ok or failed with what to do:

    settings     the file and environment load and validate (every problem at once)
    api          the credentials and the partner API: one cheap request (page 1, one row)
    rules        the rule directory loads
    state        the state file is readable, its schema version known, its size
    receiver:X   each configured receiver; a test notification only when asked (--notify X,
                 or all): sending is opt-in because it reaches real people
    metrics      the metrics address can be bound (nothing else listens there)

Settings that do not load stop the other checks (they all depend on them). The exit code is
0 when every check passed, 1 otherwise. Doctor never writes to the state file and never starts
the daemon; run it with the same settings, environment and user as the daemon.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detector import logs
from detector.alerting.grouping import Message
from detector.alerting.notification import NoticeMaker
from detector.alerting.receivers import build_receivers
from detector.assembly import build_api, listen_address
from detector.config import load_settings
from detector.domain import Alert, AlertStatus, Severity
from detector.errors import DetectorError
from detector.metrics import Metrics
from detector.rules.loader import load_rules
from detector.state.store import StateStore

NOTIFY_ALL = "all"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the doctor's table."""

    name: str
    ok: bool
    detail: str


def diagnose(
    config: Path | None, overrides: dict[str, Any], notify: Collection[str] = ()
) -> list[Check]:
    """Run every check; `notify` names receivers to send a test notification to (or "all")."""
    try:
        settings = load_settings(config, overrides)
    except DetectorError as exc:
        return [Check("settings", False, str(exc))]
    logs.configure(settings.log.format, settings.log.level)  # to stderr; the table is stdout
    checks = [Check("settings", True, str(config) if config else "defaults and environment")]
    checks.append(_run("api", lambda: _api(settings)))
    checks.append(_run("rules", lambda: _rules(settings.rules.dir)))
    checks.append(_run("state", lambda: _state(settings.state.path)))
    checks.extend(_receivers(settings, notify))
    checks.append(_run("metrics", lambda: _port(settings.metrics.listen)))
    return checks


def _run(name: str, check: Callable[[], str]) -> Check:
    try:
        return Check(name, True, check())
    except DetectorError as exc:
        return Check(name, False, " ".join(str(exc).split()))
    except OSError as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc.strerror or exc}")


def _api(settings: Any) -> str:
    api = build_api(settings.model_copy(update={"api": _one_try(settings.api)}), Metrics())
    try:
        page = api.list_cdrs({"page": 1, "per_page": 1})
    finally:
        api.close()
    total = f"{page.total:,} CDRs in the feed" if page.total is not None else "the feed answers"
    return f"{settings.api.url}: credentials accepted, {total}"


def _one_try(api: Any) -> Any:
    return api.model_copy(update={"max_retries": 0})


def _rules(directory: Path) -> str:
    ruleset = load_rules(directory)
    return f"{len(ruleset.rules)} rules in {directory}"


def _state(path: Path) -> str:
    if not path.exists():
        if not path.parent.is_dir():
            raise OSError(f"its folder {path.parent} does not exist")
        return f"{path} does not exist yet; the daemon will create it"
    store = StateStore(path)
    try:
        info = store.inspect()
    finally:
        store.close()
    size = info["size_bytes"] / 1e6
    return (
        f"{path}: schema version {info['schema_version']}, {size:.1f} MB, "
        f"{info['cdrs_processed']:,} CDRs processed, {info['accounts_tracked']:,} accounts"
    )


def _receivers(settings: Any, notify: Collection[str]) -> list[Check]:
    try:
        notifiers = build_receivers(settings, logs.get("doctor"))
    except DetectorError as exc:
        return [Check("receivers", False, str(exc))]
    unknown = set(notify) - set(notifiers) - {NOTIFY_ALL}
    checks = [Check(f"receiver:{name}", False, "not configured") for name in sorted(unknown)]
    for name, notifier in sorted(notifiers.items()):
        if name in notify or (NOTIFY_ALL in notify and name != "console"):
            checks.append(_run(f"receiver:{name}", _sender(notifier)))
        else:
            checks.append(Check(f"receiver:{name}", True, f"configured (--notify {name} tests it)"))
    return checks


def _sender(notifier: Any) -> Callable[[], str]:
    def send() -> str:
        alert = sample_alert()
        message = Message(alert.delivery_id, "doctor", notifier.name, {}, [alert.to_json()])
        notifier.send(NoticeMaker()(message).to_json())
        return "test notification accepted"

    return send


def sample_alert(now: datetime | None = None) -> Alert:
    """The notification doctor sends: clearly a test, about no real account."""
    at = now or datetime.now(UTC)
    return Alert(
        fingerprint="doctor", delivery_id=f"doctor:{int(at.timestamp())}", source="doctor",
        account="doctor-test", severity=Severity.INFO, status=AlertStatus.FIRING, at=at,
        starts_at=at, summary="cdr-detector doctor: test notification, no action needed",
        value=0.0, threshold=0.0, labels=(("account", "doctor-test"),),
    )  # fmt: skip


def _port(listen: str) -> str:
    host, port = listen_address(listen)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(
                exc.errno, f"{listen}: {exc.strerror}; is a daemon already running there?"
            ) from None
    return f"{listen} is free"


def render(checks: list[Check]) -> str:
    """The table doctor prints: one line per check."""
    width = max(len(c.name) for c in checks)
    lines = [f"{'ok' if c.ok else 'FAIL':4}  {c.name:{width}}  {c.detail}" for c in checks]
    failed = sum(not c.ok for c in checks)
    lines.append(f"{len(checks) - failed} ok, {failed} failed")
    return "\n".join(lines)
