"""Figures of results: training curves, confusion matrix, per-class scores, a batch of
predictions, and the overview of a featurized data set."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics import Scores
from .canvas import DPI, bars, colorbar, counts, integer_ticks, label_order, new_figure, save_png

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from matplotlib.figure import Figure

__all__ = [
    "training_curves_figure", "plot_training_curves", "confusion_matrix_figure", "plot_confusion_matrix",
    "per_class_figure", "plot_per_class", "predictions_figure", "plot_predictions", "dataset_overview_figure",
    "save_model_figures",
]

#: Keys of a scikit-learn classification report that are not classes.
_REPORT_SUMMARIES = frozenset({"accuracy", "macro avg", "weighted avg", "micro avg", "samples avg"})


_CURVES = (("accuracy", "val_accuracy", "accuracy", np.argmax), ("loss", "val_loss", "loss", np.argmin))


def training_curves_figure(history: Mapping[str, Sequence[float]]) -> Figure:
    """Accuracy and loss per epoch, training (solid) and validation (dashed).

    Args:
        history: Keras-style lists per epoch; any of ``accuracy``, ``val_accuracy``,
            ``loss``, ``val_loss`` (other keys are ignored).  The best validation
            epoch is marked.

    Raises:
        ValueError: none of the four keys holds values.
    """
    present = [c for c in _CURVES if history.get(c[0]) or history.get(c[1])]
    if not present:
        raise ValueError(
            "history must hold per-epoch lists under 'accuracy', 'val_accuracy', 'loss' or 'val_loss'. "
            f"Got keys {sorted(history)} instead."
        )
    fig = new_figure(5.5 * len(present), 3.6)
    for i, (train_key, val_key, ylabel, best) in enumerate(present):
        ax = fig.add_subplot(1, len(present), i + 1, label=train_key)
        for key, style, name in ((train_key, "-", "training"), (val_key, "--", "validation")):
            values = np.asarray(history.get(key) or [], dtype=np.float64)
            if values.size:
                ax.plot(np.arange(1, values.size + 1), values, style, lw=1.2, label=name)
        val = np.asarray(history.get(val_key) or [], dtype=np.float64)
        if val.size:
            b = int(best(val))
            ax.plot([b + 1], [val[b]], "o", color="tab:red", ms=5,
                    label=f"best validation: {val[b]:.3f} at epoch {b + 1}")
        ax.set(title=f"{ylabel} per epoch", xlabel="epoch", ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def plot_training_curves(
    history: Mapping[str, Sequence[float]], out_png: str | os.PathLike[str], *, dpi: int = DPI
) -> Path:
    """Save :func:`training_curves_figure` as a PNG."""
    return save_png(training_curves_figure(history), out_png, dpi=dpi)


def confusion_matrix_figure(cm: Any, labels: Sequence[str], *, title: str | None = None) -> Figure:
    """Heat map of a confusion matrix: each cell shows its count and its share of the true class.

    Args:
        cm: counts [shape=(n, n)], rows the true classes and columns the predicted ones
            (scikit-learn's convention).
        labels: the ``n`` class names, in the matrix's order.
        title: defaults to the number of files and the accuracy.

    Raises:
        ValueError: ``cm`` is not square, has negative counts, or does not match ``labels``.
    """
    m = np.asarray(cm)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"the confusion matrix must be square (n, n). Got shape {m.shape} instead.")
    if len(labels) != m.shape[0]:
        raise ValueError(f"expected {m.shape[0]} labels for a {m.shape[0]}x{m.shape[0]} matrix. Got {len(labels)}.")
    if m.size and (not np.isfinite(m).all() or (m < 0).any()):
        raise ValueError("the confusion matrix must hold counts (finite, >= 0)")
    n = m.shape[0]
    rows = m.sum(axis=1, keepdims=True).astype(np.float64)
    share = np.divide(m, rows, out=np.zeros(m.shape), where=rows > 0)
    size = max(4.8, 0.8 * n + 2.2)
    fig = new_figure(size + 1.0, size)
    ax = fig.add_subplot(label="confusion")
    im = ax.imshow(share, vmin=0.0, vmax=1.0, cmap="Blues")
    colorbar(ax, im, "share of the true class (row-normalised)")
    fontsize = 8 if n <= 10 else 6
    for i in range(n):
        for j in range(n):
            count = f"{m[i, j]:g}"
            pct = f"{share[i, j]:.0%}" if rows[i, 0] > 0 else "-"
            ax.text(j, i, f"{count}\n{pct}", ha="center", va="center", fontsize=fontsize,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), [str(s) for s in labels], rotation=45, ha="right", parse_math=False)
    ax.set_yticks(range(n), [str(s) for s in labels], parse_math=False)
    ax.set(xlabel="predicted", ylabel="true")
    total = float(m.sum())
    if title is None:
        title = f"confusion matrix: {total:g} files, accuracy {np.trace(m) / total:.1%}" if total else "confusion matrix"
    ax.set_title(title, parse_math=False)
    return fig


def plot_confusion_matrix(
    cm: Any, labels: Sequence[str], out_png: str | os.PathLike[str], *, title: str | None = None, dpi: int = DPI
) -> Path:
    """Save :func:`confusion_matrix_figure` as a PNG."""
    return save_png(confusion_matrix_figure(cm, labels, title=title), out_png, dpi=dpi)


def _report_classes(report: Mapping[str, Any]) -> list[tuple[str, Mapping[str, float]]]:
    return [(str(k), v) for k, v in report.items() if isinstance(v, Mapping) and k not in _REPORT_SUMMARIES]


def per_class_figure(report: Mapping[str, Any]) -> Figure:
    """Precision, recall and F1 (when given) per class, as grouped bars.

    Args:
        report: label -> ``{"precision", "recall", "f1" or "f1-score", "support"}``, as
            ``sklearn.metrics.classification_report(..., output_dict=True)`` returns it;
            its summary entries (``accuracy``, ``macro avg``, ...) are not classes, but a
            ``macro avg`` recall (the UAR) is drawn as a line.

    Raises:
        ValueError: no class carries precision and recall.
    """
    classes = [(k, v) for k, v in _report_classes(report) if "precision" in v and "recall" in v]
    if not classes:
        raise ValueError("the report must map labels to {'precision', 'recall', ...}; it holds no such class")
    metrics = [("precision", "precision"), ("recall", "recall")]
    f1_key = next((k for k in ("f1-score", "f1") if all(k in v for _, v in classes)), None)
    if f1_key:
        metrics.append((f1_key, "F1"))
    fig = new_figure(max(6.0, 0.9 * len(classes) + 2.0), 3.8)
    ax = fig.add_subplot(label="per_class")
    x = np.arange(len(classes))
    width = 0.8 / len(metrics)
    for i, (key, name) in enumerate(metrics):
        ax.bar(x + (i - (len(metrics) - 1) / 2) * width, [float(v[key]) for _, v in classes], width, label=name)
    macro = report.get("macro avg")
    if isinstance(macro, Mapping) and "recall" in macro:
        ax.axhline(float(macro["recall"]), color="0.3", ls="--", lw=1.0,
                   label=f"macro recall (UAR) {float(macro['recall']):.3f}")
    ticks = [f"{k}\n(n={int(v['support'])})" if "support" in v else k for k, v in classes]
    ax.set_xticks(x, ticks, parse_math=False)
    ax.set(title="per-class precision and recall", ylabel="score (0-1)", ylim=(0.0, 1.05))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=len(metrics) + 1, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return fig


def plot_per_class(report: Mapping[str, Any], out_png: str | os.PathLike[str], *, dpi: int = DPI) -> Path:
    """Save :func:`per_class_figure` as a PNG."""
    return save_png(per_class_figure(report), out_png, dpi=dpi)


def predictions_figure(df: Any) -> Figure:
    """What a batch of predictions says: files per predicted label, and the confidence histogram.

    Args:
        df: a table (polars or pandas) with columns ``emotion`` (the predicted label) and
            ``confidence`` (the probability of that label, 0..1), one row per file.

    Raises:
        ValueError: a column is missing.
    """
    missing = [c for c in ("emotion", "confidence") if c not in df.columns]
    if missing:
        raise ValueError(f"predictions need the columns 'emotion' and 'confidence'. Got {list(df.columns)} instead.")
    labels = [v for v in df["emotion"] if v is not None]
    conf = np.array([v for v in df["confidence"] if v is not None], dtype=np.float64)
    conf = conf[np.isfinite(conf)]
    fig = new_figure(11.0, 3.8)
    ax = fig.add_subplot(1, 2, 1, label="labels")
    per_label = counts(labels, order=label_order(str(v) for v in labels))
    bars(ax, per_label, xlabel="predicted emotion")
    ax.set_title(f"predicted labels ({len(labels)} files)")
    ax = fig.add_subplot(1, 2, 2, label="confidence")
    ax.hist(conf, bins=np.linspace(0.0, 1.0, 21).tolist(), color="tab:blue", edgecolor="white")
    integer_ticks(ax)
    if conf.size:
        med = float(np.median(conf))
        ax.axvline(med, color="tab:red", ls="--", label=f"median {med:.2f}")
        ax.legend(fontsize=8)
    ax.set(title="confidence of the predicted label", xlabel="confidence (probability, 0-1)", ylabel="files",
           xlim=(0.0, 1.0))
    return fig


def plot_predictions(df: Any, out_png: str | os.PathLike[str], *, dpi: int = DPI) -> Path:
    """Save :func:`predictions_figure` as a PNG."""
    return save_png(predictions_figure(df), out_png, dpi=dpi)


def dataset_overview_figure(df: Any) -> Figure:
    """Files per emotion, intensity and actor; histograms of duration and sample rate.

    Args:
        df: one row per file with the store's columns ``emotion``, ``intensity``,
            ``actor``, ``duration`` (s) and ``sample_rate`` (Hz, the file's own);
            missing values count as ``unknown``.
    """
    def col(name: str) -> list[Any]:
        return list(df[name]) if name in df.columns else [None] * len(df)

    fig = new_figure(13.0, 6.4)
    axes = fig.subplot_mosaic([["emotion", "intensity", "sample_rate"], ["actor", "actor", "duration"]])
    for name, ax in axes.items():
        ax.set_label(name)
    emotions = col("emotion")
    bars(axes["emotion"], counts(emotions, order=label_order(str(e) for e in emotions if e is not None)),
          xlabel="emotion")
    axes["emotion"].set_title("files per emotion")
    bars(axes["intensity"], counts(col("intensity"), order=("normal", "strong")), xlabel="intensity",
          rotate=False)
    axes["intensity"].set_title("files per intensity")
    actors = col("actor")
    order = [str(a) for a in sorted({int(a) for a in actors if a is not None})]
    bars(axes["actor"], counts(actors, order=order), xlabel="actor", rotate=False)
    axes["actor"].set_title("files per actor")
    rates = col("sample_rate")
    order = [str(r) for r in sorted({int(r) for r in rates if r is not None})]
    bars(axes["sample_rate"], counts(rates, order=order), xlabel="sample rate of the file (Hz)", rotate=False)
    axes["sample_rate"].set_title("sample rates")
    ax = axes["duration"]
    dur = np.array([d for d in col("duration") if d is not None], dtype=np.float64)
    ax.hist(dur, bins=30, color="tab:blue", edgecolor="white")
    integer_ticks(ax)
    if dur.size:
        ax.set_title(f"durations: {dur.min():.2f}-{dur.max():.2f} s, median {np.median(dur):.2f} s")
    else:
        ax.set_title("durations")
    ax.set(xlabel="duration (s)", ylabel="files")
    return fig


def save_model_figures(
    model_dir: str | os.PathLike[str], scores: Scores | None, history: Mapping[str, Sequence[float]]
) -> list[Path]:
    """Write a model folder's pictures: ``confusion_matrix.png`` and ``per_class.png`` from its
    held-out scores (if any), ``training_curves.png`` from a network's history (if any)."""
    d = Path(model_dir)
    out = []
    if history:
        out.append(plot_training_curves(history, d / "training_curves.png"))
    if scores is not None:
        out.append(plot_confusion_matrix(np.asarray(scores.confusion_matrix), scores.labels, d / "confusion_matrix.png"))
        out.append(plot_per_class({k: v for k, v in scores.report.items() if k in scores.labels}, d / "per_class.png"))
    return out
