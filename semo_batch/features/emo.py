"""The ``emo`` feature set: prosody, voice quality and spectral shape for emotion.

Frame-level descriptors all come from one STFT (40 ms Hann windows, 10 ms hop
at 16 kHz): frame energy, log-mel bands, MFCCs and their deltas, spectral
centroid, bandwidth, roll-off, flatness and flux, octave-band spectral
contrast, zero-crossing rate, and F0 with its periodicity strength from the
autocorrelation (the inverse FFT of the power spectrum).  Functionals
summarize them over the *active* frames (within 40 dB of the loudest), so
leading and trailing silence, which varies with how a clip was cut, does not
dilute them; F0 statistics use voiced frames only, in semitones.
"""

from __future__ import annotations

import functools

import numpy as np

from ..config import FeatureConfig
from .filters import dct_matrix, fft_frequencies, mel_filterbank
from .functionals import mean, median, percentile, power_to_db, summarize, summarize_series
from .pitch import f0_autocorrelation
from .spectrum import Spectrum, stft

__all__ = ["emo_names", "emo_features", "emo_descriptors", "ACTIVE_RANGE_DB", "VOICING_THRESHOLD"]

#: Frames more than this many dB below the file's loudest (99th-percentile) frame are silence.
ACTIVE_RANGE_DB = 40.0
#: Normalised autocorrelation above which a frame counts as voiced.
VOICING_THRESHOLD = 0.5
#: From this ``emo`` version on, F0 comes from the tracker with half-sample lags and a
#: path over the frames; earlier versions (the bundled models') keep the first one.
PATH_TRACKER_VERSION = 4
_CONTRAST_EDGES_HZ = (0.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0)
_FULL = ("mean", "std", "p10", "p50", "p90", "range", "slope")
_SHAPE = ("mean", "std", "p10", "p90")
_ENVELOPE = ("mean", "std", "p10", "p50", "p90")
_N_SEGMENTS = 4
_SPECTRAL_SHAPE = ("centroid", "bandwidth", "rolloff", "flatness", "flux")


@functools.lru_cache(maxsize=8)
def _contrast_bands(sr: int, n_fft: int) -> tuple[tuple[int, int, int], ...]:
    """``(first bin, end bin, bins averaged at each end)`` of each octave band of the contrast."""
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    edges = [e for e in _CONTRAST_EDGES_HZ if e < sr / 2] + [sr / 2 + 1]
    bands = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        idx = np.flatnonzero((freqs >= lo) & (freqs < hi))
        if idx.size:
            first, end = int(idx[0]), int(idx[-1]) + 1
            bands.append((first, end, max(1, int(round(0.02 * (end - first))))))
    return tuple(bands)


