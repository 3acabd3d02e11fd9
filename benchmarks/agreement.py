"""Does ``seed`` reproduce the notebook?  Its 193 numbers against the reference, on real files.

Tolerances, per block of the vector:

* mel means (128): relative 1e-4 (float32 arithmetic in a different order);
* chroma means (24): absolute 0.02, because the per-file tuning estimate is a
  histogram argmax that, for a few files, lands on the neighbouring 0.01-bin
  when float32 rounding moves a peak across a bin edge;
* MFCC means (40): absolute 1e-2 (dB-scale values in the tens to hundreds);
* zero-crossing count (1): exact.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from notebook_reference import N_FEATURES, notebook_features

from semo_batch.audio import load
from semo_batch.config import get_config
from semo_batch.features import extract

__all__ = ["BLOCKS", "TOLERANCES", "Agreement", "compare_files"]

#: Slices of the 193-vector.
BLOCKS = {"mel": slice(0, 128), "chroma": slice(128, 152), "mfcc": slice(152, 192), "zcr": slice(192, 193)}
#: (kind, bound) per block; kind is "rel" or "abs".
TOLERANCES = {"mel": ("rel", 1e-4), "chroma": ("abs", 0.02), "mfcc": ("abs", 1e-2), "zcr": ("abs", 0.0)}
# Mel bands hold power down to ~1e-12 in silent high bands; below this, relative error is meaningless.
_MEL_FLOOR = 1e-9


@dataclasses.dataclass
class Agreement:
    """Largest differences seen per block, and where."""

    files: int
    max_diff: dict[str, float]
    worst_file: dict[str, str]
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures

    def line(self) -> str:
        parts = []
        for name, (kind, bound) in TOLERANCES.items():
            parts.append(
                f"{name} max {'rel' if kind == 'rel' else 'abs'} diff {self.max_diff[name]:.3g} (limit {bound:g})"
            )
        return f"seed vs notebook on {self.files} files: " + "; ".join(parts)


def _block_diff(name: str, ours: np.ndarray, ref: np.ndarray) -> float:
    d = np.abs(ours.astype(np.float64) - ref)
    if TOLERANCES[name][0] == "rel":
        d = d / np.maximum(np.abs(ref), _MEL_FLOOR)
    return float(d.max())


def compare_files(paths: list[Path]) -> Agreement:
    """Compare ``seed`` (semo_batch.audio.load + features.extract) with the notebook code on ``paths``."""
    config = get_config("seed")
    max_diff = {k: 0.0 for k in BLOCKS}
    worst = {k: "" for k in BLOCKS}
    failures = []
    for p in paths:
        y, _ = load(p, sr=config.sample_rate)
        ours = extract(y, config)
        ref = notebook_features(p)
        if ours.shape != (N_FEATURES,) or ref.shape != (N_FEATURES,):
            failures.append(f"{p.name}: shapes {ours.shape} vs {ref.shape}")
            continue
        for name, sl in BLOCKS.items():
            d = _block_diff(name, ours[sl], ref[sl])
            if d > max_diff[name]:
                max_diff[name], worst[name] = d, p.name
            if d > TOLERANCES[name][1]:
                failures.append(f"{p.name}: {name} differs by {d:.3g} (limit {TOLERANCES[name][1]:g})")
    return Agreement(files=len(paths), max_diff=max_diff, worst_file=worst, failures=failures)
