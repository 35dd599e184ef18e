"""Wiring: build the detector, the notifiers and the daemon from validated settings.

Kept apart from `service.py` (the loop) and `cli.py` (argument parsing) so tests, the demo,
the backtest and the daemon all assemble the same pieces the same way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from detector import logs
from detector.alerting.briefer import Briefer, Page
from detector.alerting.cards import Cards
from detector.alerting.content import CallDetail
from detector.alerting.delivery import Delivery
from detector.alerting.enrichment import Enricher
from detector.alerting.masking import Masker
from detector.alerting.notification import NoticeMaker, NotificationStage
from detector.alerting.notifiers import Notifier
from detector.alerting.receivers import build_destinations, build_receivers, pacing_of
from detector.config import ModelSettings, Settings, credentials, load_settings
from detector.domain import Rejected
from detector.enrich.causes import sip_meaning
from detector.errors import ConfigError
from detector.health import HealthPolicy
from detector.housekeeping import Retention
from detector.http import HttpLimits, HttpServer
from detector.investigate.reader import Reader
from detector.metrics import Metrics
from detector.models.loader import ModelsFile, model_config, read_models_file
from detector.models.scorer import AnomalyModel
from detector.pipeline import Detector
from detector.progress import backfill_with_progress
from detector.rules.engine import RuleEngine
from detector.rules.kinds.base import LATENESS_S
from detector.rules.loader import RuleSet, load_rules
from detector.rules.spec import RuleSettings, known_zone
from detector.secret import read_secret
from detector.service import FeedPoller, Service
from detector.source.accounts import PerAccountPoller, account_timezones, trunk_normalizer
from detector.source.client import CdrApi
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.rows import Normalize
from detector.source.settings import PollerConfig
from detector.state.store import Snapshot, StateStore
from detector.webhooks.wiring import build_intake, start_intake


def build_model(
    settings: ModelSettings,
    blob: bytes | None = None,
    local: RuleSettings | None = None,
    rules_dir: Path | None = None,
) -> AnomalyModel | None:
    """The anomaly model configured by `rules_dir/_models.yaml` (overridden by `settings`),
    restored from its saved shared state when there is one; `local` is the rule set's home
    country and timezones, so model and rules share the accounts' hours."""
    spec = read_models_file(rules_dir) if rules_dir is not None else ModelsFile()
    if not settings.enabled or not spec.enabled:
        return None
    overrides: dict[str, float] = {}
    if settings.bucket_s is not None:
        overrides["bucket"] = settings.bucket_s
    if settings.warmup_buckets is not None:
        overrides["warmup"] = settings.warmup_buckets * (settings.bucket_s or spec.bucket)
    if overrides:
        spec = spec.model_copy(update=overrides)
    config = model_config(spec, local or RuleSettings(), mode=settings.mode)
    model = AnomalyModel(config)
    if blob is not None:
        model.restored_note = model.restore_global(blob)
    return model


def build_detector(
    rules_dir: Path,
    model_settings: ModelSettings,
    snapshot: Snapshot | None = None,
    allowed_lateness_s: float = LATENESS_S,
    detectors: str = "all",
) -> Detector:
    """Rules + model + alert policy, resumed from `snapshot` when given; `detectors` "rules"
    or "models" leaves the other out (the model also needs `model_settings.enabled`)."""
    ruleset = load_rules(rules_dir)
    if detectors == "models":
        ruleset = replace(ruleset, rules=())
    if detectors == "rules":
        model_settings = model_settings.model_copy(update={"enabled": False})
    return detector_for(ruleset, model_settings, snapshot, allowed_lateness_s, rules_dir=rules_dir)


def detector_for(
    ruleset: RuleSet,
    model_settings: ModelSettings,
    snapshot: Snapshot | None = None,
    allowed_lateness_s: float = LATENESS_S,
    *,
    rules_dir: Path | None = None,
) -> Detector:
    """`build_detector` for a rule set already loaded (`rules try` runs a subset of one);
    the model reads `rules_dir/_models.yaml` (its defaults without one)."""
    engine = RuleEngine(ruleset, lateness_s=allowed_lateness_s)
    blob = snapshot.model_blob if snapshot else None
    model = build_model(model_settings, blob, engine.ruleset.settings, rules_dir)
    detector = Detector(engine, model, snapshot.accounts if snapshot else None)
    if snapshot:
        detector.restore_meta(snapshot.detector_meta)
    return detector


