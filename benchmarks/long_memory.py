"""Memory and speed on a long recording: an hour decoded, segmented and featurized in flat memory.

Writes a synthetic recording (default: 1 hour, 44.1 kHz stereo FLAC; voiced stretches of
0.5-8 s, some of 20-40 s, noise bursts, pauses, a faint noise floor) block by block into a
temporary folder, then runs :func:`semo_batch.longform.featurize_recording` on it in a fresh
process and reports the segments, the wall time, the real-time factor (processing seconds
per second of audio) and the peak resident memory of that process (``ru_maxrss``), next to
the peak of a process that only imports semo_batch.  ``--segment-only`` measures decoding and
segmenting without features.  No figure here is a pass/fail gate.

Run: python benchmarks/long_memory.py [--hours 1] [--rate 44100] [--channels 2] [--feature-set emo]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def _voice(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    f = np.geomspace(rng.uniform(90, 200), rng.uniform(120, 320), n) * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(3, 6) * t)) * np.minimum(1, np.minimum(t, t[-1] - t) / 0.02)
    return 0.1 * rng.uniform(0.3, 1.0) * x * env


def write_recording(path: Path, seconds: float, sr: int, channels: int, seed: int = 0) -> None:
    """A synthetic recording written piece by piece (never whole in memory)."""
    rng = np.random.default_rng(seed)
    done = 0
    with sf.SoundFile(path, "w", samplerate=sr, channels=channels, subtype="PCM_16") as out:
        while done < seconds * sr:
            r = rng.uniform()
            sec = rng.uniform(20, 40) if r < 0.03 else rng.uniform(0.5, 8) if r < 0.75 else rng.uniform(0.3, 2)
            n = int(sec * sr)
            piece = _voice(n, sr, rng) if r < 0.75 else rng.standard_normal(n) * 0.03 if r < 0.85 else np.zeros(n)
            pause = np.zeros(int(rng.uniform(0.2, 2.0) * sr))
            y = np.concatenate([piece, pause])
            y += rng.standard_normal(len(y)) * 3e-4
            out.write(np.repeat(y[:, None], channels, axis=1).astype(np.float32))
            done += len(y)


def _child(path: str, feature_set: str, segment_only: bool) -> None:
    from semo_batch.config import get_config
    from semo_batch.longform import featurize_recording
    from semo_batch.stream import AudioStream, StreamSegmenter

    config = get_config(feature_set)
    t0 = time.perf_counter()
    if segment_only:
        seg, n, held = StreamSegmenter(config.sample_rate), 0, 0.0
        with AudioStream(path, sr=config.sample_rate) as stream:
            for block in stream:
                n += len(seg.push(block))
                held = max(held, seg.buffered_seconds)
        n += len(seg.finish())
        result = {"segments": n, "duration": seg.n / config.sample_rate, "held_s": held}
    else:
        rec = featurize_recording(path, config)
        result = {"segments": len(rec.segments), "duration": rec.duration, "speech_s": rec.speech_seconds,
                  "failed": sum(1 for e in rec.errors if e), "error": rec.error}
    result["wall_s"] = time.perf_counter() - t0
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _run_child(args: list[str]) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--rate", type=int, default=44_100)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--feature-set", default="emo")
    ap.add_argument("--segment-only", action="store_true")
    ap.add_argument("--keep", default=None, help="write (or reuse) the recording here")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, args.feature_set, args.segment_only)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep or os.path.join(tmp, "long.flac"))
        if not path.exists():
            t0 = time.perf_counter()
            write_recording(path, args.hours * 3600, args.rate, args.channels)
            print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s", flush=True)
        base = subprocess.run([sys.executable, "-c", "import resource, semo_batch.longform; "
                               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"],
                              capture_output=True, text=True, check=True)
        r = _run_child(["--child", str(path), "--feature-set", args.feature_set]
                       + (["--segment-only"] if args.segment_only else []))
    what = "decode + segment" if args.segment_only else f"decode + segment + '{args.feature_set}' features"
    print(f"{what}: {r['duration'] / 3600:.2f} h of {args.rate} Hz x{args.channels} -> {r['segments']} segments "
          f"in {r['wall_s']:.0f} s, real-time factor {r['wall_s'] / r['duration']:.4f} "
          f"({r['duration'] / r['wall_s']:.0f}x faster than real time, one process, one thread)")
    print(f"peak RSS {r['maxrss_mb']:.0f} MB (a process that only imports semo_batch.longform: "
          f"{float(base.stdout):.0f} MB)")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
