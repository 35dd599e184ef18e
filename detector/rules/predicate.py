"""Compile a rule's `match` mapping into one fast closure over `Facts`.

Syntax (all entries must hold):

- ``field: value`` equality; ``field: [a, b]`` membership;
- ``field: {lt|le|gt|ge|eq|ne: x, in: [..], not_in: [..], prefix: [..]}`` comparisons;
- ``to_prefix`` / ``from_prefix: ["+53", …]`` and ``to_prefix_list`` / ``from_prefix_list:
  NAME`` (a list file in ``rules/lists/``);
- ``any: [{…}, {…}]`` (at least one holds) and ``not: {…}``.

Errors raise `PredicateError` naming the dotted field path (e.g. ``match.talk_s.lt``).
`predicate_problems` reports every error of a mapping at once and, given the fields'
domains (`detector.rules.domains`), also every value that can never match: an unknown
enumeration value, a country name instead of its code, a prefix that is not E.164, a bound
outside a field's range, or bounds that exclude each other (``hour: {ge: 22, lt: 6}``). The
loader runs it on every predicate of every kind; the engine then compiles without checks.

>>> from types import SimpleNamespace as F
>>> p = compile_predicate({"direction": "outbound", "talk_s": {"lt": 6}}, {})
>>> p(F(direction="outbound", talk_s=3.0)), p(F(direction="outbound", talk_s=9.0))
(True, False)
>>> [str(e) for e in predicate_problems({"direction": "outgoing", "hour": {"ge": 22, "lt": 6}},
...                                     {}, "match", DOMAINS)]  # doctest: +NORMALIZE_WHITESPACE
["match.direction: unknown direction 'outgoing' (did you mean outbound?)",
 'match.hour: no value is both ge 22 and lt 6 (for hours across midnight write
 any: [{hour: {ge: 22}}, {hour: {lt: 6}}])']
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from detector.rules.domains import DOMAINS, FREE, Domain, closest
from detector.rules.fields import BOOL_FIELDS, FIELDS, NUMERIC_FIELDS

Test = Callable[[Any], bool]
Lists = Mapping[str, tuple[str, ...]]
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "eq": operator.eq, "ne": operator.ne,
}  # fmt: skip
_BOUNDS = ("lt", "le", "gt", "ge")
_OPERATORS = "lt, le, gt, ge, eq, ne, in, not_in, prefix"
PREFIX_KEYS = {"to_prefix": "to", "from_prefix": "from"}
"""Shorthand keys for a prefix condition on a number field."""
LIST_KEYS = {"to_prefix_list": "to", "from_prefix_list": "from"}
"""Keys naming a list file of prefixes of a number field."""


class PredicateError(ValueError):
    """A `match` mapping is invalid; `field` is the dotted path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def always(_facts: Any) -> bool:
    """The predicate of an empty `match`."""
    return True


def never(_facts: Any) -> bool:
    """The stand-in for a condition that failed to compile (only seen while collecting)."""
    return False


def compile_predicate(spec: Any, lists: Lists, path: str = "match") -> Test:
    """One closure testing every entry of `spec` (conjunction); the first problem raises."""
    compiler = _Compiler(lists, None)
    test = compiler.predicate(spec, path)
    if compiler.problems:
        raise compiler.problems[0]
    return test


def predicate_problems(
    spec: Any, lists: Lists, path: str, domains: Mapping[str, Domain] = DOMAINS
) -> list[PredicateError]:
    """Every problem of `spec`, structural and (against `domains`) values that cannot match."""
    compiler = _Compiler(lists, domains)
    compiler.predicate(spec, path)
    return compiler.problems


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