def build_delivery(settings: Settings, store: StateStore, metrics: Metrics, log: Any,
                   receivers: dict[str, Notifier],
                   cards: Callable[[], Cards] = Cards) -> Delivery:  # fmt: skip
    """The delivery task: the notification stage (route, group, silence) and a paced courier
    per receiver, each on its own connection to the state file. `cards`: the live rules'
    headlines and runbooks (read again for every notice, so a reload is seen)."""
    alerting = settings.alerting
    enricher = build_enricher(settings, metrics, log) if alerting.enrichment.enabled else None
    masker = Masker(alerting.mask.enabled, alerting.mask.keep_start, alerting.mask.keep_end)
    briefer = build_briefer(settings, metrics, log, masker, cards)
    notice = NoticeMaker(masker, alerting.links, f"http://{settings.metrics.listen}", enricher,
                         cards, briefer)  # fmt: skip
    stage = NotificationStage(
        store.notifications(), build_destinations(settings, receivers), notice,
        record_silenced=metrics.silenced, log=log,
    )  # fmt: skip
    return Delivery(
        store.outbox(), receivers, pacing_of(settings, receivers), stage=stage,
        enricher=enricher, record=metrics.notification, gauge=metrics.outbox_pending,
        grace_s=settings.delivery.shutdown_grace_s, log=log,
    )  # fmt: skip


def build_enricher(settings: Settings, metrics: Metrics, log: Any) -> Enricher | None:
    """Call details for new alerts from the single-call endpoint (None without credentials)."""
    e = settings.alerting.enrichment
    try:
        auth_id, token = credentials(settings.api)
    except ConfigError:
        return None
    api = CdrApi(
        settings.api.url, auth_id, token.reveal(), timeout=min(settings.api.timeout_s, 5.0),
        max_retries=0, rate_per_s=e.rate_per_s, on_request=metrics.api_request,
    )  # fmt: skip

    def fetch(account: str, call_id: str) -> CallDetail | None:
        cdr = normalize(api.get_cdr(account, call_id), account=account)
        if isinstance(cdr, Rejected):
            return None
        meaning = sip_meaning(cdr.sip_code)[0] if cdr.sip_code is not None else ""
        return CallDetail(call_id, cdr.hangup_cause, cdr.sip_code, meaning)

    return Enricher(fetch, calls=e.calls, rate_per_s=e.rate_per_s, queue_size=e.queue,
                    record=metrics.enrichment, log=log)  # fmt: skip


def build_briefer(settings: Settings, metrics: Metrics, log: Any, masker: Masker,
                  cards: Callable[[], Cards]) -> Briefer | None:  # fmt: skip
    """Briefings (facts and chart data) from the account's last 24 h of calls, listed from the
    partner API on the side (None without credentials or with enrichment off)."""
    e = settings.alerting.enrichment
    if not e.enabled:
        return None
    try:
        auth_id, token = credentials(settings.api)
    except ConfigError:
        return None
    api = CdrApi(
        settings.api.url, auth_id, token.reveal(), timeout=min(settings.api.timeout_s, 10.0),
        max_retries=1, rate_per_s=e.rate_per_s, on_request=metrics.api_request,
    )  # fmt: skip
    reader = Reader(api, _normalizer(settings))

    def calls_of(account: str, since: datetime, until: datetime) -> Iterator[Page]:
        return ((p.cdrs, p.whole_from) for p in reader.recent(account, since, until))

    return Briefer(calls_of, lambda rule: cards().of(rule).scope, masker, log=log)


def build_metrics(settings: Settings) -> Metrics:
    """A fresh metrics registry with the configured account cap and expected currencies."""
    return Metrics(account_cap=settings.metrics.account_cap, currencies=settings.metrics.currencies)


def build_api(settings: Settings, metrics: Metrics) -> CdrApi:
    """The partner API client, counting every request outcome in `metrics`."""
    auth_id, token = credentials(settings.api)
    return CdrApi(
        settings.api.url, auth_id, token.reveal(),
        timeout=settings.api.timeout_s, max_retries=settings.api.max_retries,
        rate_per_s=settings.api.rate_per_s, on_request=metrics.api_request,
        max_response_bytes=settings.api.max_response_bytes,
    )  # fmt: skip


