"""The results table: every model and feature set under both protocols, with and without
speaker normalization, each cell a cross-validated mean and standard deviation."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .choices import CVProtocol, ModelName, NormalizeBy, choose
from .dataset import LabelledData, label_order, load_labelled
from .evaluate import cross_validate
from .metrics import CVResult, Scores, score
from .models import get_spec
from .store import FeatureStore
from .train import fit_classifier, predict_rows

__all__ = ["CORPUS_GRID", "DEFAULT_GRID", "CorpusCell", "CorpusTable", "ResultsTable", "TableCell", "corpus_table", "results_table",
           "to_markdown"]

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


# -- several corpora -------------------------------------------------------------------------------
#: (feature set, model, parameters) of the shipped corpus table: each set with the
#: regularization the bundled fusion model uses for its members.
CORPUS_GRID: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("emo", "logreg", {"C": 0.01}),
    ("whisper", "logreg", {"C": 0.01}),
    ("emo+whisper", "fusion", {}),
)


@dataclasses.dataclass(frozen=True)
class CorpusCell:
    """One model trained on some corpora and tested on one corpus's speakers.

    ``protocol`` is ``by speaker`` (folds of the test corpus's speakers, the other
    training corpora in every training fold) when the test corpus is among the training
    ones, else ``cross-corpus`` (trained on the others, tested on every file whose emotion
    they have).
    """

    feature_set: str
    model: ModelName
    params: dict[str, Any]
    normalize_by: NormalizeBy
    trained_on: str
    tested_on: str
    protocol: str
    scores: Scores
    fold_spread: float | None
    top_class: str
    top_share: float
    seconds: float
    agreement: float | None = None

    @property
    def model_text(self) -> str:
        given = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.model.value} ({given})" if given else self.model.value

    def line(self) -> str:
        spread = f" ± {self.fold_spread:.3f}" if self.fold_spread is not None else ""
        heard = f" listeners {self.agreement:.3f}" if self.agreement is not None else ""
        return (f"{self.feature_set:11s} {self.model_text:15s} norm={self.normalize_by.value:6s} "
                f"train={self.trained_on:15s} test={self.tested_on:8s} {self.protocol:12s} "
                f"acc {self.scores.accuracy:.3f}{spread} UAR {self.scores.uar:.3f}{heard} "
                f"top {self.top_class} {self.top_share:.0%} ({self.seconds} s)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature_set": self.feature_set, "model": self.model.value, "params": self.params,
            "normalize_by": self.normalize_by.value,
            "trained_on": self.trained_on, "tested_on": self.tested_on, "protocol": self.protocol,
            "accuracy": self.scores.accuracy, "uar": self.scores.uar, "fold_spread": self.fold_spread,
            "top_class": self.top_class, "top_share": self.top_share, "n": self.scores.n, "seconds": self.seconds,
            "agreement": self.agreement,
        }


@dataclasses.dataclass(frozen=True)
class CorpusTable:
    cells: list[CorpusCell]

    @property
    def markdown(self) -> str:
        head = ("| features | model | norm. | trained on | tested on | protocol | accuracy | UAR "
                "| agreement with listeners | most common prediction |\n"
                "|---|---|---|---|---|---|---|---|---|---|\n")
        rows = []
        for c in self.cells:
            spread = f" ± {c.fold_spread:.3f}" if c.fold_spread is not None else ""
            rows.append(f"| {c.feature_set} | {c.model_text} | {c.normalize_by.value} | {c.trained_on} | {c.tested_on} "
                        f"| {c.protocol} | {c.scores.accuracy:.3f}{spread} | {c.scores.uar:.3f} "
                        f"| {'-' if c.agreement is None else f'{c.agreement:.3f}'} | {c.top_class} {c.top_share:.0%} |")
        return head + "\n".join(rows) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"cells": [c.to_dict() for c in self.cells], "markdown": self.markdown}


def _agreement(predicted: Mapping[str, str], heard: Mapping[str, str] | None) -> float | None:
    """Share of the predicted files that listeners heard as the predicted label."""
    if not heard:
        return None
    pairs = [(label, heard[stem]) for path, label in predicted.items()
             if (stem := os.path.splitext(os.path.basename(path))[0]) in heard]
    return float(np.mean([a == b for a, b in pairs])) if pairs else None


def _top(scores: Scores) -> tuple[str, float]:
    """The most often predicted class and its share of the predictions."""
    counts = np.asarray(scores.confusion_matrix).sum(axis=0)
    return scores.labels[int(counts.argmax())], float(counts.max() / max(counts.sum(), 1))


def corpus_table(
    store: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    corpora: Sequence[str] | None = None,
    grid: Sequence[Sequence[Any]] = CORPUS_GRID,
    normalizations: Sequence[str | NormalizeBy] = (NormalizeBy.NONE, NormalizeBy.ACTOR),
    cross_normalizations: Sequence[str | NormalizeBy] = (NormalizeBy.CORPUS,),
    folds: int = 5,
    seed: int = 0,
    listeners: Mapping[str, Mapping[str, str]] | None = None,
    echo: Callable[[str], None] = print,
) -> CorpusTable:
    """Each (feature set, model[, parameters]) of ``grid`` trained on each corpus alone and on all of them,
    tested by speaker on each corpus and across corpora, under each normalization.

    Args:
        store: one store holding several corpora, or several stores.
        corpora: the corpora to use, in this order (default: every corpus of the rows).
        normalizations: for every cell: ``none`` (single files), ``actor`` (per speaker,
            train and test).
        cross_normalizations: for the cross-corpus cells only, say ``corpus`` (each training
            corpus z-scored as a whole, the test corpus as a whole: what ``predict
            --normalize-by batch`` does to a batch from one source).
        listeners: corpus -> (file stem -> the label listeners heard), e.g. CREMA-D's
            ``perceived.csv`` (:func:`semo_batch.naming.read_crema_d_perceived`): each cell of
            that corpus also gives the share of its predictions that agree with the listeners.
    """
    cells = []
    for fset in dict.fromkeys(g[0] for g in grid):
        data = load_labelled(store, fset)
        names = list(corpora) if corpora is not None else sorted(set(data.corpora.tolist()) - {""})
        data = data.select(np.isin(data.corpora, names))
        trainings = [(c, [c]) for c in names] + ([("+".join(names), names)] if len(names) > 1 else [])
        labels = label_order(data.y)
        for _, model_name, *rest in [g for g in grid if g[0] == fset]:
            model = choose(ModelName, model_name, "model")
            params: dict[str, Any] = dict(rest[0]) if rest else {}
            extra = [n for n in cross_normalizations if n not in normalizations]
            for norm in (choose(NormalizeBy, n, "normalize_by") for n in [*normalizations, *extra]):
                for trained_name, trained in trainings:
                    train_mask = np.isin(data.corpora, trained)
                    for test in names:
                        if norm in extra and test in trained:
                            continue
                        t0 = time.perf_counter()
                        if test in trained:
                            part = data.select(train_mask)
                            r = cross_validate(part.store, model=model, cv=CVProtocol.ACTOR, folds=folds, seed=seed,
                                               normalize_by=norm, data=part, test_corpus=test, params=params)
                            scores, spread, protocol = r.by_corpus[test], r.std["accuracy"], "by speaker"
                            predicted = r.predictions
                        else:
                            clf, _ = fit_classifier(data, np.flatnonzero(train_mask), model=model, normalize_by=norm,
                                                    seed=seed, labels=labels, params=params)
                            # Only the emotions the training corpora have: a model never shown "calm"
                            # is not scored on it.
                            rows = np.flatnonzero((data.corpora == test) & np.isin(data.y, data.y[train_mask]))
                            proba = predict_rows(clf, data, rows)
                            scores = score(data.y[rows], proba, labels)
                            spread, protocol = None, "cross-corpus"
                            predicted = {data.paths[i]: labels[k] for i, k in zip(rows, proba.argmax(axis=1))}
                        top, share = _top(scores)
                        heard = _agreement(predicted, (listeners or {}).get(test))
                        cell = CorpusCell(fset, model, params, norm, trained_name, test, protocol, scores, spread, top, share,
                                          round(time.perf_counter() - t0, 1), heard)
                        cells.append(cell)
                        echo(cell.line())
    return CorpusTable(cells)
