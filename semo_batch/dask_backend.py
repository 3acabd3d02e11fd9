"""Per-file work on a Dask cluster: batches of paths out, rows back in input order.

The cluster must see the input files at the same paths as this process (a
shared or network file system): workers get paths, not audio.  Results come
back to this process, which writes the store exactly as a local run does, so
a store is the same whichever backend made it.

Why the distributed client directly, and not ``joblib.parallel_config(backend="dask")``:
joblib's Dask backend submits joblib batches as Dask tasks, which is what this
module does too, but it hands a failed task to ``joblib.Parallel`` as an
exception, and ``Parallel`` then aborts the whole call.  A task fails for good
with :class:`distributed.KilledWorker` when workers keep dying while running it
(a file that crashes the decoder, or a task that was queued on the same
worker as one), so with joblib one bad file, or an unlucky worker, would stop
the run and leave every file not yet returned unaccounted for.  Here every
batch is a future of its own:

- a worker that dies mid-task is handled by the scheduler, which runs the task
  again on another worker (up to ``distributed.scheduler.allowed-failures``
  deaths, 3 by default);
- a batch that still fails with ``KilledWorker`` is split and each of its
  files is run as a task of its own, so the files that were only near the
  culprit are featurized; a single file that still fails is recorded as a
  :class:`FileResult` with the error ``"worker died while processing
  (KilledWorker)"`` (and, like every failure, tried again by the next run);
- any other failure of a batch records each of its files with the reason.

The scheduler blames a death on every task the dead worker held, running or
queued there; the local cluster is started with
``distributed.scheduler.worker-saturation`` at 1 so that a single-threaded
worker holds only the task it runs and the blame lands on the culprit alone
(docs/cluster.md recommends the same for a scheduler of your own).

No file is dropped silently: every file comes back as a row or a failure.
At most ``window`` batches are submitted and not yet yielded, so memory stays
flat however many files there are, and the results are yielded in input order.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__
from .config import FeatureConfig
from .discover import AudioFile
from .errors import ConfigError, SemoError
from .extract import FileResult
from .workers import resolve_jobs, run_batch

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client, Future

__all__ = ["INSTALL_HINT", "KILLED_WORKER_REASON", "map_files_dask", "map_recordings_dask"]

#: The reason recorded for a file whose task kept killing workers.
KILLED_WORKER_REASON = "worker died while processing (KilledWorker)"
INSTALL_HINT = "pip install 'semo-batch[dask]'"

#: Seconds to wait for the scheduler to answer, and for a first worker to join it.
CONNECT_TIMEOUT = 10.0
WORKER_TIMEOUT = 60.0
#: Most files per task: enough to make the scheduler's per-task cost (about a
#: millisecond and a round trip) negligible next to 15-30 ms of work per file, few
#: enough that the last tasks of a run leave workers idle for well under a second.
MAX_BATCH_FILES = 16
#: Seconds between looks at the cluster's size, to widen the window when workers join.
WINDOW_REFRESH = 10.0


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError(
            f"--backend dask needs the optional Dask dependencies ({exc.name or 'distributed'} is not "
            f"installed); install them with: {INSTALL_HINT}"
        ) from None
    return distributed


def _worker_version() -> str:
    return __version__


# -- the client side -------------------------------------------------------------------------------
def _failed(file: AudioFile, reason: str) -> FileResult:
    """A failure recorded without having touched the file on a worker (size and mtime from here)."""
    try:
        st = os.stat(file.path)
        size, mtime_ns = int(st.st_size), int(st.st_mtime_ns)
    except OSError:
        size, mtime_ns = -1, 0
    return FileResult(file, size, mtime_ns, {}, error=reason)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Start processes that ignore Ctrl-C: this process stops them; they should not print tracebacks.

    A process inherits an ignored SIGINT, and Python then installs no handler of its own.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _connect(distributed: Any, scheduler: str | None, n_workers: int) -> tuple[Client, Any]:
    """A client, and the local cluster it owns (``None`` for a remote scheduler)."""
    if scheduler is None:
        import dask

        # Saturation 1: a worker holds only the task it runs, so when a file kills its
        # worker no task merely queued there is blamed for the death.
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}), _sigint_ignored():
            cluster = distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
        try:
            return distributed.Client(cluster, set_as_default=False), cluster
        except BaseException:
            cluster.close()
            raise
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(
            f"cannot reach the Dask scheduler at {scheduler!r} within {CONNECT_TIMEOUT:g} s ({detail}); "
            "check the address (tcp://HOST:8786) and that `dask scheduler` is running there"
        ) from None
    return client, None


def _check_workers(client: Client, scheduler: str | None) -> int:
    """Threads in the cluster, after checking that its workers can run semo-batch's code."""
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
    except TimeoutError:
        raise ConfigError(
            f"the Dask scheduler at {scheduler!r} has no worker after {WORKER_TIMEOUT:g} s; "
            f"start some with `dask worker {scheduler} --nthreads 1`"
        ) from None
    # A worker that cannot import semo_batch would fail every task; one that runs another
    # version would write other numbers under the same fingerprint.  A worker lost while
    # answering is no reason to stop: the scheduler deals with it.
    answers = client.run(_worker_version, on_error="return")
    errors = [exc for exc in answers.values() if isinstance(exc, BaseException)]
    broken = [exc for exc in errors if not isinstance(exc, (OSError, TimeoutError))]
    if broken or (errors and len(errors) == len(answers)):
        exc = (broken or errors)[0]
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ConfigError(
            f"the Dask workers cannot run semo-batch ({detail}); install the same semo-batch "
            f"(version {__version__}) in the workers' environment: {INSTALL_HINT}"
        )
    other = {v for v in answers.values() if isinstance(v, str) and v != __version__}
    if other:
        raise ConfigError(
            f"the Dask workers run semo-batch {', '.join(sorted(other))} but this is {__version__}; "
            "features from different versions must not share a store: install the same version on the workers"
        )
    return max(1, sum(client.nthreads().values()))


