"""The ``semo-batch`` command: parse arguments, make one library call, print the result.

Exit codes: 0 all done; 3 done, but some files failed (recorded); 2 usage or
configuration error (bad option, missing folder, bad job file); 1 any other
error (unreadable store, model mismatch, a failure under ``--strict``);
130 interrupted.  Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(
    name="semo-batch",
    help="Batch speech emotion classification: featurize folders into a Parquet store, train, evaluate, predict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class FeatureSetChoice(str, Enum):
    emo = "emo"
    seed = "seed"


class ModelChoice(str, Enum):
    ensemble = "ensemble"
    logreg = "logreg"
    mlp = "mlp"
    svm = "svm"
    dnn = "dnn"
    seed_dnn = "seed-dnn"


class SplitChoice(str, Enum):
    actor = "actor"
    random = "random"
    none = "none"


class CVChoice(str, Enum):
    actor = "actor"
    random = "random"
    holdout = "holdout"


class NormalizeChoice(str, Enum):
    none = "none"
    actor = "actor"
    folder = "folder"
    batch = "batch"


class BackendChoice(str, Enum):
    loky = "loky"
    dask = "dask"


def _factors(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        _err(f"--augment takes comma-separated speed factors such as 0.9,1.1; got {text!r}")
        raise typer.Exit(EXIT_USAGE) from None


def _max_duration(value: float) -> float | None:
    """0 means no limit; negative or NaN is a usage error."""
    if value != value or value < 0:
        _err(f"--max-duration must be a positive number of seconds (0: no limit); got {value}")
        raise typer.Exit(EXIT_USAGE)
    return value or None


def _err(msg: str) -> None:
    typer.echo(f"semo-batch: error: {msg}", err=True)


def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
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


class _Progress:
    """One progress bar (tqdm) on a terminal; a plain line every 10% or 10 s otherwise."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label, self.quiet = label, quiet
        self.bar: Any = None
        self.t0 = time.monotonic()
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=self.label, unit="file", dynamic_ncols=True)
            self.bar.update(done - self.bar.n)
            if done >= total:
                self.bar.close()
            return
        now = time.monotonic()
        step = max(total // 10, 1)
        if done == total or done % step == 0 or now - self.last > 10:
            self.last = now
            rate = done / max(now - self.t0, 1e-9)
            eta = (total - done) / rate if rate > 0 else 0.0
            typer.echo(f"{self.label}: {done}/{total} files, {rate:.1f} files/s, ETA {eta:.0f} s", err=True)


@app.command()
def featurize(
    dirs: Annotated[list[Path], typer.Argument(help="Folders to walk recursively.")],
    store: Annotated[Path, typer.Option(help="Feature store folder.")] = Path("semo-store"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: all cores).")] = 0,
    feature_set: Annotated[FeatureSetChoice, typer.Option(help="Feature set.")] = FeatureSetChoice.emo,
    force: Annotated[bool, typer.Option(help="Recompute files already in the store.")] = False,
    strict: Annotated[bool, typer.Option(help="Stop with an error at the first bad file.")] = False,
    max_duration: Annotated[float, typer.Option(help="Refuse files longer than this (seconds; 0: no limit).")] = 600.0,
    follow_symlinks: Annotated[bool, typer.Option(help="Follow symlinks out of the input folders.")] = False,
    backend: Annotated[BackendChoice, typer.Option(help="Where per-file work runs.")] = BackendChoice.loky,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (with --backend dask).")] = None,
    augment: Annotated[str, typer.Option(help="Also store speed-perturbed copies for training, e.g. '0.9,1.1'.")] = "",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Extract features of every audio file under DIRS into the store (skipping files already there)."""
    from .featurize import featurize as _featurize

    summary = _run(
        _featurize, dirs, store, feature_set=feature_set.value, jobs=jobs or None, force=force, strict=strict,
        max_duration=_max_duration(max_duration), follow_symlinks=follow_symlinks, backend=backend.value,
        scheduler=scheduler, augment=_factors(augment), progress=_Progress("featurize", quiet),
    )
    for line in summary.lines():
        typer.echo(line)
    if summary.failed:
        for path, reason in summary.failures[:10]:
            typer.echo(f"  failed: {path}: {reason}", err=True)
        if summary.failed > 10:
            typer.echo(f"  ... and {summary.failed - 10} more (see {summary.failures_dir})", err=True)
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def train(
    store: Annotated[Path, typer.Option(help="Feature store folder.")] = Path("semo-store"),
    model_dir: Annotated[Path, typer.Option(help="Where to write the model.")] = Path("semo-model"),
    model: Annotated[ModelChoice, typer.Option(help="Model to train.")] = ModelChoice.ensemble,
    feature_set: Annotated[FeatureSetChoice, typer.Option(help="Feature set to train on.")] = FeatureSetChoice.emo,
    split: Annotated[SplitChoice, typer.Option(help="Held-out split: whole actors, stratified random, or none.")] = SplitChoice.actor,
    seed: Annotated[int, typer.Option(help="Random seed (split and model).")] = 0,
    normalize_by: Annotated[NormalizeChoice, typer.Option(help="z-score features per speaker group before training.")] = NormalizeChoice.none,
    augmented: Annotated[bool, typer.Option(help="Train on the store's speed-perturbed rows too, if any.")] = True,
) -> None:
    """Train a model on the store's labelled rows; save it with held-out metrics and plots."""
    from .train import train as _train

    m = _run(
        _train, store, model_dir, model=model.value, feature_set=feature_set.value, split=split.value, seed=seed,
        normalize_by=None if normalize_by is NormalizeChoice.none else normalize_by.value, augmented=augmented,
    )
    if "accuracy" in m:
        typer.echo(f"{m['protocol']}")
        typer.echo(f"accuracy {m['accuracy']:.3f}  UAR {m['uar']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
                   f"Brier {m['brier']:.3f}  ECE {m['ece']:.3f}")
    typer.echo(f"model saved to {model_dir}")


@app.command()
def evaluate(
    store: Annotated[Path, typer.Option(help="Feature store folder.")] = Path("semo-store"),
    model_dir: Annotated[Path, typer.Option(help="Saved model to score (without --cv).")] = Path("semo-model"),
    cv: Annotated[CVChoice | None, typer.Option(help="Cross-validate a model type instead of scoring a saved model.")] = None,
    folds: Annotated[int, typer.Option(help="Folds for --cv.")] = 5,
    model: Annotated[ModelChoice, typer.Option(help="Model type for --cv.")] = ModelChoice.ensemble,
    feature_set: Annotated[FeatureSetChoice, typer.Option(help="Feature set for --cv.")] = FeatureSetChoice.emo,
    normalize_by: Annotated[NormalizeChoice, typer.Option(help="Speaker normalization for --cv.")] = NormalizeChoice.none,
    seed: Annotated[int, typer.Option(help="Random seed for --cv.")] = 0,
    augmented: Annotated[bool, typer.Option(help="With --cv, train folds on speed-perturbed rows too, if any.")] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the full result as JSON.")] = None,
) -> None:
    """Score a saved model on a store, or cross-validate (by actor: speaker-independent)."""
    import json

    if cv is None:
        from .train import evaluate as _evaluate

        r = _run(_evaluate, store, model_dir)
        typer.echo(r["protocol"])
        typer.echo(f"accuracy {r['accuracy']:.3f}  UAR {r['uar']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
                   f"Brier {r['brier']:.3f}  ECE {r['ece']:.3f}")
    else:
        from .train import cross_validate

        r = _run(
            cross_validate, store, model=model.value, feature_set=feature_set.value, cv=cv.value, folds=folds,
            seed=seed, normalize_by=None if normalize_by is NormalizeChoice.none else normalize_by.value,
            augmented=augmented,
        )
        typer.echo(r["protocol"])
        for k in ("accuracy", "uar", "macro_f1", "brier", "ece"):
            typer.echo(f"{k:9s} {r['mean'][k]:.3f} ± {r['std'][k]:.3f}")
        labels = r["labels"]
        typer.echo("pooled confusion matrix (rows: true, columns: predicted)")
        typer.echo(" " * 10 + " ".join(f"{lab[:6]:>6s}" for lab in labels))
        for lab, row in zip(labels, r["confusion_matrix"]):
            typer.echo(f"{lab[:9]:>9s} " + " ".join(f"{v:6d}" for v in row))
    if json_out:
        json_out.write_text(json.dumps(r, indent=1))


@app.command()
def predict(
    dirs: Annotated[list[Path], typer.Argument(help="Folders of audio files (any names).")],
    model_dir: Annotated[
        Path | None, typer.Option(help="Model directory (default: ./semo-model if present, else the bundled model).")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write.")] = Path("predictions.csv"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: all cores).")] = 0,
    normalize_by: Annotated[NormalizeChoice | None, typer.Option(help="Speaker groups, for models trained with normalization.")] = None,
    max_duration: Annotated[float, typer.Option(help="Refuse files longer than this (seconds; 0: no limit).")] = 600.0,
    plot: Annotated[Path | None, typer.Option(help="Also write a PNG of the label distribution and confidences.")] = None,
    strict: Annotated[bool, typer.Option(help="Exit with an error if any file failed.")] = False,
    backend: Annotated[BackendChoice, typer.Option(help="Where per-file work runs.")] = BackendChoice.loky,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (with --backend dask).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Label every audio file under DIRS and write one CSV row per file."""
    from .predict import predict_folders, write_csv

    if model_dir is None:
        from .resources import default_model_dir

        model_dir = Path("semo-model") if Path("semo-model", "model.json").is_file() else default_model_dir()
        if not quiet:
            typer.echo(f"model: {model_dir}", err=True)
    if not quiet:
        from .models import describe_model

        typer.echo(_run(describe_model, model_dir), err=True)
    df = _run(
        predict_folders, dirs, model_dir, jobs=jobs or None,
        normalize_by=normalize_by.value if normalize_by else None, max_duration=_max_duration(max_duration),
        backend=backend.value, scheduler=scheduler, progress=_Progress("predict", quiet),
    )
    write_csv(df, output)
    n_err = int((df["error"] != "").sum())
    typer.echo(f"{df.height} files, {df.height - n_err} predicted, {n_err} failed -> {output}")
    if plot is not None:
        from .plots import plot_predictions

        plot_predictions(df.filter(df["error"] == ""), plot)
        typer.echo(f"plot -> {plot}")
    if n_err:
        raise typer.Exit(EXIT_ERROR if strict else EXIT_PARTIAL)


@app.command("run")
def run_job_cmd(
    job: Annotated[Path, typer.Argument(help="A TOML job file (see jobs/).")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Run a declarative job file: featurize, train, evaluate and predict as it says."""
    from .jobs import run_job

    _run(run_job, job, echo=typer.echo, progress_factory=lambda stage: _Progress(stage, quiet))


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write.")] = Path("demo-predictions.csv"),
) -> None:
    """Predict the bundled RAVDESS sample clips with the bundled default model."""
    from .naming import parse_ravdess
    from .predict import predict_folders, write_csv
    from .resources import default_model_dir, sample_dir

    df = _run(predict_folders, [sample_dir()], default_model_dir(), jobs=1)
    write_csv(df, output)
    hits = 0
    typer.echo(f"{'file':28s} {'true':10s} {'predicted':10s} confidence")
    for row in df.iter_rows(named=True):
        name = Path(row["path"]).name
        fields = parse_ravdess(name)
        truth = fields["emotion"] if fields else "?"
        hits += truth == row["emotion"]
        typer.echo(f"{name:28s} {truth:10s} {row['emotion'] or row['error']:10s} {row['confidence'] or 0:.2f}")
    typer.echo(f"{hits}/{df.height} correct (these clips' actors were in the model's training data) -> {output}")


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="An audio file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG to write.")] = Path("inspect.png"),
    feature_set: Annotated[FeatureSetChoice, typer.Option(help="Analysis parameters to show.")] = FeatureSetChoice.emo,
) -> None:
    """Draw the waveform, spectrograms, chroma, MFCC, zero crossings and spectral shape of one file."""
    from .plots import inspect_file

    _run(inspect_file, file, output, feature_set=feature_set.value)
    typer.echo(f"wrote {output}")


