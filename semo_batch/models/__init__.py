"""Emotion classifiers behind one interface, and their safe save/load.

:class:`EmotionClassifier` follows the scikit-learn contract: ``__init__``
stores parameters, ``fit`` learns (state ends in ``_``) and returns ``self``,
``predict``/``predict_proba`` check that it was fitted.  It chains optional
speaker normalization, a standardizer fit on the training rows only, and one
of the estimators in :data:`MODELS`.

A model directory holds ``model.json`` (labels, feature set, fingerprint,
scaler, parameters) and the estimator: ``model.keras`` (loaded in Keras safe
mode) or ``model.skops`` (scikit-learn, loaded by skops with an explicit
allow-list of types).  Nothing is unpickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..config import FeatureConfig
from ..errors import ModelError
from .normalize import NORMALIZE_MODES, Standardizer, normalize_groups

__all__ = ["MODELS", "DEFAULT_MODEL", "EmotionClassifier", "load_model", "describe_model", "NORMALIZE_MODES"]

#: Model names and what they are.
MODELS: dict[str, str] = {
    "seed-dnn": "the notebook's dense network, unscaled inputs (reproduces its experiment)",
    "dnn": "regularized dense network (dropout, L2, early stopping on validation loss)",
    "logreg": "multinomial logistic regression (L2, balanced class weights)",
    "svm": "RBF support vector machine with Platt-scaled probabilities (balanced class weights)",
    "mlp": "scikit-learn multi-layer perceptron (one hidden layer of 256, strong L2)",
    "ensemble": "soft vote of logreg and mlp",
}
DEFAULT_MODEL = "ensemble"

# Every type a saved scikit-learn model may contain; anything else is refused before
# loading (skops would trust any scikit-learn class by default, a Pipeline included).
_SKOPS_TRUSTED = frozenset(
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
    }
)
#: The outermost estimator type each scikit-learn model name must load as.
_TOP_TYPE = {
    "logreg": "LogisticRegression",
    "svm": "CalibratedClassifierCV",
    "mlp": "MLPClassifier",
    "ensemble": "VotingClassifier",
}


def _skops_types(path: Path) -> set[str]:
    """Every ``module.class`` named in a skops file's schema (read as JSON, nothing executed)."""
    import zipfile

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


_SKLEARN_MODELS = ("logreg", "svm", "mlp", "ensemble")


def _make_sklearn(name: str, seed: int, params: dict[str, Any]) -> Any:
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=params.get("C", 0.05), tol=1e-3, max_iter=5000, class_weight="balanced", random_state=seed
        )
    if name == "svm":
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        svc = SVC(C=params.get("C", 10.0), gamma=params.get("gamma", "scale"), kernel="rbf", class_weight="balanced")
        # Platt scaling fit on internal folds, one SVC refit on all rows (what SVC(probability=True) did).
        return CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False)
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden_layer_sizes=(int(params.get("hidden", 256)),), alpha=params.get("alpha", 1.0), max_iter=500,
            random_state=seed,
        )
    if name == "ensemble":
        from sklearn.ensemble import VotingClassifier

        names = params.get("members", ("logreg", "mlp"))
        members = [(m, _make_sklearn(m, seed, params.get(m, {}))) for m in names]
        return VotingClassifier(members, voting="soft")
    raise ModelError(f"The model must be one of {sorted(MODELS)}. Got {name!r} instead.")


