"""Progress for people: one bar on a terminal, a plain line now and then otherwise.

A :class:`ProgressPrinter` is a :data:`~semo_batch.options.ProgressCallback`:
give it to :class:`~semo_batch.options.RunOptions` (or to ``cross_validate``).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["ProgressPrinter"]


class ProgressPrinter:
    """One progress bar (tqdm) on a terminal; a plain line every 10% or 10 s otherwise.

    Args:
        label: what is being counted, shown first (``featurize``).
        unit: the thing counted (``file``, ``fold``).
        quiet: print nothing.
        stream: where to write (standard error).
    """

    def __init__(self, label: str, *, unit: str = "file", quiet: bool = False, stream: TextIO | None = None) -> None:
        self.label, self.unit, self.quiet = label, unit, quiet
        self.stream = stream or sys.stderr
        self.bar: Any = None
        self.t0 = time.monotonic()
        self.last = self.t0
        self.first: tuple[float, int] | None = None
        self.tty = self.stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=self.label, unit=self.unit, dynamic_ncols=True, file=self.stream)
            self.bar.update(done - self.bar.n)
            if done >= total:
                self.bar.close()
            return
        now = time.monotonic()
        step = max(total // 10, 1)
        if self.first is None:  # rates count from the first result: start-up is not a file's cost
            self.first = (now, done)
        if done == total or done % step == 0 or now - self.last > 10:
            self.last = now
            t_first, done_first = self.first
            rate = (done - done_first) / (now - t_first) if now > t_first and done > done_first else 0.0
            if done >= total:
                speed = f" in {now - self.t0:.1f} s"
            else:
                speed = f", {rate:.1f} {self.unit}s/s, ETA {(total - done) / rate:.0f} s" if rate > 0 else ""
            print(f"{self.label}: {done}/{total} {self.unit}s{speed}", file=self.stream, flush=True)
