"""Shared fixtures: a seeded generator, a WAV writer, a small corpus, and the RAVDESS copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

#: The RAVDESS speech copy next to the repository (``../shared/datasets/ravdess-speech``).
RAVDESS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "ravdess-speech"

WriteWav = Callable[..., Path]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240521)


def tone(freq: float, *, sr: int, duration: float, amp: float = 0.5, phase: float = 0.0) -> np.ndarray:
    """A sine of ``freq`` Hz [shape=(round(duration * sr),)], float64."""
    t = np.arange(int(round(duration * sr))) / sr
    return amp * np.sin(2 * np.pi * freq * t + phase)


def harmonic_tone(
    f0: float, *, sr: int, duration: float, n_harmonics: int = 10, amp: float = 0.6
) -> np.ndarray:
    """A stationary harmonic tone with 1/k amplitudes (a crude voiced sound), float64."""
    t = np.arange(int(round(duration * sr))) / sr
    y = np.zeros_like(t)
    for k in range(1, n_harmonics + 1):
        if k * f0 < sr / 2 - 100:
            y += (amp / k) * np.sin(2 * np.pi * k * f0 * t + k)
    return y


def _write(
    root: Path,
    name: str | Path,
    y: np.ndarray,
    sr: int,
    *,
    subtype: str | None = None,
    format: str | None = None,
) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(y), sr, subtype=subtype, format=format)
    return path


@pytest.fixture
def write_wav(tmp_path: Path) -> WriteWav:
    """``write_wav(name, y, sr, subtype=None, format=None) -> Path`` under ``tmp_path``.

    ``y`` is [shape=(n,)] or [shape=(n, channels)]; ``name`` may contain folders;
    ``format`` is needed only when ``name`` has no extension soundfile knows.
    """

    def write(
        name: str | Path, y: np.ndarray, sr: int, subtype: str | None = None, format: str | None = None
    ) -> Path:
        return _write(tmp_path, name, y, sr, subtype=subtype, format=format)

    return write


#: The synthetic corpus of :func:`make_corpus`: relpath -> (sample rate, channels, subtype, f0 or None).
CORPUS: dict[str, tuple[int, int, str, float | None]] = {
    "03-01-05-01-01-01-12.wav": (16_000, 1, "PCM_16", 220.0),  # angry, actress 12
    "Actor_01/03-01-01-01-02-02-01.wav": (48_000, 2, "FLOAT", 150.0),  # neutral, actor 1, stereo
    "Actor_23/03-01-08-02-01-02-23.flac": (22_050, 1, "PCM_24", 180.0),  # surprised, actor 23
    "speaker a/take 1.wav": (16_000, 1, "PCM_16", 120.0),  # not a RAVDESS name
    "noise.wav": (8_000, 1, "PCM_16", None),  # not a RAVDESS name; white noise
}
#: Files of the corpus that must be recorded as failures, and files that must be ignored.
CORPUS_BAD = ("broken.wav",)
CORPUS_IGNORED = ("README.txt",)


def make_corpus(root: Path, *, duration: float = 0.4, seed: int = 7) -> Path:
    """Write :data:`CORPUS` (plus one broken .wav and a README) under ``root``; returns ``root``."""
    gen = np.random.default_rng(seed)
    for rel, (sr, ch, subtype, f0) in CORPUS.items():
        if f0 is None:
            y = 0.1 * gen.standard_normal(int(duration * sr))
        else:
            y = 0.5 * harmonic_tone(f0, sr=sr, duration=duration)
        if ch > 1:
            y = np.stack([y * (0.5 + 0.5 * c) for c in range(ch)], axis=1)
        _write(root, rel, y, sr, subtype=subtype)
    (root / CORPUS_BAD[0]).write_text("this is text, not audio\n")
    (root / CORPUS_IGNORED[0]).write_text("the corpus of the tests\n")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A fresh synthetic corpus folder (see :data:`CORPUS`)."""
    return make_corpus(tmp_path / "corpus")


@pytest.fixture
def ravdess_dir() -> Path:
    """The RAVDESS speech copy; the test is skipped when it is not there."""
    if not RAVDESS_DIR.is_dir():
        pytest.skip(f"{RAVDESS_DIR} is missing")
    return RAVDESS_DIR