def map_files_dask(
    files: Sequence[AudioFile],
    config: FeatureConfig,
    *,
    jobs: int,
    max_duration: float | None,
    scheduler: str | None,
    augment: tuple[float, ...] = (),
    channel: str | None = None,
    channel_copies: int = 0,
    copies_only: bool = False,
    batch_files: int | None = None,
    window: int | None = None,
) -> Iterator[FileResult]:
    """Extract features for ``files`` on a Dask cluster; yields one result per file, in input order.

    Args:
        files: the files; their paths must be readable by every worker.
        jobs: with no ``scheduler``, the workers of the local cluster (``0``: all
            cores); ignored with a ``scheduler`` (the cluster has the workers it has).
        max_duration: refuse longer files (seconds); ``None``: no limit.
        scheduler: address of a running scheduler (``tcp://host:8786``); ``None``
            starts a local cluster of ``jobs`` single-threaded worker processes.
        augment: speed-perturbation factors, as for :func:`semo_batch.parallel.map_files`.
        batch_files: files per task (default: up to :data:`MAX_BATCH_FILES`, fewer
            for small runs so that every worker gets some).
        window: tasks submitted and not yet yielded, at most (default: twice the
            cluster's threads, plus 2, widened when workers join).

    Raises:
        ConfigError: Dask is not installed, the scheduler cannot be reached or has
            no worker, or its workers cannot run this version of semo-batch.
        SemoError: the connection to the scheduler was lost during the run.
    """
    distributed = _import_distributed()
    if not files:
        return
    n_local = min(resolve_jobs(jobs), len(files))
    client, cluster = _connect(distributed, scheduler, n_local)
    pending: deque[tuple[list[AudioFile], Future]] = deque()
    try:
        threads = _check_workers(client, scheduler)
        if batch_files is None:
            batch_files = max(1, min(MAX_BATCH_FILES, math.ceil(len(files) / (4 * threads))))
        grow = window is None  # follow a cluster that gains workers (adaptive, or started late)
        window = window or 2 * threads + 2
        checked = time.monotonic()
        batches = (list(files[i : i + batch_files]) for i in range(0, len(files), batch_files))
        run_id = uuid.uuid4().hex[:12]
        seq = itertools.count()

        def submit(batch: list[AudioFile]) -> Future:
            # An explicit key: the same files submitted twice (a split batch) must run again.
            return client.submit(
                run_batch, batch, config, max_duration, augment, channel, channel_copies, copies_only,
                key=f"semo-extract-{run_id}-{next(seq)}", retries=1,
            )

        def collect(batch: list[AudioFile], fut: Future, split: bool) -> list[FileResult]:
            try:
                results: list[FileResult] = fut.result()
            except distributed.KilledWorker:
                if not split or len(batch) == 1:
                    return [_failed(f, KILLED_WORKER_REASON) for f in batch]
                singles = [(f, submit([f])) for f in batch]
                return [r for f, sub in singles for r in collect([f], sub, split=False)]
            except CancelledError:
                raise SemoError(
                    f"lost the connection to the Dask scheduler at {scheduler or 'the local cluster'} "
                    "(it stopped, or the network failed); run the command again: files already in the "
                    "store are skipped"
                ) from None
            except Exception as exc:  # noqa: BLE001 - a broken worker environment: record, never drop
                reason = " ".join(f"worker failed: {type(exc).__name__}: {exc}".split())
                return [_failed(f, reason) for f in batch]
            if len(results) != len(batch):  # pragma: no cover - a bug, not a data problem
                raise RuntimeError(f"a batch of {len(batch)} files returned {len(results)} results")
            return results

        for batch in batches:
            if grow and time.monotonic() - checked > WINDOW_REFRESH:
                window = max(window, 2 * sum(client.nthreads().values()) + 2)
                checked = time.monotonic()
            pending.append((batch, submit(batch)))
            if len(pending) >= window:
                head, fut = pending.popleft()
                yield from collect(head, fut, split=True)
        while pending:
            head, fut = pending.popleft()
            yield from collect(head, fut, split=True)
    finally:
        try:
            if pending and client.status == "running":
                client.cancel([fut for _, fut in pending])
        finally:
            # Closing a client that is still trying to reconnect makes distributed log
            # tracebacks of its own cancelled coroutines; the one-line error says it all.
            quiet = client.status != "running"
            log = logging.getLogger("distributed.client")
            level = log.level
            if quiet:
                log.setLevel(logging.CRITICAL)
            try:
                client.close()
            finally:
                log.setLevel(level)
                if cluster is not None:
                    cluster.close()


