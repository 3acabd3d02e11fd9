"""Store -> model: the one fit path, and ``train`` (split, fit, score, save).

:func:`fit_classifier` is how every model is fitted, by ``train`` and by
cross-validation alike.  Pictures are the caller's business
(:func:`semo_batch.plots.save_model_figures`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .choices import ModelName, NormalizeBy, Split, choose
from .config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet
from .dataset import LabelledData, label_order, load_labelled
from .errors import ConfigError
from .metrics import Scores, score
from .models import DEFAULT_MODEL, EmotionClassifier, save_model
from .models.registry import check_available
from .paths import DEFAULT_MODEL_DIR, DEFAULT_STORE
from .splits import split_indices
from .store import FeatureStore

__all__ = ["TrainResult", "corpus_weights", "fit_classifier", "predict_rows", "train"]


def fit_classifier(
    data: LabelledData,
    rows: np.ndarray,
    *,
    model: str | ModelName = DEFAULT_MODEL,
    normalize_by: str | NormalizeBy | None = None,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    augmented: bool = True,
    labels: list[str] | None = None,
    balance_corpora: bool = True,
) -> tuple[EmotionClassifier, int]:
    """Fit a classifier on the recordings ``rows`` of ``data`` (and their perturbed copies).

    With ``balance_corpora`` and rows of several corpora, each row is weighted so that every
    corpus weighs the same in training, whatever its size (on top of the models' own class
    balancing); one corpus trains unweighted.

    Returns:
        The fitted classifier and the number of perturbed copies it trained on.
    """
    norm = choose(NormalizeBy, normalize_by, "normalize_by")
    if norm is NormalizeBy.FILE:  # a store row is one whole file: a group of one, normalized to zero
        raise ConfigError("normalize_by 'file' groups the segments of one recording when predicting; a recording "
                          "is one emotion in training data, so its group would be one label: train with actor, "
                          "folder or corpus groups")
    check_available(model)
    clf = EmotionClassifier(
        model, feature_config=data.config, feature_columns=data.columns,
        normalize_by=None if norm is NormalizeBy.NONE else norm, seed=seed, params=params,
    )
    t = data.training_rows(rows, norm, augmented=augmented)
    weights = corpus_weights(t.corpora) if balance_corpora else None
    clf.fit(t.X, t.y, groups=t.groups, copies=t.copies if t.n_augmented else None,
            labels=labels or label_order(data.y), sample_weight=weights)
    return clf, t.n_augmented


def corpus_weights(corpora: np.ndarray) -> np.ndarray | None:
    """Row weights that make each corpus weigh the same (mean 1); ``None`` for one corpus."""
    names, index, counts = np.unique(np.asarray(corpora, dtype=str), return_inverse=True, return_counts=True)
    if len(names) < 2:
        return None
    return (len(corpora) / (len(names) * counts))[index]


def predict_rows(clf: EmotionClassifier, data: LabelledData, rows: np.ndarray) -> np.ndarray:
    """Probabilities for the recordings ``rows``, grouped as the classifier was trained."""
    groups = data.groups(clf.normalization)
    return clf.predict_proba(data.X[rows], groups=None if groups is None else groups[rows])


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What ``train`` did: where the model is, on which rows, and how it scored on the rest."""

    model_dir: Path
    protocol: str
    rows_train: int
    rows_test: int
    augmented_rows: int
    scores: Scores | None
    history: dict[str, list[float]]

    def lines(self) -> list[str]:
        out = [self.protocol]
        if self.scores is not None:
            out.append(self.scores.headline())
        return out + [f"model saved to {self.model_dir}"]


def train(
    store: str | os.PathLike[str] | FeatureStore = DEFAULT_STORE,
    model_dir: str | os.PathLike[str] = DEFAULT_MODEL_DIR,
    *,
    model: str | ModelName = DEFAULT_MODEL,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    split: str | Split = Split.ACTOR,
    seed: int = 0,
    test_size: float = 0.2,
    normalize_by: str | NormalizeBy | None = None,
    params: dict[str, Any] | None = None,
    augmented: bool = True,
    balance_corpora: bool = True,
) -> TrainResult:
    """Train a model on the store's labelled rows and save it with its held-out scores.

    Speed-perturbed rows in the store (``featurize --augment``) join the training
    side of the split (never the held-out side) unless ``augmented`` is false.  ``store``
    may be several stores (corpora); with ``balance_corpora`` each corpus weighs the same.

    Writes into ``model_dir``: ``model.json`` + weights (see :mod:`semo_batch.models`),
    ``history.json`` for networks, ``split.json`` (which files trained and which were held
    out) and ``metrics.json`` (scores on the held-out rows; absent with ``split="none"``).
    """
    split = choose(Split, split, "split")
    norm = choose(NormalizeBy, normalize_by, "normalize_by")
    model = choose(ModelName, model, "model")
    check_available(model)  # a network without TensorFlow: one line before the store is read
    data = load_labelled(store, feature_set, augmented=augmented)
    tr, te = split_indices(data.y, data.speakers, split=split, seed=seed, test_size=test_size,
                           groups=np.asarray(data.paths))
    clf = EmotionClassifier(model)
    if split is Split.RANDOM and clf.spec.notebook_protocol:
        # The notebook fed Keras its rows in train_test_split's shuffled order (validation_split
        # takes the last 20% as they come); keep that rather than sorted order.
        tr = np.random.default_rng(seed).permutation(tr)
    clf, n_aug = fit_classifier(data, tr, model=model, normalize_by=norm, seed=seed, params=params, augmented=augmented,
                                balance_corpora=balance_corpora)
    out = save_model(clf, model_dir)
    split_info = {
        "split": split.value, "seed": seed, "test_size": test_size,
        "normalize_by": None if norm is NormalizeBy.NONE else norm.value,
        "store": data.store, "rows_train": int(len(tr)), "rows_test": int(len(te)), "augmented_rows_train": n_aug,
        "train_speakers": sorted({str(a) for a in data.speakers[tr]}),
        "test_speakers": sorted({str(a) for a in data.speakers[te]}),
        "train_paths": sorted(data.paths[i] for i in tr),
        "test_paths": [data.paths[i] for i in te],
    }
    (out / "split.json").write_text(json.dumps(split_info, indent=1))
    protocol = (
        f"{split.value} split ({len(tr)} train (+{n_aug} augmented) / {len(te)} test rows, seed {seed}), "
        f"model {model.value}, feature set {data.config.name} ({data.config.fingerprint()}) rows of {data.store}, "
        f"normalize_by {norm.value}"
    )
    scores = None
    if len(te):
        scores = score(data.y[te], predict_rows(clf, data, te), clf.labels_)
        (out / "metrics.json").write_text(json.dumps(scores.to_dict() | {"protocol": protocol}, indent=1))
    return TrainResult(model_dir=out, protocol=protocol if len(te) else f"trained on all {len(tr)} labelled rows "
                       f"(+{n_aug} augmented), model {model.value}, feature set {data.config.name}",
                       rows_train=int(len(tr)), rows_test=int(len(te)), augmented_rows=n_aug, scores=scores,
                       history=clf.history_)
