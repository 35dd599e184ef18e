"""`python -m bench.depth`: where a newly listed short call sits in its list, and what reading
every poll down to it costs, for ways of splitting the head of the feed (issue 16).

The feed is newest-first by start time and a CDR is listed when its call ends, so a new row
sits below every row of its list that started after it and was listed first. Over
`bench.poller`'s traffic (45 % unanswered ringing 0-60 s, lognormal talk, listed 2-8 s after
the end) at 1, 10 and 100 CDR/s, over 20 minutes of calls polled every 10 s from the 5th
minute to 200 s before the end (70 polls; `--interval S` polls every S s instead, over a span
long enough for at least 45 polls: the first after max(300 s, 10 polls), the last max(200 s,
5 polls) before the end, as `window` says), this counts for each
candidate list (a `min_duration`/`max_duration` filter over the head, the calls under 90 s)
the depth of every head row at the first poll after it is listed, and prints per list: its
rate, the pages a read at every poll needs to reach its deepest new row (what the poller's
count-guided read costs), the 50th/95th percentile and largest depth, and the pages that would
reach 95 % of its new rows; per split, the pages per poll of an oracle that knows where every
new row is and reads only the fullest pages until 95 % of the head's new rows are read within
one poll: no real reader can do with fewer. Then the same for the unanswered calls alone, the
share of them p95 over the head needs once every answered call under 90 s is read in time (at
its floor, a page per 100 rows, the cheapest any row can be read): no filter of the API splits
them further (they share status, cause, direction and context; dates are whole days) and a
list that mixes in other calls only puts them deeper, so this holds for any way of reading
the feed. Totals are set against the
issue's limit, 1.5 × max(1 request per 100 CDRs, 1 per poll interval), which is for *every*
tier, the head included (the calls of 90 s and more add their floor, a page per 100).

Requests take no time here and no row is re-read across polls: these are lower bounds for
the head alone, no rate limit or real server involved (seconds to run).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bench.poller import _draw, add_interval

INTERVAL_S = 10.0
PER_PAGE = 100
SLACK_S = 2.0
"""The limit is the poll interval + 2 s: a row listed within 2 s before a poll may wait one."""
HEAD_SHARE = 0.725
"""Share of the traffic under 90 s of talk (45 % unanswered + half the answered)."""
Band = tuple[int, int]
SPLITS: dict[str, list[Band]] = {
    "one list 0-89": [(0, 89)],
    "unanswered | answered": [(0, 0), (1, 89)],
    "0 | 1-29 | 30-59 | 60-89": [(0, 0), (1, 29), (30, 59), (60, 89)],
    "0 | nine 10 s bands": [(0, 0), *((a, min(a + 9, 89)) for a in range(1, 90, 10))],
}


@dataclass(frozen=True)
class Window:
    """The calls drawn (`span_s` seconds of starts) and the polls counted, every `interval_s`
    from `warm_s` to `tail_s` before the end of the span."""

    interval_s: float
    span_s: float
    warm_s: float
    tail_s: float

    @property
    def polls(self) -> np.ndarray:
        """The times of the polls counted (s from the first start)."""
        return np.arange(self.warm_s, self.span_s - self.tail_s, self.interval_s) + 0.37


def window(interval_s: float = INTERVAL_S) -> Window:
    """The window for a poll interval: at 10 s, 20 minutes polled from 300 s to 1,000 s (70
    polls); longer intervals keep at least 45 polls, after at least 10 polls of warm-up.

    >>> len(window().polls), window(60.0)
    (70, Window(interval_s=60.0, span_s=3600.0, warm_s=600.0, tail_s=300.0))
    """
    warm, tail = max(300.0, 10 * interval_s), max(200.0, 5 * interval_s)
    return Window(interval_s, warm + max(700.0, 45 * interval_s) + tail, warm, tail)


def depths(
    rate: float, band: Band, win: Window, seed: int = 3
) -> tuple[float, list[int], list[np.ndarray]]:
    """Rows per second of `band`, pages per poll to its deepest new row, and per poll the
    depths of its new rows (negative: listed within `SLACK_S` before the poll, see `oracle`)."""
    starts, _ring, talk, visible = _calls(rate, seed, win.span_s)
    keep = (talk >= band[0]) & (talk <= band[1])
    starts, visible = starts[keep], visible[keep]
    pages: list[int] = []
    found: list[np.ndarray] = []
    for poll in win.polls:
        new = (visible > poll - win.interval_s) & (visible <= poll)
        listed = np.sort(starts[visible <= poll])
        depth = len(listed) - np.searchsorted(listed, starts[new], side="right")
        pages.append(1 if not len(depth) else int(depth.max()) // PER_PAGE + 1)
        found.append(np.where(visible[new] > poll - SLACK_S, -1 - depth, depth))
    return len(starts) / win.span_s, pages, found


def oracle(found: list[list[np.ndarray]], share: float = 0.95) -> float:
    """Pages per poll of a reader that knows where every new row is and reads only the
    fullest pages (any list, any poll) until `share` of all new rows are read: no real reader
    can reach that share within one poll with fewer. Rows listed less than `SLACK_S` before a
    poll count as read for free (the limit, interval + 2 s, lets them wait a poll). Every
    list of `found` holds the same polls."""
    cells = [
        int(count)
        for per_list in found
        for depth in per_list
        for count in np.bincount(depth[depth >= 0] // PER_PAGE)
        if count
    ]
    free = sum(int((depth < 0).sum()) for per_list in found for depth in per_list)
    need, taken = share * (sum(cells) + free) - free, 0
    for count in sorted(cells, reverse=True):
        if need <= 0:
            break
        need, taken = need - count, taken + 1
    return taken / len(found[0])


def _calls(
    rate: float, seed: int, span_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Start, ring, talk and listing time (s) of the calls of `span_s` at `rate`."""
    starts, ring, talk, lag = _draw(np.random.default_rng(seed), rate, 0.0, span_s, 0.0)
    return starts, ring, talk, starts + ring + talk + lag


