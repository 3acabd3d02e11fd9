from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import tone

from semo_batch.audio import DEFAULT_MAX_DURATION, load, probe, resample, to_mono
from semo_batch.errors import AudioError


def _dominant_frequency(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size), n=8 * y.size))
    return float(np.argmax(spec) * sr / (8 * y.size))


def test_mono_file_is_returned_as_float32_unchanged(write_wav, rng):
    y = (0.3 * rng.standard_normal(8000)).astype(np.float32)
    path = write_wav("mono.wav", y, 16_000, subtype="FLOAT")
    out, info = load(path, sr=16_000)
    assert out.dtype == np.float32 and out.ndim == 1
    np.testing.assert_array_equal(out, y)
    assert (info.sample_rate, info.channels, info.frames) == (16_000, 1, 8000)
    assert info.duration == pytest.approx(0.5)
    assert info.format == "WAV" and info.subtype == "FLOAT"


def test_stereo_is_downmixed_to_the_mean_of_channels(write_wav, rng):
    left = rng.uniform(-0.5, 0.5, 4000)
    right = rng.uniform(-0.5, 0.5, 4000)
    path = write_wav("stereo.wav", np.stack([left, right], axis=1), 16_000, subtype="FLOAT")
    out, info = load(path, sr=16_000)
    assert info.channels == 2
    assert out.shape == (4000,)
    np.testing.assert_allclose(out, (left + right) / 2, rtol=0, atol=1e-7)


def test_four_channels_and_opposite_phase_cancel(write_wav):
    y = tone(300.0, sr=16_000, duration=0.25)
    path = write_wav("quad.wav", np.stack([y, -y, 0.5 * y, -0.5 * y], axis=1), 16_000, subtype="FLOAT")
    out, info = load(path, sr=16_000)
    assert info.channels == 4
    np.testing.assert_allclose(out, 0.0, atol=1e-7)


def test_to_mono_shapes():
    assert to_mono(np.ones((5, 1), np.float64)).shape == (5,)
    assert to_mono(np.ones((5, 1), np.float64)).dtype == np.float32
    np.testing.assert_array_equal(to_mono(np.array([[1.0, 3.0], [2.0, 4.0]])), [2.0, 3.0])


def test_resample_48k_to_16k_keeps_length_and_frequency(write_wav):
    freq = 1000.0
    path = write_wav("tone48k.wav", tone(freq, sr=48_000, duration=0.5), 48_000, subtype="FLOAT")
    out, info = load(path, sr=16_000)
    assert info.sample_rate == 48_000  # the header's rate; the signal is at ``sr``
    assert out.shape == (8000,)
    assert out.dtype == np.float32
    assert _dominant_frequency(out, 16_000) == pytest.approx(freq, abs=2.0)
    # The amplitude survives (soxr HQ, tone far below the new Nyquist).
    assert np.sqrt(np.mean(out[500:-500] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_resample_removes_content_above_the_new_nyquist():
    y = tone(12_000.0, sr=48_000, duration=0.5).astype(np.float32)  # above 8 kHz
    out = resample(y, 48_000, 16_000)
    assert np.sqrt(np.mean(out[500:-500] ** 2)) < 1e-3


def test_resample_same_rate_is_identity():
    y = np.arange(10, dtype=np.float32)
    assert resample(y, 16_000, 16_000) is y


@pytest.mark.parametrize(
    ("name", "subtype", "step"),
    [
        ("f32.wav", "FLOAT", 0.0),
        ("i16.wav", "PCM_16", 2.0**-15),
        ("i24.wav", "PCM_24", 2.0**-23),
        ("i16.flac", "PCM_16", 2.0**-15),
        ("i24.flac", "PCM_24", 2.0**-23),
    ],
)
def test_subtypes_decode_to_the_same_values_within_quantization(write_wav, rng, name, subtype, step):
    y = np.clip(0.4 * rng.standard_normal(4000), -0.99, 0.99).astype(np.float32)
    path = write_wav(name, y, 16_000, subtype=subtype)
    out, info = load(path, sr=16_000)
    assert info.subtype == subtype
    # One step, not half of one: libsndfile's WAV writer floors float->int (its FLAC writer rounds).
    assert np.abs(out - y).max() <= max(step, 1e-7)
    if step:
        np.testing.assert_array_equal(np.round(out / step) * step, out)  # on the integer grid


@pytest.mark.parametrize("ext", ["wav", "flac"])
@pytest.mark.parametrize(("subtype", "bits"), [("PCM_16", 16), ("PCM_24", 24)])
def test_integer_pcm_decodes_exactly(write_wav, rng, ext, subtype, bits):
    # Integers written as int32 land in the file's top ``bits`` bits exactly.
    ints = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), 4000) << (32 - bits)
    path = write_wav(f"exact.{ext}", ints.astype(np.int32), 16_000, subtype=subtype)
    out, _ = load(path, sr=16_000)
    np.testing.assert_array_equal(out, (ints >> (32 - bits)) / 2.0 ** (bits - 1))
    assert out.min() >= -1.0 and out.max() < 1.0


