"""The ``seed`` feature set: the notebook's 193 numbers, from one STFT.

Per file: means over frames of the 128-band mel power spectrogram, of the
24-bin chromagram (magnitude STFT, per-file tuning estimate, max-normalised
frames), and of 40 MFCCs (DCT of the log-power mel spectrogram floored 80 dB
below its peak), then the zero-crossing count of the whole signal.

Means commute with the linear maps, so mel and MFCC means come from the mean
power spectrum and the mean log-mel frame; only chroma, whose normalisation is
per frame, needs a per-frame product.
"""

from __future__ import annotations

import numpy as np

from ..config import FeatureConfig
from .filters import chroma_filterbank, dct_matrix, mel_filterbank
from .functionals import power_to_db
from .spectrum import Spectrum, stft
from .tuning import estimate_tuning

__all__ = ["seed_names", "seed_features", "zero_crossings", "crossings", "chroma_frames", "seed_mfcc_frames"]


def seed_names(config: FeatureConfig) -> list[str]:
    return (
        [f"mel_{i:03d}" for i in range(config.n_mels)]
        + [f"chroma_{i:02d}" for i in range(config.n_chroma)]
        + [f"mfcc_{i:02d}" for i in range(config.n_mfcc)]
        + ["zero_crossings"]
    )


def crossings(y: np.ndarray, *, threshold: float = 1e-10) -> np.ndarray:
    """Indices ``i`` where the sign changes between ``y[i]`` and ``y[i + 1]``, counting values
    within ``threshold`` of zero as positive (librosa's rule)."""
    neg = np.signbit(y) & (np.abs(y) > threshold)
    return np.flatnonzero(neg[1:] != neg[:-1])


def zero_crossings(y: np.ndarray, *, threshold: float = 1e-10) -> int:
    """The number of :func:`crossings` in ``y``."""
    return int(crossings(y, threshold=threshold).size)


def chroma_frames(spec: Spectrum, config: FeatureConfig, *, n_chroma: int | None = None) -> tuple[np.ndarray, float]:
    """Per-frame chroma [shape=(t, n_chroma)] of the magnitude STFT with the per-file tuning
    estimate, each frame scaled to its loudest bin; and the tuning (fractions of a bin).

    Args:
        n_chroma: bins per octave (default ``config.n_chroma``).
    """
    sr, n_fft = config.sample_rate, config.n_fft
    n = n_chroma or config.n_chroma
    tuning = estimate_tuning(spec.magnitude, sr=sr, n_fft=n_fft, bins_per_octave=n)
    raw = spec.magnitude @ chroma_filterbank(sr=sr, n_fft=n_fft, n_chroma=n, tuning=tuning).T
    peak = np.abs(raw).max(axis=1, keepdims=True)
    return raw / np.where(peak < np.finfo(raw.dtype).tiny, 1.0, peak), tuning


def seed_mfcc_frames(logmel: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Per-frame MFCCs [shape=(t, n_mfcc)] of a log-mel spectrogram in dB, floored 80 dB below its peak first."""
    floored = np.maximum(logmel, logmel.max() - 80.0) if logmel.size else logmel
    return floored @ dct_matrix(n_in=config.n_mels, n_out=config.n_mfcc).T


def seed_features(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The 193 (for the default parameters) seed numbers of a mono signal at ``config.sample_rate``."""
    sr, n_fft = config.sample_rate, config.n_fft
    spec = stft(y, config)
    melfb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=config.n_mels, fmin=config.fmin, fmax=config.mel_fmax)
    mel = spec.power @ melfb.T  # (t, n_mels)
    mel_mean = mel.mean(axis=0, dtype=np.float64)
    logmel = power_to_db(mel, top_db=80.0)
    mfcc_mean = dct_matrix(n_in=config.n_mels, n_out=config.n_mfcc) @ logmel.mean(axis=0, dtype=np.float64)
    parts = [mel_mean]
    if config.n_chroma:
        chroma, _ = chroma_frames(spec, config)
        parts.append(chroma.mean(axis=0, dtype=np.float64))
    parts += [mfcc_mean, np.array([zero_crossings(y)], dtype=np.float64)]
    return np.concatenate(parts).astype(np.float32)
