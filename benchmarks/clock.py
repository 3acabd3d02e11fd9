"""Wall and CPU time of a round of work, counting this process and its worker processes.

On a shared machine wall time includes the time spent waiting for a core that
someone else holds; CPU time does not, so files per CPU-second is the steadier
figure when the load average is above the core count.  Worker processes that
outlive a round (loky's) count by the difference of their counters before and
after it (one started during the round from 0); workers that end within it (the
fork backend's) count once reaped, through this process's children's times.
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
        self._reaped = _reaped_cpu()
        self._cpu = time.process_time()
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._t
        own = time.process_time() - self._cpu
        after = children_cpu()
        kids = sum(max(0.0, t - self._kids.get(pid, 0.0)) for pid, t in after.items())
        # Reaped during the round: their whole lives, less what those alive at the start had used.
        reaped = _reaped_cpu() - self._reaped - sum(t for pid, t in self._kids.items() if pid not in after)
        self.cpu = own + kids + max(0.0, reaped)


def _reaped_cpu() -> float:
    """User + system CPU seconds of this process's children that have ended and been waited for."""
    t = os.times()
    return t.children_user + t.children_system
