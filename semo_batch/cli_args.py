"""What the command line accepts: the options several commands share, defined once.

Each is an ``Annotated`` type for typer, with a metavar that says what to give
(``N``, ``DIR``, ``SECONDS``) and a help line that fits 80 columns; flags have
one name and no ``[default: no-...]`` noise.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.types import ParamType

from . import __version__
from .choices import Backend
from .console import call

if TYPE_CHECKING:
    from typer._click.core import Context, Parameter

__all__ = ["Number", "flag", "run_options", "writable", "LOCAL_BACKEND", "BackendChoice", "Version", "Jobs", "MaxDur", "ModelDir", "Out", "Quiet",
           "Scheduler", "Seed", "Store", "Stores"]


class Number(ParamType):
    """A number option (``int``: a whole number; a float must be finite), with its errors in
    our words: ``'abc' is not a whole number``, ``'-3' is below 0``.  Every int or float
    option takes it (a test checks), never click's own types and their wording."""

    def __init__(self, kind: type[int] | type[float], minimum: int | None = None, maximum: int | None = None) -> None:
        self.kind, self.minimum, self.maximum = kind, minimum, maximum
        self.name = "integer" if kind is int else "float"

    def convert(self, value: Any, param: Parameter | None, ctx: Context | None) -> int | float:
        what = "a whole number" if self.kind is int else "a number"
        try:
            number = value if isinstance(value, self.kind) else self.kind(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not {what}", param, ctx)
        if self.kind is float and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{value!r} is below {self.minimum}", param, ctx)
        if self.maximum is not None and number > self.maximum:
            self.fail(f"{value!r} is above {self.maximum}", param, ctx)
        return number


def flag(*names: str, help: str) -> Any:
    """A flag with no --no-... twin, its default not shown."""
    return typer.Option(*names, help=help, show_default=False)


Store = Annotated[Path, typer.Option(metavar="DIR", help="Feature store folder.")]
Stores = Annotated[list[Path], typer.Option("--store", metavar="DIR", help="Feature store folder; repeat it for several corpora.")]
ModelDir = Annotated[Path, typer.Option(metavar="DIR", help="Model folder.")]
Jobs = Annotated[int, typer.Option("--jobs", "-j", metavar="N", click_type=Number(int, 0), help="Worker processes (0: all cores; small batches run in this process).")]
Quiet = Annotated[bool, flag("--quiet", "-q", help="No progress output.")]
MaxDur = Annotated[float, typer.Option(metavar="SECONDS", click_type=Number(float, 0), help="Refuse longer files (0: no limit).")]
#: The local default: ``fork`` on Linux, else ``loky``.
LOCAL_BACKEND = Backend.local()
BackendChoice = Annotated[Backend, typer.Option(help="Where per-file work runs: workers forked from this process (Linux), fresh worker interpreters (loky), or a Dask cluster.")]
Scheduler = Annotated[str | None, typer.Option(metavar="ADDRESS", help="Dask scheduler address (with --backend dask).")]
Out = Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="File to write.")]
#: Seeds as numpy and scikit-learn take them.
Seed = Annotated[int, typer.Option(metavar="N", click_type=Number(int, 0, 2**32 - 1), help="Random seed (split and model).")]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"semo-batch {__version__}")
        raise typer.Exit()


Version = Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")]


def writable(path: Path | None) -> Path | None:
    """An option callback: the output path can be written (checked before any work)."""
    from .errors import ConfigError
    from .paths import check_output_path

    try:
        return None if path is None else check_output_path(path)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


def run_options(label: str, *, jobs: int, quiet: bool, max_duration: float, backend: Backend, scheduler: str | None, follow_symlinks: bool = False) -> Any:
    """The run options, validated by the library (a bad value is a one-line usage error)."""
    from .options import RunOptions
    from .progress import ProgressPrinter

    return call(RunOptions, jobs=jobs, max_duration=max_duration or None, backend=backend, scheduler=scheduler,
                follow_symlinks=follow_symlinks, progress=ProgressPrinter(label, quiet=quiet))
