"""The results table: every model and feature set under both protocols, with and without
speaker normalization, each cell a cross-validated mean and standard deviation."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from .store import FeatureStore
from .train import cross_validate, load_labelled

__all__ = ["DEFAULT_GRID", "results_table", "to_markdown"]

#: (model, feature set) pairs of the shipped table.
DEFAULT_GRID: tuple[tuple[str, str], ...] = (
    ("seed-dnn", "seed"),
    ("svm", "seed"),
    ("logreg", "emo"),
    ("svm", "emo"),
    ("mlp", "emo"),
    ("dnn", "emo"),
    ("ensemble", "emo"),
)


def results_table(
    store: str | os.PathLike[str] | FeatureStore,
    *,
    grid: Sequence[Sequence[str]] = DEFAULT_GRID,
    protocols: Sequence[str] = ("actor", "holdout"),
    normalizations: Sequence[str | None] = (None, "actor"),
    folds: int = 5,
    seed: int = 0,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Cross-validate every (model, feature set) of ``grid`` under each protocol and normalization.

    ``actor``: ``folds`` folds of whole actors (speaker-independent); ``holdout``: one
    stratified random 80/20 split, where every test speaker is also in training (the
    notebook's protocol).
    The notebook's network (``seed-dnn``) is run only as the notebook ran it: without
    normalization and without the speed-perturbed rows; every other model trains on
    them when the store has them.

    Returns:
        ``rows`` (one dict per cell) and ``markdown`` (the table).
    """
    rows = []
    cache: dict[str, Any] = {}
    for model, fset in grid:
        if fset not in cache:
            cache[fset] = load_labelled(store, fset)
        data = cache[fset]
        augmented = model != "seed-dnn"
        for norm in normalizations:
            if model == "seed-dnn" and norm is not None:
                continue
            for protocol in protocols:
                t0 = time.perf_counter()
                r = cross_validate(store, model=model, feature_set=fset, cv=protocol, folds=folds, seed=seed,
                                   normalize_by=norm, data=data, augmented=augmented)
                row = {
                    "model": model, "feature_set": fset, "protocol": protocol, "normalize_by": norm or "none",
                    "augmented_rows": data.n_augmented if augmented else 0, "seconds": round(time.perf_counter() - t0, 1),
                    **{f"{k}_mean": v for k, v in r["mean"].items()},
                    **{f"{k}_std": v for k, v in r["std"].items()},
                }
                rows.append(row)
                echo(f"{model:9s} {fset:5s} {protocol:6s} norm={row['normalize_by']:5s} "
                     f"acc {row['accuracy_mean']:.3f} ± {row['accuracy_std']:.3f}  UAR {row['uar_mean']:.3f}  "
                     f"F1 {row['macro_f1_mean']:.3f}  ({row['seconds']} s)")
    return {"rows": rows, "markdown": to_markdown(rows, folds=folds)}


def to_markdown(rows: Sequence[dict[str, Any]], *, folds: int) -> str:
    """One line per (model, feature set, normalization); accuracy ± std and UAR per protocol."""
    keyed: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        keyed.setdefault((r["model"], r["feature_set"], r["normalize_by"]), {})[r["protocol"]] = r
    head = (
        f"| model | features | speaker norm. | by actor ({folds} folds): accuracy | UAR | macro-F1 | ECE "
        f"| random 80/20 (stratified): accuracy | UAR |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for (model, fset, norm), by in keyed.items():
        cv, split = by.get("actor"), by.get("holdout") or by.get("random")
        lines.append(
            f"| {model} | {fset} | {norm} | {_accuracy(cv)} | {_cell(cv, 'uar')} | {_cell(cv, 'macro_f1')} "
            f"| {_cell(cv, 'ece')} | {_accuracy(split)} | {_cell(split, 'uar')} |"
        )
    return head + "\n".join(lines) + "\n"


def _cell(row: dict[str, Any] | None, key: str) -> str:
    return f"{row[f'{key}_mean']:.3f}" if row else "-"


def _accuracy(row: dict[str, Any] | None) -> str:
    """Mean ± std over folds; a single split has no spread to show."""
    if not row:
        return "-"
    spread = f" ± {row['accuracy_std']:.3f}" if row["protocol"] != "holdout" else ""
    return f"{row['accuracy_mean']:.3f}{spread}"
