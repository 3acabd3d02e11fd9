"""semo-batch: batch speech emotion classification.

The public API, importable from the package itself::

    from semo_batch import featurize, train, evaluate, cross_validate, predict_folders, load_model

Everything is imported on first use, so ``import semo_batch`` stays light (the
feature workers import this package, and must not load polars, scikit-learn or
TensorFlow).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_API: dict[str, str] = {
    "featurize": "featurize",
    "FeaturizeSummary": "featurize",
    "train": "train",
    "TrainResult": "train",
    "evaluate": "evaluate",
    "cross_validate": "evaluate",
    "EvalResult": "evaluate",
    "predict_folders": "predict",
    "predict_to_csv": "predict",
    "load_model": "models",
    "save_model": "models",
    "EmotionClassifier": "models",
    "load_labelled": "dataset",
    "LabelledData": "dataset",
    "results_table": "results",
    "corpus_table": "results",
    "evaluate_channels": "robustness",
    "Scores": "metrics",
    "CVResult": "metrics",
    "FeatureStore": "store",
    "compact": "compact",
    "CompactSummary": "compact",
    "FeatureConfig": "config",
    "get_config": "config",
    "RunOptions": "options",
    "FeatureSet": "choices",
    "ModelName": "choices",
    "Split": "choices",
    "CVProtocol": "choices",
    "NormalizeBy": "choices",
    "Backend": "choices",
    "Scheme": "choices",
    "SemoError": "errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'semo_batch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
