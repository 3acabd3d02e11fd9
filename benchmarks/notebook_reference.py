"""The notebook's own extraction code, kept as the reference that ``seed`` reproduces.

This is what Speech_Emotion_Recognition_using_ANN.ipynb did per file (see
shared/SEED.md), written against librosa 0.10/0.11 with librosa 0.8's
behaviour restored where the default changed: every STFT pads with
``pad_mode="reflect"`` (0.8's default; 0.10 switched to ``"constant"``).

It is deliberately the slow path: three STFTs per file (one inside
``melspectrogram``, one for chroma, one inside ``mfcc``), numba-compiled
tuning estimation, float32 audio at the file's own rate (48 kHz for
RAVDESS).  Stereo files, which the notebook skipped with "Invalid shape for
monophonic audio", are averaged to mono here so every file has a reference.

Only the benchmarks and the agreement check import this module; the
package never does (it must stay free of librosa).
"""

from __future__ import annotations

import os
from typing import Final

import librosa
import numpy as np
import soundfile

__all__ = ["N_FEATURES", "PAD_MODE", "notebook_features", "notebook_features_signal"]

#: 128 mel means, 24 chroma means, 40 MFCC means, 1 zero-crossing count.
N_FEATURES = 193
#: librosa 0.8's default STFT padding, which the notebook got without asking.
PAD_MODE: Final = "reflect"


def notebook_features_signal(y: np.ndarray, sr: int) -> np.ndarray:
    """The notebook's 193 numbers for a mono float32 signal ``y`` [shape=(n,)] at its own rate ``sr``.

    Returns:
        float64 [shape=(193,)]: mel (128), chroma (24), MFCC (40) means over
        frames, then the zero-crossing count of the whole signal.
    """
    mel = np.mean(librosa.feature.melspectrogram(y=y, sr=sr, pad_mode=PAD_MODE).T, axis=0)
    stft = np.abs(librosa.stft(y, pad_mode=PAD_MODE))
    chroma = np.mean(librosa.feature.chroma_stft(S=stft, sr=sr, n_chroma=24).T, axis=0)
    mfccs = np.mean(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40, pad_mode=PAD_MODE).T, axis=0)
    zcr = librosa.zero_crossings(y, pad=False).sum()
    return np.hstack((mel, chroma, mfccs, [zcr])).astype(np.float64)


def notebook_features(path: str | os.PathLike[str]) -> np.ndarray:
    """Read ``path`` as the notebook did (soundfile, float32, native rate) and return its 193 numbers."""
    with soundfile.SoundFile(os.fspath(path)) as sound_file:
        x = sound_file.read(dtype="float32")
        sample_rate = sound_file.samplerate
    if x.ndim == 2:  # the notebook raised here; average the channels instead
        x = x.mean(axis=1, dtype=np.float32)
    return notebook_features_signal(x, sample_rate)
