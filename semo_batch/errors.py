"""The exception family of semo-batch.

Every error a user can cause (a bad file, a bad folder, a model that does not
match) is a :class:`SemoError` whose ``str()`` is one line naming the thing at
fault and the problem, so that the CLI can print it and exit without a
traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = [
    "failure_lines",
    "SemoError",
    "AudioError",
    "ConfigError",
    "StoreError",
    "StoreLockedError",
    "StoreWriteError",
    "os_problem",
    "ModelError",
    "Interrupted",
]


class SemoError(Exception):
    """Base class: a problem the user can fix, with a one-line message."""


class AudioError(SemoError):
    """A file could not be turned into features.

    Args:
        path: the file at fault.
        reason: what is wrong with it, one line, no trailing period.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")


class ConfigError(SemoError):
    """A bad option, job file or folder given by the user."""


class StoreError(SemoError):
    """The feature store is missing, empty or unreadable."""


class StoreLockedError(StoreError):
    """Another process is writing to the same store."""


class StoreWriteError(StoreError):
    """The store cannot be written (a full disk, a read-only folder); what was written is kept.

    Args:
        path: the store.
        problem: what is wrong, a few words (see :func:`os_problem`).
        hint: what was kept and what to do, or ``""``.
    """

    def __init__(self, path: str | Path, problem: str, hint: str = "") -> None:
        self.path, self.problem, self.hint = str(path), problem, hint
        super().__init__(f"{self.path}: {problem}" + (f" ({hint})" if hint else ""))

    @property
    def full(self) -> bool:
        """Whether freeing space (rather than permissions) is the fix."""
        return self.problem in (_PROBLEMS[errno.ENOSPC], _PROBLEMS[errno.EDQUOT])


_PROBLEMS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied (the store is not writable)",
    errno.EPERM: "permission denied (the store is not writable)",
}


def os_problem(exc: OSError) -> str:
    """An operating-system error in a few words, one line, without the path."""
    if exc.errno in _PROBLEMS:
        return _PROBLEMS[exc.errno]
    text = " ".join(str(exc.strerror or exc).split())
    return text[:200].lower() or type(exc).__name__


class ModelError(SemoError):
    """A model directory is missing, tampered with, or does not match the data."""


class Interrupted(SemoError):
    """The run was stopped by the user (Ctrl-C); what was done is kept."""


def failure_lines(failures: list[tuple[str, str]], *, limit: int = 10, more_in: str = "") -> list[str]:
    """One line per failed file (``  failed: PATH: REASON``), the first ``limit``, then a count."""
    out = [f"  failed: {path}: {reason}" for path, reason in failures[:limit]]
    if len(failures) > limit:
        out.append(f"  ... and {len(failures) - limit} more{more_in}")
    return out
