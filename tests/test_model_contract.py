"""The model's contract, river style: pickling, determinism, bounded memory; and its state
versioning (older layouts migrate, newer ones are refused with what to do)."""

from __future__ import annotations

import json
import pickle
from datetime import timedelta
from pathlib import Path

import pytest
from model_traffic import START, Traffic, business, days, replay

from detector.errors import StateError
from detector.models import snapshot
from detector.models.account import AccountModelState
from detector.models.config import ModelConfig
from detector.models.features import KEYS, Bucket
from detector.models.loader import FEATURE_KEYS
from detector.models.scorer import AnomalyModel
from detector.pipeline import AccountState

FIXTURES = Path(__file__).parent / "fixtures"


def stream(account: str = "MA_1", span: float = 10, seed: int = 1) -> list:
    """Business traffic with a burst on day 6 and an international trickle on day 8."""
    traffic = Traffic(account, seed=seed).calls(business(10), START, START + days(span))
    traffic.burst(START + days(6) + timedelta(hours=11), 60, timedelta(minutes=20))
    more = START + days(8) + timedelta(hours=9)
    traffic.calls(business(10), more, more + timedelta(hours=6), international=0.5)
    return traffic.cdrs


def split(cdrs: list, at: float) -> tuple[list, list]:
    """The records shown by the feed before and after `at` days."""
    cut = START + days(at)
    ordered = sorted(cdrs, key=lambda c: (c.end, c.call_id))
    return [c for c in ordered if c.end < cut], [c for c in ordered if c.end >= cut]


def test_pickle_round_trip_gives_identical_findings_and_state() -> None:
    """A model and account state pickled mid-stream and restored score the rest exactly like
    the originals: same findings, same bytes afterwards."""
    first, rest = split(stream(), 5.5)
    model = AnomalyModel(ModelConfig())
    _, state = replay(model, first, settle=False)
    copy = AnomalyModel(ModelConfig())
    assert copy.restore_global(model.global_state()) == ""
    copy_state = pickle.loads(pickle.dumps(state))  # noqa: S301 (our own bytes)
    found, _ = replay(model, rest, state)
    found_copy, _ = replay(copy, rest, copy_state)
    assert found == found_copy != []
    assert pickle.dumps(state) == pickle.dumps(copy_state)
    assert model.global_state() == copy.global_state()


def test_same_input_gives_the_same_output() -> None:
    """Two fresh models fed the same stream agree on every finding and every state byte
    (the model has no random part; nothing depends on the process, e.g. string hashing)."""
    runs = []
    for _ in range(2):
        model = AnomalyModel(ModelConfig())
        found, state = replay(model, stream())
        runs.append((found, pickle.dumps(state), model.global_state()))
    assert runs[0] == runs[1]
    assert runs[0][0]


def test_account_state_does_not_grow_with_time() -> None:
    """After four weeks an account's learned state (baseline, drift) is exactly as big as
    after one, its open buckets are those of the horizon, and it all stays under 4 KB."""
    learned, total = [], []
    for span in (7, 28):
        traffic = Traffic("MA_1").calls(business(30), START, START + days(span))
        _, state = replay(AnomalyModel(ModelConfig()), traffic.cdrs, settle=False)
        learned.append(len(pickle.dumps((state.baseline, state.drift))))
        total.append(len(pickle.dumps(state)))
    assert learned[0] == learned[1]
    assert max(total) < 4096


def test_shared_state_does_not_grow_with_accounts() -> None:
    """The shared state (one entry per segment) is the same size for 3 and for 30 accounts."""
    sizes = []
    for accounts in (3, 30):
        model = AnomalyModel(ModelConfig())
        for n in range(accounts):
            cdrs = Traffic(f"MA_{n}", seed=n).calls(business(8), START, START + days(2)).cdrs
            replay(model, cdrs)
        sizes.append(len(model.global_state()))
    assert sizes[0] == sizes[1]


