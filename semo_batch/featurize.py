"""Folders -> feature store: discover, skip what is stored, extract in parallel, write chunks."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from . import features
from .audio import DEFAULT_MAX_DURATION
from .config import DEFAULT_FEATURE_SET, FeatureConfig, FeatureSet, get_config
from .discover import AudioFile, discover, printable_path
from .errors import AudioError, ConfigError, Interrupted, SemoError, StoreWriteError, failure_lines
from .extract import FileResult
from .labeller import Labeller
from .longform import NO_SPEECH, file_result
from .naming import Scheme
from .options import RunOptions
from .parallel import map_files, map_recordings, stop_workers
from .paths import DEFAULT_STORE
from .segment import SegmentParams, parse_segmenting, segmented, segmenting_of
from .store import FAILURE_SCHEMA, ROW_COLUMNS, FeatureStore, row_table

__all__ = ["FeaturizeSummary", "Labeller", "featurize", "parse_factors", "rows_table", "failures_table"]

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
    extended: int = 0  # files already stored that got only their missing copies (new augment, channel_copies)
    chunks: int = 0  # chunks this run wrote
    warnings: list[str] = dataclasses.field(default_factory=list)  # damaged chunks set aside (also logged)

    @property
    def files_per_second(self) -> float:
        return (self.done + self.failed) / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """A human summary, one fact a line."""
        only = f" ({self.extended} of them only their missing copies)" if self.extended else ""
        out = [
            f"{self.found} files found: {self.done} featurized{only}, {self.skipped} skipped (already in the store), "
            f"{self.failed} failed",
            f"feature set {self.feature_set} ({self.fingerprint}) in {self.store}; "
            f"{self.seconds:.1f} s, {self.files_per_second:.1f} files/s",
        ]
        if self.failed:
            out.append(f"failures recorded under {self.failures_dir}")
        if self.interrupted:
            out.append("completed chunks are kept; run the same command again to resume")
        return out

    def failure_lines(self) -> list[str]:
        """The files that failed, for standard error."""
        return failure_lines(self.failures, more_in=f" (see {self.failures_dir})")


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


def parse_factors(text: str) -> tuple[float, ...]:
    """Speed factors written as ``"0.9,1.1"``.

    Raises:
        ConfigError: a part that is not a number.
    """
    try:
        return tuple(float(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise ConfigError(f"--augment takes comma-separated speed factors such as 0.9,1.1; got {text!r}") from None


Key = tuple[str, int, int, float, str]


def rows_table(
    results: Sequence[FileResult], feature_names: Sequence[str], labeller: Labeller | None = None,
    skip: Container[Key] = (),
) -> pa.Table:
    """The successful results as store rows (:data:`~semo_batch.store.ROW_COLUMNS` + features).

    A result with speed perturbations or channel copies gives one row per version, told
    apart by the ``augment`` column (1.0 for the recording's own speed) and the ``channel``
    column (``""`` for the recording as it is).  ``labeller`` (default: every
    file-name scheme) gives each file's label columns.  Rows whose ``(path, size, mtime_ns,
    augment, channel)`` is in ``skip`` (already stored) are left out.
    """
    labeller = labeller or Labeller()
    ok = [r for r in results if r.error is None or r.segments]  # a damaged recording keeps its segments
    labels = {id(r): labeller(r.file.path) for r in ok}
    rows: list[tuple[FileResult, float, str, Any]] = [(r, 1.0, "", r.features) for r in ok if r.features is not None]
    rows += [(r, factor, "", vec) for r in ok for factor, vec in r.augmented]
    rows += [(r, 1.0, name, vec) for r in ok for name, vec in r.channel_copies]
    rows = [(r, a, c, v) for r, a, c, v in rows
            if (printable_path(r.file.path), r.size, r.mtime_ns, round(float(a), 4), c) not in skip]
    spans = [(0.0, r.meta.get("duration")) for r, _, _, _ in rows]
    for r in ok:
        if (printable_path(r.file.path), r.size, r.mtime_ns, 1.0, "") not in skip:
            rows += [(r, 1.0, "", vec) for _, _, vec in r.segments]
            spans += [(start, end) for start, end, _ in r.segments]
    cols: dict[str, Any] = {
        "path": [printable_path(r.file.path) for r, _, _, _ in rows],
        "relpath": [printable_path(r.file.relpath) for r, _, _, _ in rows],
        "root": [printable_path(r.file.root) for r, _, _, _ in rows],
        "size": [r.size for r, _, _, _ in rows],
        "mtime_ns": [r.mtime_ns for r, _, _, _ in rows],
        "augment": [a for _, a, _, _ in rows],
        "channel": [c for _, _, c, _ in rows],
        "start": [a for a, _ in spans],
        "end": [b for _, b in spans],
    }
    for key in ROW_COLUMNS:
        if key not in cols:
            cols[key] = [labels[id(r)].get(key, r.meta.get(key)) for r, _, _, _ in rows]
    table = row_table(cols)
    matrix = (np.stack([v for _, _, _, v in rows]).astype(np.float32, copy=False) if rows
              else np.zeros((0, len(feature_names)), np.float32))
    # One table from column arrays (contiguous rows of the transposed matrix, wrapped without
    # a copy): 40 ms -> 1 ms per 256-row chunk against appending 658 columns one by one, and
    # unlike pa.array(ndarray) it does not import numpy.ma (10 ms); the same table.
    columns = np.ascontiguousarray(matrix.T)
    return pa.Table.from_arrays(
        [*table.columns, *(pa.Array.from_buffers(pa.float32(), c.size, [None, pa.py_buffer(c)]) for c in columns)],
        names=[*table.column_names, *feature_names])


def _plan(files: Sequence[AudioFile], wanted: Sequence[tuple[float, str]], have: Container[Key]
          ) -> list[tuple[tuple[float, ...], int, bool, list[AudioFile]]]:
    """What each file still needs, as groups ``(speed factors, channel copies, copies only, files)``.

    A file stored with every wanted copy needs nothing; one that misses only some copies
    is featurized with those only (the worker does not recompute its own row); a new or
    changed file gets everything.
    """
    groups: dict[tuple[tuple[float, str], ...], list[AudioFile]] = {}
    for f in files:
        try:
            st = os.stat(f.path)
            missing = tuple(w for w in wanted if (printable_path(f.path), int(st.st_size), int(st.st_mtime_ns), *w) not in have)
        except OSError:
            missing = tuple(wanted)  # the worker records why it cannot be read
        if missing:
            groups.setdefault(missing, []).append(f)
    return [(tuple(a for a, c in m if a != 1.0), max((int(c.split(":")[1]) for _, c in m if c), default=0),
             (1.0, "") not in m, group) for m, group in groups.items()]


def failures_table(results: Sequence[FileResult]) -> pa.Table:
    """The failed results: file, size, modification time and the one-line reason."""
    bad = [r for r in results if r.error is not None]
    columns: dict[str, list[Any]] = {k: [printable_path(getattr(r.file, k)) for r in bad] for k in ("path", "relpath", "root")}
    columns.update(size=[r.size for r in bad], mtime_ns=[r.mtime_ns for r in bad], reason=[r.error for r in bad])
    return row_table(columns, FAILURE_SCHEMA, list(columns))


def featurize(
    roots: Iterable[str | os.PathLike[str]],
    store: str | os.PathLike[str] | FeatureStore = DEFAULT_STORE,
    *,
    feature_set: str | FeatureSet | FeatureConfig = DEFAULT_FEATURE_SET,
    options: RunOptions | None = None,
    force: bool = False,
    strict: bool = False,
    chunk_files: int = CHUNK_FILES,
    augment: tuple[float, ...] = (),
    channel_copies: int = 0,
    scheme: str | Scheme = Scheme.AUTO,
    labels: str | os.PathLike[str] | None = None,
    segment: str | SegmentParams | None = None,
) -> FeaturizeSummary:
    """Featurize every audio file under ``roots`` into ``store``.

    Files already stored with the same path, size, modification time and feature
    fingerprint are skipped unless ``force``; with new ``augment`` factors or more
    ``channel_copies``, stored files get only the copies they miss.  Results are written in chunks as
    they arrive, each atomically; failures are recorded with a one-line reason and
    retried on the next run.

    Args:
        roots: input folders (checked before any work).
        store: the store folder, or a :class:`FeatureStore`.
        feature_set: a name, or a :class:`FeatureConfig`.
        options: workers, backend, duration limit, symlinks and progress (see
            :class:`~semo_batch.options.RunOptions`; default: one in-process worker).
        strict: stop at the first failed file (raising :class:`AudioError`) instead of recording it.
        augment: speed-perturbation factors (e.g. ``(0.9, 1.1)``) also featurized and
            stored as extra rows for training (see :func:`semo_batch.extract.perturb_speed`).
        segment: ``auto`` or ``fixed:SECONDS`` stores one row per segment of each recording
            (``start``, ``end``; a clip of up to 8 s stays one whole-file row, with the numbers
            it has without segmenting), in a dataset of its own (the segmenting is part of
            the fingerprint); ``None`` or ``none``: one row per file.
        channel_copies: also store this many copies of each file through random channel
            changes (noise, telephone, room, gain, codec), for training only.
        scheme: how labels are read from file names (:class:`~semo_batch.naming.Scheme`; ``auto``
            knows RAVDESS, CREMA-D, TESS, EmoDB and SAVEE).
        labels: a labels CSV (``path,emotion[,speaker][,corpus]``) for any other corpus; the
            labels are stored with the rows, so a changed CSV needs ``force``.

    Raises:
        ConfigError: a missing folder or unknown feature set.
        ModelError: the feature set's encoder weights are missing or altered.
        StoreLockedError: another process is writing the store.
        StoreWriteError: the store is full or read-only; the chunks written are kept, and the
            same call resumes once it is fixed.
        Interrupted: on Ctrl-C, after writing what was complete.
    """
    t0 = time.perf_counter()
    labeller = Labeller(scheme, labels)
    config = feature_set if isinstance(feature_set, FeatureConfig) else get_config(feature_set)
    if segment is not None:
        config = segmented(config, segment if isinstance(segment, SegmentParams) else parse_segmenting(segment))
    cut = segmenting_of(config)  # no default duration limit for segments (whole-file rows keep theirs)
    options = options or RunOptions(max_duration=None if cut else DEFAULT_MAX_DURATION)
    if cut is not None and (augment or channel_copies):
        raise ConfigError("speed and channel copies are made of whole files; featurize them without --segment")
    fs = store if isinstance(store, FeatureStore) else FeatureStore(store)
    files = discover(roots, follow_symlinks=options.follow_symlinks)
    names = features.names(config)
    features.prepare(config)  # e.g. missing encoder weights: one error now, not one per file
    augment = tuple(sorted({round(float(a), 4) for a in augment} - {1.0}))
    for a in augment:
        if not 0.5 <= a <= 2.0:
            raise ConfigError(f"augmentation factors must lie between 0.5 and 2.0; got {a:g}")
    if not isinstance(channel_copies, int) or not 0 <= channel_copies <= 8:
        raise ConfigError(f"channel_copies must be a whole number from 0 to 8; got {channel_copies!r}")
    wanted = [(1.0, ""), *((a, "") for a in augment), *((1.0, f"random:{k}") for k in range(1, channel_copies + 1))]
    if not files:  # nothing to do: the store is neither created nor touched
        return FeaturizeSummary(found=0, done=0, skipped=0, failed=0, seconds=0.0, store=str(fs.path), feature_set=config.name,
                                fingerprint=config.fingerprint(), failures_dir=str(fs.failures_dir))
    with fs:
        have: set[Key] = set() if force else fs.existing_keys(config)
        if cut is not None and not force:  # a recording without speech, unchanged, is not decoded again
            have |= {(p, s, m, 1.0, "") for p, s, m in fs.failed_files(config, NO_SPEECH)}
        plan = _plan(files, wanted, have)
        todo = [f for *_, group in plan for f in group]
        extending = {f.path for *_, copies_only, group in plan if copies_only for f in group}
        summary = FeaturizeSummary(found=len(files), done=0, skipped=len(files) - len(todo), failed=0, seconds=0.0,
                                   store=str(fs.path), feature_set=config.name, fingerprint=config.fingerprint(),
                                   failures_dir=str(fs.failures_dir), warnings=fs.warnings)
        pending: list[FileResult] = []
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal pending, last_flush
            # Take the batch first: a Ctrl-C inside the writes must not write it twice.
            batch, pending = pending, []
            try:
                for chunk in (fs.write_rows(rows_table(batch, names, labeller, skip=have), config, names),
                              fs.write_failures(failures_table(batch), config)):
                    summary.chunks += chunk is not None
            except StoreWriteError as exc:  # a full disk, a read-only store: what is written stays
                fix = "free space" if exc.full else "make the store writable"
                kept = "1 chunk written is kept" if summary.chunks == 1 else f"{summary.chunks} chunks written are kept"
                raise StoreWriteError(exc.path, exc.problem, f"{kept}; {fix} and run the same command to resume") from None
            last_flush = time.monotonic()

        finished = 0

        def extract_all() -> Iterator[FileResult]:
            for factors, copies, copies_only, group in plan:
                if cut is not None:
                    yield from map(file_result, group, map_recordings(group, config, cut, options))
                    continue
                yield from map_files(group, config, options, augment=factors, channel_copies=copies, copies_only=copies_only)

        results = extract_all()
        try:
            with _ctrl_c_requests_stop() as stop:
                for res in results:
                    pending.append(res)
                    finished += 1
                    if res.error is None:
                        summary.done += 1
                        summary.extended += res.file.path in extending
                    else:
                        summary.failed += 1
                        summary.failures.append((printable_path(res.file.path), res.error))
                        if strict:
                            raise AudioError(printable_path(res.file.path), res.error)
                    if len(pending) >= chunk_files or time.monotonic() - last_flush > CHUNK_SECONDS:
                        flush()
                    options.report(finished, len(todo))
                    if stop.is_set():
                        raise KeyboardInterrupt
            flush()
        except SemoError:
            flush()  # e.g. --strict, or a Dask scheduler lost mid-run: keep what is whole
            raise
        except KeyboardInterrupt:
            # Rows already received are whole: keep them, then stop the workers.
            flush()
            stop_workers(results, options.backend)
            summary.interrupted = True
            summary.seconds = time.perf_counter() - t0
            raise Interrupted("; ".join(summary.lines())) from None
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    summary.seconds = time.perf_counter() - t0
    return summary