def map_recordings_dask(
    files: Sequence[AudioFile], config: FeatureConfig, params: Any, *, jobs: int, max_duration: float | None,
    scheduler: str | None,
) -> Iterator[Any]:
    """Segment and featurize each file on a Dask cluster, one task a file (a long recording streams
    on one worker); yields :class:`~semo_batch.longform.RecordingFeatures` in input order; a task
    lost with its worker is that file's recorded error, as for whole files."""
    from . import features
    from .longform import RecordingFeatures, run_recording

    width = len(features.names(config))
    distributed = _import_distributed()
    if not files:
        return
    client, cluster = _connect(distributed, scheduler, min(resolve_jobs(jobs), len(files)))
    pending: deque[tuple[AudioFile, Future]] = deque()
    try:
        threads = _check_workers(client, scheduler)
        window, run_id = 2 * threads + 2, uuid.uuid4().hex[:12]

        def collect(f: AudioFile, fut: Future) -> RecordingFeatures:
            try:
                return fut.result()
            except CancelledError:
                raise SemoError(
                    f"lost the connection to the Dask scheduler at {scheduler or 'the local cluster'} "
                    "(it stopped, or the network failed); run the command again"
                ) from None
            except Exception as exc:  # noqa: BLE001 - a lost worker or a broken environment: record it
                reason = KILLED_WORKER_REASON if isinstance(exc, distributed.KilledWorker) else f"worker failed: {exc}"
                return RecordingFeatures(f.path, 0.0, 0.0, (), np.zeros((0, width), np.float32), (), " ".join(reason.split()))

        for i, f in enumerate(files):
            fut = client.submit(run_recording, f.path, config, params, max_duration, key=f"semo-segment-{run_id}-{i}",
                                retries=1)
            pending.append((f, fut))
            if len(pending) >= window:
                yield collect(*pending.popleft())
        while pending:
            yield collect(*pending.popleft())
    finally:
        log = logging.getLogger("distributed.client")
        level = log.level
        try:
            if client.status == "running":
                client.cancel([fut for _, fut in pending])
            else:  # a client still trying to reconnect logs tracebacks of its own; the error line says it all
                log.setLevel(logging.CRITICAL)
            client.close()
        finally:
            log.setLevel(level)
            if cluster is not None:
                cluster.close()
