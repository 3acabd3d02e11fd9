"""A long recording made of RAVDESS clips: does segmentation give each clip its own segment?

Clips of a few actors are shuffled and joined with gaps of 0.5-1.5 s of white or pink noise
(``--gap-db`` below the clips' median speech level), optionally over a continuous pink
noise (``--background-db``), into a ~10-minute 16 kHz WAV in a temporary folder.  The clip
boundaries are known, and so is the speech inside each clip (every RAVDESS clip has about a
second of near-silence at each end, sometimes with breaths or clicks): the first and last
10 ms frame of the clean clip within 25 dB of its loudest.  The recording then goes through the streaming path (decode, segment)
and the script reports:

* clips with their own segment: exactly one segment lies mostly in the clip (missed: none;
  split: several), segments that reach well into two clips, segments mostly in the gaps;
* boundary errors of the own segments against the speech inside the clip;
* frame-level miss and false-alarm rates against that speech;
* with ``--model DIR``: the label accuracy of each clip's best-overlapping segment, next to
  the per-clip accuracy of the same model on the same (clean, whole) clips.

``--vad webrtc:N`` replaces the detector by webrtcvad (aggressiveness N, 30 ms frames) and
keeps the rest (bridging, pauses, cuts, merges), to compare the two on the same recording.

Environment: ``SEMO_BENCH_DATA`` (the RAVDESS FLAC folder, as for the other benchmarks).

Run: .venv/bin/python benchmarks/long_recording.py [--minutes 10] [--actors 17,18,19,20] [--model DIR]
     [--train-store out/corpora-chan] [--keep out/long/talk.wav]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus

from semo_batch import vad
from semo_batch.audio import load
from semo_batch.naming import parse_name
from semo_batch.segment import (
    Segment,
    SegmentParams,
    audio_slice,
    cutter,
    frame_times,
    join_short_file,
    parse_segmenting,
)
from semo_batch.stream import AudioStream, StreamSegmenter

SR = 16_000


@dataclasses.dataclass(frozen=True)
class Clip:
    path: str
    start: float  # the clip in the recording, seconds
    end: float
    speech_start: float  # the speech inside it
    speech_end: float
    emotion: str


def _noise(n: int, rng: np.random.Generator, colour: str) -> np.ndarray:
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    spec = np.fft.rfft(white)
    spec[1:] /= np.sqrt(np.arange(1, len(spec)))  # 1/f power
    spec[0] = 0
    pink = np.fft.irfft(spec, n)
    return pink / pink.std()


def _speech_span(y: np.ndarray) -> tuple[float, float, float]:
    """First and last 10 ms frame within 25 dB of the loudest, and the RMS between them."""
    hop = SR // 100
    frames = y[: len(y) // hop * hop].reshape(-1, hop)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    idx = np.flatnonzero(db > db.max() - 25)
    a, b = idx[0] * hop, (idx[-1] + 1) * hop
    return a / SR, b / SR, float(np.sqrt(np.mean(y[a:b] ** 2)))


def build(files: list[Path], seconds: float, seed: int, gap_db: float, background_db: float | None):
    """The recording [shape=(n,)] and its clips."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
    clips_audio, spans = [], []
    total = 0.0
    for i in order:
        y, _ = load(files[i], sr=SR)
        clips_audio.append((str(files[i]), y))
        spans.append(_speech_span(y))
        total += len(y) / SR + 1.0
        if total >= seconds:
            break
    level = float(np.median([s[2] for s in spans]))
    parts, clips, t = [], [], 0.0
    for (path, y), (a, b, _) in zip(clips_audio, spans):
        gap = int(rng.uniform(0.5, 1.5) * SR)
        parts.append(_noise(gap, rng, rng.choice(["white", "pink"])) * level * 10 ** (gap_db / 20))
        t += gap / SR
        label = parse_name(path)
        clips.append(Clip(path, t, t + len(y) / SR, t + a, t + b, label.emotion if label else ""))
        parts.append(y.astype(np.float64))
        t += len(y) / SR
    parts.append(_noise(SR, rng, "white") * level * 10 ** (gap_db / 20))
    rec = np.concatenate(parts)
    if background_db is not None:
        rec += _noise(len(rec), rng, "pink") * level * 10 ** (background_db / 20)
    return (rec / max(1.0, np.abs(rec).max() / 0.99)).astype(np.float32), clips, level


