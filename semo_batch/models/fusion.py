"""Late fusion: one classifier per block of columns (one per feature set), probabilities averaged.

With ``emo+whisper`` rows, a logistic regression on the 658 ``emo`` columns and one on
the 1024 ``whisper`` columns each vote with their probabilities; averaging them beat one
model on all 1682 columns by about a point on unseen RAVDESS speakers, since neither set's
width drowns the other's evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

__all__ = ["BlockFusion"]


class BlockFusion(ClassifierMixin, BaseEstimator):
    """A copy of ``estimator`` per column block; ``predict_proba`` is their mean.

    Args:
        estimator: an unfitted scikit-learn classifier with ``predict_proba``.
        blocks: ``(start, stop)`` column ranges, one per member.
    """

    def __init__(self, estimator: Any = None, blocks: Sequence[tuple[int, int]] = ()) -> None:
        self.estimator = estimator
        self.blocks = blocks

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> BlockFusion:
        X = np.asarray(X)
        blocks = [(int(a), int(b)) for a, b in self.blocks] or [(0, X.shape[1])]
        if any(not 0 <= a < b <= X.shape[1] for a, b in blocks):
            raise ValueError(f"blocks {blocks} do not fit {X.shape[1]} columns")
        kw = {} if sample_weight is None else {"sample_weight": sample_weight}
        self.estimators_ = [clone(self.estimator).fit(X[:, a:b], y, **kw) for a, b in blocks]
        self.blocks_ = blocks
        self.classes_ = self.estimators_[0].classes_
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        return np.mean([e.predict_proba(X[:, a:b]) for e, (a, b) in zip(self.estimators_, self.blocks_)], axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
