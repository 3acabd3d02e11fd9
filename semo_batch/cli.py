"""The ``semo-batch`` command: parse arguments, make one library call, print the result.

Errors are one line on stderr and the exit codes are those of :mod:`semo_batch.console`
(0 done, 1 runtime error, 2 usage or unusable input, 3 some files failed, 4 no audio, 130 interrupted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from . import cli_args as opts
from .choices import CVProtocol, FeatureSet, ModelName, NormalizeBy, Scheme, Split
from .console import OneLineErrors, call, echo, finish_batch
from .paths import DEFAULT_MODEL_DIR, DEFAULT_STORE

app = typer.Typer(name="semo-batch", cls=OneLineErrors, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None)


@app.callback()
def _main(version: opts.Version = False) -> None:
    """Batch speech emotion classification: featurize folders into a Parquet store, train, evaluate, predict.

    Exit codes: 0 done, 1 runtime error, 2 usage error or a missing or unusable input, 3 some files failed
    (recorded), 4 no audio file found, 130 interrupted."""


@app.command()
def featurize(
    inputs: Annotated[list[Path], typer.Argument(metavar="INPUT", help="Folders (walked recursively) or files, one or more.")],
    store: opts.Store = DEFAULT_STORE,
    jobs: opts.Jobs = 0,
    feature_set: Annotated[FeatureSet, typer.Option(help="Feature set.")] = FeatureSet.EMO,
    force: Annotated[bool, opts.flag("--force", help="Recompute files already in the store.")] = False,
    strict: Annotated[bool, opts.flag("--strict", help="Stop with an error at the first bad file.")] = False,
    max_duration: Annotated[float | None, typer.Option(metavar="SECONDS", click_type=opts.Number(float, 0), help="Refuse longer files (0: no limit; default: 600 for whole files, none with --segment).")] = None,
    follow_symlinks: Annotated[bool, opts.flag("--follow-symlinks", help="Follow symlinks out of the inputs.")] = False,
    backend: opts.BackendChoice = opts.LOCAL_BACKEND,
    scheduler: opts.Scheduler = None,
    augment: Annotated[str, typer.Option(metavar="FACTORS", help="Also store speed-perturbed copies, e.g. 0.9,1.1.")] = "",
    channel_copies: Annotated[int, typer.Option(metavar="N", click_type=opts.Number(int, 0), help="Also store N copies through random channels.")] = 0,
    scheme: Annotated[Scheme, typer.Option(help="How labels are read from file names.")] = Scheme.AUTO,
    labels: Annotated[Path | None, typer.Option(metavar="CSV", help="Labels: path,emotion[,speaker][,corpus].")] = None,
    segment: Annotated[str | None, typer.Option(metavar="auto|fixed:S", help="A row per segment of each recording.")] = None,
    quiet: opts.Quiet = False,
) -> None:
    """Extract features of audio files into a store.

    Every audio file under INPUT, skipping files already stored unchanged.

    \b
    Examples:
      semo-batch featurize /data/ravdess --jobs 8
      semo-batch featurize /data/ravdess --augment 0.9,1.1 --feature-set whisper
      semo-batch featurize clips/ --labels labels.csv --store my-store
    """
    from .forkpool import single_blas_thread

    single_blas_thread()  # before numpy's import
    from .featurize import featurize as _featurize
    from .featurize import parse_factors
    limit = max_duration if max_duration is not None else 0.0 if segment not in (None, "none") else 600.0
    run = opts.run_options("featurize", jobs=jobs, quiet=quiet, max_duration=limit, backend=backend, scheduler=scheduler, follow_symlinks=follow_symlinks)
    summary = call(_featurize, inputs, store, feature_set=feature_set, options=run, force=force, strict=strict,
                   augment=call(parse_factors, augment), channel_copies=channel_copies, scheme=scheme, labels=labels,
                   segment=segment)
    finish_batch(summary, inputs, found=summary.found)


@app.command()
def train(
    store: opts.Stores = [DEFAULT_STORE],  # noqa: B006 - typer reads the default, never mutates it
    model_dir: Annotated[Path, typer.Option(metavar="DIR", help="Where to write the model.")] = DEFAULT_MODEL_DIR,
    model: Annotated[ModelName, typer.Option(help="Model to train.")] = ModelName.ENSEMBLE,
    feature_set: Annotated[FeatureSet, typer.Option(help="Feature set to train on.")] = FeatureSet.EMO,
    split: Annotated[Split, typer.Option(help="Held out: whole actors, a stratified random 20%, or nothing.")] = Split.ACTOR,
    seed: opts.Seed = 0,
    normalize_by: Annotated[NormalizeBy, typer.Option(help="z-score features per speaker group.")] = NormalizeBy.NONE,
    no_augmented: Annotated[bool, opts.flag("--no-augmented", help="Leave the store's perturbed copies out.")] = False,
) -> None:
    """Train a model on a store; save it with held-out scores.

    Trains on the labelled rows; writes the model folder with metrics and plots.

    \b
    Examples:
      semo-batch train
      semo-batch train --model logreg --feature-set whisper --store a --store b
      semo-batch train --normalize-by actor --split none --model-dir final-model
    """
    from .plots import save_model_figures
    from .train import train as _train
    result = call(_train, store, model_dir, model=model, feature_set=feature_set, split=split, seed=seed,
                  normalize_by=normalize_by, augmented=not no_augmented)
    call(save_model_figures, result.model_dir, result.scores, result.history)
    echo(result.lines())


@app.command()
def evaluate(
    store: opts.Stores = [DEFAULT_STORE],  # noqa: B006
    model_dir: opts.ModelDir = DEFAULT_MODEL_DIR,
    include_training: Annotated[bool, opts.flag("--include-training", help="Score the model's training rows too (not held out).")] = False,
    cv: Annotated[CVProtocol | None, typer.Option(help="Cross-validate a model type instead of scoring a saved model.")] = None,
    folds: Annotated[int, typer.Option(metavar="N", click_type=opts.Number(int, 2), help="Folds for --cv (2 or more).")] = 5,
    model: Annotated[ModelName, typer.Option(help="Model type for --cv.")] = ModelName.ENSEMBLE,
    feature_set: Annotated[FeatureSet, typer.Option(help="Feature set for --cv.")] = FeatureSet.EMO,
    normalize_by: Annotated[NormalizeBy, typer.Option(help="Speaker normalization for --cv.")] = NormalizeBy.NONE,
    seed: opts.Seed = 0,
    no_augmented: Annotated[bool, opts.flag("--no-augmented", help="With --cv, train folds without perturbed copies.")] = False,
    test_corpus: Annotated[str | None, typer.Option(metavar="NAME", help="With --cv, test this corpus only.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", metavar="FILE", callback=opts.writable, help="Also write the result as JSON.")] = None,
) -> None:
    """Score a saved model on held-out rows, or cross-validate.

    Without --cv: the rows the model did not train on. --cv actor: by speaker.

    \b
    Examples:
      semo-batch evaluate
      semo-batch evaluate --cv actor --folds 5 --model logreg
      semo-batch evaluate --cv actor --store s1 --store s2 --test-corpus crema-d
    """
    if cv is None:
        from .evaluate import evaluate as _evaluate
        r: Any = call(_evaluate, store, model_dir, include_training=include_training)
        echo([r.warning] if r.warning else [], err=True)
    else:
        from .evaluate import cross_validate
        from .progress import ProgressPrinter
        r = call(cross_validate, store, model=model, feature_set=feature_set, cv=cv, folds=folds, seed=seed,
                 normalize_by=normalize_by, augmented=not no_augmented, test_corpus=test_corpus,
                 progress=ProgressPrinter("evaluate --cv", unit="fold"))
    echo(r.lines())
    if json_out:
        call(json_out.write_text, json.dumps(r.to_dict(), indent=1))


@app.command()
def predict(
    inputs: Annotated[list[Path], typer.Argument(metavar="INPUT", help="Audio files, or folders of them (any names), one or more.")],
    model_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Model folder (default: ./semo-model, else the bundled one).")] = None,
    output: opts.Out = Path("predictions.csv"),
    jobs: opts.Jobs = 0,
    normalize_by: Annotated[NormalizeBy, typer.Option(help="Speaker groups, for normalized models.")] = NormalizeBy.NONE,
    segment: Annotated[str | None, typer.Option(metavar="auto|none|fixed:S", help="How recordings are cut (default: as the model's rows were, else auto).")] = None,
    summary_csv: Annotated[Path | None, typer.Option("--summary", metavar="CSV", callback=opts.writable, help="Also one row per file.")] = None,
    max_duration: opts.MaxDur = 0.0,
    plot: Annotated[Path | None, typer.Option(metavar="PNG", help="Also draw labels, confidences and timelines.")] = None,
    strict: Annotated[bool, opts.flag("--strict", help="Exit 1 if any file failed.")] = False,
    backend: opts.BackendChoice = opts.LOCAL_BACKEND,
    scheduler: opts.Scheduler = None,
    quiet: opts.Quiet = False,
) -> None:
    """Label audio files; one CSV row per segment.

    A clip of a few seconds is one segment; a long recording is cut at pauses into
    utterances of 1-8 s (--segment auto), each labelled (path, start, end, ...).

    \b
    Examples:
      semo-batch predict /new/clips -o out.csv
      semo-batch predict call1.wav call2.flac -o calls.csv
      semo-batch predict interview.flac --summary per-file.csv --plot t.png
    """
    from .predict import predict_to_csv
    run = opts.run_options("predict", jobs=jobs, quiet=quiet, max_duration=max_duration, backend=backend, scheduler=scheduler)
    summary = call(predict_to_csv, inputs, output, model_dir=model_dir, normalize_by=normalize_by, options=run, plot=plot,
                   summary=summary_csv, segment=segment)
    finish_batch(summary, inputs, found=summary.files, strict=strict, quiet=quiet)


@app.command("run")
def run_job_cmd(job: Annotated[Path, typer.Argument(metavar="JOB.toml", help="A job file.")], quiet: opts.Quiet = False) -> None:
    """Run a TOML job file: featurize, train, evaluate, predict.

    Its sections run in that order, each with the options of the command of that
    name (with underscores); relative paths are relative to the job file.

    \b
    Example job file:
      [featurize]
      inputs = ["/data/ravdess"]
      [train]
      model = "logreg"
    """
    from .jobs import run_job
    from .progress import ProgressPrinter
    call(run_job, job, echo=typer.echo, progress_factory=lambda stage: ProgressPrinter(stage, quiet=quiet))


@app.command()
def demo(output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Also write the predictions as CSV.")] = None) -> None:
    """Label the bundled sample clips with the bundled model.

    Examples: semo-batch demo, or semo-batch demo -o demo.csv to keep the CSV."""
    from .demo import demo as _demo
    echo(call(_demo, output).lines())


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="An audio file.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="PNG", help="Picture to write.")] = Path("inspect.png"),
    feature_set: Annotated[FeatureSet, typer.Option(help="Analysis parameters to show.")] = FeatureSet.EMO,
) -> None:
    """Draw one file's waveform, spectrograms and features.

    Waveform, linear and mel spectrograms, chroma, MFCC, zero crossings, centroid
    and roll-off, F0.

    Example: semo-batch inspect clip.wav -o clip.png"""
    from .errors import AudioError
    from .plots import inspect_file
    typer.echo(f"wrote {call(inspect_file, file, output, feature_set=feature_set, input_errors=(AudioError,))}")


@app.command()
def report(
    store: Annotated[Path | None, typer.Option(metavar="DIR", help="Feature store (default: ./semo-store if present).")] = None,
    model_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Model folder to include.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="HTML", help="Report to write.")] = Path("report.html"),
) -> None:
    """Write an HTML report of a store and a model. One self-contained file.

    Example: semo-batch report --model-dir semo-model -o report.html"""
    from .report import build_report
    typer.echo(f"wrote {call(build_report, store_path=store, model_dir=model_dir, out_html=output)}")


@app.command()
def info(store: opts.Store = DEFAULT_STORE) -> None:
    """Count a store's rows and failures per feature set.

    Example: semo-batch info --store semo-store"""
    from .store import FeatureStore
    echo(call(FeatureStore(store).summary).lines())


@app.command()
def compact(store: opts.Store = DEFAULT_STORE) -> None:
    """Rewrite a store without superseded rows. Atomic: a kill loses nothing.

    Example: semo-batch compact --store semo-store"""
    from .compact import compact as _compact
    echo(call(_compact, store).lines())

