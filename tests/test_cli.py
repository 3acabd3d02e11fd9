"""The CLI offers exactly what the library has, with the library's defaults."""

from __future__ import annotations

import inspect

from typer.testing import CliRunner

from semo_batch import cli
from semo_batch.config import DEFAULT_FEATURE_SET, FEATURE_SETS
from semo_batch.models import DEFAULT_MODEL, MODELS


def test_choices_match_the_library() -> None:
    assert {m.value for m in cli.ModelChoice} == set(MODELS)
    assert {f.value for f in cli.FeatureSetChoice} == set(FEATURE_SETS)
    for command in (cli.train, cli.evaluate):
        assert inspect.signature(command).parameters["model"].default.value == DEFAULT_MODEL
    for command in (cli.featurize, cli.train, cli.evaluate):
        assert inspect.signature(command).parameters["feature_set"].default.value == DEFAULT_FEATURE_SET


def test_help_lists_every_command() -> None:
    out = CliRunner().invoke(cli.app, ["--help"]).output
    for name in ("featurize", "train", "evaluate", "predict", "run", "demo", "inspect", "report", "info"):
        assert name in out


def test_predict_without_a_model_dir_uses_the_bundled_model(tmp_path, monkeypatch) -> None:
    import csv

    from semo_batch.resources import default_model_dir, sample_dir

    monkeypatch.chdir(tmp_path)  # no ./semo-model here
    result = CliRunner().invoke(cli.app, ["predict", str(sample_dir()), "-o", "out.csv", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert f"model: {default_model_dir()}" in result.output
    with open(tmp_path / "out.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 16 and all(r["emotion"] for r in rows)
