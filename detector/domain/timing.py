"""How long an alert waits, stays and repeats: per rule (or model), applied by the alert policy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AlertTiming:
    """Event-time durations in seconds that shape one rule's alert lifecycle.

    - `for_s`: a condition must hold this long before the alert fires (0 = at once).
    - `keep_firing_for_s`: keep firing this long after findings stop (on top of `resolve_after_s`).
    - `resolve_after_s`: resolve when no finding arrived for this long (usually the rule's window).
    - `cooldown_s`: minimum time between two firing notifications of one fingerprint.
    - `repeat_s`: re-notify a still-firing alert after this long (0 = never).
    - `ticks`: findings come only when event time passes (a flatline's silence), judged at every
      advance of the watermark: a gap between two findings with no advance in between says
      nothing about the condition, so only an advance that found nothing resolves the alert.
    - `inhibited_by`: sources whose alert on the same labels, firing or notified within
      `resolve_after_s` (the rule's window), makes this one open silently unless more severe.
    """

    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    resolve_after_s: float = 900.0
    cooldown_s: float = 1800.0
    repeat_s: float = 0.0
    ticks: bool = False
    inhibited_by: tuple[str, ...] = ()
