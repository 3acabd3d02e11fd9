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
from .pitch import estimate_tuning
from .spectrum import stft

__all__ = ["seed_names", "seed_features", "zero_crossings"]


def seed_names(config: FeatureConfig) -> list[str]:
    return (
        [f"mel_{i:03d}" for i in range(config.n_mels)]
        + [f"chroma_{i:02d}" for i in range(config.n_chroma)]
        + [f"mfcc_{i:02d}" for i in range(config.n_mfcc)]
        + ["zero_crossings"]
    )


def zero_crossings(y: np.ndarray, *, threshold: float = 1e-10) -> int:
    """Sign changes in ``y``, counting values within ``threshold`` of zero as positive (librosa's rule)."""
    neg = np.signbit(y) & (np.abs(y) > threshold)
    return int(np.count_nonzero(neg[1:] != neg[:-1]))


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
        tuning = estimate_tuning(spec.magnitude, sr=sr, n_fft=n_fft, bins_per_octave=config.n_chroma)
        cfb = chroma_filterbank(sr=sr, n_fft=n_fft, n_chroma=config.n_chroma, tuning=tuning)
        raw = spec.magnitude @ cfb.T  # (t, n_chroma)
        peak = np.abs(raw).max(axis=1, keepdims=True)
        tiny = np.finfo(raw.dtype).tiny
        chroma = raw / np.where(peak < tiny, 1.0, peak)
        parts.append(chroma.mean(axis=0, dtype=np.float64))
    parts += [mfcc_mean, np.array([zero_crossings(y)], dtype=np.float64)]
    return np.concatenate(parts).astype(np.float32)
