"""One table of results: files/s per core and the ratio to the notebook, in Markdown."""

from __future__ import annotations

import dataclasses
import statistics

__all__ = ["Row", "median", "markdown_table"]


@dataclasses.dataclass
class Row:
    """A measured item.

    Attributes:
        key: short id; the row whose key is the reference gives the ratios.
        label: what the row says.
        files: files per round (0 for items that are not per-file, e.g. ``--help``).
        workers: worker processes (files/s per core = files/s / workers).
        seconds: the median round time.
        rounds: timed rounds behind the median.
        peak_rss: peak resident memory of the process tree in bytes, where measured.
        note: anything the reader needs (cold start, fallbacks).
    """

    key: str
    label: str
    files: int
    workers: int
    seconds: float
    rounds: int = 1
    peak_rss: int | None = None
    note: str = ""

    @property
    def per_core(self) -> float | None:
        if not self.files or self.seconds <= 0:
            return None
        return self.files / self.seconds / max(self.workers, 1)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _fmt_rate(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def markdown_table(rows: list[Row], *, reference_key: str) -> str:
    """The table, with ratios against the reference row (``-`` when it was not measured)."""
    ref = next((r for r in rows if r.key == reference_key), None)
    ref_rate = ref.per_core if ref is not None else None
    head = "| item | workers | files | median s | files/s per core | x notebook | peak RSS (tree) | note |"
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        rate = r.per_core
        ratio = f"{rate / ref_rate:.1f}x" if rate is not None and ref_rate else "-"
        rss = f"{r.peak_rss / 2**20:.0f} MiB" if r.peak_rss else "-"
        lines.append(
            f"| {r.label} | {r.workers or '-'} | {r.files or '-'} | {r.seconds:.3f} | {_fmt_rate(rate)} | "
            f"{ratio} | {rss} | {r.note} |"
        )
    return "\n".join(lines)
