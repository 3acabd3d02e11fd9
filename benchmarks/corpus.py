"""The real files the benchmarks run on: where they are, the WAV cache, fixed subsets.

The shared RAVDESS speech copy is FLAC; users hand semo-batch folders of WAV
files, so the benchmarks decode the FLAC once into a WAV cache (same samples,
16-bit PCM, ``Actor_NN/`` layout, as ``to_wav.py`` does) and measure on that.

Without the shared copy, the benchmarks run on a synthetic stand-in written once
into the cache (:func:`synthetic_root`): 64 RAVDESS-named FLAC files of 3.5 s at
48 kHz (silence, a voiced glide with harmonics, a noise burst; two stereo), so
every speed ratio can still be measured anywhere; the table says which was used.

Environment:
    SEMO_BENCH_DATA: the FLAC folder (default ``../shared/datasets/ravdess-speech``
        next to the repository, else the synthetic stand-in).
    SEMO_BENCH_CACHE: where the WAV cache and scratch stores go (default
        ``$TMPDIR/semo-bench-cache``).
    SEMO_BENCH_QUICK: ``1`` for the short mode CI runs (12 files, 1 round).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

__all__ = [
    "REPO",
    "Sizes",
    "cache_dir",
    "flac_files",
    "flac_root",
    "is_synthetic",
    "synthetic_root",
    "link_tree",
    "quick_from_env",
    "sizes",
    "spread",
    "stereo_files",
    "wav_files",
    "wav_root",
]

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much work each kind of benchmark does.

    Attributes:
        subset: files every in-process item works on (decode, extract, the notebook
            reference, featurize, predict): the same files, so their speeds compare.
        agreement: files compared with the notebook reference (the stereo files are added).
        rounds: timed rounds per item.
        warmup: untimed rounds before them.
    """

    subset: int
    agreement: int
    rounds: int
    warmup: int


FULL = Sizes(subset=120, agreement=50, rounds=5, warmup=1)
QUICK = Sizes(subset=12, agreement=12, rounds=1, warmup=0)


def quick_from_env() -> bool:
    return os.environ.get("SEMO_BENCH_QUICK", "").strip().lower() not in ("", "0", "false", "no")


def sizes(quick: bool) -> Sizes:
    return QUICK if quick else FULL


def _shared_root() -> Path:
    env = os.environ.get("SEMO_BENCH_DATA")
    return Path(env) if env else REPO.parent / "shared" / "datasets" / "ravdess-speech"


def is_synthetic() -> bool:
    """True when the shared RAVDESS copy is absent and the stand-in is used."""
    return not any(_shared_root().glob("Actor_*/*.flac"))


def flac_root() -> Path:
    """The shared RAVDESS FLAC folder, or the synthetic stand-in when it is not there."""
    return synthetic_root() if is_synthetic() else _shared_root()


def _synthetic_clip(seed: int, sr: int = 48_000, seconds: float = 3.5) -> np.ndarray:
    """Speech-like: 0.6-0.9 s of near-silence, a voiced glide with 12 harmonics and a
    syllable envelope, a noise burst, near-silence again."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    y = 1e-4 * rng.standard_normal(n)
    start, end = int(sr * rng.uniform(0.6, 0.9)), int(sr * rng.uniform(2.4, 2.8))
    t = np.arange(end - start) / sr
    f0 = np.geomspace(rng.uniform(100, 180), rng.uniform(150, 300), t.size)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 13))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 3.0 * t)) * np.hanning(t.size)
    y[start:end] += 0.2 * voiced * envelope
    burst = int(sr * 0.08)
    y[end : end + burst] += 0.05 * rng.standard_normal(burst)
    return np.clip(y, -1.0, 1.0)


def synthetic_root() -> Path:
    """The stand-in corpus (written once): 4 actors x 8 emotions x 2 statements."""
    root = cache_dir() / "synthetic-ravdess"
    done = root / ".complete"
    if done.exists():
        return root
    for actor in range(1, 5):
        for emotion in range(1, 9):
            for statement in (1, 2):
                name = f"03-01-{emotion:02d}-01-{statement:02d}-01-{actor:02d}.flac"
                dest = root / f"Actor_{actor:02d}" / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                y = _synthetic_clip(actor * 100 + emotion * 10 + statement)
                if actor == 1 and statement == 1 and emotion <= 2:  # two stereo files, as RAVDESS has
                    y = np.stack([y, 0.8 * y], axis=1)
                tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
                sf.write(tmp, y, 48_000, subtype="PCM_16", format="FLAC")
                os.replace(tmp, dest)
    done.touch()
    return root


def cache_dir() -> Path:
    env = os.environ.get("SEMO_BENCH_CACHE")
    d = Path(env) if env else Path(tempfile.gettempdir()) / "semo-bench-cache"
    d.mkdir(parents=True, exist_ok=True)
    return d


def flac_files() -> list[Path]:
    """Every ``Actor_NN/*.flac`` of the shared copy (or of the synthetic stand-in), sorted."""
    root = flac_root()
    return sorted(root.glob("Actor_*/*.flac")) if root.is_dir() else []


def _decode_to_wav(src: Path, dest: Path) -> None:
    data, sr = sf.read(src, dtype="int16", always_2d=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    sf.write(tmp, data, sr, subtype="PCM_16", format="WAV")
    os.replace(tmp, dest)


def wav_files(flacs: list[Path] | None = None) -> list[Path]:
    """The WAV twins of ``flacs`` (default: all), decoding the ones not cached yet.

    The cache is keyed by the FLAC's relative path; a WAV is rewritten when it is
    older than its FLAC.
    """
    flacs = flac_files() if flacs is None else flacs
    root = flac_root()
    out_root = wav_root()
    out = []
    for src in flacs:
        dest = out_root / src.relative_to(root).with_suffix(".wav")
        if not dest.exists() or dest.stat().st_mtime < src.stat().st_mtime:
            dest.parent.mkdir(parents=True, exist_ok=True)
            _decode_to_wav(src, dest)
        out.append(dest)
    return out


def spread(files: list[Path], n: int) -> list[Path]:
    """``n`` files taken evenly across the sorted list, so every actor and emotion shows up."""
    if n >= len(files):
        return list(files)
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


def stereo_files(files: list[Path]) -> list[Path]:
    return [f for f in files if sf.info(str(f)).channels > 1]


def link_tree(files: list[Path], src_root: Path, dest: Path) -> Path:
    """Hard-link ``files`` (under ``src_root``) into ``dest`` with the same layout; copies across devices.

    Hard links, not symlinks: ``discover`` does not follow links out of a tree by
    default, and every copy gets its own path, so the store sees distinct files.
    """
    if dest.exists():
        shutil.rmtree(dest)
    for f in files:
        target = dest / f.relative_to(src_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, target)
        except OSError:
            shutil.copy2(f, target)
    return dest


def wav_root() -> Path:
    return cache_dir() / ("synthetic-wav" if is_synthetic() else "ravdess-wav")
