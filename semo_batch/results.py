"""The results table: every model and feature set under both protocols, with and without
speaker normalization, each cell a cross-validated mean and standard deviation."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from .choices import CVProtocol, ModelName, NormalizeBy, choose
from .dataset import LabelledData, load_labelled
from .evaluate import cross_validate
from .metrics import CVResult
from .models import get_spec
from .store import FeatureStore

__all__ = ["DEFAULT_GRID", "ResultsTable", "TableCell", "results_table", "to_markdown"]

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


@dataclasses.dataclass(frozen=True)
class TableCell:
    """One (model, feature set, normalization, protocol) run of the table."""

    model: ModelName
    feature_set: str
    normalize_by: NormalizeBy
    protocol: CVProtocol
    augmented_rows: int
    seconds: float
    result: CVResult

    def line(self) -> str:
        m = self.result.mean
        return (f"{self.model.value:9s} {self.feature_set:5s} {self.protocol.value:7s} norm={self.normalize_by.value:5s} "
                f"acc {self.result.summary('accuracy')}  UAR {m['uar']:.3f}  F1 {m['macro_f1']:.3f}  ({self.seconds} s)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.value, "feature_set": self.feature_set, "protocol": self.protocol.value,
            "normalize_by": self.normalize_by.value, "augmented_rows": self.augmented_rows, "seconds": self.seconds,
            **{f"{k}_mean": v for k, v in self.result.mean.items()},
            **{f"{k}_std": v for k, v in self.result.std.items()},
        }


@dataclasses.dataclass(frozen=True)
class ResultsTable:
    cells: list[TableCell]
    folds: int

    @property
    def markdown(self) -> str:
        return to_markdown(self.cells, folds=self.folds)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [c.to_dict() for c in self.cells], "markdown": self.markdown}


def results_table(
    store: str | os.PathLike[str] | FeatureStore,
    *,
    grid: Sequence[Sequence[str]] = DEFAULT_GRID,
    protocols: Sequence[str | CVProtocol] = (CVProtocol.ACTOR, CVProtocol.HOLDOUT),
    normalizations: Sequence[str | NormalizeBy | None] = (NormalizeBy.NONE, NormalizeBy.ACTOR),
    folds: int = 5,
    seed: int = 0,
    echo: Callable[[str], None] = print,
) -> ResultsTable:
    """Cross-validate every (model, feature set) of ``grid`` under each protocol and normalization.

    ``actor``: ``folds`` folds of whole actors (speaker-independent); ``holdout``: one
    stratified random 80/20 split, where every test speaker is also in training (the
    notebook's protocol).  A model with the notebook's protocol (``seed-dnn``) runs only
    as the notebook ran it: without normalization and without the speed-perturbed rows;
    every other model trains on them when the store has them.
    """
    cells = []
    cache: dict[str, LabelledData] = {}
    for model_name, fset in grid:
        spec = get_spec(model_name)
        if fset not in cache:
            cache[fset] = load_labelled(store, fset)
        data = cache[fset]
        augmented = not spec.notebook_protocol
        for norm in (choose(NormalizeBy, n, "normalize_by") for n in normalizations):
            if spec.notebook_protocol and norm is not NormalizeBy.NONE:
                continue
            for protocol in (choose(CVProtocol, p, "cv") for p in protocols):
                t0 = time.perf_counter()
                r = cross_validate(store, model=spec.name, feature_set=fset, cv=protocol, folds=folds, seed=seed,
                                   normalize_by=norm, data=data, augmented=augmented)
                cell = TableCell(model=spec.name, feature_set=fset, normalize_by=norm, protocol=protocol,
                                 augmented_rows=data.n_augmented if augmented else 0,
                                 seconds=round(time.perf_counter() - t0, 1), result=r)
                cells.append(cell)
                echo(cell.line())
    return ResultsTable(cells=cells, folds=folds)


def to_markdown(cells: Sequence[TableCell], *, folds: int) -> str:
    """One line per (model, feature set, normalization); accuracy ± std and UAR per protocol."""
    keyed: dict[tuple[str, str, str], dict[CVProtocol, CVResult]] = {}
    for c in cells:
        keyed.setdefault((c.model.value, c.feature_set, c.normalize_by.value), {})[c.protocol] = c.result
    head = (
        f"| model | features | speaker norm. | by actor ({folds} folds): accuracy | UAR | macro-F1 | ECE "
        f"| random 80/20 (stratified): accuracy | UAR |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for (model, fset, norm), by in keyed.items():
        cv, split = by.get(CVProtocol.ACTOR), by.get(CVProtocol.HOLDOUT) or by.get(CVProtocol.RANDOM)
        lines.append(
            f"| {model} | {fset} | {norm} | {_accuracy(cv)} | {_cell(cv, 'uar')} | {_cell(cv, 'macro_f1')} "
            f"| {_cell(cv, 'ece')} | {_accuracy(split)} | {_cell(split, 'uar')} |"
        )
    return head + "\n".join(lines) + "\n"


def _cell(r: CVResult | None, key: str) -> str:
    return f"{r.mean[key]:.3f}" if r else "-"


def _accuracy(r: CVResult | None) -> str:
    return r.summary("accuracy") if r else "-"
