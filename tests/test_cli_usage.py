"""The command line as a new user meets it: one-line usage errors, --version, help that reads at 80 columns."""

from __future__ import annotations

import re

import pytest
import typer
from typer._click.types import FloatParamType, IntParamType
from typer.testing import CliRunner, Result

from semo_batch import __version__
from semo_batch.cli import app
from semo_batch.cli_args import Number
from semo_batch.console import EXIT_OK, EXIT_USAGE

COMMANDS = ["featurize", "train", "evaluate", "predict", "run", "demo", "inspect", "report", "info", "compact"]


def invoke(*args: object, columns: int = 80) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns)})


@pytest.mark.parametrize(
    "args, line",
    [
        (["train", "--model", "svn"], "--model: 'svn' is not one of 'ensemble', 'fusion', 'logreg', 'mlp', 'svm', "
                                      "'dnn', 'seed-dnn' (see 'semo-batch train --help')"),
        (["featurize", "x", "--jobs", "abc"], "--jobs: 'abc' is not a whole number (see 'semo-batch featurize --help')"),
        (["featurize", "x", "--jobs", "-3"], "--jobs: '-3' is below 0 (see 'semo-batch featurize --help')"),
        (["evaluate", "--folds", "1"], "--folds: '1' is below 2 (see 'semo-batch evaluate --help')"),
        (["predict", "x", "--max-duration", "ten"], "--max-duration: 'ten' is not a number (see 'semo-batch predict --help')"),
        (["featurize", "x", "--max-duration", "nan"], "--max-duration: 'nan' is not a finite number (see 'semo-batch featurize --help')"),
        (["featurize", "x", "--channel-copies", "-1"], "--channel-copies: '-1' is below 0 (see 'semo-batch featurize --help')"),
        (["train", "--seed", "1.5"], "--seed: '1.5' is not a whole number (see 'semo-batch train --help')"),
        (["evaluate", "--seed", "-1"], "--seed: '-1' is below 0 (see 'semo-batch evaluate --help')"),
        (["train", "--seed", str(2**32)], "--seed: '4294967296' is above 4294967295 (see 'semo-batch train --help')"),
        (["featurize"], "missing INPUT (see 'semo-batch featurize --help')"),
        (["train", "--bogus"], "no such option: --bogus (see 'semo-batch train --help')"),
        (["featurize", "x", "--jobs"], "option '--jobs' requires an argument (see 'semo-batch --help')"),
        (["trian"], "no such command 'trian'. Did you mean 'train'? (see 'semo-batch --help')"),
    ],
    ids=["enum", "not-int", "negative-jobs", "folds-below-2", "not-float", "not-finite", "negative-copies", "seed-not-int",
         "seed-negative", "seed-too-big",
         "missing-arg", "unknown-option",
         "option-without-value", "unknown-command"],
)
def test_usage_errors_are_one_line_in_our_words_and_exit_2(args: list[str], line: str) -> None:
    res = invoke(*args)
    assert res.exit_code == EXIT_USAGE, res.output
    assert res.stdout == ""
    assert res.stderr == f"semo-batch: error: {line}\n"


def test_no_box_and_no_pydantic_wording_anywhere() -> None:
    for args in (["train", "--model", "svn"], ["featurize", "x", "-j", "1.5"], ["train", "--seed", "x"]):
        err = invoke(*args).stderr
        assert not re.search(r"[╭│╰─]|Value error|Input should|valid integer", err), err
        assert len(err.splitlines()) == 1


def test_every_number_option_has_its_errors_in_our_words() -> None:
    """A number option typed by click's own int or float type would say click's words
    ("'x' is not a valid integer"): each one is a :class:`semo_batch.cli_args.Number`."""
    group = typer.main.get_command(app)
    numbers = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            assert not isinstance(param.type, (IntParamType, FloatParamType)), (name, param.name)
            if isinstance(param.type, Number):
                numbers.append((name, param.name))
    assert ("featurize", "jobs") in numbers and ("evaluate", "folds") in numbers and ("train", "seed") in numbers


def test_a_number_accepts_what_it_should() -> None:
    assert Number(int, 0).convert("3", None, None) == 3 and Number(int).convert(-2, None, None) == -2
    assert Number(float, 0).convert("0", None, None) == 0.0 and Number(float).convert("1e3", None, None) == 1000.0
    for bad in ("", "1,5", "ten"):
        with pytest.raises(typer.BadParameter, match="is not a number"):
            Number(float).convert(bad, None, None)
    with pytest.raises(typer.BadParameter, match="'-inf' is not a finite number"):
        Number(float).convert("-inf", None, None)
    huge = "1" * 400  # past any float: a whole number still, no OverflowError
    assert Number(int).convert(huge, None, None) == int(huge)
    with pytest.raises(typer.BadParameter, match="is above 9"):
        Number(int, 0, 9).convert(huge, None, None)
    with pytest.raises(typer.BadParameter, match="is below 0"):
        Number(int, 0).convert("-" + huge, None, None)


def test_version() -> None:
    res = invoke("--version")
    assert res.exit_code == EXIT_OK and res.stdout == f"semo-batch {__version__}\n"


def test_no_command_prints_the_help_and_exits_2() -> None:
    res = invoke()
    assert res.exit_code == EXIT_USAGE and "Commands:" in res.stdout and "Exit codes:" in res.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_and_help_that_fits_80_columns(command: str) -> None:
    res = invoke(command, "--help")
    assert res.exit_code == EXIT_OK
    text = res.stdout
    assert re.search(r"^  Examples?:|^  Example job file:", text, re.M), text
    assert re.search(rf"^(    |  Examples?: )semo-batch {command}\b", text, re.M) or command == "run", text
    for line in text.splitlines():
        assert len(line) <= 80, line
    assert "<bool>" not in text and "…" not in text and "[default: no-" not in text
    # Choice lists are whole: no choice is cut across lines.
    for choices in re.findall(r"<([a-z0-9+|-]+)", text):
        assert all(c for c in choices.split("|")), choices


def test_run_help_does_not_send_a_pip_user_to_a_folder_they_do_not_have() -> None:
    text = invoke("run", "--help").stdout
    assert "jobs/" not in text and "[featurize]" in text and "inputs = " in text
