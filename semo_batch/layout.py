"""How a feature store lies on disk: the Parquet chunks' one schema definition and the
column lists derived from it, which row of a file is current, and the mechanics of a
safe store: chunks written whole or not at all, and damaged chunks set aside (the
writer's lock is :mod:`semo_batch.store_lock`)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .config import FeatureConfig
from .errors import StoreError, os_problem
from .naming import RAVDESS_COLUMNS

if TYPE_CHECKING:
    import polars as pl

__all__ = ["META_KEY", "META_SCHEMA", "META_COLUMNS", "STAMPS", "ROW_COLUMNS", "FAILURE_SCHEMA", "FAILURE_COLUMNS",
           "ROW_KEY", "QUARANTINE_DIR", "COMPACT_DIR", "feature_schema", "row_table", "stamped", "newest_rows", "write_chunk",
           "row_counts", "chunk_problem", "ChunkGuard"]

log = logging.getLogger("semo_batch")

#: Folders of a store (besides ``features/`` and ``failures/``): damaged chunks set aside,
#: and the work folder of a compaction.
QUARANTINE_DIR = "quarantine"
COMPACT_DIR = ".compact"

META_KEY = b"semo_batch"

#: Columns before the features, in order, with their types: the one definition of the layout.
META_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("relpath", pa.string()),
        ("root", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("sample_rate", pa.int32()),
        ("channels", pa.int16()),
        ("duration", pa.float64()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("format", pa.string()),
        ("modality", pa.string()),
        ("vocal_channel", pa.string()),
        ("emotion", pa.string()),
        ("intensity", pa.string()),
        ("statement", pa.string()),
        ("repetition", pa.int8()),
        ("actor", pa.int16()),
        ("sex", pa.string()),
        ("corpus", pa.string()),
        ("speaker", pa.string()),
        ("augment", pa.float32()),
        ("channel", pa.string()),
        ("feature_set", pa.string()),
        ("fingerprint", pa.string()),
        ("written_at", pa.timestamp("us", tz="UTC")),
    ]
)
META_COLUMNS: tuple[str, ...] = tuple(META_SCHEMA.names)
#: Columns that the store stamps on every chunk it writes (the writer gives the others).
STAMPS: tuple[str, ...] = ("feature_set", "fingerprint", "written_at")
#: What a writer gives per row, before the features.
ROW_COLUMNS: tuple[str, ...] = tuple(c for c in META_COLUMNS if c not in STAMPS)
assert set(RAVDESS_COLUMNS) <= set(ROW_COLUMNS)

#: Recorded failures: the file, the one-line reason, and the stamps.
FAILURE_SCHEMA = pa.schema(
    [META_SCHEMA.field(c) for c in ("path", "relpath", "root", "size", "mtime_ns")]
    + [pa.field("reason", pa.string())]
    + [META_SCHEMA.field(c) for c in STAMPS]
)
FAILURE_COLUMNS: tuple[str, ...] = tuple(FAILURE_SCHEMA.names)
#: Every column that is not a feature, in feature and failure chunks alike.
_METADATA = frozenset(META_COLUMNS) | frozenset(FAILURE_COLUMNS)
#: A file's row and each of its copies: the newest row per key is current, older ones are superseded.
ROW_KEY: tuple[str, ...] = ("path", "augment", "channel")


def newest_rows(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The current rows of ``lf``: per :data:`ROW_KEY`, those of the newest write (``written_at``).

    A recording cut into segments has several rows per key, written in one chunk with one
    stamp; featurized again (changed), its new segments replace all the old ones, whatever
    their starts.
    """
    import polars as pl  # on first read: a run that only writes never loads it

    newest = pl.col("written_at").max().over(list(ROW_KEY))
    # A row seen twice (a compaction moving its copy in before the old one out) counts once.
    return lf.filter(pl.col("written_at") == newest).unique(subset=[*ROW_KEY, "start"], keep="last", maintain_order=True)


