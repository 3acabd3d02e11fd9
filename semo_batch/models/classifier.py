"""The emotion classifier: speaker normalization -> standardizer -> estimator.

:class:`EmotionClassifier` follows the scikit-learn contract: ``__init__``
stores its parameters untouched (so ``get_params`` and
:func:`sklearn.base.clone` work), ``fit`` validates them, learns state whose
names end in ``_`` and returns ``self``, and ``predict``/``predict_proba`` check
that it was fitted.  What differs between models is read from their
:class:`~semo_batch.models.registry.ModelSpec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..choices import ModelName, NormalizeBy, choose
from ..config import FeatureConfig
from ..errors import ModelError
from .normalize import Standardizer, normalize_groups
from .registry import DEFAULT_MODEL, ModelSpec, get_spec

__all__ = ["EmotionClassifier"]

ArrayLike = Sequence[Any] | np.ndarray


class EmotionClassifier(ClassifierMixin, BaseEstimator):
    """Speaker normalization -> standardizer -> the estimator of ``model``.

    Args:
        model: a :class:`~semo_batch.choices.ModelName` (or its name).
        feature_config: the features the model consumes (its fingerprint is saved with it).
        feature_columns: their column names, in order.
        normalize_by: a :class:`~semo_batch.choices.NormalizeBy`: ``none`` (or ``None``), or
            the grouping used to z-score features per speaker at training time; predictions
            then need groups too.
        seed: random seed of the estimator or network.
        params: estimator parameters (``C``, ``gamma``, ``hidden``, ``alpha``, ``epochs``,
            ``members``).
    """

    def __init__(
        self,
        model: str | ModelName = DEFAULT_MODEL,
        *,
        feature_config: FeatureConfig | None = None,
        feature_columns: Sequence[str] = (),
        normalize_by: str | NormalizeBy | None = None,
        seed: int = 0,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.feature_config = feature_config
        self.feature_columns = feature_columns
        self.normalize_by = normalize_by
        self.seed = seed
        self.params = params

    # -- validated views of the parameters ------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        return get_spec(self.model)

    @property
    def normalization(self) -> NormalizeBy:
        """The speaker normalization this model was (or will be) trained with."""
        return choose(NormalizeBy, self.normalize_by, "normalize_by")

    @property
    def model_name(self) -> ModelName:
        return self.spec.name

    def _params(self) -> dict[str, Any]:
        return dict(self.params or {})

    def _blocks(self) -> list[tuple[int, int]]:
        """Column ranges of the feature set's parts (the whole row for a plain set)."""
        from .. import features

        parts = (self.feature_config.parts if self.feature_config is not None else None) or ()
        sizes = [len(features.names(p)) for p in parts] or [len(self.feature_columns)]
        edges = np.cumsum([0, *sizes])
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    # -- learning --------------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: ArrayLike,
        *,
        groups: ArrayLike | None = None,
        copies: ArrayLike | None = None,
        labels: Sequence[str] | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> EmotionClassifier:
        """Learn from features ``X`` [shape=(n, k)] and label strings ``y`` [shape=(n,)].

        Args:
            groups: the speaker (or other group) of each row; required with ``normalize_by``,
                and used to hold whole speakers out for a network's validation set.
            copies: which copy of its recording each row is (``""`` for the recording, any
                other key for a speed or channel copy); each copy of a speaker is normalized
                as a voice of its own.
            labels: the label vocabulary in order (default: the sorted labels of ``y``).
            sample_weight: a weight per row (corpus balancing), on top of the model's own
                class balancing.

        Raises:
            ModelError: the shapes do not match, or groups are missing for normalization.
            ConfigError: an unknown model or normalization.
        """
        spec = self.spec
        norm = self.normalization
        X = np.asarray(X, dtype=np.float64)
        y_arr = np.asarray(y, dtype=object)
        if X.ndim != 2 or X.shape[1] != len(self.feature_columns) or len(y_arr) != len(X):
            raise ModelError(
                f"expected {len(self.feature_columns)} feature columns and one label per row, "
                f"got features of shape {X.shape} and {len(y_arr)} labels"
            )
        self.labels_ = list(labels) if labels is not None else sorted(set(y_arr.tolist()))
        index = {lab: i for i, lab in enumerate(self.labels_)}
        yi = np.array([index[v] for v in y_arr])
        if norm is not NormalizeBy.NONE:
            if groups is None:
                raise ModelError(f"normalize_by={norm.value!r} needs the group of every row")
            Xn = normalize_groups(X, self._voices(groups, copies))
        else:
            Xn = X
        self.scaler_ = Standardizer().fit(Xn)
        Xs = self.scaler_.transform(Xn) if spec.scaled_inputs else Xn.astype(np.float32)
        est = spec.make(self.seed, self._params() | ({"blocks": self._blocks()} if spec.per_part else {}))
        self.history_: dict[str, list[float]] = {}
        if spec.is_network:
            self._fit_network(est, Xs, yi, groups)
            self.history_ = est.history_
        elif sample_weight is not None:
            est.fit(Xs, yi, sample_weight=np.asarray(sample_weight, dtype=np.float64))
        else:
            est.fit(Xs, yi)
        self.estimator_ = est
        return self

    @staticmethod
    def _voices(groups: ArrayLike, copies: ArrayLike | None) -> np.ndarray:
        """Normalization key per row: the group, and which copy the row is when there are copies."""
        g = np.asarray(groups, dtype=object)
        if copies is None:
            return g
        keys = list(zip(g.tolist(), np.asarray(copies, dtype=object).tolist()))
        ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
        return np.array([ids[k] for k in keys], dtype=np.int64)

    def _fit_network(self, net: Any, Xs: np.ndarray, yi: np.ndarray, groups: ArrayLike | None) -> None:
        spec, n_classes = self.spec, len(self.labels_)
        weights = None
        if spec.class_weights:
            counts = np.bincount(yi, minlength=n_classes)
            weights = {i: len(yi) / (len(counts) * max(c, 1)) for i, c in enumerate(counts)}
        speakers = None if groups is None else np.array([str(g) for g in np.asarray(groups, dtype=object)])
        if spec.speaker_validation and speakers is not None and len(set(speakers.tolist())) >= 4:
            from sklearn.model_selection import GroupShuffleSplit

            # Early stopping watches speakers held out of training, perturbed copies included.
            tr, va = next(GroupShuffleSplit(1, test_size=0.15, random_state=self.seed).split(Xs, yi, speakers))
            net.fit(Xs[tr], yi[tr], n_classes=n_classes, class_weight=weights, validation=(Xs[va], yi[va]))
        else:
            net.fit(Xs, yi, n_classes=n_classes, class_weight=weights)

    # -- predicting ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise ModelError("This EmotionClassifier instance is not fitted yet. Call 'fit' first.")

    def _prepare(self, X: np.ndarray, groups: ArrayLike | None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        norm = self.normalization
        if norm is not NormalizeBy.NONE:
            if groups is None:
                raise ModelError(
                    f"this model was trained with features normalized per {norm.value}; "
                    "give groups (predict --normalize-by actor|folder|batch)"
                )
            X = normalize_groups(X, groups)
        if self.spec.scaled_inputs:
            return self.scaler_.transform(X)
        return X.astype(np.float32)

    def predict_proba(self, X: np.ndarray, *, groups: ArrayLike | None = None) -> np.ndarray:
        """Class probabilities [shape=(n, len(labels_))], rows summing to 1."""
        self._check_fitted()
        est: Any = self.estimator_
        proba = np.asarray(est.predict_proba(self._prepare(X, groups)), dtype=np.float64)
        if proba.shape[1] != len(self.labels_):  # a class absent from training
            full = np.zeros((proba.shape[0], len(self.labels_)))
            full[:, np.asarray(est.classes_)] = proba
            proba = full
        return proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)

    def predict(self, X: np.ndarray, *, groups: ArrayLike | None = None) -> np.ndarray:
        """Predicted label strings [shape=(n,)]."""
        proba = self.predict_proba(X, groups=groups)
        return np.asarray(self.labels_, dtype=object)[proba.argmax(axis=1)]

    @property
    def classes_(self) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self.labels_, dtype=object)
