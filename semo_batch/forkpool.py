"""Worker processes forked from this one, results in input order (the ``fork`` backend, Linux).

A forked worker starts with this process's imported modules in place, so it begins its
first file within milliseconds; a fresh interpreter (loky's workers) spends about 0.27
CPU-s importing numpy, soundfile and the feature code first, and loky adds a
resource-tracker process (0.14 CPU-s).  On 2 cores that start-up was a sixth of featurizing
1200 clips.  The workers are :mod:`multiprocessing` processes on the ``fork`` start method,
each with a pipe of its own; this module adds what a batch needs around them: input order
with a bounded number of tasks in flight, tasks of several items given to whichever worker
is least busy, one-thread workers that ignore Ctrl-C, and workers killed, not awaited, when
the caller stops reading.

Fork copies only the calling thread, and a worker inherits everything else this process
holds.  What a worker must not keep is dealt with where it lives: the store's write lock
(closed in the child, :mod:`semo_batch.store_lock`) and a Whisper model loaded here, whose
threads stay behind (forgotten in the child, :mod:`semo_batch.encoder`).  The other threads
(numpy's OpenBLAS pool, Arrow's, polars', TensorFlow's) do not run in a worker; the
libraries the workers use (glibc's allocator, OpenBLAS) reset their locks across fork, and
workers never call Arrow, polars or TensorFlow.  A worker dies with its parent, even one
killed with SIGKILL (Linux's parent-death signal; it is tied to the thread that started the
pool, so read the results from that thread).  On macOS fork is unsafe with the system's
frameworks and Windows has none: there, and by choice anywhere, the ``loky`` backend runs
fresh interpreters instead.
"""

from __future__ import annotations

import collections
import importlib
import itertools
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # multiprocessing loads when a pool starts, not with every command's import
    from multiprocessing.connection import Connection

__all__ = ["FORK_AVAILABLE", "RemoteTraceback", "ordered_map", "single_blas_thread"]

T = TypeVar("T")
R = TypeVar("R")

#: Whether this system can run the ``fork`` backend.
FORK_AVAILABLE = sys.platform.startswith("linux")

#: Variables that native libraries read for their thread count when they load after the fork
#: (loky sets the same ones for its workers with ``inner_max_num_threads=1``).
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def single_blas_thread() -> None:
    """Have numpy's OpenBLAS start no threads in this process: call it before numpy is
    imported (after, it changes nothing); an ``OPENBLAS_NUM_THREADS`` of the user's stays.
    It sets that variable for the rest of the process and the processes it starts, so it is
    for a program's entry point (the featurize command), not for library code.

    For the parent of a batch: it does no linear algebra, and every row is computed with
    one BLAS thread (a worker's, or this process's under ``threadpool_limits(1)`` with one
    job).  An OpenBLAS pool that is never used still costs: its threads spin after numpy's
    import and at each fork, on the cores the workers need (1200 RAVDESS clips, ``--jobs 2``
    on 2 cores: parent 0.43 -> 0.33 CPU-s, workers 4.96 -> 4.85, 2.83 -> 2.77 s).
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _start_worker(parent: int) -> None:
    """First thing in a worker: die with the parent ``parent`` (as loky's workers do; a
    killed batch must not leave workers behind), ignore Ctrl-C (the parent handles it, then
    kills us), and one thread per native library."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - Linux has prctl
        pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # the libraries loaded already (numpy's BLAS) read no variables now


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (the ``__cause__`` of the one raised here)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _serve(fn: Callable[[T], R], conn: Connection, not_mine: list[Connection], parent: int) -> None:
    """A worker's life: close what belongs to the parent and the other workers, then run tasks
    ``(task id, items)`` from ``conn`` until told to stop, answering ``(task id, ok, results or
    exception)``.  Only this process holds its end of ``conn``, so if it dies the parent reads
    EOF instead of waiting forever for the rest of a message."""
    for other in not_mine:
        other.close()
    _start_worker(parent)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message is None:
            return
        task_id, items = message
        reply: tuple[int, bool, Any]
        try:
            reply = (task_id, True, [fn(item) for item in items])
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))
            try:
                pickle.dumps(exc)
                error: BaseException = exc
            except Exception:  # an exception that does not pickle: its text, at least
                error = RuntimeError(f"{type(exc).__name__}: {exc}")
            reply = (task_id, False, (error, text))
        conn.send(reply)


