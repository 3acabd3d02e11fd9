"""The demo: the bundled RAVDESS sample clips through the bundled default model."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .naming import parse_ravdess
from .options import RunOptions
from .predict import predict_folders, write_csv
from .resources import default_model_dir, sample_dir

__all__ = ["DemoRow", "DemoResult", "demo"]


@dataclasses.dataclass(frozen=True)
class DemoRow:
    name: str
    truth: str
    predicted: str
    confidence: float


@dataclasses.dataclass(frozen=True)
class DemoResult:
    rows: list[DemoRow]
    output: Path | None

    @property
    def correct(self) -> int:
        return sum(r.truth == r.predicted for r in self.rows)

    def lines(self) -> list[str]:
        out = [f"{'file':28s} {'true':10s} {'predicted':10s} confidence"]
        out += [f"{r.name:28s} {r.truth:10s} {r.predicted:10s} {r.confidence:.2f}" for r in self.rows]
        where = f" -> {self.output}" if self.output else ""
        return out + [f"{self.correct}/{len(self.rows)} correct (these clips' actors were in the model's training data){where}"]


def demo(output: str | os.PathLike[str] | None = None) -> DemoResult:
    """Predict the bundled sample clips with the bundled model; write the CSV to ``output`` if given."""
    df = predict_folders([sample_dir()], default_model_dir(), options=RunOptions(jobs=1))
    if output is not None:
        write_csv(df, output)
    rows = []
    for row in df.iter_rows(named=True):
        name = Path(row["path"]).name
        fields = parse_ravdess(name)
        rows.append(DemoRow(name, fields["emotion"] if fields else "?", row["emotion"] or row["error"],
                            float(row["confidence"] or 0.0)))
    return DemoResult(rows, Path(output) if output is not None else None)
