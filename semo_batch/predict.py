"""Folders -> predictions: the featurize extraction path, in memory, then the model, then a CSV."""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from . import features
from .choices import NormalizeBy, choose
from .discover import AudioFile, discover, printable_path
from .errors import ConfigError, failure_lines
from .models import EmotionClassifier, describe_model, load_model
from .models.normalize import group_keys
from .options import RunOptions
from .parallel import map_files
from .paths import check_output_path, resolve_model_dir

__all__ = ["PredictSummary", "predict_folders", "predict_to_csv", "write_csv", "neutralize_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: Any) -> Any:
    """Make a string cell inert in spreadsheets: a leading ``= + - @`` (or tab/CR) gets a ``'`` prefix."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def predict_folders(
    roots: Iterable[str | os.PathLike[str]],
    model_dir: str | os.PathLike[str] | EmotionClassifier | None = None,
    *,
    normalize_by: str | NormalizeBy | None = None,
    options: RunOptions | None = None,
) -> pl.DataFrame:
    """Predict the emotion of every audio file under ``roots`` (folders, or files named one by one).

    Args:
        model_dir: a model directory (or a loaded classifier); its feature set is used.
            Default: ``./semo-model`` if it holds a model, else a bundled model (the
            speaker-normalized one when ``normalize_by`` groups the files).
        normalize_by: for models trained with speaker normalization, how files are
            grouped here: ``actor`` (parsed from RAVDESS names), ``folder`` (each parent
            folder is one speaker) or ``batch`` (all files together).  Default: ``folder``
            for such models; ignored (must be ``none``) for others.
        options: workers, backend, duration limit, symlinks, progress (see
            :class:`~semo_batch.options.RunOptions`).

    Returns:
        One row per file, sorted by path: ``path``, ``emotion``, ``confidence``,
        ``p_<label>`` per class, and ``error`` (empty when fine; the reason otherwise,
        with null predictions).
    """
    options = options or RunOptions()
    files = discover(roots, follow_symlinks=options.follow_symlinks)  # bad inputs fail before the model loads
    return _predict_files(files, model_dir, normalize_by=normalize_by, options=options)


def _predict_files(
    files: list[AudioFile],
    model_dir: str | os.PathLike[str] | EmotionClassifier | None,
    *,
    normalize_by: str | NormalizeBy | None,
    options: RunOptions,
) -> pl.DataFrame:
    by = choose(NormalizeBy, normalize_by, "normalize_by")
    if not isinstance(model_dir, EmotionClassifier):
        model_dir = resolve_model_dir(model_dir, normalized=by is not NormalizeBy.NONE)
    clf = model_dir if isinstance(model_dir, EmotionClassifier) else load_model(model_dir)
    if clf.normalization is NormalizeBy.NONE and by is not NormalizeBy.NONE:
        raise ConfigError(
            f"this model was trained without speaker normalization; --normalize-by {by.value} would feed it "
            "numbers it never saw. Train with --normalize-by to use it"
        )
    paths: list[str] = []
    errors: list[str] = []
    rows: list[np.ndarray | None] = []
    done = 0
    assert clf.feature_config is not None
    features.prepare(clf.feature_config)  # e.g. missing encoder weights: one error, not one per file
    for res in map_files(files, clf.feature_config, options):
        paths.append(printable_path(res.file.path))
        errors.append(res.error or "")
        rows.append(res.features)
        done += 1
        options.report(done, len(files))
    ok = np.array([r is not None for r in rows], dtype=bool)
    proba = np.full((len(rows), len(clf.labels_)), np.nan)
    if ok.any():
        X = np.stack([r for r in rows if r is not None]).astype(np.float64)
        groups = None
        if clf.normalization is not NormalizeBy.NONE:
            groups = group_keys([p for p, k in zip(paths, ok) if k], by if by is not NormalizeBy.NONE else NormalizeBy.FOLDER)
        proba[ok] = clf.predict_proba(X, groups=groups)
    labels = np.asarray(clf.labels_, dtype=object)
    best = np.where(ok, np.nan_to_num(proba, nan=-1.0).argmax(axis=1), 0)
    data: dict[str, Any] = {
        "path": paths,
        "emotion": [labels[b] if k else None for b, k in zip(best, ok)],
        "confidence": [float(proba[i, b]) if k else None for i, (b, k) in enumerate(zip(best, ok))],
    }
    for j, lab in enumerate(clf.labels_):
        data[f"p_{lab}"] = [float(v) if k else None for v, k in zip(proba[:, j], ok)]
    data["error"] = errors
    schema = {"path": pl.String, "emotion": pl.String, "confidence": pl.Float64}
    schema |= {f"p_{lab}": pl.Float64 for lab in clf.labels_}
    schema["error"] = pl.String
    return pl.DataFrame(data, schema=schema).sort("path")


def write_csv(df: pl.DataFrame, out: str | os.PathLike[str]) -> Path:
    """Write predictions as CSV, safe to open in a spreadsheet (see :func:`neutralize_cell`).

    Probabilities are written with 6 decimals; the file is written to a temporary
    name and renamed, so a reader never sees half a file.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(df.columns)
        for row in df.iter_rows():
            w.writerow(
                ["" if v is None else f"{v:.6f}" if isinstance(v, float) else neutralize_cell(v) for v in row]
            )
    os.replace(tmp, out)
    return out


@dataclasses.dataclass(frozen=True)
class PredictSummary:
    """What ``predict_to_csv`` did."""

    model: str
    output: Path | None  # None: no audio was found, nothing written
    files: int
    failures: list[tuple[str, str]]
    predictions: pl.DataFrame = dataclasses.field(repr=False)

    @property
    def failed(self) -> int:
        return len(self.failures)

    plot: Path | None = None

    def lines(self) -> list[str]:
        """The model used, then what was done (``lines()[1:]`` without the model)."""
        if self.output is None:
            return [f"model: {self.model}", "no audio files found; nothing written"]
        out = [f"model: {self.model}", f"{self.files} files, {self.files - self.failed} predicted, {self.failed} failed -> {self.output}"]
        return out + ([f"plot -> {self.plot}"] if self.plot else [])

    def failure_lines(self) -> list[str]:
        """The files that failed, for standard error."""
        return failure_lines(self.failures)


def predict_to_csv(
    roots: Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    normalize_by: str | NormalizeBy | None = None,
    options: RunOptions | None = None,
    plot: str | os.PathLike[str] | None = None,
) -> PredictSummary:
    """:func:`predict_folders`, then :func:`write_csv` (and, with ``plot``, a PNG of the labels and
    confidences); the inputs and output paths are checked before the model loads or any work starts.
    When the inputs hold no audio, nothing is written (``PredictSummary.files == 0``).

    Raises:
        ConfigError: the output cannot be written there, a folder is missing, or options conflict.
    """
    out = check_output_path(output)
    png = check_output_path(plot) if plot is not None else None
    options = options or RunOptions()
    files = discover(roots, follow_symlinks=options.follow_symlinks)
    model = resolve_model_dir(model_dir, normalized=choose(NormalizeBy, normalize_by, "normalize_by") is not NormalizeBy.NONE)
    clf = load_model(model)  # inputs first, then the model, then the work
    description = describe_model(model)
    if not files:  # said aloud by the caller; nothing is written
        return PredictSummary(model=description, output=None, files=0, failures=[], predictions=pl.DataFrame())
    df = _predict_files(files, clf, normalize_by=normalize_by, options=options)
    write_csv(df, out)
    bad = df.filter(pl.col("error") != "")
    if png is not None:
        from .plots import plot_predictions

        plot_predictions(df.filter(pl.col("error") == ""), png)
    return PredictSummary(model=description, output=out, files=df.height,
                          failures=list(zip(bad["path"].to_list(), bad["error"].to_list())), predictions=df, plot=png)