class EmotionClassifier:
    """Speaker normalization -> standardizer -> estimator.

    Args:
        model: a name from :data:`MODELS`.
        feature_config: the features the model consumes (its fingerprint is saved).
        feature_columns: column names, in order.
        normalize_by: ``None`` or the grouping used to z-score features per speaker
            at training time (``"actor"``); predictions then need groups too.
        seed: random seed for the estimator and network.
        params: estimator parameters (``C``, ``gamma``, ``epochs``).
    """

    def __init__(
        self,
        model: str,
        *,
        feature_config: FeatureConfig,
        feature_columns: Sequence[str],
        normalize_by: str | None = None,
        seed: int = 0,
        params: dict[str, Any] | None = None,
    ) -> None:
        if model not in MODELS:
            raise ModelError(f"The model must be one of {sorted(MODELS)}. Got {model!r} instead.")
        self.model = model
        self.feature_config = feature_config
        self.feature_columns = list(feature_columns)
        self.normalize_by = normalize_by if normalize_by not in (None, "none") else None
        self.seed = seed
        self.params = dict(params or {})

    @property
    def scales_inputs(self) -> bool:
        """The notebook's network saw raw features; every other model sees standardized ones."""
        return self.model != "seed-dnn"

    def _prepare(self, X: np.ndarray, groups: Sequence[Any] | np.ndarray | None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.normalize_by is not None:
            if groups is None:
                raise ModelError(
                    f"this model was trained with features normalized per {self.normalize_by}; "
                    "give groups (predict --normalize-by actor|folder|batch)"
                )
            X = normalize_groups(X, groups)
        if self.scales_inputs:
            return self.scaler_.transform(X)
        return X.astype(np.float32)

    def fit(
        self,
        X: np.ndarray,
        y: Sequence[str] | np.ndarray,
        *,
        groups: Sequence[Any] | np.ndarray | None = None,
        labels: Sequence[str] | None = None,
    ) -> EmotionClassifier:
        """Learn from features ``X`` [shape=(n, k)] and label strings ``y``.

        Args:
            groups: the speaker (or other group) of each row; required with ``normalize_by``,
                and used to hold whole speakers out for the network's validation set.
            labels: the label vocabulary in order (default: the sorted labels of ``y``).
        """
        X = np.asarray(X, dtype=np.float64)
        y_arr = np.asarray(y, dtype=object)
        if X.ndim != 2 or X.shape[1] != len(self.feature_columns):
            raise ModelError(f"expected {len(self.feature_columns)} feature columns, got array of shape {X.shape}")
        self.labels_ = list(labels) if labels is not None else sorted(set(y_arr.tolist()))
        index = {lab: i for i, lab in enumerate(self.labels_)}
        yi = np.array([index[v] for v in y_arr])
        if self.normalize_by is not None and groups is None:
            raise ModelError(f"normalize_by={self.normalize_by!r} needs the group of every row")
        Xn = normalize_groups(X, groups) if groups is not None and self.normalize_by is not None else X
        self.scaler_ = Standardizer().fit(Xn)
        Xs = self.scaler_.transform(Xn) if self.scales_inputs else Xn.astype(np.float32)
        counts = np.bincount(yi, minlength=len(self.labels_))
        self.history_: dict[str, list[float]] = {}
        if self.model in ("seed-dnn", "dnn"):
            from .keras_nets import KerasNet

            arch = "seed" if self.model == "seed-dnn" else "regularized"
            net = KerasNet(architecture=arch, seed=self.seed, epochs=self.params.get("epochs"))
            if arch == "seed":
                net.fit(Xs, yi, n_classes=len(self.labels_))
            else:
                weights = {i: len(yi) / (len(counts) * max(c, 1)) for i, c in enumerate(counts)}
                # Early stopping watches speakers held out of training. A speed-perturbed copy
                # ("12@0.9") is the same speaker as its original, so it goes to the same side.
                speakers = None if groups is None else np.array([str(g).split("@")[0] for g in groups])
                if speakers is not None and len(set(speakers.tolist())) >= 4:
                    from sklearn.model_selection import GroupShuffleSplit

                    splitter = GroupShuffleSplit(1, test_size=0.15, random_state=self.seed)
                    tr, va = next(splitter.split(Xs, yi, speakers))
                    net.fit(Xs[tr], yi[tr], n_classes=len(self.labels_), class_weight=weights,
                            validation=(Xs[va], yi[va]))
                else:
                    net.fit(Xs, yi, n_classes=len(self.labels_), class_weight=weights)
            self.estimator_ = net
            self.history_ = net.history_
        else:
            est = _make_sklearn(self.model, self.seed, self.params)
            est.fit(Xs, yi)
            self.estimator_ = est
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise ModelError("This EmotionClassifier instance is not fitted yet. Call 'fit' first.")

    def predict_proba(self, X: np.ndarray, *, groups: Sequence[Any] | np.ndarray | None = None) -> np.ndarray:
        """Class probabilities [shape=(n, len(labels_))], rows summing to 1."""
        self._check_fitted()
        Xs = self._prepare(X, groups)
        est: Any = self.estimator_
        proba = np.asarray(est.predict_proba(Xs), dtype=np.float64)
        if proba.shape[1] != len(self.labels_):  # a class absent from training
            full = np.zeros((proba.shape[0], len(self.labels_)))
            full[:, np.asarray(est.classes_)] = proba
            proba = full
        return proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)

    def predict(self, X: np.ndarray, *, groups: Sequence[Any] | np.ndarray | None = None) -> np.ndarray:
        """Predicted label strings [shape=(n,)]."""
        proba = self.predict_proba(X, groups=groups)
        return np.asarray(self.labels_, dtype=object)[proba.argmax(axis=1)]

    # -- persistence ---------------------------------------------------------------------------
    def save(self, model_dir: str | Path) -> Path:
        """Write ``model.json`` and the estimator into ``model_dir`` (created)."""
        self._check_fitted()
        d = Path(model_dir)
        d.mkdir(parents=True, exist_ok=True)
        if self.model in ("seed-dnn", "dnn"):
            self.estimator_.save(d / "model.keras")
            weights = "model.keras"
        else:  # logreg, svm, mlp, ensemble
            import skops.io as sio

            _drop_optimizer_state(self.estimator_)
            sio.dump(self.estimator_, d / "model.skops")
            weights = "model.skops"
        meta = {
            "format": 1,
            "semo_batch_version": __version__,
            "model": self.model,
            "params": self.params,
            "seed": self.seed,
            "labels": self.labels_,
            "normalize_by": self.normalize_by,
            "feature_set": self.feature_config.name,
            "fingerprint": self.feature_config.fingerprint(),
            "feature_config": self.feature_config.to_dict(),
            "feature_columns": self.feature_columns,
            "scaler": self.scaler_.to_dict(),
            "weights": weights,
        }
        (d / "model.json").write_text(json.dumps(meta, indent=1))
        if self.history_:
            (d / "history.json").write_text(json.dumps(self.history_))
        return d


