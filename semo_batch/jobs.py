"""Declarative TOML job files: featurize -> train -> evaluate -> predict in one command.

A job file has any of the sections ``[featurize]``, ``[train]``, ``[evaluate]``
and ``[predict]``; each takes the keyword arguments of the library function of
the same name.  Relative paths are relative to the job file's folder, and
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

import tomllib

from .errors import ConfigError

__all__ = ["load_job", "run_job", "SECTIONS"]

SECTIONS = ("job", "featurize", "train", "evaluate", "predict")
_ALLOWED: dict[str, set[str]] = {
    "job": {"name", "description"},
    "featurize": {"inputs", "store", "feature_set", "jobs", "force", "max_duration", "follow_symlinks", "backend",
                  "augment"},
    "train": {"store", "model_dir", "model", "feature_set", "split", "seed", "test_size", "normalize_by", "params",
              "augmented"},
    "evaluate": {"store", "model_dir", "cv", "folds", "model", "feature_set", "seed", "normalize_by", "params",
                 "output", "grid", "augmented"},
    "predict": {"inputs", "model_dir", "output", "jobs", "normalize_by", "max_duration"},
}
_PATH_KEYS = {"inputs", "store", "model_dir", "output"}


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


def run_job(path: str | os.PathLike[str], *, echo: Callable[[str], None] = print,
            progress_factory: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Run the sections of a job file in pipeline order; returns each section's result."""
    from .featurize import featurize
    from .predict import predict_folders, write_csv
    from .train import cross_validate, evaluate, train

    job = load_job(path)
    results: dict[str, Any] = {}
    fset = job.get("featurize", {}).get("feature_set")
    store = job.get("featurize", {}).get("store")

    def prog(stage: str) -> Any:
        return progress_factory(stage) if progress_factory else None

    if "featurize" in job:
        kw = dict(job["featurize"])
        inputs = kw.pop("inputs")
        kw["augment"] = tuple(kw.get("augment", ()))
        store_path = kw.pop("store", "semo-store")
        sets = kw.pop("feature_set", None) or "emo"
        summaries = []
        for one in [sets] if isinstance(sets, str) else list(sets):
            s = featurize(inputs, store_path, feature_set=one, progress=prog(f"featurize {one}"), **kw)
            for line in s.lines():
                echo(line)
            summaries.append(s)
        results["featurize"] = summaries
        if not isinstance(sets, str):
            fset = None
    if "train" in job:
        kw = {"store": store, "feature_set": fset} | job["train"]
        kw = {k: v for k, v in kw.items() if v is not None}
        m = train(**kw)
        if m.get("accuracy") is not None:
            echo(f"train: {m['protocol']}: accuracy {m['accuracy']:.3f}, UAR {m['uar']:.3f}, macro-F1 {m['macro_f1']:.3f}")
        else:
            echo(f"train: model on all {m['rows_train']} labelled rows saved to {kw.get('model_dir', 'semo-model')}")
        results["train"] = m
    if "evaluate" in job:
        kw = {"store": store, "feature_set": fset} | job["evaluate"]
        kw = {k: v for k, v in kw.items() if v is not None}
        output = kw.pop("output", None)
        if "cv" in kw:
            kw.pop("model_dir", None)
            grid = kw.pop("grid", None)
            if grid:
                from .results import results_table

                r = results_table(kw.pop("store"), grid=[tuple(g) for g in grid], folds=kw.get("folds", 5),
                                  seed=kw.get("seed", 0), echo=echo)
                if output:
                    Path(output).with_suffix(".md").write_text(r["markdown"])
            else:
                r = cross_validate(**kw)
                m = r["mean"]
                echo(f"evaluate: {r['protocol']}: accuracy {m['accuracy']:.3f} ± {r['std']['accuracy']:.3f}, "
                     f"UAR {m['uar']:.3f}, macro-F1 {m['macro_f1']:.3f}")
        else:
            kw.pop("feature_set", None)
            r = evaluate(kw.get("store", "semo-store"), kw.get("model_dir", "semo-model"),
                         normalize_by=kw.get("normalize_by"))
            echo(f"evaluate: {r['protocol']}: accuracy {r['accuracy']:.3f}")
        if output:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_text(json.dumps(r, indent=1, default=str))
        results["evaluate"] = r
    if "predict" in job:
        kw = dict(job["predict"])
        inputs = kw.pop("inputs")
        output = kw.pop("output", "predictions.csv")
        df = predict_folders(inputs, kw.pop("model_dir", "semo-model"), progress=prog("predict"), **kw)
        write_csv(df, output)
        n_err = int((df["error"] != "").sum())
        echo(f"predict: {df.height} files, {n_err} failed -> {output}")
        results["predict"] = df
    return results
