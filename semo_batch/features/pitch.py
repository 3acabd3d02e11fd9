"""Pitch: librosa's tuning estimate without numba, and a fast F0 track.

:func:`estimate_tuning` reproduces ``librosa.estimate_tuning(S=..., sr=...)``
(piptrack peaks between 150 Hz and 4 kHz, then the histogram of their
deviation from the tempered scale), restricted to the bins it can look at,
so it costs a fraction of the original and compiles nothing.

:func:`f0_autocorrelation` tracks F0 from the same power spectrum as every
other feature: the autocorrelation of a windowed frame is the inverse FFT of
its power spectrum, normalised by the window's own autocorrelation
(Boersma, 1993).  The autocorrelation is read at half-sample lags (the
band-limited interpolation that zero-padding the power spectrum gives), each
frame keeps its few best peaks, scored with an octave cost, and a Viterbi pass
picks one per frame, with a cost on octave jumps between neighbouring
periodic frames (as Praat's path finder does).  ``legacy=True`` gives the
first version: the best peak of each frame, parabola-interpolated between
whole-sample lags, on its own; it reports sub-harmonics (octave-down errors)
on many frames and is kept only for feature sets recorded with it.
"""

from __future__ import annotations

import functools

import numpy as np

from . import fft
from .pitch_legacy import f0_legacy
from .tuning import estimate_tuning

__all__ = ["estimate_tuning", "f0_autocorrelation", "OCTAVE_COST", "OCTAVE_JUMP_COST", "N_CANDIDATES"]

#: Octave cost of :func:`f0_autocorrelation` (per octave of lag above ``sr / f0_min``).
OCTAVE_COST = 0.05
#: Path cost per octave of F0 change between neighbouring periodic frames.  Praat's
#: default is 0.35 (with 15 candidates).  With 0.5 and 8 candidates, 0.67 % and 0.89 % of
#: the voiced frames of two sets of 48 RAVDESS files lie more than 0.75 octave off the
#: median of their neighbours (+-5 frames), against 1.00 % and 0.96 % with 0.35 and 5
#: candidates, and 6.9 % and 7.2 % with the first tracker; no change on synthetic glides.
OCTAVE_JUMP_COST = 0.5
#: Autocorrelation peaks per frame the path chooses from: enough that the true period
#: survives next to its multiples in a frame with strong sub-harmonics.
N_CANDIDATES = 8
_UPSAMPLE = 2
_NO_PEAK = 1e3  # path cost of a candidate slot without a peak
_GROW = 8  # frames analysed beyond a frame asked for, or beyond a periodic edge, per pass


