"""Speaker normalization: group keys from paths, and per-group z-scoring."""

from __future__ import annotations

import numpy as np
import pytest

from semo_batch.errors import ConfigError
from semo_batch.models.normalize import Standardizer, group_keys, normalize_groups

PATHS = ["/d/a/03-01-05-01-01-01-12.wav", "/d/a/03-01-01-01-01-01-12.wav", "/d/b/03-01-05-01-01-01-07.wav"]


def test_group_keys_by_actor_folder_and_batch() -> None:
    assert group_keys(PATHS, "actor").tolist() == ["ravdess:12", "ravdess:12", "ravdess:07"]
    assert group_keys(PATHS, "actor", speakers=["x:3", "x:3", "x:4"]).tolist() == ["x:3", "x:3", "x:4"]
    assert group_keys(PATHS, "folder").tolist() == ["/d/a", "/d/a", "/d/b"]
    assert group_keys(PATHS, "batch").tolist() == [0, 0, 0]


def test_group_keys_refuses_what_it_cannot_group() -> None:
    with pytest.raises(ConfigError, match="x.wav: --normalize-by actor needs file names that name the speaker"):
        group_keys([*PATHS, "/d/x.wav"], "actor")
    with pytest.raises(ConfigError, match="must be one of"):
        group_keys(PATHS, "speaker")


def test_normalize_groups_z_scores_each_group(rng: np.random.Generator) -> None:
    X = np.vstack([rng.normal(5, 2, (50, 3)), rng.normal(-3, 0.5, (40, 3)), [[1.0, 2.0, 3.0]]])
    g = np.array([0] * 50 + [1] * 40 + [2])
    Z = normalize_groups(X, g)
    for key in (0, 1):
        np.testing.assert_allclose(Z[g == key].mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(Z[g == key].std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(Z[g == 2], 0)  # a one-file group is centred, not scaled


def test_standardizer_round_trips_through_json(rng: np.random.Generator) -> None:
    X = rng.normal(3, 4, (100, 5))
    X[:, 2] = 7.0  # a constant column keeps scale 1
    s = Standardizer().fit(X)
    t = Standardizer.from_dict(s.to_dict(), 5)
    np.testing.assert_allclose(t.transform(X), s.transform(X))
    np.testing.assert_allclose(s.transform(X)[:, 2], 0)
    with pytest.raises(ValueError):
        Standardizer.from_dict(s.to_dict(), 4)


def test_group_keys_by_corpus_from_names_or_given() -> None:
    paths = ["/d/a/03-01-05-01-01-01-12.wav", "/d/c/1001_DFA_ANG_XX.wav", "/d/c/1002_IEO_SAD_HI.wav"]
    assert group_keys(paths, "corpus").tolist() == ["ravdess", "crema-d", "crema-d"]
    assert group_keys(paths, "corpus", corpora=["x", "y", "y"]).tolist() == ["x", "y", "y"]
    with pytest.raises(ConfigError, match="needs file names that name the corpus"):
        group_keys([*paths, "/d/x.wav"], "corpus")
