"""Prometheus metrics: an explicit registry per `Metrics`, recorded by the service.

`recorder.Metrics` holds every series and one typed method per thing that happened;
`accounts.AccountCollector` exposes the bounded per-account series (KPIs, alert state, anomaly
score) and `lag.LagCollector` the lags computed at scrape time. Nothing is registered at
import time. The catalogue of every series (type, labels, meaning, cardinality) is
`docs/metrics.md`.
"""

from detector.metrics.accounts import (
    OTHER_ACCOUNT,
    REDACTED_ACCOUNT,
    account_label,
    firing_by_rule,
)
from detector.metrics.recorder import Metrics

__all__ = ["OTHER_ACCOUNT", "REDACTED_ACCOUNT", "Metrics", "account_label", "firing_by_rule"]
