"""Untrusted files: tampered model directories never run code, and the CSV is inert in a spreadsheet.

Every tampered model must give a :class:`ModelError` whose one-line message names the
model directory, and ``semo-batch predict`` must exit 1 with that line and no traceback.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import skops.io as sio
import soundfile as sf
from conftest import harmonic_tone
from typer.testing import CliRunner

from semo_batch.cli import app
from semo_batch.config import FeatureConfig
from semo_batch.errors import ModelError
from semo_batch.models import load_model
from semo_batch.options import RunOptions
from semo_batch.predict import neutralize_cell, predict_folders, write_csv
from semo_batch.resources import default_model_dir

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class SideEffect:
    """Writes a marker file when its state is restored: proof that loading ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("code from a model file ran\n")
        self.__dict__.update(state)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A copy of the bundled model (an SVM on the emo set), to tamper with."""
    d = tmp_path / "model"
    shutil.copytree(default_model_dir(), d)
    return d


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("audio")
    sf.write(d / "clip.wav", 0.5 * harmonic_tone(200.0, sr=16_000, duration=0.5), 16_000, subtype="PCM_16")
    return d


def _edit_json(fn: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def tamper(d: Path) -> None:
        meta = json.loads((d / "model.json").read_text())
        new = fn(meta)
        (d / "model.json").write_text(new if isinstance(new, str) else json.dumps(new))

    return tamper


def _with(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda m: {**m, **changes}


def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda m: {k: v for k, v in m.items() if k != key}


def _feature_config(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda m: {**m, "feature_config": {**m["feature_config"], **changes}}


def _other_version(m: dict[str, Any]) -> dict[str, Any]:
    # Self-consistent (fingerprint recomputed) but not what this version of the feature code computes.
    cfg = {**m["feature_config"], "version": 99}
    return {**m, "feature_config": cfg, "fingerprint": FeatureConfig.from_dict(cfg).fingerprint()}


def _skops(obj_factory: Callable[[Path], Any]) -> Callable[[Path], None]:
    def tamper(d: Path) -> None:
        sio.dump(obj_factory(d), d / "model.skops")

    return tamper


def _truncate(d: Path) -> None:
    data = (d / "model.skops").read_bytes()
    (d / "model.skops").write_bytes(data[: len(data) // 2])


def _pipeline(d: Path) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler())])


def _string_classes(d: Path) -> Any:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    return LogisticRegression().fit(rng.standard_normal((40, 197)), ["a", "b"] * 20)


def _five_features(d: Path) -> Any:
    # The right type for the model named in model.json, fitted on 5 features instead of hundreds.
    from semo_batch.models import get_spec

    name = json.loads((d / "model.json").read_text())["model"]
    rng = np.random.default_rng(0)
    est = get_spec(name).make(0, {}).fit(rng.standard_normal((80, 5)), np.arange(80) % 8)
    for member in [est, *getattr(est, "estimators_", [])]:
        if hasattr(member, "_optimizer"):
            member._optimizer = None  # as save_model does
    return est


#: name -> (how to tamper, a regex the message must match).
TAMPERED: dict[str, tuple[Callable[[Path], None], str]] = {
    # model.json
    "json-not-json": (_edit_json(lambda m: "{not json"), r"model\.json: unreadable or incomplete"),
    "json-empty": (_edit_json(lambda m: ""), r"model\.json: unreadable or incomplete"),
    "json-a-list": (_edit_json(lambda m: [m]), r"model\.json: unreadable or incomplete"),
    "json-missing-labels": (_edit_json(_without("labels")), r"model\.json: unreadable or incomplete.*labels"),
    "json-missing-feature-config": (
        _edit_json(_without("feature_config")),
        r"model\.json: unreadable or incomplete",
    ),
    "json-missing-scaler": (_edit_json(_without("scaler")), r"model\.json: unreadable or incomplete"),
    "json-scaler-too-short": (_edit_json(_with(scaler={"mean": [0.0], "scale": [1.0]})), r"scaler"),
    "json-fingerprint-mismatch": (
        _edit_json(_with(fingerprint="0123456789abcdef")),
        r"fingerprint does not match its own parameters",
    ),
    "json-feature-config-unknown-key": (_edit_json(_feature_config(evil="__import__('os')")), r"model\.json"),
    "json-feature-config-inconsistent": (_edit_json(_feature_config(win_length=10**6)), r"model\.json"),
    "json-feature-config-other-version": (_edit_json(_other_version), r"does not compute"),
    "json-weights-path-traversal": (_edit_json(_with(weights="../../../../etc/passwd")), r"do not fit model"),
    "json-weights-keras-for-svm": (_edit_json(_with(weights="model.keras")), r"do not fit model"),
    "json-unknown-model": (_edit_json(_with(model="os.system")), r"os\.system"),
    "json-fewer-labels-than-classes": (_edit_json(_with(labels=["a", "b"])), r"classes do not match the 2 labels"),
    # model.skops
    "skops-missing": (lambda d: (d / "model.skops").unlink(), r"model\.skops"),
    "skops-empty": (lambda d: (d / "model.skops").write_bytes(b""), r"model\.skops"),
    "skops-truncated": (_truncate, r"model\.skops: cannot load model weights"),
    "skops-not-a-zip": (
        lambda d: (d / "model.skops").write_text("import os; os.system('echo hi')"),
        r"model\.skops: cannot load model weights",
    ),
    "skops-function-reference": (_skops(lambda d: {"f": os.system, "g": eval}), r"model\.skops.*system"),
    "skops-object-with-setstate": (
        _skops(lambda d: SideEffect(str(d / "PWNED"))),
        r"model\.skops.*SideEffect",
    ),
    "skops-pipeline": (_skops(_pipeline), r"model\.skops.*Pipeline"),
    "skops-dict-not-an-estimator": (_skops(lambda d: {"classes_": [0, 1]}), r"model\.skops"),
    "skops-array-not-an-estimator": (_skops(lambda d: np.zeros(3)), r"model\.skops"),
    "skops-estimator-with-string-classes": (_skops(_string_classes), r"model\.skops|classes"),
    "skops-estimator-for-5-features": (_skops(_five_features), r"5 features|features"),
}


def _assert_one_line_naming(msg: str, d: Path, pattern: str) -> None:
    assert "\n" not in msg, msg
    assert str(d) in msg, f"the message does not name the model: {msg}"
    assert re.search(pattern, msg), msg


def _assert_cli_refuses(d: Path, audio_dir: Path, tmp_path: Path) -> str:
    out = tmp_path / "pred.csv"
    res = CliRunner().invoke(
        app, ["predict", str(audio_dir), "--model-dir", str(d), "-o", str(out), "-j", "1", "-q"]
    )
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)  # an unusable input, before any work
    assert isinstance(res.exception, SystemExit), f"crashed with {res.exception!r}"  # not a traceback
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("semo-batch: error: "), res.stderr
    assert not out.exists()
    return lines[0]


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_model_is_refused(case: str, model_dir: Path, audio_dir: Path, tmp_path: Path) -> None:
    tamper, pattern = TAMPERED[case]
    tamper(model_dir)
    (model_dir / "PWNED").unlink(missing_ok=True)  # dumping SideEffect does not run __setstate__, but be sure
    with pytest.raises(ModelError) as e:
        load_model(model_dir)
    _assert_one_line_naming(str(e.value), model_dir, pattern)
    line = _assert_cli_refuses(model_dir, audio_dir, tmp_path)
    assert line == f"semo-batch: error: {e.value}"
    assert not (model_dir / "PWNED").exists(), "loading the model ran code from it"


def test_missing_model_dir(tmp_path: Path, audio_dir: Path) -> None:
    with pytest.raises(ModelError, match=r"not a model directory \(no model\.json\)"):
        load_model(tmp_path / "nope")
    _assert_cli_refuses(tmp_path / "nope", audio_dir, tmp_path)


def test_the_untampered_copy_loads(model_dir: Path, audio_dir: Path) -> None:
    """The baseline of the cases above: the copy itself is fine."""
    clf = load_model(model_dir)
    df = predict_folders([audio_dir], clf, options=RunOptions(jobs=1))
    assert df["error"].to_list() == [""] and df["emotion"][0] in clf.labels_


@pytest.mark.slow
def test_keras_model_with_a_lambda_layer_is_refused(model_dir: Path, audio_dir: Path, tmp_path: Path) -> None:
    from semo_batch.models.keras_nets import _keras

    keras = _keras()
    marker = tmp_path / "PWNED"
    meta = json.loads((model_dir / "model.json").read_text())
    (model_dir / "model.skops").unlink()
    (model_dir / "model.json").write_text(json.dumps({**meta, "model": "dnn", "weights": "model.keras"}))

    def payload(x: Any, path: str = str(marker)) -> Any:
        open(path, "w").write("code from a model file ran\n")  # noqa: SIM115
        return x

    inp = keras.Input((len(meta["feature_columns"]),))
    out = keras.layers.Dense(len(meta["labels"]), activation="softmax")(
        keras.layers.Lambda(lambda x: payload(x))(inp)
    )
    keras.Model(inp, out).save(model_dir / "model.keras")
    marker.unlink(missing_ok=True)  # saving may trace the layer

    with pytest.raises(ModelError) as e:
        load_model(model_dir)
    _assert_one_line_naming(str(e.value), model_dir, r"model\.keras: cannot load model weights.*Lambda")
    _assert_cli_refuses(model_dir, audio_dir, tmp_path)
    assert not marker.exists(), "loading the model ran code from it"

    # A truncated .keras archive is refused too.
    data = (model_dir / "model.keras").read_bytes()
    (model_dir / "model.keras").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError) as e:
        load_model(model_dir)
    _assert_one_line_naming(str(e.value), model_dir, r"model\.keras")


# -- CSV injection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["=1+1", "+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']
)
def test_neutralize_cell_defuses_formulas(value: str) -> None:
    assert neutralize_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["/data/=cmd.wav", "angry", "", "a=b", "1+1", None, 0.5, -0.5, 3])
def test_neutralize_cell_leaves_the_rest(value: Any) -> None:
    assert neutralize_cell(value) == value


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_write_csv_neutralizes_crafted_cells(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {
            "path": ["=cmd|' /C calc'!A0", "/ok/a.wav", "@x", "relative/-x.wav"],
            "emotion": ["+angry", None, "-sad", "calm"],
            "confidence": [0.5, None, -0.25, 1.0],
            "error": ["", '=HYPERLINK("http://evil","click")', "\t=1+1", "\r@A1"],
        }
    )
    out = write_csv(df, tmp_path / "sub" / "p.csv")
    rows = _read_csv(out)
    assert rows[0] == df.columns
    body = rows[1:]
    assert [r[0] for r in body] == ["'=cmd|' /C calc'!A0", "/ok/a.wav", "'@x", "relative/-x.wav"]
    assert [r[1] for r in body] == ["'+angry", "", "'-sad", "calm"]
    assert [r[2] for r in body] == ["0.500000", "", "-0.250000", "1.000000"]  # numbers stay numbers
    assert [r[3] for r in body] == ["", '\'=HYPERLINK("http://evil","click")', "'\t=1+1", "'\r@A1"]
    for r in body:
        for cell in r:
            assert _is_number(cell) or not cell.startswith(FORMULA_START), cell
    assert sorted(p.name for p in out.parent.iterdir()) == ["p.csv"]  # the temporary was renamed away


def test_predict_csv_neutralizes_labels_from_a_tampered_model(model_dir: Path, tmp_path: Path) -> None:
    """Labels come from model.json, which is untrusted: a formula label must not reach a spreadsheet live."""
    meta = json.loads((model_dir / "model.json").read_text())
    evil = ["=1+1", "+cmd", "-2", "@A1", '=HYPERLINK("http://x")', "calm", "\t=x", "ok"]
    (model_dir / "model.json").write_text(json.dumps({**meta, "labels": evil}))
    audio = tmp_path / "audio"
    audio.mkdir()
    y = 0.5 * harmonic_tone(200.0, sr=16_000, duration=0.5)
    for name in ("=cmd.wav", "+a.wav", "-b.wav", "@c.wav"):
        sf.write(audio / name, y, 16_000, subtype="PCM_16")
    (audio / "=broken.wav").write_text("not audio")
    out = tmp_path / "p.csv"
    res = CliRunner().invoke(
        app, ["predict", str(audio), "--model-dir", str(model_dir), "-o", str(out), "-j", "1", "-q"]
    )
    assert res.exit_code == 3, res.output  # one file failed
    rows = _read_csv(out)
    assert len(rows) == 6
    for r in rows[1:]:
        for cell in r:
            assert _is_number(cell) or not cell.startswith(FORMULA_START), cell
    col = rows[0].index("emotion")
    emotions = {r[col] for r in rows[1:] if r[col]}
    assert emotions and emotions <= {neutralize_cell(v) for v in evil}
