"""Numbers that real numbering plans allocate, drawn as int64 E.164 digits, and their tariff.

A number is kept as the integer of its E.164 digits (`919812345678` for `+919812345678`) so a
chunk of calls draws and stores numbers as numpy columns; the `+` is added when a wire row is
written. Every number comes from a `Series`: fixed leading digits (country code and the
leading national digits of a range the plan allocates) followed by random digits up to the
range's length. Only series whose every completion `phonenumbers` calls valid are listed
(checked by `tests/test_world.py` over thousands of draws), so ordinary traffic never dials an
impossible number by accident. The tables are written out rather than derived from
`phonenumbers` at run time so that a world stays the same when the library's metadata moves.

Ranges and why:
- Indian mobiles `+91 6–9 xxxxxxxxx` (the 10-digit mobile plan; all four leading digits in use).
- Indian landlines in the eight metro STD areas (Delhi 11, Mumbai 22, Bengaluru 80, Chennai 44,
  Kolkata 33, Hyderabad 40, Pune 20, Ahmedabad 79), subscriber numbers starting 2 or 4 (the
  incumbents' and private operators' blocks).
- Indian toll-free `+91 1800 xxxxxxx`: support desks own them as DIDs; callers dial them free.
- Foreign mobiles of the markets Indian businesses call most (Gulf states, US/Canada, UK,
  Singapore, Australia, Germany, South Asian neighbours), each in blocks `phonenumbers` accepts.
- Fraud sinks, used only by incidents: IRSF destinations (Cuba, Lithuania, Somalia mobiles,
  Latvian and UK premium rate, Inmarsat/Iridium satellite ranges), traffic-pumping premium
  ranges, and Wangiri sources (West and Central Africa, Papua New Guinea).
- Misdials: a mistyped Indian number. Unallocated (`+91 50…`, `+91 39…`: ten digits in blocks
  no operator holds) fail at the switch with UNALLOCATED_NUMBER (3050); malformed (a mobile
  with digits missing) fail with INVALID_NUMBER_FORMAT (2000). `phonenumbers` rejects both.

Tariff (INR per started minute, outbound, as `detector.simulate.dialplan` prices today):
domestic 0.45, calling a toll-free number 0, foreign by destination (0.9–14 for ordinary
markets, 22–300 for the fraud sinks); inbound minutes cost 0.15 (0.8 on a toll-free DID, whose
owner pays for the call); an unanswered outbound attempt costs a flat 0.02.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

INBOUND_RATE = 0.15
TOLL_FREE_INBOUND_RATE = 0.8
UNANSWERED_CHARGE = 0.02


@dataclass(frozen=True)
class Series:
    """A block of numbers: the E.164 digits `prefix`, then random digits up to `length`."""

    prefix: str
    length: int
    rate: float
    """INR per started minute to call a number of this block."""

    @property
    def base(self) -> int:
        """The smallest number of the block, as an integer."""
        return int(self.prefix) * self.size

    @property
    def size(self) -> int:
        """How many numbers the block holds."""
        return int(10 ** (self.length - len(self.prefix)))


@dataclass(frozen=True)
class Mix:
    """Series with draw weights (normalised on use)."""

    series: tuple[Series, ...]
    weights: tuple[float, ...]

    def draw(self, rng: np.random.Generator, count: int) -> tuple[IntArray, FloatArray]:
        """`count` numbers and the per-minute rate of each.

        >>> numbers, rates = IN_MOBILE.draw(np.random.default_rng(1), 3)
        >>> [str(n)[:2] for n in numbers], rates.tolist()
        (['91', '91', '91'], [0.45, 0.45, 0.45])
        """
        p, base, size, rate = self._columns
        pick = rng.choice(len(self.series), size=count, p=p)
        offset = np.floor(rng.random(count) * size[pick]).astype(np.int64)
        return base[pick] + offset, rate[pick]

    @cached_property
    def _columns(self) -> tuple[FloatArray, IntArray, FloatArray, FloatArray]:
        """Normalised weights, block bases, sizes and rates as arrays (built once)."""
        p = np.asarray(self.weights, dtype=np.float64)
        return (
            p / p.sum(),
            np.array([s.base for s in self.series], dtype=np.int64),
            np.array([s.size for s in self.series], dtype=np.float64),
            np.array([s.rate for s in self.series], dtype=np.float64),
        )


def _mix(*items: tuple[str, int, float, float]) -> Mix:
    """A Mix from (prefix, length, rate, weight) tuples."""
    return Mix(tuple(Series(p, n, r) for p, n, r, _ in items), tuple(w for *_, w in items))


def _blocks(prefixes: Sequence[str], length: int, rate: float) -> Mix:
    """Equal-weight series sharing a length and a rate."""
    return Mix(tuple(Series(p, length, rate) for p in prefixes), tuple(1.0 for _ in prefixes))


DOMESTIC_RATE = 0.45
IN_MOBILE = _blocks(("916", "917", "918", "919"), 12, DOMESTIC_RATE)
IN_LANDLINE = _blocks(
    [f"91{std}{lead}" for std in ("11", "22", "80", "44", "33", "40", "20", "79") for lead in "24"],
    12,
    DOMESTIC_RATE,
)
IN_TOLL_FREE = _blocks(("911800",), 13, 0.0)

FOREIGN: dict[str, Mix] = {
    "AE": _blocks(("97150", "97152", "97154", "97155", "97156", "97158"), 12, 9.0),
    "US": _blocks([f"1{a}{b}" for a in ("212", "646", "415", "312", "713", "305", "404",
                                         "617", "206", "972") for b in "2345678"], 11, 0.9),
    "GB": _blocks([f"44{n}" for n in (*range(740, 760), *range(771, 790), *range(792, 800))],
                  12, 2.5),
    "SA": _blocks(("96650", "96653", "96654", "96655", "96656", "96659"), 12, 8.0),
    "SG": _blocks([f"65{n}" for n in (*range(81, 90), *range(90, 99))], 10, 3.0),
    "CA": _blocks([f"1{a}{b}" for a in ("416", "604", "514", "647") for b in "2345678"], 11, 0.9),
    "AU": _blocks(("6140", "6141", "6142", "6143", "6146"), 11, 4.0),
    "QA": _blocks(("9743", "9745", "9746", "9747"), 11, 12.0),
    "KW": _blocks(("96550", "96555", "96566", "96590", "96594", "96596", "96597", "96599"),
                  11, 10.0),
    "OM": _blocks([f"968{n}" for n in range(91, 100)], 11, 11.0),
    "NP": _blocks(("977980", "977981", "977984", "977985", "977986"), 13, 6.0),
    "BD": _blocks(("88017", "88018", "88019"), 13, 3.5),
    "LK": _blocks(("9470", "9471", "9472", "9475", "9476", "9477", "9478"), 11, 7.0),
    "DE": _blocks(("49151", "49160", "49170", "49171", "49172", "49176"), 13, 3.5),
}  # fmt: skip
"""Ordinary foreign markets: mobile blocks `phonenumbers` accepts, with their rates."""

FOREIGN_WEIGHTS: dict[str, float] = {
    "AE": 0.22, "US": 0.18, "GB": 0.13, "SA": 0.1, "SG": 0.06, "CA": 0.05, "AU": 0.05,
    "QA": 0.04, "KW": 0.03, "OM": 0.03, "NP": 0.03, "BD": 0.03, "LK": 0.02, "DE": 0.03,
}  # fmt: skip
"""Share of each market in Indian business traffic abroad (the Gulf diaspora, then the
English-speaking markets Indian call centres serve, then the neighbours)."""

IRSF_SINKS = _mix(
    ("535", 10, 75.0, 3.0),  # Cuba mobile
    ("3706", 11, 45.0, 2.0),  # Lithuania mobile
    ("25261", 12, 90.0, 2.0),  # Somalia mobile
    ("37190", 11, 120.0, 2.0),  # Latvia premium rate
    ("44909", 12, 35.0, 1.0),  # UK premium rate
    ("88163", 12, 280.0, 1.0),  # Iridium satellite
    ("88213", 12, 300.0, 1.0),  # international networks (+882), a classic IRSF sink
)
PUMPING_SINKS = _mix(("44871", 12, 12.0, 1.0), ("37190", 11, 120.0, 1.0))
WANGIRI_SOURCES = _mix(
    ("22507", 13, 22.0, 1.0),  # Côte d'Ivoire
    ("23276", 11, 30.0, 1.0),  # Sierra Leone
    ("234803", 13, 14.0, 1.0),  # Nigeria
    ("24381", 12, 35.0, 1.0),  # DR Congo
    ("6757", 11, 60.0, 1.0),  # Papua New Guinea
)
UNALLOCATED = _blocks(("9150", "9139"), 12, DOMESTIC_RATE)
MALFORMED = _mix(("916", 9, DOMESTIC_RATE, 1.0), ("919", 10, DOMESTIC_RATE, 1.0),
                 ("918", 8, DOMESTIC_RATE, 1.0))  # fmt: skip
"""A mobile with three to five digits missing: fails the switch's format check."""


