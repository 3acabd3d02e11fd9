"""The one place that decodes audio: read, validate, downmix, resample.

Everything downstream receives a mono ``float32`` signal at the feature set's
analysis rate.  Problems with a file become :class:`~semo_batch.errors.AudioError`
with a one-line reason.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

__all__ = ["AudioInfo", "probe", "to_mono", "resample", "load", "DEFAULT_MAX_DURATION"]

#: Files longer than this many seconds are refused unless the limit is raised.
DEFAULT_MAX_DURATION = 600.0


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What the header of a file says, and what was actually read."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _reason(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    text = msg[-1] if msg else type(exc).__name__
    # libsndfile repeats the path in its messages; the caller names the file already.
    text = re.sub(r"Error opening (<[^>]*>|'.*?'|\d+): ", "", text)
    return re.sub(r"'[^']*': ", "", text).strip()


def _open(path: str) -> BinaryIO:
    """Open for reading by bytes path: names that are not valid UTF-8 work, and a
    permission problem is reported as such instead of libsndfile's 'System error'."""
    if not os.path.lexists(path):
        raise AudioError(path, "no such file")
    if os.path.isdir(path):
        raise AudioError(path, "is a directory, not a file")
    if not os.path.exists(path):
        raise AudioError(path, "broken symbolic link")
    try:
        return open(os.fsencode(path), "rb")
    except PermissionError:
        raise AudioError(path, "permission denied") from None
    except OSError as exc:
        raise AudioError(path, f"cannot open ({exc.strerror or exc})") from None


def _info(fh: BinaryIO, path: str) -> AudioInfo:
    try:
        info = sf.info(fh)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as exc:
        raise _undecodable(path, exc) from None
    return _header(info)


def _undecodable(path: str, exc: BaseException) -> AudioError:
    if os.path.getsize(path) == 0:
        return AudioError(path, "empty file (0 bytes)")
    return AudioError(path, f"not a decodable audio file ({_reason(exc)})")


def _header(info: Any) -> AudioInfo:
    """The facts of ``sf.info``'s result or of an open ``sf.SoundFile`` (the same attributes)."""
    return AudioInfo(
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        format=str(info.format),
        subtype=str(info.subtype),
    )


def _sound_file(fh: BinaryIO, path: str) -> sf.SoundFile:
    """libsndfile on the open file's descriptor: its own reads, not a Python callback per
    read as with a file object (a fifth of a worker's time on short clips), and one
    header parse for the header and the samples."""
    try:
        return sf.SoundFile(fh.fileno(), closefd=False)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as exc:
        raise _undecodable(path, exc) from None


def probe(path: str | Path) -> AudioInfo:
    """Read a file's header without decoding its samples.

    Raises:
        AudioError: when the file is missing, unreadable or not audio that libsndfile knows.
    """
    path = os.fspath(path)
    with _open(path) as fh:
        return _info(fh, path)


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average the channels of ``y`` [shape=(n, channels) or (n,)] into a 1-D float32 signal."""
    if y.ndim == 1:
        return np.ascontiguousarray(y, dtype=np.float32)
    if y.shape[1] == 1:
        return np.ascontiguousarray(y[:, 0], dtype=np.float32)
    return y.mean(axis=1, dtype=np.float32)


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a mono signal with soxr (high quality); returns float32."""
    if sr_in == sr_out:
        return y
    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)


def load(
    path: str | Path,
    *,
    sr: int,
    min_duration: float = 0.0,
    max_duration: float | None = DEFAULT_MAX_DURATION,
) -> tuple[np.ndarray, AudioInfo]:
    """Decode a file to a mono float32 signal at ``sr`` Hz.

    Args:
        path: any file libsndfile can decode, whatever its extension.
        sr: the analysis sample rate to resample to.
        min_duration: shorter files are refused (seconds).
        max_duration: longer files are refused (seconds); ``None`` for no limit.
            At most this much audio is ever read, even when a header lies about
            its length.

    Returns:
        ``(y, info)``: the signal [shape=(n,)], and the file's header facts with
        ``frames`` set to what was actually decoded.

    Raises:
        AudioError: undecodable, empty, too short, too long, or non-finite samples.
    """
    path = os.fspath(path)
    with _open(path) as fh, _sound_file(fh, path) as snd:
        info = _header(snd)
        data = _read(snd, path, info, max_duration)
    info = dataclasses.replace(info, frames=int(data.shape[0]))
    if data.shape[0] == 0:
        raise AudioError(path, "holds no audio samples")
    if info.duration < min_duration:
        raise AudioError(
            path, f"is {info.duration:.3f} s long, shorter than the {min_duration:g} s minimum"
        )
    y = to_mono(data)
    # Integer samples are finite by construction: only float files need the pass over them.
    if not info.subtype.startswith("PCM_") and not np.isfinite(y).all():
        raise AudioError(path, "contains NaN or infinite sample values")
    return resample(y, info.sample_rate, sr), info


def _read(snd: sf.SoundFile, path: str, info: AudioInfo, max_duration: float | None) -> np.ndarray:
    if info.sample_rate <= 0:
        raise AudioError(path, f"invalid sample rate {info.sample_rate} Hz in the header")
    limit = None
    if max_duration is not None:
        limit = int(max_duration * info.sample_rate) + 1
        if info.frames > limit:
            raise AudioError(
                path,
                f"is {info.duration:.1f} s long, over the {max_duration:g} s limit "
                "(raise it with --max-duration)",
            )
    frames = -1 if limit is None else limit
    try:
        # Mono files come back 1-D: to_mono has nothing to copy.
        if info.subtype == "PCM_16":
            # libsndfile's int16 -> float32 loop is slower than numpy's; same values.
            raw = snd.read(frames, dtype="int16", always_2d=False)
            data = np.multiply(raw, np.float32(1.0 / 32768.0), dtype=np.float32)
        else:
            data = snd.read(frames, dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioError(path, f"cannot decode samples ({_reason(exc)})") from None
    if limit is not None and data.shape[0] >= limit:
        raise AudioError(
            path, f"is longer than the {max_duration:g} s limit (raise it with --max-duration)"
        )
    return data
