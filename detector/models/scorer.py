"""STUB (to be replaced by the models work): the anomaly model contract used by the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detector.domain import CDR, Finding


@dataclass(slots=True)
class AccountModelState:
    """Per-account model state (current bucket, seasonal baselines); picklable, small."""

    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> AccountModelState:
        """State used when no model is configured."""
        return cls()


class AnomalyModel:
    """Scores per-account buckets with a shared online model."""

    def new_state(self) -> AccountModelState:
        """Empty state for a newly seen account."""
        return AccountModelState()

    def observe(self, cdr: CDR, state: AccountModelState) -> list[Finding]:
        """Add a CDR to its account's current bucket; when a bucket closes, score it."""
        raise NotImplementedError
