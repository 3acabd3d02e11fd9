"""The robustness suite: a model's held-out speakers heard through other channels.

For each channel change of :data:`semo_batch.channels.CHANNELS` the files a model never
trained on (its ``split.json``, or any labelled files given) are decoded, passed
through the change and featurized exactly as ``predict`` does, then scored against
the labels their names carry; the drop from the clean files is the figure to read.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import features
from .channels import CHANNELS
from .choices import NormalizeBy
from .discover import AudioFile
from .errors import ConfigError, ModelError
from .metrics import Scores, score
from .models import load_model
from .models.normalize import group_keys
from .naming import parse_name
from .options import RunOptions
from .parallel import map_files

__all__ = ["ChannelScores", "RobustnessResult", "evaluate_channels"]


@dataclasses.dataclass(frozen=True)
class ChannelScores:
    """A model's scores on the held-out files through one channel (``clean``: none)."""

    channel: str
    description: str
    scores: Scores
    by_corpus: dict[str, Scores]


@dataclasses.dataclass(frozen=True)
class RobustnessResult:
    model: str
    files: int
    conditions: list[ChannelScores]

    @property
    def clean(self) -> ChannelScores:
        return self.conditions[0]

    def markdown(self) -> str:
        corpora = list(self.clean.by_corpus)
        head = "| channel | accuracy | UAR | change (points) | " + " | ".join(f"{c} accuracy" for c in corpora) + " |\n"
        head += "|---" * (4 + len(corpora)) + "|\n"
        rows = []
        for c in self.conditions:
            drop = "-" if c is self.clean else f"{100 * (c.scores.accuracy - self.clean.scores.accuracy):+.1f}"
            per = " | ".join(f"{c.by_corpus[k].accuracy:.3f}" if k in c.by_corpus else "-" for k in corpora)
            rows.append(f"| {c.channel} ({c.description}) | {c.scores.accuracy:.3f} | {c.scores.uar:.3f} | {drop} | {per} |")
        return head + "\n".join(rows) + "\n"

    def lines(self) -> list[str]:
        return [f"{self.model}: {self.files} held-out files", *self.markdown().splitlines()]


def _held_out(model_dir: Path) -> list[str]:
    try:
        split = json.loads((model_dir / "split.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{model_dir / 'split.json'}: cannot tell which files were held out ({type(exc).__name__})") from None
    paths = split.get("test_paths") or []
    if not paths:
        raise ConfigError(f"{model_dir}: the model held no files out (trained with --split none); give the files to test")
    return list(paths)


def evaluate_channels(
    model_dir: str | os.PathLike[str],
    *,
    paths: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    options: RunOptions | None = None,
) -> RobustnessResult:
    """Score a model on clean and channel-changed versions of files it did not train on.

    Args:
        model_dir: the model.
        paths: labelled audio files (any naming scheme); default: the files the model held out.
        channels: names from :data:`~semo_batch.channels.CHANNELS` (default: all).
        options: workers and backend for the featurization.

    Raises:
        ConfigError: no held-out files, an unknown channel, or no file with a label the model knows.
    """
    d = Path(model_dir)
    clf = load_model(d)
    assert clf.feature_config is not None
    known = {c.name: c for c in CHANNELS}
    chosen = list(channels) if channels is not None else list(known)
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise ConfigError(f"unknown channels {unknown}; known: {', '.join(known)}")
    labels = {p: lab for p in (paths if paths is not None else _held_out(d))
              if (lab := parse_name(p)) is not None and lab.emotion in clf.labels_}
    files = [AudioFile(path=p, root=os.path.dirname(p), relpath=os.path.basename(p)) for p in sorted(labels)]
    if not files:
        raise ConfigError(f"{d}: none of the files to test carries a label this model knows")
    features.prepare(clf.feature_config)
    options = options or RunOptions()
    conditions = []
    for name in [None, *chosen]:
        results = list(map_files(files, clf.feature_config, options, channel=name))
        ok = [r for r in results if r.features is not None]
        paths_ok = [r.file.path for r in ok]
        X = np.stack([r.features for r in ok if r.features is not None]).astype(np.float64)
        groups = None if clf.normalization is NormalizeBy.NONE else group_keys(paths_ok, clf.normalization)
        proba = clf.predict_proba(X, groups=groups)
        truth = np.array([labels[p].emotion for p in paths_ok], dtype=object)
        corpus = np.array([labels[p].corpus for p in paths_ok], dtype=object)
        by_corpus = {c: score(truth[corpus == c], proba[corpus == c], clf.labels_) for c in sorted(set(corpus.tolist()))}
        conditions.append(ChannelScores(name or "clean", known[name].description if name else "as recorded",
                                        score(truth, proba, clf.labels_), by_corpus))
    return RobustnessResult(model=str(d), files=len(files), conditions=conditions)
