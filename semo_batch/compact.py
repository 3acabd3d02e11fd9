"""Compaction: rewrite a store without its superseded rows, safe against a kill at any moment.

A store only grows: a file featurized again (changed, ``--force``) gets a newer row and
the old one stays on disk, superseded.  :func:`compact` keeps the current row of every
file and copy (:func:`~semo_batch.layout.newest_rows`, the rows every reader uses) and the
unresolved failures, in few large chunks:

1. the kept rows are written to ``STORE/.compact/`` (not a folder readers look in);
2. each feature folder (and ``failures/``) is swapped with its new version in one step
   (Linux ``renameat2(RENAME_EXCHANGE)``), so a reader sees either the old chunks or the
   new ones; where the file system cannot swap, the new chunks are moved in first and the
   old ones out after, so a reader sees the old rows, or the new, or both (the same rows
   twice, identical, of which it keeps one);
3. ``STORE/.compact/``, holding by then the old chunks, is removed.

Killed at any step, the store still holds every current row; what is left in
``.compact/`` is removed by the next command that writes the store.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from .config import FeatureConfig
from .errors import StoreError, StoreWriteError, os_problem
from .layout import COMPACT_DIR, FAILURE_COLUMNS, FAILURE_SCHEMA, META_KEY, META_SCHEMA, stamped, write_chunk
from .store import FeatureStore

__all__ = ["compact", "CompactSummary", "CompactedSet"]

#: Rows per chunk of a compacted store.
COMPACT_ROWS = 50_000


@dataclasses.dataclass(frozen=True)
class CompactedSet:
    """One folder of a store before and after compaction (``feature_set`` is ``"failures"`` for
    the recorded failures)."""

    feature_set: str
    fingerprint: str
    rows_before: int
    rows_after: int
    chunks_before: int
    chunks_after: int

    @property
    def rewritten(self) -> bool:
        return (self.rows_before, self.chunks_before) != (self.rows_after, self.chunks_after)

    def line(self) -> str:
        name = f"{self.feature_set} {self.fingerprint}".strip()
        if not self.rewritten:
            return f"{name}: already compact ({self.rows_after} rows in {_n(self.chunks_after, 'chunk')})"
        what = "older or resolved failures" if self.feature_set == "failures" else "superseded rows"
        return (f"{name}: {self.rows_before} rows in {_n(self.chunks_before, 'chunk')} -> {self.rows_after} rows "
                f"in {_n(self.chunks_after, 'chunk')} ({self.rows_before - self.rows_after} {what} dropped)")


@dataclasses.dataclass(frozen=True)
class CompactSummary:
    """What :func:`compact` did.

    Attributes:
        sets: one entry per feature folder, then one for the failures (when there are any).
        bytes_before, bytes_after: size of the store's chunks.
        warnings: damaged chunks set aside while reading (one line each).
    """

    store: str
    sets: list[CompactedSet]
    bytes_before: int
    bytes_after: int
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def dropped(self) -> int:
        """Rows dropped in all."""
        return sum(s.rows_before - s.rows_after for s in self.sets)

    def lines(self) -> list[str]:
        out = [s.line() for s in self.sets]
        out.append(f"{self.store}: {self.dropped} rows dropped; chunks {_mb(self.bytes_before)} -> {_mb(self.bytes_after)}")
        return out


def _n(k: int, word: str) -> str:
    return f"{k} {word}{'s' if k != 1 else ''}"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _size(fs: FeatureStore) -> int:
    return sum(p.stat().st_size for d in (fs.features_dir, fs.failures_dir) for p in d.glob("**/*.parquet"))


def _write(fs: FeatureStore, table: pa.Table, folder: Path) -> int:
    """``table`` as chunks of :data:`COMPACT_ROWS` rows in ``folder`` (created, even for no rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, table.num_rows, COMPACT_ROWS):
        write_chunk(table.slice(start, COMPACT_ROWS), folder / fs._chunk_name())
    return -(-table.num_rows // COMPACT_ROWS)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``); ``False``
    where the system or file system cannot."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap(new: Path, target: Path) -> None:
    """Put the chunks of ``new`` in the place of those of ``target``; ``new`` ends up holding
    the old ones."""
    if _exchange(new, target):
        return
    old = sorted(target.glob("*.parquet"))
    for chunk in sorted(new.glob("*.parquet")):  # first the new rows in (readers see them twice) ...
        os.replace(chunk, target / chunk.name)
    for chunk in old:  # ... then the old ones out
        os.replace(chunk, new / chunk.name)


def _sync(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def compact(store_path: str | os.PathLike[str]) -> CompactSummary:
    """Rewrite a store without its superseded rows (older rows of a file or copy that a newer
    row replaces) and without resolved failures, in few chunks; readers see the same rows
    before, during and after.

    Raises:
        StoreError: no such store, or a chunk cannot be read.
        StoreLockedError: another process is writing the store.
        StoreWriteError: no room for the copy of the kept rows (the store is left as it was),
            or a read-only store.
    """
    fs = FeatureStore(store_path)
    if not fs.path.is_dir():
        raise StoreError(f"{fs.path}: no such store")
    with fs:  # also removes what a killed compaction left
        work = fs.path / COMPACT_DIR
        bytes_before = _size(fs)
        sets: list[CompactedSet] = []
        swaps: list[tuple[Path, Path]] = []
        try:
            for d in fs.datasets():
                config, folder = FeatureConfig.from_dict(d["config"]), Path(d["folder"])
                chunks = fs._chunks(folder)
                before = fs.read(lambda c=config: fs.scan(c, augmented=True, newest=False).select("path")).height  # type: ignore[misc]
                kept = fs.read(lambda c=config: fs.scan(c, augmented=True))  # type: ignore[misc]
                if kept.height == before and len(chunks) == 1:
                    sets.append(CompactedSet(d["feature_set"], d["fingerprint"], before, before, 1, 1))
                    continue
                newest = pq.read_schema(chunks[-1])
                columns = fs.read_metadata(chunks[-1])["feature_columns"]
                schema = pa.schema([*META_SCHEMA, *(pa.field(n, pa.float32()) for n in columns)],
                                   metadata={META_KEY: newest.metadata[META_KEY]})
                n = _write(fs, stamped(kept.to_arrow(), schema, {}), work / "features" / folder.name)
                sets.append(CompactedSet(d["feature_set"], d["fingerprint"], before, kept.height, len(chunks), n))
                swaps.append((work / "features" / folder.name, folder))
            if chunks := fs._chunks(fs.failures_dir):
                before = fs.read(lambda: pl.scan_parquet(fs._chunks(fs.failures_dir)).select("path")).height
                kept = fs.failures()
                n = len(chunks)
                if kept.height != before or len(chunks) > 1:
                    table = stamped(kept.select(FAILURE_COLUMNS).to_arrow(), FAILURE_SCHEMA, {})
                    n = _write(fs, table, work / "failures")
                    swaps.append((work / "failures", fs.failures_dir))
                sets.append(CompactedSet("failures", "", before, kept.height, len(chunks), n))
        except OSError as exc:
            shutil.rmtree(work, ignore_errors=True)  # free the room it took; the store is untouched
            raise StoreWriteError(fs.path, os_problem(exc), "the store is unchanged; compacting needs room for "
                                                            "a copy of the rows it keeps") from None
        try:
            for new, target in swaps:
                _swap(new, target)
                _sync(target.parent)
        except OSError as exc:
            raise StoreWriteError(fs.path, os_problem(exc), "no row is lost; run compact again to finish") from None
        shutil.rmtree(work, ignore_errors=True)
        return CompactSummary(str(fs.path), sets, bytes_before, _size(fs), list(fs.warnings))
