"""Running per-file work over worker processes, results in input order.

Workers are processes forked from this one (:mod:`semo_batch.forkpool`, the default on
Linux), joblib's loky processes (fresh interpreters, any system), or a Dask cluster (see
:mod:`semo_batch.dask_backend`); what each runs is in :mod:`semo_batch.workers`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .choices import Backend
from .config import FeatureConfig
from .discover import AudioFile
from .extract import FileResult
from .options import RunOptions
from .workers import resolve_jobs, run_file

if TYPE_CHECKING:
    from .longform import RecordingFeatures
    from .segment import SegmentParams

__all__ = ["FILES_PER_WORKER", "map_files", "map_recordings", "stop_workers", "worker_count"]

T = TypeVar("T")
R = TypeVar("R")

#: With ``jobs=0`` (every core), the fewest files per worker process: below it a worker costs
#: more to start (imports, and the Whisper encoder's load) than it saves.  On 2 cores, 16 files
#: of emo+whisper took 4.9 s in this process and 6.9 s over two workers; 300 emo files broke even.
FILES_PER_WORKER = {"encoder": 48, "light": 256}


def _loads_encoder(config: FeatureConfig) -> bool:
    return any(p.encoder_sha256 is not None for p in (config, *(config.parts or ())))


def worker_count(n_items: int, jobs: int, config: FeatureConfig) -> int:
    """Worker processes for ``n_items`` files (copies included): ``jobs`` when given, else
    (``jobs=0``) every core, but only as many as the batch keeps busy; 1 means this process."""
    if jobs:
        return max(1, min(jobs, n_items))
    per_worker = FILES_PER_WORKER["encoder" if _loads_encoder(config) else "light"]
    return max(1, min(resolve_jobs(0), -(-n_items // per_worker)))


def stop_workers(results: Iterator[Any] | None = None, backend: Backend = Backend.LOKY) -> None:
    """Abandon ``results`` and kill the local worker processes (after Ctrl-C).

    Closing ``results`` kills the ``fork`` backend's workers.  Cancelling joblib's pending
    tasks makes loky's manager thread trip over work items it already dropped (a
    ``KeyError`` traceback on stderr) and joblib warn about unused results; neither means
    anything on the way out, so both are silenced here.
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
            if backend is Backend.LOKY:
                from joblib.externals.loky import get_reusable_executor

                get_reusable_executor().shutdown(wait=True, kill_workers=True)
    except Exception:  # pragma: no cover - best effort on the way out
        pass
    finally:
        threading.excepthook = previous


