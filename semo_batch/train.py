"""Store -> model: load labelled rows with polars, split, train, score, cross-validate."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from . import features
from .config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet, get_config
from .errors import ConfigError, StoreError
from .models import DEFAULT_MODEL, EmotionClassifier, load_model
from .models.normalize import group_keys
from .naming import EMOTIONS
from .store import FeatureStore

__all__ = [
    "SPLITS",
    "LabelledData",
    "load_labelled",
    "split_indices",
    "score",
    "train",
    "evaluate",
    "cross_validate",
]

#: ``random``: stratified 80/20; ``actor``: whole actors held out; ``none``: train on everything.
SPLITS = ("random", "actor", "none")


@dataclasses.dataclass
class LabelledData:
    """Labelled rows of one feature configuration."""

    X: np.ndarray
    y: np.ndarray
    actors: np.ndarray
    paths: list[str]
    roots: list[str]
    columns: list[str]
    config: FeatureConfig
    store: str
    aug_X: np.ndarray | None = None
    aug_parent: np.ndarray | None = None
    aug_factor: np.ndarray | None = None

    @property
    def n_augmented(self) -> int:
        return 0 if self.aug_X is None else len(self.aug_X)

    def training_rows(
        self, idx: np.ndarray, by: str | None, *, augmented: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features, labels and group keys for training on rows ``idx`` plus their speed perturbations.

        Each perturbation of a speaker is its own group (a new virtual voice), both for
        speaker normalization and for the network's speaker-held-out validation set.
        """
        groups = self.groups(by)
        base: np.ndarray = groups if groups is not None else self.actors
        keys = np.array([f"{g}" for g in base[idx]], dtype=object)
        if not self.n_augmented or not augmented:
            return self.X[idx], self.y[idx], keys
        assert self.aug_parent is not None and self.aug_X is not None and self.aug_factor is not None
        sel = np.flatnonzero(np.isin(self.aug_parent, idx))
        parents = self.aug_parent[sel]
        aug_keys = np.array([f"{g}@{f:g}" for g, f in zip(base[parents], self.aug_factor[sel])], dtype=object)
        return (
            np.vstack([self.X[idx], self.aug_X[sel]]),
            np.concatenate([self.y[idx], self.y[parents]]),
            np.concatenate([keys, aug_keys]),
        )

    def groups(self, by: str | None) -> np.ndarray | None:
        """Group key per row for speaker normalization: ``actor``, ``folder`` (parent folder) or ``batch``."""
        if by in (None, "none"):
            return None
        return group_keys(self.paths, by, self.actors)


def _resolve_config(feature_set: str | FeatureSet | FeatureConfig) -> FeatureConfig:
    return feature_set if isinstance(feature_set, FeatureConfig) else get_config(feature_set)


def load_labelled(
    store: str | os.PathLike[str] | FeatureStore,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    *,
    actors: Sequence[int] | None = None,
    augmented: bool = True,
) -> LabelledData:
    """Rows of ``store`` for ``feature_set`` that carry an emotion label (lazy polars scan).

    Args:
        actors: keep only these actors (``None``: all).
        augmented: also load the speed-perturbed rows (for training only), if the store has them.

    Raises:
        StoreError: no labelled rows.
    """
    fs = store if isinstance(store, FeatureStore) else FeatureStore(store)
    config = _resolve_config(feature_set)
    columns = features.names(config)
    lf = fs.scan(config, augmented=augmented).filter(pl.col("emotion").is_not_null())
    if actors is not None:
        lf = lf.filter(pl.col("actor").is_in(list(actors)))
    both = lf.select("path", "root", "emotion", "actor", "augment", *columns).collect()
    df = both.filter(pl.col("augment") == 1.0)
    if df.height == 0:
        raise StoreError(f"{fs.path}: no labelled rows (file names with a parsed emotion) for feature set {config.name!r}")
    aug = both.filter(pl.col("augment") != 1.0)
    extra: dict[str, Any] = {}
    if aug.height:
        index = {p: i for i, p in enumerate(df["path"].to_list())}
        aug = aug.filter(pl.col("path").is_in(list(index)))
        extra = {
            "aug_X": aug.select(columns).to_numpy().astype(np.float64),
            "aug_parent": np.array([index[p] for p in aug["path"].to_list()], dtype=np.int64),
            "aug_factor": aug["augment"].to_numpy().astype(np.float64),
        }
    return LabelledData(
        X=df.select(columns).to_numpy().astype(np.float64),
        y=df["emotion"].to_numpy().astype(object),
        actors=df["actor"].fill_null(-1).to_numpy().astype(np.int64),
        paths=df["path"].to_list(),
        roots=df["root"].to_list(),
        columns=columns,
        config=config,
        store=str(fs.path),
        **extra,
    )


