"""semo-batch: batch speech emotion classification."""

from __future__ import annotations

__version__ = "0.1.0"
