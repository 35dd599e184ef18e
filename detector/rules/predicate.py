"""Compile a rule's `match` mapping into one fast closure over `Facts`.

Syntax (all entries must hold):

- ``field: value`` equality; ``field: [a, b]`` membership;
- ``field: {lt|le|gt|ge|eq|ne: x, in: [..], not_in: [..], prefix: [..]}`` comparisons;
- ``to_prefix`` / ``from_prefix: ["+53", …]`` and ``to_prefix_list`` / ``from_prefix_list:
  NAME`` (a list file in ``rules/lists/``);
- ``any: [{…}, {…}]`` (at least one holds) and ``not: {…}``.

Errors raise `PredicateError` naming the dotted field path (e.g. ``match.talk_s.lt``).

>>> from types import SimpleNamespace as F
>>> p = compile_predicate({"direction": "outbound", "talk_s": {"lt": 6}}, {})
>>> p(F(direction="outbound", talk_s=3.0)), p(F(direction="outbound", talk_s=9.0))
(True, False)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from detector.rules.fields import BOOL_FIELDS, FIELDS, NUMERIC_FIELDS

Test = Callable[[Any], bool]
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "eq": operator.eq, "ne": operator.ne,
}  # fmt: skip
_OPERATORS = "lt, le, gt, ge, eq, ne, in, not_in, prefix"
_PREFIX_KEYS = {"to_prefix": "to", "from_prefix": "from"}
_LIST_KEYS = {"to_prefix_list": "to", "from_prefix_list": "from"}


class PredicateError(ValueError):
    """A `match` mapping is invalid; `field` is the dotted path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def always(_facts: Any) -> bool:
    """The predicate of an empty `match`."""
    return True


def compile_predicate(
    spec: Mapping[str, Any], lists: Mapping[str, tuple[str, ...]], path: str = "match"
) -> Test:
    """One closure testing every entry of `spec` (conjunction)."""
    if not isinstance(spec, Mapping):
        raise PredicateError(path, "must be a mapping of field: condition")
    tests = [_entry(str(key), value, lists, f"{path}.{key}") for key, value in spec.items()]
    return conjunction(tests)


def conjunction(tests: list[Test]) -> Test:
    """All tests must hold; chained closures (no generator per call), short-circuiting."""
    if not tests:
        return always
    combined = tests[-1]
    for test in reversed(tests[:-1]):
        combined = _both(test, combined)
    return combined


def disjunction(tests: list[Test]) -> Test:
    """At least one test must hold; chained closures (no generator per call), short-circuiting."""
    combined = tests[-1]
    for test in reversed(tests[:-1]):
        combined = _either(test, combined)
    return combined


def _both(first: Test, second: Test) -> Test:
    return lambda f: first(f) and second(f)


def _either(first: Test, second: Test) -> Test:
    return lambda f: bool(first(f) or second(f))


def _entry(key: str, value: Any, lists: Mapping[str, tuple[str, ...]], path: str) -> Test:
    if key == "any":
        if not isinstance(value, list) or not value:
            raise PredicateError(path, "must be a non-empty list of mappings")
        options = [compile_predicate(v, lists, f"{path}[{i}]") for i, v in enumerate(value)]
        return disjunction(options)
    if key == "not":
        inner = compile_predicate(value, lists, path)
        return lambda f: not inner(f)
    if key in _PREFIX_KEYS:
        return _prefix(_PREFIX_KEYS[key], _strings(value, path), path)
    if key in _LIST_KEYS:
        if not isinstance(value, str) or value not in lists:
            known = ", ".join(sorted(lists)) or "none"
            raise PredicateError(path, f"unknown list {value!r} (known: {known})")
        return _prefix(_LIST_KEYS[key], lists[value], path)
    if key not in FIELDS:
        raise PredicateError(path, f"unknown field {key!r} (known: {', '.join(sorted(FIELDS))})")
    return _condition(key, value, path)


def _condition(name: str, value: Any, path: str) -> Test:
    get = operator.attrgetter(name)
    if isinstance(value, dict):
        tests = [_operator(name, get, op, arg, f"{path}.{op}") for op, arg in value.items()]
        if not tests:
            raise PredicateError(path, "empty condition")
        return conjunction(tests)
    if isinstance(value, list):
        allowed = frozenset(_scalar(name, v, path) for v in value)
        return lambda f: get(f) in allowed
    expected = _scalar(name, value, path)
    return lambda f: bool(get(f) == expected)


def _operator(name: str, get: Callable[[Any], Any], op: str, arg: Any, path: str) -> Test:
    if op in _ORDER:
        compare = _ORDER[op]
        bound = _scalar(name, arg, path)
        if op not in {"eq", "ne"} and name not in NUMERIC_FIELDS:
            raise PredicateError(path, f"{op} needs a numeric field, {name!r} is not")
        return lambda f: compare(get(f), bound)
    if op in {"in", "not_in"}:
        if not isinstance(arg, list):
            raise PredicateError(path, "must be a list")
        members = frozenset(_scalar(name, v, path) for v in arg)
        if op == "in":
            return lambda f: get(f) in members
        return lambda f: get(f) not in members
    if op == "prefix":
        return _prefix(name, _strings(arg, path), path)
    raise PredicateError(path, f"unknown operator {op!r} (known: {_OPERATORS})")


def _prefix(name: str, prefixes: tuple[str, ...], path: str) -> Test:
    if not prefixes:
        raise PredicateError(path, "needs at least one prefix")
    get = operator.attrgetter(name)
    return lambda f: bool(get(f).startswith(prefixes))


def _strings(value: Any, path: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise PredicateError(path, "must be a string or a list of strings")
    return tuple(items)


def _scalar(name: str, value: Any, path: str) -> Any:
    if name in BOOL_FIELDS:
        if not isinstance(value, bool):
            raise PredicateError(path, f"{name!r} is true or false, got {value!r}")
        return value
    if name in NUMERIC_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PredicateError(path, f"{name!r} is numeric, got {value!r}")
        return value
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PredicateError(path, f"{name!r} is text, got {value!r}")
    return str(value)
