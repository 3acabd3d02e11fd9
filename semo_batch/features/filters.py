"""Filter banks and transforms, built once per configuration and cached.

These are numpy re-implementations of librosa's ``filters.mel`` (Slaney),
``filters.chroma`` and the orthonormal DCT-II used by ``feature.mfcc``; the
tests check them against librosa.  Owning them keeps feature workers free of
librosa and numba: nothing is JIT-compiled at run time, so parallel workers
cannot race on numba's on-disk cache, and workers start fast.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "fft_frequencies",
    "hz_to_mel",
    "mel_to_hz",
    "mel_filterbank",
    "chroma_filterbank",
    "dct_matrix",
    "hann_window",
]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def fft_frequencies(*, sr: float, n_fft: int) -> np.ndarray:
    """Centre frequency of each rFFT bin in Hz [shape=(1 + n_fft // 2,)]."""
    return np.fft.rfftfreq(n_fft, d=1.0 / sr)


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-30) / min_log_hz) / logstep, mels)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@functools.lru_cache(maxsize=16)
def mel_filterbank(*, sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular mel filters with Slaney area normalization.

    Returns:
        float32 weights [shape=(n_mels, 1 + n_fft // 2)], read-only.
    """
    fftfreqs = fft_frequencies(sr=sr, n_fft=n_fft)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return _readonly(weights.astype(np.float32))


@functools.lru_cache(maxsize=256)
def chroma_filterbank(*, sr: int, n_fft: int, n_chroma: int, tuning: float = 0.0) -> np.ndarray:
    """Chroma filters as in librosa (Gaussian bumps per bin, octave weighting centred on C5).

    Args:
        tuning: deviation from A440 in fractions of a chroma bin; files get one of
            101 values from :func:`~semo_batch.features.tuning.estimate_tuning`, so
            this cache stays small.

    Returns:
        float32 weights [shape=(n_chroma, 1 + n_fft // 2)], read-only.
    """
    ctroct, octwidth = 5.0, 2.0
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    d = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    n_chroma2 = np.round(float(n_chroma) / 2)
    d = np.remainder(d + n_chroma2 + 10 * n_chroma, n_chroma) - n_chroma2
    wts = np.exp(-0.5 * (2 * d / binwidthbins[None, :]) ** 2)
    norms = np.sqrt(np.sum(wts**2, axis=0))
    tiny = np.finfo(wts.dtype).tiny
    wts = wts / np.where(norms < tiny, 1.0, norms)
    wts *= np.exp(-0.5 * (((frqbins / n_chroma - ctroct) / octwidth) ** 2))[None, :]
    wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    return _readonly(np.ascontiguousarray(wts[:, : 1 + n_fft // 2], dtype=np.float32))


@functools.lru_cache(maxsize=16)
def dct_matrix(*, n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II as a matrix [shape=(n_out, n_in)]: ``D @ x == scipy.fft.dct(x, norm='ortho')[:n_out]``."""
    n = np.arange(n_in)
    k = np.arange(n_out)[:, None]
    d = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    d[0] /= np.sqrt(2.0)
    return _readonly(d)


@functools.lru_cache(maxsize=16)
def hann_window(*, win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of ``win_length`` centred in ``n_fft`` zeros (librosa's convention)."""
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)
    out = np.zeros(n_fft, dtype=np.float32)
    lpad = (n_fft - win_length) // 2
    out[lpad : lpad + win_length] = w
    return _readonly(out)
