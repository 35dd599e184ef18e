"""A YAML document that remembers the line of every key and list item, for error messages.

Parsed exactly as `yaml.safe_load` does (the same `SafeLoader`: plain mappings, lists and
scalars, no arbitrary objects), but in its two steps: compose the node tree, which carries
marks (line and column), then construct the data from it. The node tree is walked once more
to map each path of keys and indexes to its line.

>>> doc = parse_yaml("id: a\\nmatch:\\n  direction: outgoing\\n  any: [{status: busy}]\\n")
>>> doc.data["match"]["direction"], doc.line(("match", "direction")), doc.line_of("match.any[0]")
('outgoing', 3, 4)
>>> doc.line(("match", "nope")), doc.line(("summary",)), Document({}).line(("id",))
(2, 1, None)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Document:
    """Data as `yaml.safe_load` returns it, plus the 1-based line of each key path."""

    data: Any
    lines: Mapping[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """Line of `path`, or of its longest written prefix (a missing key: the document's)."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None

    def line_of(self, dotted: str) -> int | None:
        """`line` for a dotted field path such as ``match.any[0].status``."""
        return self.line(split_path(dotted))


def split_path(dotted: str) -> Path:
    """``"match.any[0].status"`` → ``("match", "any", 0, "status")``."""
    return tuple(int(index) if index else name for name, index in _PART.findall(dotted))


def parse_yaml(text: str) -> Document:
    """Parse one YAML document like `yaml.safe_load`; `yaml.YAMLError` when it is not YAML."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        lines[()] = node.start_mark.line + 1
        _walk(node, (), lines)
    return Document(data, lines)


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            lines.setdefault((*path, name), key.start_mark.line + 1)
            _walk(value, (*path, name), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.setdefault((*path, index), item.start_mark.line + 1)
            _walk(item, (*path, index), lines)