def split_indices(
    y: np.ndarray, actors: np.ndarray, *, split: str, seed: int, test_size: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices.

    ``random`` is stratified by label; ``actor`` holds out ``test_size`` of the actors
    whole, so no speaker is on both sides; ``none`` puts every row in training.
    """
    idx = np.arange(len(y))
    if split == "none":
        return idx, idx[:0]
    if split == "random":
        from sklearn.model_selection import train_test_split

        tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=y)
        return np.sort(tr), np.sort(te)
    if split == "actor":
        uniq = np.unique(actors)
        if len(uniq) < 2 or np.any(actors < 0):
            raise ConfigError("--split actor needs at least two actors parsed from the file names")
        rng = np.random.default_rng(seed)
        n_test = max(1, int(round(test_size * len(uniq))))
        test_actors = rng.choice(uniq, size=n_test, replace=False)
        mask = np.isin(actors, test_actors)
        return idx[~mask], idx[mask]
    raise ConfigError(f"The split must be one of {set(SPLITS)}. Got {split!r} instead.")


def score(y_true: Sequence[str] | np.ndarray, proba: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, unweighted average recall (UAR), macro-F1, per-class report, confusion matrix,
    and calibration of the probabilities (multi-class Brier score, expected calibration error)."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        classification_report,
        confusion_matrix,
        f1_score,
    )

    labels = list(labels)
    truth = np.asarray(y_true, dtype=object)
    pred = np.asarray(labels, dtype=object)[np.asarray(proba).argmax(axis=1)]
    index = {lab: i for i, lab in enumerate(labels)}
    yi = np.array([index[v] for v in truth])
    onehot = np.eye(len(labels))[yi]
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == yi).astype(float)
    bins = np.minimum((conf * 15).astype(int), 14)
    ece = sum(abs(correct[bins == b].mean() - conf[bins == b].mean()) * (bins == b).mean() for b in range(15) if (bins == b).any())
    present = [lab for lab in labels if lab in set(truth.tolist())]
    return {
        "n": int(len(truth)),
        "accuracy": float(accuracy_score(truth, pred)),
        "uar": float(balanced_accuracy_score(truth, pred)),
        "macro_f1": float(f1_score(truth, pred, labels=present, average="macro", zero_division=0)),
        "brier": float(np.mean(np.sum((proba - onehot) ** 2, axis=1))),
        "ece": float(ece),
        "labels": labels,
        "confusion_matrix": confusion_matrix(truth, pred, labels=labels).tolist(),
        "report": classification_report(truth, pred, labels=labels, output_dict=True, zero_division=0),
    }


def _labels_for(y: np.ndarray) -> list[str]:
    present = set(y.tolist())
    known = [e for e in EMOTIONS if e in present]
    return known + sorted(present - set(known))


def train(
    store: str | os.PathLike[str] | FeatureStore = "semo-store",
    model_dir: str | os.PathLike[str] = "semo-model",
    *,
    model: str = DEFAULT_MODEL,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    split: str = "actor",
    seed: int = 0,
    test_size: float = 0.2,
    normalize_by: str | None = None,
    params: dict[str, Any] | None = None,
    plots: bool = True,
    augmented: bool = True,
) -> dict[str, Any]:
    """Train a model on the store's labelled rows and save it with its held-out metrics.

    Speed-perturbed rows in the store (``featurize --augment``) join the training
    side of the split (never the held-out side) unless ``augmented`` is false.

    Writes into ``model_dir``: ``model.json`` + weights (see :mod:`semo_batch.models`),
    ``history.json`` for networks, ``split.json`` (which files were held out) and
    ``metrics.json`` (scores on the held-out rows; absent with ``split="none"``),
    and, when ``plots``, the confusion matrix, per-class bars and training curves.

    Returns:
        The metrics dict (``{}`` with ``split="none"``) plus ``rows_train``/``rows_test``.
    """
    data = load_labelled(store, feature_set, augmented=augmented)
    tr, te = split_indices(data.y, data.actors, split=split, seed=seed, test_size=test_size)
    if split == "random" and model == "seed-dnn":
        # The notebook fed Keras its rows in train_test_split's shuffled order (validation_split
        # takes the last 20% as they come); keep that rather than sorted order.
        tr = np.random.default_rng(seed).permutation(tr)
    groups = data.groups(normalize_by)
    clf = EmotionClassifier(
        model, feature_config=data.config, feature_columns=data.columns, normalize_by=normalize_by, seed=seed,
        params=params,
    )
    Xtr, ytr, gtr = data.training_rows(tr, normalize_by, augmented=augmented)
    clf.fit(Xtr, ytr, groups=gtr, labels=_labels_for(data.y))
    out = Path(model_dir)
    clf.save(out)
    split_info = {
        "split": split, "seed": seed, "test_size": test_size, "normalize_by": normalize_by,
        "store": data.store, "rows_train": int(len(tr)), "rows_test": int(len(te)),
        "augmented_rows_train": int(len(ytr) - len(tr)),
        "train_actors": sorted({int(a) for a in data.actors[tr]}),
        "test_actors": sorted({int(a) for a in data.actors[te]}),
        "test_paths": [data.paths[i] for i in te],
    }
    (out / "split.json").write_text(json.dumps(split_info, indent=1))
    metrics: dict[str, Any] = {}
    if len(te):
        proba = clf.predict_proba(data.X[te], groups=groups[te] if groups is not None else None)
        metrics = score(data.y[te], proba, clf.labels_)
        metrics["protocol"] = (
            f"{split} split ({len(tr)} train (+{len(ytr) - len(tr)} augmented) / {len(te)} test rows, seed {seed}), "
            f"model {model}, feature set {data.config.name} ({data.config.fingerprint()}) rows of {data.store}, normalize_by {normalize_by or 'none'}"
        )
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    if plots:
        _write_plots(out, metrics, clf.history_)
    return {**metrics, "rows_train": int(len(tr)), "rows_test": int(len(te))}


def _write_plots(out: Path, metrics: dict[str, Any], history: dict[str, list[float]]) -> None:
    try:
        from . import plots
    except ImportError:  # pragma: no cover - plots are part of the package
        return
    if history:
        plots.plot_training_curves(history, out / "training_curves.png")
    if metrics:
        plots.plot_confusion_matrix(np.asarray(metrics["confusion_matrix"]), metrics["labels"], out / "confusion_matrix.png")
        plots.plot_per_class(
            {k: v for k, v in metrics["report"].items() if k in metrics["labels"]}, out / "per_class.png"
        )


def evaluate(
    store: str | os.PathLike[str] | FeatureStore = "semo-store",
    model_dir: str | os.PathLike[str] = "semo-model",
    *,
    normalize_by: str | None = None,
    actors: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Score a saved model on the labelled rows of a store (of the model's own feature set)."""
    clf = load_model(model_dir)
    data = load_labelled(store, clf.feature_config, actors=actors, augmented=False)
    by = normalize_by or clf.normalize_by
    proba = clf.predict_proba(data.X, groups=data.groups(by) if clf.normalize_by else None)
    known = np.isin(data.y, clf.labels_)
    metrics = score(data.y[known], proba[known], clf.labels_)
    metrics["protocol"] = f"saved model {model_dir} on {int(known.sum())} labelled rows of {data.store}"
    return metrics


def cross_validate(
    store: str | os.PathLike[str] | FeatureStore = "semo-store",
    *,
    model: str = DEFAULT_MODEL,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    cv: str = "actor",
    folds: int = 5,
    seed: int = 0,
    normalize_by: str | None = None,
    params: dict[str, Any] | None = None,
    data: LabelledData | None = None,
    augmented: bool = True,
) -> dict[str, Any]:
    """K-fold cross-validation; ``cv="actor"`` keeps each actor in one fold (speaker-independent),
    ``cv="random"`` is stratified K-fold, ``cv="holdout"`` one stratified 80/20 split.

    Speed-perturbed rows, when the store has them and ``augmented``, are added to each
    training fold only.

    Returns:
        ``folds`` (per-fold scores), ``mean``/``std`` of accuracy, UAR, macro-F1, Brier and
        ECE over folds, and the pooled confusion matrix.
    """
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    data = data or load_labelled(store, feature_set, augmented=augmented)
    labels = _labels_for(data.y)
    if cv == "actor":
        n_actors = len(np.unique(data.actors))
        if folds > n_actors:
            raise ConfigError(f"--folds {folds} is more than the {n_actors} actors in the store")
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = list(splitter.split(data.X, data.y, data.actors))
    elif cv == "random":
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(data.X, data.y))
    elif cv == "holdout":
        splits = [split_indices(data.y, data.actors, split="random", seed=seed)]
    else:
        raise ConfigError(f"The cv value must be one of {{'actor', 'random', 'holdout'}}. Got {cv!r} instead.")
    groups = data.groups(normalize_by)
    per_fold = []
    pooled = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for tr, te in splits:
        clf = EmotionClassifier(
            model, feature_config=data.config, feature_columns=data.columns, normalize_by=normalize_by, seed=seed,
            params=params,
        )
        Xtr, ytr, gtr = data.training_rows(tr, normalize_by, augmented=augmented)
        clf.fit(Xtr, ytr, groups=gtr, labels=labels)
        proba = clf.predict_proba(data.X[te], groups=groups[te] if groups is not None else None)
        s = score(data.y[te], proba, labels)
        pooled += np.asarray(s["confusion_matrix"])
        per_fold.append({k: s[k] for k in ("n", "accuracy", "uar", "macro_f1", "brier", "ece")}
                        | {"test_actors": sorted({int(a) for a in data.actors[te]})})
    keys = ("accuracy", "uar", "macro_f1", "brier", "ece")
    return {
        "protocol": ("stratified random 80/20 split" if cv == "holdout" else
                     f"{folds}-fold {'by actor' if cv == 'actor' else 'stratified random'} CV") + f", model {model}, "
        f"feature set {data.config.name} ({data.config.fingerprint()}), normalize_by {normalize_by or 'none'}, seed {seed}, {len(data.y)} rows"
        + (f" (+{data.n_augmented} speed-perturbed rows for training)" if augmented and data.n_augmented else ""),
        "folds": per_fold,
        "mean": {k: float(np.mean([f[k] for f in per_fold])) for k in keys},
        "std": {k: float(np.std([f[k] for f in per_fold])) for k in keys},
        "labels": labels,
        "confusion_matrix": pooled.tolist(),
    }
