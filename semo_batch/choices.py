"""The library's vocabulary of choices: every option with a fixed set of values.

The CLI, job files and library functions all use these Enums, so a choice is
spelled in one place.  Each is a ``str`` Enum: its members compare equal to
their values, and :func:`choose` turns a user's string into a member with a
one-line error that lists what is allowed.
"""

from __future__ import annotations

import enum
from typing import TypeVar

from .config import FeatureSet
from .errors import ConfigError
from .forkpool import FORK_AVAILABLE
from .naming import Scheme

__all__ = ["Backend", "CVProtocol", "FeatureSet", "ModelName", "NormalizeBy", "Scheme", "Split", "choose"]


class ModelName(str, enum.Enum):
    """The models :mod:`semo_batch.models.registry` knows how to build."""

    ENSEMBLE = "ensemble"
    FUSION = "fusion"
    LOGREG = "logreg"
    MLP = "mlp"
    SVM = "svm"
    DNN = "dnn"
    SEED_DNN = "seed-dnn"


class Split(str, enum.Enum):
    """How ``train`` holds rows out: whole actors, stratified random 80/20, or nothing."""

    ACTOR = "actor"
    RANDOM = "random"
    NONE = "none"


class CVProtocol(str, enum.Enum):
    """Cross-validation: folds of whole actors, stratified random folds, or one stratified 80/20 split."""

    ACTOR = "actor"
    RANDOM = "random"
    HOLDOUT = "holdout"


class NormalizeBy(str, enum.Enum):
    """Normalization groups: none, the speaker its name gives (``actor``), the parent folder,
    the corpus, the whole batch, or each file (``file``: the segments of one long recording,
    one speaker's session; for predicting on segments, not for training on whole clips)."""

    NONE = "none"
    ACTOR = "actor"
    FOLDER = "folder"
    CORPUS = "corpus"
    BATCH = "batch"
    FILE = "file"


class Backend(str, enum.Enum):
    """Where per-file work runs: local processes forked from this one (``fork``: they start in
    milliseconds; Linux only), local fresh interpreters (``loky``: any system), or a Dask cluster."""

    FORK = "fork"
    LOKY = "loky"
    DASK = "dask"

    @classmethod
    def local(cls) -> Backend:
        """The default: ``fork`` where it is safe (Linux), else ``loky``."""
        return cls.FORK if FORK_AVAILABLE else cls.LOKY


E = TypeVar("E", bound=enum.Enum)


def choose(kind: type[E], value: object, what: str) -> E:
    """``value`` as a member of ``kind``.

    Args:
        kind: the Enum.
        value: a member, or its string value (``None`` is accepted for :class:`NormalizeBy`
            as ``none``).
        what: the parameter's name, for the message.

    Raises:
        ConfigError: "The 'what' parameter must be one of {...}. Got 'x' instead."
    """
    if isinstance(value, kind):
        return value
    if value is None and kind is NormalizeBy:
        return kind("none")
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ConfigError(f"The {what!r} parameter must be one of {{{allowed}}}. Got {value!r} instead.") from None
