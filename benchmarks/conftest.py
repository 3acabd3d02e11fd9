"""pytest-benchmark suite on the real shared RAVDESS files.

Run (from the repository root):

    pytest benchmarks --benchmark-enable          # full: 120 files, 5 rounds
    SEMO_BENCH_QUICK=1 pytest benchmarks          # CI: 12 files, 1 round, never judged on time
    pytest benchmarks --bench-quick               # the same as the line above

pyproject's ``addopts`` carries ``--benchmark-disable``, so without
``--benchmark-enable`` each item runs its rounds untimed by pytest-benchmark;
this suite still times them itself and prints one Markdown table (files/s per
core and the ratio to the notebook reference measured in the same session) at
the end.  No test asserts on a time.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread, as each featurize worker has, so that one process is one core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import corpus
import pytest
from clock import Clock
from results import Row, markdown_table
from workloads import REFERENCE_KEY, Scratch, Workload

_ROWS: dict[str, Row] = {}
_NOTES: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bench-quick",
        action="store_true",
        default=False,
        help="semo-batch benchmarks: 12 files and 1 round, to keep the suite working in CI "
        "(also SEMO_BENCH_QUICK=1)",
    )


@pytest.fixture(scope="session")
def sizes(request: pytest.FixtureRequest) -> corpus.Sizes:
    return corpus.sizes(request.config.getoption("--bench-quick") or corpus.quick_from_env())


@pytest.fixture(scope="session", autouse=True)
def _like_a_worker() -> Iterator[None]:
    """One BLAS thread and glibc's allocator tuned, as in every featurize worker."""
    from semo_batch.workers import tune_process

    tune_process()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        yield
        return
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def flacs() -> list[Path]:
    files = corpus.flac_files()
    if corpus.is_synthetic():
        _NOTES.append(f"data: no RAVDESS copy found (SEMO_BENCH_DATA), so a synthetic stand-in of {len(files)} "
                      f"files at {corpus.flac_root()}; speed ratios hold, agreement is on synthetic signals")
    else:
        _NOTES.append(f"data: {len(files)} RAVDESS FLAC files at {corpus.flac_root()}")
    return files


@pytest.fixture(scope="session")
def subset_paths(flacs: list[Path], sizes: corpus.Sizes) -> list[Path]:
    """WAV files of the subset every speed item uses, spread over actors and emotions."""
    return corpus.wav_files(corpus.spread(flacs, sizes.subset))


@pytest.fixture(scope="session")
def agreement_paths(flacs: list[Path], sizes: corpus.Sizes) -> list[Path]:
    """WAV files for the agreement check: a spread set plus every stereo file (downmix)."""
    chosen = corpus.spread(flacs, sizes.agreement)
    extra = [f for f in corpus.stereo_files(flacs) if f not in chosen]
    if sizes.agreement < 20:
        extra = extra[:1]
    return corpus.wav_files(chosen + extra)


@pytest.fixture(scope="session")
def scratch() -> Iterator[Scratch]:
    s = Scratch("pytest")
    yield s
    s.close()


@pytest.fixture(scope="session")
def subset_root(subset_paths: list[Path], scratch: Scratch) -> Path:
    """A folder holding (hard links to) the subset, for featurize and predict."""
    return corpus.link_tree(subset_paths, corpus.wav_root(), scratch.root / "subset")


@pytest.fixture
def measure(benchmark: Any, sizes: corpus.Sizes) -> Callable[[Workload, str], Row]:
    """Run a workload through pytest-benchmark and record its row for the session table.

    The rounds are timed here as well, so the table exists even when pyproject's
    ``--benchmark-disable`` is in force.
    """

    def run(w: Workload, group: str) -> Row:
        benchmark.group = group
        benchmark.extra_info.update(files=w.files, workers=w.workers)
        durations: list[float] = []
        cpu: list[float] = []
        pending: list[Any] = []

        def setup() -> tuple[tuple[Any], dict[str, Any]]:
            arg = w.setup()
            pending.append(arg)
            return (arg,), {}

        def target(arg: Any) -> Any:
            with Clock() as c:
                out = w.run(arg)
            durations.append(c.wall)
            cpu.append(c.cpu)
            return out

        def teardown(arg: Any) -> None:
            pending.remove(arg)
            w.teardown(arg)

        benchmark.pedantic(
            target, setup=setup, teardown=teardown, rounds=sizes.rounds, warmup_rounds=sizes.warmup
        )
        for arg in pending:  # a disabled benchmark runs once and skips teardown
            teardown(arg)
        row = Row(w.key, w.label, w.files, w.workers, durations[-sizes.rounds :], cpu[-sizes.rounds :])
        if row.per_core is not None:
            benchmark.extra_info["files_per_s_per_core"] = round(row.per_core, 2)
        _ROWS[w.key] = row
        return row

    return run


@pytest.fixture
def note() -> Callable[[str], None]:
    """Adds a line under the session table (e.g. the agreement check's maxima)."""
    return _NOTES.append


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _ROWS and not _NOTES:
        return
    tr = terminalreporter
    tr.section("semo-batch benchmarks (files/s per core; ratio to the notebook in this session)")
    if _ROWS:
        rows = sorted(_ROWS.values(), key=lambda r: (r.key != REFERENCE_KEY,))
        tr.write_line(markdown_table(rows, reference_key=REFERENCE_KEY))
    for note in _NOTES:
        tr.write_line(note)
