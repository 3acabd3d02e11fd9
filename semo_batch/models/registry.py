"""Every model semo-batch can train, each one specification.

A :class:`ModelSpec` says what a model is (how to build its estimator, what its
weights file is, what it must load as) and how it is trained (scaled inputs,
class weights, early stopping on held-out speakers, the notebook's protocol),
so the classifier, training and the results table read these flags instead of
testing model names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ..choices import ModelName, choose
from ..errors import ConfigError

__all__ = ["DEFAULT_MODEL", "MODELS", "ModelSpec", "check_available", "get_spec"]

#: The model ``train`` and ``evaluate --cv`` use unless told otherwise.
DEFAULT_MODEL = ModelName.ENSEMBLE


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One trainable model.

    Attributes:
        name: its name in the vocabulary.
        description: one line for help texts and the README.
        make: ``make(seed, params)`` builds an unfitted estimator (scikit-learn) or network.
        weights: the weights file in a model directory: ``model.skops`` or ``model.keras``.
        top_type: for scikit-learn models, the class a loaded ``model.skops`` must hold.
        keras_architecture: for networks, the :class:`~semo_batch.models.keras_nets.KerasNet` architecture.
        scaled_inputs: standardize features with training-row statistics (every model but the notebook's).
        class_weights: networks: weight classes inversely to their frequency.
        speaker_validation: networks: stop early on speakers held out of training.
        notebook_protocol: train as the notebook did: rows in the random split's shuffled order,
            no speaker normalization and no augmented rows in the results table.
        per_part: the estimator takes the column blocks of the feature set's parts (``blocks``
            in its parameters), one member per part.
    """

    name: ModelName
    description: str
    make: Callable[[int, Mapping[str, Any]], Any]
    weights: str = "model.skops"
    top_type: str | None = None
    keras_architecture: str | None = None
    scaled_inputs: bool = True
    class_weights: bool = False
    speaker_validation: bool = False
    notebook_protocol: bool = False
    per_part: bool = False

    @property
    def is_network(self) -> bool:
        return self.keras_architecture is not None

    @property
    def needs_tensorflow(self) -> bool:
        """The networks need TensorFlow, an optional dependency (``pip install 'semo-batch[dnn]'``)."""
        return self.is_network


def _logreg(seed: int, params: Mapping[str, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=params.get("C", 0.05), tol=1e-3, max_iter=5000, class_weight="balanced", random_state=seed)


def _svm(seed: int, params: Mapping[str, Any]) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    svc = SVC(C=params.get("C", 10.0), gamma=params.get("gamma", "scale"), kernel="rbf", class_weight="balanced")
    # Platt scaling fit on internal folds, one SVC refit on all rows (what SVC(probability=True) did).
    return CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False)


def _mlp(seed: int, params: Mapping[str, Any]) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(int(params.get("hidden", 256)),), alpha=params.get("alpha", 1.0), max_iter=500,
        random_state=seed,
    )


def _ensemble(seed: int, params: Mapping[str, Any]) -> Any:
    from sklearn.ensemble import VotingClassifier

    names = params.get("members", ("logreg", "mlp"))
    members = [(m, get_spec(m).make(seed, params.get(m, {}))) for m in names]
    return VotingClassifier(members, voting="soft")


def _fusion(seed: int, params: Mapping[str, Any]) -> Any:
    from .fusion import BlockFusion

    # C = 0.01, the strongest regularization tried (0.01, 0.05, 0.2): best or within 0.6 points of
    # the best on every two-corpus and cross-corpus protocol, the closest proxies to unseen corpora.
    member = params.get("member", "logreg")
    return BlockFusion(get_spec(member).make(seed, params.get(member, {"C": params.get("C", 0.01)})),
                       blocks=[tuple(b) for b in params.get("blocks", ())])


def _network(architecture: str) -> Callable[[int, Mapping[str, Any]], Any]:
    def make(seed: int, params: Mapping[str, Any]) -> Any:
        from .keras_nets import KerasNet

        return KerasNet(architecture=architecture, seed=seed, epochs=params.get("epochs"))

    return make


_SPECS = (
    ModelSpec(ModelName.SEED_DNN, "the notebook's dense network, unscaled inputs (reproduces its experiment)",
              _network("seed"), weights="model.keras", keras_architecture="seed", scaled_inputs=False,
              notebook_protocol=True),
    ModelSpec(ModelName.DNN, "regularized dense network (dropout, L2, early stopping on validation loss)",
              _network("regularized"), weights="model.keras", keras_architecture="regularized",
              class_weights=True, speaker_validation=True),
    ModelSpec(ModelName.LOGREG, "multinomial logistic regression (L2, balanced class weights)", _logreg,
              top_type="LogisticRegression"),
    ModelSpec(ModelName.SVM, "RBF support vector machine with Platt-scaled probabilities (balanced class weights)",
              _svm, top_type="CalibratedClassifierCV"),
    ModelSpec(ModelName.MLP, "scikit-learn multi-layer perceptron (one hidden layer of 256, strong L2)", _mlp,
              top_type="MLPClassifier"),
    ModelSpec(ModelName.ENSEMBLE, "soft vote of logreg and mlp", _ensemble, top_type="VotingClassifier"),
    ModelSpec(ModelName.FUSION, "late fusion: one logreg per part of a combined feature set, probabilities averaged",
              _fusion, top_type="BlockFusion", per_part=True),
)

#: Every model by name.
MODELS: dict[ModelName, ModelSpec] = {s.name: s for s in _SPECS}


def get_spec(name: str | ModelName) -> ModelSpec:
    """The specification of a model.

    Raises:
        ConfigError: an unknown name, listing the known ones.
    """
    return MODELS[choose(ModelName, name, "model")]


def check_available(name: str | ModelName) -> ModelSpec:
    """The specification of a model whose optional dependencies are installed.

    Called before any work (loading a store, loading weights) so that a missing
    dependency is one line, not a failure halfway through.

    Raises:
        ConfigError: an unknown name, or a network without TensorFlow: one line saying how to install it.
    """
    spec = get_spec(name)
    if spec.needs_tensorflow:
        from .keras_nets import INSTALL_HINT, tensorflow_installed

        if not tensorflow_installed():
            raise ConfigError(f"model {spec.name.value!r} needs TensorFlow: {INSTALL_HINT}")
    return spec
