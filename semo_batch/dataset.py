"""Labelled rows from the store, as arrays: features, labels, speakers, perturbed copies.

:class:`LabelledData` is what training, evaluation and cross-validation work
on.  Speakers and perturbed copies (speed, channel) are explicit arrays, never parsed
back out of strings.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np
import polars as pl

from . import features
from .choices import NormalizeBy, choose
from .config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet, get_config
from .errors import StoreError
from .models.normalize import group_keys
from .naming import EMOTIONS
from .store import FeatureStore

__all__ = ["LabelledData", "TrainingRows", "load_labelled", "label_order"]


@dataclasses.dataclass(frozen=True)
class TrainingRows:
    """Rows to fit on: the chosen recordings and their perturbed copies.

    Attributes:
        X: features [shape=(n, k)].
        y: label strings [shape=(n,)].
        groups: speaker (or normalization group) of each row [shape=(n,)].
        copies: which copy each row is: ``""`` for the recording, ``"x0.9"`` for a speed
            perturbation, ``"random:1"`` for a channel copy [shape=(n,)].
        corpora: corpus of each row [shape=(n,)].
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    copies: np.ndarray
    corpora: np.ndarray

    @property
    def n_augmented(self) -> int:
        return int(np.count_nonzero(self.copies != ""))


@dataclasses.dataclass
class LabelledData:
    """Labelled rows of one feature configuration.

    Attributes:
        X: features of the recordings [shape=(n, k)], float64.
        y: their labels [shape=(n,)].
        speakers: corpus-qualified speaker of each recording (``"ravdess:12"``), ``""`` where
            unknown [shape=(n,)].
        corpora: corpus of each recording (``"ravdess"``), ``""`` where unknown [shape=(n,)].
        paths: the recordings' paths.
        columns: the feature column names.
        config: the feature configuration.
        store: the store they came from.
        aug_X: features of perturbed copies [shape=(m, k)] (training only).
        aug_parent: index into the recordings of each copy's original [shape=(m,)].
        aug_copy: which copy each is (``"x0.9"``, ``"random:1"``) [shape=(m,)].
    """

    X: np.ndarray
    y: np.ndarray
    speakers: np.ndarray
    paths: list[str]
    columns: list[str]
    config: FeatureConfig
    store: str
    corpora: np.ndarray = dataclasses.field(default_factory=lambda: np.array([], dtype=object))
    aug_X: np.ndarray | None = None
    aug_parent: np.ndarray | None = None
    aug_copy: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.corpora) != len(self.y):
            self.corpora = np.array([str(s).split(":", 1)[0] if s else "" for s in self.speakers], dtype=object)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_augmented(self) -> int:
        return 0 if self.aug_X is None else len(self.aug_X)

    def groups(self, by: str | NormalizeBy | None) -> np.ndarray | None:
        """Group key per recording for speaker normalization (``None`` for ``none``)."""
        norm = choose(NormalizeBy, by, "normalize_by")
        if norm is NormalizeBy.NONE:
            return None
        return group_keys(self.paths, norm, self.speakers, self.corpora)

    def training_rows(self, idx: np.ndarray, by: str | NormalizeBy | None, *, augmented: bool = True) -> TrainingRows:
        """The recordings ``idx`` and (when ``augmented``) their speed-perturbed copies.

        Each row's group is its normalization group under ``by``, or its speaker when
        ``by`` is ``none`` (what a network holds out for early stopping).
        """
        g = self.groups(by)
        base: np.ndarray = g if g is not None else self.speakers
        idx = np.asarray(idx, dtype=np.int64)
        X, y, groups, corpora = self.X[idx], self.y[idx], base[idx], self.corpora[idx]
        copies = np.full(len(idx), "", dtype=object)
        if augmented and self.n_augmented:
            assert self.aug_X is not None and self.aug_parent is not None and self.aug_copy is not None
            sel = np.flatnonzero(np.isin(self.aug_parent, idx))
            parents = self.aug_parent[sel]
            X = np.vstack([X, self.aug_X[sel]])
            y = np.concatenate([y, self.y[parents]])
            groups = np.concatenate([groups, base[parents]])
            corpora = np.concatenate([corpora, self.corpora[parents]])
            copies = np.concatenate([copies, self.aug_copy[sel]])
        return TrainingRows(X=X, y=y, groups=groups, copies=copies, corpora=corpora)

    def select(self, keep: np.ndarray) -> LabelledData:
        """The recordings where ``keep`` is true, with their perturbed copies (for training)."""
        keep = np.asarray(keep, dtype=bool)
        out = self.subset(keep)
        if self.n_augmented:
            assert self.aug_X is not None and self.aug_parent is not None and self.aug_copy is not None
            new_index = np.cumsum(keep) - 1
            sel = keep[self.aug_parent]
            out.aug_X, out.aug_parent, out.aug_copy = self.aug_X[sel], new_index[self.aug_parent[sel]], self.aug_copy[sel]
        return out

    def subset(self, keep: np.ndarray) -> LabelledData:
        """The recordings where ``keep`` is true (without perturbed copies: for scoring)."""
        keep = np.asarray(keep, dtype=bool)
        return LabelledData(
            X=self.X[keep], y=self.y[keep], speakers=self.speakers[keep],
            paths=[p for p, k in zip(self.paths, keep) if k], columns=self.columns, config=self.config,
            store=self.store, corpora=self.corpora[keep],
        )


