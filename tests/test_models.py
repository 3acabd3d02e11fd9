"""The model registry, the classifier's scikit-learn contract, and save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from learning_data import COLUMNS, EMO, labelled
from sklearn.base import clone

from semo_batch.choices import ModelName
from semo_batch.errors import ConfigError, ModelError
from semo_batch.models import MODELS, EmotionClassifier, describe_model, get_spec, load_model, save_model

TRAIN = labelled(n_actors=8, seed=0)
TEST = labelled(n_actors=3, seed=1)


def _clf(model: str = "logreg", **kw) -> EmotionClassifier:
    return EmotionClassifier(model, feature_config=EMO, feature_columns=COLUMNS, **kw)


def test_every_model_has_one_consistent_spec() -> None:
    assert set(MODELS) == set(ModelName)
    for name, spec in MODELS.items():
        assert spec.name is name
        assert spec.weights == ("model.keras" if spec.is_network else "model.skops")
        assert (spec.top_type is None) == spec.is_network
        assert spec.needs_tensorflow == spec.is_network  # the networks only: TensorFlow is the [dnn] extra
    assert get_spec("seed-dnn").notebook_protocol and not get_spec("seed-dnn").scaled_inputs
    with pytest.raises(ConfigError, match=r"The 'model' parameter must be one of \{.*'ensemble'.*\}. Got 'svn' instead."):
        get_spec("svn")


def test_init_stores_and_clone_works() -> None:
    clf = _clf("ensemble", normalize_by="actor", seed=3, params={"C": 0.1})
    params = clf.get_params()
    assert params["model"] == "ensemble" and params["seed"] == 3 and params["params"] == {"C": 0.1}
    copy = clone(clf)
    assert copy.get_params() == params and copy is not clf
    assert not hasattr(copy, "estimator_")


def test_fit_returns_self_and_separable_classes_are_learned() -> None:
    clf = _clf()
    with pytest.raises(ModelError, match="not fitted yet"):
        clf.predict(TEST.X)
    assert clf.fit(TRAIN.X, TRAIN.y) is clf
    assert (clf.predict(TEST.X) == TEST.y).all()
    proba = clf.predict_proba(TEST.X)
    assert proba.shape == (len(TEST.y), 8)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(clf.classes_) == sorted(set(TRAIN.y))


def test_fit_checks_shapes_and_groups() -> None:
    with pytest.raises(ModelError, match=f"expected {len(COLUMNS)} feature columns"):
        _clf().fit(TRAIN.X[:, :5], TRAIN.y)
    with pytest.raises(ModelError, match="needs the group of every row"):
        _clf(normalize_by="actor").fit(TRAIN.X, TRAIN.y)
    clf = _clf(normalize_by="actor").fit(TRAIN.X, TRAIN.y, groups=TRAIN.speakers)
    with pytest.raises(ModelError, match="give groups"):
        clf.predict(TEST.X)


def test_speaker_normalization_removes_a_speaker_offset() -> None:
    train, test = labelled(n_actors=6, shift=3.0, seed=0), labelled(n_actors=9, shift=3.0, seed=2)
    new = test.speakers > "ravdess:06"  # speakers whose offset training never saw
    clf = _clf(normalize_by="actor").fit(train.X, train.y, groups=train.speakers)
    assert (clf.predict(test.X[new], groups=test.speakers[new]) == test.y[new]).all()


def test_perturbed_copies_are_voices_of_their_own() -> None:
    # Two copies of a speaker, one shifted by 10 on every column: normalized per (speaker,
    # factor) the shift vanishes; normalized per speaker alone it would not.
    X = np.vstack([TRAIN.X, TRAIN.X + 10.0])
    y = np.concatenate([TRAIN.y, TRAIN.y])
    groups = np.concatenate([TRAIN.speakers, TRAIN.speakers])
    copies = np.repeat(["", "x0.9"], len(TRAIN.y))
    keys = EmotionClassifier._voices(groups, copies)
    assert len(set(keys.tolist())) == 2 * len(set(TRAIN.speakers.tolist()))
    clf = _clf(normalize_by="actor").fit(X, y, groups=groups, copies=copies)
    np.testing.assert_allclose(clf.scaler_.mean_, 0.0, atol=1e-9)


def test_a_class_absent_from_training_gets_probability_zero() -> None:
    keep = TRAIN.y != "calm"
    clf = _clf().fit(TRAIN.X[keep], TRAIN.y[keep], labels=sorted(set(TRAIN.y)))
    proba = clf.predict_proba(TEST.X)
    assert proba.shape[1] == 8 and (proba[:, clf.labels_.index("calm")] == 0).all()


@pytest.mark.parametrize("model", ["logreg", "ensemble"])
def test_save_then_load_predicts_the_same(model: str, tmp_path: Path) -> None:
    clf = _clf(model, seed=1).fit(TRAIN.X, TRAIN.y)
    save_model(clf, tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert back.labels_ == clf.labels_ and back.get_params()["model"] == model
    np.testing.assert_array_equal(back.predict_proba(TEST.X), clf.predict_proba(TEST.X))
    assert describe_model(tmp_path / "m").endswith(f"model {model} on feature set emo ({EMO.fingerprint()}), "
                                                   "8 labels, speaker normalization none")


def test_save_needs_a_fitted_model_with_its_features(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not fitted"):
        save_model(_clf(), tmp_path / "m")
    clf = EmotionClassifier("logreg", feature_columns=COLUMNS).fit(TRAIN.X, TRAIN.y)
    with pytest.raises(ModelError, match="without its feature_config"):
        save_model(clf, tmp_path / "m")


def test_late_fusion_averages_one_model_per_part(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from semo_batch.config import get_config
    from semo_batch.features import names
    from semo_batch.models.fusion import BlockFusion

    both = get_config("emo+whisper")
    cols = names(both)
    rng = np.random.default_rng(0)
    X = np.hstack([TRAIN.X, rng.standard_normal((len(TRAIN.y), len(cols) - TRAIN.X.shape[1]))])
    Xt = np.hstack([TEST.X, rng.standard_normal((len(TEST.y), len(cols) - TEST.X.shape[1]))])
    clf = EmotionClassifier("fusion", feature_config=both, feature_columns=cols).fit(X, TRAIN.y)
    fused = clf.estimator_
    assert isinstance(fused, BlockFusion) and fused.blocks_ == [(0, 658), (658, 1682)]
    Xs = clf.scaler_.transform(X)
    members = [LogisticRegression(C=0.01, tol=1e-3, max_iter=5000, class_weight="balanced", random_state=0)
               .fit(Xs[:, a:b], np.searchsorted(clf.labels_, TRAIN.y)) for a, b in fused.blocks_]
    Xts = clf.scaler_.transform(Xt)
    expected = np.mean([m.predict_proba(Xts[:, a:b]) for m, (a, b) in zip(members, fused.blocks_)], axis=0)
    np.testing.assert_allclose(clf.predict_proba(Xt), expected, rtol=1e-6, atol=1e-9)
    save_model(clf, tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict_proba(Xt), clf.predict_proba(Xt))
