"""The exception tree: errors cross process boundaries (pickle) whole."""

from __future__ import annotations

import pickle

import pytest

from detector.errors import (
    AuthError,
    DetectorError,
    OversizedResponse,
    RetryableDelivery,
    RetryableSourceError,
    RuleError,
    RuleErrors,
    StateError,
)

ERRORS = [
    RuleError("bad field", path="rules/a.yaml", rule="a", field="window", line=3),
    RuleErrors([RuleError("one", path="a.yaml", rule="a", field="id", line=1),
                RuleError("two", path="b.yaml", rule="b", field="id", line=2)]),
    AuthError("refused", status=403),
    RetryableSourceError("slow down", reason="429", retry_after=2.5),
    OversizedResponse("too big", head=b"{"),
    StateError("disk full", transient=True),
    RetryableDelivery("later", retry_after=30.0),
]  # fmt: skip


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_unpickles_as_the_same_class_with_its_message_and_fields(
    error: DetectorError,
) -> None:
    """A pickled error comes back as its own class with the same message and attributes."""
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert _fields(back) == _fields(error)


def _fields(error: DetectorError) -> dict[str, object]:
    """An error's attributes, nested errors as their messages (errors compare by identity)."""
    return {k: [str(e) for e in v] if k == "errors" else v for k, v in vars(error).items()}


def test_a_rule_directory_error_keeps_every_problem_across_pickling() -> None:
    """A `RuleErrors` unpickles with each problem's file, rule and line."""
    error = ERRORS[1]
    assert isinstance(error, RuleErrors)
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    problems = [(e.path, e.rule, e.line) for e in back.errors]
    assert problems == [("a.yaml", "a", 1), ("b.yaml", "b", 2)]
