"""Wall and CPU time of a round of work, counting this process and its worker processes.

On a shared machine wall time includes the time spent waiting for a core that
someone else holds; CPU time does not, so files per CPU-second is the steadier
figure when the load average is above the core count.  Worker processes
(loky) outlive a round, so their CPU time is taken as the difference of their
counters before and after it; a worker started during the round counts from 0.
"""

from __future__ import annotations

import os
import time

import psutil

__all__ = ["Clock", "children_cpu"]


def children_cpu() -> dict[int, float]:
    """User + system CPU seconds of every live descendant of this process, by pid."""
    out = {}
    for p in psutil.Process(os.getpid()).children(recursive=True):
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


class Clock:
    """``with Clock() as c: ...`` then ``c.wall`` and ``c.cpu`` (seconds)."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Clock:  # noqa: PYI034 - never subclassed
        self._kids = children_cpu()
        self._cpu = time.process_time()
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._t
        own = time.process_time() - self._cpu
        after = children_cpu()
        kids = sum(max(0.0, t - self._kids.get(pid, 0.0)) for pid, t in after.items())
        self.cpu = own + kids
