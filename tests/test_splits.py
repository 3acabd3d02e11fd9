"""Splits and folds: no speaker on both sides, ever."""

from __future__ import annotations

import numpy as np
import pytest
from learning_data import separable

from semo_batch.errors import ConfigError
from semo_batch.splits import cv_folds, split_indices

_, Y, _ACTORS, _ = separable(n_actors=10, per_class=2)
ACTORS = np.array([f"ravdess:{a:02d}" for a in _ACTORS], dtype=object)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_actor_split_never_shares_a_speaker(seed: int) -> None:
    tr, te = split_indices(Y, ACTORS, split="actor", seed=seed)
    assert not set(ACTORS[tr]) & set(ACTORS[te])
    assert len(set(ACTORS[te])) == 2  # 20% of 10 actors
    assert sorted(np.concatenate([tr, te])) == list(range(len(Y)))


def test_random_split_is_stratified_and_none_keeps_everything() -> None:
    tr, te = split_indices(Y, ACTORS, split="random", seed=0)
    assert len(te) == 32 and all(np.sum(Y[te] == e) == 4 for e in set(Y))
    tr, te = split_indices(Y, ACTORS, split="none", seed=0)
    assert len(tr) == len(Y) and len(te) == 0


def test_actor_split_needs_known_speakers() -> None:
    with pytest.raises(ConfigError, match="at least two actors"):
        split_indices(Y, np.full(len(Y), "", dtype=object), split="actor", seed=0)
    with pytest.raises(ConfigError, match="The 'split' parameter must be one of"):
        split_indices(Y, ACTORS, split="speaker", seed=0)


def test_actor_folds_hold_each_speaker_out_exactly_once() -> None:
    folds = cv_folds(Y, ACTORS, protocol="actor", folds=5, seed=0)
    assert len(folds) == 5
    held = [set(ACTORS[te]) for _, te in folds]
    for (tr, _), speakers in zip(folds, held):
        assert not set(ACTORS[tr]) & speakers and len(speakers) == 2
    assert sorted(a for s in held for a in s) == sorted(set(ACTORS))


def test_other_protocols_and_too_many_folds() -> None:
    assert len(cv_folds(Y, ACTORS, protocol="holdout", folds=5, seed=0)) == 1
    folds = cv_folds(Y, ACTORS, protocol="random", folds=4, seed=0)
    assert sorted(np.concatenate([te for _, te in folds])) == list(range(len(Y)))
    with pytest.raises(ConfigError, match="more than the 10 actors"):
        cv_folds(Y, ACTORS, protocol="actor", folds=11, seed=0)


def test_a_random_split_too_small_for_every_emotion_is_one_line() -> None:
    from semo_batch.errors import ConfigError

    y = np.repeat(np.arange(8), 2)  # 16 rows, 8 emotions: 20% is 4 rows, fewer than the 8 emotions
    with pytest.raises(ConfigError, match=r"random 20% split of 16 rows cannot hold every emotion"):
        split_indices(y, np.array(["a"] * 16), split="random", seed=0)


@pytest.mark.parametrize("protocol", ["random", "holdout"])
def test_segments_of_one_recording_stay_on_one_side(protocol: str) -> None:
    # 40 recordings of 4 emotions, 1-5 segments each: rows of one path never split.
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 6, size=40)
    groups = np.repeat([f"r{i}" for i in range(40)], counts)
    y = np.repeat(np.arange(40) % 4, counts)
    speakers = np.repeat([f"s{i % 8}" for i in range(40)], counts)
    tr, te = split_indices(y, speakers, split="random", seed=0, groups=groups)
    assert set(groups[tr]).isdisjoint(groups[te]) and len(tr) + len(te) == len(y)
    folds = cv_folds(y, speakers, protocol=protocol, folds=4, seed=0, groups=groups)
    for tr, te in folds:
        assert set(groups[tr]).isdisjoint(groups[te])
    if protocol == "random":
        assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(len(y)))
    # Unique groups (whole files) give exactly the folds they gave without groups.
    one = np.array([f"f{i}" for i in range(len(y))])
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(
        cv_folds(y, speakers, protocol=protocol, folds=4, seed=0, groups=one),
        cv_folds(y, speakers, protocol=protocol, folds=4, seed=0)))
