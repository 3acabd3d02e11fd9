"""Speed of the extraction path on real RAVDESS files, against the notebook's own code.

Every item records files/s per core in the session table (see conftest.py);
nothing here fails on a time.  The notebook reference runs first so the table
can give ratios measured in the same session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("librosa", reason="the notebook reference needs librosa (pip install -e '.[test]')")

from workloads import (
    PER_FILE_KEYS,
    PredictUnavailable,
    Scratch,
    Workload,
    featurize_workload,
    per_file_workloads,
    predict_workload,
)


@pytest.fixture(scope="session")
def per_file(subset_paths: list[Path]) -> dict[str, Workload]:
    return {w.key: w for w in per_file_workloads(subset_paths)}


@pytest.mark.parametrize("key", PER_FILE_KEYS)
def test_per_file(key: str, per_file: dict[str, Workload], measure) -> None:
    """One file after another in this process: decode, extract, file -> vector, and the notebook."""
    row = measure(per_file[key], "per-file")
    assert row.best > 0


@pytest.mark.parametrize("feature_set", ["seed", "emo"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_featurize(feature_set: str, jobs: int, subset_root: Path, sizes, scratch: Scratch, measure) -> None:
    """featurize of the subset folder into a fresh store each round (worker start-up in the warm-up round)."""
    w = featurize_workload(subset_root, sizes.subset, feature_set=feature_set, jobs=jobs, scratch=scratch)
    row = measure(w, "featurize")
    assert row.best > 0


@pytest.mark.parametrize("jobs", [2])
def test_predict(jobs: int, subset_root: Path, sizes, measure) -> None:
    """predict_folders on the same subset; skipped until the library has it and a model is available."""
    try:
        w = predict_workload(subset_root, sizes.subset, jobs=jobs)
    except PredictUnavailable as exc:
        pytest.skip(str(exc))
    row = measure(w, "predict")
    assert row.best > 0
