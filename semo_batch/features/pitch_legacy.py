"""The first F0 tracker, frozen: feature sets recorded with it (``emo`` before version 4, and so
the bundled models' ``emo+whisper``) must keep their numbers bit for bit.  New code uses
:func:`semo_batch.features.pitch.f0_autocorrelation`."""

from __future__ import annotations

import functools

import numpy as np

from . import fft

__all__ = ["f0_legacy"]


@functools.lru_cache(maxsize=16)
def _window_autocorrelation(window_key: tuple[int, int]) -> np.ndarray:
    win_length, n_fft = window_key
    from .filters import hann_window

    w = hann_window(win_length=win_length, n_fft=n_fft).astype(np.float64)
    r = np.fft.irfft(np.abs(np.fft.rfft(w)) ** 2, n=n_fft)
    r = r / r[0]
    r.setflags(write=False)
    return r


def f0_legacy(
    power: np.ndarray,
    *,
    sr: int,
    n_fft: int,
    win_length: int,
    f0_min: float,
    f0_max: float,
    octave_cost: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """The first F0 tracker (``legacy=True``), unchanged: each frame's best peak on its own.

    Parabolic interpolation between whole-sample lags underestimates a narrow peak
    that falls between two of them, so the sub-harmonic at twice the period often
    scores higher: octave-down errors on isolated frames.
    """
    lag_min = max(int(np.floor(sr / f0_max)), 2)
    lag_max = int(np.ceil(sr / f0_min))
    lag_max = min(lag_max, n_fft - win_length, win_length - 1)
    t = power.shape[0]
    if t == 0 or lag_max <= lag_min + 1:
        return np.zeros(t), np.zeros(t)
    # The power spectrum is real and even, so its inverse FFT is a type-I DCT (up to a
    # scale that the normalisation by lag 0 removes); scipy's DCT is several times faster.
    r = fft.dct1(power)[:, : lag_max + 2]
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
