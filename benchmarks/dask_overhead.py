"""What the Dask backend costs next to local joblib (loky), on the same files, in the same run.

    .venv/bin/python benchmarks/dask_overhead.py                    # the 1200 RAVDESS files, 2 rounds
    .venv/bin/python benchmarks/dask_overhead.py --files 240 --rounds 3
    .venv/bin/python benchmarks/dask_overhead.py --data /some/wav/folder

Both backends do the same work with 2 single-threaded worker processes:
featurize every file into a fresh store.  Two ways of running are measured:

- cold: a fresh ``semo-batch featurize DIR -j 2 [--backend dask]`` process, wall time
  including interpreter start-up and starting the workers (loky's pool, or a
  2-worker ``LocalCluster``): what a user waits for;
- warm: in this process, loky's pool already started, and a 2-worker cluster
  already running (``scheduler=`` its address): the cost of the Dask path
  itself (client, scheduler round trips, result transfer), without start-up.

Items run in interleaved rounds (each item once per round) so a slow spell on a
shared machine hits all of them alike; the table gives the median wall time,
files/s from it, CPU seconds of the whole process tree (warm items only: a
fresh process's workers are gone before they can be read), and the overhead
ratio to loky in the same mode (> 1: Dask is slower).

Data: ``--data``, else ``/tmp/ravdess-wav`` when it holds WAV files, else the
shared FLAC copy decoded once into the benchmarks' WAV cache (see corpus.py).
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: one process is one core
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import argparse
import logging
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import corpus
from clock import Clock

from semo_batch.discover import discover
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions

JOBS = 2
DEFAULT_WAV = Path("/tmp/ravdess-wav")


def data_root(arg: str | None, n_files: int | None, scratch: Path) -> Path:
    """A folder holding the files to featurize (``n_files`` of them, spread over actors, when given)."""
    if arg:
        root = Path(arg)
    elif DEFAULT_WAV.is_dir() and any(DEFAULT_WAV.glob("Actor_*/*.wav")):
        root = DEFAULT_WAV
    else:
        wavs = corpus.wav_files()
        if not wavs:
            sys.exit(f"no data: pass --data, or provide {DEFAULT_WAV} or {corpus.flac_root()}")
        root = corpus.wav_root()
    if n_files is None:
        return root
    files = sorted(Path(f.path) for f in discover([root]))
    return corpus.link_tree(corpus.spread(files, n_files), root, scratch / "subset")


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("semo-batch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "semo_batch"]


def cold(root: Path, store: Path, backend: str) -> Callable[[], tuple[float, float | None]]:
    def run() -> tuple[float, float | None]:
        shutil.rmtree(store, ignore_errors=True)
        cmd = [*_cli(), "featurize", str(root), "--store", str(store), "-j", str(JOBS), "-q", "--backend", backend]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0, None

    return run


def warm(root: Path, store: Path, backend: str, scheduler: str | None) -> Callable[[], tuple[float, float | None]]:
    def run() -> tuple[float, float | None]:
        shutil.rmtree(store, ignore_errors=True)
        with Clock() as c:
            s = featurize([root], store, options=RunOptions(jobs=JOBS, backend=backend, scheduler=scheduler))
        assert s.failed == 0 and s.done == s.found, s.lines()
        return c.wall, c.cpu

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder of audio files (default: the RAVDESS WAV copy)")
    ap.add_argument("--files", type=int, help="use this many files, spread over the folder (default: all)")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    import dask
    import distributed
    import joblib

    scratch = Path(tempfile.mkdtemp(prefix="semo-dask-bench-"))
    try:
        root = data_root(args.data, args.files, scratch)
        n = len(discover([root]))
        # The warm cluster as the backend starts its own: single-threaded workers, saturation 1.
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = distributed.LocalCluster(
                n_workers=JOBS, threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
        with cluster:
            # Start loky's pool before the warm rounds.
            featurize([root], scratch / "prime", options=RunOptions(jobs=JOBS))
            items: dict[str, Callable[[], tuple[float, float | None]]] = {
                "cold · loky": cold(root, scratch / "s1", "loky"),
                "cold · dask LocalCluster": cold(root, scratch / "s2", "dask"),
                "warm · loky": warm(root, scratch / "s3", "loky", None),
                "warm · dask --scheduler": warm(root, scratch / "s4", "dask", cluster.scheduler_address),
            }
            load0 = os.getloadavg()[0]
            walls: dict[str, list[float]] = {k: [] for k in items}
            cpus: dict[str, list[float]] = {k: [] for k in items}
            for r in range(args.rounds):
                for name, run in items.items():
                    wall, cpu = run()
                    walls[name].append(wall)
                    if cpu is not None:
                        cpus[name].append(cpu)
                    print(f"round {r + 1}: {name}: {wall:.2f} s", file=sys.stderr)
            load1 = os.getloadavg()[0]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(
        f"\n{n} files from {root}; {JOBS} worker processes per backend; {args.rounds} interleaved rounds, "
        f"median shown; {os.cpu_count()} cores, load average {load0:.1f} -> {load1:.1f}; "
        f"dask {dask.__version__}, joblib {joblib.__version__}\n"
    )
    print("| mode · backend | wall s | files/s | CPU s | wall ratio to loky | CPU ratio to loky |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in items:
        mode = name.split(" · ")[0]
        base = f"{mode} · loky"
        wall = statistics.median(walls[name])
        cpu = statistics.median(cpus[name]) if cpus[name] else None
        base_cpu = statistics.median(cpus[base]) if cpus[base] else None
        ratio = wall / statistics.median(walls[base])
        cpu_s = f"{cpu:.1f}" if cpu is not None else "–"
        cpu_ratio = f"{cpu / base_cpu:.2f}" if cpu is not None and base_cpu else "–"
        print(f"| {name} | {wall:.2f} | {n / wall:.1f} | {cpu_s} | {ratio:.2f} | {cpu_ratio} |")


if __name__ == "__main__":
    main()
