"""Declarative TOML job files: featurize -> train -> evaluate -> predict in one command.

A job file has any of the sections ``[featurize]``, ``[train]``, ``[evaluate]``,
``[corpus_table]``, ``[robustness]`` and ``[predict]``, run in that order; each takes
the keyword arguments of the library function of the same name
(:func:`~semo_batch.results.corpus_table`, :func:`~semo_batch.robustness.evaluate_channels`).  Relative paths are relative to the job file's folder, and
``${VAR}`` expands environment variables.  Example (``jobs/seed-notebook.toml``)::

    [featurize]
    inputs = ["../../shared/datasets/ravdess-speech"]
    store = "../out/seed-notebook/store"
    feature_set = "seed"

    [train]
    model = "seed-dnn"
    split = "random"
    seed = 0
    model_dir = "../out/seed-notebook/model"
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from .config import DEFAULT_FEATURE_SET
from .errors import ConfigError
from .options import RunOptions
from .paths import DEFAULT_MODEL_DIR, DEFAULT_STORE

__all__ = ["load_job", "run_job", "SECTIONS"]

SECTIONS = ("job", "featurize", "train", "evaluate", "corpus_table", "robustness", "predict")
_ALLOWED: dict[str, set[str]] = {
    "job": {"name", "description"},
    "featurize": {"inputs", "store", "feature_set", "jobs", "force", "max_duration", "follow_symlinks", "backend",
                  "augment", "channel_copies", "scheme", "labels", "segment"},
    "train": {"store", "model_dir", "model", "feature_set", "split", "seed", "test_size", "normalize_by", "params",
              "augmented", "balance_corpora"},
    "evaluate": {"store", "model_dir", "cv", "folds", "model", "feature_set", "seed", "normalize_by", "params",
                 "output", "grid", "augmented", "test_corpus", "balance_corpora"},
    "corpus_table": {"store", "corpora", "grid", "normalizations", "cross_normalizations", "folds", "seed", "output",
                     "crema_d_perceived"},
    "robustness": {"model_dir", "channels", "jobs", "output"},
    "predict": {"inputs", "model_dir", "output", "jobs", "normalize_by", "max_duration", "segment", "summary", "plot"},
}
_PATH_KEYS = {"inputs", "store", "model_dir", "output", "labels", "crema_d_perceived"}


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, list):
        return [_resolve(v, base) for v in value]
    p = Path(os.path.expandvars(str(value))).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def load_job(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Parse and check a job file; paths come back absolute.

    Raises:
        ConfigError: unreadable TOML, an unknown section or key, with the file named.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such job file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    job: dict[str, dict[str, Any]] = {}
    base = path.resolve().parent
    for section, body in raw.items():
        if section not in _ALLOWED:
            raise ConfigError(f"{path}: unknown section [{section}]; known: {', '.join(SECTIONS)}")
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        unknown = set(body) - _ALLOWED[section]
        if unknown:
            raise ConfigError(f"{path}: unknown keys in [{section}]: {sorted(unknown)}; known: {sorted(_ALLOWED[section])}")
        job[section] = {k: (_resolve(v, base) if k in _PATH_KEYS else v) for k, v in body.items()}
    if not set(job) - {"job"}:
        raise ConfigError(f"{path}: nothing to do (no [featurize], [train], [evaluate] or [predict] section)")
    return job


_RUN_OPTION_KEYS = ("jobs", "max_duration", "follow_symlinks", "backend")


def _split_options(kw: dict[str, Any], progress: Any) -> RunOptions:
    """Take the run options out of a section's keys (all cores unless the job says otherwise, like the CLI)."""
    given = {k: kw.pop(k) for k in _RUN_OPTION_KEYS if k in kw}
    return RunOptions(**({"jobs": 0} | given), progress=progress)


def _write_outputs(output: str | None, data: Any, markdown: str) -> None:
    """``output`` as JSON (when there is data) and its ``.md`` twin."""
    if not output:
        return
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if data is not None:
        out.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str))
    out.with_suffix(".md").write_text(markdown)


