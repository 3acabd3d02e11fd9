"""Run options: how work runs, never what it computes.

:class:`RunOptions` gathers the options that change speed and bookkeeping but
not the numbers (workers, backend, limits, progress); it is validated once when
built and never persisted into a store or a model, unlike
:class:`~semo_batch.config.FeatureConfig`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable

from .audio import DEFAULT_MAX_DURATION
from .choices import Backend, choose
from .errors import ConfigError

__all__ = ["ProgressCallback", "RunOptions"]

#: Called after each file with (files finished, files to do).
ProgressCallback = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a batch runs.

    Attributes:
        jobs: worker processes; ``1`` (the default) works in this process, ``0`` uses
            every core, but only as many as the batch keeps busy (a handful of files
            runs in this process: :func:`semo_batch.parallel.worker_count`).
        backend: :class:`~semo_batch.choices.Backend` (or its name); default
            :meth:`~semo_batch.choices.Backend.local` (``fork`` on Linux, else ``loky``).
        scheduler: with the Dask backend, a scheduler address (``tcp://host:8786``);
            ``None`` starts a local cluster.
        max_duration: refuse longer files (seconds); ``None``: no limit.
        follow_symlinks: follow links that lead out of the input folders.
        progress: called as ``progress(finished, total)`` after each file.

    Raises:
        ConfigError: a negative ``jobs``, a non-positive ``max_duration``, an unknown backend,
            ``fork`` off Linux, or a scheduler without the Dask backend.
    """

    jobs: int = 1
    backend: Backend = dataclasses.field(default_factory=Backend.local)
    scheduler: str | None = None
    max_duration: float | None = DEFAULT_MAX_DURATION
    follow_symlinks: bool = False
    progress: ProgressCallback | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", choose(Backend, self.backend, "backend"))
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 0:
            raise ConfigError(f"jobs must be a whole number of workers >= 0 (0: all cores). Got {self.jobs!r} instead.")
        if self.max_duration is not None and not (
            isinstance(self.max_duration, (int, float)) and math.isfinite(self.max_duration) and self.max_duration > 0
        ):
            raise ConfigError(
                f"max_duration must be a positive number of seconds, or None for no limit. Got {self.max_duration!r} instead."
            )
        if self.backend is Backend.FORK and Backend.local() is not Backend.FORK:
            raise ConfigError(f"the fork backend needs Linux; on {sys.platform} use backend='loky'")
        if self.scheduler is not None and self.backend is not Backend.DASK:
            raise ConfigError("a scheduler address needs the Dask backend (backend='dask')")

    def report(self, finished: int, total: int) -> None:
        """Tell the progress callback, if any."""
        if self.progress is not None:
            self.progress(finished, total)