def test_flac_and_wav_of_the_same_pcm_are_identical(write_wav, rng):
    ints = rng.integers(-(2**15), 2**15, 4000).astype(np.int16)
    a, _ = load(write_wav("a.wav", ints, 16_000, subtype="PCM_16"), sr=16_000)
    b, _ = load(write_wav("a.flac", ints, 16_000, subtype="PCM_16"), sr=16_000)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, ints / 32768.0)


def _assert_refused(path, match, **kwargs):
    with pytest.raises(AudioError) as e:
        load(path, **kwargs)
    msg = str(e.value)
    assert msg.startswith(f"{path}: "), msg
    assert "\n" not in msg
    assert e.value.path == str(path)
    assert match in e.value.reason, msg
    return e.value


def test_rejects_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _assert_refused(path, "empty file", sr=16_000)


def test_rejects_header_without_samples(write_wav):
    path = write_wav("zero.wav", np.zeros((0, 1), np.float32), 16_000)
    _assert_refused(path, "no audio samples", sr=16_000)


def test_rejects_too_short_file(write_wav):
    path = write_wav("short.wav", np.zeros(100, np.float32), 16_000)  # 6.25 ms
    err = _assert_refused(path, "shorter than the 0.1 s minimum", sr=16_000, min_duration=0.1)
    assert "0.006 s" in err.reason
    # The minimum is on the file's duration: exactly at the limit is fine.
    path = write_wav("edge.wav", np.zeros(1600, np.float32), 16_000)
    assert load(path, sr=16_000, min_duration=0.1)[0].shape == (1600,)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_rejects_non_finite_samples(write_wav, bad):
    y = np.zeros(1600, np.float32)
    y[700] = bad
    path = write_wav("nan.wav", y, 16_000, subtype="FLOAT")
    _assert_refused(path, "NaN or infinite", sr=16_000)


def test_rejects_over_long_file(write_wav):
    path = write_wav("long.wav", np.zeros(3 * 8000, np.float32), 8000)
    err = _assert_refused(path, "over the 2 s limit", sr=8000, max_duration=2.0)
    assert "3.0 s" in err.reason and "--max-duration" in err.reason
    assert load(path, sr=8000, max_duration=3.0)[0].shape == (24_000,)  # exactly at the limit
    assert load(path, sr=8000, max_duration=None)[0].shape == (24_000,)
    assert DEFAULT_MAX_DURATION == 600.0


def test_rejects_a_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("RIFF? no, just some text\n" * 20)
    _assert_refused(path, "not a decodable audio file", sr=16_000)


def test_rejects_a_truncated_header(tmp_path, write_wav):
    good = write_wav("good.wav", np.zeros(1600, np.float32), 16_000, subtype="PCM_16")
    path = tmp_path / "trunc.wav"
    path.write_bytes(good.read_bytes()[:20])
    _assert_refused(path, "not a decodable audio file", sr=16_000)


def test_missing_file_is_an_audio_error(tmp_path):
    path = tmp_path / "gone.wav"
    with pytest.raises(AudioError) as e:
        load(path, sr=16_000)
    assert str(e.value).startswith(f"{path}: ")


def test_missing_file_and_folder_have_precise_reasons(tmp_path):
    with pytest.raises(AudioError) as e:
        probe(tmp_path / "gone.wav")
    assert e.value.reason == "no such file"
    (tmp_path / "folder.wav").mkdir()
    with pytest.raises(AudioError) as e:
        probe(tmp_path / "folder.wav")
    assert "directory" in e.value.reason


def test_probe_reads_the_header_only(write_wav):
    path = write_wav("p.flac", np.zeros((2205, 2), np.float32), 22_050, subtype="PCM_24")
    info = probe(path)
    assert (info.sample_rate, info.channels, info.frames, info.format, info.subtype) == (
        22_050,
        2,
        2205,
        "FLAC",
        "PCM_24",
    )
    assert info.duration == pytest.approx(0.1)


def test_extension_does_not_matter(write_wav):
    path = write_wav(
        "recording.dat", tone(440.0, sr=16_000, duration=0.2), 16_000, subtype="PCM_16", format="WAV"
    )
    out, info = load(path, sr=16_000)
    assert info.format == "WAV" and out.shape == (3200,)
    assert sf.info(str(path)).format == "WAV"
