"""Problems of a rule directory, collected rather than raised one at a time.

Each problem is a `RuleError` whose message reads ``FILE:LINE: rule 'ID': field F: what``
(the parts that are known), the form editors and CI logs link to. `rule_problems` checks one
rule mapping completely: every schema error pydantic finds (with the closest allowed value
for a misspelt choice), every predicate of its kind against the fields' domains, the
allow-list prefixes and the summary template, then builds the kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from detector.errors import RuleError, RuleErrors
from detector.rules.document import Document, split_path
from detector.rules.domains import Domain, closest
from detector.rules.fields import GROUP_FIELDS
from detector.rules.kinds import KINDS, KindContext
from detector.rules.predicate import PredicateError, predicate_problems
from detector.rules.spec import AnyRule, RuleBase, RuleSpec
from detector.rules.template import check_template

_RULE = TypeAdapter[AnyRule](RuleSpec)
_QUOTED = re.compile(r"'([^']*)'")


def problem(
    path: Path | str, message: str, rule: str = "", field: str = "", line: int | None = None
) -> RuleError:
    """One problem as a `RuleError` whose message names what is known of where it is."""
    parts = [f"{path}:{line}" if line else str(path)]
    if rule:
        parts.append(f"rule {rule!r}")
    if field:
        parts.append(f"field {field}")
    text = ": ".join([*parts, message])
    return RuleError(text, path=str(path), rule=rule, field=field, line=line)


class Problems:
    """The problems found so far, in the order the files were read."""

    def __init__(self) -> None:
        self.errors: list[RuleError] = []

    def add(
        self, path: Path, message: str, rule: str = "", field: str = "", line: int | None = None
    ) -> None:
        """Record one problem."""
        self.errors.append(problem(path, message, rule, field, line))

    def extend(self, errors: Iterable[RuleError]) -> None:
        """Record several problems."""
        self.errors.extend(errors)

    def add_validation(
        self, path: Path, exc: ValidationError, doc: Document, keys: Iterable[str] = ()
    ) -> None:
        """Record every error of a pydantic validation (of a file that is not a rule)."""
        self.extend(validation_problems(exc, path, "", doc, keys))

    def raise_any(self) -> None:
        """`RuleErrors` with everything recorded, if anything was."""
        if self.errors:
            raise RuleErrors(self.errors)


def read_text(path: Path, found: Problems) -> str | None:
    """The file's UTF-8 text, or None after recording why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        found.add(path, f"cannot read: {exc.strerror}")
    except UnicodeDecodeError as exc:
        where = f"byte {exc.object[exc.start]:#04x} at offset {exc.start}"
        found.add(path, f"cannot read: not UTF-8 text ({where})")
    return None


@cache
def kind_models() -> dict[str, type[RuleBase]]:
    """Kind name → its schema model (from the `AnyRule` union)."""
    models: dict[str, type[RuleBase]] = {}
    for model in get_args(AnyRule):
        for name in get_args(model.model_fields["kind"].annotation):
            models[name] = model
    return models


def predicate_fields(kind: object) -> tuple[str, ...]:
    """Names of the predicate fields (typed `Predicate`) of a kind's rules; `match` when the
    kind is unknown."""
    model = kind_models().get(kind, RuleBase) if isinstance(kind, str) else RuleBase
    return tuple(n for n, f in model.model_fields.items() if "predicate" in f.metadata)


def rule_problems(
    raw: dict[str, Any],
    context: KindContext,
    path: Path,
    doc: Document,
    domains: Mapping[str, Domain],
) -> tuple[AnyRule | None, list[RuleError]]:
    """The rule (None when it has problems) and every problem of one rule mapping."""
    rule_id = str(raw.get("id", path.stem))
    errors: list[RuleError] = []
    rule: AnyRule | None = None
    try:
        rule = _RULE.validate_python(raw)
    except ValidationError as exc:
        errors += validation_problems(exc, path, rule_id, doc, _keys(raw.get("kind")))
    for name in predicate_fields(raw.get("kind")):
        spec = raw.get(name)
        if isinstance(spec, dict):
            for p in predicate_problems(spec, context.lists, name, domains):
                errors.append(problem(path, p.message, rule_id, p.field, doc.line_of(p.field)))
    errors += _allow_problems(raw.get("allow"), path, rule_id, doc, domains)
    kind = None
    if rule is not None and not errors:
        try:
            kind = KINDS[rule.kind](rule, context)
        except PredicateError as exc:
            errors.append(problem(path, exc.message, rule_id, exc.field, doc.line_of(exc.field)))
    template = _template_problem(raw, rule, kind)
    if template:
        errors.append(problem(path, template, rule_id, "summary", doc.line(("summary",))))
    errors.sort(key=lambda e: e.line or 0)
    return (rule if not errors else None), errors


