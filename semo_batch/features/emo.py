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

import numpy as np

from ..config import FeatureConfig
from .filters import dct_matrix, fft_frequencies, mel_filterbank
from .functionals import power_to_db, summarize
from .pitch import f0_autocorrelation
from .spectrum import Spectrum, stft

__all__ = ["emo_names", "emo_features", "emo_descriptors", "ACTIVE_RANGE_DB", "VOICING_THRESHOLD"]

#: Frames more than this many dB below the file's loudest (99th-percentile) frame are silence.
ACTIVE_RANGE_DB = 40.0
#: Normalised autocorrelation above which a frame counts as voiced.
VOICING_THRESHOLD = 0.5
_CONTRAST_EDGES_HZ = (0.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0)
_FULL = ("mean", "std", "p10", "p50", "p90", "range", "slope")
_SHAPE = ("mean", "std", "p10", "p90")
_SPECTRAL_SHAPE = ("centroid", "bandwidth", "rolloff", "flatness", "flux")


def _contrast_bands(sr: int, n_fft: int) -> list[tuple[int, int]]:
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    edges = [e for e in _CONTRAST_EDGES_HZ if e < sr / 2] + [sr / 2 + 1]
    bands = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        idx = np.flatnonzero((freqs >= lo) & (freqs < hi))
        if idx.size:
            bands.append((int(idx[0]), int(idx[-1]) + 1))
    return bands


def emo_names(config: FeatureConfig) -> list[str]:
    names = [f"energy_{s}" for s in _FULL] + ["active_fraction"]
    for i in range(config.n_mels):
        names += [f"logmel_{i:02d}_mean", f"logmel_{i:02d}_std"]
    for i in range(config.n_mfcc):
        names += [f"mfcc_{i:02d}_mean", f"mfcc_{i:02d}_std"]
    names += [f"dmfcc_{i:02d}_std" for i in range(config.n_mfcc)]
    for d in _SPECTRAL_SHAPE:
        names += [f"{d}_{s}" for s in _SHAPE]
    for i in range(len(_contrast_bands(config.sample_rate, config.n_fft))):
        names += [f"contrast_{i}_mean", f"contrast_{i}_std"]
    names += ["zcr_mean", "zcr_std"]
    names += [f"f0_{s}" for s in _FULL] + ["f0_delta_abs_mean"]
    names += ["voiced_fraction", "voicing_strength_mean", "voiced_energy_gap"]
    names += ["voiced_segment_rate", "voiced_segment_mean_s"]
    return names


