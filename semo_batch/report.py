"""The HTML report: one self-contained file about a feature store and a model.

The file embeds its figures as base64 PNG data URIs and its style inline; it
loads nothing (no scripts, fonts or style sheets from elsewhere), so it can be
mailed, archived or opened offline.  Every string that comes from data (file
names, failure reasons, labels) is HTML-escaped.

A model directory (as :func:`semo_batch.train.train` writes it) is read for
``metrics.json`` (``accuracy``, ``uar``, ``macro_f1``, ``brier``, ``ece``,
``n``, ``protocol``, ``labels``, ``confusion_matrix`` and a scikit-learn style
``report``), ``history.json`` (per-epoch lists), ``model.json`` (``model``,
``feature_set``, ``fingerprint``, ...) and ``split.json`` (the actors on each
side); each is optional, and a missing or unreadable piece becomes a note in
the report instead of an error.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import FeatureConfig
from .errors import ConfigError, ModelError, StoreError
from .naming import EMOTIONS, RAVDESS_COLUMNS
from .store import FeatureStore

__all__ = ["MAX_FAILURE_ROWS", "build_report"]

#: Failures listed in the report; the rest are counted.
MAX_FAILURE_ROWS = 200

#: Store columns the overview reads (never the features themselves).
_OVERVIEW_COLUMNS = ("path", "relpath", "sample_rate", "channels", "duration", *RAVDESS_COLUMNS)

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1200px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0 1em; }
.note { color: #8a5a00; background: #fff7e0; border-left: 3px solid #e0a800; padding: 0.4em 0.8em; }
.muted { color: #666; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
"""


