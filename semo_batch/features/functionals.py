"""Functionals: fixed-length summaries of frame-level descriptors."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["STATS", "summarize", "summarize_series", "power_to_db", "mean", "percentile", "median"]

#: Every statistic :func:`summarize` knows, by name.
STATS = ("mean", "std", "p10", "p50", "p90", "range", "slope")


def power_to_db(power: np.ndarray, *, amin: float = 1e-10, top_db: float | None = None) -> np.ndarray:
    """``10 * log10(max(amin, power))``, optionally floored ``top_db`` below its maximum (librosa's ``power_to_db``)."""
    db = 10.0 * np.log10(np.maximum(power, amin))
    if top_db is not None and db.size:
        np.maximum(db, db.max() - top_db, out=db)
    return db


def mean(x: np.ndarray, axis: int | None = None, *, keepdims: bool = False) -> Any:
    """``x.mean(axis, keepdims=keepdims)``, bit for bit, for a float, integer or boolean array,
    without numpy's Python-level work around the sum (half the time of a small mean; emo
    takes about 30 a file).

    The same steps as numpy's ``_methods._mean``: integers and booleans summed in float64,
    the sum divided by the count as a ``np.intp``.  Empty input and float16 go to numpy
    itself (its warning, its rules).  The tests compare both on random data.
    """
    n = x.size if axis is None else x.shape[axis]
    if n == 0 or x.dtype == np.float16:
        return x.mean(axis, keepdims=keepdims)
    dtype = np.float64 if x.dtype.kind in "biu" else None
    total = np.add.reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)  # type: ignore[call-overload]
    if isinstance(total, np.ndarray):
        return np.true_divide(total, np.intp(n), out=total, casting="unsafe")
    return total.dtype.type(total / np.intp(n))


def percentile(x: np.ndarray, q: int | list[int]) -> np.ndarray:
    """``np.percentile(x, q, axis=0)`` (method ``linear``), bit for bit, without its per-call
    overhead (several times the work on a few hundred frames).

    The same order statistics (from a sort instead of a partition) and the same
    interpolation arithmetic as numpy's ``_quantile`` and ``_lerp``, its type rules
    included: a scalar ``q`` interpolates in the dtype of ``x``, a list in float64.
    The tests compare both on random data, so a numpy that changes its formula is caught.

    Args:
        x: float32 or float64 [shape=(t,) or (t, k)], ``t >= 1``, frames first.
        q: percentages (0..100).
    """
    x = np.asarray(x)
    if x.shape[0] == 0 or x.dtype.kind != "f":  # numpy's own rules for these
        return np.percentile(x, q, axis=0)
    t = x.shape[0]
    ordered = np.sort(x, axis=0)
    if np.isnan(ordered[-1]).any():  # NaN sorts last; numpy's NaN rules for a column holding one
        return np.percentile(x, q, axis=0)
    weak = type(q) in (int, float)
    virtual = (t - 1) * np.true_divide(q, 100, out=...)
    below = np.floor(virtual, out=...)
    above = np.add(below, 1, out=...)
    last = virtual >= t - 1
    below[last] = -1
    above[last] = -1
    gamma = virtual - below
    lo, hi = ordered[below.astype(np.intp)], ordered[above.astype(np.intp)]
    weight: float | np.ndarray = float(gamma) if weak else gamma.reshape(gamma.shape + (1,) * (x.ndim - 1))
    diff = hi - lo
    out = np.add(lo, diff * weight, out=...)
    np.subtract(hi, diff * (1 - weight), out=out, where=weight >= 0.5, casting="unsafe", dtype=type(out.dtype))
    return out[()] if out.ndim == 0 else out


