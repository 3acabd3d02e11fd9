"""Which rows train and which are held out: single splits and cross-validation folds.

Every function takes labels and speakers as arrays and returns row indices, so
the rules (no speaker on both sides of an actor split, ever) are tested here
on known inputs.
"""

from __future__ import annotations

import numpy as np

from .choices import CVProtocol, Split, choose
from .errors import ConfigError

__all__ = ["split_indices", "cv_folds"]

Fold = tuple[np.ndarray, np.ndarray]


def _shared(groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(first row, group of each row)`` when rows share a group (segments of one recording)."""
    if groups is None:
        return None
    _, first, inverse = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    return (first, inverse) if len(first) < len(groups) else None


def split_indices(
    y: np.ndarray, speakers: np.ndarray, *, split: str | Split, seed: int, test_size: float = 0.2,
    groups: np.ndarray | None = None,
) -> Fold:
    """Train and test row indices, each sorted.

    ``random`` is stratified by label; ``actor`` holds out ``test_size`` of the speakers
    whole, so no speaker is on both sides; ``none`` puts every row in training.  Rows that
    share a ``groups`` value (the segments of one recording: its path) stay on one side.

    Raises:
        ConfigError: an unknown split, or an actor split without two known speakers.
    """
    split = choose(Split, split, "split")
    idx = np.arange(len(y))
    if split is Split.NONE:
        return idx, idx[:0]
    if split is Split.RANDOM and (shared := _shared(groups)) is not None:
        first, inverse = shared
        g_tr, g_te = split_indices(y[first], speakers[first], split=split, seed=seed, test_size=test_size)
        return idx[np.isin(inverse, g_tr)], idx[np.isin(inverse, g_te)]
    if split is Split.RANDOM:
        from sklearn.model_selection import train_test_split

        try:
            tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=y)
        except ValueError as exc:  # too few rows for a stratified held-out part
            raise ConfigError(f"a random {test_size:.0%} split of {len(y)} rows cannot hold every emotion "
                              f"({exc}); use more data or --split none") from None
        return np.sort(tr), np.sort(te)
    uniq = np.unique(speakers)
    if len(uniq) < 2 or np.any(speakers == ""):
        raise ConfigError("--split actor needs at least two actors parsed from the file names")
    rng = np.random.default_rng(seed)
    n_test = max(1, int(round(test_size * len(uniq))))
    mask = np.isin(speakers, rng.choice(uniq, size=n_test, replace=False))
    return idx[~mask], idx[mask]


def cv_folds(
    y: np.ndarray,
    speakers: np.ndarray,
    *,
    protocol: str | CVProtocol,
    folds: int,
    seed: int,
    testable: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> list[Fold]:
    """Cross-validation folds as (train, test) indices.

    ``actor``: ``folds`` folds of whole speakers (each speaker in exactly one test fold);
    ``random``: stratified K-fold; ``holdout``: one stratified 80/20 split.

    Args:
        testable: rows that may be tested (say, one corpus); the others are in every
            training fold.  Default: all rows.
        groups: rows sharing a value (the segments of one recording) stay in one fold.

    Raises:
        ConfigError: an unknown protocol, more folds than speakers, or no testable row.
    """
    protocol = choose(CVProtocol, protocol, "cv")
    if testable is not None:
        rows = np.flatnonzero(testable)
        if rows.size == 0:
            raise ConfigError("no rows to test: the chosen corpus has no labelled rows here")
        others = np.flatnonzero(~np.asarray(testable, dtype=bool))
        inner = cv_folds(y[rows], speakers[rows], protocol=protocol, folds=folds, seed=seed,
                         groups=None if groups is None else np.asarray(groups)[rows])
        return [(np.sort(np.concatenate([rows[tr], others])), rows[te]) for tr, te in inner]
    if protocol is not CVProtocol.ACTOR and (shared := _shared(groups)) is not None:
        first, inverse = shared
        idx = np.arange(len(y))
        inner = cv_folds(y[first], speakers[first], protocol=protocol, folds=folds, seed=seed)
        return [(idx[np.isin(inverse, tr)], idx[np.isin(inverse, te)]) for tr, te in inner]
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    if protocol is CVProtocol.ACTOR:
        n_speakers = len(np.unique(speakers))
        if folds > n_speakers:
            raise ConfigError(f"--folds {folds} is more than the {n_speakers} actors in the store")
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y, speakers))
    if protocol is CVProtocol.RANDOM:
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    return [split_indices(y, speakers, split=Split.RANDOM, seed=seed)]
