"""The model's findings: what it reports of a bucket, a day or a drift, as a `Finding`.

Every model finding has the source `SOURCE`, the account as its key and label, a score
(`counts.score` of the surprise) against the segment's warning score as its threshold, and
details saying the surprise, which look found it (early, bucket, day, drift) and the bucket's
calls; its evidence is the bucket's call ids.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from detector.domain import Finding, Severity
from detector.models import explain
from detector.models.config import Thresholds
from detector.models.counts import score
from detector.models.features import FEATURES, Bucket
from detector.models.frame import Walk

SOURCE = "model:account-behaviour"
"""The `Finding.source` of every model finding."""


def finding(
    walk: Walk, index: int, surprise: float, th: Thresholds, summary: str,
    bucket: Bucket | None, *, kind: str = "bucket", window_s: float | None = None,
) -> Finding:  # fmt: skip
    """A finding of the account's bucket `index` (at its end) with `surprise`: critical from
    `th.critical` on, else a warning."""
    frame, account = walk.frame, walk.account
    severity = Severity.CRITICAL if surprise >= th.critical else Severity.WARNING
    details = [("surprise", f"{surprise:.1f}"), ("look", kind)]
    if bucket is not None:
        details.append(("calls", str(bucket.attempts)))
    return Finding(
        source=SOURCE,
        account=account,
        key=account,
        severity=severity,
        value=score(surprise),
        threshold=score(th.warning),
        window_s=float(window_s or frame.bucket_s),
        at=datetime.fromtimestamp((index + 1) * frame.bucket_s, UTC),
        summary=summary,
        evidence=tuple(bucket.call_ids) if bucket is not None else (),
        labels=(("account", account), ("pattern", "account_behaviour")),
        shadow=frame.config.shadow,
        details=tuple(details),
    )


def drift_finding(
    walk: Walk, index: int, f: int, observed: float, expected: float,
    bucket: Bucket | None = None,
) -> Finding:  # fmt: skip
    """A finding of feature `f` drifting up over the day (its CUSUM past the threshold), at the
    start of bucket `index`, with the surprise the threshold stands for."""
    cfg = walk.frame.config.drift
    surprise = 2.0 * cfg.reference * cfg.threshold / math.log(10.0)
    th = walk.thresholds()
    name = FEATURES[f].name
    summary = f"{name} {explain.ratio(observed, expected)} so far today, drifting up"
    return finding(walk, index - 1, max(surprise, th.warning), th, summary, bucket,
                   kind="drift", window_s=86400.0)  # fmt: skip
