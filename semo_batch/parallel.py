"""Running per-file work over worker processes with joblib, results in input order.

Workers are joblib's loky processes, or a Dask cluster (see
:mod:`semo_batch.dask_backend`).  Each worker uses one BLAS/OpenMP thread, so ``jobs`` workers use
``jobs`` cores, and tunes glibc's allocator once: the per-file STFT
temporaries are a few MB, just over glibc's mmap threshold, and mapping and
unmapping them for every file costs more page faults than the FFT itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from .config import FeatureConfig
from .discover import AudioFile
from .errors import ConfigError
from .extract import FileResult, extract_file

__all__ = ["BACKENDS", "resolve_jobs", "tune_process", "map_files", "stop_workers"]

BACKENDS = ("loky", "dask")
_TUNED = False


def resolve_jobs(jobs: int | None) -> int:
    """``None`` or ``0`` -> all cores; negative -> all cores but ``-jobs - 1`` (joblib's rule)."""
    n = os.cpu_count() or 1
    if not jobs:
        return n
    if jobs < 0:
        return max(1, n + 1 + jobs)
    return jobs


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


def _work(
    file: AudioFile, config: FeatureConfig, max_duration: float | None, augment: tuple[float, ...] = (),
    worker: bool = True,
) -> FileResult:
    tune_process(worker=worker)
    return extract_file(file, config, max_duration, augment)


def stop_workers(results: Iterator[FileResult] | None = None) -> None:
    """Abandon ``results`` and kill the local worker processes (after Ctrl-C).

    Cancelling joblib's pending tasks makes loky's manager thread trip over work items
    it already dropped (a ``KeyError`` traceback on stderr) and joblib warn about
    unused results; neither means anything on the way out, so both are silenced here.
    """
    import threading
    import warnings

    previous = threading.excepthook

    def quiet(args: threading.ExceptHookArgs) -> None:
        if args.thread is None or "ExecutorManager" not in args.thread.name:
            previous(args)

    threading.excepthook = quiet
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if results is not None and hasattr(results, "close"):
                results.close()
            from joblib.externals.loky import get_reusable_executor

            get_reusable_executor().shutdown(wait=True, kill_workers=True)
    except Exception:  # pragma: no cover - best effort on the way out
        pass
    finally:
        threading.excepthook = previous


def map_files(
    files: Sequence[AudioFile],
    config: FeatureConfig,
    *,
    jobs: int | None = None,
    max_duration: float | None,
    backend: str = "loky",
    scheduler: str | None = None,
    augment: tuple[float, ...] = (),
) -> Iterator[FileResult]:
    """Extract features for ``files`` in parallel; yields one result per file, in input order.

    Args:
        jobs: worker processes (``None``: all cores); ``1`` runs in this process.
        backend: ``"loky"`` (local processes) or ``"dask"`` (a Dask cluster; needs the
            ``dask`` extra).
        scheduler: with ``backend="dask"``, the address of a running scheduler
            (``tcp://host:8786``); ``None`` starts a local cluster.
        augment: speed-perturbation factors to featurize as well (see
            :func:`semo_batch.extract.perturb_speed`).
    """
    if backend not in BACKENDS:
        raise ConfigError(f"The backend must be one of {set(BACKENDS)}. Got {backend!r} instead.")
    if not files:
        return
    if backend == "dask":
        from .dask_backend import map_files_dask

        yield from map_files_dask(
            files, config, jobs=jobs, max_duration=max_duration, scheduler=scheduler, augment=augment
        )
        return
    n_jobs = min(resolve_jobs(jobs), len(files))
    if n_jobs == 1:
        from threadpoolctl import threadpool_limits

        # One BLAS thread, as in a worker, so jobs=1 and jobs=N give bit-identical rows.
        for f in files:
            with threadpool_limits(1):
                res = _work(f, config, max_duration, augment, worker=False)
            yield res
        return
    import joblib

    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        par: Any = joblib.Parallel(n_jobs=n_jobs, return_as="generator", batch_size="auto", pre_dispatch="4 * n_jobs")
        yield from par(joblib.delayed(_work)(f, config, max_duration, augment) for f in files)
