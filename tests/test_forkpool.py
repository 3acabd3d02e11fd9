"""The fork backend's pool: input order, tasks of several items, one-thread workers that
ignore Ctrl-C, errors and dead workers raised here, workers killed when the caller stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from semo_batch import choices, forkpool
from semo_batch.choices import Backend
from semo_batch.errors import ConfigError
from semo_batch.forkpool import ordered_map
from semo_batch.options import RunOptions

pytestmark = pytest.mark.skipif(not forkpool.FORK_AVAILABLE, reason="the fork backend runs on Linux only")


def _square(x: int) -> int:
    time.sleep(0.001 * (x % 3))  # unequal work: tasks finish out of order
    return x * x


def _pid(_: object) -> int:
    return os.getpid()


def _worker_state(_: object) -> tuple[bool, str | None, int]:
    from threadpoolctl import threadpool_info

    blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    return (signal.getsignal(signal.SIGINT) == signal.SIG_IGN, os.environ.get("OMP_NUM_THREADS"),
            max(blas, default=1))


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad")
    return x


def _die_on_three(x: int) -> int:
    if x == 3:
        os._exit(1)  # as a crash in native code would
    return x


def _pid_then_stall(x: int) -> int:
    if x > 0:
        time.sleep(600)  # far longer than the test waits: only a kill ends it
    return os.getpid()


@pytest.mark.parametrize("chunk", [1, 3, 16])
def test_results_come_in_input_order_whatever_the_task_size(chunk: int) -> None:
    assert list(ordered_map(_square, range(23), workers=2, chunk=chunk)) == [x * x for x in range(23)]


def test_tasks_shrink_towards_the_end_of_a_sized_input() -> None:
    sizes = [len(t) for t in forkpool._tasks(list(range(1200)), 16, 8)]
    assert sum(sizes) == 1200
    assert sizes[:68] == [16] * 68 and sizes[68] < 16  # full while 8 * 16 or more are left
    assert sizes[68:] == sorted(sizes[68:], reverse=True) and sizes[-10:] == [1] * 10
    assert [x for t in forkpool._tasks(list(range(50)), 16, 8) for x in t] == list(range(50))
    # Of an input without a length (a generator), every task but the last is full.
    assert [len(t) for t in forkpool._tasks(iter(range(50)), 16, 8)] == [16, 16, 16, 2]


def test_no_items_start_no_worker() -> None:
    assert list(ordered_map(_pid, [], workers=2)) == []


def test_items_run_in_other_processes_with_one_thread_and_ctrl_c_ignored() -> None:
    # Ctrl-C handled here as in an interactive run (a background job starts with it ignored).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        pids = set(ordered_map(_pid, range(8), workers=2))
        assert os.getpid() not in pids and 1 <= len(pids) <= 2
        for ignores_ctrl_c, omp, blas_threads in ordered_map(_worker_state, range(2), workers=2):
            assert ignores_ctrl_c and omp == "1" and blas_threads == 1
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # this process untouched
    finally:
        signal.signal(signal.SIGINT, before)


def _stall_on_zero(x: int) -> int:
    if x == 0:
        time.sleep(1.0)  # the first task is slow: the others finish and wait for it
    return x


def test_only_a_bounded_number_of_items_is_read_ahead() -> None:
    read = []

    def items():
        for i in range(1000):
            read.append(i)
            yield i

    results = ordered_map(_stall_on_zero, items(), workers=2, chunk=3, in_flight=2)
    assert next(results) == 0
    assert len(read) <= 2 * 2 * 3  # workers x in_flight tasks of 3, however fast the others were
    assert list(results) == list(range(1, 1000))


def test_preloaded_modules_are_imported_before_the_fork() -> None:
    sys.modules.pop("colorsys", None)
    assert list(ordered_map(_square, [2], workers=1, preload=("colorsys",))) == [4]
    assert "colorsys" in sys.modules


def test_an_exception_in_a_worker_is_raised_here() -> None:
    with pytest.raises(ValueError, match="three is bad") as info:
        list(ordered_map(_fail_on_three, range(6), workers=2))
    assert "_fail_on_three" in str(info.value.__cause__)  # the worker's traceback


def test_a_worker_that_dies_breaks_the_pool_loudly() -> None:
    with pytest.raises(BrokenProcessPool):
        list(ordered_map(_die_on_three, range(6), workers=2))


def _gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether process ``pid`` ends (or is a zombie) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        except ChildProcessError:
            pass
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_closing_early_kills_the_workers_mid_task() -> None:
    results = ordered_map(_pid_then_stall, range(4), workers=2)
    pid = next(results)
    results.close()  # both workers are in a task that would run for 10 minutes
    assert _gone(pid)


_ORPHAN_DRIVER = (
    "import sys, time\n"
    "from semo_batch.forkpool import ordered_map\n"
    "from tests.test_forkpool import _pid_then_stall\n"
    "results = ordered_map(_pid_then_stall, range(4), workers=2)\n"
    "print(next(results), flush=True)\n"
    "time.sleep(600)\n"
)


def test_workers_die_with_a_killed_parent() -> None:
    """A batch killed with SIGKILL (no chance to clean up) leaves no worker behind."""
    driver = subprocess.Popen([sys.executable, "-c", _ORPHAN_DRIVER], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
    try:
        worker = int(driver.stdout.readline())
        assert not _gone(worker, timeout=0.2)  # stalled in its second task
        driver.kill()
        driver.wait(timeout=30)
        assert _gone(worker)
    finally:
        driver.kill()


def test_fork_is_the_local_default_where_it_is_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    assert RunOptions().backend is Backend.FORK
    monkeypatch.setattr(choices, "FORK_AVAILABLE", False)  # as on macOS or Windows
    assert RunOptions().backend is Backend.LOKY
    with pytest.raises(ConfigError, match="fork backend needs Linux"):
        RunOptions(backend="fork")


#: What numpy's OpenBLAS runs on after ``{before}`` and ``{call}``: the variable, and its threads.
_BLAS_PROBE = (
    "import os\n"
    "{before}"
    "{call}"
    "import numpy\n"
    "from threadpoolctl import threadpool_info\n"
    "print(os.environ.get('OPENBLAS_NUM_THREADS'),"
    " max((lib['num_threads'] for lib in threadpool_info() if lib['internal_api'] == 'openblas'), default=None))\n"
)
#: OpenBLAS runs at most one thread per CPU this process may use.
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _blas(call: str = "from semo_batch.forkpool import single_blas_thread\nsingle_blas_thread()\n", before: str = "",
          **env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", _BLAS_PROBE.format(before=before, call=call)], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    variable, threads = out.stdout.split()
    if threads == "None":
        pytest.skip("numpy is not built on OpenBLAS here")
    return variable, int(threads)


def test_a_batch_parent_starts_numpy_with_one_blas_thread() -> None:
    assert _blas() == ("1", 1)
    assert _blas(OPENBLAS_NUM_THREADS="2") == ("2", min(2, _CPUS))  # the user's choice stays
    # Too late once numpy is loaded: nothing is changed then.
    assert _blas(before="import numpy\n") == ("None", _blas(call="")[1])


def test_the_featurize_command_loads_numpy_with_one_blas_thread(tmp_path: Path) -> None:
    command = ("from semo_batch.cli import app\n"
               f"try:\n    app(['featurize', {str(tmp_path)!r}, '--store', {str(tmp_path / 's')!r}, '--quiet'])\n"
               "except SystemExit:\n    pass\n")
    assert _blas(call=command) == ("1", 1)
