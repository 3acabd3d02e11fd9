"""The CLI offers exactly what the library has, with the library's defaults."""

from __future__ import annotations

import inspect
import re

from typer.testing import CliRunner

from semo_batch import cli
from semo_batch.choices import Backend, CVProtocol, FeatureSet, ModelName, NormalizeBy, Split
from semo_batch.config import DEFAULT_FEATURE_SET
from semo_batch.models import DEFAULT_MODEL


def _default(command, name):
    return inspect.signature(command).parameters[name].default


def test_the_cli_uses_the_library_vocabulary_and_defaults() -> None:
    expected = {
        "model": ModelName, "feature_set": FeatureSet, "split": Split, "cv": CVProtocol,
        "normalize_by": NormalizeBy, "backend": Backend,
    }
    seen = set()
    for info in cli.app.registered_commands:
        for name, param in inspect.signature(info.callback).parameters.items():
            if name in expected:
                assert expected[name].__name__ in str(param.annotation), (info.callback.__name__, name)
                seen.add(name)
    assert seen == set(expected)
    for command in (cli.train, cli.evaluate):
        assert _default(command, "model") is DEFAULT_MODEL
    for command in (cli.featurize, cli.train, cli.evaluate):
        assert _default(command, "feature_set").value == DEFAULT_FEATURE_SET


def test_help_lists_every_command_with_its_summary() -> None:
    out = CliRunner().invoke(cli.app, ["--help"], terminal_width=200).output
    commands = {(c.name or c.callback.__name__): c.callback for c in cli.app.registered_commands}
    assert len(commands) == 10
    for name, callback in commands.items():
        summary = inspect.getdoc(callback).splitlines()[0]
        # A row of the commands table: the name, then the first words of its docstring.
        assert re.search(rf"^\W*{re.escape(name)}\s+{re.escape(summary.split()[0])}", out, re.M), (name, out)


def test_predict_without_a_model_dir_uses_the_bundled_model(tmp_path, monkeypatch) -> None:
    import csv

    from semo_batch.resources import default_model_dir, sample_dir

    monkeypatch.chdir(tmp_path)  # no ./semo-model here
    result = CliRunner().invoke(cli.app, ["predict", str(sample_dir()), "-o", "out.csv", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert f"{default_model_dir()}: model fusion on feature set emo+whisper" in result.output
    with open(tmp_path / "out.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 16 and all(r["emotion"] for r in rows)
