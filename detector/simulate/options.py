"""Options of one simulator run, as the `simulate` command passes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from detector.errors import ConfigError
from detector.simulate.scenario import Scenario

# Monday 2026-03-02 09:00 in Asia/Kolkata: business hours, so traffic flows from the first second.
DEFAULT_START = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)


@dataclass(frozen=True)
class SimOptions:
    """Everything that determines the simulated traffic and how the API serves it.

    `scenario=None` means the built-in scenario; pass `Scenario()` for traffic without incidents.
    """

    accounts: int = 50
    speed: float = 60.0
    seed: int = 1
    duration: timedelta = timedelta(hours=24)
    start: datetime = DEFAULT_START
    shape: Literal["a", "b"] = "a"
    auth_id: str = "PA_SIM"
    auth_token: str = "sim-token"  # noqa: S105 - the simulator's documented default credential
    scenario: Scenario | None = None

    def __post_init__(self) -> None:
        """Reject options no run can use, naming the option."""
        problems = {
            "accounts": self.accounts < 1,
            "speed": self.speed <= 0,
            "duration": self.duration <= timedelta(0),
            "start": self.start.tzinfo is None,
            "shape": self.shape not in ("a", "b"),
        }
        bad = [name for name, wrong in problems.items() if wrong]
        if bad:
            raise ConfigError(f"simulate: invalid option(s) {', '.join(bad)}: {self!r}")
