"""Carry per-account rule state across a rule reload: keep what is still valid, drop the rest.

A rule's per-account state (window buckets, emission memory) only means something to the
rule that built it. After a reload a rule is *unchanged* when everything that shapes its
state is equal: its validated spec, the rule-set settings (home country and timezone decide
`international` and hour-of-week facts) and the contents of the prefix lists it names. An
unchanged rule keeps its state in every account; a changed rule starts fresh (its old data
may not even be of the same kind); a removed (or disabled) rule's state is dropped.
Pure: no clock, no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from detector.rules.engine import RuleEngine, RulesState
from detector.rules.ruleset import RuleSet
from detector.rules.spec import AnyRule

LIST_KEYS = frozenset({"to_prefix_list", "from_prefix_list"})
"""Predicate keys whose value names a list file."""


@dataclass(frozen=True, slots=True)
class RuleChanges:
    """What a reload did to the rules (ids, sorted) and which accounts lost state."""

    kept: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    """Accounts whose `RulesState` was trimmed (their stored copy is stale)."""


def lists_named(spec: AnyRule) -> frozenset[str]:
    """Names of the list files a rule's predicates refer to, at any depth.

    >>> from detector.rules.testing import ruleset_of
    >>> rule = {"id": "r", "kind": "threshold", "thresholds": {"warning": 1},
    ...         "match": {"any": [{"to_prefix_list": "hot"}, {"premium": True}]}}
    >>> sorted(lists_named(ruleset_of(rule, lists={"hot": ("+53",)}).rules[0]))
    ['hot']
    """
    return frozenset(_list_names(spec.model_dump()))


def _list_names(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in LIST_KEYS and isinstance(item, str):
                yield item
            else:
                yield from _list_names(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _list_names(item)


def same_rule(rule_id: str, old: RuleSet, new: RuleSet) -> bool:
    """True when `rule_id` runs in both sets with equal spec, settings and named lists."""
    before = {r.id: r for r in old.rules}.get(rule_id)
    after = {r.id: r for r in new.rules}.get(rule_id)
    if before is None or after is None or before != after or old.settings != new.settings:
        return False
    return all(old.lists.get(name) == new.lists.get(name) for name in lists_named(after))


def digests(rules: RuleSet) -> dict[str, str]:
    """A stable hash per rule id of everything `same_rule` compares, for the state file.

    At start-up the daemon compares the digests saved with the state against the rules on
    disk, so rules that changed while it was down start fresh instead of reusing stale state.
    """
    settings = rules.settings.model_dump_json()
    out = {}
    for rule in rules.rules:
        lists = {name: rules.lists.get(name) for name in sorted(lists_named(rule))}
        text = json.dumps([rule.model_dump_json(), settings, lists], sort_keys=True, default=str)
        out[rule.id] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def trim_stale(
    saved: Mapping[str, str], rules: RuleSet, states: Mapping[str, RulesState]
) -> list[str]:
    """Drop per-account state of rules whose digest differs from `saved`; return those accounts."""
    current = digests(rules)
    fresh = {rule_id for rule_id, digest in current.items() if saved.get(rule_id) == digest}
    return keep_only(fresh, states)


def keep_only(rule_ids: Collection[str], states: Mapping[str, RulesState]) -> list[str]:
    """Drop every rule's state but `rule_ids`' from each account; return the accounts touched."""
    touched = []
    for account, state in states.items():
        stale = [rule_id for rule_id in state.by_rule if rule_id not in rule_ids]
        for rule_id in stale:
            del state.by_rule[rule_id]
        if stale:
            touched.append(account)
    return touched


def compare(old: RuleSet, new: RuleSet) -> RuleChanges:
    """Classify every rule id of both sets as kept, changed, added or removed."""
    before = {r.id for r in old.rules}
    after = {r.id for r in new.rules}
    kept = {i for i in before & after if same_rule(i, old, new)}
    return RuleChanges(
        kept=tuple(sorted(kept)),
        changed=tuple(sorted((before & after) - kept)),
        added=tuple(sorted(after - before)),
        removed=tuple(sorted(before - after)),
    )


def carry_over(
    old_engine: RuleEngine, new_engine: RuleEngine, states: Mapping[str, RulesState]
) -> RuleChanges:
    """Trim every account's state to the rules kept unchanged; return what changed.

    `states` maps account → its `RulesState`, edited in place: `by_rule` keeps only the ids
    of unchanged rules, so changed rules start from empty windows in the new engine.
    """
    changes = compare(old_engine.ruleset, new_engine.ruleset)
    trimmed = keep_only(frozenset(changes.kept), states)
    return RuleChanges(
        changes.kept, changes.changed, changes.added, changes.removed, tuple(sorted(trimmed))
    )
