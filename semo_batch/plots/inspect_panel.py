"""The inspection figure: what one file looks like to the features.

It is computed by the feature code itself (the same decode, STFT, filter banks,
tuning estimate and frame descriptors), so what it shows is what the model was
given.  Every panel carries a label (``ax.get_label()``) naming what it shows:
see :data:`INSPECT_PANELS`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio import DEFAULT_MAX_DURATION, AudioInfo, load
from ..config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet, get_config
from ..naming import parse_ravdess
from .canvas import DPI, colorbar, new_figure, save_png

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "INSPECT_PANELS", "ZOOM_SAMPLES", "STFT_RANGE_DB", "SHAPE_RANGE_DB", "inspect_signal", "inspect_figure", "inspect_file",
]

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
#: Dynamic range of the STFT panels: levels more than this many dB below the top are clipped.
STFT_RANGE_DB = 80.0
#: Range of the spectral-shape panel (dB below each frame's loudest bin).
SHAPE_RANGE_DB = 60.0

_PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _resolve(feature_set: str | FeatureSet | FeatureConfig) -> FeatureConfig:
    return feature_set if isinstance(feature_set, FeatureConfig) else get_config(feature_set)


def _frame_times(n_frames: int, config: FeatureConfig) -> np.ndarray:
    """Time (s) of each frame's centre [shape=(n_frames,)]."""
    # Frame t is centred on sample t * hop with librosa-style centring, else n_fft / 2 later.
    offset = 0.0 if config.center else config.n_fft / (2 * config.sample_rate)
    return offset + np.arange(n_frames) * (config.hop_length / config.sample_rate)


