"""How well a model does on rows it never trained on: a saved model, or cross-validation.

``evaluate`` scores a saved model on a store's labelled rows *minus the rows
it was trained on* (its ``split.json``), so the figure it prints is a held-out
one; ``include_training=True`` scores every row, with a warning that says how
many of them the model has seen.  ``cross_validate`` fits one model per fold
through :func:`semo_batch.train.fit_classifier`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .choices import CVProtocol, ModelName, NormalizeBy, choose
from .config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet
from .dataset import LabelledData, label_order, load_labelled
from .errors import ModelError, StoreError
from .metrics import CVResult, FoldScores, Scores, score
from .models import DEFAULT_MODEL, load_model
from .models.registry import check_available
from .paths import DEFAULT_MODEL_DIR, DEFAULT_STORE
from .splits import cv_folds
from .store import FeatureStore
from .train import fit_classifier, predict_rows

__all__ = ["EvalResult", "evaluate", "cross_validate", "training_paths"]


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """A saved model's scores on a store, and which rows were scored.

    Attributes:
        protocol: one line: the model, the rows scored and the rows left out.
        scores: the scores.
        rows_scored: labelled rows scored.
        training_rows_scored: how many of those the model was trained on (0 unless
            ``include_training``).
        training_rows_excluded: labelled rows left out because the model trained on them.
    """

    protocol: str
    scores: Scores
    rows_scored: int
    training_rows_scored: int
    training_rows_excluded: int

    @property
    def warning(self) -> str | None:
        if not self.training_rows_scored:
            return None
        return (f"warning: {self.training_rows_scored} of the {self.rows_scored} rows scored were used to train "
                "this model; this is not a held-out figure")

    def lines(self) -> list[str]:
        return [self.protocol, self.scores.headline()]

    def to_dict(self) -> dict[str, Any]:
        return self.scores.to_dict() | {
            "protocol": self.protocol, "rows_scored": self.rows_scored,
            "training_rows_scored": self.training_rows_scored, "training_rows_excluded": self.training_rows_excluded,
        }


def training_paths(model_dir: str | os.PathLike[str], data: LabelledData) -> set[str]:
    """The files of ``data`` that the model in ``model_dir`` was trained on, from its ``split.json``.

    A model whose ``split.json`` lists its training files (every model trained by this
    version) is matched by path on any store; an older one only on its own store, where
    its training files are the labelled rows it did not hold out.

    Raises:
        ModelError: ``split.json`` is missing or unreadable (the training rows are unknown).
    """
    path = Path(model_dir) / "split.json"
    try:
        split = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot tell which rows the model trained on ({type(exc).__name__}); "
                         "use evaluate --include-training to score every row anyway") from None
    if isinstance(split.get("train_paths"), list):
        return set(split["train_paths"]) & set(data.paths)
    if split.get("store") == data.store:
        held_out = set(split.get("test_paths") or [])
        return {p for p in data.paths if p not in held_out}
    return set()


def evaluate(
    store: str | os.PathLike[str] | FeatureStore = DEFAULT_STORE,
    model_dir: str | os.PathLike[str] = DEFAULT_MODEL_DIR,
    *,
    normalize_by: str | NormalizeBy | None = None,
    include_training: bool = False,
) -> EvalResult:
    """Score a saved model on the labelled rows of a store (of the model's own feature set)
    that it was not trained on.

    Args:
        normalize_by: for a model trained with speaker normalization, how rows are grouped
            here (default: as at training time).
        include_training: score every labelled row, training rows included (the result
            carries a warning with their number).

    Raises:
        StoreError: no labelled rows, or none left once the training rows are removed.
        ModelError: the model cannot be loaded, or its training rows cannot be known.
    """
    clf = load_model(model_dir)
    data = load_labelled(store, clf.feature_config or DEFAULT_FEATURE_SET, augmented=False)
    try:
        seen = training_paths(model_dir, data)
    except ModelError:
        if not include_training:
            raise
        seen = set()
    keep = np.isin(data.y, clf.labels_)
    if not include_training:
        keep &= np.array([p not in seen for p in data.paths])
    if not keep.any():
        raise StoreError(
            f"{data.store}: every labelled row was used to train {model_dir} ({len(seen)} rows); nothing is held out. "
            "Score it on another store, cross-validate with --cv, or use --include-training"
        )
    held = data.subset(keep)
    groups = None
    if clf.normalization is not NormalizeBy.NONE:
        by = choose(NormalizeBy, normalize_by, "normalize_by")
        groups = held.groups(clf.normalization if by is NormalizeBy.NONE else by)
    scores = score(held.y, clf.predict_proba(held.X, groups=groups), clf.labels_)
    if include_training:
        n_train = len(seen & set(held.paths))
        what = f"all {len(held)} labelled rows ({n_train} of them training rows)"
    else:
        n_train = 0
        what = f"{len(held)} held-out rows ({len(seen)} training rows left out)"
    return EvalResult(
        protocol=f"saved model {model_dir} on {what} of {data.store}",
        scores=scores, rows_scored=len(held), training_rows_scored=n_train,
        training_rows_excluded=0 if include_training else len(seen),
    )


def cross_validate(
    store: str | os.PathLike[str] | FeatureStore = DEFAULT_STORE,
    *,
    model: str | ModelName = DEFAULT_MODEL,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    cv: str | CVProtocol = CVProtocol.ACTOR,
    folds: int = 5,
    seed: int = 0,
    normalize_by: str | NormalizeBy | None = None,
    params: dict[str, Any] | None = None,
    data: LabelledData | None = None,
    augmented: bool = True,
    test_corpus: str | None = None,
    balance_corpora: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> CVResult:
    """K-fold cross-validation; ``cv="actor"`` keeps each actor in one fold (speaker-independent),
    ``cv="random"`` is stratified K-fold, ``cv="holdout"`` one stratified 80/20 split.

    Speed-perturbed rows, when the store has them and ``augmented``, are added to each
    training fold only.

    Args:
        store: a store, or several (corpora are put together; speakers never cross folds).
        data: rows already loaded (to share them between several runs).
        test_corpus: test only this corpus's speakers; every other corpus is in every
            training fold (RAVDESS folds with all of CREMA-D in training, say).
        balance_corpora: weight rows so that each corpus counts as much as any other in training.
        progress: called as ``progress(folds done, folds)``.

    Returns:
        Scores per fold, their mean and spread, and (pooled over folds) per corpus.
    """
    cv = choose(CVProtocol, cv, "cv")
    model = choose(ModelName, model, "model")
    check_available(model)  # a network without TensorFlow: one line before the store is read
    norm = choose(NormalizeBy, normalize_by, "normalize_by")
    data = data or load_labelled(store, feature_set, augmented=augmented)
    labels = label_order(data.y)
    testable = None if test_corpus is None else data.corpora == test_corpus
    splits = cv_folds(data.y, data.speakers, protocol=cv, folds=folds, seed=seed, testable=testable,
                      groups=np.asarray(data.paths))
    per_fold = []
    pooled = np.zeros((len(labels), len(labels)), dtype=np.int64)
    proba = np.full((len(data), len(labels)), np.nan)
    for i, (tr, te) in enumerate(splits):
        clf, _ = fit_classifier(data, tr, model=model, normalize_by=norm, seed=seed, params=params,
                                augmented=augmented, labels=labels, balance_corpora=balance_corpora)
        proba[te] = predict_rows(clf, data, te)
        s = score(data.y[te], proba[te], labels)
        pooled += np.asarray(s.confusion_matrix)
        per_fold.append(FoldScores(scores=s, test_speakers=sorted({str(a) for a in data.speakers[te]})))
        if progress is not None:
            progress(i + 1, len(splits))
    tested = ~np.isnan(proba[:, 0])
    by_corpus = {c: score(data.y[tested & (data.corpora == c)], proba[tested & (data.corpora == c)], labels)
                 for c in sorted(set(data.corpora[tested].tolist()))}
    how = {CVProtocol.HOLDOUT: "stratified random 80/20 split", CVProtocol.ACTOR: f"{folds}-fold by actor CV",
           CVProtocol.RANDOM: f"{folds}-fold stratified random CV"}[cv]
    protocol = (
        f"{how}, model {model.value}, feature set {data.config.name} ({data.config.fingerprint()}), "
        f"normalize_by {norm.value}, seed {seed}, {len(data.y)} rows"
        + (f" (+{data.n_augmented} speed-perturbed rows for training)" if augmented and data.n_augmented else "")
        + (f"; testing {test_corpus} speakers only, the other corpora always in training" if test_corpus else "")
    )
    predicted = np.asarray(labels, dtype=object)[np.nan_to_num(proba, nan=-1.0).argmax(axis=1)]
    return CVResult(protocol=protocol, folds=per_fold, labels=labels, confusion_matrix=pooled.tolist(),
                    by_corpus=by_corpus, predictions={data.paths[i]: predicted[i] for i in np.flatnonzero(tested)})