def _tasks(items: Iterable[T], chunk: int, out: int) -> Iterator[list[T]]:
    """``items`` in tasks of ``chunk``; of a sized ``items``, smaller ones towards the end.

    Tasks are given out ``out`` ahead, so the last ones decide how long one worker idles
    while another finishes: below ``out * chunk`` items left, a task takes ``1 / out`` of
    what is left (down to one item), and the workers finish within a few items of each
    other (1200 RAVDESS clips on 2 workers: 2.86-2.95 s -> 2.85-2.88 s; shrinking from
    twice as far out cost more in round trips than it saved).
    """
    total = len(items) if isinstance(items, Sized) else None
    source = iter(items)
    given = 0
    while True:
        size = chunk if total is None else max(1, min(chunk, (total - given) // out))
        task = list(itertools.islice(source, size))
        if not task:
            return
        given += len(task)
        yield task


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], *, workers: int, chunk: int = 1, in_flight: int = 4,
    preload: Sequence[str] = (),
) -> Iterator[R]:
    """``fn(item)`` for each of ``items`` on ``workers`` forked processes; yields in input order.

    Args:
        fn: any callable (a fork copies it; only items and results are pickled).
        chunk: items per task: a few cheap items per round trip keep the pool's own cost
            small against the work.
        in_flight: tasks per worker given out and not yet yielded (queued, running, or done
            and held for order behind a slow one): it bounds memory and read-ahead.
        preload: modules imported here before the fork, so that no worker imports them again.

    The workers start on the first ``next()`` and stop when the items are done; closing the
    iterator early (or an exception in the caller's loop) kills them at once, mid-task.  An
    exception raised by ``fn`` is raised here (the worker's traceback as its ``__cause__``);
    a worker that dies (a crash in native code) raises
    :class:`concurrent.futures.process.BrokenProcessPool`.

    Each worker has a pipe of its own, and this process no thread: there is nothing to wait
    for when a worker is killed.  (The standard library's pools read every result through one
    shared pipe in a thread; a worker killed while writing to it left that thread waiting for
    the rest of the message, and the interpreter waiting for the thread at exit: 1 in 14
    interrupted runs hung here with :class:`~concurrent.futures.ProcessPoolExecutor`.)

    Raises:
        RuntimeError: the system has no safe fork (:data:`FORK_AVAILABLE` is false).
    """
    if not FORK_AVAILABLE:
        raise RuntimeError("the fork backend needs Linux")
    import multiprocessing
    from multiprocessing.connection import wait

    for module in ("threadpoolctl", *preload):  # threadpoolctl: each worker's start (_start_worker)
        importlib.import_module(module)
    chunks = enumerate(_tasks(items, chunk, workers * in_flight))  # (task id, items)
    ctx = multiprocessing.get_context("fork")
    conns: list[Connection] = []
    procs: list[Any] = []
    queued: list[collections.deque[int]] = []  # task ids given to each worker, oldest first
    done: dict[int, list[R]] = {}
    finished = False
    try:
        for _ in range(workers):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(fn, theirs, [*conns, mine], os.getpid()), daemon=True)
            proc.start()
            theirs.close()
            conns.append(mine)
            procs.append(proc)
            queued.append(collections.deque())
        next_id, given, more = 0, 0, True
        while True:
            # Top up the least busy worker, as long as no more than `in_flight` tasks a worker
            # are out or waiting here for an earlier one (memory stays flat behind a slow task).
            while more and given - next_id < workers * in_flight:
                w = min(range(workers), key=lambda i: len(queued[i]))
                if len(queued[w]) >= in_flight:
                    break
                task = next(chunks, None)
                if task is None:
                    more = False
                    break
                conns[w].send(task)
                queued[w].append(task[0])
                given += 1
            if next_id in done:
                yield from done.pop(next_id)
                next_id += 1
                continue
            if not any(queued):
                break
            busy = {conns[i]: i for i in range(workers) if queued[i]}
            for ready in wait(list(busy)):
                w = busy[ready]  # type: ignore[index]
                try:
                    task_id, ok, payload = conns[w].recv()
                except (EOFError, OSError):
                    from concurrent.futures.process import BrokenProcessPool

                    procs[w].join(timeout=5)
                    raise BrokenProcessPool(
                        f"a worker process died (exit code {procs[w].exitcode}) while running a task"
                    ) from None
                queued[w].popleft()
                if not ok:
                    error, text = payload
                    raise error from RemoteTraceback(text)
                done[task_id] = payload
        finished = True
    finally:
        for conn, proc in zip(conns, procs):
            try:
                if finished:
                    conn.send(None)
                else:
                    proc.kill()
            except OSError:  # pragma: no cover - it has exited already
                pass
        for conn, proc in zip(conns, procs):
            proc.join(timeout=None if not finished else 30)
            if proc.is_alive():  # pragma: no cover - a worker that ignores the stop message
                proc.kill()
                proc.join()
            conn.close()
