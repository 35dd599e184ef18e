"""Simulator worlds: a varied, realistic book of accounts per seed, with graded incidents.

`draw_world(seed, accounts=500, days=14)` draws a `World`: accounts whose sizes span 10 to
50,000 calls a day (log-uniform), six business profiles, five timezones, hour-of-day shapes,
weekends, day-to-day and hour-level overdispersion, campaigns and trends, numbering real plans
allocate with a small misdial rate, and incidents of every type at intensities graded against
what a careful analyst would flag (`grades.py`). `World.stream()` generates its calls lazily,
in availability order, as wire rows or CDRs, for all accounts or a shard.

Modules: `profiles` (business profiles and their ranges), `accounts` (the other per-account
ranges), `rhythm` (volume over time), `numbering` (number blocks and tariff), `traffic`
(ordinary calls), `norms` (an account's usual), `grades` (the analyst's lines), `incidents`
(the kind registry's base and placement), `fraud` and `faults` (the kinds), `kinds` (the
registry), `draw` (the World), `stream` (chunked generation), `rows` (wire rows and CDRs),
`seeds` (independent random streams).
"""

from detector.simulate.world.draw import (
    DEFAULT_ACCOUNTS,
    DEFAULT_DAYS,
    World,
    draw_world,
)
from detector.simulate.world.incidents import Incident

__all__ = ["DEFAULT_ACCOUNTS", "DEFAULT_DAYS", "Incident", "World", "draw_world"]
