"""Where per-file extraction spends its time: cProfile over real files, one thread.

    .venv/bin/python benchmarks/profile_extract.py                 # 100 files, seed and emo
    .venv/bin/python benchmarks/profile_extract.py --files 30 --set emo --top 25

For each feature set it runs ``extract_file`` (decode, resample, features) on
the files once to warm up, then once under cProfile, and prints the functions
with the most own time (``tottime``) as a share of the total, then the
semo_batch functions by cumulative time (what each stage costs with
everything it calls).  Files/s is printed too, but with the profiler's
overhead; use run.py for speeds.
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import argparse
import cProfile
import pstats
import time

import corpus

from semo_batch.config import get_config
from semo_batch.discover import AudioFile
from semo_batch.extract import extract_file
from semo_batch.workers import tune_process


def _name(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name  # a built-in, e.g. {method 'reduce' of 'numpy.ufunc' objects}
    short = filename.split("site-packages/")[-1].split("/main/")[-1]
    return f"{short}:{line}({name})"


def profile_set(files: list[AudioFile], feature_set: str, top: int) -> str:
    config = get_config(feature_set)
    for f in files[:5]:
        extract_file(f, config, None)
    t0 = time.perf_counter()
    for f in files:
        extract_file(f, config, None)
    plain = time.perf_counter() - t0
    prof = cProfile.Profile()
    prof.enable()
    for f in files:
        extract_file(f, config, None)
    prof.disable()
    st = pstats.Stats(prof)
    stats: dict = st.stats  # type: ignore[attr-defined]  # undocumented but stable since Python 2
    total = sum(v[2] for v in stats.values())  # tottime summed = profiled wall time
    lines = [
        (
            f"## {feature_set}: {len(files)} files, {len(files) / plain:.1f} files/s unprofiled "
            f"({total:.2f} s under cProfile)"
        ),
        "",
        "Own time (tottime):",
        "",
        "| % | s | calls | function |",
        "|---|---|---|---|",
    ]
    by_own = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for func, (_cc, nc, tt, _ct, _callers) in by_own:
        lines.append(f"| {100 * tt / total:.1f} | {tt:.3f} | {nc} | `{_name(func)}` |")
    lines += [
        "",
        "semo_batch functions, cumulative (with what they call):",
        "",
        "| % | s | calls | function |",
        "|---|---|---|---|",
    ]
    ours = [(f, v) for f, v in stats.items() if "semo_batch" in f[0]]
    for func, (_cc, nc, _tt, ct, _callers) in sorted(ours, key=lambda kv: kv[1][3], reverse=True)[:top]:
        lines.append(f"| {100 * ct / total:.1f} | {ct:.3f} | {nc} | `{_name(func)}` |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--set", dest="sets", action="append", choices=["seed", "emo"], help="default: both")
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args(argv)
    flacs = corpus.flac_files()
    if corpus.is_synthetic():
        print(f"no RAVDESS copy found (set SEMO_BENCH_DATA): measuring on the synthetic stand-in at "
              f"{corpus.flac_root()}", file=sys.stderr)
    root = corpus.wav_root()
    paths = corpus.wav_files(corpus.spread(flacs, a.files))
    files = [AudioFile(path=str(p), root=str(root), relpath=p.relative_to(root).as_posix()) for p in paths]
    tune_process()  # as the workers do
    for fs in a.sets or ["seed", "emo"]:
        print(profile_set(files, fs, a.top))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