def emo_descriptors(y: np.ndarray, config: FeatureConfig, spec: Spectrum | None = None) -> dict[str, np.ndarray]:
    """Frame-level descriptors of a mono signal at ``config.sample_rate`` (frames first).

    Returns a dict of arrays of length ``t`` (or shape ``(t, k)``): ``energy_db``,
    ``logmel`` (dB), ``mfcc``, ``centroid``/``bandwidth``/``rolloff`` (Hz),
    ``flatness`` (0..1), ``flux``, ``contrast`` (dB), ``zcr`` (crossings per
    sample), ``f0`` (Hz), ``strength`` (0..1), ``active`` and ``voiced`` (bool).
    """
    sr, n_fft = config.sample_rate, config.n_fft
    spec = spec if spec is not None else stft(y, config)
    p = spec.power
    lpad = (n_fft - config.win_length) // 2
    core = spec.frames[:, lpad : lpad + config.win_length]
    energy_db = power_to_db(np.mean(np.square(core, dtype=np.float32), axis=1))
    neg = np.signbit(core)
    zcr = np.count_nonzero(neg[:, 1:] != neg[:, :-1], axis=1) / core.shape[1]

    melfb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=config.n_mels, fmin=config.fmin, fmax=config.mel_fmax)
    logmel = power_to_db(p @ melfb.T)
    mfcc = logmel @ dct_matrix(n_in=config.n_mels, n_out=config.n_mfcc).T.astype(np.float32)

    freqs = fft_frequencies(sr=sr, n_fft=n_fft).astype(np.float32)
    total = p.sum(axis=1)
    centroid = (p @ freqs) / total
    bandwidth = np.sqrt(np.maximum((p @ np.square(freqs)) / total - np.square(centroid), 0.0))
    cum = np.cumsum(p, axis=1)
    rolloff = freqs[np.minimum(np.argmax(cum >= 0.85 * total[:, None], axis=1), freqs.size - 1)]
    flatness = np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)
    flux = np.zeros(p.shape[0], dtype=np.float32)
    if p.shape[0] > 1:
        flux[1:] = np.sqrt(np.mean(np.square(np.diff(logmel, axis=0)), axis=1))

    bands = _contrast_bands(sr, n_fft)
    contrast = np.empty((p.shape[0], len(bands)), dtype=np.float32)
    for b, (lo, hi) in enumerate(bands):
        band = np.sort(p[:, lo:hi], axis=1)
        q = max(1, int(round(0.02 * (hi - lo))))
        contrast[:, b] = power_to_db(band[:, -q:].mean(axis=1)) - power_to_db(band[:, :q].mean(axis=1))

    f0, strength = f0_autocorrelation(
        p, sr=sr, n_fft=n_fft, win_length=config.win_length, f0_min=config.f0_min, f0_max=config.f0_max
    )
    loud = np.percentile(energy_db, 99) if energy_db.size else 0.0
    active = energy_db > loud - ACTIVE_RANGE_DB
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


def _segments(mask: np.ndarray) -> np.ndarray:
    """Lengths (in frames) of the runs of True in ``mask``."""
    if not mask.any():
        return np.zeros(0, dtype=np.int64)
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(d == -1) - np.flatnonzero(d == 1)


def emo_features(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The ``emo`` functionals of a mono signal at ``config.sample_rate`` [shape=(n_features,)], float32."""
    d = emo_descriptors(y, config)
    fr = config.sample_rate / config.hop_length
    active, voiced = d["active"], d["voiced"]
    if active.sum() < 3:  # too little above silence: summarize everything rather than nothing
        active = np.ones_like(active)
    a = active
    parts = [
        summarize(d["energy_db"][a], _FULL, frame_rate=fr).ravel(),
        [a.mean()],
        summarize(d["logmel"][a], ("mean", "std"), frame_rate=fr).ravel(),
        summarize(d["mfcc"][a], ("mean", "std"), frame_rate=fr).ravel(),
        summarize(np.gradient(d["mfcc"], axis=0)[a] if len(a) > 1 else d["mfcc"][a] * 0, ("std",), frame_rate=fr).ravel(),
    ]
    for name in _SPECTRAL_SHAPE:
        parts.append(summarize(d[name][a], _SHAPE, frame_rate=fr).ravel())
    parts.append(summarize(d["contrast"][a], ("mean", "std"), frame_rate=fr).ravel())
    parts.append(summarize(d["zcr"][a], ("mean", "std"), frame_rate=fr).ravel())

    semitones = 12.0 * np.log2(d["f0"][voiced] / 27.5) if voiced.any() else np.zeros(0)
    parts.append(summarize(semitones, _FULL, frame_rate=fr).ravel())
    both = voiced[1:] & voiced[:-1]
    st_all = 12.0 * np.log2(np.maximum(d["f0"], 1.0) / 27.5)
    parts.append([np.abs(np.diff(st_all))[both].mean() if both.any() else 0.0])

    n_active = max(int(a.sum()), 1)
    e = d["energy_db"]
    gap = e[voiced].mean() - e[a & ~voiced].mean() if voiced.any() and (a & ~voiced).any() else 0.0
    parts.append(
        [voiced.sum() / n_active, d["strength"][voiced].mean() if voiced.any() else 0.0, gap]
    )
    segs = _segments(voiced)
    parts.append([segs.size / (n_active / fr), segs.mean() / fr if segs.size else 0.0])
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts]).astype(np.float32)
