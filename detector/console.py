"""What the daemon's JSON API reads and changes (`http.ApiBackend`), apart from the loop.

`/api/status` (cycles, errors, reloads, recent alerts, the outbox), an alert's history and its
chart, silences and dead letters: each reads the state store on the HTTP thread, never the
cycle's connection, and none of it changes detection. The service owns the data; this is its
window for people and tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from detector.alerting.silences import from_request
from detector.health import iso

if TYPE_CHECKING:
    from detector.service import Service


class Console:
    """The JSON API's backend over one `Service`."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def status(self) -> dict[str, Any]:
        """JSON for /api/status."""
        health, store = self.service.health, self.service.store
        return {
            "cycles": health.cycles,
            "last_ok": iso(health.last_ok),
            "last_error": health.last_error,
            "state_error": health.state_error,
            "rule_reload_error": health.reload_error,
            "rule_reload": health.last_reload,
            "accounts_tracked": len(self.service.detector.accounts),
            "counts": dict(health.counts),
            "recent_alerts": store.recent_alerts(20),
            "outbox": store.outbox_summary(),
        }

    def alert_history(self, fingerprint: str) -> list[dict[str, Any]]:
        """/api/alerts/FINGERPRINT: the alert's recorded transitions, newest first."""
        return self.service.store.alert_history(fingerprint)

    def alert_chart(self, fingerprint: str) -> bytes | None:
        """/api/alerts/FINGERPRINT/chart.png: drawn on request from the alert's briefing (the
        HTTP thread's work, never the cycle's); None without one."""
        stage = self.service.delivery.stage
        briefer = stage.notice.briefer if stage is not None else None
        found = briefer.latest(fingerprint) if briefer is not None else None
        history = self.service.store.alert_history(fingerprint, 1) if found is not None else []
        if found is None or found.series is None or not history:
            return None
        from detector.alerting.chart import draw  # noqa: PLC0415 - matplotlib on demand
        from detector.alerting.render import COLOURS  # noqa: PLC0415 - with it

        last = history[0]
        ended = last.get("status") != "firing"
        accent = COLOURS["resolved" if ended else str(last.get("severity", "info"))]
        zone = stage.notice.cards().zone_of(str(last.get("account", ""))) if stage else "UTC"
        return draw(found.series, zone, accent, found.currency)

    def list_silences(self) -> list[dict[str, Any]]:
        """GET /api/silences: the silences not yet ended."""
        return self.service.silence_book().active(self.service.clock())

    def add_silence(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/silences: a new silence (ValueError says what is wrong with the body)."""
        silence = from_request(body, self.service.clock()).to_json()
        self.service.silence_book().add(silence)
        self.service.log.info(
            "silence added", **{k: silence[k] for k in ("id", "matchers", "ends_at")}
        )
        return silence

    def expire_silence(self, silence_id: str) -> bool:
        """DELETE /api/silences/ID: end it now."""
        expired = self.service.silence_book().expire(silence_id, self.service.clock())
        if expired:
            self.service.log.info("silence expired", id=silence_id)
        return expired

    def dead_letters(self) -> list[dict[str, Any]]:
        """GET /api/dead-letters: the newest dead-lettered notifications."""
        return list(self.service.store.outbox_summary()["recent_dead_letters"])
