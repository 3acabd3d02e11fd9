"""Channel changes: what another microphone, room or line does to a recording.

Pure array code (mono float32 at ``sr``), seeded by the caller's generator.  The
robustness suite (``benchmarks/robustness.py``) applies them with fixed
parameters to held-out speakers; :func:`random_channel` draws one at random
for training augmentation.  Levels are set relative to the *active* speech
power (frames within 30 dB of the loudest), so the silences around a clip do
not change what "20 dB SNR" means.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Callable

import numpy as np

__all__ = ["CHANNELS", "Channel", "active_power", "add_noise", "telephone", "reverb", "gain", "lossy", "random_channel"]

_FRAME_S = 0.02


def active_power(y: np.ndarray, sr: int) -> float:
    """Mean power of the 20 ms frames within 30 dB of the loudest (the speech, not the pauses)."""
    f = max(1, int(_FRAME_S * sr))
    n = len(y) // f
    if n < 1:
        return float(np.mean(np.square(y, dtype=np.float64)) + 1e-20)
    p = np.square(y[: n * f].astype(np.float64)).reshape(n, f).mean(axis=1)
    return float(p[p >= p.max() * 1e-3].mean() + 1e-20)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    k = np.arange(len(spectrum), dtype=np.float64)
    k[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(k), n)


def add_noise(y: np.ndarray, sr: int, *, snr_db: float, rng: np.random.Generator, color: str = "white") -> np.ndarray:
    """``y`` plus white or pink (1/f) noise ``snr_db`` below its active speech power."""
    if color not in ("white", "pink"):
        raise ValueError(f"color must be one of {{'white', 'pink'}}. Got {color!r} instead.")
    z = rng.standard_normal(len(y)) if color == "white" else _pink(len(y), rng)
    z *= np.sqrt(active_power(y, sr) / 10 ** (snr_db / 10) / max(float(np.mean(z**2)), 1e-20))
    return (y + z).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _band(sr: int, lo: float, hi: float) -> np.ndarray:
    from scipy.signal import butter

    return butter(4, [lo, hi], btype="bandpass", fs=sr, output="sos")


def telephone(y: np.ndarray, sr: int, *, lo: float = 300.0, hi: float = 3400.0) -> np.ndarray:
    """A telephone line: band-pass ``lo``-``hi`` Hz (4th-order Butterworth), through 8 kHz and back."""
    import soxr
    from scipy.signal import sosfilt

    z = sosfilt(_band(sr, lo, hi), y.astype(np.float64))
    z = soxr.resample(soxr.resample(z, sr, 8000), 8000, sr)
    return np.pad(z, (0, max(0, len(y) - len(z))))[: len(y)].astype(np.float32)


def reverb(y: np.ndarray, sr: int, *, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A room: convolution with exponentially decaying noise that falls 60 dB in ``rt60`` s,
    with a direct path; the active power is kept."""
    from scipy.signal import fftconvolve

    t = np.arange(int(rt60 * 1.2 * sr)) / sr
    h = rng.standard_normal(t.size) * np.exp(-np.log(1000.0) * t / rt60)
    h[0] = 1.0 + abs(h[0])
    z = fftconvolve(y.astype(np.float64), h)[: len(y)]
    return (z * np.sqrt(active_power(y, sr) / active_power(z, sr))).astype(np.float32)


def gain(y: np.ndarray, sr: int, *, db: float) -> np.ndarray:
    """``y`` made ``db`` louder (negative: quieter)."""
    return (y * 10 ** (db / 20)).astype(np.float32)


def lossy(y: np.ndarray, sr: int, *, fmt: str = "OGG", subtype: str = "VORBIS") -> np.ndarray:
    """``y`` through a lossy codec (Ogg Vorbis by default) and back, in memory."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(y, -1.0, 1.0), sr, format=fmt, subtype=subtype)
    buf.seek(0)
    z, _ = sf.read(buf, dtype="float32")
    return np.pad(z, (0, max(0, len(y) - len(z))))[: len(y)].astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Channel:
    """A named channel change with fixed parameters."""

    name: str
    description: str
    apply: Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


#: The robustness suite's conditions, in the order they are reported.
CHANNELS: tuple[Channel, ...] = (
    Channel("white-20dB", "white noise at 20 dB SNR", lambda y, sr, r: add_noise(y, sr, snr_db=20, rng=r)),
    Channel("white-10dB", "white noise at 10 dB SNR", lambda y, sr, r: add_noise(y, sr, snr_db=10, rng=r)),
    Channel("pink-20dB", "pink noise at 20 dB SNR", lambda y, sr, r: add_noise(y, sr, snr_db=20, rng=r, color="pink")),
    Channel("pink-10dB", "pink noise at 10 dB SNR", lambda y, sr, r: add_noise(y, sr, snr_db=10, rng=r, color="pink")),
    Channel("telephone", "300-3400 Hz band, 8 kHz", lambda y, sr, r: telephone(y, sr)),
    Channel("reverb-0.5s", "room reverberation, RT60 0.5 s", lambda y, sr, r: reverb(y, sr, rt60=0.5, rng=r)),
    Channel("gain-20dB", "20 dB quieter", lambda y, sr, r: gain(y, sr, db=-20)),
    Channel("ogg-vorbis", "Ogg Vorbis round trip", lambda y, sr, r: lossy(y, sr)),
)


def random_channel(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One channel change drawn at random with random parameters (training augmentation):
    noise at 5-30 dB SNR, a telephone line (sometimes noisy), a room of RT60 0.2-0.9 s,
    a gain of -25..+6 dB, or a lossy codec."""
    k = int(rng.integers(5))
    if k == 0:
        return add_noise(y, sr, snr_db=float(rng.uniform(5, 30)), rng=rng, color=str(rng.choice(["white", "pink"])))
    if k == 1:
        z = telephone(y, sr)
        return add_noise(z, sr, snr_db=float(rng.uniform(10, 30)), rng=rng) if rng.random() < 0.5 else z
    if k == 2:
        return reverb(y, sr, rt60=float(rng.uniform(0.2, 0.9)), rng=rng)
    if k == 3:
        return gain(y, sr, db=float(rng.uniform(-25, 6)))
    return lossy(y, sr)
