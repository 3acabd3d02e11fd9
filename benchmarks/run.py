"""Run the whole benchmark suite without pytest and print ONE Markdown table.

    .venv/bin/python benchmarks/run.py                 # full: 120-file subset, 5 rounds; 1200 files fresh
    .venv/bin/python benchmarks/run.py --quick         # 12 files, 1 round (what CI can afford)
    .venv/bin/python benchmarks/run.py --files 600     # whole-corpus runs on 600 files (and 10x = 6000)

Every speed is files/s per core (files/s divided by the worker processes used)
and its ratio to the notebook's own extraction code measured in the same run;
the machine is shared, so only ratios travel.  In-process items are measured
in interleaved rounds (every item once per round; speed from the best round,
the median shown beside it), so a
slow spell on the machine hits all of them alike.

Fresh-process items: ``semo-batch featurize`` over all files with ``--jobs 2``
for ``emo``, ``seed`` and ``whisper`` (wall time including interpreter start-up,
best of ``--fresh-rounds`` runs, since one run on a shared machine varies by 10-15 %;
``python -c`` calling the library when the CLI is not there yet), the peak resident
memory of its whole process tree (the command and its workers; sampled with psutil
every 50 ms) and of its largest process, at N files and, for ``emo``
and ``whisper``, at 10 x N files (ten hard-linked copies of the folder under one
root, so every path differs), and ``semo-batch --help``.
"""

from __future__ import annotations

import os
import sys

_USER_ENV = dict(os.environ)  # fresh-process items run with the caller's environment, untouched
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: one process is one core
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import argparse
import shutil
import subprocess
import threading
import time
from pathlib import Path

import corpus
import psutil
from agreement import compare_files
from clock import Clock
from results import Row, markdown_table
from workloads import (
    REFERENCE_KEY,
    PredictUnavailable,
    Scratch,
    Workload,
    featurize_workload,
    per_file_workloads,
    predict_workload,
)

from semo_batch.workers import tune_process

_FEATURIZE_CODE = (
    "import sys\n"
    "from semo_batch.featurize import featurize\nfrom semo_batch.options import RunOptions\n"
    "s = featurize([sys.argv[1]], sys.argv[2], feature_set=sys.argv[3], options=RunOptions(jobs=int(sys.argv[4])))\n"
    "print(*s.lines(), sep='\\n')\n"
    "sys.exit(1 if s.failed else 0)\n"
)


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- in-process items ---------------------------------------------------------------------------


def interleaved(workloads: list[Workload], *, rounds: int, warmup: int) -> list[Row]:
    """Time every workload once per round, rounds interleaved; one row each with all round times."""
    rows = {w.key: Row(w.key, w.label, w.files, w.workers, []) for w in workloads}
    for r in range(warmup + rounds):
        _log(f"round {r + 1}/{warmup + rounds}{' (warm-up)' if r < warmup else ''}")
        for w in workloads:
            arg = w.setup()
            with Clock() as c:
                w.run(arg)
            w.teardown(arg)
            if r >= warmup:
                rows[w.key].times.append(c.wall)
                rows[w.key].cpu.append(c.cpu)
    return list(rows.values())


# -- fresh-process items ------------------------------------------------------------------------


def run_sampled(
    cmd: list[str], *, interval: float = 0.05, timeout: float = 3600
) -> tuple[float, float, int, int, int, str]:
    """Run ``cmd``; return (wall s, CPU s, peak RSS of the process tree in bytes, peak RSS of
    its largest process in bytes, exit code, output tail).

    RSS is summed over the process and all its descendants at each sample, so
    pages shared between workers count once per process (an upper bound).  CPU
    is the last sampled user + system time of every process seen (it misses at
    most one sampling interval per process).  The wall time is taken when the
    process ends (a thread waits for it), not at the next sample.
    """
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, env=_USER_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = largest = 0
    cpu_seen: dict[int, float] = {}
    out_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    ended: list[float] = []

    def wait() -> None:
        try:
            proc.wait()
        finally:
            ended.append(time.perf_counter())

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    while waiter.is_alive():
        total = 0
        try:
            procs = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                with p.oneshot():
                    rss = p.memory_info().rss
                    t = p.cpu_times()
                total += rss
                largest = max(largest, rss)
                cpu_seen[p.pid] = t.user + t.system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        peak = max(peak, total)
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            break
        waiter.join(interval)
    waiter.join()
    rc = proc.returncode
    wall = ended[0] - t0
    reader.join(timeout=5)
    text = b"".join(out_chunks).decode(errors="replace")
    return wall, sum(cpu_seen.values()), peak, largest, rc, text[-2000:]


