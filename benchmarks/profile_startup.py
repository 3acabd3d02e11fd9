"""Where a fresh ``semo-batch featurize --jobs N`` spends what is not extraction: one run, timed by stage.

    .venv/bin/python benchmarks/profile_startup.py              # 1200 RAVDESS WAVs, emo, --jobs 2
    .venv/bin/python benchmarks/profile_startup.py --files 300 --set seed --runs 3

Runs the command's own entry point in a fresh interpreter (as the console script does) with
marks at the stage boundaries, on a fresh store: the CLI's import, typer's argument parsing,
the feature code's import (numpy, pyarrow, the signal code), walking the folders, the rest of
the set-up until the workers fork, the run, and the interpreter's exit.  CPU: the parent's,
its workers', and the workers' per file.  Wall times vary by 10-15 % from run to run here; take the best of a few.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import corpus

#: Runs in the fresh interpreter: the marks go to stderr as one JSON line at exit.
_PROBE = r"""
import json, os, sys, time
marks = {"start": time.time()}
sys.argv = ["semo-batch", *sys.argv[1:]]
import semo_batch.cli
marks["cli imported"] = time.time()
import semo_batch.forkpool as fp
_single_blas_thread = fp.single_blas_thread
def single_blas_thread():  # the featurize command's first call, before it imports the feature code
    marks["arguments parsed"] = time.time()
    _single_blas_thread()
    import semo_batch.featurize as fz
    marks["feature code imported"] = time.time()
    _discover = fz.discover
    def discover(*a, **k):
        out = _discover(*a, **k)
        marks["folders walked"] = time.time()
        return out
    fz.discover = discover
fp.single_blas_thread = single_blas_thread
_fork = os.fork
def fork():
    marks.setdefault("workers forked", time.time())
    return _fork()
os.fork = fork
try:
    semo_batch.cli.app()
except SystemExit:
    pass
marks["command returned"] = time.time()
t = os.times()
marks["cpu"] = {"parent": t.user + t.system, "workers": t.children_user + t.children_system}
print("MARKS " + json.dumps(marks), file=sys.stderr)
"""

#: The marks in the order they are reached, and what ends at each.
_STAGES = (("cli imported", "import the CLI"), ("arguments parsed", "typer: parse the arguments"),
           ("feature code imported", "import the feature code (numpy, pyarrow, ...)"),
           ("folders walked", "walk the folders"), ("workers forked", "open the store, plan, fork the workers"),
           ("command returned", "the run"))


def one_run(tree: str, feature_set: str, jobs: int) -> dict:
    store = tempfile.mkdtemp(prefix="semo-startup-")
    try:
        t0 = time.time()
        r = subprocess.run([sys.executable, "-c", _PROBE, "featurize", tree, "--feature-set", feature_set,
                            "--jobs", str(jobs), "--store", os.path.join(store, "s"), "--quiet"],
                           capture_output=True, text=True)
        end = time.time()
    finally:
        shutil.rmtree(store, ignore_errors=True)
    if r.returncode != 0:
        raise SystemExit(f"semo-batch featurize failed (exit code {r.returncode}):\n{r.stderr[-2000:]}")
    line = next(x for x in r.stderr.splitlines() if x.startswith("MARKS "))
    marks = json.loads(line[len("MARKS "):])
    marks["launched"], marks["exited"] = t0, end
    return marks


def report(marks: dict, n_files: int) -> str:
    rows = [("interpreter start-up", marks["start"] - marks["launched"])]
    prev = marks["start"]
    for stage, name in _STAGES:
        rows.append((name, marks[stage] - prev))
        prev = marks[stage]
    rows.append(("interpreter exit", marks["exited"] - prev))
    total = marks["exited"] - marks["launched"]
    cpu = marks["cpu"]
    lines = ["| stage | ms | % |", "|---|---|---|"]
    lines += [f"| {name} | {1e3 * s:.0f} | {100 * s / total:.1f} |" for name, s in rows]
    lines += [f"| **total** | {1e3 * total:.0f} | 100 |", "",
              f"CPU: parent {cpu['parent']:.2f} s, workers {cpu['workers']:.2f} s "
              f"({1e3 * cpu['workers'] / n_files:.2f} ms a file)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1200)
    ap.add_argument("--set", dest="feature_set", default="emo", choices=["emo", "seed"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="runs; the fastest is shown")
    a = ap.parse_args(argv)
    flacs = corpus.flac_files()
    if corpus.is_synthetic():
        print(f"no RAVDESS copy found (set SEMO_BENCH_DATA): measuring on the synthetic stand-in at "
              f"{corpus.flac_root()}", file=sys.stderr)
    wavs = corpus.wav_files(corpus.spread(flacs, a.files))
    with tempfile.TemporaryDirectory(prefix="semo-startup-tree-") as scratch:
        tree = corpus.link_tree(wavs, corpus.wav_root(), Path(scratch) / "in")
        runs = [one_run(str(tree), a.feature_set, a.jobs) for _ in range(a.runs)]
    best = min(runs, key=lambda m: m["exited"] - m["launched"])
    walls = ", ".join(f"{m['exited'] - m['launched']:.2f}" for m in runs)
    print(f"## featurize {len(wavs)} files, {a.feature_set}, --jobs {a.jobs}, fresh process "
          f"(fastest of {len(runs)}: {walls} s)\n")
    print(report(best, len(wavs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
