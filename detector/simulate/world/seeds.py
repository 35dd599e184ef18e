"""Independent random streams per purpose, so changing one part of a world moves nothing else.

Every draw of a world comes from `stream(seed, PURPOSE, *keys)`: a numpy Generator seeded by
the SeedSequence of `[seed, purpose, *keys]`. Account parameters are keyed by the account's
index, background traffic by account and time chunk, incident calls by incident number and
chunk. So adding, removing or re-grading an incident never changes the background, and the
first N accounts of a world are the same whatever its size.
"""

from __future__ import annotations

import numpy as np

ACCOUNTS = 1
NUMBERS = 2
BACKGROUND = 3
PLACEMENT = 4
INCIDENT = 5


def stream(seed: int, purpose: int, *keys: int) -> np.random.Generator:
    """The generator for one purpose and key path of world `seed`.

    >>> a = stream(1, BACKGROUND, 3, 0).random()
    >>> a == stream(1, BACKGROUND, 3, 0).random() != stream(1, BACKGROUND, 3, 1).random()
    True
    """
    return np.random.default_rng([seed, purpose, *keys])