def inspect_signal(y: np.ndarray, config: FeatureConfig, *, title: str = "") -> Figure:
    """The inspection figure of a mono signal already at ``config.sample_rate``.

    Panels (labels in :data:`INSPECT_PANELS`): waveform; a 200-sample zoom around
    the loudest frame with its zero-crossing count; the STFT on a linear Hz axis, in
    dB re the file's loudest bin (top :data:`STFT_RANGE_DB`), and in dB re each
    frame's loudest bin (its spectral shape, level removed); the log-mel spectrogram;
    the chromagram (``config.n_chroma`` bins with the per-file tuning estimate, or 12
    bins when the set has no chroma); MFCCs; spectral centroid and 85 % roll-off in Hz
    over the spectrogram; and the F0 track of voiced frames when the set can track
    pitch (always from the path tracker of ``emo`` version 4, whatever the set's
    version: the panel is for looking, and the first tracker's octave errors hide the contour).

    Args:
        y: the signal [shape=(n,)], float32, as :func:`semo_batch.audio.load` returns it.
        config: the feature configuration whose STFT, filter banks and descriptors are used.
        title: text above the panels (taken literally: ``$`` is not math).

    Returns:
        The figure; its panels are found by ``ax.get_label()``.
    """
    from matplotlib import colormaps

    from ..features.emo import VOICING_THRESHOLD, emo_descriptors
    from ..features.filters import hz_to_mel, mel_to_hz
    from ..features.pitch import f0_autocorrelation
    from ..features.seed import chroma_frames, crossings, seed_mfcc_frames, zero_crossings
    from ..features.spectrum import stft

    y = np.asarray(y, dtype=np.float32)
    sr, n_fft, hop = config.sample_rate, config.n_fft, config.hop_length
    spec = stft(y, config)
    d = emo_descriptors(y, config, spec)
    times = _frame_times(spec.n_frames, config)  # the STFT always has at least one frame
    half_hop = hop / (2 * sr)
    t_lo, t_hi = float(times[0]) - half_hop, float(times[-1]) + half_hop  # image edges
    t_samples = np.arange(y.size) / sr
    f0, strength = f0_autocorrelation(
        spec.power, sr=sr, n_fft=n_fft, win_length=config.win_length, f0_min=config.f0_min,
        f0_max=config.f0_max, voicing_threshold=VOICING_THRESHOLD,
    )
    has_f0 = bool(np.any(y)) and bool(np.any(strength > 0))  # not silent, and lags to search

    rows = 5 if has_f0 else 4
    fig = new_figure(13.0, 2.35 * rows + 0.9)
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
    ts = (start + np.arange(n_zoom)) / sr
    ax.plot(ts, seg, ".-", lw=0.8, ms=2.5, color="tab:blue")
    ax.axhline(0.0, color="0.5", lw=0.6)
    cross = crossings(seg)
    zc = cross.size
    ax.plot((ts[cross] + ts[cross + 1]) / 2, np.zeros(cross.size), "|", color="tab:red", ms=8)
    ax.set(
        title=f"zoom: {n_zoom} samples at {start / sr:.3f} s, {zc} zero crossings "
        f"(whole file: {zero_crossings(y):,})",
        xlabel="time (s)",
        ylabel="amplitude",
    )

    # STFT, linear frequency axis, in dB: a linear magnitude scale shows little but the
    # strongest harmonic.  Levels more than STFT_RANGE_DB below the file's top are clipped.
    df = sr / n_fft
    f_extent = (t_lo, t_hi, -df / 2, sr / 2 + df / 2)
    mag = spec.magnitude.astype(np.float64)
    peak = max(float(mag.max()) if mag.size else 0.0, 1e-10)
    mag_db = np.maximum(20.0 * np.log10(np.maximum(mag, 1e-10) / peak), -STFT_RANGE_DB)
    ax = axes["stft_magnitude"]
    im = ax.imshow(mag_db.T, origin="lower", aspect="auto", extent=f_extent, cmap="magma",
                   vmin=-STFT_RANGE_DB, vmax=0.0)
    colorbar(ax, im, "dB re loudest bin of the file")
    ax.set(title=f"STFT magnitude (n_fft {n_fft}, window {config.win_length}, hop {hop}), "
           f"top {STFT_RANGE_DB:g} dB", xlabel="time (s)", ylabel="frequency (Hz)")
    # The active frames (those the functionals summarise), each in dB re its own loudest
    # bin: the spectral shape that centroid, roll-off and the relative log-mel see, quiet
    # frames included.  The others are left grey.
    ax = axes["stft_db"]
    active = d["active"]
    frame_peak = np.maximum(mag.max(axis=1, keepdims=True), 1e-10)
    shape_db = np.maximum(20.0 * np.log10(np.maximum(mag, 1e-10) / frame_peak), -SHAPE_RANGE_DB)
    im = ax.imshow(np.where(active[:, None], shape_db, np.nan).T, origin="lower", aspect="auto",
                   extent=f_extent, cmap=colormaps["magma"].with_extremes(bad="0.85"),
                   vmin=-SHAPE_RANGE_DB, vmax=0.0)
    colorbar(ax, im, "dB re loudest bin of the frame")
    ax.set(title=f"spectral shape: active frames in dB re their loudest bin (top {SHAPE_RANGE_DB:g} dB)",
           xlabel="time (s)", ylabel="frequency (Hz)")

    # Log-mel: rows are equally spaced in mel, so the axis is mel with ticks in Hz.
    ax = axes["mel"]
    mel_pts = np.linspace(hz_to_mel(config.fmin), hz_to_mel(config.mel_fmax), config.n_mels + 2)
    dm = float(mel_pts[1] - mel_pts[0])
    im = ax.imshow(d["logmel"].T, origin="lower", aspect="auto", cmap="magma",
                   extent=(t_lo, t_hi, float(mel_pts[1]) - dm / 2, float(mel_pts[-2]) + dm / 2))
    colorbar(ax, im, "dB (10 log10 power)")
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
    chroma, tuning = chroma_frames(spec, config, n_chroma=n_chroma)
    im = ax.imshow(chroma.T, origin="lower", aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0,
                   extent=(t_lo, t_hi, -0.5, n_chroma - 0.5))
    colorbar(ax, im, "energy re loudest bin of the frame")
    per_class = n_chroma // 12 if n_chroma % 12 == 0 else 1
    ticks = list(range(0, n_chroma, per_class))
    ax.set_yticks(ticks, [_PITCH_CLASSES[(i // per_class) % 12] if n_chroma % 12 == 0 else str(i) for i in ticks])
    used = "" if config.n_chroma else f"; not in the {config.name} features"
    ax.set(title=f"chromagram ({n_chroma} bins, tuning {tuning:+.2f} bin{used})",
           xlabel="time (s)", ylabel="pitch class")

    # MFCCs: the seed set floors its log-mel 80 dB below the file's peak first, the emo set does not.
    ax = axes["mfcc"]
    mfcc = seed_mfcc_frames(d["logmel"], config) if config.name == FeatureSet.SEED.value else d["mfcc"]
    # c0 (overall level) is hundreds of dB below the others; a symmetric range set by c1...
    # keeps the rest visible and lets c0 saturate.
    rest = mfcc[:, 1:] if mfcc.shape[1] > 1 else mfcc
    lim = float(np.percentile(np.abs(rest), 99)) if rest.size else 1.0
    im = ax.imshow(mfcc.T, origin="lower", aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim,
                   extent=(t_lo, t_hi, -0.5, config.n_mfcc - 0.5))
    colorbar(ax, im, "coefficient (dB)")
    ax.set(title=f"MFCC ({config.n_mfcc}, DCT-II of the log-mel; colours scaled to c1+, c0 saturates)",
           xlabel="time (s)", ylabel="coefficient")

    # Centroid and roll-off in Hz over the (grey) spectrogram, on its frequency axis, where
    # the features summarise them: the active frames.
    ax = axes["centroid_rolloff"]
    ax.imshow(mag_db.T, origin="lower", aspect="auto", extent=f_extent, cmap="Greys",
              vmin=-STFT_RANGE_DB, vmax=0.0, alpha=0.6)
    for key, name, colour in (("centroid", "centroid", "tab:red"), ("rolloff", "85 % roll-off", "tab:blue")):
        v = np.asarray(d[key], dtype=np.float64)
        med = f"median {float(np.median(v[active])):.0f} Hz" if active.any() else "no active frames"
        ax.plot(times, np.where(active, v, np.nan), lw=1.2, color=colour, label=f"{name} ({med})")
    ax.set(title="spectral centroid and 85 % roll-off of the active frames, over the STFT", xlabel="time (s)",
           ylabel="frequency (Hz)")
    ax.set_xlim(t_lo, t_hi)
    ax.set_ylim(0.0, sr / 2)
    ax.legend(loc="upper right", fontsize=7)

    if has_f0:
        ax = axes["f0"]
        voiced = d["active"] & (strength > VOICING_THRESHOLD)  # as the emo features decide it
        ax.plot(times, np.where(voiced, f0, np.nan), ".-", ms=3, lw=0.8, color="tab:purple")
        median = f"median {float(np.median(f0[voiced])):.0f} Hz" if voiced.any() else "no voiced frames"
        ax.set(title=f"F0 of voiced frames (autocorrelation, path tracker; {voiced.mean():.0%} voiced, {median})",
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


