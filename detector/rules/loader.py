"""Load a rule directory into a validated, frozen `RuleSet`, or fail naming every problem.

Layout: ``DIR/*.yaml`` one rule per file (files starting with ``_`` are not rules);
``DIR/_ruleset.yaml`` optional rule-set settings (home country, timezone, vocabulary);
``DIR/lists/`` data files referenced by ``to_prefix_list``/``from_prefix_list``:
``NAME.txt`` (one E.164 prefix per line, ``#`` comments) or ``NAME.yaml`` (a list of them).

Every file is checked, and every problem is reported at once (`RuleErrors`, one line each,
``FILE:LINE: rule 'ID': field FIELD: what is wrong``), so a set with three mistakes takes one
round to fix, not three. Each rule is checked against the schema (all its errors, not the
first), each predicate of its kind (`Predicate` fields: `match`, `where`, `first`, `then` …)
against the fields' domains (`detector.rules.domains`), its allow-list prefixes, and its
summary template; then the kind is built. Lines come from the YAML node marks
(`detector.rules.document`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from detector.errors import RuleError, RuleErrors
from detector.rules.document import Document, parse_yaml
from detector.rules.domains import DOMAINS, Domain, domains_with
from detector.rules.kinds import KindContext
from detector.rules.problems import Problems, read_text, rule_problems
from detector.rules.ruleset import RuleSet
from detector.rules.spec import AnyRule, RuleSettings, RuleSpec

__all__ = ["SETTINGS_FILE", "RuleSet", "check_rules", "load_lists", "load_rules"]

_RULE = TypeAdapter[AnyRule](RuleSpec)
SETTINGS_FILE = "_ruleset.yaml"


def load_rules(directory: Path) -> RuleSet:
    """Read and validate every rule file under `directory`; `RuleErrors` naming every problem."""
    if not directory.is_dir():
        raise RuleError(f"{directory}: not a rule directory", path=str(directory))
    found = Problems()
    settings = _settings(directory / SETTINGS_FILE, found)
    lists = load_lists(directory / "lists", found)
    context = KindContext(lists)
    domains = _domains(settings, directory / SETTINGS_FILE, found)
    rules: list[AnyRule] = []
    files: dict[str, str] = {}
    read: dict[str, tuple[AnyRule, Path, Document]] = {}
    for path in sorted(directory.glob("*.y*ml")):
        if path.name.startswith("_") or path.suffix not in {".yaml", ".yml"}:
            continue
        rule, doc = _rule(path, context, domains, found)
        if rule is None:
            continue
        if rule.id in files:
            message = f"duplicate id, also in {files[rule.id]}"
            found.add(path, message, rule.id, "id", doc.line(("id",)))
            continue
        files[rule.id] = str(path)
        read[rule.id] = (rule, path, doc)
        if rule.enabled:
            rules.append(rule)
    _check_inhibitions(read, found)
    found.raise_any()
    return RuleSet(tuple(rules), lists, settings, files)


def _check_inhibitions(read: Mapping[str, tuple[AnyRule, Path, Document]], found: Problems) -> None:
    """Refuse an `inhibited_by` entry that names no rule, the rule itself, or a rule whose
    alerts carry other labels or keys (its alerts could never share this rule's labels)."""
    for rule, path, doc in read.values():
        for n, name in enumerate(rule.inhibited_by):
            other = read.get(name)
            if other is None:
                message = f"inhibited_by names {name!r}, which no rule file defines: use a rule id"
            elif name == rule.id:
                message = "a rule cannot inhibit itself: list its shorter-window siblings"
            elif (other[0].labels, other[0].group_by) != (rule.labels, rule.group_by):
                message = (
                    f"inhibited_by {name!r}: its alerts have other labels or group_by, so they"
                    " never share a key with this rule's: give both the same labels and group_by"
                )
            else:
                continue
            found.add(path, message, rule.id, "inhibited_by", doc.line(("inhibited_by", n)))


def check_rules(directory: Path) -> RuleSet:
    """`load_rules`, and also refuse a directory without any rule (`rules check`)."""
    ruleset = load_rules(directory)
    if not ruleset.files:
        raise RuleError(f"{directory}: no rule files (*.yaml) found", path=str(directory))
    return ruleset


def load_lists(directory: Path, found: Problems | None = None) -> dict[str, tuple[str, ...]]:
    """List name (file stem) → its entries, from ``*.txt`` and ``*.yaml`` files.

    Every entry must be an E.164 prefix (lists are prefixes of `to` or `from`); a bad entry
    is a problem naming the file and line and is left out.
    """
    sink = found if found is not None else Problems()
    lists: dict[str, tuple[str, ...]] = {}
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            entries = _list_entries(path, sink)
            if entries is not None:
                lists[path.stem] = tuple(_prefixes(path, entries, sink))
    if found is None:
        sink.raise_any()
    return lists


def _list_entries(path: Path, found: Problems) -> list[tuple[str, int | None]] | None:
    """(entry, line) of a list file; None for files that are not lists."""
    if path.suffix == ".txt":
        text = read_text(path, found)
        lines = enumerate((text or "").splitlines(), start=1)
        return [(s, n) for n, ln in lines if (s := ln.split("#")[0].strip())]
    if path.suffix not in {".yaml", ".yml"}:
        return None
    doc = _document(path, found)
    if doc is None:
        return []
    data = doc.data
    if not isinstance(data, list) or not all(isinstance(x, str | int) for x in data):
        found.add(path, "a list file holds a YAML list of strings", line=1 if data else None)
        return []
    return [(str(x), doc.line((i,))) for i, x in enumerate(data)]


def _prefixes(path: Path, entries: list[tuple[str, int | None]], found: Problems) -> list[str]:
    good = []
    for entry, line in entries:
        problem = DOMAINS["to"].check_prefix(entry)
        if problem:
            found.add(path, f"entry {problem}", line=line)
        else:
            good.append(entry)
    return good


def _settings(path: Path, found: Problems) -> RuleSettings:
    if not path.exists():
        return RuleSettings()
    doc = _document(path, found)
    raw = {} if doc is None or doc.data is None else doc.data
    if not isinstance(raw, dict):
        message = "a settings file holds one YAML mapping (home_country, timezone)"
        found.add(path, message, line=1)
        return RuleSettings()
    try:
        return RuleSettings.model_validate(raw)
    except ValidationError as exc:
        keys = list(RuleSettings.model_fields)
        found.add_validation(path, exc, doc or Document(raw), keys)
        return RuleSettings()


def _domains(settings: RuleSettings, path: Path, found: Problems) -> Mapping[str, Domain]:
    try:
        return domains_with(settings.vocabulary.model_dump())
    except ValueError as exc:  # pragma: no cover - Vocabulary's fields are the extensible ones
        found.add(path, str(exc), field="vocabulary")
        return DOMAINS


def _rule(
    path: Path, context: KindContext, domains: Mapping[str, Domain], found: Problems
) -> tuple[AnyRule | None, Document]:
    """The rule in `path` (None after recording its problems) and its parsed document."""
    doc = _document(path, found)
    if doc is None:
        return None, Document(None)
    if not isinstance(doc.data, dict):
        found.add(path, "a rule file holds one YAML mapping", line=1 if doc.data else None)
        return None, doc
    rule, problems = rule_problems(doc.data, context, path, doc, domains)
    found.extend(problems)
    return rule, doc


def validate_rule(raw: dict[str, Any], context: KindContext, path: Path) -> AnyRule:
    """One rule mapping as a frozen rule, checked like a file; `RuleErrors` naming every problem."""
    rule, problems = rule_problems(raw, context, path, Document(raw), DOMAINS)
    if problems or rule is None:
        raise RuleErrors(problems)
    return rule


def _document(path: Path, found: Problems) -> Document | None:
    text = read_text(path, found)
    if text is None:
        return None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        found.add(path, f"not valid YAML: {exc}", line=line)
        return None
