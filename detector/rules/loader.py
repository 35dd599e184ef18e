"""Load a rule directory into a validated, frozen `RuleSet`, or fail naming file, rule and field.

Layout: ``DIR/*.yaml`` one rule per file (files starting with ``_`` are not rules);
``DIR/_ruleset.yaml`` optional rule-set settings (home country, timezone); ``DIR/lists/``
data files referenced by ``to_prefix_list``/``from_prefix_list``: ``NAME.txt`` (one prefix
per line, ``#`` comments) or ``NAME.yaml`` (a list of strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from detector.errors import RuleError
from detector.rules.kinds import KINDS, KindContext
from detector.rules.predicate import PredicateError, compile_predicate
from detector.rules.spec import AnyRule, RuleSettings, RuleSpec
from detector.rules.template import check_template

_RULE = TypeAdapter[AnyRule](RuleSpec)
SETTINGS_FILE = "_ruleset.yaml"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Validated rules (enabled ones, in file-name order), their list files and settings."""

    rules: tuple[AnyRule, ...]
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    settings: RuleSettings = field(default_factory=RuleSettings)
    files: Mapping[str, str] = field(default_factory=dict)
    """Rule id → the file it came from."""


def load_rules(directory: Path) -> RuleSet:
    """Read and validate every rule file under `directory`; RuleError on the first problem."""
    if not directory.is_dir():
        raise RuleError(f"{directory}: not a rule directory", path=str(directory))
    settings = _settings(directory / SETTINGS_FILE)
    lists = load_lists(directory / "lists")
    context = KindContext(lists)
    rules: list[AnyRule] = []
    files: dict[str, str] = {}
    for path in sorted(directory.glob("*.y*ml")):
        if path.name.startswith("_") or path.suffix not in {".yaml", ".yml"}:
            continue
        rule = _rule(path, context)
        if rule.id in files:
            raise RuleError(
                f"{path}: rule {rule.id!r}: field id: duplicate id, also in {files[rule.id]}",
                path=str(path), rule=rule.id, field="id",
            )  # fmt: skip
        files[rule.id] = str(path)
        if rule.enabled:
            rules.append(rule)
    return RuleSet(tuple(rules), lists, settings, files)


def check_rules(directory: Path) -> RuleSet:
    """`load_rules`, and also refuse a directory without any rule (`rules check`)."""
    ruleset = load_rules(directory)
    if not ruleset.files:
        raise RuleError(f"{directory}: no rule files (*.yaml) found", path=str(directory))
    return ruleset


def load_lists(directory: Path) -> dict[str, tuple[str, ...]]:
    """List name (file stem) → its entries, from ``*.txt`` and ``*.yaml`` files."""
    lists: dict[str, tuple[str, ...]] = {}
    if not directory.is_dir():
        return lists
    for path in sorted(directory.iterdir()):
        if path.suffix == ".txt":
            lines = _text(path).splitlines()
            lists[path.stem] = tuple(s for ln in lines if (s := ln.split("#")[0].strip()))
        elif path.suffix in {".yaml", ".yml"}:
            data = _yaml(path)
            if not isinstance(data, list) or not all(isinstance(x, str | int) for x in data):
                raise RuleError(f"{path}: a list file holds a YAML list of strings", path=str(path))
            lists[path.stem] = tuple(str(x) for x in data)
    return lists


def _settings(path: Path) -> RuleSettings:
    if not path.exists():
        return RuleSettings()
    raw = _yaml(path) or {}
    if not isinstance(raw, dict):
        raise RuleError(
            f"{path}: a settings file holds one YAML mapping (home_country, timezone)",
            path=str(path),
        )
    try:
        return RuleSettings.model_validate(raw)
    except ValidationError as exc:
        where, message = _first_error(exc)
        raise RuleError(f"{path}: field {where}: {message}", path=str(path), field=where) from exc


def _rule(path: Path, context: KindContext) -> AnyRule:
    raw = _yaml(path)
    if not isinstance(raw, dict):
        raise RuleError(f"{path}: a rule file holds one YAML mapping", path=str(path))
    return validate_rule(raw, context, path)


def validate_rule(raw: dict[str, Any], context: KindContext, path: Path) -> AnyRule:
    """One rule mapping as a frozen rule, checked like a file (predicates, kind, summary)."""
    rule_id = str(raw.get("id", path.stem))
    try:
        rule = _RULE.validate_python(raw)
    except ValidationError as exc:
        where, message = _first_error(exc)
        raise _error(path, rule_id, where, message) from exc
    try:
        compile_predicate(rule.match, context.lists, "match")
        kind = KINDS[rule.kind](rule, context)
    except PredicateError as exc:
        raise _error(path, rule_id, exc.field, str(exc).split(": ", 1)[1]) from exc
    try:
        check_template(rule.summary, rule.group_by, getattr(kind, "baseline", False))
    except ValueError as exc:
        raise _error(path, rule_id, "summary", str(exc)) from exc
    return rule


def _yaml(path: Path) -> Any:
    text = _text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}", path=str(path)) from exc


def _text(path: Path) -> str:
    """The file's UTF-8 text; RuleError when it cannot be read or is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        where = f"byte {exc.object[exc.start]:#04x} at offset {exc.start}"
        raise RuleError(f"{path}: cannot read: not UTF-8 text ({where})", path=str(path)) from exc


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """Dotted field path (without the union tag) and message of the first pydantic error."""
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    if error["type"] == "union_tag_not_found":
        return "kind", f"missing; set kind to one of {', '.join(KINDS)}"
    if error["type"] == "union_tag_invalid":
        return "kind", error["msg"]
    if loc and loc[0] in KINDS:
        loc = loc[1:]
    message = str(error["msg"]).removeprefix("Value error, ")
    return ".".join("for" if p == "for_" else p for p in loc) or "(rule)", message


def _error(path: Path, rule: str, where: str, message: str) -> RuleError:
    return RuleError(
        f"{path}: rule {rule!r}: field {where}: {message}", path=str(path), rule=rule, field=where
    )
