"""The saved-model format: save, load, describe, and what may be loaded.

A model directory holds ``model.json`` (labels, feature set, fingerprint,
scaler, parameters) and the estimator: ``model.keras`` (loaded in Keras safe
mode) or ``model.skops`` (scikit-learn, loaded by skops with an explicit
allow-list of types).  Nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..choices import NormalizeBy
from ..config import FeatureConfig, get_config
from ..errors import ConfigError, ModelError
from .classifier import EmotionClassifier
from .normalize import Standardizer
from .registry import check_available

__all__ = ["save_model", "load_model", "describe_model", "SKOPS_TRUSTED"]

#: Every type a saved scikit-learn model may contain; anything else is refused before
#: loading (skops would trust any scikit-learn class by default, a Pipeline included).
SKOPS_TRUSTED = frozenset(
    {
        "builtins.dict", "builtins.list", "builtins.str", "builtins.tuple", "builtins.int", "builtins.float",
        "builtins.bool", "builtins.NoneType",
        "numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.float32", "numpy.int32", "numpy.int64",
        "numpy.random.mtrand.RandomState",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.svm._classes.SVC",
        "sklearn.calibration.CalibratedClassifierCV",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
        "sklearn.ensemble._voting.VotingClassifier",
        "sklearn.preprocessing._label.LabelBinarizer",
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.utils._bunch.Bunch",
        "semo_batch.models.fusion.BlockFusion",
    }
)


def _skops_types(path: Path) -> set[str]:
    """Every ``module.class`` named in a skops file's schema (read as JSON, nothing executed)."""
    with zipfile.ZipFile(path) as z:
        schema = json.loads(z.read("schema.json"))
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "__class__" in node:
                found.add(f"{node.get('__module__', '')}.{node['__class__']}")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return found


def _drop_optimizer_state(est: Any) -> None:
    """An MLP keeps Adam's moment estimates (twice its weights) only to resume training."""
    for e in [est, *getattr(est, "estimators_", [])]:
        if hasattr(e, "_optimizer"):
            e._optimizer = None


def save_model(clf: EmotionClassifier, model_dir: str | os.PathLike[str]) -> Path:
    """Write ``model.json`` and the weights of a fitted classifier into ``model_dir`` (created)."""
    clf._check_fitted()
    if clf.feature_config is None:
        raise ModelError("a model without its feature_config cannot be saved: predict would not know what to compute")
    spec = clf.spec
    d = Path(model_dir)
    d.mkdir(parents=True, exist_ok=True)
    if spec.is_network:
        clf.estimator_.save(d / spec.weights)
    else:
        import skops.io as sio

        _drop_optimizer_state(clf.estimator_)
        sio.dump(clf.estimator_, d / spec.weights)
    norm = clf.normalization
    meta = {
        "format": 1,
        "semo_batch_version": __version__,
        "model": spec.name.value,
        "params": clf._params(),
        "seed": clf.seed,
        "labels": clf.labels_,
        "normalize_by": None if norm is NormalizeBy.NONE else norm.value,
        "feature_set": clf.feature_config.name,
        "fingerprint": clf.feature_config.fingerprint(),
        "feature_config": clf.feature_config.to_dict(),
        "feature_columns": list(clf.feature_columns),
        "scaler": clf.scaler_.to_dict(),
        "weights": spec.weights,
    }
    (d / "model.json").write_text(json.dumps(meta, indent=1))
    if clf.history_:
        (d / "history.json").write_text(json.dumps(clf.history_))
    return d