def segments_ours(path: Path, params: SegmentParams) -> list[tuple[Segment, np.ndarray]]:
    seg = StreamSegmenter(SR, params)
    out = []
    with AudioStream(path, sr=SR) as stream:
        for block in stream:
            out += seg.push(block)
    return out + seg.finish()


def segments_webrtc(y: np.ndarray, params: SegmentParams, aggressiveness: int) -> list[tuple[Segment, np.ndarray]]:
    """webrtcvad's 30 ms decisions as the speech mask; the rest as ours."""
    import webrtcvad

    detector = webrtcvad.Vad(aggressiveness)
    pcm = (np.clip(y, -1, 1) * 32767).astype(np.int16)
    step = SR * 30 // 1000
    decisions = np.array([detector.is_speech(pcm[i:i + step].tobytes(), SR)
                          for i in range(0, len(pcm) - step + 1, step)], dtype=bool)
    energy, _ = vad.frame_stats(y, SR)
    length, hop = vad.geometry(SR)
    idx = np.minimum((np.arange(len(energy)) * hop + length // 2) // step, len(decisions) - 1)
    cut = cutter(params)
    cut.push(decisions[idx], energy)
    cut.finish()
    segs = join_short_file([frame_times(a, b, SR, len(y), len(energy)) for a, b in cut.pieces], len(y), SR, params)
    return [(s, y[audio_slice(s, SR, len(y), params)]) for s in segs]


def _overlap(s: Segment, a: float, b: float) -> float:
    return max(0.0, min(s.end, b) - max(s.start, a))


def score(segs: list[Segment], clips: list[Clip], duration: float) -> tuple[dict[str, float], list[int | None]]:
    """The figures, and for each clip the index of its best-overlapping segment (or None)."""
    owner = []
    for s in segs:
        ov = [_overlap(s, c.start, c.end) for c in clips]
        k = int(np.argmax(ov))
        owner.append(k if ov[k] > 0.5 * s.duration else None)
    counts = np.bincount([k for k in owner if k is not None], minlength=len(clips))
    spanning = sum(1 for s in segs if sum(_overlap(s, c.speech_start, c.speech_end) > 0.2 for c in clips) > 1)
    start_err, end_err = [], []
    for k, c in enumerate(clips):
        if counts[k] == 1:
            s = segs[owner.index(k)]
            start_err.append(s.start - c.speech_start)
            end_err.append(s.end - c.speech_end)
    grid = np.arange(0, duration, 0.01)
    ref = np.zeros(len(grid), bool)
    got = np.zeros(len(grid), bool)
    for c in clips:
        ref[(grid >= c.speech_start) & (grid < c.speech_end)] = True
    for s in segs:
        got[(grid >= s.start) & (grid < s.end)] = True
    errs = np.abs(np.concatenate([start_err, end_err])) if start_err else np.zeros(1)
    best = []
    for c in clips:
        ov = [_overlap(s, c.start, c.end) for s in segs]
        best.append(int(np.argmax(ov)) if ov and max(ov) > 0 else None)
    return {
        "clips": len(clips), "segments": len(segs), "own segment": int((counts == 1).sum()),
        "missed": int((counts == 0).sum()), "split": int((counts > 1).sum()), "spanning two clips": spanning,
        "mostly in gaps": sum(o is None for o in owner),
        "boundary error median s": float(np.median(errs)), "boundary error p90 s": float(np.percentile(errs, 90)),
        "boundaries within 0.1 s": float(np.mean(errs <= 0.1)), "boundaries within 0.25 s": float(np.mean(errs <= 0.25)),
        "start error median s (signed)": float(np.median(start_err)) if start_err else float("nan"),
        "end error median s (signed)": float(np.median(end_err)) if end_err else float("nan"),
        "frame miss rate": float(1 - got[ref].mean()), "frame false alarm rate": float(got[~ref].mean()),
    }, best


def accuracy(model_dir: str, clips: list[Clip], pairs: list[tuple[Segment, np.ndarray]], best: list[int | None]):
    """Per-clip accuracy of the model on the clean clips, and of each clip's best-overlapping segment."""
    from semo_batch import features
    from semo_batch.models import load_model

    clf = load_model(model_dir)
    assert clf.feature_config is not None
    features.prepare(clf.feature_config)
    sr = clf.feature_config.sample_rate
    X_clip = np.stack([features.extract(load(c.path, sr=sr)[0], clf.feature_config) for c in clips])
    used = sorted({b for b in best if b is not None})
    X_seg = np.stack([features.extract(pairs[i][1], clf.feature_config) for i in used])
    seg_label = dict(zip(used, clf.predict(X_seg)))
    truth = np.array([c.emotion for c in clips], dtype=object)
    clip_pred = clf.predict(X_clip)
    seg_pred = np.array([seg_label[b] if b is not None else "" for b in best], dtype=object)
    return float(np.mean(clip_pred == truth)), float(np.mean(seg_pred == truth))


def train_without(actors: set[int], store: str, model_dir: str) -> None:
    """The bundled models' recipe (fusion on their feature set, every copy in the store, corpora
    weighing the same) trained on ``store`` without the RAVDESS ``actors``, saved to ``model_dir``."""
    from semo_batch.dataset import load_labelled
    from semo_batch.models import load_model, save_model
    from semo_batch.resources import default_model_dir
    from semo_batch.train import fit_classifier

    config = load_model(default_model_dir()).feature_config
    data = load_labelled(store, config, augmented=True)
    held = [f"ravdess:{a:02d}" for a in sorted(actors)]
    rows = np.flatnonzero(~np.isin(np.asarray(data.speakers, dtype=str), held))
    clf, _ = fit_classifier(data, rows, model="fusion", seed=0)
    save_model(clf, model_dir)
    print(f"# trained the bundled recipe on {len(rows)} rows of {store} without {', '.join(held)} -> {model_dir}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--actors", default="17,18,19,20", help="RAVDESS actors (give --model one trained without them)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gap-db", type=float, default=-10.0, help="gap noise level re the median speech level")
    ap.add_argument("--background-db", type=float, default=None, help="continuous pink noise re the speech level")
    ap.add_argument("--segment", default="auto", help="auto | none | fixed:SECONDS")
    ap.add_argument("--vad", default="ours", help="ours, or webrtc:N (N = aggressiveness 0-3)")
    ap.add_argument("--model", default=None, help="a model folder: also measure label accuracy")
    ap.add_argument("--keep", default=None, help="write the recording here instead of a temporary file")
    ap.add_argument("--train-store", default=None,
                    help="with --model: if the folder holds no model, first train the bundled recipe on this "
                         "store (e.g. out/corpora-chan, from jobs/default-model.toml) without --actors")
    args = ap.parse_args(argv)

    actors = {int(a) for a in args.actors.split(",")}
    if args.model and args.train_store and not (Path(args.model) / "model.json").exists():
        train_without(actors, args.train_store, args.model)
    files = [p for p in corpus.flac_files() if int(p.parent.name.split("_")[-1]) in actors]
    if not files:
        sys.exit(f"no RAVDESS clips of actors {sorted(actors)} under {corpus.flac_root()}")
    y, clips, level = build(files, args.minutes * 60, args.seed, args.gap_db, args.background_db)
    params = parse_segmenting(args.segment)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep or os.path.join(tmp, "long.wav"))
        sf.write(path, y, SR, subtype="PCM_16")
        t0 = time.perf_counter()
        if args.vad == "ours":
            pairs = segments_ours(path, params)
        else:
            pairs = segments_webrtc(sf.read(path, dtype="float32")[0], params, int(args.vad.split(":")[1]))
        took = time.perf_counter() - t0
    figures, best = score([s for s, _ in pairs], clips, len(y) / SR)
    print(f"# {len(y) / SR / 60:.1f} min from {len(clips)} clips of actors {sorted(actors)}"
          f"{' (synthetic stand-in)' if corpus.is_synthetic() else ''}; gaps {args.gap_db:g} dB, "
          f"background {args.background_db if args.background_db is not None else 'none'} dB re speech "
          f"({20 * np.log10(level):.1f} dBFS); detector {args.vad}; segmenting {args.segment}; "
          f"{took:.1f} s ({took / (len(y) / SR):.4f} x real time)")
    for k, v in figures.items():
        print(f"{k:32s} {v:.3f}" if isinstance(v, float) else f"{k:32s} {v}")
    if args.model:
        per_clip, per_segment = accuracy(args.model, clips, pairs, best)
        print(f"{'accuracy per clip (clean, whole)':32s} {per_clip:.3f}")
        print(f"{'accuracy best segment':32s} {per_segment:.3f}")


if __name__ == "__main__":
    main()