class _Compiler:
    """Compiles one predicate, collecting problems instead of stopping at the first.

    Each entry, operator and list member is compiled on its own, so one bad value does not
    hide the next; a failed part compiles to `never` (the result is only used when no
    problem was found). `domains` None skips the value checks (the engine's compile).
    """

    def __init__(self, lists: Lists, domains: Mapping[str, Domain] | None) -> None:
        self.lists = lists
        self.domains = domains
        self.problems: list[PredicateError] = []

    def predicate(self, spec: Any, path: str) -> Test:
        if not isinstance(spec, Mapping):
            return self._fail(path, "must be a mapping of field: condition")
        return conjunction([self._guard(self._entry, str(k), v, f"{path}.{k}")
                            for k, v in spec.items()])  # fmt: skip

    def _guard(self, build: Callable[..., Test], *args: Any) -> Test:
        try:
            return build(*args)
        except PredicateError as exc:
            self.problems.append(exc)
            return never

    def _fail(self, path: str, message: str) -> Test:
        self.problems.append(PredicateError(path, message))
        return never

    def _entry(self, key: str, value: Any, path: str) -> Test:
        if key == "any":
            if not isinstance(value, list) or not value:
                raise PredicateError(path, "must be a non-empty list of mappings")
            return disjunction([self.predicate(v, f"{path}[{i}]") for i, v in enumerate(value)])
        if key == "not":
            inner = self.predicate(value, path)
            return lambda f: not inner(f)
        if key in PREFIX_KEYS:
            return self._prefix(PREFIX_KEYS[key], _strings(value, path), path)
        if key in LIST_KEYS:
            if not isinstance(value, str) or value not in self.lists:
                known = ", ".join(sorted(self.lists)) or "none"
                raise PredicateError(path, f"unknown list {value!r} (known: {known})")
            if not self.lists[value]:
                raise PredicateError(path, f"list {value!r} is empty: it would match nothing")
            return _prefix_test(LIST_KEYS[key], self.lists[value])
        if key not in FIELDS:
            near = closest(key, [*FIELDS, *PREFIX_KEYS, *LIST_KEYS])
            known = f"did you mean {near}?" if near else f"known: {', '.join(sorted(FIELDS))}"
            raise PredicateError(path, f"unknown field {key!r} ({known})")
        return self._condition(key, value, path)

    def _condition(self, name: str, value: Any, path: str) -> Test:
        get = operator.attrgetter(name)
        if isinstance(value, dict):
            if not value:
                raise PredicateError(path, "empty condition")
            tests = [self._guard(self._operator, name, get, op, arg, f"{path}.{op}")
                     for op, arg in value.items()]  # fmt: skip
            self._disjoint(name, value, path)
            return conjunction(tests)
        if isinstance(value, list):
            return self._members(name, value, path, get, negate=False)
        expected = self._value(name, value, path)
        return lambda f: bool(get(f) == expected)

    def _operator(self, name: str, get: Callable[[Any], Any], op: str, arg: Any, path: str) -> Test:
        if op in _ORDER:
            if op in _BOUNDS and name not in NUMERIC_FIELDS:
                raise PredicateError(path, f"{op} needs a numeric field, {name!r} is not")
            bound = self._value(name, arg, path, op)
            compare = _ORDER[op]
            return lambda f: compare(get(f), bound)
        if op in {"in", "not_in"}:
            if not isinstance(arg, list):
                raise PredicateError(path, "must be a list")
            return self._members(name, arg, path, get, negate=op == "not_in")
        if op == "prefix":
            return self._prefix(name, _strings(arg, path), path)
        raise PredicateError(path, f"unknown operator {op!r} (known: {_OPERATORS})")

    def _members(
        self, name: str, values: list[Any], path: str, get: Callable[[Any], Any], *, negate: bool
    ) -> Test:
        count = len(self.problems)
        members = frozenset(self._guard(self._value, name, v, path) for v in values)
        if len(self.problems) > count:
            return never
        if negate:
            return lambda f: get(f) not in members
        return lambda f: get(f) in members

    def _value(self, name: str, value: Any, path: str, op: str = "eq") -> Any:
        scalar = _scalar(name, value, path)
        if self.domains is not None and name not in BOOL_FIELDS:
            domain = self.domains.get(name, FREE)
            problem = domain.check_bound(op, scalar) if op in _BOUNDS else domain.check(scalar)
            if problem:
                raise PredicateError(path, problem)
        return scalar

    def _prefix(self, name: str, prefixes: tuple[str, ...], path: str) -> Test:
        if not prefixes:
            raise PredicateError(path, "needs at least one prefix")
        if self.domains is not None:
            domain = self.domains.get(name, FREE)
            for problem in filter(None, map(domain.check_prefix, prefixes)):
                self.problems.append(PredicateError(path, problem))
        return _prefix_test(name, prefixes)

    def _disjoint(self, name: str, condition: dict[str, Any], path: str) -> None:
        """A problem when the bounds of one condition leave no value (``ge 22, lt 6``)."""
        bounds = {op: v for op, v in condition.items() if op in _BOUNDS and _is_number(v)}
        lows = [(v, op) for op, v in bounds.items() if op in ("gt", "ge")]
        highs = [(v, op) for op, v in bounds.items() if op in ("lt", "le")]
        if self.domains is None or not lows or not highs:
            return
        low, low_op = max(lows, key=lambda b: (b[0], b[1] == "gt"))
        high, high_op = min(highs, key=lambda b: (b[0], b[1] == "le"))
        if low < high or (low == high and low_op == "ge" and high_op == "le"):
            return
        hint = ""
        if name in {"hour", "hour_of_week"}:
            hint = (f" (for hours across midnight write any: [{{{name}: {{{low_op}: {low:g}}}}},"
                    f" {{{name}: {{{high_op}: {high:g}}}}}])")  # fmt: skip
        message = f"no value is both {low_op} {low:g} and {high_op} {high:g}{hint}"
        self.problems.append(PredicateError(path, message))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _prefix_test(name: str, prefixes: tuple[str, ...]) -> Test:
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
        if not _is_number(value):
            raise PredicateError(path, f"{name!r} is numeric, got {value!r}")
        return value
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PredicateError(path, f"{name!r} is text, got {value!r}")
    return str(value)
