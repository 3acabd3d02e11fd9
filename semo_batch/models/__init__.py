"""Emotion classifiers behind one interface, and their safe save/load.

- :mod:`~semo_batch.models.registry`: every model as one :class:`ModelSpec`.
- :mod:`~semo_batch.models.classifier`: :class:`EmotionClassifier`, the scikit-learn contract.
- :mod:`~semo_batch.models.persist`: the model-directory format (save, load, describe, allow-list).
- :mod:`~semo_batch.models.normalize`: speaker normalization and the standardizer.
- :mod:`~semo_batch.models.keras_nets`: the Keras networks (TensorFlow imported only when used).
"""

from __future__ import annotations

from .classifier import EmotionClassifier
from .persist import describe_model, load_model, save_model
from .registry import DEFAULT_MODEL, MODELS, ModelSpec, get_spec

__all__ = ["DEFAULT_MODEL", "MODELS", "ModelSpec", "EmotionClassifier", "get_spec", "load_model", "save_model",
           "describe_model"]