def _e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _facts(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of named values."""
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _img(fig: Any, alt: str) -> str:
    from .plots import png_bytes

    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _fmt(x: Any, digits: int = 3) -> str:
    if isinstance(x, bool) or x is None:
        return "" if x is None else str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


# -- the store ---------------------------------------------------------------------------------
def _count_rows(values: Iterable[Any], order: Sequence[str] | None = None) -> list[tuple[str, int, str]]:
    c = Counter("unknown" if v is None else str(v) for v in values)
    total = sum(c.values()) or 1
    keys = list(order or []) + sorted(set(c) - set(order or []))
    return [(k, c[k], f"{c[k] / total:.1%}") for k in keys if k in c]


def _dataset_section(store: FeatureStore, dataset: Mapping[str, Any]) -> str:
    from .plots import dataset_overview_figure

    name = dataset.get("feature_set", "?")
    fp = dataset.get("fingerprint", "?")
    parts = [f"<h2>Dataset: feature set {_e(name)} <span class=\"muted\">({_e(fp)})</span></h2>"]
    try:
        config = FeatureConfig.from_dict(dataset["config"])
        df = store.collect(store.scan(config).select(list(_OVERVIEW_COLUMNS)))
    except (KeyError, TypeError, ConfigError, StoreError) as exc:
        return "".join(parts) + _note(f"these rows could not be read: {exc}")
    n = df.height
    durations = [d for d in df["duration"].to_list() if d is not None]
    total_s = float(sum(durations))
    n_actors = df["actor"].drop_nulls().n_unique()
    summary = [
        ("files", f"{n:,}"),
        ("audio", f"{total_s / 3600:.2f} h ({total_s:,.0f} s)"),
        ("actors", str(n_actors)),
        ("feature columns", str(len(dataset.get("feature_columns", [])))),
        ("chunks", str(dataset.get("chunks", ""))),
        ("written by", f"semo-batch {dataset.get('semo_batch_version', '?')}"),
        ("folder", str(dataset.get("folder", ""))),
    ]
    parts.append(_facts(summary))
    params = ", ".join(f"{k}={v}" for k, v in (dataset.get("config") or {}).items())
    parts.append(f"<p class=\"muted\">Parameters: <code>{_e(params)}</code></p>")
    if n == 0:
        return "".join(parts) + _note("no rows")
    parts.append(_img(dataset_overview_figure(df), f"overview of feature set {name}"))
    parts.append("<h3>Files per emotion</h3>")
    parts.append(_table(("emotion", "files", "share"), _count_rows(df["emotion"].to_list(), EMOTIONS), numeric=(1, 2)))
    parts.append("<h3>Files per intensity</h3>")
    parts.append(
        _table(("intensity", "files", "share"), _count_rows(df["intensity"].to_list(), ("normal", "strong")),
               numeric=(1, 2))
    )
    return "".join(parts)


def _failures_section(store: FeatureStore) -> str:
    parts = ["<h2>Failures</h2>"]
    try:
        df = store.failures()
    except Exception as exc:  # noqa: BLE001 - a damaged failures chunk must not hide the rest of the report
        return "".join(parts) + _note(f"the failure records could not be read: {exc}")
    if df.height == 0:
        return "".join(parts) + "<p>No failures recorded.</p>"
    cols = [c for c in ("path", "reason", "feature_set") if c in df.columns]
    parts.append(f"<p>{df.height:,} file(s) could not be featurized.</p>")
    rows = df.select(cols).head(MAX_FAILURE_ROWS).iter_rows()
    parts.append(_table([c.replace("_", " ") for c in cols], rows))
    if df.height > MAX_FAILURE_ROWS:
        parts.append(f"<p class=\"muted\">... and {df.height - MAX_FAILURE_ROWS:,} more.</p>")
    return "".join(parts)


def _store_sections(store_path: str | os.PathLike[str]) -> str:
    store = FeatureStore(store_path)
    if not store.path.is_dir():
        raise StoreError(f"{store.path}: no feature store here; create one with `semo-batch featurize DIR --store {store.path}`")
    datasets = store.datasets()
    parts = []
    if not datasets:
        parts.append("<h2>Dataset</h2>" + _note("the store holds no featurized rows yet"))
    for d in datasets:
        parts.append(_dataset_section(store, d))
    parts.append(_failures_section(store))
    return "".join(parts)


# -- the model ---------------------------------------------------------------------------------
def _read_json(path: Path, notes: list[str]) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        notes.append(f"{path.name} could not be read: {exc}")
        return None


def _model_section(model_dir: str | os.PathLike[str]) -> str:
    from .plots import confusion_matrix_figure, per_class_figure, training_curves_figure

    d = Path(model_dir).expanduser()
    if not d.is_dir():
        raise ModelError(f"{d}: no model directory here (expected a folder written by `semo-batch train`)")
    notes: list[str] = []
    info, metrics, history, split = (
        _read_json(d / name, notes) for name in ("model.json", "metrics.json", "history.json", "split.json")
    )
    info = info if isinstance(info, Mapping) else {}
    metrics = metrics if isinstance(metrics, Mapping) else {}
    history = history if isinstance(history, Mapping) else {}
    split = split if isinstance(split, Mapping) else {}

    title = info.get("model") or d.name
    parts = [f"<h2>Model: {_e(title)}</h2>"]
    facts: list[tuple[str, Any]] = [("directory", str(d.absolute()))]
    for key, label in (
        ("model", "model"), ("feature_set", "feature set"), ("fingerprint", "feature fingerprint"),
        ("normalize_by", "normalized by"), ("seed", "seed"), ("semo_batch_version", "trained with semo-batch"),
    ):
        if info.get(key) is not None:
            facts.append((label, info[key]))
    for key, label in (("train_speakers", "training speakers"), ("test_speakers", "held-out speakers"),
                       ("train_actors", "training actors"), ("test_actors", "held-out actors")):
        if isinstance(split.get(key), list) and split[key]:
            facts.append((label, ", ".join(str(a) for a in split[key])))
    if metrics.get("protocol") is not None:
        facts.append(("protocol", metrics["protocol"]))
    if isinstance(metrics.get("n"), int):
        facts.append(("held-out files", metrics["n"]))
    for key, label in (
        ("accuracy", "accuracy"), ("uar", "UAR (macro recall)"), ("macro_f1", "macro F1"),
        ("brier", "Brier score"), ("ece", "expected calibration error"),
    ):
        if isinstance(metrics.get(key), (int, float)):
            facts.append((label, f"{float(metrics[key]):.3f}"))
    parts.append(_facts(facts))
    parts.extend(_note(t) for t in notes)
    if not metrics:
        parts.append(_note(f"no metrics.json in {d}: the model was saved without an evaluation"))

    report = metrics.get("report")
    if isinstance(report, Mapping):
        rows = []
        for label, v in report.items():
            if isinstance(v, Mapping):
                f1 = v.get("f1-score", v.get("f1"))
                rows.append((label, _fmt(v.get("precision")), _fmt(v.get("recall")), _fmt(f1),
                             _fmt(v.get("support"), 0)))
        if rows:
            parts.append("<h3>Per class</h3>")
            parts.append(_table(("class", "precision", "recall", "F1", "support"), rows, numeric=(1, 2, 3, 4)))
            try:
                parts.append(_img(per_class_figure(report), "per-class precision and recall"))
            except ValueError as exc:
                parts.append(_note(f"per-class figure skipped: {exc}"))

    cm = metrics.get("confusion_matrix")
    if cm is not None:
        labels = metrics.get("labels") or [str(i) for i in range(len(cm))]
        parts.append("<h3>Confusion matrix</h3>")
        try:
            parts.append(_img(confusion_matrix_figure(cm, [str(s) for s in labels]), "confusion matrix"))
        except ValueError as exc:
            parts.append(_note(f"confusion matrix skipped: {exc}"))

    if history:
        parts.append("<h3>Training</h3>")
        try:
            parts.append(_img(training_curves_figure(history), "training curves"))
        except (ValueError, TypeError) as exc:
            parts.append(_note(f"training curves skipped: {exc}"))
    return "".join(parts)


# -- the page ----------------------------------------------------------------------------------
def build_report(
    store_path: str | os.PathLike[str] | None = None,
    model_dir: str | os.PathLike[str] | None = None,
    out_html: str | os.PathLike[str] = "report.html",
) -> Path:
    """Write one self-contained HTML report about a feature store, a model, or both.

    Args:
        store_path: a feature store folder: one overview per feature configuration
            in it (files per emotion, intensity and actor; durations and sample
            rates), then the recorded failures.
        model_dir: a model directory: its headline metrics, per-class scores,
            confusion matrix and training curves, as far as it holds them.
        out_html: where to write the report (its folder is created).

    Returns:
        The path of the report.

    Raises:
        ConfigError: neither a store nor a model was given.
        StoreError: ``store_path`` is not a folder.
        ModelError: ``model_dir`` is not a folder.
    """
    if store_path is None and model_dir is None:
        raise ConfigError("nothing to report: give a feature store, a model directory, or both")
    sections = []
    if store_path is not None:
        sections.append(_store_sections(store_path))
    if model_dir is not None:
        sections.append(_model_section(model_dir))
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sources = []
    if store_path is not None:
        sources.append(f"store <code>{_e(Path(store_path).expanduser().absolute())}</code>")
    if model_dir is not None:
        sources.append(f"model <code>{_e(Path(model_dir).expanduser().absolute())}</code>")
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>semo-batch report</title><style>{_CSS}</style></head><body>"
        "<h1>semo-batch report</h1>"
        f'<p class="muted">{" and ".join(sources)}; generated {_e(now)} by semo-batch {_e(__version__)}</p>'
        + "".join(sections)
        + "</body></html>\n"
    )
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out