def _drop_optimizer_state(est: Any) -> None:
    """An MLP keeps Adam's moment estimates (twice its weights) only to resume training."""
    for e in [est, *getattr(est, "estimators_", [])]:
        if hasattr(e, "_optimizer"):
            e._optimizer = None


def _check_estimator(clf: EmotionClassifier, d: Path) -> None:
    """The loaded estimator is of the right type and shape for ``model.json``."""
    est: Any = clf.estimator_
    n_features, n_labels = len(clf.feature_columns), len(clf.labels_)
    if clf.model in _TOP_TYPE:
        if type(est).__name__ != _TOP_TYPE[clf.model]:
            raise ModelError(f"{d}: model.skops holds a {type(est).__name__}, not the {_TOP_TYPE[clf.model]} of model {clf.model!r}")
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


def load_model(model_dir: str | os.PathLike[str]) -> EmotionClassifier:
    """Load a model directory without executing anything from it.

    Raises:
        ModelError: missing, truncated or tampered files, unknown types, or a
            feature fingerprint that this version of the feature code does not produce.
    """
    from ..config import get_config

    d = Path(model_dir)
    meta_path = d / "model.json"
    if not meta_path.is_file():
        raise ModelError(f"{d}: not a model directory (no model.json); train one with `semo-batch train`")
    from ..errors import ConfigError

    try:
        meta = json.loads(meta_path.read_text())
        cfg = FeatureConfig.from_dict(meta["feature_config"])
        clf = EmotionClassifier(
            meta["model"], feature_config=cfg, feature_columns=meta["feature_columns"],
            normalize_by=meta.get("normalize_by"), seed=int(meta.get("seed", 0)), params=meta.get("params") or {},
        )
        clf.labels_ = [str(v) for v in meta["labels"]]
        clf.scaler_ = Standardizer.from_dict(meta["scaler"], len(clf.feature_columns))
        weights = meta["weights"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ConfigError, ModelError) as exc:
        raise ModelError(f"{meta_path}: unreadable or incomplete model description ({type(exc).__name__}: {exc})") from None
    if cfg.fingerprint() != meta.get("fingerprint"):
        raise ModelError(f"{meta_path}: feature fingerprint does not match its own parameters (tampered file?)")
    try:
        current = get_config(cfg.name)
    except Exception:
        current = None
    if current is None or current.fingerprint() != cfg.fingerprint():
        raise ModelError(
            f"{d}: model was trained on feature set {cfg.name!r} with fingerprint {cfg.fingerprint()}, "
            f"which this version of semo-batch does not compute"
            + (f" (it computes {current.fingerprint()})" if current else "")
            + "; retrain it with `semo-batch train`"
        )
    try:
        if weights == "model.keras" and clf.model in ("seed-dnn", "dnn"):
            from .keras_nets import KerasNet

            clf.estimator_ = KerasNet.load(d / weights, architecture="seed" if clf.model == "seed-dnn" else "regularized")
        elif weights == "model.skops" and clf.model in _SKLEARN_MODELS:
            import skops.io as sio

            path = d / weights
            untrusted = sorted(_skops_types(path) - _SKOPS_TRUSTED)
            if untrusted:
                raise ModelError(f"{path}: refuses to load types outside the allow-list: {untrusted}")
            clf.estimator_ = sio.load(path, trusted=sorted(_SKOPS_TRUSTED))
        else:
            raise ModelError(f"{meta_path}: weights {weights!r} do not fit model {clf.model!r}")
    except ModelError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelError(f"{d / weights}: cannot load model weights ({type(exc).__name__}: {first})") from None
    _check_estimator(clf, d)
    return clf