@app.command()
def report(
    store: Annotated[Path | None, typer.Option(help="Feature store folder (default: ./semo-store if present).")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="Model directory to include.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
) -> None:
    """Write one self-contained HTML report of the dataset and, given one, a model."""
    from .report import build_report

    if store is None and (model_dir is None or Path("semo-store").is_dir()):
        store = Path("semo-store")

    _run(build_report, store_path=store, model_dir=model_dir, out_html=output)
    typer.echo(f"wrote {output}")


@app.command()
def info(store: Annotated[Path, typer.Option(help="Feature store folder.")] = Path("semo-store")) -> None:
    """List the feature sets, row counts and recorded failures of a store."""
    from .store import FeatureStore

    fs = FeatureStore(store)
    if not fs.path.is_dir():
        _err(f"{fs.path}: no such store")
        raise typer.Exit(EXIT_ERROR)
    from .config import FeatureConfig

    for d in fs.datasets():
        config = FeatureConfig.from_dict(d["config"])
        n = _run(lambda c=config: fs.scan(c).select("path").collect().height)
        typer.echo(f"{d['feature_set']:6s} {d['fingerprint']}  {n} files in {d['chunks']} chunks  {d['folder']}")
    fails = fs.failures()
    typer.echo(f"{fails.height} files with a recorded failure")
    for row in fails.head(20).iter_rows(named=True):
        typer.echo(f"  {row['path']}: {row['reason']}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - raised outside a library call
        _err("interrupted")
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    main()
