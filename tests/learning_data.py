"""Synthetic labelled data for the learning side: classes that a linear model separates
perfectly, for known answers (accuracy 1.0) without any audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from semo_batch.config import get_config
from semo_batch.dataset import LabelledData
from semo_batch.features import names
from semo_batch.naming import EMOTIONS
from semo_batch.store import ROW_COLUMNS, FeatureStore

EMO = get_config("emo")
COLUMNS = names(EMO)


def separable(n_actors: int = 10, per_class: int = 2, *, seed: int = 0, shift: float = 0.0):
    """Rows of ``n_actors`` actors, ``per_class`` per emotion each: class k sits 3 units out
    along columns k, k + 8, ..., k + 72, with noise of 0.3 everywhere; each actor is offset by ``shift`` times its
    number on every column (a speaker effect that normalization removes).

    Returns:
        X [shape=(n, len(COLUMNS))], labels, actors, RAVDESS-style paths.
    """
    rng = np.random.default_rng(seed)
    X, y, actors, paths = [], [], [], []
    for a in range(1, n_actors + 1):
        for k, emotion in enumerate(EMOTIONS):
            for r in range(per_class):
                v = rng.standard_normal(len(COLUMNS)) * 0.3 + shift * a
                v[k:80:8] += 3.0
                X.append(v)
                y.append(emotion)
                actors.append(a)
                paths.append(f"/data/Actor_{a:02d}/03-01-{k + 1:02d}-01-{r % 2 + 1:02d}-{r // 2 + 1:02d}-{a:02d}.wav")
    return np.array(X), np.array(y, dtype=object), np.array(actors), paths


def labelled(**kw) -> LabelledData:
    X, y, actors, paths = separable(**kw)
    speakers = np.array([f"ravdess:{a:02d}" for a in actors], dtype=object)
    return LabelledData(X=X, y=y, speakers=speakers, paths=paths, columns=COLUMNS, config=EMO, store="/store")


def write_store(path: Path, *, augment: tuple[float, ...] = (), corpus: str | None = None, **kw) -> FeatureStore:
    """A feature store holding :func:`separable` rows in the ``emo`` configuration; each
    ``augment`` factor adds a perturbed copy (the same features, jittered) of every row.
    With ``corpus``, rows carry that corpus and its speakers instead of RAVDESS actors."""
    X, y, actors, paths = separable(**kw)
    if corpus is not None:
        paths = [p.replace("/data/", f"/{corpus}/") for p in paths]
    rng = np.random.default_rng(1)
    fs = FeatureStore(path)
    for factor in (1.0, *augment):
        data = X if factor == 1.0 else X + rng.standard_normal(X.shape) * 0.1
        cols: dict[str, list] = {c: [None] * len(y) for c in ROW_COLUMNS}
        cols |= {
            "path": paths, "relpath": [p.removeprefix("/data/") for p in paths], "root": ["/data"] * len(y),
            "size": [1000] * len(y), "mtime_ns": [1] * len(y), "emotion": list(y), "actor": actors.tolist(),
            "augment": [factor] * len(y),
        }
        if corpus is not None:
            cols |= {"actor": [None] * len(y), "corpus": [corpus] * len(y),
                     "speaker": [f"{corpus}:{a:02d}" for a in actors]}
        table = pa.table(cols)
        for j, name in enumerate(COLUMNS):
            table = table.append_column(name, pa.array(data[:, j], pa.float32()))
        with fs:
            fs.write_rows(table, EMO, COLUMNS)
    return fs
