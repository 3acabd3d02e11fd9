"""The whisper set's fast path (int8 weights, what ships) against the exact one (float32), on whole corpora.

    .venv/bin/python benchmarks/whisper_accuracy.py                     # RAVDESS and CREMA-D, jobs=2
    .venv/bin/python benchmarks/whisper_accuracy.py --corpus ravdess-speech --jobs 2

For each corpus under ``--data`` (default: the shared datasets beside the checkout),
both compute types are featurized into stores under ``--cache`` (kept, so a second run
only reads them), then compared:

* pooled embeddings, file by file: the largest absolute difference, the smallest cosine,
  and the largest difference in units of each column's spread over the corpus (what a
  standardizing model sees);
* speaker-independent accuracy: 5-fold cross-validation by actor (every actor's clips in
  one fold), model ``logreg`` on the 1024 columns, no speaker normalization, the same
  folds for both types; mean accuracy and macro-F1, the largest per-fold difference, and
  the share of clips both label alike.

Wall time of each featurize (``jobs`` workers, fresh store) is printed too.  Never fails
on a number.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from semo_batch.config import FeatureConfig, get_config
from semo_batch.dataset import load_labelled
from semo_batch.evaluate import cross_validate
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
TYPES = ("int8", "float32")


def compare_embeddings(a: np.ndarray, b: np.ndarray) -> str:
    """One line: how far the two types' vectors of the same files are apart."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    cos = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    spread = b.std(axis=0)
    rel = np.abs(a - b) / np.where(spread > 0, spread, 1.0)
    return (f"largest |difference| {np.abs(a - b).max():.4f} (values up to {np.abs(b).max():.2f}); "
            f"cosine min {cos.min():.5f}, median {np.median(cos):.5f}; in column spreads: "
            f"largest {rel.max():.3f}, 99th percentile {np.percentile(rel, 99):.3f}, median {np.median(rel):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--corpus", action="append", help="a folder under --data (default: ravdess-speech and crema-d)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "semo-whisper-accuracy")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    base = get_config("whisper")
    configs: dict[str, FeatureConfig] = {ct: dataclasses.replace(base, compute_type=ct) for ct in TYPES}
    for corpus in args.corpus or ["ravdess-speech", "crema-d"]:
        root = args.data / corpus
        if not root.is_dir():
            print(f"{corpus}: not found under {args.data}; skipped")
            continue
        store = args.cache / corpus
        for ct, cfg in configs.items():
            s = featurize([root], store, feature_set=cfg, options=RunOptions(jobs=args.jobs))
            print(f"{corpus}, {ct}: {s.found} files, {s.done} featurized now ({s.skipped} stored), "
                  f"{s.failed} failed, {s.seconds:.1f} s")
        data = {ct: load_labelled(store, cfg, augmented=False) for ct, cfg in configs.items()}
        fast, exact = data["int8"], data["float32"]
        order = {p: i for i, p in enumerate(exact.paths)}
        common = [p for p in fast.paths if p in order]
        x_fast = fast.X[[fast.paths.index(p) for p in common]] if len(common) < len(fast.paths) else fast.X
        x_exact = exact.X[[order[p] for p in common]]
        print(f"{corpus}: {len(common)} files; int8 vs float32 pooled vectors: {compare_embeddings(x_fast, x_exact)}")

        results = {ct: cross_validate(store, model="logreg", feature_set=cfg, cv="actor", folds=5, data=data[ct],
                                      augmented=False) for ct, cfg in configs.items()}
        for ct, r in results.items():
            print(f"  {ct:8s} accuracy {r.mean['accuracy']:.4f} (folds {', '.join(f'{f.scores.accuracy:.3f}' for f in r.folds)}), "
                  f"macro-F1 {r.mean['macro_f1']:.4f}")
        fold_diff = max(abs(f.scores.accuracy - g.scores.accuracy) for f, g in zip(results["int8"].folds, results["float32"].folds))
        same = [p for p, lab in results["int8"].predictions.items() if results["float32"].predictions.get(p) == lab]
        print(f"  protocol: {results['int8'].protocol}")
        print(f"  difference in mean accuracy {results['int8'].mean['accuracy'] - results['float32'].mean['accuracy']:+.4f}; "
              f"largest per-fold {fold_diff:.4f}; same label on {len(same)} of {len(results['int8'].predictions)} clips "
              f"({len(same) / max(len(results['int8'].predictions), 1):.1%})")


if __name__ == "__main__":
    main()