def median(x: np.ndarray) -> np.ndarray:
    """``np.median(x)`` of a 1-D float array without NaN, bit for bit: the middle value, or
    the mean of the two middle values."""
    if x.size == 0 or np.isnan(x).any():
        return np.median(x)
    mid = np.sort(x)[(x.size - 1) // 2 : x.size // 2 + 1]
    return mean(mid)


_PERCENTILES = {"p10": (10,), "p50": (50,), "p90": (90,), "range": (10, 90)}


@functools.lru_cache(maxsize=64)
def _percentiles_of(stats: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(sorted({q for s in stats for q in _PERCENTILES.get(s, ())}))


def summarize(x: np.ndarray, stats: tuple[str, ...], *, frame_rate: float) -> np.ndarray:
    """Summarize descriptors over frames.

    Args:
        x: descriptors [shape=(t,) or (t, k)], frames first.
        stats: names from :data:`STATS`; ``range`` is p90 - p10 (robust to outliers),
            ``slope`` the least-squares trend per second.
        frame_rate: frames per second, for ``slope``.

    Returns:
        float64 [shape=(k, len(stats))]; zeros when ``t == 0``.  The same numbers, bit for
        bit, as ``x.mean(axis=0)``, ``x.std(axis=0)`` and ``np.percentile(x, q, axis=0)``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    t, k = x.shape
    out = np.zeros((k, len(stats)))
    if t == 0:
        return out
    qs = _percentiles_of(stats)
    pct = dict(zip(qs, percentile(x, list(qs)))) if qs else {}
    # numpy's mean and std (_methods._mean, _var), their reductions shared: one sum per column.
    mu = mean(x, 0, keepdims=True)
    for i, s in enumerate(stats):
        if s == "mean":
            out[:, i] = mu[0]
        elif s == "std":
            dev = x - mu
            np.square(dev, out=dev)
            var = np.add.reduce(dev, axis=0)
            var /= t
            out[:, i] = np.sqrt(var, out=var)
        elif s in ("p10", "p50", "p90"):
            out[:, i] = pct[int(s[1:])]
        elif s == "range":
            out[:, i] = pct[90] - pct[10]
        elif s == "slope":
            if t > 1:
                tt = (np.arange(t) - (t - 1) / 2.0) / frame_rate
                out[:, i] = tt @ (x - mu[0]) / (tt @ tt)
        else:  # pragma: no cover - guarded by the callers' constant tuples
            raise ValueError(f"unknown statistic {s!r}; known: {STATS}")
    return out


def summarize_series(xs: np.ndarray, stats: tuple[str, ...], *, frame_rate: float) -> np.ndarray:
    """Summarize several 1-D descriptors of the same frames at once.

    Args:
        xs: one descriptor a row [shape=(k, t)].
        stats, frame_rate: as for :func:`summarize`.

    Returns:
        float64 [shape=(k, len(stats))]: row ``i`` is ``summarize(xs[i], ...)[0]``, bit for
        bit (a contiguous row is reduced as a 1-D array is, pairwise; the columns of a
        frames-first matrix are reduced in sequence, which rounds differently).
    """
    x = np.ascontiguousarray(xs, dtype=np.float64)
    k, t = x.shape
    out = np.zeros((k, len(stats)))
    if t == 0:
        return out
    qs = _percentiles_of(stats)
    pct = dict(zip(qs, percentile(x.T, list(qs)))) if qs else {}
    mu = mean(x, 1, keepdims=True)
    for i, s in enumerate(stats):
        if s == "mean":
            out[:, i] = mu[:, 0]
        elif s == "std":
            dev = x - mu
            np.square(dev, out=dev)
            var = np.add.reduce(dev, axis=1)
            var /= t
            out[:, i] = np.sqrt(var, out=var)
        elif s in ("p10", "p50", "p90"):
            out[:, i] = pct[int(s[1:])]
        elif s == "range":
            out[:, i] = pct[90] - pct[10]
        elif s == "slope":
            if t > 1:
                tt = (np.arange(t) - (t - 1) / 2.0) / frame_rate
                out[:, i] = [tt @ (row - m) / (tt @ tt) for row, m in zip(x, mu[:, 0])]
        else:  # pragma: no cover - guarded by the callers' constant tuples
            raise ValueError(f"unknown statistic {s!r}; known: {STATS}")
    return out
