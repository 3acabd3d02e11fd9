"""Training, honest evaluation and cross-validation on a store of separable synthetic rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from learning_data import EMO, write_store

from semo_batch.dataset import load_labelled
from semo_batch.errors import StoreError
from semo_batch.evaluate import cross_validate, evaluate
from semo_batch.results import results_table
from semo_batch.train import fit_classifier, train


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("learning") / "store"
    write_store(path, augment=(0.9, 1.1), n_actors=10)
    return path


def test_load_labelled_keeps_perturbed_copies_apart(store: Path) -> None:
    data = load_labelled(store, EMO)
    assert len(data) == 160 and data.n_augmented == 320
    rows = data.training_rows(np.arange(16), "none")
    assert len(rows.y) == 48 and rows.n_augmented == 32
    assert set(rows.copies.tolist()) == {"", "x0.9", "x1.1"}
    assert set(rows.groups.tolist()) == {"ravdess:01"}  # actor 1's rows, perturbed copies included
    assert len(data.training_rows(np.arange(16), "none", augmented=False).y) == 16


def test_train_holds_out_whole_actors_and_scores_them(store: Path, tmp_path: Path) -> None:
    result = train(store, tmp_path / "m", model="logreg", split="actor", seed=0)
    assert result.scores is not None and result.scores.accuracy == 1.0
    assert (result.rows_train, result.rows_test, result.augmented_rows) == (128, 32, 256)
    split = json.loads((tmp_path / "m" / "split.json").read_text())
    assert not set(split["train_speakers"]) & set(split["test_speakers"]) and len(split["test_speakers"]) == 2
    assert len(split["train_paths"]) == 128 and not set(split["train_paths"]) & set(split["test_paths"])
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["accuracy"] == 1.0 and metrics["n"] == 32


def test_evaluate_scores_only_what_train_held_out(store: Path, tmp_path: Path) -> None:
    t = train(store, tmp_path / "m", model="logreg", split="random", seed=3)
    r = evaluate(store, tmp_path / "m")
    assert r.rows_scored == t.rows_test == 32 and r.training_rows_excluded == 128
    assert r.scores == t.scores  # the same figure train printed
    assert r.warning is None and "32 held-out rows (128 training rows left out)" in r.protocol
    everything = evaluate(store, tmp_path / "m", include_training=True)
    assert everything.rows_scored == 160 and everything.training_rows_scored == 128
    assert everything.warning is not None and "128 of the 160 rows scored were used to train" in everything.warning


def test_evaluate_of_a_model_trained_on_everything_refuses(store: Path, tmp_path: Path) -> None:
    train(store, tmp_path / "m", model="logreg", split="none")
    with pytest.raises(StoreError, match="nothing is held out") as e:
        evaluate(store, tmp_path / "m")
    assert "\n" not in str(e.value)


def test_cross_validation_by_actor(store: Path) -> None:
    calls = []
    r = cross_validate(store, model="logreg", cv="actor", folds=5, progress=lambda d, t: calls.append((d, t)))
    assert len(r.folds) == 5 and calls[-1] == (5, 5)
    held = [set(f.test_speakers) for f in r.folds]
    assert sorted(a for s in held for a in s) == [f"ravdess:{a:02d}" for a in range(1, 11)]
    assert r.mean["accuracy"] == 1.0 and np.trace(np.asarray(r.confusion_matrix)) == 160
    assert "(+320 speed-perturbed rows for training)" in r.protocol


def test_train_and_cv_share_one_fit_path(store: Path) -> None:
    data = load_labelled(store, EMO)
    clf, n_aug = fit_classifier(data, np.arange(80), model="logreg", augmented=True)
    assert n_aug == 160 and clf.labels_[0] == "neutral"  # vocabulary order, not alphabetical
    clf, n_aug = fit_classifier(data, np.arange(80), model="logreg", augmented=False)
    assert n_aug == 0


def test_results_table_cells(store: Path) -> None:
    lines: list[str] = []
    t = results_table(store, grid=[("logreg", "emo")], protocols=["actor"], normalizations=[None, "actor"],
                      folds=2, echo=lines.append)
    assert [(c.normalize_by.value, c.protocol.value) for c in t.cells] == [("none", "actor"), ("actor", "actor")]
    assert len(lines) == 2 and all(c.result.mean["accuracy"] == 1.0 for c in t.cells)
    assert "| logreg | emo | none | 1.000 ± 0.000 |" in t.markdown


def test_corpus_weights_make_each_corpus_weigh_the_same() -> None:
    from semo_batch.train import corpus_weights

    w = corpus_weights(np.array(["a"] * 30 + ["b"] * 10))
    assert w is not None
    assert w[:30].sum() == pytest.approx(w[30:].sum()) and w.mean() == pytest.approx(1.0)
    assert corpus_weights(np.array(["a"] * 5)) is None


def test_several_corpora_cross_validate_one_with_the_other_always_in_training(store: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write_store(other, corpus="tess", n_actors=5, seed=4)
    data = load_labelled([store, other], EMO)
    assert set(data.corpora.tolist()) == {"ravdess", "tess"} and len(data) == 160 + 80
    assert not set(data.speakers[data.corpora == "tess"]) & set(data.speakers[data.corpora == "ravdess"])
    r = cross_validate([store, other], model="logreg", cv="actor", folds=5, test_corpus="tess")
    assert sorted(s for f in r.folds for s in f.test_speakers) == [f"tess:{a:02d}" for a in range(1, 6)]
    assert list(r.by_corpus) == ["tess"] and r.by_corpus["tess"].n == 80
    both = cross_validate([store, other], model="logreg", cv="actor", folds=5)
    assert set(both.by_corpus) == {"ravdess", "tess"} and sum(s.n for s in both.by_corpus.values()) == 240
    assert any(line.startswith("tess: 80 rows, accuracy") for line in both.lines())


def test_select_keeps_the_perturbed_copies_of_what_it_keeps(store: Path) -> None:
    data = load_labelled(store, EMO)
    keep = data.speakers == "ravdess:03"
    part = data.select(keep)
    assert len(part) == 16 and part.n_augmented == 32
    np.testing.assert_array_equal(part.X, data.X[keep])
    assert part.aug_parent is not None and data.aug_parent is not None
    assert set(part.aug_parent.tolist()) == set(range(16))
    assert data.subset(keep).n_augmented == 0


def test_corpus_table_trains_on_each_corpus_and_both(store: Path, tmp_path: Path) -> None:
    from semo_batch.results import corpus_table

    other = tmp_path / "other"
    write_store(other, corpus="tess", n_actors=5, seed=4)
    lines: list[str] = []
    heard = {"tess": {"03-01-01-01-01-01-01": "neutral", "03-01-02-01-01-01-01": "angry"}}  # one right, one wrong
    t = corpus_table([store, other], grid=[("emo", "logreg")], normalizations=["none"], listeners=heard,
                     echo=lines.append)
    got = [(c.normalize_by.value, c.trained_on, c.tested_on, c.protocol) for c in t.cells]
    assert got == [
        ("none", "ravdess", "ravdess", "by speaker"), ("none", "ravdess", "tess", "cross-corpus"),
        ("none", "tess", "ravdess", "cross-corpus"), ("none", "tess", "tess", "by speaker"),
        ("none", "ravdess+tess", "ravdess", "by speaker"), ("none", "ravdess+tess", "tess", "by speaker"),
        # corpus normalization only across corpora
        ("corpus", "ravdess", "tess", "cross-corpus"), ("corpus", "tess", "ravdess", "cross-corpus"),
    ]
    assert len(lines) == 8 and all(c.scores.accuracy == 1.0 for c in t.cells)
    assert t.cells[3].scores.n == 80 and t.cells[3].fold_spread == 0.0
    assert t.cells[3].agreement == 0.5 and t.cells[0].agreement is None
    assert t.cells[0].top_share == pytest.approx(20 / 160)  # every class predicted as often as it occurs
    assert "| emo | logreg | none | tess | ravdess | cross-corpus | 1.000 |" in t.markdown


def test_file_groups_are_refused_for_training(tmp_path) -> None:
    from learning_data import write_store

    from semo_batch.errors import ConfigError
    from semo_batch.train import train

    store = write_store(tmp_path / "store", n_actors=4)
    with pytest.raises(ConfigError, match="normalize_by 'file' groups the segments of one recording"):
        train(store, tmp_path / "m", model="logreg", normalize_by="file")
    assert not (tmp_path / "m").exists()