def describe_model(model_dir: str | os.PathLike[str]) -> str:
    """One line on what a model directory holds, read from its ``model.json`` only."""
    d = Path(model_dir)
    try:
        meta = json.loads((d / "model.json").read_text())
        return (
            f"{d}: model {meta['model']} on feature set {meta['feature_set']} ({meta['fingerprint']}), "
            f"{len(meta['labels'])} labels, speaker normalization {meta.get('normalize_by') or 'none'}"
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{d / 'model.json'}: unreadable or incomplete model description ({type(exc).__name__}: {exc})") from None


def _check_estimator(clf: EmotionClassifier, d: Path) -> None:
    """The loaded estimator is of the right type and shape for ``model.json``."""
    est: Any = clf.estimator_
    spec = clf.spec
    n_features, n_labels = len(clf.feature_columns), len(clf.labels_)
    if not spec.is_network:
        if type(est).__name__ != spec.top_type:
            raise ModelError(f"{d}: {spec.weights} holds a {type(est).__name__}, not the {spec.top_type} of model {spec.name.value!r}")
        classes = np.asarray(getattr(est, "classes_", []))
        if classes.dtype.kind not in "iu" or classes.size == 0 or classes.min() < 0 or classes.max() >= n_labels:
            raise ModelError(f"{d}: the estimator's classes do not match the {n_labels} labels in model.json")
        if getattr(est, "n_features_in_", n_features) != n_features:
            raise ModelError(
                f"{d}: the estimator expects {est.n_features_in_} features but model.json lists {n_features}"
            )
    else:
        shape = getattr(getattr(est, "model_", None), "input_shape", None)
        out = getattr(getattr(est, "model_", None), "output_shape", None)
        if shape is None or shape[-1] != n_features or out is None or out[-1] != n_labels:
            raise ModelError(f"{d}: the network's input/output shape {shape}->{out} does not match model.json")


def _load_weights(clf: EmotionClassifier, path: Path) -> Any:
    spec = clf.spec
    if spec.is_network:
        from .keras_nets import KerasNet

        assert spec.keras_architecture is not None
        return KerasNet.load(path, architecture=spec.keras_architecture)
    import skops.io as sio

    untrusted = sorted(_skops_types(path) - SKOPS_TRUSTED)
    if untrusted:
        raise ModelError(f"{path}: refuses to load types outside the allow-list: {untrusted}")
    return sio.load(path, trusted=sorted(SKOPS_TRUSTED))


def load_model(model_dir: str | os.PathLike[str]) -> EmotionClassifier:
    """Load a model directory without executing anything from it.

    Raises:
        ModelError: missing, truncated or tampered files, unknown types, or a
            feature fingerprint that this version of the feature code does not produce.
        ConfigError: a saved network (``dnn``, ``seed-dnn``) without TensorFlow installed.
    """
    d = Path(model_dir)
    meta_path = d / "model.json"
    if not meta_path.is_file():
        raise ModelError(f"{d}: not a model directory (no model.json); train one with `semo-batch train`")
    try:
        meta = json.loads(meta_path.read_text())
        cfg = FeatureConfig.from_dict(meta["feature_config"])
        clf = EmotionClassifier(
            meta["model"], feature_config=cfg, feature_columns=list(meta["feature_columns"]),
            normalize_by=meta.get("normalize_by"), seed=int(meta.get("seed", 0)), params=meta.get("params") or {},
        )
        spec = clf.spec
        clf.normalization  # noqa: B018 - validates the recorded normalization
        clf.labels_ = [str(v) for v in meta["labels"]]
        clf.scaler_ = Standardizer.from_dict(meta["scaler"], len(clf.feature_columns))
        clf.history_ = {}
        weights = meta["weights"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ConfigError, ModelError) as exc:
        raise ModelError(f"{meta_path}: unreadable or incomplete model description ({type(exc).__name__}: {exc})") from None
    if cfg.fingerprint() != meta.get("fingerprint"):
        raise ModelError(f"{meta_path}: feature fingerprint does not match its own parameters (tampered file?)")
    try:
        current: FeatureConfig | None = get_config(cfg.name)
    except ConfigError:
        current = None
    # How recordings were cut is the model's own choice; the numbers per segment are the set's.
    if current is None or current.fingerprint() != dataclasses.replace(cfg, segment=None).fingerprint():
        raise ModelError(
            f"{d}: model was trained on feature set {cfg.name!r} with fingerprint {cfg.fingerprint()}, "
            f"which this version of semo-batch does not compute"
            + (f" (it computes {current.fingerprint()})" if current else "")
            + "; retrain it with `semo-batch train`"
        )
    if weights != spec.weights:
        raise ModelError(f"{meta_path}: weights {weights!r} do not fit model {spec.name.value!r}")
    check_available(spec.name)  # a saved network without TensorFlow: how to install it, not a load error
    try:
        clf.estimator_ = _load_weights(clf, d / weights)
    except ModelError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelError(f"{d / weights}: cannot load model weights ({type(exc).__name__}: {first})") from None
    _check_estimator(clf, d)
    return clf