def row_counts(rows: pl.DataFrame) -> dict[str, int]:
    """Of every row of a feature set (:data:`ROW_KEY`, ``emotion``, ``written_at``): the files
    (current rows of a recording as it is), those ``labelled``, the current ``augmented``
    copies (speed, channel) and the ``superseded`` rows (older than the current row of their key)."""
    import polars as pl

    now = newest_rows(rows.lazy()).collect()
    own = now.filter((pl.col("augment") == 1.0) & (pl.col("channel") == ""))
    return {"files": own["path"].n_unique(), "labelled": own.filter(pl.col("emotion").is_not_null())["path"].n_unique(),
            "augmented": now.height - own.height, "superseded": rows.height - now.height}


def feature_schema(config: FeatureConfig, feature_names: Sequence[str]) -> pa.Schema:
    """The schema of a chunk of ``config``'s rows: :data:`META_SCHEMA`, then one float32
    column per feature, and the configuration in the Parquet metadata."""
    meta = {
        META_KEY: json.dumps(
            {
                "feature_set": config.name,
                "fingerprint": config.fingerprint(),
                "config": config.to_dict(),
                "feature_columns": list(feature_names),
                "semo_batch_version": __version__,
            }
        ).encode()
    }
    fields = list(META_SCHEMA) + [pa.field(n, pa.float32()) for n in feature_names]
    return pa.schema(fields, metadata=meta)


def stamped(table: pa.Table, schema: pa.Schema, stamps: dict[str, Any]) -> pa.Table:
    """``table`` with the stamp columns added, in ``schema``'s order and types.

    Raises:
        StoreError: a column is missing or cannot take its type (a writer's bug).
    """
    n = table.num_rows

    def typed(column: pa.ChunkedArray, type_: pa.DataType) -> pa.ChunkedArray:
        return column if column.type == type_ else column.cast(type_)  # 658 no-op casts cost 20 ms a chunk

    try:
        arrays = [pa.array([stamps[f.name]] * n, f.type) if f.name in stamps else typed(table.column(f.name), f.type)
                  for f in schema]
    except (KeyError, pa.ArrowException) as exc:
        raise StoreError(f"rows do not fit the store's layout ({type(exc).__name__}: {exc})") from None
    return pa.Table.from_arrays(arrays, schema=schema)


def row_table(columns: Mapping[str, Sequence[Any]], schema: pa.Schema = META_SCHEMA,
              names: Sequence[str] = ROW_COLUMNS) -> pa.Table:
    """A writer's columns ``names`` (Python values; default :data:`ROW_COLUMNS`) as a table
    in ``schema``'s types (default the feature rows'; :data:`FAILURE_SCHEMA` for failures).

    Typed as they are built, the columns need no cast in :func:`stamped` (whose first
    cast imports pyarrow.compute: 20 ms of a batch's parent).  Values that do not take
    their column's type keep the type they have, and :func:`stamped` says why they do
    not fit.
    """
    arrays = []
    for name in names:
        try:
            arrays.append(pa.array(columns[name], schema.field(name).type))
        except (pa.ArrowException, OverflowError):
            arrays.append(pa.array(columns[name]))
    return pa.Table.from_arrays(arrays, names=list(names))


def _chunk_encoding(schema: pa.Schema) -> dict[str, Any]:
    """How a chunk is encoded: float features never repeat enough for a dictionary (55 -> 33 ms
    a 256-row chunk); their bytes split by significance (``BYTE_STREAM_SPLIT``) compress where
    whole floats hardly do, with Snappy (Parquet's default codec, which every reader has); min/max
    statistics only for the metadata columns (:data:`META_COLUMNS`: path, actor, augment, ...),
    the ones a reader filters on.  A 256-row emo chunk, against zstd with every column's
    statistics: written in 7.4 ms instead of 12.4, 775 kB instead of 833, read in 11.8 ms
    instead of 13.4 (LZ4: 752 kB, read in 10.3 ms)."""
    features = [name for name, type_ in zip(schema.names, schema.types)
                if name not in _METADATA and pa.types.is_floating(type_)]
    return {"compression": "snappy", "use_dictionary": False, "use_byte_stream_split": features,
            "write_statistics": [name for name in schema.names if name in _METADATA]}


