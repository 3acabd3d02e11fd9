"""The store's write lock: one writer at a time, held by flock until it is released or
the process ends (even by SIGKILL); taking it clears what a killed writer left behind."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from pathlib import Path

from .errors import StoreLockedError, StoreWriteError, os_problem
from .layout import COMPACT_DIR

__all__ = ["release_lock", "take_lock"]


#: Lock descriptors this process holds.  A process forked from this one (a ``fork`` backend
#: worker) closes its copies at once: a worker that outlived a killed writer must not keep
#: the store locked (closing a copy does not release the writer's lock; only ``LOCK_UN`` or
#: the last copy's close does).
_HELD: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _HELD:
        try:
            os.close(fd)
        except OSError:  # pragma: no cover - closed already
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


def take_lock(store: Path) -> int:
    """Take ``store``'s write lock (``STORE/.lock``, held by flock until the returned
    descriptor is closed or the process ends, even by SIGKILL), then remove what a writer
    killed before left: hidden chunk temporaries and a compaction's folder (which holds
    only copies of rows the store has).

    Raises:
        StoreLockedError: another process holds it.
        StoreWriteError: the store cannot be written (read-only, full).
    """
    try:
        store.mkdir(parents=True, exist_ok=True)
        fd = os.open(store / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreWriteError(store, f"cannot write the store: {os_problem(exc)}") from None
    if not os.access(store, os.W_OK | os.X_OK):  # the lock file writable, the folder not
        os.close(fd)
        raise StoreWriteError(store, f"cannot write the store: {os_problem(PermissionError(errno.EACCES, ''))}")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        finally:
            os.close(fd)
        raise StoreLockedError(
            f"{store}: store is being written by another semo-batch process (pid {holder}); "
            "wait for it to finish or use another --store"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    except OSError as exc:  # a full disk: say so now, before any work
        release_lock(fd)
        raise StoreWriteError(store, f"cannot write the store: {os_problem(exc)}") from None
    _HELD.add(fd)
    for tmp in store.glob("*/**/.part-*.parquet.tmp"):
        tmp.unlink(missing_ok=True)
    shutil.rmtree(store / COMPACT_DIR, ignore_errors=True)
    return fd


def release_lock(fd: int) -> None:
    """Release a lock taken by :func:`take_lock`."""
    _HELD.discard(fd)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
