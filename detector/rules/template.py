"""Summary templates: checked at load, rendered per finding with `str.format_map`.

Placeholders: ``{account} {key} {rule} {value} {threshold} {severity} {window} {note}``,
``{expected}`` (the key's usual value; only for kinds that judge against a baseline) and any
group field of the rule (``{to}``, ``{dest_country}`` …). Values are passed as data, never
evaluated; escaping for Slack/HTML happens where alerts are rendered for a receiver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from string import Formatter

BASE_NAMES = (
    "account",
    "key",
    "rule",
    "value",
    "threshold",
    "severity",
    "window",
    "note",
    "expected",
)


def human_duration(seconds: float) -> str:
    """The largest whole unit that expresses a duration.

    >>> human_duration(3600), human_duration(300), human_duration(90), human_duration(172800)
    ('1h', '5m', '90s', '2d')
    """
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def check_template(template: str, group_fields: Iterable[str], expected: bool = True) -> None:
    """Raise ValueError when the template names an unknown placeholder or cannot render;
    `expected` False refuses ``{expected}`` (the rule's kind has no baseline to fill it)."""
    allowed = set(BASE_NAMES) | set(group_fields)
    if not expected:
        allowed.discard("expected")
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"bad template: {exc}") from exc
    if "" in names:
        raise ValueError("positional placeholder {} is not allowed; use a name such as {account}")
    unknown = sorted(n for n in names if n.split(".")[0].split("[")[0] not in allowed)
    if unknown:
        raise ValueError(f"unknown placeholder {unknown} (known: {sorted(allowed)})")
    sample: dict[str, object] = dict.fromkeys(allowed, "x")
    sample.update(value=1.0, threshold=1.0)
    if expected:
        sample["expected"] = 1.0
    try:
        template.format_map(sample)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"template does not render: {exc}") from exc


def render(template: str, values: Mapping[str, object]) -> str:
    """The template filled in (the template was checked at load)."""
    return template.format_map(values)
