"""Where things go by default, and checks on where a user asks them to go."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError
from .resources import default_model_dir

__all__ = ["DEFAULT_MODEL_DIR", "DEFAULT_STORE", "check_output_path", "resolve_model_dir"]

#: Where ``featurize`` writes and ``train``/``evaluate`` read, unless told otherwise.
DEFAULT_STORE = Path("semo-store")
#: Where ``train`` writes a model and ``evaluate``/``predict`` look for one.
DEFAULT_MODEL_DIR = Path("semo-model")


def resolve_model_dir(model_dir: str | os.PathLike[str] | None, *, normalized: bool = False) -> Path:
    """The model to use: ``model_dir`` if given, else ``./semo-model`` if it holds a model,
    else a bundled model: the speaker-normalized one when ``normalized`` (predictions
    grouped by folder or batch), the plain one otherwise."""
    if model_dir is not None:
        return Path(model_dir)
    if (DEFAULT_MODEL_DIR / "model.json").is_file():
        return DEFAULT_MODEL_DIR
    return default_model_dir(normalized=normalized)


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that a file can be written at ``path``.

    Its folder may not exist yet (it will be created), but nothing in the way may be a
    file, and the nearest existing folder must be writable.

    Raises:
        ConfigError: ``path`` is a folder, a parent is a file, or the folder is not writable.
    """
    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"{out}: is a folder; give a file name to write")
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{out}: cannot be written, {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{out}: cannot be written, no permission to write in {parent}")
    return out
