"""One table of results: files/s per core and the ratio to the notebook, in Markdown."""

from __future__ import annotations

import dataclasses
import statistics

__all__ = ["Row", "markdown_table"]


@dataclasses.dataclass
class Row:
    """A measured item.

    Attributes:
        key: short id; the row whose key is the reference gives the ratios.
        label: what the row says.
        files: files per round (0 for items that are not per-file, e.g. ``--help``).
        workers: worker processes (files/s per core = files/s / workers).
        times: wall seconds of each timed round.
        cpu: CPU seconds of each timed round, this process and its workers together.
        peak_rss: peak resident memory of the process tree in bytes, where measured.
        peak_process: peak resident memory of its largest single process in bytes.
        note: anything the reader needs (cold start, fallbacks).

    Speeds use the best round: on a shared machine other load only ever adds
    time, so the fastest round is the closest to the code's own cost.  The
    median is shown next to it to show the spread.
    """

    key: str
    label: str
    files: int
    workers: int
    times: list[float]
    cpu: list[float] = dataclasses.field(default_factory=list)
    peak_rss: int | None = None
    peak_process: int | None = None
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.times) if self.times else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    @property
    def per_core(self) -> float | None:
        """Files/s per worker process, from the best round."""
        if not self.files or not self.times or self.best <= 0:
            return None
        return self.files / self.best / max(self.workers, 1)

    @property
    def per_cpu_second(self) -> float | None:
        """Files per CPU-second (the least CPU a round took), all processes together."""
        if not self.files or not self.cpu or min(self.cpu) <= 0:
            return None
        return self.files / min(self.cpu)


def _fmt_rate(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def markdown_table(rows: list[Row], *, reference_key: str) -> str:
    """The table, with ratios against the reference row (``-`` when it was not measured)."""
    ref = next((r for r in rows if r.key == reference_key), None)
    ref_rate = ref.per_core if ref is not None else None
    ref_cpu = ref.per_cpu_second if ref is not None else None
    lines = [
        (
            "| item | workers | files | best s | median s | files/s per core | x notebook | files/CPU-s "
            "| x notebook | peak RSS (tree) | largest process | note |"
        ),
        "|" + "---|" * 12,
    ]
    for r in rows:
        rate = r.per_core
        ratio = f"{rate / ref_rate:.1f}x" if rate is not None and ref_rate else "-"
        cpu_rate = r.per_cpu_second
        cpu_ratio = f"{cpu_rate / ref_cpu:.1f}x" if cpu_rate is not None and ref_cpu else "-"
        rss = f"{r.peak_rss / 2**20:.0f} MiB" if r.peak_rss else "-"
        largest = f"{r.peak_process / 2**20:.0f} MiB" if r.peak_process else "-"
        med = f"{r.median:.3f}" if len(r.times) > 1 else "-"
        lines.append(
            f"| {r.label} | {r.workers or '-'} | {r.files or '-'} | {r.best:.3f} | {med} | {_fmt_rate(rate)} | "
            f"{ratio} | {_fmt_rate(cpu_rate)} | {cpu_ratio} | {rss} | {largest} | {r.note} |"
        )
    return "\n".join(lines)