def domestic_mix(landline_share: float, toll_free_share: float) -> Mix:
    """Indian destinations: mobiles, with the given shares of landlines and toll-free numbers."""
    mobile = 1.0 - landline_share - toll_free_share
    parts = ((IN_MOBILE, mobile), (IN_LANDLINE, landline_share), (IN_TOLL_FREE, toll_free_share))
    series: list[Series] = []
    weights: list[float] = []
    for mix, share in parts:
        total = sum(mix.weights)
        series.extend(mix.series)
        weights.extend(share * w / total for w in mix.weights)
    return Mix(tuple(series), tuple(weights))


def foreign_mix(focus: str | None, focus_share: float) -> Mix:
    """Foreign destinations: the ordinary market mix, `focus_share` of it on one market."""
    series: list[Series] = []
    weights: list[float] = []
    total = sum(FOREIGN_WEIGHTS.values())
    for country, mix in FOREIGN.items():
        share = (1.0 - focus_share if focus else 1.0) * FOREIGN_WEIGHTS[country] / total
        if country == focus:
            share += focus_share
        series.extend(mix.series)
        weights.extend(share / len(mix.series) for _ in mix.series)
    return Mix(tuple(series), tuple(weights))


def e164(number: int) -> str:
    """The wire form of an integer number.

    >>> e164(919812345678)
    '+919812345678'
    """
    return f"+{number}"


def costs(talk: FloatArray, rate: FloatArray, outbound: npt.NDArray[np.bool_]) -> FloatArray:
    """Charge per call in INR: started minutes at the rate, or the flat unanswered fee.

    >>> costs(np.array([61.0, 0.0, 30.0]), np.array([0.45, 0.45, 0.15]),
    ...       np.array([True, True, False])).tolist()
    [0.9, 0.02, 0.15]
    """
    billed = np.ceil(talk / 60.0) * rate
    charged: FloatArray = np.where(talk > 0, billed, np.where(outbound, UNANSWERED_CHARGE, 0.0))
    return np.round(charged, 4)