def report(
    rate: float, splits: dict[str, list[Band]], out: Callable[[str], None], win: Window
) -> None:
    """Print each split's lists and totals at `rate` CDR/s, polled as `win` says."""
    limit = 1.5 * max(rate * win.interval_s / PER_PAGE, 1.0)
    rest = (1 - HEAD_SHARE) * rate * win.interval_s / PER_PAGE
    out(f"{rate:g} CDR/s: limit {limit:.2f} requests per poll for every tier together; the"
        f" calls of 90 s and more need {rest:.2f} more at the floor")  # fmt: skip
    best = math.inf
    for name, bands in splits.items():
        every = reach = 0.0
        lists = []
        for band in bands:
            per_s, pages, per_poll = depths(rate, band, win)
            lists.append(per_poll)
            found = np.concatenate([np.where(d < 0, -1 - d, d) for d in per_poll])
            p50, p95 = (np.percentile(found, q) if len(found) else 0.0 for q in (50, 95))
            k95 = math.floor(p95) // PER_PAGE + 1
            every, reach = every + float(np.mean(pages)), reach + k95
            out(f"    {band[0]:>2}-{band[1]:<3} {per_s:6.2f}/s  pages/poll {np.mean(pages):6.2f}"
                f"  depth p50 {p50:5.0f} p95 {p95:5.0f} max {found.max() if len(found) else 0:5.0f}"
                f"  pages for 95 % {k95}")  # fmt: skip
        least = oracle(lists)
        best = min(best, least)
        out(f"  {name}: {every:.2f} pages/poll to every new row, {reach:.0f} to 95 % of each"
            f" list, {least:.2f} for an oracle reading 95 % of the head's new rows")  # fmt: skip
    least = best + rest
    out(f"  least of these splits for p95 within one poll: {best:.2f} + {rest:.2f} ="
        f" {least:.2f} requests per poll, {least / limit:.1f}x the limit")  # fmt: skip
    alone, answered = unanswered(rate, win)
    floor = alone + answered + rest
    out(f"  any reader: the unanswered calls (no filter splits them further) need {alone:.2f}"
        f" pages a poll even with every answered call under 90 s read in time, which takes"
        f" {answered:.2f} at the floor: with the rest, {floor:.2f}, {floor / limit:.2f}x the"
        " limit")  # fmt: skip


def unanswered(rate: float, win: Window) -> tuple[float, float]:
    """Oracle pages per poll for the unanswered list alone, to the share of it that p95 over
    the head needs once every answered call under 90 s is read within one poll, and the
    floor of reading those (a page per 100 rows)."""
    _, _, zero = depths(rate, (0, 0), win)
    _, _, short = depths(rate, (1, 89), win)
    n0, n1 = sum(len(d) for d in zero), sum(len(d) for d in short)
    share = max(0.0, (0.95 * (n0 + n1) - n1) / n0) if n0 else 0.0
    return oracle([zero], share), n1 / PER_PAGE / len(win.polls)


def main(argv: Sequence[str] = ()) -> None:
    """`python -m bench.depth [--interval S] [RATE ...]` (default every 10 s, 1 10 100)."""
    parser = argparse.ArgumentParser(prog="python -m bench.depth")
    add_interval(parser)
    parser.add_argument("rates", nargs="*", type=float, help="CDR/s (default 1 10 100)")
    args = parser.parse_args(list(argv))
    win = window(args.interval)
    if args.interval != INTERVAL_S:
        out = f"polled every {win.interval_s:g} s: {len(win.polls)} polls over {win.span_s:g} s"
        print(f"{out} of calls, from {win.warm_s:g} s to {win.tail_s:g} s before the end")
    for rate in args.rates or [1.0, 10.0, 100.0]:
        report(rate, SPLITS, print, win)


if __name__ == "__main__":
    main(sys.argv[1:])
