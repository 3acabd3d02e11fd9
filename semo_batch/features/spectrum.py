"""Framing and the one STFT per file."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import FeatureConfig
from . import fft
from .filters import hann_window

__all__ = ["Spectrum", "frame", "stft"]

#: Power below this (-300 dB) is clamped: float32 subnormals from near-silent frames
#: make the filter-bank products many times slower and carry no information.
_POWER_FLOOR = np.float32(1e-30)


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """One file's short-time analysis, frames first.

    Attributes:
        frames: the unwindowed time-domain frames [shape=(t, n_fft)] (a view of the padded signal).
        magnitude: |STFT| [shape=(t, 1 + n_fft // 2)], float32.
        power: |STFT|**2 with tiny values clamped [shape=(t, 1 + n_fft // 2)], float32.
        sr: sample rate in Hz.
        hop_length: frame step in samples.
    """

    frames: np.ndarray
    magnitude: np.ndarray
    power: np.ndarray
    sr: int
    hop_length: int

    @property
    def n_frames(self) -> int:
        return int(self.power.shape[0])

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sr / self.hop_length


def frame(y: np.ndarray, *, n_fft: int, hop_length: int, center: bool, pad_mode: str) -> np.ndarray:
    """Slice ``y`` [shape=(n,)] into overlapping frames [shape=(t, n_fft)] as librosa's stft does.

    With ``center`` the signal is padded by ``n_fft // 2`` on both sides so that
    frame ``t`` is centred on sample ``t * hop_length``.  Signals too short to
    reflect fall back to zero padding.
    """
    y = np.asarray(y, dtype=np.float32)
    if center:
        pad = n_fft // 2
        if pad_mode == "constant" or y.size <= pad:
            padded = np.zeros(y.size + 2 * pad, dtype=np.float32)  # np.pad's work, less its overhead
            padded[pad : pad + y.size] = y
            y = padded
        else:
            y = np.pad(y, pad, mode=pad_mode)  # type: ignore[call-overload]
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    # sliding_window_view(y, n_fft)[::hop_length], read-only, without its per-call checks.
    step = y.strides[0]
    return np.lib.stride_tricks.as_strided(
        y, shape=(1 + (y.size - n_fft) // hop_length, n_fft), strides=(step * hop_length, step), writeable=False
    )


def stft(y: np.ndarray, config: FeatureConfig) -> Spectrum:
    """The one STFT of a file: periodic Hann window of ``win_length`` inside ``n_fft``."""
    frames = frame(
        y, n_fft=config.n_fft, hop_length=config.hop_length, center=config.center, pad_mode=config.pad_mode
    )
    window = hann_window(win_length=config.win_length, n_fft=config.n_fft)
    # scipy's pocketfft keeps float32 single precision (numpy's is 3x slower here).
    spec = fft.rfft(frames * window)
    magnitude = np.abs(spec).astype(np.float32, copy=False)
    power = np.square(magnitude)
    np.maximum(power, _POWER_FLOOR, out=power)
    return Spectrum(frames=frames, magnitude=magnitude, power=power, sr=config.sample_rate, hop_length=config.hop_length)