def write_chunk(table: pa.Table, final: Path) -> None:
    """Write ``table`` to ``final`` through a hidden temporary, synced and renamed into place,
    so that readers (which see ``*.parquet`` only) never meet half a chunk.

    Raises:
        OSError: a full disk, a read-only folder; the temporary is removed.
    """
    tmp = final.parent / f".{final.name}.tmp"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp, **_chunk_encoding(table.schema))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def chunk_problem(chunk: Path, *, features: bool) -> str | None:
    """Why ``chunk`` cannot be read from its footer (truncated, not Parquet, no semo-batch
    metadata for a feature chunk), one line; ``None`` when it can.

    Raises:
        FileNotFoundError: it is gone (moved by another process): not damage.
    """
    try:
        schema = pq.read_schema(chunk)
        if features:
            json.loads((schema.metadata or {})[META_KEY])
    except FileNotFoundError:
        raise
    except (KeyError, ValueError, OSError, pa.ArrowException) as exc:
        return "no semo-batch metadata" if isinstance(exc, KeyError) else _short(exc)
    return None


def _short(exc: BaseException) -> str:
    """An exception's type and first sentence, on one short line."""
    text = " ".join(str(exc).split()).split(". ")[0].rstrip(".")
    return f"{type(exc).__name__}: {text if len(text) <= 120 else text[:120] + '...'}"


class ChunkGuard:
    """The readable chunks of a store's folders: a damaged chunk is moved to
    ``STORE/quarantine/`` (same relative path) with a one-line warning, logged and kept in
    :attr:`warnings`, so that the rest of the store is used; where the store is read-only it
    is skipped instead.

    Args:
        store: the store folder.
    """

    def __init__(self, store: Path) -> None:
        self.store = store
        self.warnings: list[str] = []
        self._checked: dict[Path, tuple[int, int]] = {}  # chunk -> (size, mtime_ns) whose footer reads
        self._unmovable: set[Path] = set()

    def chunks(self, folder: Path, *, features: bool) -> list[Path]:
        """The ``*.parquet`` chunks of ``folder`` whose footer reads, sorted; the others are set aside."""
        out = []
        for chunk in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
            if chunk in self._unmovable:
                continue
            try:
                st = chunk.stat()
                if self._checked.get(chunk) != (st.st_size, st.st_mtime_ns):
                    problem = chunk_problem(chunk, features=features)
                    if problem is not None:
                        self.set_aside(chunk, problem)
                        continue
                    self._checked[chunk] = (st.st_size, st.st_mtime_ns)
            except FileNotFoundError:  # moved away meanwhile (a compaction)
                continue
            out.append(chunk)
        return out

    def set_aside(self, chunk: Path, problem: str) -> None:
        """Move ``chunk`` to the quarantine folder (or skip it from now on), with a warning."""
        dest = self.store / QUARANTINE_DIR / chunk.relative_to(self.store)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(chunk, dest)
            where = f"moved to {dest.parent}"
        except FileNotFoundError:
            return  # another reader moved it first
        except OSError as exc:
            self._unmovable.add(chunk)
            where = f"skipped, not moved ({os_problem(exc)})"
        msg = f"{chunk}: damaged chunk ({problem}); {where}; its files are featurized again by the next featurize"
        self.warnings.append(msg)
        log.warning(msg)

    def set_aside_unreadable(self) -> int:
        """Read every chunk of the store whole and set aside those that fail (damage past the
        footer); returns how many."""
        n = len(self.warnings)
        for folder in [*(p for p in (self.store / "features").glob("*") if p.is_dir()), self.store / "failures"]:
            for chunk in self.chunks(folder, features=folder.name != "failures"):
                try:
                    pq.read_table(chunk)
                except FileNotFoundError:
                    continue
                except (OSError, pa.ArrowException) as exc:
                    self.set_aside(chunk, _short(exc))
        return len(self.warnings) - n
