"""The feature store: a folder of Parquet chunks that any Parquet engine reads.

Layout::

    STORE/
      features/<feature_set>-<fingerprint>/part-<time>-<pid>-<seq>.parquet
      failures/part-<time>-<pid>-<seq>.parquet
      quarantine/...              damaged chunks set aside (same relative path)
      .compact/                   a compaction in progress (see :mod:`semo_batch.compact`)
      .lock                       held (flock) by the one process writing

Each chunk is written to a hidden temporary name and renamed into place, so a run
killed at any moment leaves only whole chunks; readers see ``*.parquet`` files only,
and set a chunk that cannot be read aside (with a one-line warning) to use the rest.
Each feature configuration has its own folder, keyed by its fingerprint, and every
chunk carries the feature set, its parameters and the fingerprint in its metadata.
A file featurized again (``--force``, or changed on disk) gets newer rows, which
:meth:`FeatureStore.scan` keeps (per path and copy; a recording's segments are one write).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import itertools
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from .config import FeatureConfig
from .errors import StoreError, StoreWriteError, os_problem
from .layout import (
    FAILURE_COLUMNS,
    FAILURE_SCHEMA,
    META_COLUMNS,
    META_KEY,
    META_SCHEMA,
    QUARANTINE_DIR,
    ROW_COLUMNS,
    ROW_KEY,
    ChunkGuard,
    feature_schema,
    newest_rows,
    row_counts,
    row_table,
    stamped,
    write_chunk,
)
from .store_lock import release_lock, take_lock
from .store_summary import DatasetSummary, StoreSummary

if TYPE_CHECKING:
    import polars as pl

__all__ = ["FeatureStore", "StoreSummary", "DatasetSummary", "META_COLUMNS", "ROW_COLUMNS", "FAILURE_COLUMNS",
           "FAILURE_SCHEMA", "row_table"]


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class FeatureStore:
    """A feature store folder.

    Args:
        path: the store folder (created on first write).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        self._lock_fd: int | None = None
        self._seq = itertools.count()
        self._guard = ChunkGuard(self.path)
        #: One-line warnings about damaged chunks set aside, since this object was made (also logged).
        self.warnings: list[str] = self._guard.warnings

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.path)!r})"

    # -- locations ---------------------------------------------------------------------------
    @property
    def features_dir(self) -> Path:
        return self.path / "features"

    @property
    def failures_dir(self) -> Path:
        return self.path / "failures"

    @property
    def quarantine_dir(self) -> Path:
        return self.path / QUARANTINE_DIR

    def dataset_dir(self, config: FeatureConfig) -> Path:
        """Folder holding the rows of one feature configuration."""
        return self.features_dir / f"{config.name}-{config.fingerprint()}"

    # -- locking -------------------------------------------------------------------------------
    def __enter__(self) -> FeatureStore:
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()

    def lock(self) -> None:
        """Take the store's write lock (released when the process ends, even by SIGKILL), and
        remove what a writer killed before left (see :func:`~semo_batch.store_lock.take_lock`).

        Raises:
            StoreLockedError: another process holds it.
            StoreWriteError: the store cannot be written (read-only, full).
        """
        self._lock_fd = take_lock(self.path)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            release_lock(self._lock_fd)
            self._lock_fd = None

    # -- writing -------------------------------------------------------------------------------
    def _chunk_name(self) -> str:
        stamp = _now().strftime("%Y%m%dT%H%M%S%f")
        return f"part-{stamp}-{os.getpid()}-{next(self._seq):05d}.parquet"

    def _write_atomic(self, table: pa.Table, folder: Path) -> Path:
        """A new chunk in ``folder``, whole or not at all; raises :class:`StoreWriteError` (full, read-only)."""
        final = folder / self._chunk_name()
        try:
            write_chunk(table, final)
        except OSError as exc:
            raise StoreWriteError(self.path, os_problem(exc)) from None
        return final

    def write_rows(self, table: pa.Table, config: FeatureConfig, feature_names: Sequence[str]) -> Path | None:
        """Append rows as one chunk; returns its path (``None`` for no rows).

        Args:
            table: :data:`ROW_COLUMNS` and one column per name of ``feature_names``; the
                store adds the feature set, fingerprint and time of writing.
        """
        if table.num_rows == 0:
            return None
        stamps = {"feature_set": config.name, "fingerprint": config.fingerprint(), "written_at": _now()}
        return self._write_atomic(stamped(table, feature_schema(config, feature_names), stamps), self.dataset_dir(config))

    def write_failures(self, table: pa.Table, config: FeatureConfig) -> Path | None:
        """Append failed files (``path``, ``relpath``, ``root``, ``size``, ``mtime_ns``, ``reason``) as one chunk."""
        if table.num_rows == 0:
            return None
        stamps = {"feature_set": config.name, "fingerprint": config.fingerprint(), "written_at": _now()}
        return self._write_atomic(stamped(table, FAILURE_SCHEMA, stamps), self.failures_dir)

    # -- reading -------------------------------------------------------------------------------
    def _chunks(self, folder: Path) -> list[Path]:
        """The readable chunks of ``folder``; those whose footer cannot be read are set aside."""
        return self._guard.chunks(folder, features=folder != self.failures_dir)

    def datasets(self) -> list[dict[str, Any]]:
        """One entry per feature configuration in the store: name, fingerprint, config, chunks."""
        out: list[dict[str, Any]] = []
        if not self.features_dir.is_dir():
            return out
        for d in sorted(p for p in self.features_dir.iterdir() if p.is_dir()):
            if chunks := self._chunks(d):
                out.append({**self.read_metadata(chunks[0]), "folder": str(d), "chunks": len(chunks)})
        return out

    @staticmethod
    def read_metadata(chunk: Path) -> dict[str, Any]:
        """The semo-batch metadata of one chunk."""
        try:
            md = pq.read_schema(chunk).metadata or {}
            return json.loads(md[META_KEY])
        except (KeyError, ValueError, OSError, pa.ArrowException) as exc:
            raise StoreError(f"{chunk}: not a semo-batch feature chunk ({exc})") from None

    def existing_keys(self, config: FeatureConfig) -> set[tuple[str, int, int, float, str]]:
        """``(path, size, mtime_ns, augment, channel)`` of every row already stored for ``config``."""
        if not self._chunks(self.dataset_dir(config)):
            return set()
        df = self.read(lambda: self.scan(config, augmented=True, newest=False)
                       .select("path", "size", "mtime_ns", "augment", "channel"))
        return {(p, s, m, round(float(a), 4), c) for p, s, m, a, c in df.iter_rows()}

    def source_for(self, config: FeatureConfig) -> FeatureConfig:
        """The stored configuration that holds ``config``'s columns: itself, a combined set
        that has it as a part, or the one set of its rows cut into segments; else ``config``."""
        if self._chunks(self.dataset_dir(config)):
            return config
        stored = [FeatureConfig.from_dict(d["config"]) for d in self.datasets()]
        cut = [s for s in stored if s.segment and not config.segment and dataclasses.replace(s, segment=None) == config]
        whole = (s for s in stored if s.parts and config in s.parts and s.segment == config.segment)
        return next(whole, cut[0] if len(cut) == 1 else config)

    def scan(self, config: FeatureConfig, *, augmented: bool = False, newest: bool = True) -> pl.LazyFrame:
        """Lazy rows of one configuration, newest row per path (and copy).

        Args:
            augmented: include the speed-perturbed and channel-changed copies (``augment != 1``
                or ``channel != ""``), which only training should see.
            newest: keep only the newest row per file and copy (``False``: every row).

        Raises:
            StoreError: when the store holds no rows for ``config``; the message
                lists the configurations it does hold.
        """
        chunks = self._chunks(self.dataset_dir(config))
        if not chunks:
            have = ", ".join(f"{d['feature_set']} ({d['fingerprint']})" for d in self.datasets()) or "none"
            raise StoreError(
                f"{self.path}: no rows for feature set {config.name!r} (fingerprint {config.fingerprint()}); "
                f"it holds: {have}. Run `semo-batch featurize DIR --store {self.path} --feature-set {config.name}`"
            )
        import polars as pl  # on first read: a run that only writes never loads it

        # Newest chunk first: columns added later (corpus, speaker) are read as nulls from older chunks.
        lf = pl.scan_parquet(chunks[::-1], missing_columns="insert")
        # A store whose every chunk predates a column: add it, empty.
        present = set(lf.collect_schema().names())
        lf = lf.with_columns(pl.lit(None, dtype=pl.Series(pa.nulls(0, f.type)).dtype).alias(f.name)
                             for f in META_SCHEMA if f.name not in present)
        lf = lf.with_columns(pl.col("channel").fill_null(""),  # "": as recorded
                             pl.col("start").fill_null(0.0), pl.col("end").fill_null(pl.col("duration")))  # whole files
        if not augmented:
            lf = lf.filter((pl.col("augment") == 1.0) & (pl.col("channel") == ""))
        if not newest:
            return lf
        return newest_rows(lf).sort(*ROW_KEY, "start")

    def collect(self, lf: pl.LazyFrame) -> pl.DataFrame:
        """Run a scan of this store's chunks.

        Raises:
            StoreError: one line, when a chunk cannot be read; a chunk damaged past its
                footer is found and set aside first, so that the same call succeeds again
                (see :meth:`read`, which makes it).
        """
        import polars as pl

        try:
            return lf.collect()
        except (pl.exceptions.PolarsError, OSError, pa.ArrowException) as exc:
            if not isinstance(exc, FileNotFoundError) and self._guard.set_aside_unreadable():
                raise StoreError(f"{self.path}: damaged chunks were set aside in {self.quarantine_dir}; "
                                 "run again to use the rest of the store") from None
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            first = first if len(first) <= 200 else first[:200] + "..."
            raise StoreError(f"{self.path}: a chunk cannot be read ({type(exc).__name__}: {first})") from None

    def read(self, build: Callable[[], pl.LazyFrame]) -> pl.DataFrame:
        """``collect(build())``, built again (on the remaining chunks) after a damaged chunk is set aside."""
        while True:  # each round sets a chunk aside, or raises
            n = len(self.warnings)
            try:
                return self.collect(build())
            except StoreError:
                if len(self.warnings) == n:
                    raise

    def summary(self) -> StoreSummary:
        """Rows per feature configuration (files, labelled, augmented, superseded, failures),
        the recorded failures and the chunks set aside.

        Raises:
            StoreError: the folder is not a store, or a chunk cannot be read.
        """
        if not any((self.path / p).exists() for p in ("features", "failures", QUARANTINE_DIR, ".lock")):
            what = "not a feature store (no features/ or failures/ in it)" if self.path.is_dir() else "no such store"
            raise StoreError(f"{self.path}: {what}")
        fails = self.failures()
        failed = fails["fingerprint"].to_list() if "fingerprint" in fails.columns else []
        datasets = []
        for d in self.datasets():
            config = FeatureConfig.from_dict(d["config"])
            rows = self.read(lambda c=config: self.scan(c, augmented=True, newest=False)  # type: ignore[misc]
                             .select(*ROW_KEY, "start", "emotion", "written_at"))
            datasets.append(DatasetSummary(d["feature_set"], d["fingerprint"], **row_counts(rows),
                                           failures=failed.count(d["fingerprint"]),
                                           chunks=len(self._chunks(Path(d["folder"]))), folder=d["folder"]))
        quarantined = sorted(str(p) for p in self.quarantine_dir.rglob("*.parquet"))
        return StoreSummary(str(self.path), datasets, list(zip(fails["path"].to_list(), fails["reason"].to_list())),
                            quarantined, list(self.warnings))

    def failed_files(self, config: FeatureConfig, reason: str) -> set[tuple[str, int, int]]:
        """``(path, size, mtime_ns)`` of the files whose current failure for ``config`` is ``reason``."""
        import polars as pl

        df = self.failures().filter((pl.col("reason") == reason) & (pl.col("fingerprint") == config.fingerprint()))
        return set(df.select("path", "size", "mtime_ns").iter_rows())

    def failures(self) -> pl.DataFrame:
        """Recorded failures, newest per path and configuration, without files that have since succeeded."""
        import polars as pl

        if not self._chunks(self.failures_dir):
            return pl.from_arrow(FAILURE_SCHEMA.empty_table())  # type: ignore[return-value]
        df = self.read(lambda: pl.scan_parquet(self._chunks(self.failures_dir))
                       .sort("written_at").unique(subset=["path", "fingerprint"], keep="last"))
        done = [self.read(lambda f=Path(d["folder"]): pl.scan_parquet(self._chunks(f))  # type: ignore[misc]
                          .select("path", "written_at", "fingerprint")) for d in self.datasets()]
        if done:
            ok = pl.concat(done).group_by("path", "fingerprint").agg(pl.col("written_at").max().alias("ok_at"))
            df = df.join(ok, on=["path", "fingerprint"], how="left")
            df = df.filter(pl.col("ok_at").is_null() | (pl.col("ok_at") < pl.col("written_at"))).drop("ok_at")
        return df.sort("path")
