"""Files shipped inside the package: sample clips and the default model."""

from __future__ import annotations

from pathlib import Path

__all__ = ["sample_dir", "default_model_dir"]

_DATA = Path(__file__).resolve().parent / "data"


def sample_dir() -> Path:
    """Bundled RAVDESS sample clips (CC BY-NC-SA 4.0; see ATTRIBUTION.md there)."""
    return _DATA / "samples"


def default_model_dir() -> Path:
    """The bundled default model (``jobs/default-model.toml`` rebuilds it)."""
    return _DATA / "model"
