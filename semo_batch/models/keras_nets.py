"""Keras networks behind the scikit-learn contract (``fit`` / ``predict_proba``).

TensorFlow is an optional dependency (``pip install 'semo-batch[dnn]'``),
imported only when a network is built or loaded, with its start-up log lines
silenced (:data:`QUIET_TF_ENV`).  Models are saved in the ``.keras`` format and
loaded with ``safe_mode=True``, so a model directory received from someone else
cannot run code (no Lambda layers).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["KerasNet", "ARCHITECTURES", "INSTALL_HINT", "QUIET_TF_ENV", "tensorflow_installed"]

#: The notebook's network and a regularized one for scaled inputs.
ARCHITECTURES = ("seed", "regularized")

#: How to get TensorFlow, the end of every "needs TensorFlow" message.
INSTALL_HINT = "pip install 'semo-batch[dnn]'"

#: Set (unless already set) before TensorFlow is imported.  TF_CPP_MIN_LOG_LEVEL=3 hides its C++
#: INFO/WARNING lines (CPU instruction notes among them); the oneDNN notice ("oneDNN custom
#: operations are on", printed twice, each time with absl's "log messages before
#: absl::InitializeLog()" line) is printed whatever that level, so the oneDNN custom operations
#: are left off: ``TF_ENABLE_ONEDNN_OPTS=1`` turns them (and the notice) back on.
QUIET_TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "KERAS_BACKEND": "tensorflow"}


def tensorflow_installed() -> bool:
    """Whether TensorFlow and Keras can be imported (checked without importing them)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("tensorflow", "keras"))
    except (ImportError, ValueError):  # a half-imported or stubbed-out module
        return False


def _keras() -> Any:
    for name, value in QUIET_TF_ENV.items():
        os.environ.setdefault(name, value)
    try:
        import keras
        import tensorflow as tf
    except ImportError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"the dnn and seed-dnn models need TensorFlow ({first}): {INSTALL_HINT}") from None
    # TensorFlow's Python-side warnings (tf.function retracing when cross-validation builds a
    # network per fold, deprecations) go to its own logger.
    tf.get_logger().setLevel("ERROR")
    return keras


class KerasNet:
    """A dense classifier.

    Args:
        architecture: ``"seed"`` is the notebook's exactly: Dense 120-100-80-50-30-20 (ReLU)
            and a softmax, Adam, up to 1500 epochs, batch 64, ``validation_split=0.2``,
            early stopping on *training* accuracy with patience 100.  ``"regularized"``:
            Dense 256-128 with dropout and L2, Adam (1e-3), batch 128, early stopping on
            validation loss (patience 40, best weights restored), up to 400 epochs.
        seed: seeds Python, numpy and TensorFlow, with deterministic ops.
        epochs: overrides the maximum number of epochs.
    """

    def __init__(self, *, architecture: str = "regularized", seed: int = 0, epochs: int | None = None) -> None:
        self.architecture = architecture
        self.seed = seed
        self.epochs = epochs

    def _build(self, n_features: int, n_classes: int) -> Any:
        keras = _keras()
        layers = keras.layers
        if self.architecture == "seed":
            model = keras.Sequential(
                [keras.Input((n_features,))]
                + [layers.Dense(u, activation="relu") for u in (120, 100, 80, 50, 30, 20)]
                + [layers.Dense(n_classes, activation="softmax")]
            )
            model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(), metrics=["accuracy"])
            return model
        reg = keras.regularizers.l2(1e-4)
        model = keras.Sequential(
            [
                keras.Input((n_features,)),
                layers.Dropout(0.1),
                layers.Dense(256, activation="relu", kernel_regularizer=reg),
                layers.Dropout(0.4),
                layers.Dense(128, activation="relu", kernel_regularizer=reg),
                layers.Dropout(0.4),
                layers.Dense(n_classes, activation="softmax"),
            ]
        )
        model.compile(
            loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"]
        )
        return model

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        n_classes: int,
        class_weight: dict[int, float] | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> KerasNet:
        """Train on ``X`` [shape=(n, k)] and integer labels ``y`` [shape=(n,)]."""
        keras = _keras()
        keras.utils.set_random_seed(self.seed)
        try:
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
        except Exception:  # pragma: no cover - older TF
            pass
        self.model_ = self._build(X.shape[1], n_classes)
        onehot = keras.utils.to_categorical(y, n_classes)
        if self.architecture == "seed":
            cb = [keras.callbacks.EarlyStopping(monitor="accuracy", patience=100)]
            hist = self.model_.fit(
                X, onehot, epochs=self.epochs or 1500, batch_size=64, shuffle=True,
                validation_split=0.2, callbacks=cb, verbose=0,
            )
        else:
            cb = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=40, restore_best_weights=True)]
            kw: dict[str, Any] = {"validation_split": 0.15}
            if validation is not None:
                kw = {"validation_data": (validation[0], keras.utils.to_categorical(validation[1], n_classes))}
            hist = self.model_.fit(
                X, onehot, epochs=self.epochs or 400, batch_size=128, shuffle=True,
                class_weight=class_weight, callbacks=cb, verbose=0, **kw,
            )
        self.history_ = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise RuntimeError("This KerasNet instance is not fitted yet. Call 'fit' first.")
        return np.asarray(self.model_.predict(X, verbose=0, batch_size=1024), dtype=np.float64)

    def save(self, path: Path) -> None:
        self.model_.save(path)

    @classmethod
    def load(cls, path: Path, *, architecture: str) -> KerasNet:
        keras = _keras()
        self = cls(architecture=architecture)
        self.model_ = keras.saving.load_model(path, safe_mode=True, compile=False)
        return self
