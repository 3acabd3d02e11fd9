"""Folders -> feature store: discover, skip what is stored, extract in parallel, write chunks."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from . import features
from .audio import DEFAULT_MAX_DURATION
from .config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet, get_config
from .discover import discover
from .errors import AudioError, Interrupted
from .extract import FileResult
from .parallel import map_files
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
        progress: called as ``progress(finished, total)``.

    Raises:
        ConfigError: a missing folder or unknown feature set.
        StoreLockedError: another process is writing the store.
        Interrupted: on Ctrl-C, after writing what was complete.
    """
    t0 = time.perf_counter()
    config = feature_set if isinstance(feature_set, FeatureConfig) else get_config(feature_set)
    fs = store if isinstance(store, FeatureStore) else FeatureStore(store)
    files = discover(roots, follow_symlinks=follow_symlinks)
    names = features.names(config)
    with fs:
        todo = files
        if not force:
            have = fs.existing_keys(config)
            todo = []
            for f in files:
                try:
                    st = os.stat(f.path)
                    key = (f.path, int(st.st_size), int(st.st_mtime_ns))
                except OSError:
                    key = None
                if key is None or key not in have:
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
            fs.write_rows(pending, config, names)
            fs.write_failures(pending, config)
            pending = []
            last_flush = time.monotonic()

        finished = 0
        try:
            for res in map_files(
                todo, config, jobs=jobs, max_duration=max_duration, backend=backend, scheduler=scheduler
            ):
                pending.append(res)
                finished += 1
                if res.error is None:
                    summary.done += 1
                else:
                    summary.failed += 1
                    summary.failures.append((res.file.path, res.error))
                    if strict:
                        flush()
                        raise AudioError(res.file.path, res.error)
                if len(pending) >= chunk_files or time.monotonic() - last_flush > CHUNK_SECONDS:
                    flush()
                if progress is not None:
                    progress(finished, len(todo))
            flush()
        except KeyboardInterrupt:
            # Rows already received are whole: keep them, then stop.
            flush()
            summary.interrupted = True
            summary.seconds = time.perf_counter() - t0
            raise Interrupted("; ".join(summary.lines())) from None
    summary.seconds = time.perf_counter() - t0
    return summary


def default_store_path() -> Path:
    return Path("semo-store")
