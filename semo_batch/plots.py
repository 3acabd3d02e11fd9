"""Figures: what one file looks like to the features, and how a model did.

Every figure is drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas, never through pyplot: no global figure registry, no interactive backend
chosen or changed behind a notebook user's back, nothing kept alive between
calls.  matplotlib is imported inside the functions, so importing this module
(or anything in ``semo_batch``) never loads it; featurize workers stay light.

Each figure has two verbs: ``*_figure(...)`` returns the Figure (for tests,
notebooks and the HTML report) and ``plot_*(..., out_png)`` (for one file,
:func:`inspect_file`) saves it as a PNG and returns the path.  Every panel
carries a label (``ax.get_label()``) naming what it shows, so that a caller
can find it: see :data:`INSPECT_PANELS`.

The inspection figure is computed by the feature code itself (the same
decode, STFT, filter banks, tuning estimate and frame descriptors), so what
it shows is what the model was given.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .audio import DEFAULT_MAX_DURATION, AudioInfo, load
from .config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet, get_config
from .naming import EMOTIONS, parse_ravdess

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "INSPECT_PANELS",
    "ZOOM_SAMPLES",
    "confusion_matrix_figure",
    "dataset_overview_figure",
    "inspect_figure",
    "inspect_file",
    "inspect_signal",
    "per_class_figure",
    "plot_confusion_matrix",
    "plot_per_class",
    "plot_predictions",
    "plot_training_curves",
    "png_bytes",
    "predictions_figure",
    "save_png",
    "training_curves_figure",
]

#: Resolution of saved PNGs, dots per inch: readable on screen, small on disk.
DPI = 90

#: Labels of the inspection figure's panels, in reading order; ``f0`` only when the
#: feature set can track pitch (its window leaves room for the lags) and the file is not silent.
INSPECT_PANELS: tuple[str, ...] = (
    "waveform",
    "zoom",
    "stft_magnitude",
    "stft_db",
    "mel",
    "chroma",
    "mfcc",
    "centroid_rolloff",
    "f0",
)

#: Samples shown in the zoom panel (the notebook's choice).
ZOOM_SAMPLES = 200

_PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Keys of a scikit-learn classification report that are not classes.
_REPORT_SUMMARIES = frozenset({"accuracy", "macro avg", "weighted avg", "micro avg", "samples avg"})


# -- figure plumbing ---------------------------------------------------------------------------
def _new_figure(width: float, height: float) -> Figure:
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


def _colorbar(ax: Axes, mappable: Any, label: str) -> None:
    # An inset colour bar keeps every panel of a column the same width, which the
    # layout's own colour bars do not when a neighbour has a twin axis.
    cax = ax.inset_axes((1.01, 0.0, 0.015, 1.0))
    cax.set_label("colorbar")
    cb = ax.figure.colorbar(mappable, cax=cax)
    cb.set_label(label)


def _integer_ticks(ax: Axes) -> None:
    """Whole numbers only on the y axis (counts of files)."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _label_order(labels: Iterable[str]) -> list[str]:
    """The RAVDESS emotions in code order first, then any other labels alphabetically."""
    seen = set(labels)
    return [e for e in EMOTIONS if e in seen] + sorted(seen - set(EMOTIONS))