def run_job(path: str | os.PathLike[str], *, echo: Callable[[str], None] = print,
            progress_factory: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Run the sections of a job file in pipeline order; returns each section's result."""
    from .evaluate import cross_validate, evaluate
    from .featurize import featurize
    from .naming import read_crema_d_perceived
    from .plots import save_model_figures
    from .predict import predict_to_csv
    from .results import corpus_table, results_table
    from .robustness import evaluate_channels
    from .train import train

    job = load_job(path)
    from .models.registry import check_available

    for section in ("train", "evaluate"):  # a missing extra is one line before any featurizing
        if "model" in job.get(section, {}):
            check_available(job[section]["model"])
    results: dict[str, Any] = {}
    fset = job.get("featurize", {}).get("feature_set")
    store = job.get("featurize", {}).get("store")

    def prog(stage: str) -> Any:
        return progress_factory(stage) if progress_factory else None

    if "featurize" in job:
        kw = dict(job["featurize"])
        inputs = kw.pop("inputs")
        kw["augment"] = tuple(kw.get("augment", ()))
        store_path = kw.pop("store", DEFAULT_STORE)
        sets = kw.pop("feature_set", None) or DEFAULT_FEATURE_SET
        summaries = []
        for one in [sets] if isinstance(sets, str) else list(sets):
            opts = _split_options(dict(kw), prog(f"featurize {one}"))
            s = featurize(inputs, store_path, feature_set=one, options=opts,
                          **{k: v for k, v in kw.items() if k not in _RUN_OPTION_KEYS})
            for line in s.lines():
                echo(line)
            summaries.append(s)
        results["featurize"] = summaries
        if not isinstance(sets, str):
            fset = None
    if "train" in job:
        kw = {"store": store, "feature_set": fset} | job["train"]
        t = train(**{k: v for k, v in kw.items() if v is not None})
        save_model_figures(t.model_dir, t.scores, t.history)
        for line in t.lines():
            echo(f"train: {line}")
        results["train"] = t
    if "evaluate" in job:
        kw = {"store": store, "feature_set": fset} | job["evaluate"]
        kw = {k: v for k, v in kw.items() if v is not None}
        output = kw.pop("output", None)
        r: Any
        if "cv" in kw:
            kw.pop("model_dir", None)
            grid = kw.pop("grid", None)
            if grid:
                r = results_table(kw.pop("store"), grid=[tuple(g) for g in grid], folds=kw.get("folds", 5),
                                  seed=kw.get("seed", 0), echo=echo)
                if output:
                    Path(output).parent.mkdir(parents=True, exist_ok=True)
                    Path(output).with_suffix(".md").write_text(r.markdown)
            else:
                r = cross_validate(**kw)
                echo(f"evaluate: {r.protocol}: accuracy {r.summary('accuracy')}, UAR {r.mean['uar']:.3f}, "
                     f"macro-F1 {r.mean['macro_f1']:.3f}")
        else:
            r = evaluate(kw.get("store", DEFAULT_STORE), kw.get("model_dir", DEFAULT_MODEL_DIR),
                         normalize_by=kw.get("normalize_by"))
            echo(f"evaluate: {r.protocol}: accuracy {r.scores.accuracy:.3f}")
        if output:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_text(json.dumps(r.to_dict(), indent=1, default=str))
        results["evaluate"] = r
    if "corpus_table" in job:
        kw = {"store": store} | job["corpus_table"]
        output = kw.pop("output", None)
        if "crema_d_perceived" in kw:
            kw["listeners"] = {"crema-d": read_crema_d_perceived(kw.pop("crema_d_perceived"))}
        table = corpus_table(**{k: v for k, v in kw.items() if v is not None}, echo=echo)
        _write_outputs(output, table.to_dict(), table.markdown)
        results["corpus_table"] = table
    if "robustness" in job:
        kw = {"model_dir": job.get("train", {}).get("model_dir")} | job["robustness"]
        output = kw.pop("output", None)
        opts = _split_options(kw, prog("robustness"))
        rob = evaluate_channels(options=opts, **{k: v for k, v in kw.items() if v is not None})
        for line in rob.lines():
            echo(line)
        _write_outputs(output, None, rob.markdown())
        results["robustness"] = rob
    if "predict" in job:
        kw = dict(job["predict"])
        inputs = kw.pop("inputs")
        opts = _split_options({"max_duration": None} | kw, prog("predict"))  # as the CLI: no default limit
        p = predict_to_csv(inputs, kw.pop("output", "predictions.csv"), options=opts, **kw)
        echo(f"predict: {p.files} files, {p.failed} failed -> {p.output}")
        results["predict"] = p
    return results
