"""The simulator: a fake Vobiz partner API with realistic traffic and injected incidents.

`generate(options)` builds a deterministic run (rows, labels, accounts); `SimulatorServer`
serves it over HTTP as simulated time passes; `serve_forever` is what `cdr-detector simulate`
runs. `detector.simulate.world` draws whole worlds per seed (varied accounts, graded
incidents) and streams their calls; it is the quality yardstick (`python -m bench.quality`).
"""

from detector.simulate.incidents import Label
from detector.simulate.options import DEFAULT_START, SimOptions
from detector.simulate.profile import Account
from detector.simulate.scenario import (
    Chaos,
    IncidentSpec,
    Scenario,
    builtin_scenario,
    load_scenario,
)
from detector.simulate.server import SimulatorServer, serve_forever
from detector.simulate.traffic import Traffic, generate, write_labels_jsonl, write_rows_jsonl

__all__ = [
    "DEFAULT_START",
    "Account",
    "Chaos",
    "IncidentSpec",
    "Label",
    "Scenario",
    "SimOptions",
    "SimulatorServer",
    "Traffic",
    "builtin_scenario",
    "generate",
    "load_scenario",
    "serve_forever",
    "write_labels_jsonl",
    "write_rows_jsonl",
]