def build_poller(settings: Settings, api: CdrApi, account: str | None = None) -> Poller:
    """The tailing poller with the configured horizon and date-filter timezone."""
    return Poller(api, _normalizer(settings), poller_config(settings, account), clock=_now)


def build_feed(settings: Settings, api: CdrApi) -> FeedPoller:
    """The global-feed poller, or one per customer account when `poll.mode: per_account`."""
    if settings.poll.mode == "per_account":
        return PerAccountPoller(api, _normalizer(settings), poller_config(settings, None), _now)
    return build_poller(settings, api)


def _now() -> datetime:
    return datetime.now(UTC)


def _normalizer(settings: Settings) -> Normalize:
    trunks = settings.poll.trunk_accounts
    return trunk_normalizer(normalize, trunks) if trunks else normalize


def poller_config(settings: Settings, account: str | None) -> PollerConfig:
    """The poller's bounds from the `poll:` section; the head's request budget is half of what
    the API rate limit allows per poll interval (none when `latency_first` is off), and a
    cycle may read all of it unless `max_pages_per_cycle` says otherwise."""
    poll = settings.poll
    return PollerConfig(
        per_page=poll.per_page, date_tz=poll.date_tz, horizon_s=poll.lateness_horizon_s,
        max_ring_s=poll.max_ring_s, max_lag_s=poll.max_lag_s, start_back_s=poll.start_back_s,
        max_pages_per_cycle=poll.cycle_pages(settings.api.rate_per_s),
        tier_bounds_s=poll.tier_bounds_s,
        tier_every_s=poll.tier_every_s, target_overhead=poll.target_overhead, workers=poll.workers,
        interval_s=poll.feed_s,
        max_clock_skew_s=poll.max_clock_skew_s, account=account,
        latency_budget=0.5 * settings.api.rate_per_s * poll.interval_s if poll.latency_first else 0,
    )  # fmt: skip


def build_service(settings: Settings, metrics: Metrics, log: Any) -> Service:
    """The daemon, resumed from the state file."""
    api = build_api(settings, metrics)
    store = StateStore(settings.state.path)
    snapshot = store.load()
    detector = build_detector(
        settings.rules.dir, settings.model, snapshot, settings.allowed_lateness_s
    )
    if detector.model is not None and detector.model.restored_note:
        log.warning(detector.model.restored_note)
    notifiers = build_receivers(settings, log)
    health, keep = settings.health, settings.state.retention
    live: list[Service] = []

    def cards() -> Cards:
        current = live[0].detector if live else detector
        return Cards.of_ruleset(current.engine.ruleset)

    def rebuild(last: Snapshot) -> Detector:
        return build_detector(settings.rules.dir, settings.model, last, settings.allowed_lateness_s)

    service = Service(
        poller=build_feed(settings, api),
        detector=detector,
        model=detector.model,
        store=store,
        delivery=build_delivery(settings, store, metrics, log, notifiers, cards),
        metrics=metrics,
        receivers=sorted(notifiers),
        rules_dir=settings.rules.dir,
        interval_s=settings.poll.interval_s,
        seen_ttl=timedelta(seconds=settings.poll.seen_ttl_s),
        log=log,
        health=HealthPolicy(health.max_failed_cycles, health.max_event_lag_s, health.stall_s),
        retention=Retention(
            sent_s=keep.sent_notifications_s,
            alerts_s=keep.resolved_alerts_s,
            rejected_s=keep.rejected_rows_s,
            rejected_rows=keep.rejected_rows_max,
        ),
        summary_every_s=settings.log.summary_every_s,
        rebuild=rebuild,
        hooks=build_intake(settings, metrics, _normalizer(settings)),
    )
    service.cursor = snapshot.cursor
    live.append(service)
    metrics.rules_loaded(len(detector.engine.timings()))
    return service


def listen_address(addr: str) -> tuple[str, int]:
    """(host, port) of a `metrics.listen` value; a ConfigError when it is not HOST:PORT."""
    host, _, port = addr.rpartition(":")
    try:
        return host.strip("[]") or "127.0.0.1", int(port)
    except ValueError:
        raise ConfigError(f"metrics.listen: {addr!r} is not HOST:PORT") from None


