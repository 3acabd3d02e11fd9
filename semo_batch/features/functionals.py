"""Functionals: fixed-length summaries of frame-level descriptors."""

from __future__ import annotations

import numpy as np

__all__ = ["STATS", "summarize", "power_to_db"]

#: Every statistic :func:`summarize` knows, by name.
STATS = ("mean", "std", "p10", "p50", "p90", "range", "slope")


def power_to_db(power: np.ndarray, *, amin: float = 1e-10, top_db: float | None = None) -> np.ndarray:
    """``10 * log10(max(amin, power))``, optionally floored ``top_db`` below its maximum (librosa's ``power_to_db``)."""
    db = 10.0 * np.log10(np.maximum(power, amin))
    if top_db is not None and db.size:
        np.maximum(db, db.max() - top_db, out=db)
    return db


def summarize(x: np.ndarray, stats: tuple[str, ...], *, frame_rate: float) -> np.ndarray:
    """Summarize descriptors over frames.

    Args:
        x: descriptors [shape=(t,) or (t, k)], frames first.
        stats: names from :data:`STATS`; ``range`` is p90 - p10 (robust to outliers),
            ``slope`` the least-squares trend per second.
        frame_rate: frames per second, for ``slope``.

    Returns:
        float64 [shape=(k, len(stats))]; zeros when ``t == 0``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    t, k = x.shape
    out = np.zeros((k, len(stats)))
    if t == 0:
        return out
    want_pct = [s for s in stats if s in ("p10", "p50", "p90", "range")]
    pct: dict[int, np.ndarray] = {}
    if want_pct:
        qs = sorted({q for s in want_pct for q in ((10, 90) if s == "range" else (int(s[1:]),))})
        vals = np.percentile(x, qs, axis=0)
        pct = dict(zip(qs, vals))
    for i, s in enumerate(stats):
        if s == "mean":
            out[:, i] = x.mean(axis=0)
        elif s == "std":
            out[:, i] = x.std(axis=0)
        elif s in ("p10", "p50", "p90"):
            out[:, i] = pct[int(s[1:])]
        elif s == "range":
            out[:, i] = pct[90] - pct[10]
        elif s == "slope":
            if t > 1:
                tt = (np.arange(t) - (t - 1) / 2.0) / frame_rate
                out[:, i] = tt @ (x - x.mean(axis=0)) / (tt @ tt)
        else:  # pragma: no cover - guarded by the callers' constant tuples
            raise ValueError(f"unknown statistic {s!r}; known: {STATS}")
    return out
