"""The ``semo-batch`` command: parse arguments, make one library call, print the result.

Exit codes: 0 done; 3 some files failed (recorded); 2 usage or configuration error; 1 other errors
(``--strict`` failures included); 130 interrupted.  Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .choices import Backend, CVProtocol, FeatureSet, ModelName, NormalizeBy, Scheme, Split
from .paths import DEFAULT_MODEL_DIR, DEFAULT_STORE

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
app = typer.Typer(name="semo-batch", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Batch speech emotion classification: featurize folders into a Parquet store, train, evaluate, predict.")

T = TypeVar("T")

StoreOpt = Annotated[Path, typer.Option(help="Feature store folder.")]
StoresOpt = Annotated[list[Path], typer.Option("--store", help="Feature store folder; repeat it to use several corpora.")]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: all cores).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
MaxDurOpt = Annotated[float, typer.Option(help="Refuse files longer than this (seconds; 0: no limit).")]
BackendOpt = Annotated[Backend, typer.Option(help="Where per-file work runs.")]
SchedulerOpt = Annotated[str | None, typer.Option(help="Dask scheduler address (with --backend dask).")]


def _err(msg: str) -> None:
    typer.echo(f"semo-batch: error: {msg}", err=True)


def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call the library; turn domain errors into a one-line message and an exit code."""
    from .errors import ConfigError, Interrupted, SemoError

    try:
        return fn(*args, **kwargs)
    except ConfigError as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except Interrupted as exc:
        _err(f"interrupted: {exc}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except SemoError as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        _err("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OSError as exc:  # writing an output: a full disk, a read-only folder
        _err(f"{exc.filename or 'output'}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_ERROR) from None


def _echo(lines: Sequence[str], *, err: bool = False) -> None:
    for line in lines:
        typer.echo(line, err=err)


def _options(label: str, *, jobs: int, quiet: bool, max_duration: float, backend: Backend, scheduler: str | None, follow_symlinks: bool = False) -> Any:
    """The run options, validated by the library (a bad value is a one-line usage error)."""
    from .options import RunOptions
    from .progress import ProgressPrinter

    return _run(RunOptions, jobs=jobs, max_duration=max_duration or None, backend=backend, scheduler=scheduler,
                follow_symlinks=follow_symlinks, progress=ProgressPrinter(label, quiet=quiet))


@app.command()
def featurize(
    dirs: Annotated[list[Path], typer.Argument(help="Folders to walk recursively.")],
    store: StoreOpt = DEFAULT_STORE,
    jobs: JobsOpt = 0,
    feature_set: Annotated[FeatureSet, typer.Option(help="Feature set.")] = FeatureSet.EMO,
    force: Annotated[bool, typer.Option(help="Recompute files already in the store.")] = False,
    strict: Annotated[bool, typer.Option(help="Stop with an error at the first bad file.")] = False,
    max_duration: MaxDurOpt = 600.0,
    follow_symlinks: Annotated[bool, typer.Option(help="Follow symlinks out of the input folders.")] = False,
    backend: BackendOpt = Backend.LOKY,
    scheduler: SchedulerOpt = None,
    augment: Annotated[str, typer.Option(help="Also store speed-perturbed copies for training, e.g. '0.9,1.1'.")] = "",
    channel_copies: Annotated[int, typer.Option(help="Also store N copies through random channels (noise, phone, room).")] = 0,
    scheme: Annotated[Scheme, typer.Option(help="How labels are read from file names.")] = Scheme.AUTO,
    labels: Annotated[Path | None, typer.Option(help="A labels CSV: path,emotion[,speaker][,corpus].")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Extract features of every audio file under DIRS into the store (skipping files already there)."""
    from .featurize import featurize as _featurize
    from .featurize import parse_factors

    opts = _options("featurize", jobs=jobs, quiet=quiet, max_duration=max_duration, backend=backend, scheduler=scheduler, follow_symlinks=follow_symlinks)
    summary = _run(_featurize, dirs, store, feature_set=feature_set, options=opts, force=force, strict=strict,
                   augment=_run(parse_factors, augment), channel_copies=channel_copies, scheme=scheme, labels=labels)
    _echo(summary.lines())
    _echo(summary.failure_lines(), err=True)
    if summary.failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def train(
    store: StoresOpt = [DEFAULT_STORE],  # noqa: B006 - typer reads the default, never mutates it
    model_dir: Annotated[Path, typer.Option(help="Where to write the model.")] = DEFAULT_MODEL_DIR,
    model: Annotated[ModelName, typer.Option(help="Model to train.")] = ModelName.ENSEMBLE,
    feature_set: Annotated[FeatureSet, typer.Option(help="Feature set to train on.")] = FeatureSet.EMO,
    split: Annotated[Split, typer.Option(help="Held-out split: whole actors, stratified random, or none.")] = Split.ACTOR,
    seed: Annotated[int, typer.Option(help="Random seed (split and model).")] = 0,
    normalize_by: Annotated[NormalizeBy, typer.Option(help="z-score features per speaker group before training.")] = NormalizeBy.NONE,
    augmented: Annotated[bool, typer.Option(help="Train on the store's speed-perturbed rows too, if any.")] = True,
) -> None:
    """Train a model on the store's labelled rows; save it with held-out metrics and plots."""
    from .plots import save_model_figures
    from .train import train as _train

    result = _run(_train, store, model_dir, model=model, feature_set=feature_set, split=split, seed=seed,
                  normalize_by=normalize_by, augmented=augmented)
    _run(save_model_figures, result.model_dir, result.scores, result.history)
    _echo(result.lines())


@app.command()
def evaluate(
    store: StoresOpt = [DEFAULT_STORE],  # noqa: B006
    model_dir: Annotated[Path, typer.Option(help="Saved model to score (without --cv).")] = DEFAULT_MODEL_DIR,
    include_training: Annotated[bool, typer.Option(help="Score the model's own training rows too (not a held-out figure).")] = False,
    cv: Annotated[CVProtocol | None, typer.Option(help="Cross-validate a model type instead of scoring a saved model.")] = None,
    folds: Annotated[int, typer.Option(help="Folds for --cv.")] = 5,
    model: Annotated[ModelName, typer.Option(help="Model type for --cv.")] = ModelName.ENSEMBLE,
    feature_set: Annotated[FeatureSet, typer.Option(help="Feature set for --cv.")] = FeatureSet.EMO,
    normalize_by: Annotated[NormalizeBy, typer.Option(help="Speaker normalization for --cv.")] = NormalizeBy.NONE,
    seed: Annotated[int, typer.Option(help="Random seed for --cv.")] = 0,
    augmented: Annotated[bool, typer.Option(help="With --cv, train folds on speed-perturbed rows too, if any.")] = True,
    test_corpus: Annotated[str | None, typer.Option(help="With --cv, test this corpus only; the others always train.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the full result as JSON.")] = None,
) -> None:
    """Score a saved model on the store rows it did not train on, or cross-validate (by actor: speaker-independent)."""
    from .paths import check_output_path

    _run(check_output_path, json_out) if json_out is not None else None
    if cv is None:
        from .evaluate import evaluate as _evaluate

        r: Any = _run(_evaluate, store, model_dir, include_training=include_training)
        if r.warning:
            typer.echo(r.warning, err=True)
    else:
        from .evaluate import cross_validate
        from .progress import ProgressPrinter

        r = _run(cross_validate, store, model=model, feature_set=feature_set, cv=cv, folds=folds, seed=seed,
                 normalize_by=normalize_by, augmented=augmented, test_corpus=test_corpus,
                 progress=ProgressPrinter("evaluate --cv", unit="fold"))
    _echo(r.lines())
    if json_out:
        _run(json_out.write_text, json.dumps(r.to_dict(), indent=1))


@app.command()
def predict(
    dirs: Annotated[list[Path], typer.Argument(help="Folders of audio files (any names).")],
    model_dir: Annotated[Path | None, typer.Option(help="Model directory (default: ./semo-model if present, else the bundled model).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write.")] = Path("predictions.csv"),
    jobs: JobsOpt = 0,
    normalize_by: Annotated[NormalizeBy, typer.Option(help="Speaker groups, for models trained with normalization.")] = NormalizeBy.NONE,
    max_duration: MaxDurOpt = 600.0,
    plot: Annotated[Path | None, typer.Option(help="Also write a PNG of the label distribution and confidences.")] = None,
    strict: Annotated[bool, typer.Option(help="Exit with an error if any file failed.")] = False,
    backend: BackendOpt = Backend.LOKY,
    scheduler: SchedulerOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Label every audio file under DIRS and write one CSV row per file."""
    from .predict import predict_to_csv

    opts = _options("predict", jobs=jobs, quiet=quiet, max_duration=max_duration, backend=backend, scheduler=scheduler)
    summary = _run(predict_to_csv, dirs, output, model_dir=model_dir, normalize_by=normalize_by, options=opts, plot=plot)
    _echo(summary.lines()[quiet:])
    _echo(summary.failure_lines(), err=True)
    if summary.failed:
        raise typer.Exit(EXIT_ERROR if strict else EXIT_PARTIAL)


@app.command("run")
def run_job_cmd(
    job: Annotated[Path, typer.Argument(help="A TOML job file (see jobs/).")],
    quiet: QuietOpt = False,
) -> None:
    """Run a declarative job file: featurize, train, evaluate and predict as it says."""
    from .jobs import run_job
    from .progress import ProgressPrinter

    _run(run_job, job, echo=typer.echo, progress_factory=lambda stage: ProgressPrinter(stage, quiet=quiet))


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write.")] = Path("demo-predictions.csv"),
) -> None:
    """Predict the bundled RAVDESS sample clips with the bundled default model."""
    from .demo import demo as _demo

    _echo(_run(_demo, output).lines())


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="An audio file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG to write.")] = Path("inspect.png"),
    feature_set: Annotated[FeatureSet, typer.Option(help="Analysis parameters to show.")] = FeatureSet.EMO,
) -> None:
    """Draw the waveform, spectrograms, chroma, MFCC, zero crossings and spectral shape of one file."""
    from .plots import inspect_file

    typer.echo(f"wrote {_run(inspect_file, file, output, feature_set=feature_set)}")


@app.command()
def report(
    store: Annotated[Path | None, typer.Option(help="Feature store folder (default: ./semo-store if present).")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="Model directory to include.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
) -> None:
    """Write one self-contained HTML report of the dataset and, given one, a model."""
    from .report import build_report

    typer.echo(f"wrote {_run(build_report, store_path=store, model_dir=model_dir, out_html=output)}")


@app.command()
def info(store: StoreOpt = DEFAULT_STORE) -> None:
    """List the feature sets, row counts and recorded failures of a store."""
    from .store import FeatureStore

    _echo(_run(FeatureStore(store).summary).lines())


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - raised outside a library call
        _err("interrupted")
        sys.exit(EXIT_INTERRUPTED)
