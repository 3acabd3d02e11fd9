"""Long recordings, segment by segment: stream a file, cut it, featurize and label each segment.

The verbs are layered, each calling the one below:

* :func:`featurize_recording` (path -> :class:`RecordingFeatures`): decode block by block,
  segment (:class:`~semo_batch.stream.StreamSegmenter`), features of each segment as soon as
  it is final; memory stays flat whatever the file's length.  A module-level function of
  (path, config, params), so workers can run it; it never raises for a bad file.
* :func:`label_features` (features of recordings + a classifier -> :class:`RecordingResult`
  each): arrays in, typed results out; speaker normalization groups segments across the
  recordings given (``normalize_by="file"``: each recording is one speaker's session).
* :func:`label_recording`: both, for one file.

:func:`segment_table` and :func:`summary_table` give the rows ``predict`` writes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import features
from .choices import NormalizeBy, choose
from .config import FeatureConfig
from .discover import AudioFile, printable_path
from .errors import AudioError, ConfigError
from .extract import FileResult
from .segment import Segment, SegmentMode, SegmentParams
from .stream import AudioStream, StreamSegmenter
from .workers import release_free_memory

if TYPE_CHECKING:
    import polars as pl

    from .models import EmotionClassifier

__all__ = ["NO_SPEECH", "RecordingFeatures", "RecordingResult", "RecordingSummary", "SegmentLabel",
           "featurize_recording", "file_result", "label_features", "run_recording", "label_recording", "segment_table", "summary_table"]

#: The note of a recording in which ``auto`` segmenting found no speech.
NO_SPEECH = "no speech found"


@dataclasses.dataclass(frozen=True)
class RecordingFeatures:
    """The segments of one recording and their features.

    Attributes:
        path: the file.
        duration: seconds decoded (up to the damage, for a damaged file).
        speech_seconds: seconds of speech found (``auto``), or covered by segments (other modes).
        segments: in time order.
        features: float32 [shape=(len(segments), n_features)]; NaN rows where a segment failed.
        errors: per segment, ``""`` or why its features failed.
        error: ``""``, or why the file could not be read (entirely, or past ``duration``:
            the segments before the damage are kept).
        sample_rate, channels, format: the header's, for the store (0, 0, "" when unreadable).
    """

    path: str
    duration: float
    speech_seconds: float
    segments: tuple[Segment, ...]
    features: np.ndarray
    errors: tuple[str, ...]
    error: str = ""
    sample_rate: int = 0
    channels: int = 0
    format: str = ""
    size: int = -1  # bytes and modification time before decoding (what the store keys on)
    mtime_ns: int = 0


@dataclasses.dataclass(frozen=True)
class SegmentLabel:
    """The label of one segment: ``emotion``, ``confidence`` and ``probabilities`` (in the
    order of :attr:`RecordingResult.labels`) are ``None`` / NaN when ``error`` is set."""

    path: str
    start: float
    end: float
    emotion: str | None
    confidence: float | None
    probabilities: np.ndarray
    error: str = ""


@dataclasses.dataclass(frozen=True)
class RecordingSummary:
    """One recording at a glance.

    Attributes:
        shares: the share of the labelled time (the segments' durations) each emotion has,
            [shape=(len(labels),)], summing to 1 (zeros when nothing was labelled).
        dominant: the emotion with the largest share, ``None`` when nothing was labelled.
        note: :data:`NO_SPEECH` for a readable recording without speech, else ``""``.
    """

    path: str
    duration: float
    speech_seconds: float
    segments: int
    labelled: int
    shares: np.ndarray
    dominant: str | None
    error: str = ""
    note: str = ""


@dataclasses.dataclass(frozen=True)
class RecordingResult:
    """Labels of a recording's segments (in time order) and its summary."""

    path: str
    labels: tuple[str, ...]
    segments: tuple[SegmentLabel, ...]
    summary: RecordingSummary


def _segment_features(y: np.ndarray, config: FeatureConfig) -> tuple[np.ndarray | None, str]:
    if len(y) < config.min_duration * config.sample_rate:
        return None, f"is {len(y) / config.sample_rate:.3f} s long, shorter than the {config.min_duration:g} s minimum"
    try:
        vec = features.extract(y, config)
    except AudioError as exc:
        return None, exc.reason
    if not np.isfinite(vec).all():
        return None, "features are not finite (unexpected; please report)"
    return vec, ""


def featurize_recording(
    path: str | os.PathLike[str], config: FeatureConfig, params: SegmentParams | None = None,
    *, max_duration: float | None = None,
) -> RecordingFeatures:
    """Decode ``path`` block by block, segment it, and compute the features of each segment.

    Args:
        config: the feature set (its sample rate is the analysis rate).
        params: how to segment (default ``auto``).
        max_duration: refuse longer files (seconds); ``None``: no limit.

    Never raises for a bad file: the reason goes to ``error``, with the segments decoded
    before the damage kept.  Call :func:`semo_batch.features.prepare` once before a batch.
    """
    params = params or SegmentParams()
    path = os.fspath(path)
    try:  # before decoding: a file still growing is keyed as it was when read, and read again later
        st = os.stat(path)
        stat = (int(st.st_size), int(st.st_mtime_ns))
    except OSError:
        stat = (-1, 0)
    width = len(features.names(config))
    segs: list[Segment] = []
    rows: list[np.ndarray] = []
    errors: list[str] = []
    error, head = "", (0, 0, "")
    cutter = StreamSegmenter(config.sample_rate, params)

    def take(pairs: list[tuple[Segment, np.ndarray]]) -> None:
        for seg, y in pairs:
            if segs:  # a recording, not a clip: keep its memory flat (see release_free_memory)
                release_free_memory()
            vec, why = _segment_features(y, config)
            segs.append(seg)
            rows.append(vec if vec is not None else np.full(width, np.nan, dtype=np.float32))
            errors.append(why)

    try:
        with AudioStream(path, sr=config.sample_rate, max_duration=max_duration) as stream:
            head = (stream.info.sample_rate, stream.info.channels, stream.info.format)
            try:
                for block in stream:
                    take(cutter.push(block))
            except AudioError as exc:
                error = exc.reason
            take(cutter.finish())
    except AudioError as exc:
        error = exc.reason
    except MemoryError:
        error = "out of memory while processing"
    except Exception as exc:  # a bug or an exotic file must not kill the batch
        error = f"unexpected {type(exc).__name__}: {exc}"
    speech = cutter.speech_seconds if params.mode is SegmentMode.AUTO else sum(s.duration for s in segs)
    X = np.stack(rows).astype(np.float32) if rows else np.zeros((0, width), dtype=np.float32)
    return RecordingFeatures(path, cutter.n / config.sample_rate, speech, tuple(segs), X, tuple(errors), error, *head, *stat)


def run_recording(
    path: str, config: FeatureConfig, params: SegmentParams, max_duration: float | None, worker: bool = True,
) -> RecordingFeatures:
    """:func:`featurize_recording` as a worker runs it (one BLAS thread, Ctrl-C left to the parent)."""
    from .workers import tune_process

    tune_process(worker=worker)
    return featurize_recording(path, config, params, max_duration=max_duration)


def file_result(file: AudioFile, rec: RecordingFeatures) -> FileResult:
    """A segmented recording as the rows it gives: its segments (those featurized), and its error,
    if any (a recording without speech is recorded as such, not retried on every run)."""
    size, mtime_ns = rec.size, rec.mtime_ns
    meta = {"sample_rate": rec.sample_rate, "channels": rec.channels, "duration": rec.duration, "format": rec.format}
    segs = [(s.start, s.end, v) for s, v, e in zip(rec.segments, rec.features, rec.errors) if not e]
    error = rec.error or ("" if segs else rec.errors[0] if rec.errors else NO_SPEECH)
    return FileResult(file, size, mtime_ns, meta, error=error or None, segments=segs)


def label_features(
    recordings: Sequence[RecordingFeatures], clf: EmotionClassifier, *, normalize_by: str | NormalizeBy | None = None,
) -> list[RecordingResult]:
    """Label every segment of ``recordings`` with ``clf``, in the order given.

    Args:
        normalize_by: for a model trained with speaker normalization, how segments are grouped:
            ``file`` (the default for such models: the segments of a recording are one speaker),
            ``folder``, ``actor``, ``corpus`` or ``batch``.  Must be ``none`` for other models.

    Raises:
        ConfigError: a grouping for a model trained without normalization.
    """
    by = choose(NormalizeBy, normalize_by, "normalize_by")
    if clf.normalization is NormalizeBy.NONE and by is not NormalizeBy.NONE:
        raise ConfigError(f"this model was trained without speaker normalization; --normalize-by {by.value} would "
                          "feed it numbers it never saw. Train with --normalize-by to use it")
    labels = tuple(clf.labels_)
    X = np.concatenate([r.features for r in recordings]) if recordings else np.zeros((0, 0))
    paths = [r.path for r in recordings for _ in r.segments]
    ok = np.array([e == "" for r in recordings for e in r.errors], dtype=bool)
    proba = np.full((len(paths), len(labels)), np.nan)
    if ok.any():
        groups = None
        if clf.normalization is not NormalizeBy.NONE:
            from .models.normalize import group_keys

            key = by if by is not NormalizeBy.NONE else NormalizeBy.FILE
            groups = group_keys([p for p, k in zip(paths, ok) if k], key)
        proba[ok] = clf.predict_proba(X[ok].astype(np.float64), groups=groups)
    out, i = [], 0
    for rec in recordings:
        n = len(rec.segments)
        out.append(_result(rec, labels, proba[i:i + n]))
        i += n
    return out


def _result(rec: RecordingFeatures, labels: tuple[str, ...], proba: np.ndarray) -> RecordingResult:
    segs = []
    shares = np.zeros(len(labels))
    for seg, p, why in zip(rec.segments, proba, rec.errors):
        if why:
            segs.append(SegmentLabel(rec.path, seg.start, seg.end, None, None, p, why))
            continue
        k = int(np.argmax(p))
        shares[k] += seg.duration
        segs.append(SegmentLabel(rec.path, seg.start, seg.end, labels[k], float(p[k]), p))
    labelled = sum(1 for s in segs if not s.error)
    total = shares.sum()
    dominant = labels[int(np.argmax(shares))] if total > 0 else None
    note = NO_SPEECH if not rec.segments and not rec.error else ""
    summary = RecordingSummary(rec.path, rec.duration, rec.speech_seconds, len(segs), labelled,
                               shares / total if total > 0 else shares, dominant, rec.error, note)
    return RecordingResult(rec.path, labels, tuple(segs), summary)


def label_recording(
    path: str | os.PathLike[str], clf: EmotionClassifier, params: SegmentParams | None = None,
    *, normalize_by: str | NormalizeBy | None = None, max_duration: float | None = None,
) -> RecordingResult:
    """Segment one recording and label each segment with ``clf`` (see :func:`featurize_recording`
    and :func:`label_features`); never raises for a bad file."""
    if clf.feature_config is None:
        raise ConfigError("the classifier has no feature configuration")
    rec = featurize_recording(path, clf.feature_config, params, max_duration=max_duration)
    return label_features([rec], clf, normalize_by=normalize_by)[0]


def segment_table(results: Sequence[RecordingResult]) -> pl.DataFrame:
    """One row per segment, sorted by path then start: ``path``, ``start``, ``end``, ``emotion``,
    ``confidence``, ``p_<label>``..., ``error``, ``note``.  A file without speech has one row
    (0 to its end, no emotion, note :data:`NO_SPEECH`); a file that could not be read past some
    point has a row at that point (no end) with the reason in ``error``."""
    import polars as pl

    labels = results[0].labels if results else ()
    rows: list[tuple[object, ...]] = []
    blank = (None, None, *([None] * len(labels)))
    for r in results:
        s = r.summary
        for seg in r.segments:
            probs = [None if np.isnan(v) else float(v) for v in seg.probabilities]
            rows.append((printable_path(seg.path), seg.start, seg.end, seg.emotion, seg.confidence, *probs, seg.error, ""))
        if s.error:
            rows.append((printable_path(r.path), s.duration, None, *blank, s.error, ""))
        elif s.note:
            rows.append((printable_path(r.path), 0.0, s.duration, *blank, "", s.note))
    schema = {"path": pl.String, "start": pl.Float64, "end": pl.Float64, "emotion": pl.String, "confidence": pl.Float64}
    schema |= {f"p_{lab}": pl.Float64 for lab in labels} | {"error": pl.String, "note": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row").sort(["path", "start"], maintain_order=True)


def summary_table(results: Sequence[RecordingResult]) -> pl.DataFrame:
    """One row per recording, sorted by path: ``path``, ``duration``, ``speech_seconds``,
    ``segments``, ``labelled``, ``share_<label>``..., ``dominant``, ``error``, ``note``."""
    import polars as pl

    labels = results[0].labels if results else ()
    rows = [(printable_path(s.path), s.duration, s.speech_seconds, s.segments, s.labelled, *map(float, s.shares), s.dominant,
             s.error, s.note) for s in (r.summary for r in results)]
    schema = {"path": pl.String, "duration": pl.Float64, "speech_seconds": pl.Float64, "segments": pl.Int64,
              "labelled": pl.Int64}
    schema |= {f"share_{lab}": pl.Float64 for lab in labels}
    schema |= {"dominant": pl.String, "error": pl.String, "note": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("path", maintain_order=True)
