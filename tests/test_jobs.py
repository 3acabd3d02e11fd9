"""Job files: the shipped ones parse, paths resolve against the job file, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from semo_batch.errors import ConfigError
from semo_batch.jobs import load_job, run_job

JOBS = sorted((Path(__file__).resolve().parents[1] / "jobs").glob("*.toml"))


def test_the_shipped_jobs_exist() -> None:
    names = {p.stem for p in JOBS}
    assert {"seed-notebook", "speaker-independent", "default-model", "default-model-normalized", "results-table",
            "corpora-table", "robustness", "robustness-no-channel-copies"} <= names


@pytest.mark.parametrize("path", JOBS, ids=[p.stem for p in JOBS])
def test_shipped_job_parses_with_absolute_paths(path: Path) -> None:
    job = load_job(path)
    inputs = job["featurize"]["inputs"]
    assert all(Path(p).is_absolute() for p in inputs)
    assert all(p.endswith(("shared/datasets/ravdess-speech", "shared/datasets/crema-d")) for p in inputs)
    assert Path(job["featurize"]["store"]).is_absolute()


def test_seed_notebook_job_is_the_notebook() -> None:
    job = load_job(next(p for p in JOBS if p.stem == "seed-notebook"))
    assert job["featurize"]["feature_set"] == "seed"
    train = job["train"]
    assert (train["model"], train["split"], train["augmented"]) == ("seed-dnn", "random", False)


def test_relative_paths_follow_the_job_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    job = tmp_path / "sub" / "j.toml"
    job.write_text('[featurize]\ninputs = ["../data"]\nstore = "store"\n')
    parsed = load_job(job)
    assert parsed["featurize"]["inputs"] == [str((tmp_path / "data").resolve())]
    assert parsed["featurize"]["store"] == str((tmp_path / "sub" / "store").resolve())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[featurise]\ninputs = []\n", "unknown section [featurise]"),
        ("[train]\nmodle = 'svm'\n", "unknown keys in [train]: ['modle']"),
        ("[train\n", "invalid TOML"),
        ("[job]\nname = 'x'\n", "nothing to do"),
    ],
)
def test_mistakes_are_one_line_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    job = tmp_path / "bad.toml"
    job.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_job(job)
    assert str(job) in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_job_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such job file"):
        load_job(tmp_path / "nope.toml")


def test_the_bundled_models_jobs_train_what_ships() -> None:
    plain, normalized = (load_job(next(p for p in JOBS if p.stem == s)) for s in ("default-model", "default-model-normalized"))
    for job in (plain, normalized):
        assert job["featurize"]["feature_set"] == "emo+whisper" and job["train"]["split"] == "none"
        assert [Path(p).name for p in job["featurize"]["inputs"]] == ["ravdess-speech", "crema-d"]
        assert "/semo_batch/" not in job["train"]["model_dir"]  # jobs write to out/, never into the package
        assert job["featurize"]["channel_copies"] == 1 and job["featurize"]["augment"] == [0.9, 1.1]
    assert "normalize_by" not in plain["train"] and normalized["train"]["normalize_by"] == "actor"


def test_a_model_without_its_extra_stops_the_job_before_featurizing(tmp_path, monkeypatch):
    from semo_batch.errors import ConfigError
    from semo_batch.models import keras_nets

    monkeypatch.setattr(keras_nets, "tensorflow_installed", lambda: False)
    (tmp_path / "clips").mkdir()
    job = tmp_path / "job.toml"
    job.write_text('[featurize]\ninputs = ["clips"]\nstore = "store"\n[train]\nmodel = "dnn"\nmodel_dir = "m"\n')
    with pytest.raises(ConfigError, match=r"needs TensorFlow: pip install 'semo-batch\[dnn\]'"):
        run_job(job, echo=lambda line: None)
    assert not (tmp_path / "store").exists()
