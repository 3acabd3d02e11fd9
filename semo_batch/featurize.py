"""Folders -> feature store: discover, skip what is stored, extract in parallel, write chunks."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from . import features
from .audio import DEFAULT_MAX_DURATION
from .config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet, get_config
from .discover import discover, printable_path
from .errors import AudioError, ConfigError, Interrupted, SemoError
from .extract import FileResult
from .parallel import map_files, stop_workers
from .store import FeatureStore

__all__ = ["FeaturizeSummary", "featurize", "ProgressCallback"]

#: Called after each file with (files finished, files to do).
ProgressCallback = Callable[[int, int], None]

#: A chunk is written after this many files or this many seconds, whichever comes first:
#: a kill loses at most one chunk of work.
CHUNK_FILES = 256
CHUNK_SECONDS = 20.0


@dataclasses.dataclass
class FeaturizeSummary:
    """What a featurize run did."""

    found: int
    done: int
    skipped: int
    failed: int
    seconds: float
    store: str
    feature_set: str
    fingerprint: str
    failures_dir: str
    interrupted: bool = False
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    @property
    def files_per_second(self) -> float:
        return (self.done + self.failed) / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """A human summary, one fact a line."""
        out = [
            f"{self.found} files found: {self.done} featurized, {self.skipped} skipped (already in the store), "
            f"{self.failed} failed",
            f"feature set {self.feature_set} ({self.fingerprint}) in {self.store}; "
            f"{self.seconds:.1f} s, {self.files_per_second:.1f} files/s",
        ]
        if self.failed:
            out.append(f"failures recorded under {self.failures_dir}")
        if self.interrupted:
            out.append("interrupted: completed chunks are kept; run the same command again to resume")
        return out


@contextlib.contextmanager
def _ctrl_c_requests_stop() -> Iterator[threading.Event]:
    """While featurizing, a first Ctrl-C asks the loop to stop after the result in hand
    (so no library is interrupted half-way through its bookkeeping); a second one
    interrupts at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def featurize(
    roots: Iterable[str | os.PathLike[str]],
    store: str | os.PathLike[str] | FeatureStore = "semo-store",
    *,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    jobs: int | None = None,
    force: bool = False,
    strict: bool = False,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    follow_symlinks: bool = False,
    backend: str = "loky",
    scheduler: str | None = None,
    chunk_files: int = CHUNK_FILES,
    augment: tuple[float, ...] = (),
    progress: ProgressCallback | None = None,
) -> FeaturizeSummary:
    """Featurize every audio file under ``roots`` into ``store``.

    Files already stored with the same path, size, modification time and feature
    fingerprint are skipped unless ``force``.  Results are written in chunks as
    they arrive, each atomically; failures are recorded with a one-line reason and
    retried on the next run.

    Args:
        roots: input folders (checked before any work).
        store: the store folder, or a :class:`FeatureStore`.
        feature_set: a name, or a :class:`FeatureConfig`.
        jobs: worker processes (``None``: all cores).
        strict: stop at the first failed file (raising :class:`AudioError`) instead of recording it.
        max_duration: refuse longer files (seconds); ``None``: no limit.
        follow_symlinks: follow links out of the input trees.
        backend, scheduler: see :func:`semo_batch.parallel.map_files`.
        augment: speed-perturbation factors (e.g. ``(0.9, 1.1)``) also featurized and
            stored as extra rows for training (see :func:`semo_batch.extract.perturb_speed`).
        progress: called as ``progress(finished, total)``.

    Raises:
        ConfigError: a missing folder or unknown feature set.
        ModelError: the feature set's encoder weights are missing or altered.
        StoreLockedError: another process is writing the store.
        Interrupted: on Ctrl-C, after writing what was complete.
    """
    t0 = time.perf_counter()
    if max_duration is not None and not max_duration > 0:
        raise ConfigError(f"max_duration must be a positive number of seconds or None; got {max_duration}")
    config = feature_set if isinstance(feature_set, FeatureConfig) else get_config(feature_set)
    fs = store if isinstance(store, FeatureStore) else FeatureStore(store)
    files = discover(roots, follow_symlinks=follow_symlinks)
    names = features.names(config)
    features.prepare(config)  # e.g. missing encoder weights: one error now, not one per file
    augment = tuple(sorted({round(float(a), 4) for a in augment} - {1.0}))
    for a in augment:
        if not 0.5 <= a <= 2.0:
            raise ConfigError(f"augmentation factors must lie between 0.5 and 2.0; got {a:g}")
    wanted = (1.0, *augment)
    with fs:
        todo = files
        if not force:
            have = fs.existing_keys(config)
            todo = []
            for f in files:
                try:
                    st = os.stat(f.path)
                    keys = [(printable_path(f.path), int(st.st_size), int(st.st_mtime_ns), a) for a in wanted]
                except OSError:
                    keys = []
                if not keys or any(k not in have for k in keys):
                    todo.append(f)
        summary = FeaturizeSummary(
            found=len(files),
            done=0,
            skipped=len(files) - len(todo),
            failed=0,
            seconds=0.0,
            store=str(fs.path),
            feature_set=config.name,
            fingerprint=config.fingerprint(),
            failures_dir=str(fs.failures_dir),
        )
        pending: list[FileResult] = []
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal pending, last_flush
            # Take the batch first: a Ctrl-C inside the writes must not write it twice.
            batch, pending = pending, []
            fs.write_rows(batch, config, names)
            fs.write_failures(batch, config)
            last_flush = time.monotonic()

        finished = 0
        results = map_files(
            todo, config, jobs=jobs, max_duration=max_duration, backend=backend, scheduler=scheduler,
            augment=augment,
        )
        try:
            with _ctrl_c_requests_stop() as stop:
                for res in results:
                    pending.append(res)
                    finished += 1
                    if res.error is None:
                        summary.done += 1
                    else:
                        summary.failed += 1
                        summary.failures.append((printable_path(res.file.path), res.error))
                        if strict:
                            raise AudioError(printable_path(res.file.path), res.error)
                    if len(pending) >= chunk_files or time.monotonic() - last_flush > CHUNK_SECONDS:
                        flush()
                    if progress is not None:
                        progress(finished, len(todo))
                    if stop.is_set():
                        raise KeyboardInterrupt
            flush()
        except SemoError:
            flush()  # e.g. --strict, or a Dask scheduler lost mid-run: keep what is whole
            raise
        except KeyboardInterrupt:
            # Rows already received are whole: keep them, then stop the workers.
            flush()
            stop_workers(results)
            summary.interrupted = True
            summary.seconds = time.perf_counter() - t0
            raise Interrupted("; ".join(summary.lines())) from None
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    summary.seconds = time.perf_counter() - t0
    return summary

