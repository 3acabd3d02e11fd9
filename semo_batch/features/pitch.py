"""Pitch: librosa's tuning estimate without numba, and a fast F0 track.

:func:`estimate_tuning` reproduces ``librosa.estimate_tuning(S=..., sr=...)``
(piptrack peaks between 150 Hz and 4 kHz, then the histogram of their
deviation from the tempered scale), restricted to the bins it can look at,
so it costs a fraction of the original and compiles nothing.

:func:`f0_autocorrelation` tracks F0 from the same power spectrum as every
other feature: the autocorrelation of a windowed frame is the inverse FFT of
its power spectrum, normalised by the window's own autocorrelation
(Boersma, 1993), with a small octave cost against sub-harmonics.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

__all__ = ["estimate_tuning", "f0_autocorrelation"]


def estimate_tuning(
    magnitude: np.ndarray,
    *,
    sr: int,
    n_fft: int,
    bins_per_octave: int = 12,
    fmin: float = 150.0,
    fmax: float = 4000.0,
    threshold: float = 0.1,
    resolution: float = 0.01,
) -> float:
    """Deviation of the spectral peaks from A440 tuning, in fractions of a bin.

    Args:
        magnitude: |STFT| [shape=(t, 1 + n_fft // 2)], frames first.
        bins_per_octave: resolution of the scale the deviation is measured against.

    Returns:
        A value in [-0.5, 0.5), on a grid of ``resolution``; 0.0 when there are no peaks.
    """
    n_bins = magnitude.shape[1]
    freqs = np.arange(n_bins) * (sr / n_fft)
    fmax = min(fmax, sr / 2.0)
    cols = np.flatnonzero((freqs >= max(fmin, 0.0)) & (freqs < fmax))
    if cols.size == 0 or magnitude.shape[0] == 0:
        return 0.0
    lo, hi = int(cols[0]), int(cols[-1]) + 1
    # Peaks in [lo, hi) need their two neighbours; the range never reaches bin 0 or Nyquist
    # with fmin > 0 and fmax <= sr / 2, except for tiny FFTs, handled by clamping.
    a, b = max(lo - 1, 0), min(hi + 1, n_bins)
    s = magnitude[:, a:b]
    ref = threshold * magnitude.max(axis=1, keepdims=True)
    st = s * (s > ref)
    centre = st[:, 1:-1]
    is_peak = (centre > st[:, :-2]) & (centre >= st[:, 2:])
    t_idx, j = np.nonzero(is_peak)
    if t_idx.size == 0:
        return 0.0
    k = j + 1  # column in s
    left, mid, right = s[t_idx, k - 1], s[t_idx, k], s[t_idx, k + 1]
    curv = right + left - 2 * mid
    slope = (right - left) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(slope) >= np.abs(curv), 0.0, -slope / curv).astype(s.dtype)
    bins = k + a
    # Keep the peaks whose bin lies in the feasible range (the clamped edges may add others).
    keep = (bins >= lo) & (bins < hi)
    shift, bins, slope, mid = shift[keep], bins[keep], slope[keep], mid[keep]
    pitch = (bins + shift) * (float(sr) / n_fft)
    mags = mid + 0.5 * slope * shift
    valid = pitch > 0
    if not valid.any():
        return 0.0
    thresh = np.median(mags[valid])
    freqs_sel = pitch[(mags >= thresh) & valid]
    return _pitch_tuning(freqs_sel, resolution=resolution, bins_per_octave=bins_per_octave)


def _pitch_tuning(frequencies: np.ndarray, *, resolution: float, bins_per_octave: int) -> float:
    frequencies = frequencies[frequencies > 0]
    if frequencies.size == 0:
        return 0.0
    residual = np.mod(bins_per_octave * np.log2(frequencies / (440.0 / 16)), 1.0)
    residual[residual >= 0.5] -= 1.0
    edges = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1)
    counts, _ = np.histogram(residual, edges)
    return float(edges[np.argmax(counts)])


@functools.lru_cache(maxsize=16)
def _window_autocorrelation(window_key: tuple[int, int]) -> np.ndarray:
    win_length, n_fft = window_key
    from .filters import hann_window

    w = hann_window(win_length=win_length, n_fft=n_fft).astype(np.float64)
    r = np.fft.irfft(np.abs(np.fft.rfft(w)) ** 2, n=n_fft)
    r = r / r[0]
    r.setflags(write=False)
    return r


def f0_autocorrelation(
    power: np.ndarray,
    *,
    sr: int,
    n_fft: int,
    win_length: int,
    f0_min: float,
    f0_max: float,
    octave_cost: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """F0 candidate and its periodicity strength for every frame.

    Args:
        power: |STFT|**2 of Hann-windowed frames [shape=(t, 1 + n_fft // 2)].
        win_length: the Hann window's length; lags up to ``n_fft - win_length``
            are free of circular aliasing, so ``sr / f0_min`` must not exceed it.

    Returns:
        ``(f0, strength)``, each [shape=(t,)]: F0 in Hz of the best lag (0 where the
        autocorrelation has no peak in the search range), and the normalised autocorrelation there (near 1 for a clean periodic frame, near 0
        for noise).  A caller decides voicing by thresholding ``strength``.
    """
    lag_min = max(int(np.floor(sr / f0_max)), 2)
    lag_max = int(np.ceil(sr / f0_min))
    lag_max = min(lag_max, n_fft - win_length, win_length - 1)
    t = power.shape[0]
    if t == 0 or lag_max <= lag_min + 1:
        return np.zeros(t), np.zeros(t)
    # The power spectrum is real and even, so its inverse FFT is a type-I DCT (up to a
    # scale that the normalisation by lag 0 removes); scipy's DCT is several times faster.
    r = scipy.fft.dct(power, type=1, axis=1)[:, : lag_max + 2]
    r0 = r[:, :1]
    rw = _window_autocorrelation((win_length, n_fft))[: lag_max + 2].astype(r.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        rn = np.where(r0 > 0, r / r0, 0.0) / rw
    # Judge every local maximum by the height of the parabola through it and its
    # neighbours: at high F0 the period falls between whole-sample lags, and the raw
    # samples would favour the sub-harmonic at twice the period.
    seg = rn[:, lag_min - 1 : lag_max + 2]
    left, mid, right = seg[:, :-2], seg[:, 1:-1], seg[:, 2:]
    curv = left + right - 2 * mid
    is_peak = (mid >= left) & (mid > right) & (curv < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(is_peak, 0.5 * (left - right) / curv, 0.0)
    delta = np.clip(np.nan_to_num(delta), -0.5, 0.5)
    height = mid - 0.25 * (left - right) * delta
    lags = np.arange(lag_min, lag_max + 1)
    tau_fine = lags[None, :] + delta
    score = np.where(is_peak, height - octave_cost * np.log2(tau_fine * f0_min / sr), -np.inf)
    best = np.argmax(score, axis=1)
    rows = np.arange(t)
    found = np.isfinite(score[rows, best])
    strength = np.where(found, height[rows, best], 0.0)
    f0 = np.where(found, sr / tau_fine[rows, best], 0.0)
    return f0.astype(np.float64), np.clip(np.nan_to_num(strength), 0.0, 1.0)
