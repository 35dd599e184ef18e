"""Environment overrides: ``CDR_DETECTOR__<SECTION>__<KEY>=value``, any depth, read as YAML.

>>> raw = {}
>>> for dotted, (_, value) in env_overrides({"CDR_DETECTOR__POLL__INTERVAL_S": "5"}).items():
...     set_dotted(raw, dotted, value)
>>> raw
{'poll': {'interval_s': 5}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

ENV_PREFIX = "CDR_DETECTOR__"


def env_overrides(environ: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    """Dotted setting → (variable, value) for every ``CDR_DETECTOR__A__B=value`` variable.

    >>> env_overrides({"CDR_DETECTOR__POLL__INTERVAL_S": "5", "CDR_DETECTOR_AUTH_ID": "x"})
    {'poll.interval_s': ('CDR_DETECTOR__POLL__INTERVAL_S', 5)}
    """
    out = {}
    for name, text in sorted(environ.items()):
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            dotted = ".".join(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
            out[dotted] = (name, env_value(text))
    return out


def env_value(text: str) -> Any:
    """An override's value read as YAML (numbers, booleans, lists), else the text itself."""
    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested mappings, making the sections it passes through."""
    *sections, key = dotted.split(".")
    node = raw
    for section in sections:
        child = node.get(section)
        if not isinstance(child, dict):
            child = node[section] = {}
        node = child
    node[key] = value
