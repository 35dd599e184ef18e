"""Apprise: one URL syntax for ~100 services (Teams, Telegram, PagerDuty, Opsgenie, Discord …).

Each URL (`msteams://…`, `tgram://…`, `pagerduty://…`, `json://host/path`, `mailto://…`) carries
its own token, so the list is a secret. A notice is sent as a title and a plain-text body
(`render.plain_text`), typed as a failure for firing notices and a success for resolved ones
(services that colour messages use it). Apprise reports only success or failure, not why, so
a failure is retried with backoff (its own log lines say more, with URLs masked by apprise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import apprise

from detector.alerting.content import Notice
from detector.alerting.render import one_line, plain_text
from detector.errors import RetryableDelivery


class AppriseNotifier:
    """Notifies every apprise URL of the receiver; a failure of any is retried."""

    def __init__(self, urls: Sequence[str], *, name: str = "apprise") -> None:
        self.name = name
        self._apprise = apprise.Apprise()
        refused = [i for i, url in enumerate(urls) if not self._apprise.add(url)]
        if refused:
            raise ValueError(
                f"{name}: apprise does not understand URL number(s) "
                f"{', '.join(str(i + 1) for i in refused)} (check their scheme and fields)"
            )
        self.count = len(urls)

    def send(self, payload: Mapping[str, Any]) -> None:
        """Send the notice as a title and a text body."""
        notice = Notice.from_json(payload)
        kind = (
            apprise.NotifyType.FAILURE if notice.status == "firing" else apprise.NotifyType.SUCCESS
        )
        ok = self._apprise.notify(
            title=one_line(notice.title(), 250), body=plain_text(notice), notify_type=kind,
            body_format=apprise.NotifyFormat.TEXT,
        )  # fmt: skip
        if not ok:
            raise RetryableDelivery(f"{self.name}: apprise could not notify every URL")

    def __repr__(self) -> str:
        return f"AppriseNotifier(name={self.name!r}, urls={self.count} hidden)"