def f0_autocorrelation(
    power: np.ndarray,
    *,
    sr: int,
    n_fft: int,
    win_length: int,
    f0_min: float,
    f0_max: float,
    octave_cost: float | None = None,
    octave_jump_cost: float = OCTAVE_JUMP_COST,
    voicing_threshold: float = 0.5,
    n_candidates: int = N_CANDIDATES,
    legacy: bool = False,
    frames: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """F0 and its periodicity strength for every frame.

    Args:
        power: |STFT|**2 of Hann-windowed frames [shape=(t, 1 + n_fft // 2)].
        win_length: the Hann window's length; lags up to ``n_fft - win_length``
            are free of circular aliasing, so ``sr / f0_min`` must not exceed it.
        octave_cost: subtracted from a peak's height per octave of its lag above
            ``sr / f0_min``, against sub-harmonics (``None``: :data:`OCTAVE_COST`,
            or 0.01 with ``legacy``).
        octave_jump_cost: path cost per octave of F0 change between neighbouring frames
            that both have a peak above ``voicing_threshold``.
        voicing_threshold: frames whose best peak is not above it are not tied to their
            neighbours (the caller's voicing threshold).
        n_candidates: peaks per frame the path chooses from (at least 1).
        legacy: the first version (feature sets before ``emo`` version 4): the best
            peak of each frame on its own, from whole-sample lags.
        frames: the frames the caller reads (bool [shape=(t,)]; ``None``: all).  Only
            they, and the frames the path ties them to, are analysed; the others are NaN.
            The frames read get the same numbers, bit for bit, as without ``frames``:
            every step is frame by frame except the path, which sees whole tied runs.

    Returns:
        ``(f0, strength)``, each [shape=(t,)]: F0 in Hz of the chosen lag (0 where the
        autocorrelation has no peak of positive correlation in the search range; with
        ``legacy``, no peak at all), and the normalised autocorrelation there (near 1
        for a clean periodic frame, near 0 for noise).  A caller decides voicing by
        thresholding ``strength``.

    Raises:
        ValueError: ``n_candidates`` below 1.
    """
    t = power.shape[0]
    wanted = np.ones(t, dtype=bool) if frames is None else np.asarray(frames, dtype=bool)
    if legacy:
        if wanted.all():
            return f0_legacy(
                power, sr=sr, n_fft=n_fft, win_length=win_length, f0_min=f0_min, f0_max=f0_max,
                octave_cost=0.01 if octave_cost is None else octave_cost,
            )
        f0_part, strength_part = f0_legacy(
            power[wanted], sr=sr, n_fft=n_fft, win_length=win_length, f0_min=f0_min, f0_max=f0_max,
            octave_cost=0.01 if octave_cost is None else octave_cost,
        )
        f0, strength = np.full(t, np.nan, f0_part.dtype), np.full(t, np.nan, strength_part.dtype)
        f0[wanted], strength[wanted] = f0_part, strength_part
        return f0, strength
    if n_candidates < 1:
        raise ValueError(f"n_candidates must be at least 1. Got {n_candidates} instead.")
    octave_cost = OCTAVE_COST if octave_cost is None else octave_cost
    lag_min, lag_max = _lag_range(sr=sr, n_fft=n_fft, win_length=win_length, f0_min=f0_min, f0_max=f0_max)
    if t == 0 or lag_max <= lag_min + 1:
        return np.zeros(t), np.zeros(t)
    k = n_candidates
    valid = np.zeros((t, k), dtype=bool)
    local = np.full((t, k), _NO_PEAK)
    log_f0 = np.zeros((t, k))
    height = np.zeros((t, k))
    periodic = np.zeros(t, dtype=bool)
    analysed = np.zeros(t, dtype=bool)
    todo = wanted if wanted.all() else _widen(wanted, _GROW)
    while todo.any():
        # A periodic frame is tied to its periodic neighbours: analyse those too (a few
        # frames further at once: a pass costs more than a frame), until every run of
        # tied frames that touches a frame asked for is whole.
        rows = np.flatnonzero(todo)
        v, lc, lf, h = _candidates(
            power[rows] if rows.size < t else power, rows, sr=sr, n_fft=n_fft, win_length=win_length,
            f0_min=f0_min, lag_min=lag_min, lag_max=lag_max, octave_cost=octave_cost, n_candidates=k,
        )
        valid[rows], local[rows], log_f0[rows], height[rows] = v, lc, lf, h
        periodic[rows] = np.where(v, h, -np.inf).max(axis=1) > voicing_threshold
        analysed[rows] = True
        reach = np.zeros(t, dtype=bool)
        reach[1:] = periodic[:-1]
        reach[:-1] |= periodic[1:]
        reach &= ~analysed
        todo = _widen(reach, _GROW) & ~analysed if reach.any() else reach
    tied = periodic[1:] & periodic[:-1]
    choice = _best_path(local, log_f0, tied, octave_jump_cost)
    rows = np.arange(t)
    found = valid[rows, choice]
    f0 = np.where(found, np.exp2(log_f0[rows, choice]), 0.0)
    strength = np.clip(np.where(found, height[rows, choice], 0.0), 0.0, 1.0)
    if not analysed.all():
        f0[~analysed] = np.nan
        strength[~analysed] = np.nan
    return f0, strength


def _widen(mask: np.ndarray, frames: int) -> np.ndarray:
    """``mask`` with every True spread ``frames`` frames to each side."""
    reach = np.convolve(mask.astype(np.int32), np.ones(2 * frames + 1, dtype=np.int32))
    return reach[frames : frames + mask.size] > 0


def _candidates(
    power: np.ndarray, frame_ids: np.ndarray, *, sr: int, n_fft: int, win_length: int, f0_min: float,
    lag_min: int, lag_max: int, octave_cost: float, n_candidates: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each frame's best ``n_candidates`` autocorrelation peaks, frame by frame.

    Args:
        power: the frames' power spectra [shape=(n, 1 + n_fft // 2)].
        frame_ids: their indices in the file [shape=(n,)] (the sort key holds them, and
            so its rounding: a frame gets the same candidates in any company).

    Returns:
        ``(valid, local, log_f0, height)``, each [shape=(n, n_candidates)]: whether the slot
        holds a peak, its path cost (``_NO_PEAK`` if none), log2 of its F0 (0 if none), and
        its interpolated height.
    """
    n = power.shape[0]
    u = _UPSAMPLE
    # Zero-padding the power spectrum to u times its length samples the autocorrelation
    # at 1/u-sample lags (its band-limited interpolation); the Nyquist bin, an end point
    # of the short transform, is an inner point of the long one and counts half.
    half = n_fft // 2
    padded = np.zeros((n, u * half + 1), dtype=power.dtype)
    padded[:, : half + 1] = power
    padded[:, half] *= 0.5
    lo, hi = u * lag_min, u * lag_max  # fine lags searched
    r = fft.dct1(padded, overwrite_x=True)
    r0 = r[:, :1]
    inv_r0 = np.divide(1.0, r0, out=np.zeros_like(r0), where=r0 > 0)
    inv_rw = (1.0 / _window_autocorrelation_fine(win_length, n_fft, u)[lo - 1 : hi + 2]).astype(r.dtype)
    seg = r[:, lo - 1 : hi + 2] * inv_r0 * inv_rw  # normalised autocorrelation, one lag each side
    mid = seg[:, 1:-1]
    # Peaks of positive correlation, frame by frame (in row order).  In-place masks and
    # one flat search: twice as fast as np.nonzero of the combined 2-D mask.
    is_peak = mid >= seg[:, :-2]
    is_peak &= mid > seg[:, 2:]
    is_peak &= mid > 0
    rows, cols = np.divmod(np.flatnonzero(is_peak), is_peak.shape[1])
    # Keep each frame's best few by their sampled height (at 1/u-sample spacing within a
    # fraction of a percent of the interpolated one), less the octave cost: a stable sort
    # on frame * 8 + cost (the cost lies within +-3.5) sorts frames apart, by cost within each.
    lag_cost = octave_cost * np.log2((lo + cols) * f0_min / (u * sr))
    cost = np.clip(lag_cost - np.minimum(mid[rows, cols], 1.0), -3.5, 3.5)
    order = np.argsort(frame_ids[rows] * 8.0 + cost, kind="stable")
    rows, cols = rows[order], cols[order]
    rank = np.arange(rows.size) - np.searchsorted(rows, np.arange(n))[rows]  # place within its frame
    keep = rank < n_candidates
    rows, cols, rank = rows[keep], cols[keep], rank[keep]
    k = n_candidates
    valid = np.zeros((n, k), dtype=bool)
    valid[rows, rank] = True
    idx = np.zeros((n, k), dtype=np.intp)
    idx[rows, rank] = cols
    at = idx + np.arange(0, n * seg.shape[1], seg.shape[1])[:, None]  # flat index of each slot's left lag
    flat = seg.reshape(-1)
    left, centre, right = (flat.take(at + j).astype(np.float64) for j in (0, 1, 2))
    curv = left + right - 2 * centre
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(valid, 0.5 * (left - right) / curv, 0.0)
    # np.clip(np.nan_to_num(delta), -0.5, 0.5), without nan_to_num's Python-level work.
    delta = np.minimum(np.maximum(delta, -0.5), 0.5)
    delta[np.isnan(delta)] = 0.0
    height = centre - 0.25 * (left - right) * delta
    if not np.isfinite(height).all():
        height = np.nan_to_num(height)
    tau = (lo + idx + delta) / u  # lag in samples
    log_f0 = np.where(valid, np.log2(sr / tau), 0.0)
    score = np.minimum(height, 1.0) - octave_cost * np.log2(tau * f0_min / sr)
    local = np.where(valid, -score, _NO_PEAK)
    return valid, local, log_f0, height


def _lag_range(*, sr: int, n_fft: int, win_length: int, f0_min: float, f0_max: float) -> tuple[int, int]:
    lag_min = max(int(np.floor(sr / f0_max)), 2)
    lag_max = int(np.ceil(sr / f0_min))
    return lag_min, min(lag_max, n_fft - win_length, win_length - 1)


@functools.lru_cache(maxsize=16)
def _window_autocorrelation_fine(win_length: int, n_fft: int, u: int) -> np.ndarray:
    """The Hann window's autocorrelation at 1/u-sample lags, 1 at lag 0, as the frames' is computed."""
    from .filters import hann_window

    w = hann_window(win_length=win_length, n_fft=n_fft).astype(np.float64)
    p = np.zeros(u * (n_fft // 2) + 1)
    p[: n_fft // 2 + 1] = np.abs(np.fft.rfft(w)) ** 2
    p[n_fft // 2] *= 0.5
    r = fft.dct1(p)
    r = r / r[0]
    r.setflags(write=False)
    return r


def _best_path(local: np.ndarray, log_f0: np.ndarray, tied: np.ndarray, jump_cost: float) -> np.ndarray:
    """Viterbi: the candidate per frame minimising local costs plus jump costs where ``tied``.

    Args:
        local: cost of each candidate [shape=(t, k)].
        log_f0: its log2 F0 [shape=(t, k)].
        tied: whether frame ``i + 1`` is tied to frame ``i`` [shape=(t - 1,)].
        jump_cost: cost per octave between tied frames.

    Returns:
        The chosen column of each frame [shape=(t,)].
    """
    t, k = local.shape
    choice = np.argmin(local, axis=1)  # untied frames: their own best
    if jump_cost <= 0 or not tied.any():
        return choice
    # Each run of tied frames is a chain of its own; all runs advance together, one
    # frame per step, so the loop is as long as the longest run, not the file.  A run
    # shorter than the longest is padded with free steps (no local or jump cost), whose
    # back pointers lead to the best candidate of its last frame.
    d = np.diff(np.concatenate(([0], tied.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1) + 1  # frames [start, end)
    lengths = ends - starts
    longest = int(lengths.max())
    steps = np.arange(longest)
    live = steps[None, :] < lengths[:, None]  # (runs, longest)
    frames = np.minimum(starts[:, None] + steps[None, :], ends[:, None] - 1)
    # Step-major (step, run, ...): each step reads contiguous blocks.
    cost_l = np.where(live.T[:, :, None], local[frames.T], 0.0)  # (longest, runs, k)
    lf = log_f0[frames.T]
    jumps = jump_cost * np.abs(lf[1:, :, :, None] - lf[:-1, :, None, :])  # (longest - 1, runs, k to, k from)
    jumps *= live.T[1:, :, None, None]
    n_runs = starts.size
    # The loop runs once per frame of the longest run, on arrays of a few hundred numbers,
    # so it is written for numpy's per-call overhead: ufuncs and array methods called
    # directly (np.take's Python wrapper cost more than its work), views made once, and
    # each step's minimum read at its argmin rather than found again by a reduction, a
    # third of the step's time (the same number: the minimum is one of the sums).
    back = np.empty((longest, n_runs, k), dtype=np.intp)  # back[s]: contiguous
    cost = cost_l[0].copy()
    trans = np.empty((n_runs, k, k))
    flat_trans, flat_cost = trans.reshape(-1), cost.reshape(-1)
    row_start = np.arange(0, n_runs * k * k, k)  # of each (run, to) row in flat_trans
    at = np.empty(n_runs * k, dtype=np.intp)
    add, take = np.add, flat_trans.take
    back_flat = back.reshape(longest, n_runs * k)
    for s in range(1, longest):
        add(cost[:, None, :], jumps[s - 1], out=trans)  # (runs, k to, k from)
        trans.argmin(axis=2, out=back[s])
        add(row_start, back_flat[s], out=at)
        take(at, out=flat_cost)
        cost += cost_l[s]
    # Back pointers as flat indices into a step's (run, candidate) row, so that the walk
    # back is one take a step.
    run_start = np.arange(0, n_runs * k, k)
    back_flat[1:] += np.repeat(run_start, k)  # (step 0 has none)
    picks = np.empty((longest, n_runs), dtype=np.intp)
    pick = run_start + np.argmin(cost, axis=1)
    for s in range(longest - 1, 0, -1):
        picks[s] = pick
        pick = back_flat[s].take(pick)
    picks[0] = pick
    picks -= run_start
    picks = picks.T  # (runs, longest)
    choice[frames[live]] = picks[live]
    return choice
