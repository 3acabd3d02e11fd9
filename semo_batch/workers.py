"""What every worker process runs: one-time process set-up and the per-file task.

Both backends (:mod:`semo_batch.parallel` for loky, :mod:`semo_batch.dask_backend`)
send work to these module-level functions, so a file gives the same row
whichever backend ran it.  Each worker uses one BLAS/OpenMP thread, so ``jobs``
workers use ``jobs`` cores, and tunes glibc's allocator once: the per-file STFT
temporaries are a few MB, just over glibc's mmap threshold, and mapping and
unmapping them for every file costs more page faults than the FFT itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence

from .config import FeatureConfig
from .discover import AudioFile
from .extract import FileResult, extract_file

__all__ = ["resolve_jobs", "tune_process", "run_file", "run_batch"]

_TUNED = False
_LIBC: ctypes.CDLL | bool | None = None


def resolve_jobs(jobs: int) -> int:
    """Worker processes for ``jobs``: ``0`` means every core."""
    return jobs or os.cpu_count() or 1


def tune_process(*, worker: bool = False) -> None:
    """Once per process: keep large temporaries on the heap (glibc only), and in a worker
    ignore Ctrl-C, which the parent handles (writing what is complete, then stopping us)."""
    global _TUNED
    if _TUNED:
        return
    _TUNED = True
    if worker:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread of the worker
            pass
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 64 * 1024 * 1024)
        libc.mallopt(m_trim_threshold, 256 * 1024 * 1024)
    except (OSError, AttributeError):
        pass


def release_free_memory() -> None:
    """Give the heap's free memory back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    A long recording's segments allocate temporaries of every size; with the high trim
    threshold above, freed ones would stay with the process, which then grew by about 70 MB an
    hour with the Whisper encoder (flat with this call after each segment, for about 10% time).
    """
    global _LIBC
    if _LIBC is None:
        _LIBC = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                libc.malloc_trim.argtypes = [ctypes.c_size_t]  # glibc only: AttributeError elsewhere
                _LIBC = libc
            except (OSError, AttributeError):
                pass
    if isinstance(_LIBC, ctypes.CDLL):
        _LIBC.malloc_trim(0)


def run_file(
    file: AudioFile, config: FeatureConfig, max_duration: float | None, augment: tuple[float, ...] = (),
    worker: bool = True, channel: str | None = None, channel_copies: int = 0, copies_only: bool = False,
) -> FileResult:
    """One file on a loky worker (or in this process, ``worker=False``)."""
    tune_process(worker=worker)
    return extract_file(file, config, max_duration, augment, channel, channel_copies, copies_only)


def run_batch(
    files: Sequence[AudioFile], config: FeatureConfig, max_duration: float | None, augment: tuple[float, ...],
    channel: str | None = None, channel_copies: int = 0, copies_only: bool = False,
) -> list[FileResult]:
    """A batch of files on a Dask worker: one result per file, in order; never raises for a bad file."""
    tune_process()
    return [extract_file(f, config, max_duration, augment, channel, channel_copies, copies_only) for f in files]
