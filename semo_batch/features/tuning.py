"""librosa's tuning estimate without numba: piptrack peaks between 150 Hz and 4 kHz, then the
histogram of their deviation from the tempered scale, restricted to the bins it can look at."""

from __future__ import annotations

import numpy as np

__all__ = ["estimate_tuning"]


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
