"""Feature code on synthetic signals with known answers, and the seed set against librosa.

Tolerances for the seed set against the notebook's librosa code (measured on librosa
0.11: mel <= 1.3e-6 relative per band, chroma <= 6e-7, MFCC <= 3.1e-5 absolute on
values up to ~600, zero crossings exact, tuning exact); the asserts below leave about
10x headroom: mel rtol 1e-5 (plus an atol of 1e-6 of the largest band), chroma atol 1e-5,
MFCC atol 5e-4, zero crossings and tuning equal.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from conftest import harmonic_tone, tone

from semo_batch.config import get_config
from semo_batch.features import extract, names
from semo_batch.features.emo import emo_descriptors, emo_features, emo_names
from semo_batch.features.functionals import (
    STATS,
    mean,
    median,
    percentile,
    power_to_db,
    summarize,
    summarize_series,
)
from semo_batch.features.pitch import estimate_tuning, f0_autocorrelation
from semo_batch.features.seed import seed_features, seed_names, zero_crossings
from semo_batch.features.spectrum import frame, stft

EMO = get_config("emo")
SEED = get_config("seed")

MEL_RTOL = 1e-5
CHROMA_ATOL = 1e-5
MFCC_ATOL = 5e-4
F0_RTOL = 0.02


def f32(y: np.ndarray) -> np.ndarray:
    return np.asarray(y, dtype=np.float32)


# --------------------------------------------------------------------------- the one STFT


@pytest.mark.parametrize(
    ("config", "kwargs"),
    [
        (EMO, dict(n_fft=1024, hop_length=160, win_length=640, pad_mode="constant")),
        (SEED, dict(n_fft=2048, hop_length=512, win_length=2048, pad_mode="reflect")),
    ],
)
def test_stft_magnitude_matches_librosa(config, kwargs, rng):
    y = f32(rng.standard_normal(config.sample_rate // 3))
    spec = stft(y, config)
    ref = np.abs(librosa.stft(y, window="hann", center=True, **kwargs)).T
    assert spec.magnitude.shape == ref.shape
    assert spec.magnitude.dtype == np.float32 and spec.power.dtype == np.float32
    np.testing.assert_allclose(spec.magnitude, ref, rtol=0, atol=1e-6 * ref.max())
    np.testing.assert_allclose(spec.power, np.maximum(ref**2, 1e-30), rtol=2e-5, atol=1e-6 * ref.max() ** 2)
    assert spec.frame_rate == config.sample_rate / config.hop_length


def test_frame_centres_frames_on_hops():
    y = np.arange(10, dtype=np.float32)
    fr = frame(y, n_fft=4, hop_length=3, center=True, pad_mode="constant")
    assert fr.shape == (4, 4)  # 1 + (10 + 4 - 4) // 3
    np.testing.assert_array_equal(fr[1], [1, 2, 3, 4])  # frame 1 centred on sample 3
    np.testing.assert_array_equal(fr[0], [0, 0, 0, 1])
    # Too short to reflect: falls back to zero padding instead of failing.
    short = frame(np.ones(3, np.float32), n_fft=16, hop_length=4, center=True, pad_mode="reflect")
    assert short.shape == (1, 16) and short.sum() == 3


# --------------------------------------------------------------------------- spectral shape


@pytest.mark.parametrize("freq", [250.0, 440.0, 1000.0, 3000.0, 6000.0])
def test_pure_tone_spectral_shape(freq):
    y = f32(tone(freq, sr=EMO.sample_rate, duration=0.5))
    d = emo_descriptors(y, EMO)
    inner = slice(4, -4)  # frames whose window lies wholly inside the signal
    assert d["active"].all()
    np.testing.assert_allclose(d["centroid"][inner], freq, rtol=1e-4)
    assert d["centroid"][inner].dtype == np.float32
    bin_hz = EMO.sample_rate / EMO.n_fft
    assert np.all(d["bandwidth"][inner] < 2 * bin_hz)  # only the window's main lobe
    assert np.all((d["rolloff"][inner] >= freq) & (d["rolloff"][inner] <= freq + 2 * bin_hz))
    assert np.all(d["flatness"][inner] < 1e-6)  # as tonal as it gets
    # Crossings per frame: 2 per period, +-1 for where the frame starts.
    crossings = d["zcr"][inner] * EMO.win_length
    assert np.all(np.abs(crossings - 2 * freq * EMO.win_length / EMO.sample_rate) <= 1.0)


def test_centroid_of_two_tones_is_their_power_weighted_mean():
    sr = EMO.sample_rate
    y = f32(tone(500.0, sr=sr, duration=0.5, amp=0.4) + tone(2000.0, sr=sr, duration=0.5, amp=0.2))
    c = emo_descriptors(y, EMO)["centroid"][4:-4]
    np.testing.assert_allclose(c, (0.16 * 500 + 0.04 * 2000) / 0.2, rtol=1e-3)


def test_white_noise_is_flat_and_unvoiced(rng):
    y = f32(0.1 * rng.standard_normal(EMO.sample_rate))
    d = emo_descriptors(y, EMO)
    assert d["voiced"].mean() < 0.05
    assert np.median(d["strength"]) < 0.3
    assert 0.4 < np.median(d["flatness"]) < 0.8  # white noise: ~0.56 (exp(-euler_gamma))
    np.testing.assert_allclose(np.median(d["centroid"]), EMO.sample_rate / 4, rtol=0.05)


# --------------------------------------------------------------------------- pitch


@pytest.mark.parametrize("f0", [100.0, 150.0, 220.0, 310.0])
def test_harmonic_tone_f0(f0):
    y = f32(harmonic_tone(f0, sr=EMO.sample_rate, duration=0.5))
    d = emo_descriptors(y, EMO)
    v = d["voiced"]
    assert v.mean() > 0.95
    np.testing.assert_allclose(d["f0"][v], f0, rtol=F0_RTOL)
    assert np.median(d["strength"][v]) > 0.8


@pytest.mark.parametrize("f0", [330.0, 450.0])
def test_harmonic_tone_f0_high_voice(f0):
    y = f32(harmonic_tone(f0, sr=EMO.sample_rate, duration=0.5))
    d = emo_descriptors(y, EMO)
    v = d["voiced"]
    assert v.mean() > 0.95
    np.testing.assert_allclose(d["f0"][v], f0, rtol=F0_RTOL)


def test_emo_f0_functionals_are_in_semitones():
    f0 = 220.0
    v = emo_features(f32(harmonic_tone(f0, sr=EMO.sample_rate, duration=0.5)), EMO)
    feats = dict(zip(emo_names(EMO), v.tolist(), strict=True))
    assert feats["f0_p50"] == pytest.approx(12 * np.log2(f0 / 27.5), abs=0.35)  # 2% is 0.35 semitone
    assert feats["f0_range"] < 0.35
    assert abs(feats["f0_slope"]) < 1.0
    assert feats["voiced_fraction"] > 0.95
    assert feats["voiced_segment_rate"] == pytest.approx(1 / 0.5, rel=0.1)  # one segment in 0.5 s
    assert feats["active_fraction"] == 1.0


def test_f0_rising_tone_has_positive_slope():
    sr, dur = EMO.sample_rate, 1.0
    t = np.arange(int(sr * dur)) / sr
    f_inst = 150.0 * 2 ** (t / dur)  # one octave up in 1 s = 12 semitones / s
    phase = 2 * np.pi * np.cumsum(f_inst) / sr
    y = f32(sum((0.5 / k) * np.sin(k * phase) for k in range(1, 6)))
    feats = dict(zip(emo_names(EMO), emo_features(y, EMO).tolist(), strict=True))
    assert feats["f0_slope"] == pytest.approx(12.0, rel=0.1)


def test_f0_autocorrelation_of_silence_is_zero_strength():
    p = np.full((5, EMO.n_fft // 2 + 1), 1e-30, dtype=np.float32)
    f0, strength = f0_autocorrelation(
        p,
        sr=EMO.sample_rate,
        n_fft=EMO.n_fft,
        win_length=EMO.win_length,
        f0_min=EMO.f0_min,
        f0_max=EMO.f0_max,
    )
    assert f0.shape == strength.shape == (5,)
    assert np.all(strength < 0.05)  # a flat spectrum has no periodicity
    # 0 Hz where the autocorrelation has no peak in the search range, else a value in range
    assert np.all((f0 == 0) | ((f0 >= EMO.f0_min) & (f0 <= EMO.f0_max)))
    empty = f0_autocorrelation(
        p[:0],
        sr=EMO.sample_rate,
        n_fft=EMO.n_fft,
        win_length=EMO.win_length,
        f0_min=EMO.f0_min,
        f0_max=EMO.f0_max,
    )
    assert empty[0].shape == empty[1].shape == (0,)


# --------------------------------------------------------------------------- tuning


@pytest.mark.parametrize(("sr", "n_fft"), [(48_000, 2048), (16_000, 1024)])
@pytest.mark.parametrize("bins_per_octave", [12, 24])
@pytest.mark.parametrize(
    ("base", "detune"), [(440.0, 0.0), (220.0, -0.25), (330.0, 0.1), (440.0, 0.33), (261.6, -0.45)]
)
def test_estimate_tuning_matches_librosa(sr, n_fft, bins_per_octave, base, detune):
    f = base * 2 ** (detune / 12)
    y = f32(tone(f, sr=sr, duration=0.4) + tone(2 * f, sr=sr, duration=0.4, amp=0.2))
    s = np.abs(librosa.stft(y, n_fft=n_fft, pad_mode="reflect"))
    ref = librosa.estimate_tuning(S=s, sr=sr, n_fft=n_fft, bins_per_octave=bins_per_octave)
    ours = estimate_tuning(np.ascontiguousarray(s.T), sr=sr, n_fft=n_fft, bins_per_octave=bins_per_octave)
    assert ours == pytest.approx(ref, abs=1e-9)
    assert -0.5 <= ours < 0.5


def test_estimate_tuning_finds_the_detuning():
    sr, n_fft = 48_000, 2048
    y = f32(tone(440.0 * 2 ** (0.3 / 12), sr=sr, duration=0.5))  # 30 cents sharp
    s = stft(y, SEED).magnitude
    assert estimate_tuning(s, sr=sr, n_fft=n_fft) == pytest.approx(0.3, abs=0.03)
    assert estimate_tuning(np.zeros_like(s), sr=sr, n_fft=n_fft) == 0.0
    assert estimate_tuning(s[:0], sr=sr, n_fft=n_fft) == 0.0


# --------------------------------------------------------------------------- seed vs librosa


def _librosa_seed(y: np.ndarray, sr: int) -> np.ndarray:
    """The notebook's extraction (shared/SEED.md), with librosa 0.8's reflect padding."""
    stft_abs = np.abs(librosa.stft(y, pad_mode="reflect"))
    mel = np.mean(librosa.feature.melspectrogram(y=y, sr=sr, pad_mode="reflect").T, axis=0)
    chroma = np.mean(librosa.feature.chroma_stft(S=stft_abs, sr=sr, n_chroma=24).T, axis=0)
    mfcc = np.mean(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40, pad_mode="reflect").T, axis=0)
    zc = librosa.zero_crossings(y, pad=False).sum()
    return np.concatenate([mel, chroma, mfcc, [zc]])


def _seed_signals(rng: np.random.Generator) -> dict[str, np.ndarray]:
    sr = SEED.sample_rate
    return {
        "tone": tone(440.0, sr=sr, duration=0.6),
        "detuned": tone(440.0 * 2 ** (0.3 / 12), sr=sr, duration=0.6),
        "chirp": 0.5 * librosa.chirp(fmin=200.0, fmax=4000.0, sr=sr, duration=0.6),
        "harmonic": harmonic_tone(150.0, sr=sr, duration=0.6),
        "noise": 0.1 * rng.standard_normal(int(0.6 * sr)),
    }


@pytest.mark.parametrize("kind", ["tone", "detuned", "chirp", "harmonic", "noise"])
def test_seed_matches_librosa_reference(kind, rng):
    y = f32(_seed_signals(rng)[kind])
    ours = seed_features(y, SEED)
    ref = _librosa_seed(y, SEED.sample_rate)
    assert ours.shape == ref.shape == (193,)
    assert ours.dtype == np.float32
    mel, chroma, mfcc = slice(0, 128), slice(128, 152), slice(152, 192)
    np.testing.assert_allclose(ours[mel], ref[mel], rtol=MEL_RTOL, atol=1e-6 * ref[mel].max())
    np.testing.assert_allclose(ours[chroma], ref[chroma], rtol=0, atol=CHROMA_ATOL)
    np.testing.assert_allclose(ours[mfcc], ref[mfcc], rtol=0, atol=MFCC_ATOL)
    assert ours[-1] == ref[-1]


def test_seed_chroma_of_a_tone_peaks_on_its_pitch_class():
    y = f32(tone(440.0, sr=SEED.sample_rate, duration=0.5))
    chroma = seed_features(y, SEED)[128:152]
    assert int(np.argmax(chroma)) == 18  # A is pitch class 9 of 12: bin 18 of 24, counted from C
    assert chroma.max() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    ("freq", "duration", "sr"), [(440.0, 1.0, 48_000), (1000.0, 0.5, 16_000), (123.4, 0.8, 22_050)]
)
def test_zero_crossings_of_a_sine(freq, duration, sr):
    y = f32(tone(freq, sr=sr, duration=duration, phase=0.3))
    n = zero_crossings(y)
    assert abs(n - 2 * freq * duration) <= 1
    assert n == librosa.zero_crossings(y, pad=False).sum()


def test_zero_crossings_threshold_treats_tiny_values_as_positive():
    assert zero_crossings(np.array([1.0, -1e-12, 1.0, -1.0], dtype=np.float32)) == 1
    assert zero_crossings(np.zeros(100, dtype=np.float32)) == 0


# --------------------------------------------------------------------------- names and edge cases


@pytest.mark.parametrize("config", [SEED, EMO], ids=["seed", "emo"])
def test_names_match_extract(config, rng):
    y = f32(0.1 * rng.standard_normal(config.sample_rate // 2))
    v = extract(y, config)
    n = names(config)
    assert len(n) == v.shape[0]
    assert len(set(n)) == len(n)
    assert v.dtype == np.float32 and np.isfinite(v).all()


def test_feature_counts():
    assert len(seed_names(SEED)) == 193
    assert len(names(EMO)) == len(emo_names(EMO)) == 658
    assert len(set(names(EMO))) == 658  # unique column names


@pytest.mark.parametrize("version", [3, 4])
def test_emo_names_without_a_signal_are_those_of_real_descriptors(version):
    # The names come from placeholder descriptors (so a batch's parent never runs the
    # signal chain); they must be exactly what the functionals of a real signal are called.
    import dataclasses

    from semo_batch.features.emo import _collect

    config = dataclasses.replace(EMO, version=version)
    y = tone(220.0, sr=config.sample_rate, duration=1.0) + 0.01 * np.random.default_rng(3).standard_normal(config.sample_rate)
    real = _collect(emo_descriptors(y.astype(np.float32), config), config).names
    assert emo_names(config) == real
    assert len(real) == len(emo_features(y.astype(np.float32), config))


def test_naming_columns_imports_neither_signal_code_nor_polars():
    import subprocess
    import sys

    code = ("import sys\nfrom semo_batch.config import get_config\nfrom semo_batch.features import names\n"
            "import semo_batch.featurize\n"
            "assert len(names(get_config('emo+whisper'))) == 658 + 1024\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'polars')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("config", [SEED, EMO], ids=["seed", "emo"])
@pytest.mark.parametrize(
    "signal",
    ["silence_1s", "silence_short", "tone_50_samples", "one_sample", "dc"],
)
def test_features_finite_for_silence_and_short_clips(config, signal):
    sr = config.sample_rate
    y = {
        "silence_1s": np.zeros(sr, np.float32),
        "silence_short": np.zeros(sr // 10, np.float32),
        "tone_50_samples": f32(tone(200.0, sr=sr, duration=50 / sr)),
        "one_sample": np.full(1, 0.5, np.float32),
        "dc": np.full(sr // 5, 0.25, np.float32),
    }[signal]
    v = extract(y, config)
    assert v.shape == (len(names(config)),)
    assert np.isfinite(v).all()


def test_emo_silence_is_unvoiced():
    v = emo_features(np.zeros(EMO.sample_rate // 2, np.float32), EMO)
    feats = dict(zip(emo_names(EMO), v.tolist(), strict=True))
    assert feats["voiced_fraction"] == 0.0
    assert feats["f0_mean"] == 0.0
    assert feats["energy_mean"] == pytest.approx(-100.0)  # power_to_db's floor (amin 1e-10)


def test_emo_ignores_leading_and_trailing_silence():
    sr = EMO.sample_rate
    core = f32(harmonic_tone(180.0, sr=sr, duration=0.5))
    padded = np.concatenate([np.zeros(sr // 2, np.float32), core, np.zeros(sr, np.float32)])
    a = dict(zip(emo_names(EMO), emo_features(core, EMO).tolist(), strict=True))
    b = dict(zip(emo_names(EMO), emo_features(padded, EMO).tolist(), strict=True))
    assert b["active_fraction"] == pytest.approx(0.5 / 2.0, abs=0.03)
    assert b["f0_p50"] == pytest.approx(a["f0_p50"], abs=0.05)
    assert b["centroid_mean"] == pytest.approx(a["centroid_mean"], rel=0.05)


# --------------------------------------------------------------------------- functionals


def test_summarize_linear_ramp():
    frame_rate = 100.0
    t = np.arange(201) / frame_rate  # 2 s
    x = 3.0 + 5.0 * t  # 5 units per second
    out = summarize(x, STATS, frame_rate=frame_rate)
    assert out.shape == (1, len(STATS))
    s = dict(zip(STATS, out[0], strict=True))
    assert s["slope"] == pytest.approx(5.0, rel=1e-12)
    assert s["mean"] == pytest.approx(8.0)
    assert s["p50"] == pytest.approx(8.0)
    assert s["p10"] == pytest.approx(3.0 + 5.0 * 0.2)
    assert s["p90"] == pytest.approx(3.0 + 5.0 * 1.8)
    assert s["range"] == pytest.approx(8.0)
    assert s["std"] == pytest.approx(np.std(x))


def test_summarize_percentiles_columns_and_order():
    x = np.stack([np.arange(101.0), -np.arange(101.0), np.full(101, 7.0)], axis=1)  # (t=101, k=3)
    out = summarize(x, ("p90", "mean", "p10", "range", "slope"), frame_rate=10.0)
    assert out.shape == (3, 5)
    np.testing.assert_allclose(out[0], [90.0, 50.0, 10.0, 80.0, 10.0])
    np.testing.assert_allclose(out[1], [-10.0, -50.0, -90.0, 80.0, -10.0])
    np.testing.assert_allclose(out[2], [7.0, 7.0, 7.0, 0.0, 0.0], atol=1e-12)


def test_summarize_degenerate_inputs():
    assert summarize(np.zeros(0), STATS, frame_rate=100.0).tolist() == [[0.0] * len(STATS)]
    one = summarize(np.array([4.0]), STATS, frame_rate=100.0)[0]
    assert dict(zip(STATS, one, strict=True)) == {
        "mean": 4.0,
        "std": 0.0,
        "p10": 4.0,
        "p50": 4.0,
        "p90": 4.0,
        "range": 0.0,
        "slope": 0.0,
    }


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (3, 2), (9, 1), (358, 1), (251, 40), (120, 7)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_summarize_is_numpys_mean_std_and_percentiles_bit_for_bit(shape, dtype, rng):
    # summarize reimplements numpy's statistics without their per-call overhead: the
    # feature vectors (and the stores and models made from them) must not move by one bit.
    x = (rng.standard_normal(shape) * 30 - 40).astype(dtype)
    x[rng.random(shape) < 0.2] = -40.0  # ties, as with floored dB values
    x64 = x.astype(np.float64)
    out = summarize(x, STATS, frame_rate=100.0)
    pct = np.percentile(x64, [10, 50, 90], axis=0)
    want = [x64.mean(axis=0), x64.std(axis=0), pct[0], pct[1], pct[2], pct[2] - pct[0]]
    for i, w in enumerate(want):
        np.testing.assert_array_equal(out[:, i], w, err_msg=STATS[i])
    if shape[0] > 1:
        tt = (np.arange(shape[0]) - (shape[0] - 1) / 2.0) / 100.0
        np.testing.assert_array_equal(out[:, 6], tt @ (x64 - x64.mean(axis=0)) / (tt @ tt))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (2,), (3,), (8,), (357,), (1, 1), (5, 3), (251, 40)])
def test_percentile_and_median_are_numpys_bit_for_bit(dtype, shape, rng):
    # Types included: a scalar q interpolates in the input's dtype, a list in float64.
    for trial in range(5):
        x = (rng.standard_normal(shape) * 30 - 40).astype(dtype)
        if trial % 2:
            x[rng.random(shape) < 0.3] = -40.0
        if trial == 4:
            x[0] = np.nan  # a column holding NaN: numpy's own rules
        for q in (99, 95, 5, 50, 0, 100, [95, 5], [10, 50, 90], [90]):
            got, want = percentile(x, q), np.percentile(x, q, axis=0)
            assert type(got) is type(want) and np.asarray(got).dtype == np.asarray(want).dtype
            np.testing.assert_array_equal(got, want)
        if x.ndim == 1:
            got, want = median(x), np.median(x)
            assert type(got) is type(want)
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.bool_, np.float16])
@pytest.mark.parametrize("shape", [(1,), (7,), (129,), (358,), (9, 1), (358, 20), (20, 358), (3, 4, 5)])
def test_mean_is_numpys_bit_for_bit(dtype, shape, rng):
    x = (rng.standard_normal(shape) * 30 - 40).astype(dtype)
    for axis in (None, *range(x.ndim)):
        for keepdims in (False, True):
            got, want = mean(x, axis, keepdims=keepdims), x.mean(axis, keepdims=keepdims)
            assert type(got) is type(want) and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
    # Strided views (a column, every other row) as the descriptors pass them.
    if x.ndim == 2:
        for view in (x[:, 0], x[::2], x.T):
            np.testing.assert_array_equal(mean(view, 0), view.mean(0))
    with pytest.warns(RuntimeWarning):
        assert np.isnan(mean(np.zeros(0, dtype=np.float32)))


@pytest.mark.parametrize("t", [0, 1, 2, 7, 8, 9, 128, 129, 358])
def test_summarize_series_is_summarize_of_each_row_bit_for_bit(t, rng):
    xs = (rng.standard_normal((5, t)) * 30 - 40).astype(np.float32)
    want = np.stack([summarize(x, STATS, frame_rate=100.0)[0] for x in xs])
    np.testing.assert_array_equal(summarize_series(xs, STATS, frame_rate=100.0), want)


def test_power_to_db_matches_librosa(rng):
    p = rng.random((20, 30)) ** 4
    np.testing.assert_allclose(power_to_db(p), librosa.power_to_db(p, top_db=None), rtol=1e-12)
    np.testing.assert_allclose(power_to_db(p, top_db=30.0), librosa.power_to_db(p, top_db=30.0), rtol=1e-12)
    assert power_to_db(np.array([0.0])).tolist() == [-100.0]


def test_seed_stft_matches_librosa_within_float32_rounding(rng):
    # Single-precision FFT by design (twice as fast); librosa FFTs in double precision.
    y = f32(0.1 * rng.standard_normal(SEED.sample_rate // 2))
    ref = np.abs(librosa.stft(y, pad_mode="reflect")).T
    np.testing.assert_allclose(stft(y, SEED).magnitude, ref, rtol=0, atol=2e-6 * ref.max())


# --------------------------------------------------------------------------- real recordings


def _load_ravdess(ravdess_dir, rel):
    from semo_batch.audio import load

    return load(ravdess_dir / rel, sr=SEED.sample_rate)


@pytest.mark.ravdess
@pytest.mark.parametrize(
    ("rel", "channels"),
    [
        ("Actor_17/03-01-06-02-01-01-17.flac", 1),
        ("Actor_01/03-01-02-01-01-02-01.flac", 2),  # compared on the mean of its channels
    ],
)
def test_seed_matches_librosa_on_ravdess(ravdess_dir, rel, channels):
    y, info = _load_ravdess(ravdess_dir, rel)
    ours = seed_features(y, SEED)
    ref = _librosa_seed(y, SEED.sample_rate)
    np.testing.assert_allclose(ours[:128], ref[:128], rtol=MEL_RTOL, atol=1e-6 * ref[:128].max())
    np.testing.assert_allclose(ours[128:152], ref[128:152], rtol=0, atol=CHROMA_ATOL)
    np.testing.assert_allclose(ours[152:192], ref[152:192], rtol=0, atol=MFCC_ATOL)
    assert ours[-1] == ref[-1]
    assert info.channels == channels


@pytest.mark.ravdess
def test_seed_tuning_matches_librosa_on_a_near_tied_ravdess_file(ravdess_dir):
    y, _ = _load_ravdess(ravdess_dir, "Actor_02/03-01-05-02-02-01-02.flac")
    s = np.abs(librosa.stft(y, pad_mode="reflect"))
    ref = librosa.estimate_tuning(S=s, sr=SEED.sample_rate, bins_per_octave=24)
    # The estimator itself is exact given librosa's magnitudes ...
    assert (
        estimate_tuning(np.ascontiguousarray(s.T), sr=SEED.sample_rate, n_fft=2048, bins_per_octave=24) == ref
    )
    # ... but on this near-tied file float32 rounding moves the histogram peak, which is
    # the documented tolerance of the seed set: chroma means within 0.05 on such files.
    ours = estimate_tuning(stft(y, SEED).magnitude, sr=SEED.sample_rate, n_fft=2048, bins_per_octave=24)
    assert ours != pytest.approx(ref, abs=1e-9)
    np.testing.assert_allclose(
        seed_features(y, SEED)[128:152], _librosa_seed(y, SEED.sample_rate)[128:152], rtol=0, atol=0.05
    )
