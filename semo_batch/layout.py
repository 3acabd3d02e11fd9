"""The layout of a feature store's Parquet chunks: one schema definition, and the column
lists derived from it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from . import __version__
from .config import FeatureConfig
from .errors import StoreError
from .naming import RAVDESS_COLUMNS

__all__ = ["META_KEY", "META_SCHEMA", "META_COLUMNS", "STAMPS", "ROW_COLUMNS", "FAILURE_SCHEMA", "FAILURE_COLUMNS",
           "feature_schema", "stamped"]

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
    try:
        arrays = [
            pa.array([stamps[f.name]] * n, f.type) if f.name in stamps else table.column(f.name).cast(f.type)
            for f in schema
        ]
    except (KeyError, pa.ArrowException) as exc:
        raise StoreError(f"rows do not fit the store's layout ({type(exc).__name__}: {exc})") from None
    return pa.Table.from_arrays(arrays, schema=schema)
