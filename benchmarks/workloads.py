"""Every timed item of the benchmark suite, defined once for pytest-benchmark and for run.py.

A :class:`Workload` is a callable doing one round of work over a fixed set of
files, plus an optional per-round setup (a fresh store for featurize).  The
per-file items run in this process on one core; featurize and predict run
``jobs`` worker processes.  Speed is reported as files/s per core: files/s
divided by the number of worker processes.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import corpus
from notebook_reference import notebook_features

from semo_batch.audio import load
from semo_batch.config import get_config
from semo_batch.discover import AudioFile
from semo_batch.extract import extract_file
from semo_batch.features import extract
from semo_batch.features.filters import dct_matrix, mel_filterbank
from semo_batch.features.functionals import power_to_db
from semo_batch.features.spectrum import stft
from semo_batch.features.whisper import whisper_log_mel
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions

__all__ = [
    "PER_FILE_KEYS",
    "REFERENCE_KEY",
    "PredictUnavailable",
    "Scratch",
    "Workload",
    "featurize_workload",
    "per_file_workloads",
    "predict_workload",
]

#: The item every speed is compared with.
REFERENCE_KEY = "notebook"
#: The per-file items, in table order.
PER_FILE_KEYS = (
    REFERENCE_KEY,
    "decode-48k",
    "decode-16k",
    "extract-seed",
    "extract-emo",
    "file-seed",
    "file-emo",
    "floor-emo",
    "file-whisper",
    "floor-whisper",
    "frontend-whisper",
)


@dataclasses.dataclass
class Workload:
    """One benchmark item.

    Attributes:
        key: short id (``extract-seed``).
        label: what the table calls it.
        files: files processed per round.
        workers: worker processes (the "cores" of files/s per core).
        run: does one round; takes what ``setup`` returned.
        setup: called before every round, untimed; returns ``run``'s argument.
        teardown: called after every round with the same argument, untimed.
    """

    key: str
    label: str
    files: int
    workers: int
    run: Callable[[Any], Any]
    setup: Callable[[], Any] = lambda: None
    teardown: Callable[[Any], None] = lambda _arg: None


class Scratch:
    """Temporary stores and trees under the benchmark cache, removed on :meth:`close`."""

    def __init__(self, prefix: str = "scratch") -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=corpus.cache_dir()))

    def new_dir(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _audio_files(paths: list[Path]) -> list[AudioFile]:
    root = corpus.wav_root()
    return [AudioFile(path=str(p), root=str(root), relpath=p.relative_to(root).as_posix()) for p in paths]


def per_file_workloads(paths: list[Path]) -> list[Workload]:
    """In-process, one file after the other: decode, extraction on arrays, file to vector, the notebook.

    ``paths`` are WAV files; the decoded signals for the array-only items are
    made here, once.
    """
    seed, emo, whisper = get_config("seed"), get_config("emo"), get_config("whisper")
    n = len(paths)
    y48 = [load(p, sr=seed.sample_rate)[0] for p in paths]
    y16 = [load(p, sr=emo.sample_rate)[0] for p in paths]
    files = _audio_files(paths)

    def decode(sr: int) -> Callable[[Any], Any]:
        return lambda _arg: [load(p, sr=sr) for p in paths]

    def features_of(signals: list[Any], config: Any) -> Callable[[Any], Any]:
        return lambda _arg: [extract(y, config) for y in signals]

    def floor(config: Any) -> Callable[[Any], Any]:
        # What any emo extraction must do: decode, resample, one STFT, its mel bands and MFCCs.
        melfb = mel_filterbank(
            sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels, fmin=config.fmin, fmax=config.mel_fmax
        )
        dct = dct_matrix(n_in=config.n_mels, n_out=config.n_mfcc).T.astype("float32")

        def run(_arg: Any) -> list[Any]:
            return [power_to_db(stft(load(p, sr=config.sample_rate)[0], config).power @ melfb.T) @ dct for p in paths]

        return run

    def whisper_front_end(_arg: Any) -> list[Any]:
        return [whisper_log_mel(load(p, sr=whisper.sample_rate)[0], whisper) for p in paths]

    def whisper_floor(_arg: Any) -> list[Any]:
        # What any use of the encoder must do: decode, resample, Whisper's log-mel, the encoder.
        from semo_batch.encoder import encode_log_mel

        return [encode_log_mel(m, whisper) for m in whisper_front_end(_arg)]

    def file_to_vector(config: Any) -> Callable[[Any], Any]:
        def run(_arg: Any) -> list[Any]:
            out = [extract_file(f, config, None) for f in files]
            bad = [r.error for r in out if r.error is not None]
            if bad:
                raise RuntimeError(f"{len(bad)} files failed, e.g. {bad[0]}")
            return out

        return run

    items = [
        Workload(
            REFERENCE_KEY,
            "notebook reference (file -> 193 numbers, librosa)",
            n,
            1,
            lambda _arg: [notebook_features(p) for p in paths],
        ),
        Workload("decode-48k", "decode WAV, 48 kHz (seed: no resampling)", n, 1, decode(seed.sample_rate)),
        Workload("decode-16k", "decode WAV + resample to 16 kHz (emo)", n, 1, decode(emo.sample_rate)),
        Workload("extract-seed", "seed features of a decoded signal", n, 1, features_of(y48, seed)),
        Workload("extract-emo", "emo features of a decoded signal", n, 1, features_of(y16, emo)),
        Workload("file-seed", "file -> seed vector (decode + extract)", n, 1, file_to_vector(seed)),
        Workload("file-emo", "file -> emo vector (decode + resample + extract)", n, 1, file_to_vector(emo)),
        Workload("floor-emo", "floor: decode + resample + one STFT + mel bands and MFCCs (emo)", n, 1, floor(emo)),
        Workload("file-whisper", "file -> whisper vector (decode + resample + encoder, int8)", n, 1,
                 file_to_vector(whisper)),
        Workload("floor-whisper", "floor: decode + resample + Whisper log-mel + encoder (whisper)", n, 1, whisper_floor),
        Workload("frontend-whisper", "of which decode + resample + Whisper log-mel", n, 1, whisper_front_end),
    ]
    # One-off costs are not steady state: librosa's numba JIT (about 1.5 s), filter banks, imports.
    notebook_features(paths[0])
    extract(y48[0], seed)
    extract(y16[0], emo)
    extract(y16[0], whisper)  # loads the encoder: once per process, as a worker does
    return items


def featurize_workload(
    subset_root: Path, n_files: int, *, feature_set: str, jobs: int, scratch: Scratch
) -> Workload:
    """``featurize`` of a folder into a fresh store each round."""

    def setup() -> Path:
        return scratch.new_dir("store")

    def run(store: Path) -> Any:
        summary = featurize([subset_root], store, feature_set=feature_set, options=RunOptions(jobs=jobs))
        if summary.done != n_files:
            raise RuntimeError(f"featurize did {summary.done} of {n_files} files ({summary.failures[:1]})")
        return summary

    return Workload(
        f"featurize-{feature_set}-j{jobs}",
        f"featurize {n_files} files, {feature_set}, jobs={jobs} (fresh store)",
        n_files,
        jobs,
        run,
        setup,
        lambda store: shutil.rmtree(store, ignore_errors=True),
    )


class PredictUnavailable(Exception):
    """Why the predict benchmark cannot run here (the message is the skip reason)."""


def _model_dir() -> Path:
    env = os.environ.get("SEMO_BENCH_MODEL")
    if env:
        if not Path(env).is_dir():
            raise PredictUnavailable(f"SEMO_BENCH_MODEL={env} is not a folder")
        return Path(env)
    bundled = corpus.REPO / "semo_batch" / "data" / "model"
    if bundled.is_dir() and any(bundled.iterdir()):
        return bundled
    raise PredictUnavailable(
        "no model to predict with: set SEMO_BENCH_MODEL to a model folder (semo-batch train) "
        f"or ship one under {bundled}"
    )


def _column(table: Any, name: str) -> list[Any]:
    try:
        return list(table[name])
    except Exception:  # noqa: BLE001 - no such column (polars raises its own ColumnNotFoundError)
        return []


def predict_workload(subset_root: Path, n_files: int, *, jobs: int) -> Workload:
    """``predict_folders`` over the subset.

    Raises:
        PredictUnavailable: no ``semo_batch.predict.predict_folders`` yet, no model,
            or a signature this benchmark does not know how to call.
    """
    try:
        mod = importlib.import_module("semo_batch.predict")
    except ModuleNotFoundError as exc:
        raise PredictUnavailable(f"semo_batch.predict is not there yet ({exc})") from None
    fn = getattr(mod, "predict_folders", None)
    if fn is None:
        raise PredictUnavailable("semo_batch.predict has no predict_folders yet")
    params = inspect.signature(fn).parameters
    known = {"roots", "model_dir", "jobs"}
    missing = [
        name
        for name, p in params.items()
        if name not in known
        and p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if missing:
        raise PredictUnavailable(f"predict_folders needs arguments this benchmark does not pass: {missing}")
    if "roots" not in params or "model_dir" not in params:
        raise PredictUnavailable(f"predict_folders{inspect.signature(fn)} has no roots/model_dir parameters")
    model_dir = _model_dir()
    values = {"roots": [subset_root], "model_dir": model_dir, "jobs": jobs}
    args, kwargs = [], {}
    for name, p in params.items():
        if name not in values:
            continue
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            args.append(values[name])
        else:
            kwargs[name] = values[name]

    def run(_arg: Any) -> Any:
        out = fn(*args, **kwargs)
        errors = [e for e in _column(out, "error") if e]
        if errors:
            raise RuntimeError(f"predict failed on {len(errors)} files, e.g. {errors[0]}")
        if len(out) != n_files:
            raise RuntimeError(f"predict returned {len(out)} rows for {n_files} files")
        return out

    what = "bundled model" if model_dir.parent.name == "data" else model_dir.name
    label = f"predict {n_files} files, jobs={jobs} ({what}, loaded each round)"
    return Workload(f"predict-j{jobs}", label, n_files, jobs, run)