def map_files(
    files: Sequence[AudioFile],
    config: FeatureConfig,
    options: RunOptions,
    *,
    augment: tuple[float, ...] = (),
    channel: str | None = None,
    channel_copies: int = 0,
    copies_only: bool = False,
) -> Iterator[FileResult]:
    """Extract features for ``files`` in parallel; yields one result per file, in input order.

    Args:
        options: ``jobs`` (``1`` runs in this process), ``backend`` (``dask`` needs the
            ``dask`` extra), ``scheduler`` and ``max_duration`` are used.
        augment: speed-perturbation factors to featurize as well (see
            :func:`semo_batch.extract.perturb_speed`).
        channel: a channel change applied to each file first (:func:`semo_batch.extract.apply_channel`).
        channel_copies: random channel copies to featurize as well (for training).
        copies_only: the recording's own features are stored already: compute only the copies.
    """
    if not files:
        return
    if options.backend is Backend.DASK:
        from .dask_backend import map_files_dask

        yield from map_files_dask(
            files, config, jobs=options.jobs, max_duration=options.max_duration, scheduler=options.scheduler,
            augment=augment, channel=channel, channel_copies=channel_copies, copies_only=copies_only,
        )
        return
    n_jobs = worker_count(len(files) * (1 + len(augment) + channel_copies), options.jobs, config)
    if n_jobs == 1:
        from threadpoolctl import threadpool_limits

        # One BLAS thread, as in a worker, so jobs=1 and jobs=N give bit-identical rows.
        for f in files:
            with threadpool_limits(1):
                res = run_file(f, config, options.max_duration, augment, worker=False, channel=channel,
                               channel_copies=channel_copies, copies_only=copies_only)
            yield res
        return
    task = functools.partial(run_file, config=config, max_duration=options.max_duration, augment=augment, worker=True,
                             channel=channel, channel_copies=channel_copies, copies_only=copies_only)
    # A light file is a few ms of work: up to 16 to a task keep the pool's cost per task (a
    # round trip, waking this process) out of the way (1200 emo files on 2 workers: 5.96 CPU-s
    # with 4 a task, 5.81 with 16), while every worker still gets a few tasks of a small batch.
    chunk = 1 if _loads_encoder(config) else max(1, min(16, len(files) // (4 * n_jobs)))
    yield from _local_map(task, files, n_jobs, options.backend, chunk=chunk, in_flight=4)


#: What a worker imports on first use (numpy.fft: the signal code's filter banks and F0
#: window); a fork backend's parent imports it once, before the workers fork.
_FIRST_USE = ("numpy.fft",)


def _local_map(fn: Callable[[T], R], items: Sequence[T], n_jobs: int, backend: Backend, *, chunk: int,
               in_flight: int) -> Iterator[R]:
    """``fn`` over ``items`` on ``n_jobs`` local workers of ``backend`` (``fork`` or ``loky``), in order."""
    if backend is Backend.FORK:
        from .forkpool import ordered_map

        yield from ordered_map(fn, items, workers=n_jobs, chunk=chunk, in_flight=in_flight, preload=_FIRST_USE)
        return
    import joblib

    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        par: Any = joblib.Parallel(n_jobs=n_jobs, return_as="generator", batch_size="auto" if chunk > 1 else 1,
                                   pre_dispatch=f"{in_flight} * n_jobs")
        yield from par(joblib.delayed(fn)(item) for item in items)


#: Seconds of audio that count as one clip when sizing the pool for recordings.
CLIP_SECONDS = 4.0


def _clip_equivalents(path: str) -> int:
    """How many clips' work a file is (its header's length over :data:`CLIP_SECONDS`; 1 when unknown),
    so that a few long recordings get every core, and a handful of clips stays in this process."""
    import soundfile as sf

    try:
        return max(1, int(sf.info(path).duration // CLIP_SECONDS))
    except Exception:  # unreadable: its worker records why
        return 1


def map_recordings(
    files: Sequence[AudioFile], config: FeatureConfig, params: SegmentParams, options: RunOptions,
) -> Iterator[RecordingFeatures]:
    """Segment and featurize each of ``files`` (:func:`semo_batch.longform.featurize_recording`),
    files spread over workers; yields one result per file, in input order.

    One file is one task: a long recording runs on one worker, streaming in flat memory.
    With the Dask backend, each file is one task of the cluster.
    """
    from .longform import run_recording

    if not files:
        return
    if options.backend is Backend.DASK:
        from .dask_backend import map_recordings_dask

        yield from map_recordings_dask(files, config, params, jobs=options.jobs, max_duration=options.max_duration,
                                       scheduler=options.scheduler)
        return
    # Headers are read only when the pool is ours to size (jobs=0).
    work = sum(_clip_equivalents(f.path) for f in files) if not options.jobs else len(files)
    n_jobs = min(worker_count(work, options.jobs, config), len(files))
    if n_jobs == 1:
        from threadpoolctl import threadpool_limits

        for f in files:
            with threadpool_limits(1):
                yield run_recording(f.path, config, params, options.max_duration, worker=False)
        return
    task = functools.partial(run_recording, config=config, params=params, max_duration=options.max_duration)
    yield from _local_map(task, [f.path for f in files], n_jobs, options.backend, chunk=1, in_flight=2)
