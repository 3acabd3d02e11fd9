"""Pure array code: mono signal in, feature vector out.

Nothing here touches a path, a global that changes, or a numba-compiled
function; the ``whisper`` set gets its encoder from :mod:`semo_batch.encoder`.  ``extract(y, config)`` is the one entry point; ``names(config)``
gives the column names in the same order.
"""

from __future__ import annotations

import functools

import numpy as np

from ..config import FeatureConfig, FeatureSet
from ..errors import ConfigError
from .emo import emo_features, emo_names
from .seed import seed_features, seed_names
from .whisper import whisper_features, whisper_names

__all__ = ["extract", "names", "prepare"]


def prepare(config: FeatureConfig) -> None:
    """Check, once and before any file, what ``config`` needs besides the code (the encoder's weights).

    A run calls this first so that a missing or altered dependency is one error, not
    one failure per file.

    Raises:
        ModelError: the whisper weights are missing or do not match the pinned digest.
    """
    for part in config.parts or ():
        prepare(part)
    if config.encoder_sha256 is not None:
        from ..encoder import check_installed

        check_installed(config.encoder_sha256)


def names(config: FeatureConfig) -> list[str]:
    """Column names of the features of ``config``, in :func:`extract`'s order."""
    if config.parts:
        return [n for part in config.parts for n in names(part)]
    if config.name == FeatureSet.SEED.value:
        return seed_names(config)
    if config.name == FeatureSet.EMO.value:
        return emo_names(config)
    if config.name == FeatureSet.WHISPER.value:
        return whisper_names(config)
    raise ConfigError(f"no feature code for feature set {config.name!r}")


def extract(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Features of a mono float32 signal already at ``config.sample_rate``.

    Returns:
        float32 [shape=(len(names(config)),)].
    """
    if config.parts:
        return np.concatenate([extract(y, part) for part in config.parts]).astype(np.float32, copy=False)
    if config.name == FeatureSet.SEED.value:
        return seed_features(y, config)
    if config.name == FeatureSet.EMO.value:
        return emo_features(y, config)
    if config.name == FeatureSet.WHISPER.value:
        # The encoder (a model cached per process) is handed in: feature code stays pure.
        from ..encoder import encode_log_mel

        return whisper_features(y, config, functools.partial(encode_log_mel, config=config))
    raise ConfigError(f"no feature code for feature set {config.name!r}")
