"""The registry of world incident kinds, in placement order.

Append new kinds at the end: each kind is placed from its own random stream, so the kinds
before it keep their accounts, times and grades. The first nine are the types of
`detector.simulate.scenario.INCIDENT_TYPES`; `duration_spike` and `wangiri_outbound` are
world-only; the under-threshold kinds for the anomaly model follow (`subtle.py`).
"""

from __future__ import annotations

from detector.simulate.world.faults import DurationSpike, Flatline, NoAnswerSurge, RouteFailure
from detector.simulate.world.fraud import (
    CliSpoofing,
    Irsf,
    Robocall,
    SequentialDialing,
    TrafficPumping,
    Wangiri,
    WangiriOutbound,
)
from detector.simulate.world.incidents import Kind
from detector.simulate.world.subtle import SUBTLE_KINDS

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Robocall(),
        Irsf(),
        NoAnswerSurge(),
        Wangiri(),
        TrafficPumping(),
        SequentialDialing(),
        RouteFailure(),
        Flatline(),
        CliSpoofing(),
        DurationSpike(),
        WangiriOutbound(),
        *SUBTLE_KINDS,
    )
}
