"""Figure plumbing shared by every figure: a bare Agg figure, PNG encoding, small axis helpers.

Every figure is drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas, never through pyplot: no global figure registry, no interactive backend
chosen or changed behind a notebook user's back, nothing kept alive between
calls.  matplotlib is imported inside the functions, so importing this package
never loads it.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..naming import EMOTIONS

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DPI", "new_figure", "png_bytes", "save_png", "colorbar", "integer_ticks", "label_order", "bars", "counts"]

#: Resolution of saved PNGs, dots per inch: readable on screen, small on disk.
DPI = 90


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, *, dpi: int = DPI) -> bytes:
    """``fig`` encoded as a PNG with a 256-colour palette, in memory.

    Spectrograms make full-colour PNGs large (half a megabyte for the inspection
    figure); a palette without dithering is indistinguishable on screen and about
    a third of the size, which matters for README images and for reports that
    embed several figures as base64.
    """
    from PIL import Image

    # Through a fast full-colour PNG rather than the canvas's pixel buffer, so that any
    # figure works, whatever canvas (backend) it was made with.
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    full.seek(0)
    with Image.open(full) as im:
        palette = im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    palette.save(buf, format="png", optimize=True)
    return buf.getvalue()


def save_png(fig: Figure, out_png: str | os.PathLike[str], *, dpi: int = DPI) -> Path:
    """Write ``fig`` as a PNG (see :func:`png_bytes`), creating the folder; returns the path."""
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png_bytes(fig, dpi=dpi))
    return out


def colorbar(ax: Axes, mappable: Any, label: str) -> None:
    # An inset colour bar keeps every panel of a column the same width, which the
    # layout's own colour bars do not when a neighbour has a twin axis.
    cax = ax.inset_axes((1.01, 0.0, 0.015, 1.0))
    cax.set_label("colorbar")
    cb = ax.figure.colorbar(mappable, cax=cax)
    cb.set_label(label)


def integer_ticks(ax: Axes) -> None:
    """Whole numbers only on the y axis (counts of files)."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def label_order(labels: Iterable[str]) -> list[str]:
    """The RAVDESS emotions in code order first, then any other labels alphabetically."""
    seen = set(labels)
    return [e for e in EMOTIONS if e in seen] + sorted(seen - set(EMOTIONS))


def bars(ax: Axes, counts: Sequence[tuple[str, int]], *, xlabel: str, rotate: bool = True) -> None:
    """Vertical count bars with the count written above each."""
    x = np.arange(len(counts))
    values = [c for _, c in counts]
    bars = ax.bar(x, values, color="tab:blue")
    ax.bar_label(bars, fontsize=7)
    ax.set_xticks(x, [k for k, _ in counts], rotation=45 if rotate else 0,
                  ha="right" if rotate else "center", parse_math=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("files")
    integer_ticks(ax)
    ax.margins(y=0.12)


def counts(values: Iterable[Any], *, order: Sequence[str] | None = None) -> list[tuple[str, int]]:
    """Occurrences of each value as text (``None`` becomes ``"unknown"``), in ``order`` if given."""
    c = Counter("unknown" if v is None else str(v) for v in values)
    first = [k for k in order or () if k in c]
    return [(k, c[k]) for k in first + sorted(set(c) - set(first))]