def label_order(y: np.ndarray) -> list[str]:
    """The labels present in ``y``: the known emotions in vocabulary order, then any others sorted."""
    present = set(np.asarray(y, dtype=object).tolist())
    known = [e for e in EMOTIONS if e in present]
    return known + sorted(present - set(known))


def _speaker_columns() -> list[pl.Expr]:
    """``speaker`` and ``corpus``, filled in for rows stored before they existed (RAVDESS actors)."""
    ravdess = pl.col("actor").is_not_null()
    speaker = pl.coalesce(
        pl.col("speaker"),
        pl.when(ravdess).then(pl.lit("ravdess:") + pl.col("actor").cast(pl.String).str.zfill(2)),
        pl.lit(""),
    )
    corpus = pl.coalesce(pl.col("corpus"), pl.when(ravdess).then(pl.lit("ravdess")), pl.lit(""))
    return [speaker.alias("speaker"), corpus.alias("corpus")]


def load_labelled(
    store: str | os.PathLike[str] | FeatureStore | Sequence[str | os.PathLike[str] | FeatureStore],
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    *,
    speakers: Sequence[str] | None = None,
    augmented: bool = True,
) -> LabelledData:
    """Rows of one or several stores for ``feature_set`` that carry an emotion label (lazy polars scans).

    A set that a store holds only as a part of a combined set (``emo`` in ``emo+whisper``)
    is read from the combined rows.

    Args:
        store: a store, or several (their rows are put together: train on several corpora).
        speakers: keep only these speakers (``"ravdess:12"``; ``None``: all).
        augmented: also load the perturbed copies (speed, channel; for training only), if the
            stores have them.

    Raises:
        StoreError: no labelled rows.
    """
    stores = [store] if isinstance(store, (str, os.PathLike, FeatureStore)) else list(store)
    config = feature_set if isinstance(feature_set, FeatureConfig) else get_config(feature_set)
    columns = features.names(config)
    frames, sources = [], []
    for one in stores:
        fs = one if isinstance(one, FeatureStore) else FeatureStore(one)
        sources.append(fs.source_for(config))
        lf = fs.scan(sources[-1], augmented=augmented).filter(pl.col("emotion").is_not_null()).with_columns(_speaker_columns())
        if speakers is not None:
            lf = lf.filter(pl.col("speaker").is_in(list(speakers)))
        frames.append(fs.collect(lf.select("path", "start", "emotion", "speaker", "corpus", "augment", "channel", *columns)))
    both = pl.concat(frames).unique(subset=["path", "augment", "channel", "start"], keep="last", maintain_order=True)
    if all(s.segment is not None for s in sources) and len({s.segment for s in sources}) == 1 and sources[0].name == config.name:
        config = sources[0]  # rows of segments: the model records how recordings were cut, and predict cuts so
    names = "; ".join(str(FeatureStore(s).path) if not isinstance(s, FeatureStore) else str(s.path) for s in stores)
    original = (pl.col("augment") == 1.0) & (pl.col("channel") == "")
    df = both.filter(original)
    if df.height == 0:
        raise StoreError(f"{names}: no labelled rows (file names with a parsed emotion) for feature set {config.name!r}")
    data = LabelledData(
        X=df.select(columns).to_numpy().astype(np.float64),
        y=df["emotion"].to_numpy().astype(object),
        speakers=df["speaker"].to_numpy().astype(object),
        corpora=df["corpus"].to_numpy().astype(object),
        paths=df["path"].to_list(),
        columns=columns,
        config=config,
        store=names,
    )
    aug = both.filter(~original)
    if aug.height:
        index = {p: i for i, p in enumerate(data.paths)}
        aug = aug.filter(pl.col("path").is_in(list(index)))
        data.aug_X = aug.select(columns).to_numpy().astype(np.float64)
        data.aug_parent = np.array([index[p] for p in aug["path"].to_list()], dtype=np.int64)
        factors = np.round(aug["augment"].to_numpy().astype(np.float64), 4)  # stored as float32
        data.aug_copy = np.array([c or f"x{f:g}" for f, c in zip(factors.tolist(), aug["channel"].to_list())],
                                 dtype=object)
    return data
