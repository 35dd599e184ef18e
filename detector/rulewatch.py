"""Notices that the rule directory changed, so the daemon reloads without a SIGHUP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG


@dataclass(slots=True)
class RuleWatch:
    """Notices changes to the rule directory by file names, sizes and mtimes.

    The first call only records the directory. A file that vanishes while it is being looked
    at (an editor replacing it) counts as absent, so the next call sees it again as a change.
    """

    directory: Path
    signature: tuple[tuple[str, int, int], ...] | None = None

    def changed(self) -> bool:
        """True when the directory's rule files differ from the last call."""
        current = tuple(self._files())
        changed = self.signature is not None and current != self.signature
        self.signature = current
        return changed

    def _files(self) -> Iterator[tuple[str, int, int]]:
        for path in sorted(self.directory.rglob("*")):
            if path.suffix not in {".yaml", ".yml", ".txt"}:
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            if S_ISREG(stat.st_mode):
                yield str(path), stat.st_size, stat.st_mtime_ns