def find_cli() -> str | None:
    """The ``semo-batch`` console script when it runs (``--help`` exits 0), else ``None``."""
    path = os.path.dirname(sys.executable) + os.pathsep + _USER_ENV.get("PATH", "")
    exe = shutil.which("semo-batch", path=path)
    if exe is None:
        return None
    try:
        r = subprocess.run(
            [exe, "--help"], check=False, env=_USER_ENV, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return exe if r.returncode == 0 else None


def featurize_command(
    cli: str | None, root: Path, store: Path, feature_set: str, jobs: int
) -> tuple[list[str], str]:
    """The command line for a fresh-process featurize, and a note saying which route it took."""
    if cli is not None:
        r = subprocess.run(
            [cli, "featurize", "--help"],
            check=False,
            env=_USER_ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
        help_text = r.stdout + r.stderr
        if r.returncode == 0 and "--store" in help_text and "--jobs" in help_text:
            cmd = [cli, "featurize", str(root), "--store", str(store), "--jobs", str(jobs)]
            if "--feature-set" in help_text:
                cmd += ["--feature-set", feature_set]
            return cmd, "semo-batch CLI"
    cmd = [sys.executable, "-c", _FEATURIZE_CODE, str(root), str(store), feature_set, str(jobs)]
    return cmd, "python -c featurize() (no CLI yet)"


def help_row(cli: str | None, repeats: int) -> Row | None:
    if cli is None:
        return None
    walls = []
    for _ in range(repeats):
        wall, _cpu, _peak, _largest, rc, tail = run_sampled([cli, "--help"])
        if rc != 0:
            _log(f"semo-batch --help exited {rc}: {tail[-300:]}")
            return None
        walls.append(wall)
    return Row("help", "`semo-batch --help` (fresh process)", 0, 0, walls)


def fresh_featurize(
    cli: str | None, root: Path, n_files: int, scratch: Scratch, *, feature_set: str, jobs: int, label: str,
    rounds: int = 1,
) -> Row:
    """``rounds`` fresh-process runs, each into a new store: every wall and CPU time, the peak memories over all."""
    walls, cpus, peak, largest, route = [], [], 0, 0, ""
    for r in range(rounds):
        cmd, route = featurize_command(cli, root, scratch.new_dir("store"), feature_set, jobs)
        _log(f"{label} (round {r + 1}/{rounds}): {' '.join(cmd[:3])} ...")
        wall, cpu, tree, biggest, rc, tail = run_sampled(cmd)
        if rc != 0:
            raise RuntimeError(f"{label} failed (exit {rc}):\n{tail}")
        walls.append(wall)
        cpus.append(cpu)
        peak, largest = max(peak, tree), max(largest, biggest)
    return Row(
        f"fresh-{feature_set}-{n_files}",
        label,
        n_files,
        jobs,
        walls,
        cpus,
        peak_rss=peak,
        peak_process=largest,
        note=route + "; incl. start-up",
    )


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="12 files, 1 round (also SEMO_BENCH_QUICK=1)")
    ap.add_argument(
        "--files",
        type=int,
        default=None,
        help="files for the fresh-process runs (default: all 1200; quick: 12)",
    )
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds of the in-process items")
    ap.add_argument("--jobs", type=int, default=2, help="workers of the fresh-process featurize runs")
    ap.add_argument(
        "--no-fresh", action="store_true", help="skip the fresh-process runs (CLI, memory, --help)"
    )
    ap.add_argument("--no-x10", action="store_true", help="skip the 10x memory runs")
    ap.add_argument(
        "--fresh-rounds", type=int, default=None, help="fresh-process runs of each N-file featurize (default 3; quick: 1)"
    )
    ap.add_argument("--no-agreement", action="store_true", help="skip the agreement check")
    a = ap.parse_args(argv)

    load_start = os.getloadavg()[0]
    quick = a.quick or corpus.quick_from_env()
    sizes = corpus.sizes(quick)
    rounds = a.rounds or sizes.rounds
    flacs = corpus.flac_files()
    if corpus.is_synthetic():
        print(f"no RAVDESS copy found (set SEMO_BENCH_DATA): measuring on the synthetic stand-in at "
              f"{corpus.flac_root()}", file=sys.stderr)
    n_all = min(a.files or (12 if quick else len(flacs)), len(flacs))
    _log(f"WAV cache under {corpus.wav_root()} (decoding what is missing)")
    corpus.wav_files(corpus.spread(flacs, n_all))

    # The workers tune glibc's allocator once; do the same here so in-process numbers match them.
    tune_process()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:
        pass

    scratch = Scratch("run")
    notes: list[str] = []
    try:
        subset_paths = corpus.wav_files(corpus.spread(flacs, sizes.subset))
        subset = corpus.link_tree(subset_paths, corpus.wav_root(), scratch.root / "subset")
        items = per_file_workloads(subset_paths)
        for fs in ("seed", "emo"):
            for jobs in (1, 2):
                items.append(
                    featurize_workload(subset, sizes.subset, feature_set=fs, jobs=jobs, scratch=scratch)
                )
        try:
            items.append(predict_workload(subset, sizes.subset, jobs=2))
        except PredictUnavailable as exc:
            notes.append(f"predict: skipped ({exc})")
        rows = interleaved(items, rounds=rounds, warmup=sizes.warmup)

        if not a.no_fresh:
            cli = find_cli()
            if cli is None:
                notes.append(
                    "`semo-batch` console script missing or not working: featurize ran via python -c; no --help row"
                )
            all_wavs = corpus.wav_files(corpus.spread(flacs, n_all))
            tree = corpus.link_tree(all_wavs, corpus.wav_root(), scratch.root / "all")
            for fs in ("emo", "seed", "whisper"):
                rows.append(
                    fresh_featurize(
                        cli,
                        tree,
                        n_all,
                        scratch,
                        feature_set=fs,
                        jobs=a.jobs,
                        label=f"featurize {n_all} files, {fs}, --jobs {a.jobs}, fresh process",
                        rounds=a.fresh_rounds or (1 if quick else 3),
                    )
                )
            if not a.no_x10:
                x10 = scratch.root / "x10"
                for i in range(10):
                    corpus.link_tree(all_wavs, corpus.wav_root(), x10 / f"copy_{i:02d}")
                for fs in ("emo", "whisper"):
                    rows.append(
                        fresh_featurize(
                            cli,
                            x10,
                            10 * n_all,
                            scratch,
                            feature_set=fs,
                            jobs=a.jobs,
                            label=f"featurize {10 * n_all} files (10 x {n_all}), {fs}, --jobs {a.jobs}, fresh process",
                        )
                    )
            h = help_row(cli, 3)
            if h is not None:
                rows.append(h)

        if not a.no_agreement:
            chosen = corpus.spread(flacs, sizes.agreement)
            stereo = [f for f in corpus.stereo_files(flacs) if f not in chosen]
            _log("agreement check")
            agree = compare_files(corpus.wav_files(chosen + (stereo if not quick else stereo[:1])))
            notes.append(agree.line() + ("" if agree.ok else " -- FAILED: " + "; ".join(agree.failures[:5])))
    finally:
        scratch.close()

    load_end = os.getloadavg()[0]
    print(
        f"semo-batch benchmarks: {os.cpu_count()} CPUs (load average {load_start:.1f} at start, "
        f"{load_end:.1f} at end), {rounds} interleaved round(s), {sizes.subset} files for the in-process "
        "items; files/s from the best round; ratios against the notebook "
        "reference measured in this run.\n"
    )
    print(markdown_table(rows, reference_key=REFERENCE_KEY))
    for n in notes:
        print(f"\n- {n}", end="")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
