"""What a feature store holds, as typed results: :meth:`semo_batch.store.FeatureStore.summary`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .layout import QUARANTINE_DIR

__all__ = ["DatasetSummary", "StoreSummary"]


@dataclasses.dataclass(frozen=True)
class DatasetSummary:
    """The rows of one feature configuration in a store.

    Attributes:
        files: files with a row of their own recording (the newest row per file counts).
        labelled: those of them with an emotion label.
        augmented: speed-perturbed and channel-changed copies (newest per file and copy).
        superseded: older rows that a newer row of the same file and copy replaces
            (:func:`semo_batch.compact.compact` drops them).
        failures: files whose newest attempt failed.
    """

    feature_set: str
    fingerprint: str
    files: int
    labelled: int
    augmented: int
    superseded: int
    failures: int
    chunks: int
    folder: str

    def line(self) -> str:
        return (f"{self.feature_set:6s} {self.fingerprint}  {self.files} files in {self.chunks} "
                f"chunk{'s' if self.chunks != 1 else ''} ({self.labelled} labelled, {self.augmented} augmented rows, "
                f"{self.superseded} superseded rows, {self.failures} failures)  {self.folder}")


@dataclasses.dataclass(frozen=True)
class StoreSummary:
    """What a store holds: its feature configurations, recorded failures and set-aside chunks.

    ``warnings`` are the one-line warnings of this look (a chunk just set aside);
    ``quarantined`` lists every chunk under ``quarantine/``.
    """

    path: str
    datasets: list[DatasetSummary]
    failures: list[tuple[str, str]]
    quarantined: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def lines(self, *, max_failures: int = 20) -> list[str]:
        out = [d.line() for d in self.datasets]
        out.append(f"{len(self.failures)} files with a recorded failure")
        out += [f"  {path}: {reason}" for path, reason in self.failures[:max_failures]]
        if superseded := sum(d.superseded for d in self.datasets):
            out.append(f"{superseded} superseded rows: compacting the store (semo-batch compact) drops them")
        if k := len(self.quarantined):
            out.append(f"{k} damaged chunk{'s' if k != 1 else ''} set aside in {Path(self.path) / QUARANTINE_DIR}")
        return out
