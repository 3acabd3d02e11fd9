"""Scores as typed results: what one held-out set scored, and what cross-validation found.

Each result knows how to print itself (``lines()``) and to serialize itself
(``to_dict()``), so no caller re-spells a key.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["HEADLINE", "Scores", "FoldScores", "CVResult", "score", "confusion_lines"]

#: The scalar scores, in the order they are printed.
HEADLINE: tuple[str, ...] = ("accuracy", "uar", "macro_f1", "brier", "ece")
_SHOWN = {"accuracy": "accuracy", "uar": "UAR", "macro_f1": "macro-F1", "brier": "Brier", "ece": "ECE"}
#: Bins of the expected calibration error.
ECE_BINS = 15


@dataclasses.dataclass(frozen=True)
class Scores:
    """How predictions of ``n`` rows compare with their labels.

    Attributes:
        n: rows scored.
        accuracy: share of rows predicted right.
        uar: unweighted average recall (balanced accuracy).
        macro_f1: F1 averaged over the classes present.
        brier: multi-class Brier score (0 best, 2 worst).
        ece: expected calibration error over 15 confidence bins.
        labels: the class order of ``confusion_matrix``.
        confusion_matrix: counts, rows true and columns predicted.
        report: scikit-learn's per-class report (precision, recall, f1-score, support).
    """

    n: int
    accuracy: float
    uar: float
    macro_f1: float
    brier: float
    ece: float
    labels: list[str]
    confusion_matrix: list[list[int]]
    report: dict[str, Any]

    def value(self, key: str) -> float:
        """One of :data:`HEADLINE`."""
        return float(getattr(self, key))

    def headline(self) -> str:
        return "  ".join(f"{_SHOWN[k]} {self.value(k):.3f}" for k in HEADLINE)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scores:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})


def score(y_true: Sequence[str] | np.ndarray, proba: np.ndarray, labels: Sequence[str]) -> Scores:
    """Accuracy, UAR, macro-F1, per-class report, confusion matrix, and the calibration of
    the probabilities (multi-class Brier score, expected calibration error).

    Args:
        y_true: true label strings [shape=(n,)], each one of ``labels``.
        proba: predicted probabilities [shape=(n, len(labels))].
        labels: the class of each column of ``proba``.
    """
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

    labels = list(labels)
    proba = np.asarray(proba, dtype=np.float64)
    truth = np.asarray(y_true, dtype=object)
    pred = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
    index = {lab: i for i, lab in enumerate(labels)}
    yi = np.array([index[v] for v in truth], dtype=np.int64)
    onehot = np.eye(len(labels))[yi]
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == yi).astype(float)
    bins = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    ece = sum(
        abs(correct[bins == b].mean() - conf[bins == b].mean()) * (bins == b).mean()
        for b in range(ECE_BINS) if (bins == b).any()
    )
    present = [lab for lab in labels if lab in set(truth.tolist())]
    return Scores(
        n=int(len(truth)),
        accuracy=float(accuracy_score(truth, pred)),
        uar=_uar(truth, pred),
        macro_f1=float(f1_score(truth, pred, labels=present, average="macro", zero_division=0)),
        brier=float(np.mean(np.sum((proba - onehot) ** 2, axis=1))),
        ece=float(ece),
        labels=labels,
        confusion_matrix=confusion_matrix(truth, pred, labels=labels).tolist(),
        report=classification_report(truth, pred, labels=labels, output_dict=True, zero_division=0),
    )


def _uar(truth: np.ndarray, pred: np.ndarray) -> float:
    """Recall averaged over the classes present in ``truth`` (a model may predict a class the
    test set lacks, such as "calm" on CREMA-D: that is an error, not a reason to warn)."""
    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(truth, pred))


def confusion_lines(cm: Sequence[Sequence[int]], labels: Sequence[str]) -> list[str]:
    """A confusion matrix as text, rows true and columns predicted, labels in full."""
    width = max([len(lab) for lab in labels] + [6])
    out = ["confusion matrix (rows: true, columns: predicted)", " " * (width + 1) + " ".join(f"{lab:>{width}s}" for lab in labels)]
    out += [f"{lab:>{width}s} " + " ".join(f"{v:{width}d}" for v in row) for lab, row in zip(labels, cm)]
    return out


@dataclasses.dataclass(frozen=True)
class FoldScores:
    """One cross-validation fold: its scores and the speakers it held out."""

    scores: Scores
    test_speakers: list[str]


@dataclasses.dataclass(frozen=True)
class CVResult:
    """Cross-validation: one :class:`Scores` per fold, their mean and spread, the pooled confusion."""

    protocol: str
    folds: list[FoldScores]
    labels: list[str]
    confusion_matrix: list[list[int]]
    by_corpus: dict[str, Scores] = dataclasses.field(default_factory=dict)
    #: The out-of-fold prediction of every tested file (path -> label); not serialized.
    predictions: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def mean(self) -> dict[str, float]:
        return {k: float(np.mean([f.scores.value(k) for f in self.folds])) for k in HEADLINE}

    @property
    def std(self) -> dict[str, float]:
        return {k: float(np.std([f.scores.value(k) for f in self.folds])) for k in HEADLINE}

    def summary(self, key: str) -> str:
        """``mean ± std`` over folds, or the value alone for a single split (no spread to show)."""
        spread = f" ± {self.std[key]:.3f}" if len(self.folds) > 1 else ""
        return f"{self.mean[key]:.3f}{spread}"

    def lines(self) -> list[str]:
        out = [self.protocol]
        out += [f"{_SHOWN[k]:9s} {self.summary(k)}" for k in HEADLINE]
        if len(self.by_corpus) > 1:
            out += [f"{corpus}: {s.n} rows, {s.headline()}" for corpus, s in self.by_corpus.items()]
        return out + confusion_lines(self.confusion_matrix, self.labels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "folds": [{k: f.scores.value(k) for k in HEADLINE} | {"n": f.scores.n, "test_speakers": f.test_speakers}
                      for f in self.folds],
            "mean": self.mean,
            "std": self.std,
            "labels": self.labels,
            "confusion_matrix": self.confusion_matrix,
            "by_corpus": {c: s.to_dict() for c, s in self.by_corpus.items()},
        }
