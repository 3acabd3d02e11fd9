"""Figures: what one file looks like to the features, and how a model did.

Each figure has two verbs: ``*_figure(...)`` returns the Figure (for tests,
notebooks and the HTML report) and ``plot_*(..., out_png)`` (for one file,
:func:`inspect_file`) saves it as a PNG and returns the path.

- :mod:`~semo_batch.plots.canvas`: a bare Agg figure and PNG encoding.
- :mod:`~semo_batch.plots.inspect_panel`: the inspection figure of one file.
- :mod:`~semo_batch.plots.evaluation`: training curves, confusion matrix, per-class
  scores, predictions and the data-set overview; :func:`save_model_figures` for a model folder.
- :mod:`~semo_batch.plots.timeline`: long recordings, segment by segment.
"""

from __future__ import annotations

from .canvas import DPI, png_bytes, save_png
from .evaluation import (
    confusion_matrix_figure,
    dataset_overview_figure,
    per_class_figure,
    plot_confusion_matrix,
    plot_per_class,
    plot_predictions,
    plot_training_curves,
    predictions_figure,
    save_model_figures,
    training_curves_figure,
)
from .inspect_panel import INSPECT_PANELS, ZOOM_SAMPLES, inspect_figure, inspect_file, inspect_signal
from .timeline import plot_timelines, timeline_figure

__all__ = [
    "DPI",
    "INSPECT_PANELS",
    "ZOOM_SAMPLES",
    "confusion_matrix_figure",
    "dataset_overview_figure",
    "inspect_figure",
    "inspect_file",
    "inspect_signal",
    "per_class_figure",
    "plot_confusion_matrix",
    "plot_timelines",
    "timeline_figure",
    "plot_per_class",
    "plot_predictions",
    "plot_training_curves",
    "png_bytes",
    "predictions_figure",
    "save_model_figures",
    "save_png",
    "training_curves_figure",
]
