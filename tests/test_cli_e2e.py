"""The three jobs end to end through the CLI on real RAVDESS files (actors 01-10 of the shared copy).

Actors 01-08 are featurized and trained on; actors 09-10 are held out and labelled by
``predict``, whose accuracy must beat chance (1/8) by a wide margin.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from semo_batch.cli import app
from semo_batch.config import get_config
from semo_batch.features import names
from semo_batch.naming import EMOTIONS, parse_ravdess
from semo_batch.store import META_COLUMNS

pytestmark = [pytest.mark.ravdess, pytest.mark.slow]

TRAIN_ACTORS = range(1, 9)
HELD_OUT = (9, 10)


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Path]:
    src = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "ravdess-speech"
    if not src.is_dir():
        pytest.skip(f"{src} not found")
    base = tmp_path_factory.mktemp("e2e")
    train_dir, held_dir = base / "train", base / "heldout"
    for actor in TRAIN_ACTORS:
        shutil.copytree(src / f"Actor_{actor:02d}", train_dir / f"Actor_{actor:02d}")
    for actor in HELD_OUT:
        # Upper-case extensions: names are matched in any case.
        d = held_dir / f"Actor_{actor:02d}"
        d.mkdir(parents=True)
        for f in sorted((src / f"Actor_{actor:02d}").glob("*.flac")):
            shutil.copy(f, d / f.name.replace(".flac", ".FLAC"))
    return {"base": base, "train": train_dir, "held": held_dir, "store": base / "store", "model": base / "model"}


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_featurize_writes_one_row_per_file_with_parsed_names(e2e: dict[str, Path]) -> None:
    out = _invoke("featurize", str(e2e["train"]), "--store", str(e2e["store"]), "--jobs", "2", "-q")
    n = 60 * len(TRAIN_ACTORS)
    assert f"{n} files found: {n} featurized, 0 skipped" in out

    cfg = get_config("emo")
    df = pl.scan_parquet(f"{e2e['store']}/features/**/*.parquet").collect()
    assert df.height == n and df["path"].n_unique() == n
    assert df.columns == [*META_COLUMNS, *names(cfg)]
    assert set(df["emotion"].unique()) == set(EMOTIONS)
    assert sorted(df["actor"].unique().to_list()) == list(TRAIN_ACTORS)
    assert df.filter(pl.col("channels") == 2).height == 3  # Actor_01 (2) and Actor_05 (1) stereo files
    for row in df.select("path", "emotion", "actor", "sex", "intensity").iter_rows(named=True):
        fields = parse_ravdess(Path(row["path"]).name)
        assert fields is not None
        assert (row["emotion"], row["actor"], row["sex"], row["intensity"]) == (
            fields["emotion"], fields["actor"], fields["sex"], fields["intensity"],
        )
    assert df.schema["mfcc_00_mean"] == pl.Float32
    chunk = sorted((e2e["store"] / "features").glob("*/*.parquet"))[0]
    meta = pq.read_schema(chunk).metadata[b"semo_batch"]
    assert cfg.fingerprint().encode() in meta

    again = _invoke("featurize", str(e2e["train"]), "--store", str(e2e["store"]), "--jobs", "2", "-q")
    assert f"{n} files found: 0 featurized, {n} skipped" in again


def test_train_evaluate_and_predict_held_out_actors(e2e: dict[str, Path]) -> None:
    out = _invoke("train", "--store", str(e2e["store"]), "--model-dir", str(e2e["model"]), "--split", "actor")
    assert "actor split" in out and "accuracy" in out
    for name in ("model.json", "model.skops", "metrics.json", "split.json", "confusion_matrix.png"):
        assert (e2e["model"] / name).is_file(), name

    cv = _invoke("evaluate", "--store", str(e2e["store"]), "--cv", "actor", "--folds", "4", "--model", "logreg")
    assert "4-fold by actor CV" in cv and "accuracy" in cv

    model_all = e2e["base"] / "model-all"
    _invoke("train", "--store", str(e2e["store"]), "--model-dir", str(model_all), "--split", "none")
    csv_path = e2e["base"] / "out.csv"
    out = _invoke("predict", str(e2e["held"]), "--model-dir", str(model_all), "-o", str(csv_path), "-j", "2", "-q")
    assert "120 files, 120 predicted, 0 failed" in out
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    assert list(rows[0]) == ["path", "start", "end", "emotion", "confidence", *[f"p_{e}" for e in EMOTIONS], "error", "note"]
    hits = sum(parse_ravdess(Path(r["path"]).name)["emotion"] == r["emotion"] for r in rows)  # type: ignore[index]
    # Chance is 1/8; speakers never seen in training.
    assert hits / len(rows) > 0.35, hits
    for r in rows:
        p = [float(r[f"p_{e}"]) for e in EMOTIONS]
        assert abs(sum(p) - 1) < 1e-4 and float(r["confidence"]) == pytest.approx(max(p), abs=1e-6)


def test_run_job_file(e2e: dict[str, Path], tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text(
        f"""
[featurize]
inputs = ["{e2e['held']}"]
store = "store"
feature_set = "seed"

[train]
model = "logreg"
split = "actor"
model_dir = "model"

[predict]
inputs = ["{e2e['held']}"]
model_dir = "model"
output = "pred.csv"
"""
    )
    out = _invoke("run", str(job), "-q")
    assert "120 files found: 120 featurized" in out
    assert (tmp_path / "model" / "model.json").is_file()
    assert len((tmp_path / "pred.csv").read_text().splitlines()) == 121


def test_demo_runs_on_the_bundled_samples(tmp_path: Path) -> None:
    out = _invoke("demo", "-o", str(tmp_path / "demo.csv"))
    assert "/16 correct" in out
    assert len((tmp_path / "demo.csv").read_text().splitlines()) == 17
