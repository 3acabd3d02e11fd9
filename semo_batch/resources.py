"""Files shipped inside the package: sample clips and the default model."""

from __future__ import annotations

from pathlib import Path

__all__ = ["sample_dir", "default_model_dir"]

_DATA = Path(__file__).resolve().parent / "data"


def sample_dir() -> Path:
    """Bundled RAVDESS sample clips (CC BY-NC-SA 4.0; see ATTRIBUTION.md there)."""
    return _DATA / "samples"


def default_model_dir(*, normalized: bool = False) -> Path:
    """A bundled default model: the plain one, for single files (``jobs/default-model.toml``
    rebuilds it), or with ``normalized`` the speaker-normalized one, for folders of one
    speaker's clips (``jobs/default-model-normalized.toml``)."""
    return _DATA / ("model-normalized" if normalized else "model")