def loopback(host: str) -> bool:
    """True when `host` is reachable from this machine only.

    >>> loopback("127.0.0.1"), loopback("localhost"), loopback("0.0.0.0"), loopback("::1")
    (True, True, False, True)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_http(settings: Settings, metrics: Metrics, service: Service) -> HttpServer:
    """The HTTP endpoint; refuses an open JSON API beyond loopback (a `ConfigError`)."""
    m = settings.metrics
    token = read_secret(m.api_token_env, m.api_token_file, "api token")
    host, _ = listen_address(m.listen)
    if m.status_api and token is None and not loopback(host):
        raise ConfigError(
            f"metrics.status_api is on and metrics.listen ({m.listen}) is beyond loopback: set "
            f"a bearer token in {m.api_token_env} (or metrics.api_token_file), or listen on "
            "127.0.0.1"
        )
    return HttpServer(
        metrics, service.console.status, service.ready, service.live,
        api=m.status_api, token=token.reveal() if token else None, backend=service.console,
        limits=HttpLimits(m.threads, m.max_connections, m.request_timeout_s),
    )  # fmt: skip


def run_daemon(config: Path | None, overrides: dict[str, Any]) -> int:
    """`cdr-detector run`: serve /metrics, loop until SIGTERM, return the exit code."""
    settings = load_settings(config, overrides)
    mask = settings.alerting.mask
    logs.configure(settings.log.format, settings.log.level,
                   mask=Masker(mask.enabled, mask.keep_start, mask.keep_end).processor)  # fmt: skip
    log = logs.get("service")
    metrics = build_metrics(settings)
    service = build_service(settings, metrics, log)
    try:
        http = build_http(settings, metrics, service)
        host, port = http.start(*listen_address(settings.metrics.listen))
    except OSError as exc:
        service.store.close()
        raise ConfigError(
            f"metrics.listen {settings.metrics.listen}: cannot listen ({exc.strerror})"
        ) from None
    except ConfigError:
        service.store.close()
        raise
    log.info("metrics listening", url=f"http://{host}:{port}/metrics")
    try:
        intake = start_intake(settings, service.hooks, metrics, log)
    except ConfigError:
        http.stop()
        service.store.close()
        raise
    service.install_signals()
    try:
        return service.run()
    finally:
        if intake is not None:
            intake.stop()
        http.stop()
        service.store.close()


def run_backfill(
    config: Path | None, overrides: dict[str, Any], start: date, end: date, account: str | None
) -> None:
    """`cdr-detector backfill`: page a date range through the same path as live."""
    settings = load_settings(config, overrides)
    logs.configure(settings.log.format, settings.log.level)
    log = logs.get("backfill")
    metrics = build_metrics(settings)
    service = build_service(settings, metrics, log)
    poller = build_poller(settings, build_api(settings, metrics), account)
    backfill_with_progress(service, poller, start, end, account)
    service.store.close()


def account_zones(config: Path | None, overrides: dict[str, Any], rules_dir: Path | None) -> str:
    """`cdr-detector rules timezones`: a `timezones:` map for `_ruleset.yaml` from the
    accounts' `timezone` in `GET /accounts` (those outside the rule set's own zone)."""
    settings = load_settings(config, overrides)
    ruleset = load_rules(rules_dir or Path(settings.rules.dir))
    api = build_api(settings, build_metrics(settings))
    try:
        found = account_timezones(api, ruleset.settings.timezone)
    finally:
        api.close()
    return zones_yaml(found, ruleset.settings.timezone)


def zones_yaml(found: dict[str, str], default: str) -> str:
    """The `timezones:` YAML for `found` (account → zone, as the API says); zones that are not
    IANA names are left out and listed in comments, every API text quoted (untrusted)."""
    good, bad = {}, {}
    for account, zone in found.items():
        try:
            good[account] = known_zone(zone)
        except ValueError:
            bad[account] = zone
    lines = [f"# accounts outside {default}, from GET /accounts"]
    lines += [f"# left out, not an IANA timezone: {a!r} = {z!r}" for a, z in bad.items()]
    return "\n".join(lines) + "\n" + yaml.safe_dump({"timezones": good}, sort_keys=True)
