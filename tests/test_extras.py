"""TensorFlow is the ``[dnn]`` extra: only the dnn and seed-dnn models need it.

Without it, asking for those models (train, evaluate --cv, a saved network) is one
line saying how to install it, before any store or weights are read; every other
path never imports it.  When it is used, its start-up log lines are silenced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import WriteWav, tone
from learning_data import COLUMNS, EMO, labelled
from typer.testing import CliRunner

from semo_batch.cli import app
from semo_batch.errors import ConfigError
from semo_batch.evaluate import cross_validate, evaluate
from semo_batch.models import EmotionClassifier, load_model, save_model
from semo_batch.models.keras_nets import KerasNet, tensorflow_installed
from semo_batch.models.registry import check_available
from semo_batch.train import fit_classifier, train

ROOT = Path(__file__).resolve().parents[1]
HINT = "model '{}' needs TensorFlow: pip install 'semo-batch[dnn]'"
DATA = labelled(n_actors=4, seed=0)


@pytest.fixture
def no_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import tensorflow`` (and ``import keras``) raise ImportError, as in a default install."""
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    monkeypatch.setitem(sys.modules, "keras", None)


@pytest.fixture
def saved_dnn(tmp_path: Path) -> Path:
    """A model directory that says it holds a dnn (its model.keras is never read without TensorFlow)."""
    clf = EmotionClassifier("logreg", feature_config=EMO, feature_columns=COLUMNS).fit(DATA.X, DATA.y)
    d = save_model(clf, tmp_path / "dnn-model")
    meta = json.loads((d / "model.json").read_text())
    (d / "model.json").write_text(json.dumps(meta | {"model": "dnn", "weights": "model.keras", "params": {}}))
    (d / "model.skops").unlink()
    (d / "model.keras").write_bytes(b"not read")
    return d


def test_tensorflow_is_the_dnn_extra_and_the_test_extra_keeps_it() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if "tensorflow" in d]
    tf = [d for d in project["optional-dependencies"]["dnn"] if d.startswith("tensorflow")]
    assert len(tf) == 2  # tensorflow-cpu on x86-64, tensorflow elsewhere
    assert set(tf) <= set(project["optional-dependencies"]["test"])


def test_the_default_paths_never_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from semo_batch.cli import app\n"
        "from semo_batch import demo, predict, train, evaluate, featurize, jobs, report\n"
        "from semo_batch.models import load_model\n"
        "from semo_batch.resources import default_model_dir\n"
        "load_model(default_model_dir())\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.usefixtures("no_tensorflow")
def test_without_tensorflow_the_networks_are_one_line_on_how_to_install_it(tmp_path: Path, saved_dnn: Path) -> None:
    assert not tensorflow_installed()
    assert check_available("ensemble").name.value == "ensemble"
    for model in ("dnn", "seed-dnn"):
        with pytest.raises(ConfigError) as err:
            check_available(model)
        assert str(err.value) == HINT.format(model)
    missing = tmp_path / "no-store"  # the check comes first: not "no store here"
    with pytest.raises(ConfigError, match=r"^model 'dnn' needs TensorFlow: pip install 'semo-batch\[dnn\]'$"):
        train(missing, tmp_path / "m", model="dnn")
    with pytest.raises(ConfigError, match=r"^model 'seed-dnn' needs TensorFlow"):
        cross_validate(missing, model="seed-dnn")
    with pytest.raises(ConfigError, match=r"^model 'dnn' needs TensorFlow"):
        fit_classifier(DATA, np.arange(len(DATA.y)), model="dnn")
    with pytest.raises(ConfigError, match=r"^model 'dnn' needs TensorFlow"):
        load_model(saved_dnn)
    with pytest.raises(ConfigError, match=r"^model 'dnn' needs TensorFlow"):
        evaluate(missing, saved_dnn)
    # A network reached some other way: the same advice, with the import error.
    with pytest.raises(ConfigError, match=r"^the dnn and seed-dnn models need TensorFlow \(.*\): pip install"):
        KerasNet(epochs=1).fit(DATA.X, DATA.y, n_classes=8)
    assert not list(tmp_path.glob("m*"))


@pytest.mark.usefixtures("no_tensorflow")
@pytest.mark.parametrize(
    "args, model",
    [
        (["train", "--model", "dnn"], "dnn"),
        (["train", "--model", "seed-dnn", "--split", "random"], "seed-dnn"),
        (["evaluate", "--cv", "actor", "--model", "dnn"], "dnn"),
        (["evaluate", "--model-dir", "{saved}"], "dnn"),
        (["predict", "{clips}", "--model-dir", "{saved}", "-q"], "dnn"),
    ],
)
def test_the_cli_says_it_in_one_line_with_exit_code_2(args: list[str], model: str, tmp_path: Path,
                                                      saved_dnn: Path, write_wav: WriteWav) -> None:
    clips = write_wav("clips/a.wav", tone(200.0, sr=16_000, duration=0.5), 16_000).parent
    args = [a.format(saved=saved_dnn, clips=clips) for a in args]
    if args[0] != "predict":
        args += ["--store", str(tmp_path / "no-store")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output  # a usage or configuration error
    assert result.stderr == f"semo-batch: error: {HINT.format(model)}\n"
    assert result.stdout == ""


def _quiet_env() -> dict[str, str]:
    """The environment of a user who set none of the variables semo-batch sets."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_", "ABSL_", "PYTHONWARNINGS"))}


@pytest.mark.slow
@pytest.mark.skipif(not tensorflow_installed(), reason="needs the [dnn] extra")
def test_a_network_trains_saves_and_loads_without_tensorflow_log_lines(tmp_path: Path) -> None:
    code = (
        "import numpy as np\n"
        "from semo_batch.models.keras_nets import KerasNet\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.normal(size=(60, 5)).astype('float32'); y = (X[:, 0] > 0).astype(int)\n"
        "net = KerasNet(architecture='regularized', epochs=2).fit(X, y, n_classes=2)\n"
        f"net.save({str(tmp_path / 'm.keras')!r})\n"
        f"back = KerasNet.load({str(tmp_path / 'm.keras')!r}, architecture='regularized')\n"
        "print(back.predict_proba(X).shape)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=_quiet_env(),
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "(60, 2)\n"
    for noise in ("oneDNN", "absl", "cuda", "cpu_feature_guard", "WARNING"):
        assert noise.lower() not in r.stderr.lower(), r.stderr
    assert r.stderr == ""
