"""The model's shared state as versioned bytes: what the state file keeps across restarts.

Layout: ``MAGIC``, one JSON header line (``format``: this module's layout version;
``river``: the river version that wrote it), then the pickled segments. Since this format the
model keeps no river objects in its state (plain arrays), so a river upgrade does not
invalidate it; the header still records river's version, and a file that declares pickled
river objects (``river_objects``) is refused under another river minor version.

On load:
- a blob without the header was written by an older release (a pickled HalfSpaceTrees and
  calibrator): it is set aside and the model learns its segments again (a `Restored.note`
  says so, the service logs it); per-account states of older layouts restart the same way
  (`AccountModelState.__setstate__`);
- a newer format, or river objects under another river, is refused (`StateError`) with
  what to do: upgrade, or drop the model's state with ``cdr-detector state reset-model``
  (rules, alerts and the cursor are kept).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from importlib.metadata import version as _package_version

from detector.errors import StateError
from detector.models.segments import Segment

MAGIC = b"cdr-detector model state\n"
FORMAT = 2
RIVER_VERSION = _package_version("river")
"""The installed river's version."""
RESET_HINT = (
    "upgrade cdr-detector, or drop the model's learned state with "
    "`cdr-detector state reset-model --state PATH` (rules, alerts and the cursor are kept; the "
    "model learns again from the next calls)"
)


def river_minor(version: str = RIVER_VERSION) -> str:
    """The major.minor part of a river version (pickles are compatible within one).

    >>> river_minor("0.26.1")
    '0.26'
    """
    return ".".join(version.split(".")[:2])


@dataclass(slots=True)
class Restored:
    """Segments read back from a blob, and a note when the blob was migrated."""

    segments: dict[str, Segment] = field(default_factory=dict)
    note: str = ""
    header: dict[str, object] = field(default_factory=dict)


def dump(segments: dict[str, Segment]) -> bytes:
    """The versioned bytes of the model's shared state."""
    header = {"format": FORMAT, "river": RIVER_VERSION, "river_objects": False}
    body = pickle.dumps(segments, protocol=pickle.HIGHEST_PROTOCOL)
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body


def load(blob: bytes) -> Restored:
    """Inverse of `dump`; migrates older layouts, refuses newer ones (see module docstring).

    The blob comes from our own state file, never from users.
    """
    if not blob.startswith(MAGIC):
        return Restored(note="model state of an older release set aside; the model learns again")
    line, _, body = blob[len(MAGIC) :].partition(b"\n")
    try:
        header = json.loads(line)
        version = int(header["format"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"the model state's header is unreadable ({exc}); {RESET_HINT}") from exc
    if version > FORMAT:
        raise StateError(
            f"the model state was written in format {version} by a newer release (this one "
            f"reads format {FORMAT}); {RESET_HINT}"
        )
    if version < FORMAT:
        return Restored(note=f"model state format {version} set aside; the model learns again")
    written = str(header.get("river", ""))
    if header.get("river_objects") and river_minor(written) != river_minor():
        raise StateError(
            f"the model state holds river {written} objects and river {RIVER_VERSION} is "
            f"installed; install river {river_minor(written)}.*, or {RESET_HINT}"
        )
    segments = pickle.loads(body)  # noqa: S301 (our own state file)
    return Restored(segments=segments, header=header)