def _allow_problems(
    allow: Any, path: Path, rule: str, doc: Document, domains: Mapping[str, Domain]
) -> list[RuleError]:
    if not isinstance(allow, dict):
        return []
    errors = []
    for key, number in (("to_prefixes", "to"), ("from_prefixes", "from")):
        prefixes = allow.get(key)
        for i, prefix in enumerate(prefixes if isinstance(prefixes, list) else []):
            message = domains[number].check_prefix(prefix) if isinstance(prefix, str) else None
            if message:
                where = f"allow.{key}[{i}]"
                errors.append(problem(path, message, rule, where, doc.line_of(where)))
    return errors


def _template_problem(raw: dict[str, Any], rule: AnyRule | None, kind: object) -> str | None:
    """The summary template's problem, checked even when the rest of the rule is not valid
    (``{expected}`` is allowed for kinds with a baseline, and when the kind is unknown)."""
    summary: object = rule.summary if rule is not None else raw.get("summary")
    groups: object = rule.group_by if rule is not None else raw.get("group_by", ["account"])
    if not isinstance(summary, str) or not isinstance(groups, list | tuple):
        return None
    try:
        named = raw.get("kind")
        source = kind if kind is not None else KINDS.get(named) if isinstance(named, str) else None
        baseline = True if source is None else bool(getattr(source, "baseline", False))
        check_template(summary, [g for g in GROUP_FIELDS if g in groups], baseline)
    except ValueError as exc:
        return str(exc)
    return None


def validation_problems(
    exc: ValidationError, path: Path, rule: str, doc: Document, keys: Iterable[str] = ()
) -> list[RuleError]:
    """One problem per pydantic error: dotted field (without the union tag), line, message;
    a misspelt top-level key gets the closest of `keys`."""
    out = []
    for error in exc.errors():
        where, message = _describe(error)
        if error["type"] == "extra_forbidden" and "." not in where:
            message += _hint(closest(where, keys))
        out.append(problem(path, message, rule, where, doc.line(split_path(where))))
    return out


def _keys(kind: object) -> list[str]:
    """The keys a rule of `kind` may have (its aliases, such as ``for``, as written)."""
    model = kind_models().get(kind, RuleBase) if isinstance(kind, str) else RuleBase
    return [f.alias or name for name, f in model.model_fields.items()]


def _describe(error: Any) -> tuple[str, str]:
    """Dotted field path (``thresholds.warning``, ``group_by[0]``) and message of one error."""
    kind, loc = error["type"], [str(p) for p in error["loc"]]
    if kind == "union_tag_not_found":
        return "kind", f"missing; set kind to one of {', '.join(KINDS)}"
    if kind == "union_tag_invalid":
        wrong = error["ctx"]["tag"]
        return "kind", str(error["msg"]) + _hint(closest(str(wrong), KINDS))
    if loc and loc[0] in KINDS:
        loc = loc[1:]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error" and isinstance(error.get("input"), str):
        choices = _QUOTED.findall(str(error["ctx"]["expected"]))
        message += _hint(closest(error["input"], choices))
    where = "".join(f"[{p}]" if p.isdigit() else f".{_key(p)}" for p in loc).lstrip(".")
    return where or "(rule)", message


def _key(name: str) -> str:
    return "for" if name == "for_" else name


def _hint(suggestion: str | None) -> str:
    return f" (did you mean {suggestion}?)" if suggestion else ""
