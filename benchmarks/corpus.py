"""The real files the benchmarks run on: where they are, the WAV cache, fixed subsets.

The shared RAVDESS speech copy is FLAC; users hand semo-batch folders of WAV
files, so the benchmarks decode the FLAC once into a WAV cache (same samples,
16-bit PCM, ``Actor_NN/`` layout, as ``to_wav.py`` does) and measure on that.

Environment:
    SEMO_BENCH_DATA: the FLAC folder (default ``../shared/datasets/ravdess-speech``
        next to the repository).
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

import soundfile as sf

__all__ = [
    "REPO",
    "Sizes",
    "cache_dir",
    "flac_files",
    "flac_root",
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


def flac_root() -> Path:
    env = os.environ.get("SEMO_BENCH_DATA")
    return Path(env) if env else REPO.parent / "shared" / "datasets" / "ravdess-speech"


def cache_dir() -> Path:
    env = os.environ.get("SEMO_BENCH_CACHE")
    d = Path(env) if env else Path(tempfile.gettempdir()) / "semo-bench-cache"
    d.mkdir(parents=True, exist_ok=True)
    return d


def flac_files() -> list[Path]:
    """Every ``Actor_NN/*.flac`` of the shared copy, sorted; empty when it is not there."""
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
    out_root = cache_dir() / "ravdess-wav"
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
    return cache_dir() / "ravdess-wav"
