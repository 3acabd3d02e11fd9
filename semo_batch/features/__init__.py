"""Pure array code: mono signal in, feature vector out.

Nothing here touches a path, a global that changes, or a numba-compiled
function.  ``extract(y, config)`` is the one entry point; ``names(config)``
gives the column names in the same order.
"""

from __future__ import annotations

import numpy as np

from ..config import FeatureConfig, FeatureSet
from ..errors import ConfigError
from .emo import emo_features, emo_names
from .seed import seed_features, seed_names

__all__ = ["extract", "names"]


def names(config: FeatureConfig) -> list[str]:
    """Column names of the features of ``config``, in :func:`extract`'s order."""
    if config.name == FeatureSet.SEED.value:
        return seed_names(config)
    if config.name == FeatureSet.EMO.value:
        return emo_names(config)
    raise ConfigError(f"no feature code for feature set {config.name!r}")


def extract(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Features of a mono float32 signal already at ``config.sample_rate``.

    Returns:
        float32 [shape=(len(names(config)),)].
    """
    if config.name == FeatureSet.SEED.value:
        return seed_features(y, config)
    if config.name == FeatureSet.EMO.value:
        return emo_features(y, config)
    raise ConfigError(f"no feature code for feature set {config.name!r}")