@functools.lru_cache(maxsize=8)
def _float32_constants(sr: int, n_fft: int, n_mels: int, n_mfcc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin frequencies (Hz), their squares, and the DCT matrix, as float32, read-only."""
    freqs = fft_frequencies(sr=sr, n_fft=n_fft).astype(np.float32)
    consts = (freqs, np.square(freqs), dct_matrix(n_in=n_mels, n_out=n_mfcc).T.astype(np.float32))
    for c in consts:
        c.setflags(write=False)
    return consts


def emo_descriptors(y: np.ndarray, config: FeatureConfig, spec: Spectrum | None = None) -> dict[str, np.ndarray]:
    """Frame-level descriptors of a mono signal at ``config.sample_rate`` (frames first).

    Returns a dict of arrays of length ``t`` (or shape ``(t, k)``): ``energy_db``,
    ``logmel`` (dB), ``mfcc``, ``centroid``/``bandwidth``/``rolloff`` (Hz),
    ``flatness`` (0..1), ``flux``, ``contrast`` (dB), ``zcr`` (crossings per
    sample), ``f0`` (Hz), ``strength`` (0..1), ``active`` and ``voiced`` (bool).
    """
    return _descriptors(y, config, spec, summarized_only=False)


def _descriptors(
    y: np.ndarray, config: FeatureConfig, spec: Spectrum | None, *, summarized_only: bool
) -> dict[str, np.ndarray]:
    """:func:`emo_descriptors`; with ``summarized_only``, the descriptors that the functionals
    read on the summarized frames only (:func:`_summarized`) are computed on those frames
    alone (F0 and strength: and on the frames the F0 path ties to them) and are NaN
    elsewhere: half the frames of a RAVDESS clip are its silences.

    Each of them is computed row by row (a frame's value never depends on another frame's),
    so the summarized frames get the same numbers, bit for bit, either way.
    """
    sr, n_fft = config.sample_rate, config.n_fft
    spec = spec if spec is not None else stft(y, config)
    p = spec.power
    t = p.shape[0]
    lpad = (n_fft - config.win_length) // 2
    core = spec.frames[:, lpad : lpad + config.win_length]
    energy_db = power_to_db(mean(np.square(core, dtype=np.float32), 1))
    loud = percentile(energy_db, 99) if energy_db.size else 0.0
    active = energy_db > loud - ACTIVE_RANGE_DB
    rows = _summarized(active) if summarized_only else np.ones(t, dtype=bool)
    everywhere = bool(rows.all())
    p_rows = p if everywhere else p[rows]
    core_rows = core if everywhere else core[rows]

    def on_rows(values: np.ndarray) -> np.ndarray:
        """``values`` of the selected rows as a full-length array (NaN in the others)."""
        if everywhere:
            return values
        full = np.full((t, *values.shape[1:]), np.nan, dtype=values.dtype)
        full[rows] = values
        return full

    neg = np.signbit(core_rows)
    zcr = on_rows(np.count_nonzero(neg[:, 1:] != neg[:, :-1], axis=1) / core.shape[1])

    melfb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=config.n_mels, fmin=config.fmin, fmax=config.mel_fmax)
    freqs, freqs_sq, dct_t = _float32_constants(sr, n_fft, config.n_mels, config.n_mfcc)
    logmel = power_to_db(p @ melfb.T)
    mfcc = logmel @ dct_t

    total = p.sum(axis=1)
    centroid = (p @ freqs) / total
    bandwidth = np.sqrt(np.maximum((p @ freqs_sq) / total - np.square(centroid), 0.0))
    total_rows = total if everywhere else total[rows]
    rolloff = on_rows(freqs[np.minimum(_first_reaching(p_rows, 0.85 * total_rows), freqs.size - 1)])
    flatness = on_rows(np.exp(mean(np.log(p_rows), 1)) / mean(p_rows, 1))
    flux = np.zeros(t, dtype=np.float32)
    if t > 1:
        flux[1:] = np.sqrt(mean(np.square(np.diff(logmel, axis=0)), 1))

    bands = _contrast_bands(sr, n_fft)
    peaks = np.empty((p_rows.shape[0], len(bands)), dtype=np.float32)
    valleys = np.empty_like(peaks)
    for b, (lo, hi, q) in enumerate(bands):
        band = np.sort(p_rows[:, lo:hi], axis=1)
        # The mean of one value is that value: no reduction for the narrow bands.
        peaks[:, b] = band[:, -1] if q == 1 else mean(band[:, -q:], 1)
        valleys[:, b] = band[:, 0] if q == 1 else mean(band[:, :q], 1)
    contrast = on_rows(power_to_db(peaks) - power_to_db(valleys))

    f0, strength = f0_autocorrelation(
        p, sr=sr, n_fft=n_fft, win_length=config.win_length, f0_min=config.f0_min, f0_max=config.f0_max,
        voicing_threshold=VOICING_THRESHOLD, legacy=config.version < PATH_TRACKER_VERSION,
        frames=None if everywhere else rows,  # voiced frames are active ones: read on ``rows`` only
    )
    voiced = active & (strength > VOICING_THRESHOLD)
    return {
        "energy_db": energy_db,
        "logmel": logmel,
        "mfcc": mfcc,
        "centroid": centroid,
        "bandwidth": bandwidth,
        "rolloff": rolloff,
        "flatness": flatness,
        "flux": flux,
        "contrast": contrast,
        "zcr": zcr,
        "f0": f0,
        "strength": strength,
        "active": active,
        "voiced": voiced,
    }


#: Roll-off's running sum is taken over this many bins first (2 kHz at 16 kHz and n_fft 1024):
#: three quarters of RAVDESS's active frames reach 85 % of their energy below it.
_ROLLOFF_FIRST_BINS = 128


def _first_reaching(p: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Per row of ``p`` [shape=(n, k)], the first column where the running sum reaches
    ``threshold`` [shape=(n,)] (0 where it never does): ``argmax(cumsum(p, axis=1) >= threshold)``.

    The running sum is sequential (``np.add.accumulate``), so it is the same number whether
    taken in one pass or continued from a prefix; only the rows that have not reached their
    threshold within the first :data:`_ROLLOFF_FIRST_BINS` columns are summed further.
    """
    k = min(_ROLLOFF_FIRST_BINS, p.shape[1])
    head = np.cumsum(p[:, :k], axis=1)
    reached = head >= threshold[:, None]
    first = np.argmax(reached, axis=1)
    rest = ~reached.any(axis=1)
    if rest.any() and k < p.shape[1]:
        tail = p[rest, k - 1 :].copy()
        tail[:, 0] = head[rest, -1]  # continue the running sum from where the head stopped
        more = np.cumsum(tail, axis=1) >= threshold[rest, None]
        first[rest] = np.where(more.any(axis=1), k - 1 + np.argmax(more, axis=1), 0)
    return first


def _segments(mask: np.ndarray) -> np.ndarray:
    """Lengths (in frames) of the runs of True in ``mask``."""
    if not mask.any():
        return np.zeros(0, dtype=np.int64)
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(d == -1) - np.flatnonzero(d == 1)


class _Out:
    """Collects named functionals so that names and values can never drift apart.

    Names are spelled only when asked for (``with_names``): once per configuration, for
    :func:`emo_names`, not once per file.
    """

    def __init__(self, frame_rate: float, *, with_names: bool = True) -> None:
        self.fr = frame_rate
        self.with_names = with_names
        self.names: list[str] = []
        self.values: list[np.ndarray] = []

    def stats(self, prefix: str, x: np.ndarray, stats: tuple[str, ...]) -> None:
        x = np.asarray(x)
        v = summarize(x, stats, frame_rate=self.fr)  # (k, len(stats))
        if not self.with_names:
            pass
        elif x.ndim == 1:
            self.names += [f"{prefix}_{s}" for s in stats]
        else:
            self.names += [f"{prefix}_{i:02d}_{s}" for i in range(v.shape[0]) for s in stats]
        self.values.append(v.ravel())

    def series(self, prefixes: tuple[str, ...], xs: list[np.ndarray], stats: tuple[str, ...]) -> None:
        """``stats(prefix, x, stats)`` for each 1-D ``x`` (all of one length), in one pass."""
        v = summarize_series(np.stack(xs), stats, frame_rate=self.fr)  # (len(xs), len(stats))
        if self.with_names:
            self.names += [f"{prefix}_{s}" for prefix in prefixes for s in stats]
        self.values.append(v.ravel())

    def scalar(self, name: str, value: float) -> None:
        if self.with_names:
            self.names.append(name)
        self.values.append(np.array([value], dtype=np.float64))

    def vector(self, prefix: str, v: np.ndarray) -> None:
        if self.with_names:
            self.names += [f"{prefix}_{i:02d}" for i in range(len(v))]
        self.values.append(np.asarray(v, dtype=np.float64).ravel())


def _at_least(mask: np.ndarray, fallback: np.ndarray, n: int = 3) -> np.ndarray:
    return mask if mask.sum() >= n else fallback


def _summarized(active: np.ndarray) -> np.ndarray:
    """The frames most functionals summarize: the active ones, or every frame when fewer than 3 are."""
    return _at_least(active, np.ones_like(active))


def _collect(d: dict[str, np.ndarray], config: FeatureConfig, *, with_names: bool = True) -> _Out:
    fr = config.sample_rate / config.hop_length
    out = _Out(fr, with_names=with_names)
    active, voiced = d["active"], d["voiced"]
    a = _summarized(active)  # the only frames of the spectral shape, contrast and zcr read here
    unvoiced = a & ~voiced
    e = d["energy_db"]
    e_a = e[a]
    mfcc, logmel = d["mfcc"], d["logmel"]
    any_a, any_voiced, any_unvoiced = bool(a.any()), bool(voiced.any()), bool(unvoiced.any())

    # Loudness and its dynamics.
    out.stats("energy", e_a, _FULL)
    out.scalar("active_fraction", float(mean(active)) if active.size else 0.0)
    out.stats("energy_delta_abs", np.abs(np.gradient(e))[a] if e.size > 1 else e_a * 0, ("mean", "std"))
    out.scalar("energy_range_5_95", float(np.subtract(*percentile(e_a, [95, 5]))) if any_a else 0.0)

    # Spectral envelope: absolute, and relative to each frame's mean level (gain-invariant).
    out.stats("logmel", logmel[a], _ENVELOPE)
    out.stats("logmel_rel", (logmel - mean(logmel, 1, keepdims=True))[a], ("mean", "std"))
    out.stats("mfcc", mfcc[a], _ENVELOPE)
    dm = np.gradient(mfcc, axis=0) if len(mfcc) > 1 else mfcc * 0
    out.stats("dmfcc", dm[a], ("std",))
    # Voiced and unvoiced frames separately (vowels vs fricatives and breath).
    v3 = _at_least(voiced, a)
    out.stats("mfcc_voiced", mfcc[v3], ("mean", "std"))
    out.stats("mfcc_unvoiced", mfcc[_at_least(unvoiced, a)], ("mean",))
    out.stats("logmel_voiced", logmel[v3], ("mean",))

    out.series(_SPECTRAL_SHAPE, [d[name][a] for name in _SPECTRAL_SHAPE], _SHAPE)
    out.stats("contrast", d["contrast"][a], ("mean", "std"))
    out.stats("zcr", d["zcr"][a], ("mean", "std"))

    # Pitch, in semitones re 27.5 Hz, over voiced frames.
    st = 12.0 * np.log2(np.maximum(d["f0"], 1.0) / 27.5)
    st_voiced = st[voiced]
    out.stats("f0", st_voiced if any_voiced else np.zeros(0), _FULL)
    both = voiced[1:] & voiced[:-1]
    dst = np.diff(st)[both] if both.any() else np.zeros(0)
    out.scalar("f0_delta_abs_mean", float(mean(np.abs(dst))) if dst.size else 0.0)
    out.stats("f0_delta", dst, ("std", "p10", "p90"))

    # Voicing, periodicity and rhythm.
    n_active = max(int(a.sum()), 1)
    out.scalar("voiced_fraction", voiced.sum() / n_active)
    out.stats("strength", d["strength"][a], ("mean", "std", "p90"))
    out.scalar("voicing_strength_mean", float(mean(d["strength"][voiced])) if any_voiced else 0.0)
    gap = mean(e[voiced]) - mean(e[unvoiced]) if any_voiced and any_unvoiced else 0.0
    out.scalar("voiced_energy_gap", float(gap))
    segs = _segments(voiced)
    out.scalar("voiced_segment_rate", segs.size / (n_active / fr))
    out.scalar("voiced_segment_mean_s", float(mean(segs) / fr) if segs.size else 0.0)

    # Contour: the active span cut into quarters, each with its level (re the loudest),
    # pitch (re the file's median), voicing and mean MFCCs.
    idx = np.flatnonzero(a)
    edges = np.linspace(idx[0], idx[-1] + 1, _N_SEGMENTS + 1).astype(int) if idx.size else np.zeros(_N_SEGMENTS + 1, int)
    loud = percentile(e_a, 95) if any_a else 0.0
    med = median(st_voiced) if any_voiced else 0.0
    for q, (lo, hi) in enumerate(zip(edges[:-1].tolist(), edges[1:].tolist())):
        aa, vv = a[lo:hi], voiced[lo:hi]  # the quarter's active and voiced frames
        n_aa, n_vv = int(aa.sum()), int(vv.sum())
        out.scalar(f"q{q}_energy", float(mean(e[lo:hi][aa]) - loud) if n_aa else -ACTIVE_RANGE_DB)
        out.scalar(f"q{q}_f0", float(mean(st[lo:hi][vv]) - med) if n_vv else 0.0)
        out.scalar(f"q{q}_voiced", n_vv / max(n_aa, 1))
        out.vector(f"q{q}_mfcc", mean(mfcc[lo:hi][aa], 0) if n_aa else np.zeros(mfcc.shape[1]))
    return out


def _placeholder_descriptors(config: FeatureConfig, t: int = 64) -> dict[str, np.ndarray]:
    """Descriptors of :func:`emo_descriptors`'s keys and shapes, without a signal: what naming
    the columns needs (names never depend on values), so that a batch's parent process,
    which only names columns, never imports or runs the signal chain."""
    rng = np.random.default_rng(0)
    widths = {"logmel": config.n_mels, "mfcc": config.n_mfcc, "contrast": len(_contrast_bands(config.sample_rate, config.n_fft))}
    d = {key: rng.random((t, widths[key]) if key in widths else t) for key in (
        "energy_db", "logmel", "mfcc", *_SPECTRAL_SHAPE, "contrast", "zcr", "f0", "strength")}
    d["active"] = d["voiced"] = np.ones(t, dtype=bool)
    return d


@functools.lru_cache(maxsize=8)
def _names(config: FeatureConfig) -> tuple[str, ...]:
    return tuple(_collect(_placeholder_descriptors(config), config).names)


def emo_names(config: FeatureConfig) -> list[str]:
    """Column names of :func:`emo_features`, in order."""
    return list(_names(config))


def emo_features(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The ``emo`` functionals of a mono signal at ``config.sample_rate`` [shape=(n_features,)], float32."""
    out = _collect(_descriptors(y, config, None, summarized_only=True), config, with_names=False)
    return np.concatenate(out.values).astype(np.float32)
