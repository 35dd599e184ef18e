"""`open`: a call still running after a threshold of seconds (IRSF and takeover calls last hours).

CDRs never feed this kind: a CDR is a call that has ended. The open-call tracker
(`detector.opencalls`) keeps the calls announced by trunk `CallInitiated` webhooks that have no
`Hangup` or CDR yet and, as event time passes, asks each `open` rule about the ones that match
it (`read`): the value is how long the call has been open (s), compared with the thresholds.
"""

from __future__ import annotations

from typing import ClassVar

from detector.rules.fields import Facts
from detector.rules.kinds.base import Kind, KindContext, Reading, narrow
from detector.rules.spec import AnyRule, OpenRule
from detector.windows.clock import LocalHours


class OpenCall(Kind[None]):
    """Value = the open call's age (s); volume 1 (one call)."""

    name: ClassVar[str] = "open"
    watches_all = False
    ticks = False
    forgets = True

    def __init__(self, rule: AnyRule, _ctx: KindContext) -> None:
        narrow(rule, OpenRule)

    def new_key(self) -> None:
        """No per-key state: the tracker holds the open calls."""
        return

    def observe(self, facts: Facts, matched: bool, data: None) -> Reading | None:
        """A CDR is a call that ended: nothing to read."""
        return None

    def tick(self, data: None, now: int, clock: LocalHours) -> Reading | None:
        """Nothing happens on ticks (the tracker reads open calls)."""
        return None

    def expired(self, data: None, now: int) -> bool:
        """Always evictable: the key holds nothing."""
        return True

    @staticmethod
    def read(open_s: float) -> Reading:
        """The reading for a call open for `open_s` seconds."""
        return Reading(open_s, 1.0)
