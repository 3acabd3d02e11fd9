"""The whisper feature set: int8 against float32 on real clips, and featurize's throughput.

    .venv/bin/python benchmarks/whisper_compute_types.py                 # 15 clips of Actor_01; 120 files, jobs=2
    .venv/bin/python benchmarks/whisper_compute_types.py --clips 20 --no-featurize

For each compute type, on one thread: milliseconds per clip for the whole vector
(decode excluded: front end, trimming, encoder, pooling) and for the encoder alone,
median of ``--rounds`` passes; then the largest absolute difference and the smallest
cosine between the two types' pooled vectors.  Then files/s of ``featurize`` on
Actor_01 + Actor_02 with ``jobs`` workers into a fresh temporary store (includes
starting the workers and each one loading the model).  Never fails on a time.

``--levers`` also measures, on the int8 model, the two levers besides the compute type:
one process with two intra-op threads against one thread (the other core left to a
second worker process), and several clips per encoder call (padded with the log-mel of
silence to the longest clip of the batch, since the encoder has no attention mask: that
changes the pooled vectors, and the script says by how much).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: one process is one core

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from semo_batch import encoder
from semo_batch.audio import load
from semo_batch.config import FeatureConfig, get_config
from semo_batch.features import extract
from semo_batch.features.whisper import mel_energy_db, speech_span, whisper_log_mel, whisper_mel_power
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions

RAVDESS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "ravdess-speech"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=RAVDESS)
    ap.add_argument("--clips", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-featurize", action="store_true")
    ap.add_argument("--levers", action="store_true", help="also: intra-op threads, and batches of clips per call")
    args = ap.parse_args()

    base = get_config("whisper")
    configs = {ct: dataclasses.replace(base, compute_type=ct) for ct in ("int8", "float32")}
    paths = sorted((args.data / "Actor_01").glob("*.flac"))[: args.clips]
    clips = [load(p, sr=base.sample_rate, min_duration=0.1, max_duration=None)[0] for p in paths]
    trimmed = []
    for y in clips:
        mel = whisper_mel_power(y, base)
        start, stop = speech_span(mel_energy_db(mel), trim_db=base.trim_db)
        trimmed.append(np.ascontiguousarray(whisper_log_mel(y, base, mel_power=mel)[:, start:stop]))
    seconds = sum(len(y) for y in clips) / base.sample_rate
    kept = sum(m.shape[1] for m in trimmed) / 100
    print(f"{len(clips)} clips of {args.data / 'Actor_01'}: {seconds / len(clips):.2f} s each on average, "
          f"{kept / len(clips):.2f} s kept after trimming")

    vectors: dict[str, np.ndarray] = {}
    whole: dict[str, list[float]] = {ct: [] for ct in configs}
    enc: dict[str, list[float]] = {ct: [] for ct in configs}
    for cfg in configs.values():
        encoder.load_encoder(cfg)
        extract(clips[0], cfg)  # warm-up
    for _ in range(args.rounds):  # interleaved: a slow spell on a shared machine hits both types
        for ct, cfg in configs.items():
            t0 = time.perf_counter()
            vectors[ct] = np.stack([extract(y, cfg) for y in clips])
            t1 = time.perf_counter()
            for m in trimmed:
                encoder.encode_log_mel(m, cfg)
            t2 = time.perf_counter()
            whole[ct].append((t1 - t0) / len(clips))
            enc[ct].append((t2 - t1) / len(clips))
    for ct in configs:
        print(f"{ct:8s} {1000 * statistics.median(whole[ct]):6.1f} ms per clip (vector), "
              f"{1000 * statistics.median(enc[ct]):6.1f} ms (encoder alone), one thread")
    a, b = vectors["int8"].astype(np.float64), vectors["float32"].astype(np.float64)
    cos = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    spread = b.std(axis=0)  # each feature's spread over the clips: what a standardizing model sees
    print(f"int8 vs float32 pooled vectors: largest |difference| {np.abs(a - b).max():.4f} "
          f"(values up to {np.abs(b).max():.2f}), smallest cosine {cos.min():.5f}, median cosine {np.median(cos):.5f}; "
          f"largest |difference| in units of the feature's spread over the clips {np.max(np.abs(a - b) / spread):.3f}, "
          f"median {np.median(np.abs(a - b) / spread):.4f}")

    if args.levers:
        levers(clips, configs["int8"], args.rounds)

    if not args.no_featurize:
        roots = [args.data / "Actor_01", args.data / "Actor_02"]
        with tempfile.TemporaryDirectory() as tmp:
            s = featurize(roots, Path(tmp) / "store", feature_set="whisper", options=RunOptions(jobs=args.jobs))
        print(f"featurize {s.found} files, feature set whisper, jobs={args.jobs}: "
              f"{s.seconds:.1f} s, {s.files_per_second:.1f} files/s ({s.failed} failed)")


def levers(clips: list[np.ndarray], cfg: FeatureConfig, rounds: int) -> None:
    """Milliseconds per clip of the int8 encoder with 1 or 2 intra-op threads, and with batches of clips."""
    import ctranslate2

    mels = [whisper_log_mel(y, cfg) for y in clips]
    files = encoder.read_weights()
    models = {n: ctranslate2.models.Whisper("whisper-base", device="cpu", compute_type="int8", inter_threads=1,
                                            intra_threads=n, files=files) for n in (1, 2)}

    def encode(model: Any, batch: list[np.ndarray]) -> np.ndarray:
        width = max(m.shape[1] for m in batch)
        # Each clip padded with its own floor (what silence maps to in its log-mel).
        x = np.stack([np.pad(m, ((0, 0), (0, width - m.shape[1])), constant_values=m.min()) for m in batch])
        return np.array(model.encode(ctranslate2.StorageView.from_array(x), to_cpu=True), dtype=np.float32)

    def timed(model: Any, size: int) -> tuple[float, list[np.ndarray]]:
        best, pooled = float("inf"), []
        for _ in range(rounds):
            t0, pooled = time.perf_counter(), []
            for i in range(0, len(mels), size):
                batch = mels[i : i + size]
                out = encode(model, batch)
                for m, frames in zip(batch, out):
                    pooled.append(frames[: encoder.encoder_frames(m.shape[1])].mean(axis=0))
            best = min(best, time.perf_counter() - t0)
        return 1000 * best / len(mels), pooled

    one, ref = timed(models[1], 1)
    two, _ = timed(models[2], 1)
    print(f"int8 encoder, one clip per call: {one:.1f} ms per clip on 1 intra-op thread, {two:.1f} ms on 2 "
          f"({one / two:.2f}x faster with twice the cores; compare two one-thread worker processes in benchmarks/run.py)")
    for size in (4, 8):
        ms, pooled = timed(models[1], size)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(pooled, ref))
        print(f"int8 encoder, {size} clips per call (padded to the longest): {ms:.1f} ms per clip, 1 thread; "
              f"frame means move by up to {diff:.3f} against one clip per call")


if __name__ == "__main__":
    main()