def test_open_buckets_are_bounded_by_the_horizon() -> None:
    """However busy the account, only the buckets within the lateness horizon stay open."""
    model = AnomalyModel(ModelConfig())
    traffic = Traffic("MA_1").calls(business(300), START, START + days(2))
    _, state = replay(model, traffic.cdrs, settle=False)
    assert len(state.pending) <= model.horizon + 2


def test_the_settings_schema_lists_every_feature_in_order() -> None:
    """`_models.yaml`'s feature names are the model's, in the model's order."""
    assert FEATURE_KEYS == KEYS


def test_account_state_of_the_previous_release_loads_as_a_fresh_model_state() -> None:
    """An account saved by the release with the HalfSpaceTrees model loads: its rule and alert
    state are kept, its model state starts empty (the model learns again)."""
    account = pickle.loads((FIXTURES / "model_state_release1.pickle").read_bytes())  # noqa: S301
    assert isinstance(account, AccountState)
    assert account.model == AccountModelState()
    model = AnomalyModel(ModelConfig())
    cdrs = Traffic("MA_old").calls(business(5), START, START + days(1)).cdrs
    _, state = replay(model, cdrs, account.model)
    assert state.age > 0


def test_an_open_bucket_of_the_release_before_the_day_level_keeps_its_counts() -> None:
    """An open bucket pickled before buckets carried the day's level (one field fewer) loads
    with its counts and the day's level at 1 (judged against the usual, as it was)."""
    bucket = Bucket(attempts=7, answered=3, looked=1)
    old = bucket.__getstate__()[:-1]
    restored = Bucket.__new__(Bucket)
    restored.__setstate__(old)
    assert (restored.attempts, restored.answered, restored.looked, restored.lift) == (7, 3, 1, 1.0)


def test_account_model_state_saved_before_unusual_at_keeps_what_it_learned() -> None:
    """A model state pickled before it remembered its latest unusual bucket (one field fewer)
    loads with its baseline, age and streak, and no unusual bucket remembered."""
    cdrs = Traffic("MA_old").calls(business(5), START, START + days(3)).cdrs
    _, state = replay(AnomalyModel(ModelConfig()), cdrs)
    old = state.__getstate__()[:-1]
    restored = AccountModelState.__new__(AccountModelState)
    restored.__setstate__(old)
    assert restored.baseline is not None
    assert restored.age == state.age > 0
    assert (restored.streak, restored.unusual_at) == (state.streak, -1)


def test_shared_state_of_the_previous_release_is_set_aside_with_a_note() -> None:
    """The previous release's pickled forest is not unpickled: the model starts its segments
    afresh and says so."""
    model = AnomalyModel(ModelConfig())
    note = model.restore_global((FIXTURES / "model_blob_release1.pickle").read_bytes())
    assert "older release" in note
    assert model.segments == {}


def test_shared_state_of_a_newer_format_is_refused_with_what_to_do() -> None:
    """A blob in a format this release does not know is refused, naming the way out."""
    header = json.dumps({"format": snapshot.FORMAT + 1, "river": "0.26.1"}).encode()
    with pytest.raises(StateError, match=r"newer release.*reset-model"):
        snapshot.load(snapshot.MAGIC + header + b"\n" + b"junk")


def test_river_objects_from_another_river_are_refused() -> None:
    """A blob declaring pickled river objects of another river minor version is refused."""
    header = json.dumps({"format": snapshot.FORMAT, "river": "0.19.0", "river_objects": True})
    with pytest.raises(StateError, match=r"river 0\.19\.0 objects.*install river 0\.19"):
        snapshot.load(snapshot.MAGIC + header.encode() + b"\n" + pickle.dumps({}))


def test_shared_state_records_the_format_and_river_version() -> None:
    """The saved header names the format and the river version that wrote it."""
    restored = snapshot.load(AnomalyModel(ModelConfig()).global_state())
    assert restored.header["format"] == snapshot.FORMAT
    assert snapshot.river_minor(str(restored.header["river"])) == snapshot.river_minor()
