"""Feature scaling: per-speaker (or any group) z-scoring, then a global standardizer.

Both are plain arrays saved as JSON, so a model directory needs no pickle.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..choices import NormalizeBy, choose
from ..errors import ConfigError
from ..naming import parse_name

__all__ = ["Standardizer", "normalize_groups", "group_keys"]

_EPS = 1e-6


class Standardizer:
    """z-score each column with statistics learned on the training split only."""

    def fit(self, X: np.ndarray) -> Standardizer:
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std < _EPS, 1.0, std)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean_) / self.scale_).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], n_features: int) -> Standardizer:
        self = cls()
        self.mean_ = np.asarray(d["mean"], dtype=np.float64)
        self.scale_ = np.asarray(d["scale"], dtype=np.float64)
        if self.mean_.shape != (n_features,) or self.scale_.shape != (n_features,):
            raise ValueError(f"scaler has {self.mean_.shape} values for {n_features} features")
        return self


def group_keys(
    paths: Sequence[str],
    by: str | NormalizeBy,
    speakers: Sequence[str] | np.ndarray | None = None,
    corpora: Sequence[str] | np.ndarray | None = None,
) -> np.ndarray:
    """The speaker group of each file for normalization.

    Args:
        paths: the files.
        by: ``actor`` (the speaker named by the file name, or given as ``speakers``),
            ``folder`` (each parent folder is one speaker), ``corpus`` (the corpus its name
            gives, or ``corpora``), ``batch`` (all files together) or ``file`` (each path is
            a group: for the segments of long recordings, one row per segment).
        speakers: speakers already known (``""`` where unknown).
        corpora: corpora already known (``""`` where unknown).

    Raises:
        ConfigError: ``none``, or ``actor`` for a file whose name does not name its speaker.
    """
    by = choose(NormalizeBy, by, "normalize_by")
    if by is NormalizeBy.BATCH:
        return np.zeros(len(paths), dtype=np.int64)
    if by is NormalizeBy.FOLDER:
        return np.array([os.path.dirname(p) for p in paths], dtype=object)
    if by is NormalizeBy.FILE:  # the rows are segments of recordings: one recording, one group
        return np.array(list(paths), dtype=object)
    if by in (NormalizeBy.ACTOR, NormalizeBy.CORPUS):
        given = speakers if by is NormalizeBy.ACTOR else corpora
        if given is None:
            labels = [parse_name(p) for p in paths]
            given = [(label.speaker if by is NormalizeBy.ACTOR else label.corpus) if label else "" for label in labels]
        out = np.asarray(given, dtype=object)
        unknown = np.flatnonzero(out == "")
        if unknown.size:
            what = "speaker" if by is NormalizeBy.ACTOR else "corpus"
            raise ConfigError(f"{paths[int(unknown[0])]}: --normalize-by {by.value} needs file names that name the {what} "
                              "(RAVDESS, CREMA-D, TESS, EmoDB, SAVEE); use folder or batch")
        return out
    raise ConfigError("normalize_by 'none' has no groups")


def normalize_groups(X: np.ndarray, groups: Sequence[Any] | np.ndarray) -> np.ndarray:
    """z-score every column within each group (speaker normalization).

    Args:
        X: features [shape=(n, k)].
        groups: a group key per row (actor, folder, ...); rows of a one-file group
            are centred but not scaled.

    Returns:
        float64 [shape=(n, k)].
    """
    X = np.asarray(X, dtype=np.float64)
    g = np.asarray(groups, dtype=object)
    out = np.empty_like(X)
    for key in dict.fromkeys(g.tolist()):
        idx = np.flatnonzero(g == key)
        block = X[idx]
        mu = block.mean(axis=0)
        sd = block.std(axis=0) if len(idx) > 1 else np.ones(X.shape[1])
        out[idx] = (block - mu) / np.where(sd < _EPS, 1.0, sd)
    return out
