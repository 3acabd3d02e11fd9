"""Per-file work, run in parallel workers: path -> metadata + features, or a failure.

This module is what a worker process imports; it stays light (numpy,
soundfile, soxr, scipy's pocketfft binding) so that workers start fast and never load
TensorFlow, polars or librosa.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from typing import Any

import numpy as np

from . import features
from .audio import load, resample
from .config import FeatureConfig
from .discover import AudioFile
from .errors import AudioError

__all__ = ["FileResult", "apply_channel", "extract_file"]


@dataclasses.dataclass
class FileResult:
    """The outcome for one file: ``features`` set on success, ``error`` on failure.

    Attributes:
        file: the file.
        size: bytes on disk (-1 when it could not be read).
        mtime_ns: modification time in ns since the epoch.
        meta: sample_rate, channels, duration and format (labels are the caller's business).
        features: float32 [shape=(n_features,)], or ``None`` (failed, or only copies asked for).
        error: one-line reason (without the path) or ``None``.
        augmented: ``(factor, features)`` for each speed perturbation asked for.
        channel_copies: ``(name, features)`` for each random channel copy asked for
            (``"random:1"``, ...).
        segments: ``(start, end, features)`` of each segment, for a feature set that cuts
            recordings into segments (its rows then replace the file's own).
    """

    file: AudioFile
    size: int
    mtime_ns: int
    meta: dict[str, Any]
    features: np.ndarray | None = None
    error: str | None = None
    augmented: list[tuple[float, np.ndarray]] = dataclasses.field(default_factory=list)
    channel_copies: list[tuple[str, np.ndarray]] = dataclasses.field(default_factory=list)
    segments: list[tuple[float, float, np.ndarray]] = dataclasses.field(default_factory=list)


def perturb_speed(y: np.ndarray, sr: int, factor: float) -> np.ndarray:
    """Speed perturbation: resample to ``sr * factor`` and play back at ``sr``.

    ``factor < 1`` shortens the clip and raises pitch and formants by ``1 / factor``,
    as if a speaker with a shorter vocal tract said it faster: a cheap way to show
    a model more voices than the corpus has (Ko et al., 2015).
    """
    return resample(y, sr, int(round(sr * factor)))


def apply_channel(y: np.ndarray, sr: int, channel: str, path: str) -> np.ndarray:
    """``y`` through the named channel change of :data:`semo_batch.channels.CHANNELS` (or
    ``"random"``: :func:`~semo_batch.channels.random_channel`), seeded by the file's path so
    that the same file always gets the same noise, whichever worker runs it."""
    from .channels import CHANNELS, random_channel

    rng = np.random.default_rng(zlib.crc32(os.fsencode(path)))
    if channel == "random":
        return random_channel(y, sr, rng)
    for c in CHANNELS:
        if c.name == channel:
            return c.apply(y, sr, rng)
    raise AudioError(path, f"unknown channel {channel!r}; known: random, {', '.join(c.name for c in CHANNELS)}")


def extract_file(
    file: AudioFile, config: FeatureConfig, max_duration: float | None, augment: tuple[float, ...] = (),
    channel: str | None = None, channel_copies: int = 0, copies_only: bool = False,
) -> FileResult:
    """Decode one file and compute its features (and those of its speed perturbations);
    never raises for a bad file.

    Args:
        channel: pass the decoded audio through this channel change first (see
            :func:`apply_channel`): for the robustness suite.
        channel_copies: also featurize this many copies through random channel changes
            (noise, telephone, room, gain, codec; :func:`semo_batch.channels.random_channel`),
            for training: a model that has heard other channels survives a new microphone.
        copies_only: compute only the copies (``augment``, ``channel_copies``), not the
            recording's own features (already stored): ``features`` stays ``None``.
    """
    try:
        st = os.stat(file.path)
        size, mtime_ns = int(st.st_size), int(st.st_mtime_ns)
    except OSError:
        size, mtime_ns = -1, 0
    meta: dict[str, Any] = {}
    try:
        y, info = load(file.path, sr=config.sample_rate, min_duration=config.min_duration, max_duration=max_duration)
        meta.update(sample_rate=info.sample_rate, channels=info.channels, duration=info.duration, format=info.format)
        if channel is not None:
            y = apply_channel(y, config.sample_rate, channel, file.path)
        vec = None if copies_only else features.extract(y, config)
        if vec is not None and not np.isfinite(vec).all():
            raise AudioError(file.path, "features are not finite (unexpected; please report)")
        extra = []
        for factor in augment:
            v = features.extract(perturb_speed(y, config.sample_rate, factor), config)
            if np.isfinite(v).all():
                extra.append((float(factor), v))
        copies = []
        for k in range(1, channel_copies + 1):
            name = f"random:{k}"
            v = features.extract(apply_channel(y, config.sample_rate, "random", f"{file.path}#{k}"), config)
            if np.isfinite(v).all():
                copies.append((name, v))
    except AudioError as exc:
        return FileResult(file, size, mtime_ns, meta, error=exc.reason)
    except MemoryError:
        return FileResult(file, size, mtime_ns, meta, error="out of memory while processing")
    except Exception as exc:  # a bug or an exotic file must not kill the batch
        return FileResult(file, size, mtime_ns, meta, error=f"unexpected {type(exc).__name__}: {exc}")
    return FileResult(file, size, mtime_ns, meta, features=vec, augmented=extra, channel_copies=copies)
