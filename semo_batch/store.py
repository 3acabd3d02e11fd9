"""The feature store: a folder of Parquet chunks that any Parquet engine reads.

Layout::

    STORE/
      features/<feature_set>-<fingerprint>/part-<time>-<pid>-<seq>.parquet
      failures/part-<time>-<pid>-<seq>.parquet
      .lock                       held (flock) by the one process writing

Each chunk is written to a hidden temporary name and renamed into place, so a
run killed at any moment leaves only whole chunks; readers see ``*.parquet``
files only.  Rows of different feature configurations live in different
folders, keyed by the configuration's fingerprint, and every chunk carries the
feature set, its parameters and the fingerprint in its Parquet metadata.

When a file is featurized again (``--force``, or it changed on disk) a newer
row is appended; :meth:`FeatureStore.scan` keeps the newest row per path.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import fcntl
import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from .config import FeatureConfig
from .errors import StoreError, StoreLockedError
from .layout import (
    FAILURE_COLUMNS,
    FAILURE_SCHEMA,
    META_COLUMNS,
    META_KEY,
    META_SCHEMA,
    ROW_COLUMNS,
    feature_schema,
    stamped,
)

__all__ = ["FeatureStore", "StoreSummary", "DatasetSummary", "META_COLUMNS", "ROW_COLUMNS", "FAILURE_COLUMNS"]


@dataclasses.dataclass(frozen=True)
class DatasetSummary:
    """The rows of one feature configuration in a store."""

    feature_set: str
    fingerprint: str
    files: int
    chunks: int
    folder: str

    def line(self) -> str:
        return f"{self.feature_set:6s} {self.fingerprint}  {self.files} files in {self.chunks} chunk{'s' if self.chunks != 1 else ''}  {self.folder}"


@dataclasses.dataclass(frozen=True)
class StoreSummary:
    """What a store holds: its feature configurations and its recorded failures."""

    path: str
    datasets: list[DatasetSummary]
    failures: list[tuple[str, str]]

    def lines(self, *, max_failures: int = 20) -> list[str]:
        out = [d.line() for d in self.datasets]
        out.append(f"{len(self.failures)} files with a recorded failure")
        out += [f"  {path}: {reason}" for path, reason in self.failures[:max_failures]]
        return out


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

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.path)!r})"

    # -- locations ---------------------------------------------------------------------------
    @property
    def features_dir(self) -> Path:
        return self.path / "features"

    @property
    def failures_dir(self) -> Path:
        return self.path / "failures"

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
        """Take the store's write lock (released when the process ends, even by SIGKILL).

        Raises:
            StoreLockedError: another process holds it.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise StoreLockedError(
                f"{self.path}: store is being written by another semo-batch process (pid {holder}); "
                "wait for it to finish or use another --store"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd
        # A writer killed mid-chunk leaves a hidden temporary; with the lock held, none is live.
        for tmp in self.path.glob("*/**/.part-*.parquet.tmp"):
            tmp.unlink(missing_ok=True)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- writing -------------------------------------------------------------------------------
    def _chunk_name(self) -> str:
        stamp = _now().strftime("%Y%m%dT%H%M%S%f")
        return f"part-{stamp}-{os.getpid()}-{next(self._seq):05d}.parquet"

    def _write_atomic(self, table: pa.Table, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / self._chunk_name()
        tmp = folder / f".{final.name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        try:
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
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
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    def datasets(self) -> list[dict[str, Any]]:
        """One entry per feature configuration in the store: name, fingerprint, config, chunks."""
        out: list[dict[str, Any]] = []
        if not self.features_dir.is_dir():
            return out
        for d in sorted(p for p in self.features_dir.iterdir() if p.is_dir()):
            chunks = self._chunks(d)
            if not chunks:
                continue
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
        chunks = self._chunks(self.dataset_dir(config))
        if not chunks:
            return set()
        df = self.collect(self.scan(config, augmented=True, newest=False).select("path", "size", "mtime_ns", "augment", "channel"))
        return {(p, s, m, round(float(a), 4), c) for p, s, m, a, c in df.iter_rows()}

    def source_for(self, config: FeatureConfig) -> FeatureConfig:
        """The stored configuration that holds ``config``'s columns: itself, or a combined set
        (``emo+whisper``) that has it as a part; ``config`` when the store has neither."""
        if self._chunks(self.dataset_dir(config)):
            return config
        for d in self.datasets():
            stored = FeatureConfig.from_dict(d["config"])
            if stored.parts and config in stored.parts:
                return stored
        return config

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
        # Newest chunk first: columns added by later versions (corpus, speaker) are read as
        # nulls from older chunks.
        lf = pl.scan_parquet(chunks[::-1], missing_columns="insert")
        # A store whose every chunk predates a column: add it, empty.
        present = set(lf.collect_schema().names())
        lf = lf.with_columns(pl.lit(None, dtype=pl.Series(pa.nulls(0, f.type)).dtype).alias(f.name)
                             for f in META_SCHEMA if f.name not in present)
        lf = lf.with_columns(pl.col("channel").fill_null(""))  # "": as recorded
        if not augmented:
            lf = lf.filter((pl.col("augment") == 1.0) & (pl.col("channel") == ""))
        if not newest:
            return lf
        lf = lf.sort("written_at").unique(subset=["path", "augment", "channel"], keep="last", maintain_order=True)
        return lf.sort("path", "augment", "channel")

    def collect(self, lf: pl.LazyFrame) -> pl.DataFrame:
        """Run a scan of this store's chunks; a damaged chunk becomes a one-line :class:`StoreError`."""
        try:
            return lf.collect()
        except (pl.exceptions.PolarsError, OSError, pa.ArrowException) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            first = first if len(first) <= 200 else first[:200] + "..."
            raise StoreError(f"{self.path}: a chunk cannot be read ({type(exc).__name__}: {first})") from None

    def summary(self) -> StoreSummary:
        """Files and chunks per feature configuration, and the recorded failures.

        Raises:
            StoreError: the folder is not a store, or a chunk cannot be read.
        """
        if not self.path.is_dir():
            raise StoreError(f"{self.path}: no such store")
        datasets = []
        for d in self.datasets():
            config = FeatureConfig.from_dict(d["config"])
            files = self.collect(self.scan(config).select("path")).height
            datasets.append(DatasetSummary(d["feature_set"], d["fingerprint"], files, d["chunks"], d["folder"]))
        fails = self.failures()
        return StoreSummary(str(self.path), datasets, list(zip(fails["path"].to_list(), fails["reason"].to_list())))

    def failures(self) -> pl.DataFrame:
        """Recorded failures, newest per path and configuration, without files that have since succeeded."""
        chunks = self._chunks(self.failures_dir)
        if not chunks:
            return pl.DataFrame(schema={c: pl.String for c in ("path", "reason")})
        df = self.collect(pl.scan_parquet(chunks).sort("written_at").unique(subset=["path", "fingerprint"], keep="last"))
        done = []
        for d in self.datasets():
            rows = pl.scan_parquet(self._chunks(Path(d["folder"]))).select("path", "written_at", "fingerprint")
            done.append(self.collect(rows))
        if done:
            ok = pl.concat(done).group_by("path", "fingerprint").agg(pl.col("written_at").max().alias("ok_at"))
            df = df.join(ok, on=["path", "fingerprint"], how="left")
            df = df.filter(pl.col("ok_at").is_null() | (pl.col("ok_at") < pl.col("written_at"))).drop("ok_at")
        return df.sort("path")
