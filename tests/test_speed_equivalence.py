"""The speed-ups of issue 14 move no feature value: pinned numbers from the code before them.

Stores and the bundled models carry a fingerprint of the feature configuration, not of
the code, so faster code must give the same numbers.  The vectors of a synthetic clip
(silence, a harmonic glide, a fricative-like burst, silence) are pinned here as the code
before the speed-ups computed them (bit for bit on the machine that made them; the asserts
allow 1e-6 relative, float32 rounding across BLAS builds), and the shortcuts that skip
work are checked against the long way, bit for bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from semo_batch import features
from semo_batch.config import get_config
from semo_batch.features.emo import _collect, _descriptors, emo_descriptors, emo_features, emo_names
from semo_batch.features.pitch import f0_autocorrelation
from semo_batch.features.spectrum import stft

EMO = get_config("emo")
EMO_V3 = dataclasses.replace(EMO, version=3)
SEED = get_config("seed")


def _pseudo_noise(n: int) -> np.ndarray:
    """Uniform noise in [-0.5, 0.5) from integer arithmetic only (splitmix64: the same on every
    platform, and aperiodic at any lag a pitch tracker looks at)."""
    x = np.arange(n, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)) / 2.0**53 - 0.5


def clip(sr: int) -> np.ndarray:
    """2.5 s: 0.5 s of near-silence, a harmonic glide 140 -> 260 Hz with a noise burst, near-silence."""
    n = int(2.5 * sr)
    t = np.arange(n) / sr
    phase = 2 * np.pi * np.cumsum(140 * (260 / 140) ** (t / 2.5)) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 10)) * 0.25
    env = np.clip(np.minimum(t - 0.5, 2.0 - t) * 20, 0, 1)  # voiced from 0.5 s to 2.0 s
    hiss = 0.05 * _pseudo_noise(n) * ((t > 1.1) & (t < 1.25))
    y = voice * env + hiss + 0.001 * _pseudo_noise(n)
    return np.asarray(y, dtype=np.float32)


#: emo version 4 on :func:`clip` (16 kHz), computed by the code before the speed-ups of
#: issue 14.
EMO_V4_PINNED = {
    "energy_mean": -14.014897346496582,
    "energy_std": 3.5511720180511475,
    "energy_p10": -13.405750274658203,
    "energy_p50": -13.186395645141602,
    "energy_p90": -13.031441688537598,
    "energy_range": 0.37430915236473083,
    "energy_slope": -0.009020094759762287,
    "active_fraction": 0.6095617413520813,
    "energy_delta_abs_mean": 0.5914506316184998,
    "energy_delta_abs_std": 2.5628316402435303,
    "logmel_00_mean": -20.344860076904297,
    "logmel_00_std": 11.877625465393066,
    "logmel_00_p10": -34.19181823730469,
    "logmel_00_p50": -24.690935134887695,
    "logmel_00_p90": -2.7795796394348145,
    "logmel_13_mean": -5.037275791168213,
    "logmel_13_std": 8.38392162322998,
    "logmel_13_p10": -13.013155937194824,
    "logmel_13_p50": -2.1581809520721436,
    "logmel_13_p90": 1.5907788276672363,
    "logmel_rel_00_mean": 6.711866855621338,
    "logmel_rel_00_std": 13.848113059997559,
    "logmel_rel_13_mean": 22.019451141357422,
    "logmel_rel_13_std": 9.61810302734375,
    "mfcc_00_mean": -171.12176513671875,
    "mfcc_00_std": 37.091217041015625,
    "mfcc_00_p10": -191.19708251953125,
    "mfcc_00_p50": -176.63818359375,
    "mfcc_00_p90": -95.61272430419922,
    "mfcc_13_mean": -5.852243900299072,
    "mfcc_13_std": 10.50018310546875,
    "mfcc_13_p10": -20.26360511779785,
    "mfcc_13_p50": -3.574295997619629,
    "mfcc_13_p90": 6.869959354400635,
    "dmfcc_00_std": 11.629476547241211,
    "dmfcc_13_std": 1.1970107555389404,
    "mfcc_voiced_00_mean": -169.32496643066406,
    "mfcc_voiced_00_std": 33.86477279663086,
    "mfcc_voiced_13_mean": -5.883157730102539,
    "mfcc_voiced_13_std": 10.564014434814453,
    "mfcc_unvoiced_00_mean": -171.12176513671875,
    "mfcc_unvoiced_13_mean": -5.852243900299072,
    "logmel_voiced_00_mean": -20.131486892700195,
    "logmel_voiced_13_mean": -4.517388820648193,
    "centroid_mean": 355.23260498046875,
    "centroid_std": 39.32683181762695,
    "centroid_p10": 302.3172912597656,
    "centroid_p90": 407.4794921875,
    "bandwidth_mean": 318.6123352050781,
    "bandwidth_std": 59.350303649902344,
    "bandwidth_p10": 259.7470703125,
    "bandwidth_p90": 393.5484619140625,
    "rolloff_mean": 577.9207763671875,
    "rolloff_std": 62.83069610595703,
    "rolloff_p10": 500.0,
    "rolloff_p90": 671.875,
    "flatness_mean": 0.0009318104712292552,
    "flatness_std": 0.003754103323444724,
    "flatness_p10": 8.398313184443396e-06,
    "flatness_p90": 0.004302488639950752,
    "flux_mean": 1.7502646446228027,
    "flux_std": 2.472597360610962,
    "flux_p10": 0.8512876629829407,
    "flux_p90": 2.0144121646881104,
    "contrast_00_mean": 67.48751831054688,
    "contrast_00_std": 10.939875602722168,
    "contrast_05_mean": 26.174978256225586,
    "contrast_05_std": 2.842296838760376,
    "zcr_mean": 0.03348651900887489,
    "zcr_std": 0.0492989718914032,
    "f0_mean": 33.53447341918945,
    "f0_std": 1.866209626197815,
    "f0_p10": 30.961841583251953,
    "f0_p50": 33.53463363647461,
    "f0_p90": 36.105796813964844,
    "f0_range": 5.143955230712891,
    "f0_slope": 4.281337738037109,
    "f0_delta_abs_mean": 0.042382318526506424,
    "f0_delta_std": 0.00532612344250083,
    "f0_delta_p10": 0.04072103276848793,
    "f0_delta_p90": 0.04312523454427719,
    "voiced_fraction": 0.9869281053543091,
    "strength_mean": 0.98553466796875,
    "strength_std": 0.08802612125873566,
    "strength_p90": 0.999965488910675,
    "voicing_strength_mean": 0.9948446154594421,
    "voiced_energy_gap": 23.79854393005371,
    "voiced_segment_rate": 0.6535947918891907,
    "voiced_segment_mean_s": 1.5099999904632568,
    "q0_energy": -1.8746404647827148,
    "q0_f0": -2.4398672580718994,
    "q0_voiced": 0.9736841917037964,
    "q0_mfcc_00": -196.1949462890625,
    "q0_mfcc_13": 5.690431118011475,
    "q1_energy": -0.1728382110595703,
    "q1_f0": -0.8371114730834961,
    "q1_voiced": 1.0,
    "q1_mfcc_00": -140.98110961914062,
    "q1_mfcc_13": 1.7397851943969727,
    "q2_energy": -0.1905364990234375,
    "q2_f0": 0.7922093272209167,
    "q2_voiced": 1.0,
    "q2_mfcc_00": -171.9368133544922,
    "q2_mfcc_13": -11.636159896850586,
    "q3_energy": -1.8417367935180664,
    "q3_f0": 2.419926166534424,
    "q3_voiced": 0.9743589758872986,
    "q3_mfcc_00": -175.26502990722656,
    "q3_mfcc_13": -18.86070442199707,
}
#: The columns where version 3 (the first F0 tracker) gives other numbers on the same clip.
EMO_V3_PINNED = {
    "f0_mean": 33.53451156616211,
    "f0_std": 1.8661946058273315,
    "f0_p10": 30.96224594116211,
    "f0_p50": 33.5341911315918,
    "f0_p90": 36.10677719116211,
    "f0_range": 5.144533157348633,
    "f0_slope": 4.281303882598877,
    "f0_delta_abs_mean": 0.042380440980196,
    "f0_delta_std": 0.005273873917758465,
    "f0_delta_p10": 0.04083763062953949,
    "f0_delta_p90": 0.043926846235990524,
    "strength_mean": 0.985496461391449,
    "strength_std": 0.08791574835777283,
    "strength_p90": 0.9999326467514038,
    "voicing_strength_mean": 0.994795024394989,
    "q0_f0": -2.439408540725708,
    "q1_f0": -0.8365177512168884,
    "q2_f0": 0.7926186323165894,
    "q3_f0": 2.420381784439087,
}
#: Some of the 193 seed numbers of :func:`clip` at 48 kHz, by column.
SEED_PINNED = {
    0: 0.0006793540669605136,
    10: 27.256052017211914,
    64: 0.0004697609110735357,
    127: 0.0004182645643595606,
    128: 0.44791585206985474,
    140: 0.6168409585952759,
    151: 0.45358556509017944,
    152: -451.6814270019531,
    160: -9.972476959228516,
    191: 3.881917715072632,
    192: 24799.0,
}


@pytest.mark.parametrize(("config", "pinned"), [(EMO, EMO_V4_PINNED), (EMO_V3, {**EMO_V4_PINNED, **EMO_V3_PINNED})])
def test_emo_vectors_are_those_of_the_code_before(config, pinned):
    v = dict(zip(emo_names(config), features.extract(clip(config.sample_rate), config)))
    assert {k: float(v[k]) for k in pinned} == pytest.approx(pinned, rel=1e-6, abs=1e-9)


def test_seed_vector_is_that_of_the_code_before():
    v = features.extract(clip(SEED.sample_rate), SEED)
    assert {k: float(v[k]) for k in SEED_PINNED} == pytest.approx(SEED_PINNED, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("config", [EMO, EMO_V3])
@pytest.mark.parametrize("signal", ["clip", "noise", "silence", "short"])
def test_descriptors_of_the_summarized_frames_only_change_nothing(config, signal):
    # emo_features computes the spectral shape, contrast, zcr and F0 on the active frames
    # (F0: and the frames tied to them) alone.
    y = {
        "clip": clip(config.sample_rate),
        "noise": np.asarray(0.1 * _pseudo_noise(16_000), dtype=np.float32),
        "silence": np.zeros(8000, np.float32),
        "short": np.asarray(0.1 * _pseudo_noise(1700), dtype=np.float32),
    }[signal]
    full = emo_descriptors(y, config)
    fast = _descriptors(y, config, None, summarized_only=True)
    assert full.keys() == fast.keys()
    for name in full:
        assert fast[name].dtype == full[name].dtype, name  # a float64 mean of float32 values differs
        # Skipped frames are NaN, and never a summarized one; every other frame is exact.
        computed = ~np.isnan(fast[name]).reshape(len(full["active"]), -1).any(axis=1)
        summarized = full["active"] if full["active"].sum() >= 3 else np.ones_like(full["active"])
        assert computed[summarized].all(), name
        np.testing.assert_array_equal(fast[name][computed], full[name][computed], err_msg=name)
    long_way = np.concatenate(_collect(full, config).values).astype(np.float32)
    np.testing.assert_array_equal(emo_features(y, config), long_way)
    if signal == "clip":
        assert 0.3 < full["active"].mean() < 0.9  # the shortcut had frames to skip


@pytest.mark.parametrize("legacy", [False, True])
def test_f0_of_some_frames_is_their_f0_among_all(legacy):
    power = stft(clip(EMO.sample_rate), EMO).power
    kwargs = dict(sr=EMO.sample_rate, n_fft=EMO.n_fft, win_length=EMO.win_length, f0_min=EMO.f0_min,
                  f0_max=EMO.f0_max, voicing_threshold=0.5, legacy=legacy)
    f0, strength = f0_autocorrelation(power, **kwargs)
    rng = np.random.default_rng(0)
    for _ in range(20):
        frames = np.zeros(len(power), dtype=bool)
        lo = int(rng.integers(0, len(power)))
        frames[lo : lo + int(rng.integers(1, 80))] = True  # a span: it may start or end inside a tied run
        frames |= rng.random(len(power)) < 0.05
        f0_some, strength_some = f0_autocorrelation(power, frames=frames, **kwargs)
        assert f0_some.dtype == f0.dtype and strength_some.dtype == strength.dtype
        computed = ~np.isnan(f0_some)
        assert computed[frames].all() and np.array_equal(computed, ~np.isnan(strength_some))
        np.testing.assert_array_equal(f0_some[computed], f0[computed])
        np.testing.assert_array_equal(strength_some[computed], strength[computed])
        assert np.isnan(f0_some).any()  # frames away from those asked for were skipped


def test_first_reaching_is_argmax_of_the_whole_running_sum():
    from semo_batch.features.emo import _ROLLOFF_FIRST_BINS, _first_reaching

    rng = np.random.default_rng(7)
    p = (rng.random((300, 513), dtype=np.float32) ** 6).astype(np.float32) + np.float32(1e-30)
    total = p.sum(axis=1)
    # Thresholds reached early, late (past the first bins), exactly at the end, and never.
    frac = np.concatenate([np.full(100, 0.05), np.full(100, 0.9), np.full(50, 1.0), np.full(50, 1.5)])
    threshold = (frac * total).astype(np.float32)
    expected = np.argmax(np.cumsum(p, axis=1) >= threshold[:, None], axis=1)
    got = _first_reaching(p, threshold)
    np.testing.assert_array_equal(got, expected)
    assert (got[:100] < _ROLLOFF_FIRST_BINS).all() and (got[100:200] >= _ROLLOFF_FIRST_BINS).all()
    assert (got[250:] == 0).all()  # never reached: 0, as argmax of an all-False row
    # Known answer: all the energy in bin 200.
    q = np.full((1, 513), np.float32(1e-30))
    q[0, 200] = 1.0
    assert _first_reaching(q, np.array([0.85], dtype=np.float32)).tolist() == [200]
