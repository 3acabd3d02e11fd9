"""Running per-file work over worker processes, results in input order.

Workers are joblib's loky processes, or a Dask cluster (see
:mod:`semo_batch.dask_backend`); what each runs is in :mod:`semo_batch.workers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

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
    import joblib

    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        par: Any = joblib.Parallel(n_jobs=n_jobs, return_as="generator", batch_size="auto", pre_dispatch="4 * n_jobs")
        yield from par(
            joblib.delayed(run_file)(f, config, options.max_duration, augment, True, channel, channel_copies, copies_only)
            for f in files
        )


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
    import joblib

    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        par: Any = joblib.Parallel(n_jobs=n_jobs, return_as="generator", batch_size=1, pre_dispatch="2 * n_jobs")
        yield from par(joblib.delayed(run_recording)(f.path, config, params, options.max_duration) for f in files)
