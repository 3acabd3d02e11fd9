"""The timeline of a long recording: its waveform, each segment coloured by its emotion,
and the confidence over time.

The waveform is read again block by block (:class:`~semo_batch.stream.AudioStream`) and
kept as a min/max envelope of at most :data:`ENVELOPE_POINTS` columns, so an hour-long
recording draws in flat memory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AudioError
from ..labels import EMOTIONS
from .canvas import DPI, new_figure, save_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..longform import RecordingResult

__all__ = ["ENVELOPE_POINTS", "MAX_TIMELINES", "envelope", "plot_timelines", "timeline_figure"]

#: Columns of the waveform envelope.
ENVELOPE_POINTS = 2000
#: Recordings drawn in one figure (the longest ones).
MAX_TIMELINES = 6
#: One colour per emotion, the same in every figure.
COLORS = dict(zip(EMOTIONS, ("#9e9e9e", "#80cbc4", "#fdd835", "#1e88e5", "#e53935", "#8e24aa", "#6d4c41", "#fb8c00")))
ENV_RATE = 8000


def envelope(path: str, points: int = ENVELOPE_POINTS) -> tuple[np.ndarray, np.ndarray, float]:
    """Min and max of each of ``points`` equal stretches of the file, and its duration (s);
    read block by block at 8 kHz.  Empty arrays when the file cannot be read."""
    from ..stream import AudioStream

    try:
        with AudioStream(path, sr=ENV_RATE) as stream:
            seconds = stream.info.duration
            per = max(1, int(np.ceil(seconds * ENV_RATE / points)))
            lo, hi, rest = [], [], np.zeros(0, dtype=np.float32)
            for block in stream:
                rest = np.concatenate([rest, block])
                n = len(rest) // per * per
                if n:
                    cols = rest[:n].reshape(-1, per)
                    lo.append(cols.min(axis=1))
                    hi.append(cols.max(axis=1))
                    rest = rest[n:]
            if len(rest):
                lo.append(rest.min(keepdims=True))
                hi.append(rest.max(keepdims=True))
    except AudioError:
        return np.zeros(0), np.zeros(0), 0.0
    return (np.concatenate(lo) if lo else np.zeros(0)), (np.concatenate(hi) if hi else np.zeros(0)), seconds


def timeline_figure(results: Sequence[RecordingResult]) -> Figure:
    """One row per recording (the :data:`MAX_TIMELINES` longest): the waveform envelope with
    each labelled segment shaded in its emotion's colour, and each segment's confidence as a
    step line on a second axis (0-1)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    chosen = sorted(results, key=lambda r: -r.summary.duration)[:MAX_TIMELINES]
    fig = new_figure(13.0, 1.6 + 2.4 * max(len(chosen), 1))
    axes = fig.subplots(max(len(chosen), 1), 1, squeeze=False)[:, 0]
    seen: set[str] = set()
    for ax, r in zip(axes, chosen):
        lo, hi, seconds = envelope(r.path)
        seconds = seconds or r.summary.duration
        if len(lo):
            t = np.linspace(0.0, seconds, len(lo))
            ax.fill_between(t, lo, hi, color="#424242", linewidth=0)
            peak = float(max(np.abs(lo).max(), np.abs(hi).max())) or 1.0
            ax.set_ylim(-1.1 * peak, 1.1 * peak)
        for seg in r.segments:
            if seg.emotion is not None:
                ax.axvspan(seg.start, seg.end, color=COLORS.get(seg.emotion, "#bdbdbd"), alpha=0.45, linewidth=0)
                seen.add(seg.emotion)
        ax.set_xlim(0.0, max(seconds, 1e-3))
        ax.set_ylabel("amplitude")
        shares = ", ".join(f"{lab} {s:.0%}" for lab, s in zip(r.labels, r.summary.shares) if s >= 0.05)
        ax.set_title(f"{Path(r.path).name}: {r.summary.segments} segments, {r.summary.speech_seconds:.0f} s of speech"
                     f" in {seconds:.0f} s; {shares or 'nothing labelled'}", fontsize=9, loc="left")
        conf = ax.twinx()
        # A level line over each labelled segment, broken between segments.
        xs = [x for s in r.segments if s.confidence is not None for x in (s.start, s.end, np.nan)]
        ys = [y for s in r.segments if s.confidence is not None for y in (s.confidence, s.confidence, np.nan)]
        conf.plot(xs, ys, color="black", linewidth=1.5, label="confidence")
        conf.set_ylim(0.0, 1.0)
        conf.set_ylabel("confidence")
    axes[-1].set_xlabel("time (s)")
    order = [e for e in EMOTIONS if e in seen] + sorted(seen - set(EMOTIONS))
    if order:
        fig.legend(handles=[Patch(color=COLORS.get(e, "#bdbdbd"), alpha=0.6, label=e) for e in order]
                   + [Line2D([], [], color="black", linewidth=1.5, label="confidence (right axis)")],
                   loc="outside lower center", ncol=len(order) + 1, fontsize=8, frameon=False)
    return fig


def plot_timelines(results: Sequence[RecordingResult], out_png: str | os.PathLike[str], *, dpi: int = DPI) -> Path:
    """Save :func:`timeline_figure` as a PNG."""
    return save_png(timeline_figure(results), out_png, dpi=dpi)
