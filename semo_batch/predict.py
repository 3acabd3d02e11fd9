"""Folders -> predictions: the featurize extraction path, in memory, then the model, then a CSV."""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from . import features
from .choices import NormalizeBy, choose
from .discover import AudioFile, discover, printable_path
from .errors import ConfigError, failure_lines
from .longform import RecordingResult, label_features, segment_table, summary_table
from .models import EmotionClassifier, describe_model, load_model
from .options import RunOptions
from .parallel import map_recordings
from .paths import check_output_path, resolve_model_dir
from .segment import SegmentParams, check_segmenting, parse_segmenting, segmenting_of

__all__ = ["PredictSummary", "predict_folders", "predict_recordings", "predict_to_csv", "write_csv", "neutralize_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: Any) -> Any:
    """Make a string cell inert in spreadsheets: a leading ``= + - @`` (or tab/CR) gets a ``'`` prefix."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def predict_recordings(
    roots: Iterable[str | os.PathLike[str]],
    model_dir: str | os.PathLike[str] | EmotionClassifier | None = None,
    *,
    normalize_by: str | NormalizeBy | None = None,
    options: RunOptions | None = None,
    segment: str | SegmentParams | None = None,
) -> list[RecordingResult]:
    """Label every audio file under ``roots`` (folders, or files named one by one), segment by segment.

    Args:
        model_dir: a model directory (or a loaded classifier); its feature set is used.
            Default: ``./semo-model`` if it holds a model, else a bundled model (the
            speaker-normalized one when ``normalize_by`` groups the files).
        normalize_by: for models trained with speaker normalization, how segments are
            grouped here: ``file`` (each recording is one speaker's session), ``folder``
            (each parent folder is one speaker; the default for such models), ``actor``
            (parsed from RAVDESS names) or ``batch`` (all together).  Must be ``none`` for others.
        options: workers, backend, duration limit, symlinks, progress (see
            :class:`~semo_batch.options.RunOptions`).
        segment: ``auto`` (speech found and cut into utterances of 1-8 s; a clip of a few
            seconds stays one whole-file segment), ``none`` (each file one segment) or
            ``fixed:SECONDS``; or :class:`~semo_batch.segment.SegmentParams`.  Default: how the
            model's training rows were cut, else ``auto``.

    Returns:
        One :class:`~semo_batch.longform.RecordingResult` per file, sorted by path; a file that
        cannot be read (or only in part) has its reason in ``summary.error``.
    """
    options = options or RunOptions(max_duration=None)  # recordings of any length: no default limit
    params = _params(segment)
    files = discover(roots, follow_symlinks=options.follow_symlinks)  # bad inputs fail before the model loads
    return _predict_files(files, model_dir, normalize_by=normalize_by, options=options, params=params)


def _params(segment: str | SegmentParams | None) -> SegmentParams | None:
    return segment if isinstance(segment, SegmentParams) or segment is None else parse_segmenting(segment)


def predict_folders(
    roots: Iterable[str | os.PathLike[str]],
    model_dir: str | os.PathLike[str] | EmotionClassifier | None = None,
    *,
    normalize_by: str | NormalizeBy | None = None,
    options: RunOptions | None = None,
    segment: str | SegmentParams | None = None,
) -> pl.DataFrame:
    """:func:`predict_recordings` as the table ``predict`` writes: one row per segment, sorted by
    path then start: ``path``, ``start``, ``end`` (seconds), ``emotion``, ``confidence``,
    ``p_<label>`` per class, ``error`` (empty when fine) and ``note`` (``no speech found``).
    A short clip is one row, as it always was."""
    results = predict_recordings(roots, model_dir, normalize_by=normalize_by, options=options, segment=segment)
    return segment_table(results)


def _predict_files(
    files: list[AudioFile],
    model_dir: str | os.PathLike[str] | EmotionClassifier | None,
    *,
    normalize_by: str | NormalizeBy | None,
    options: RunOptions,
    params: SegmentParams | None,
) -> list[RecordingResult]:
    by = choose(NormalizeBy, normalize_by, "normalize_by")
    if not isinstance(model_dir, EmotionClassifier):
        model_dir = resolve_model_dir(model_dir, normalized=by is not NormalizeBy.NONE)
    clf = model_dir if isinstance(model_dir, EmotionClassifier) else load_model(model_dir)
    if clf.normalization is NormalizeBy.NONE and by is not NormalizeBy.NONE:
        raise ConfigError(
            f"this model was trained without speaker normalization; --normalize-by {by.value} would feed it "
            "numbers it never saw. Train with --normalize-by to use it"
        )
    assert clf.feature_config is not None
    features.prepare(clf.feature_config)  # e.g. missing encoder weights: one error, not one per file
    params = params or segmenting_of(clf.feature_config) or SegmentParams()
    check_segmenting(params, clf.feature_config)
    recordings = []
    for done, rec in enumerate(map_recordings(files, clf.feature_config, params, options), 1):
        recordings.append(rec)
        options.report(done, len(files))
    if clf.normalization is not NormalizeBy.NONE and by is NormalizeBy.NONE:
        by = NormalizeBy.FOLDER
    results = label_features(recordings, clf, normalize_by=by)
    return sorted(results, key=lambda r: r.path)


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
    plot: Path | None = None
    summary: Path | None = None
    segments: int = 0

    @property
    def failed(self) -> int:
        return len(self.failures)

    def lines(self) -> list[str]:
        """The model used, then what was done (``lines()[1:]`` without the model)."""
        if self.output is None:
            return [f"model: {self.model}", "no audio files found; nothing written"]
        ok = self.files - self.failed
        cut = f" ({self.segments} segments)" if self.segments > ok else ""
        out = [f"model: {self.model}", f"{self.files} files, {ok} predicted{cut}, {self.failed} failed -> {self.output}"]
        return out + [f"{what} -> {p}" for what, p in (("summary", self.summary), ("plot", self.plot)) if p]

    def failure_lines(self) -> list[str]:
        """The files that failed (in whole or in part), for standard error."""
        return failure_lines(self.failures)


def predict_to_csv(
    roots: Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    normalize_by: str | NormalizeBy | None = None,
    options: RunOptions | None = None,
    plot: str | os.PathLike[str] | None = None,
    summary: str | os.PathLike[str] | None = None,
    segment: str | SegmentParams | None = None,
) -> PredictSummary:
    """:func:`predict_recordings`, then :func:`write_csv` of one row per segment; with ``summary``
    a CSV of one row per file (duration, speech time, each emotion's share of it, the dominant
    one); with ``plot`` a PNG of the labels and confidences, and the timelines of recordings cut
    into several segments (``<plot>-timeline.png``).  The inputs, the output paths and the
    segmenting are checked before the model loads or any work starts.  When the inputs hold no
    audio, nothing is written (``PredictSummary.files == 0``).
    """
    out = check_output_path(output)
    png = check_output_path(plot) if plot is not None else None
    sums = check_output_path(summary) if summary is not None else None
    params = _params(segment)
    options = options or RunOptions(max_duration=None)  # recordings of any length: no default limit
    files = discover(roots, follow_symlinks=options.follow_symlinks)
    model = resolve_model_dir(model_dir, normalized=choose(NormalizeBy, normalize_by, "normalize_by") is not NormalizeBy.NONE)
    clf = load_model(model)  # inputs first, then the model, then the work
    description = describe_model(model)
    if not files:  # said aloud by the caller; nothing is written
        return PredictSummary(model=description, output=None, files=0, failures=[], predictions=pl.DataFrame())
    results = _predict_files(files, clf, normalize_by=normalize_by, options=options, params=params)
    df = segment_table(results)
    write_csv(df, out)
    if sums is not None:
        write_csv(summary_table(results), sums)
    if png is not None:
        from .plots import plot_predictions, plot_timelines

        plot_predictions(df.filter(pl.col("error") == "", pl.col("emotion").is_not_null()), png)
        long = [r for r in results if len(r.segments) > 1]
        if long:
            plot_timelines(long, png.with_name(f"{png.stem}-timeline{png.suffix}"))
    failures = [(printable_path(r.path), r.summary.error or next(s.error for s in r.segments if s.error))
                for r in results if r.summary.error or any(s.error for s in r.segments)]
    return PredictSummary(model=description, output=out, files=len(results), failures=failures, predictions=df,
                          plot=png, summary=sums, segments=sum(len(r.segments) for r in results))
