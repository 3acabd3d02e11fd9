"""The ``whisper`` feature set: Whisper's log-mel front end, speech trimming and pooling.

The front end reproduces Whisper's ``log_mel_spectrogram`` in numpy: the one STFT of
the file (16 kHz, 400-sample periodic Hann window, 160-sample hop, centre reflect
padding) without its last frame (as ``torch.stft``-based Whisper code drops it), power
through 80 Slaney mel bands (``librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)``),
``log10`` clamped at 1e-10, floored 8 decades below the file's maximum and scaled as
``(x + 4) / 4``.  The floor is taken over the whole clip (Whisper takes it over its
30 s window, which for a clip padded with silence is the same maximum).

Pooling: the leading and trailing frames more than ``config.trim_db`` below the clip's
loudest (99th-percentile) frame, by mel energy, are cut *before* encoding, so that the
encoder sees the utterance only (RAVDESS clips carry about a second of room tone at
each end, which would otherwise dominate the average) and runs on half the frames.
Pauses inside the utterance are kept.  The encoder's frames of what remains are
summarized by their mean and standard deviation (ddof 0), 2 x 512 numbers.

The encoder itself is a callable handed in by :func:`semo_batch.features.extract`, so
this module stays pure array code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..config import FeatureConfig
from .filters import mel_filterbank
from .spectrum import stft

__all__ = [
    "ENCODER_DIM",
    "LOG_MEL_FLOOR",
    "whisper_names",
    "whisper_mel_power",
    "whisper_log_mel",
    "mel_energy_db",
    "speech_span",
    "pool_mean_std",
    "whisper_features",
]

#: Width of Whisper-base's encoder frames.
ENCODER_DIM = 512
#: Mel power is clamped here before ``log10`` (Whisper's constant).
LOG_MEL_FLOOR = 1e-10
#: Whisper's dynamic range: the log-mel is floored this many decades below its maximum.
_DYNAMIC_RANGE = 8.0

#: ``encode(log_mel [n_mels, t]) -> frames [ceil(t / 2), ENCODER_DIM]``.
Encode = Callable[[np.ndarray], np.ndarray]


def whisper_names(config: FeatureConfig) -> list[str]:
    """``whisper_mean_000 .. whisper_mean_511``, then ``whisper_std_000 .. whisper_std_511``."""
    return [f"{config.name}_{stat}_{i:03d}" for stat in ("mean", "std") for i in range(ENCODER_DIM)]


def whisper_mel_power(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Mel power [shape=(n_mels, t)], float32, with ``t = len(y) // hop_length`` frames."""
    power = stft(y, config).power[:-1]  # Whisper drops the frame centred past the end
    fb = mel_filterbank(
        sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels, fmin=config.fmin, fmax=config.mel_fmax
    )
    return fb @ power.T


def whisper_log_mel(
    y: np.ndarray, config: FeatureConfig, *, mel_power: np.ndarray | None = None
) -> np.ndarray:
    """Whisper's normalized log-mel spectrogram of a mono signal at ``config.sample_rate``.

    Args:
        y: float32 [shape=(n,)].
        mel_power: the signal's mel power, when already computed.

    Returns:
        float32 [shape=(n_mels, n // hop_length)], values in ``[max - 2, max]`` with
        ``max <= 1.5`` for a signal within [-1, 1].
    """
    mel = whisper_mel_power(y, config) if mel_power is None else mel_power
    log = np.log10(np.maximum(mel, np.float32(LOG_MEL_FLOOR)))
    if log.size:
        np.maximum(log, log.max() - np.float32(_DYNAMIC_RANGE), out=log)
    return ((log + np.float32(4.0)) / np.float32(4.0)).astype(np.float32, copy=False)


def mel_energy_db(mel_power: np.ndarray) -> np.ndarray:
    """Energy of each frame in dB: ``10 * log10`` of the summed mel power [shape=(t,)], float64."""
    return 10.0 * np.log10(np.maximum(mel_power.sum(axis=0, dtype=np.float64), LOG_MEL_FLOOR))


def speech_span(energy_db: np.ndarray, *, trim_db: float | None) -> tuple[int, int]:
    """Frames ``[start, stop)`` from the first to the last frame within ``trim_db`` of the loudest.

    The loudest is the 99th percentile, so one click does not set the threshold.
    ``trim_db=None`` or no frames: the whole range.
    """
    t = int(energy_db.size)
    if trim_db is None or t == 0:
        return 0, t
    loud = np.flatnonzero(energy_db > np.percentile(energy_db, 99) - trim_db)
    if loud.size == 0:  # only when every frame is at the floor: keep them all
        return 0, t
    return int(loud[0]), int(loud[-1]) + 1


def pool_mean_std(frames: np.ndarray) -> np.ndarray:
    """Mean then standard deviation (ddof 0) over frames [shape=(t, d)] -> float32 [shape=(2 * d,)]."""
    x = np.asarray(frames, dtype=np.float64)
    return np.concatenate([x.mean(axis=0), x.std(axis=0)]).astype(np.float32)


def whisper_features(y: np.ndarray, config: FeatureConfig, encode: Encode) -> np.ndarray:
    """The ``whisper`` vector of a mono float32 signal already at ``config.sample_rate``.

    Args:
        encode: the encoder (see :func:`semo_batch.encoder.encode_log_mel`).

    Returns:
        float32 [shape=(2 * ENCODER_DIM,)]: mean, then standard deviation, of the encoder
        frames of the trimmed clip.
    """
    mel = whisper_mel_power(y, config)
    log_mel = whisper_log_mel(y, config, mel_power=mel)
    start, stop = speech_span(mel_energy_db(mel), trim_db=config.trim_db)
    if stop <= start:  # shorter than one hop: there is nothing to encode
        raise ValueError(f"the clip has no complete {config.hop_length}-sample frame")
    frames = encode(np.ascontiguousarray(log_mel[:, start:stop]))
    return pool_mean_std(frames)