def _bars(ax: Axes, counts: Sequence[tuple[str, int]], *, xlabel: str, rotate: bool = True) -> None:
    """Vertical count bars with the count written above each."""
    x = np.arange(len(counts))
    values = [c for _, c in counts]
    bars = ax.bar(x, values, color="tab:blue")
    ax.bar_label(bars, fontsize=7)
    ax.set_xticks(x, [k for k, _ in counts], rotation=45 if rotate else 0,
                  ha="right" if rotate else "center", parse_math=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("files")
    _integer_ticks(ax)
    ax.margins(y=0.12)


def _counts(values: Iterable[Any], *, order: Sequence[str] | None = None) -> list[tuple[str, int]]:
    """Occurrences of each value as text (``None`` becomes ``"unknown"``), in ``order`` if given."""
    c = Counter("unknown" if v is None else str(v) for v in values)
    first = [k for k in order or () if k in c]
    return [(k, c[k]) for k in first + sorted(set(c) - set(first))]


# -- one file, as the features see it ----------------------------------------------------------
def _resolve(feature_set: str | FeatureSet | FeatureConfig) -> FeatureConfig:
    return feature_set if isinstance(feature_set, FeatureConfig) else get_config(feature_set)


def _frame_times(n_frames: int, config: FeatureConfig) -> np.ndarray:
    """Time (s) of each frame's centre [shape=(n_frames,)]."""
    # Frame t is centred on sample t * hop with librosa-style centring, else n_fft / 2 later.
    offset = 0.0 if config.center else config.n_fft / (2 * config.sample_rate)
    return offset + np.arange(n_frames) * (config.hop_length / config.sample_rate)


def _minmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(np.min(x)), float(np.max(x))
    return np.zeros_like(x) if hi <= lo else (x - lo) / (hi - lo)


def inspect_signal(y: np.ndarray, config: FeatureConfig, *, title: str = "") -> Figure:
    """The inspection figure of a mono signal already at ``config.sample_rate``.

    Panels (labels in :data:`INSPECT_PANELS`): waveform; a 200-sample zoom around
    the loudest frame with its zero-crossing count; |STFT| linear and in dB (linear
    Hz axis); the log-mel spectrogram; the chromagram (``config.n_chroma`` bins with
    the per-file tuning estimate, or 12 bins when the set has no chroma); MFCCs;
    spectral centroid and 85 % roll-off, min-max scaled, over the waveform; and the
    F0 track of voiced frames when the set can track pitch.

    Args:
        y: the signal [shape=(n,)], float32, as :func:`semo_batch.audio.load` returns it.
        config: the feature configuration whose STFT, filter banks and descriptors are used.
        title: text above the panels (taken literally: ``$`` is not math).

    Returns:
        The figure; its panels are found by ``ax.get_label()``.
    """
    from .features.emo import emo_descriptors
    from .features.filters import chroma_filterbank, hz_to_mel, mel_to_hz
    from .features.pitch import estimate_tuning
    from .features.seed import zero_crossings
    from .features.spectrum import stft

    y = np.asarray(y, dtype=np.float32)
    sr, n_fft, hop = config.sample_rate, config.n_fft, config.hop_length
    spec = stft(y, config)
    d = emo_descriptors(y, config, spec)
    times = _frame_times(spec.n_frames, config)  # the STFT always has at least one frame
    half_hop = hop / (2 * sr)
    t_lo, t_hi = float(times[0]) - half_hop, float(times[-1]) + half_hop  # image edges
    t_samples = np.arange(y.size) / sr
    has_f0 = bool(np.any(d["strength"] > 0))

    rows = 5 if has_f0 else 4
    fig = _new_figure(13.0, 2.35 * rows + 0.9)
    grid = fig.add_gridspec(rows, 2)
    axes: dict[str, Axes] = {}
    for i, name in enumerate(INSPECT_PANELS[:8]):
        axes[name] = fig.add_subplot(grid[i // 2, i % 2], label=name)
    if has_f0:
        axes["f0"] = fig.add_subplot(grid[4, :], label="f0")

    # Waveform.
    ax = axes["waveform"]
    ax.plot(t_samples, y, lw=0.4, color="tab:blue")
    ax.set(title="waveform", xlabel="time (s)", ylabel="amplitude (full scale = 1)")
    ax.set_xlim(0, max(y.size / sr, 1.0 / sr))

    # Zoom around the loudest frame: the detail behind the zero-crossing count.
    ax = axes["zoom"]
    n_zoom = min(ZOOM_SAMPLES, y.size)
    centre = round(float(times[int(np.argmax(d["energy_db"]))]) * sr)
    start = int(np.clip(centre - n_zoom // 2, 0, y.size - n_zoom))
    seg = y[start : start + n_zoom]
    zc = zero_crossings(seg)
    ts = (start + np.arange(n_zoom)) / sr
    ax.plot(ts, seg, ".-", lw=0.8, ms=2.5, color="tab:blue")
    ax.axhline(0.0, color="0.5", lw=0.6)
    neg = np.signbit(seg) & (np.abs(seg) > 1e-10)  # zero_crossings' rule, for where they are
    cross = np.flatnonzero(neg[1:] != neg[:-1])
    ax.plot((ts[cross] + ts[cross + 1]) / 2, np.zeros(cross.size), "|", color="tab:red", ms=8)
    ax.set(
        title=f"zoom: {n_zoom} samples at {start / sr:.3f} s, {zc} zero crossings "
        f"(whole file: {zero_crossings(y):,})",
        xlabel="time (s)",
        ylabel="amplitude",
    )

    # STFT, linear frequency axis.
    df = sr / n_fft
    f_extent = (t_lo, t_hi, -df / 2, sr / 2 + df / 2)
    ax = axes["stft_magnitude"]
    im = ax.imshow(spec.magnitude.T, origin="lower", aspect="auto", extent=f_extent, cmap="magma")
    _colorbar(ax, im, "|X| (linear)")
    ax.set(title=f"STFT magnitude (n_fft {n_fft}, window {config.win_length}, hop {hop})",
           xlabel="time (s)", ylabel="frequency (Hz)")
    ax = axes["stft_db"]
    peak = float(spec.magnitude.max()) if spec.magnitude.size else 1.0
    mag_db = 20.0 * np.log10(np.maximum(spec.magnitude, 1e-10) / max(peak, 1e-10))
    im = ax.imshow(np.maximum(mag_db, -80.0).T, origin="lower", aspect="auto", extent=f_extent,
                   cmap="magma", vmin=-80.0, vmax=0.0)
    _colorbar(ax, im, "dB re max")
    ax.set(title="STFT magnitude in dB (80 dB range)", xlabel="time (s)", ylabel="frequency (Hz)")

    # Log-mel: rows are equally spaced in mel, so the axis is mel with ticks in Hz.
    ax = axes["mel"]
    mel_pts = np.linspace(hz_to_mel(config.fmin), hz_to_mel(config.mel_fmax), config.n_mels + 2)
    dm = float(mel_pts[1] - mel_pts[0])
    im = ax.imshow(d["logmel"].T, origin="lower", aspect="auto", cmap="magma",
                   extent=(t_lo, t_hi, float(mel_pts[1]) - dm / 2, float(mel_pts[-2]) + dm / 2))
    _colorbar(ax, im, "dB (10 log10 power)")
    hz_ticks: list[float] = []
    min_gap = (float(mel_pts[-1]) - float(mel_pts[0])) / 10  # keep tick labels from overlapping
    for f in (0, 250, 500, 1000, 2000, 4000, 8000, 16000):
        if config.fmin <= f <= config.mel_fmax and (
            not hz_ticks or float(hz_to_mel(f)) - float(hz_to_mel(hz_ticks[-1])) >= min_gap
        ):
            hz_ticks.append(f)
    ax.set_yticks([float(hz_to_mel(f)) for f in hz_ticks], [f"{f:g}" for f in hz_ticks])
    ax.set(title=f"mel spectrogram ({config.n_mels} bands, {config.fmin:g}-{float(mel_to_hz(mel_pts[-1])):g} Hz)",
           xlabel="time (s)", ylabel="frequency (Hz, mel scale)")

    # Chroma exactly as the seed set computes it (per-file tuning, max-normalised frames).
    ax = axes["chroma"]
    n_chroma = config.n_chroma or 12
    tuning = estimate_tuning(spec.magnitude, sr=sr, n_fft=n_fft, bins_per_octave=n_chroma)
    raw = spec.magnitude @ chroma_filterbank(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning).T
    peak_c = np.abs(raw).max(axis=1, keepdims=True)
    chroma = raw / np.where(peak_c < np.finfo(raw.dtype).tiny, 1.0, peak_c)
    im = ax.imshow(chroma.T, origin="lower", aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0,
                   extent=(t_lo, t_hi, -0.5, n_chroma - 0.5))
    _colorbar(ax, im, "energy re loudest bin of the frame")
    per_class = n_chroma // 12 if n_chroma % 12 == 0 else 1
    ticks = list(range(0, n_chroma, per_class))
    ax.set_yticks(ticks, [_PITCH_CLASSES[(i // per_class) % 12] if n_chroma % 12 == 0 else str(i) for i in ticks])
    used = "" if config.n_chroma else f"; not in the {config.name} features"
    ax.set(title=f"chromagram ({n_chroma} bins, tuning {tuning:+.2f} bin{used})",
           xlabel="time (s)", ylabel="pitch class")

    # MFCCs: the seed set floors its log-mel 80 dB below the file's peak first, the emo set does not.
    ax = axes["mfcc"]
    if config.name == FeatureSet.SEED.value:
        from .features.filters import dct_matrix

        logmel = d["logmel"]
        floored = np.maximum(logmel, logmel.max() - 80.0) if logmel.size else logmel
        mfcc = floored @ dct_matrix(n_in=config.n_mels, n_out=config.n_mfcc).T
    else:
        mfcc = d["mfcc"]
    # c0 (overall level) is hundreds of dB below the others; a symmetric range set by c1...
    # keeps the rest visible and lets c0 saturate.
    rest = mfcc[:, 1:] if mfcc.shape[1] > 1 else mfcc
    lim = float(np.percentile(np.abs(rest), 99)) if rest.size else 1.0
    im = ax.imshow(mfcc.T, origin="lower", aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim,
                   extent=(t_lo, t_hi, -0.5, config.n_mfcc - 0.5))
    _colorbar(ax, im, "coefficient (dB)")
    ax.set(title=f"MFCC ({config.n_mfcc}, DCT-II of the log-mel; colours scaled to c1+, c0 saturates)",
           xlabel="time (s)", ylabel="coefficient")

    # Centroid and roll-off, min-max scaled, over the waveform.
    ax = axes["centroid_rolloff"]
    ax.plot(t_samples, y, lw=0.4, color="0.75")
    ax.set(title="spectral centroid and 85 % roll-off over the waveform", xlabel="time (s)",
           ylabel="amplitude")
    ax.set_xlim(0, max(y.size / sr, 1.0 / sr))
    ax2 = ax.twinx()
    ax2.set_label("centroid_rolloff_scaled")
    for key, name, colour in (("centroid", "centroid", "tab:red"), ("rolloff", "roll-off", "tab:green")):
        v = d[key]
        span = f"{float(v.min()):.0f}-{float(v.max()):.0f} Hz" if v.size else "none"
        ax2.plot(times, _minmax(v), lw=1.0, color=colour, label=f"{name} ({span})")
    ax2.set_ylabel("min-max scaled (0-1)")
    ax2.set_ylim(-0.05, 1.05)
    ax2.legend(loc="upper right", fontsize=7)

    if has_f0:
        ax = axes["f0"]
        voiced = d["voiced"]
        f0 = np.where(voiced, d["f0"], np.nan)
        ax.plot(times, f0, ".", ms=3, color="tab:purple")
        median = f"median {float(np.median(d['f0'][voiced])):.0f} Hz" if voiced.any() else "no voiced frames"
        ax.set(title=f"F0 of voiced frames (autocorrelation; {voiced.mean():.0%} voiced, {median})",
               xlabel="time (s)", ylabel="F0 (Hz)")
        ax.set_xlim(0, max(y.size / sr, 1.0 / sr))
        ax.set_ylim(config.f0_min * 0.9, config.f0_max * 1.05)

    if title:
        fig.suptitle(title, parse_math=False, fontsize=11)
    return fig


def _inspect_title(path: Path, info: AudioInfo, config: FeatureConfig) -> str:
    lines = [path.name]
    fields = parse_ravdess(path.name)
    if fields is not None:
        lines.append(
            f"emotion {fields['emotion']}, intensity {fields['intensity']}, statement {fields['statement']!r}, "
            f"repetition {fields['repetition']}, actor {fields['actor']} ({fields['sex']}), "
            f"{fields['vocal_channel']}, {fields['modality']}"
        )
    lines.append(
        f"file: {info.sample_rate} Hz, {info.channels} channel{'s' if info.channels != 1 else ''}, "
        f"{info.duration:.2f} s; analysed by feature set {config.name} ({config.fingerprint()}) "
        f"at {config.sample_rate} Hz"
    )
    return "\n".join(lines)


def inspect_figure(
    path: str | os.PathLike[str],
    *,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    max_duration: float | None = DEFAULT_MAX_DURATION,
) -> Figure:
    """Decode ``path`` as featurize does and draw :func:`inspect_signal`.

    The title gives the file name, its parsed RAVDESS fields (when the name is one),
    and the file's and the analysis's sample rates.

    Args:
        path: any file featurize accepts.
        feature_set: whose analysis to show: a name or a :class:`FeatureConfig`.
        max_duration: refuse longer files (seconds); ``None``: no limit.

    Raises:
        AudioError: the file cannot be decoded (same checks as featurize).
        ConfigError: an unknown feature set.
    """
    config = _resolve(feature_set)
    p = Path(path)
    y, info = load(p, sr=config.sample_rate, min_duration=config.min_duration, max_duration=max_duration)
    return inspect_signal(y, config, title=_inspect_title(p, info, config))


def inspect_file(
    path: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    *,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    dpi: int = DPI,
) -> Path:
    """Save the inspection figure of one audio file (see :func:`inspect_figure`) as a PNG."""
    return save_png(inspect_figure(path, feature_set=feature_set), out_png, dpi=dpi)


# -- training and evaluation -------------------------------------------------------------------
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
    fig = _new_figure(5.5 * len(present), 3.6)
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
    fig = _new_figure(size + 1.0, size)
    ax = fig.add_subplot(label="confusion")
    im = ax.imshow(share, vmin=0.0, vmax=1.0, cmap="Blues")
    _colorbar(ax, im, "share of the true class (row-normalised)")
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
    fig = _new_figure(max(6.0, 0.9 * len(classes) + 2.0), 3.8)
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
    fig = _new_figure(11.0, 3.8)
    ax = fig.add_subplot(1, 2, 1, label="labels")
    counts = _counts(labels, order=_label_order(str(v) for v in labels))
    _bars(ax, counts, xlabel="predicted emotion")
    ax.set_title(f"predicted labels ({len(labels)} files)")
    ax = fig.add_subplot(1, 2, 2, label="confidence")
    ax.hist(conf, bins=np.linspace(0.0, 1.0, 21).tolist(), color="tab:blue", edgecolor="white")
    _integer_ticks(ax)
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


# -- a featurized data set ---------------------------------------------------------------------
def dataset_overview_figure(df: Any) -> Figure:
    """Files per emotion, intensity and actor; histograms of duration and sample rate.

    Args:
        df: one row per file with the store's columns ``emotion``, ``intensity``,
            ``actor``, ``duration`` (s) and ``sample_rate`` (Hz, the file's own);
            missing values count as ``unknown``.
    """
    def col(name: str) -> list[Any]:
        return list(df[name]) if name in df.columns else [None] * len(df)

    fig = _new_figure(13.0, 6.4)
    axes = fig.subplot_mosaic([["emotion", "intensity", "sample_rate"], ["actor", "actor", "duration"]])
    for name, ax in axes.items():
        ax.set_label(name)
    emotions = col("emotion")
    _bars(axes["emotion"], _counts(emotions, order=_label_order(str(e) for e in emotions if e is not None)),
          xlabel="emotion")
    axes["emotion"].set_title("files per emotion")
    _bars(axes["intensity"], _counts(col("intensity"), order=("normal", "strong")), xlabel="intensity",
          rotate=False)
    axes["intensity"].set_title("files per intensity")
    actors = col("actor")
    order = [str(a) for a in sorted({int(a) for a in actors if a is not None})]
    _bars(axes["actor"], _counts(actors, order=order), xlabel="actor", rotate=False)
    axes["actor"].set_title("files per actor")
    rates = col("sample_rate")
    order = [str(r) for r in sorted({int(r) for r in rates if r is not None})]
    _bars(axes["sample_rate"], _counts(rates, order=order), xlabel="sample rate of the file (Hz)", rotate=False)
    axes["sample_rate"].set_title("sample rates")
    ax = axes["duration"]
    dur = np.array([d for d in col("duration") if d is not None], dtype=np.float64)
    ax.hist(dur, bins=30, color="tab:blue", edgecolor="white")
    _integer_ticks(ax)
    if dur.size:
        ax.set_title(f"durations: {dur.min():.2f}-{dur.max():.2f} s, median {np.median(dur):.2f} s")
    else:
        ax.set_title("durations")
    ax.set(xlabel="duration (s)", ylabel="files")
    return fig
