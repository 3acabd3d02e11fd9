"""Channel changes on known signals: the SNR asked for, the telephone band, exact gain,
a room's decay, a codec round trip."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tone

from semo_batch.channels import (
    CHANNELS,
    active_power,
    add_noise,
    gain,
    lossy,
    random_channel,
    reverb,
    telephone,
)

SR = 16_000


def _speech_like(rng: np.random.Generator) -> np.ndarray:
    """A tone with a second of silence on each side, like a RAVDESS clip."""
    y = tone(440.0, sr=SR, duration=1.0, amp=0.3)
    return np.concatenate([np.zeros(SR), y, np.zeros(SR)]).astype(np.float32)


def _level_db(y: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(y.astype(np.float64))))


@pytest.mark.parametrize("color", ["white", "pink"])
@pytest.mark.parametrize("snr", [20.0, 10.0])
def test_noise_sits_the_asked_snr_below_the_speech(rng, color, snr) -> None:
    y = _speech_like(rng)
    noise = add_noise(y, SR, snr_db=snr, rng=rng, color=color) - y
    measured = 10 * np.log10(active_power(y, SR) / np.mean(np.square(noise.astype(np.float64))))
    assert measured == pytest.approx(snr, abs=0.05)  # relative to the tone, not to the silences


def test_telephone_keeps_the_voice_band_only() -> None:
    def through(freq: float) -> float:
        y = tone(freq, sr=SR, duration=1.0, amp=0.3)
        return _level_db(telephone(y, SR)[2000:-2000]) - _level_db(y[2000:-2000])

    assert abs(through(1000.0)) < 1.0
    assert through(100.0) < -20.0
    assert through(5000.0) < -40.0  # above the 8 kHz line's band edge


def test_gain_is_exact_and_lossy_is_close() -> None:
    y = tone(300.0, sr=SR, duration=1.0, amp=0.3)
    np.testing.assert_allclose(gain(y, SR, db=-20.0), y * 0.1, rtol=1e-6)
    z = lossy(y, SR)
    assert z.shape == y.shape and np.corrcoef(y[1000:-1000], z[1000:-1000])[0, 1] > 0.99


def test_reverb_decays_60_db_in_rt60(rng) -> None:
    y = np.zeros(SR, np.float32)
    y[0] = 1.0
    z = reverb(y, SR, rt60=0.5, rng=rng)
    env = np.array([_level_db(z[i : i + 400]) for i in range(800, 8_000, 400)])
    t = (np.arange(800, 8_000, 400) + 200) / SR
    slope = np.polyfit(t, env, 1)[0]  # dB per second
    assert slope == pytest.approx(-60.0 / 0.5, rel=0.15)


def test_every_channel_and_random_draws_keep_length_and_type(rng) -> None:
    y = _speech_like(rng)
    for c in CHANNELS:
        z = c.apply(y, SR, rng)
        assert z.shape == y.shape and z.dtype == np.float32 and np.isfinite(z).all(), c.name
    for _ in range(10):
        z = random_channel(y, SR, rng)
        assert z.shape == y.shape and np.isfinite(z).all()
