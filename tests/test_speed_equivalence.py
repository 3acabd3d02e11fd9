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

EMO = get_config("emo")
EMO_V3 = dataclasses.replace(EMO, version=3)
SEED = get_config("seed")


def _pseudo_noise(n: int) -> np.ndarray:
    """Uniform noise in [-0.5, 0.5) from integer arithmetic only (the same on every platform)."""
    return ((np.arange(n, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)) / 2.0**32 - 0.5


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
    "energy_mean": -14.015265464782715,
    "energy_std": 3.5500736236572266,
    "energy_range": 0.37466296553611755,
    "energy_slope": -0.00936037302017212,
    "active_fraction": 0.6095617413520813,
    "energy_delta_abs_mean": 0.5898486971855164,
    "energy_delta_abs_std": 2.553279399871826,
    "energy_range_5_95": 5.291125297546387,
    "logmel_00_mean": -20.54631805419922,
    "logmel_00_std": 11.901741027832031,
    "logmel_00_p10": -34.22441482543945,
    "logmel_00_p50": -25.13819694519043,
    "logmel_00_p90": -2.778630018234253,
    "logmel_13_mean": -5.058300018310547,
    "logmel_13_std": 8.393192291259766,
    "logmel_13_p10": -13.622716903686523,
    "logmel_13_p50": -2.162191390991211,
    "logmel_13_p90": 1.5924694538116455,
    "logmel_rel_00_mean": 8.465980529785156,
    "logmel_rel_00_std": 14.29611587524414,
    "logmel_rel_13_mean": 23.953998565673828,
    "logmel_rel_13_std": 9.681979179382324,
    "mfcc_00_mean": -183.48989868164062,
    "mfcc_00_std": 37.22106170654297,
    "mfcc_00_p10": -206.43698120117188,
    "mfcc_00_p50": -187.56629943847656,
    "mfcc_00_p90": -106.19752502441406,
    "mfcc_13_mean": 4.473078727722168,
    "mfcc_13_std": 12.125221252441406,
    "mfcc_13_p10": -10.978910446166992,
    "mfcc_13_p50": 9.178129196166992,
    "mfcc_13_p90": 19.27164077758789,
    "dmfcc_00_std": 12.869234085083008,
    "dmfcc_13_std": 1.026146650314331,
    "mfcc_voiced_00_mean": -181.68348693847656,
    "mfcc_voiced_00_std": 33.96599578857422,
    "mfcc_voiced_13_mean": 4.43137264251709,
    "mfcc_voiced_13_std": 12.189459800720215,
    "mfcc_unvoiced_00_mean": -183.48989868164062,
    "mfcc_unvoiced_13_mean": 4.473078727722168,
    "logmel_voiced_00_mean": -20.333576202392578,
    "logmel_voiced_13_mean": -4.540548801422119,
    "centroid_mean": 356.1423034667969,
    "centroid_std": 40.30140686035156,
    "bandwidth_mean": 323.78564453125,
    "bandwidth_std": 74.16865539550781,
    "rolloff_mean": 577.9207763671875,
    "rolloff_std": 62.83069610595703,
    "flatness_mean": 0.00012813972716685385,
    "flatness_std": 0.0005085638258606195,
    "flux_mean": 1.183083415031433,
    "flux_std": 2.938936233520508,
    "contrast_00_mean": 68.77616882324219,
    "contrast_00_std": 9.892196655273438,
    "contrast_05_mean": 47.384517669677734,
    "contrast_05_std": 6.0063276290893555,
    "zcr_mean": 0.039685457944869995,
    "zcr_std": 0.07858917117118835,
    "voiced_fraction": 0.9869281053543091,
    "strength_mean": 0.98563152551651,
    "strength_std": 0.08736447989940643,
    "voicing_strength_mean": 0.9948825240135193,
    "voiced_energy_gap": 23.790311813354492,
    "voiced_segment_rate": 0.6535947918891907,
    "voiced_segment_mean_s": 1.5099999904632568,
    "q0_energy": -1.8744564056396484,
    "q0_voiced": 0.9736841917037964,
    "q0_mfcc_00": -211.0133056640625,
    "q1_energy": -0.17523860931396484,
    "q1_voiced": 1.0,
    "q1_mfcc_00": -154.37570190429688,
    "q2_energy": -0.19129371643066406,
    "q2_voiced": 1.0,
    "q2_mfcc_00": -182.96612548828125,
    "q3_energy": -1.841923713684082,
    "q3_voiced": 0.9743589758872986,
    "q3_mfcc_00": -185.55020141601562,
}
#: The columns where version 3 (the first F0 tracker) gives other numbers on the same clip.
EMO_V3_PINNED = {
    "strength_mean": 0.9855812788009644,
    "strength_std": 0.0872945636510849,
    "voicing_strength_mean": 0.9948208928108215,
}
#: Some of the 193 seed numbers of :func:`clip` at 48 kHz, by column.
SEED_PINNED = {
    0: 0.0003265802515670657,
    10: 27.27509880065918,
    64: 6.976243184908526e-06,
    127: 0.00014622729213442653,
    128: 0.3470745086669922,
    140: 0.44032013416290283,
    151: 0.352579802274704,
    152: -455.2710876464844,
    160: -10.079324722290039,
    191: 4.083104610443115,
    192: 37366.0,
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
    # emo_features computes the spectral shape, contrast and zcr on the active frames alone.
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
        if np.isnan(fast[name]).any():  # skipped frames only, and never a summarized one
            rows = ~np.isnan(fast[name]).reshape(len(full["active"]), -1).any(axis=1)
            np.testing.assert_array_equal(rows, full["active"] if full["active"].sum() >= 3 else True)
            np.testing.assert_array_equal(fast[name][rows], full[name][rows], err_msg=name)
        else:
            np.testing.assert_array_equal(fast[name], full[name], err_msg=name)
    long_way = np.concatenate(_collect(full, config).values).astype(np.float32)
    np.testing.assert_array_equal(emo_features(y, config), long_way)
    if signal == "clip":
        assert 0.3 < full["active"].mean() < 0.9  # the shortcut had frames to skip
