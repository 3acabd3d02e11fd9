"""Our numpy filter banks against librosa's (the reference the seed set must reproduce).

Tolerances measured on librosa 0.11 / numpy 2.4: mel differs by <= 1.2e-7 relative
(float32 rounding), chroma is bit-identical, the DCT by <= 3e-15, the window by <= 3e-8
(float32 storage).  The asserts leave about 10x headroom.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.fft

from semo_batch.features.filters import (
    chroma_filterbank,
    dct_matrix,
    fft_frequencies,
    hann_window,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
)

MEL_RTOL = 1e-6  # relative to each bank's largest weight
CHROMA_ATOL = 1e-7
DCT_ATOL = 1e-12
WINDOW_ATOL = 1e-7


@pytest.mark.parametrize(
    ("sr", "n_fft", "n_mels", "fmin", "fmax"),
    [
        (48_000, 2048, 128, 0.0, 24_000.0),  # seed
        (16_000, 1024, 40, 0.0, 8000.0),  # emo
        (22_050, 512, 64, 50.0, 7000.0),
        (8_000, 256, 20, 100.0, 3800.0),
    ],
)
def test_mel_filterbank_matches_librosa(sr, n_fft, n_mels, fmin, fmax):
    ours = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert ours.shape == ref.shape == (n_mels, 1 + n_fft // 2)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=MEL_RTOL * ref.max())
    # The zero pattern (which bins each filter covers) is identical.
    np.testing.assert_array_equal(ours > 0, ref > 0)


@pytest.mark.parametrize(
    ("sr", "n_fft", "n_chroma"), [(48_000, 2048, 24), (48_000, 2048, 12), (16_000, 1024, 12)]
)
@pytest.mark.parametrize("tuning", [0.0, 0.1, -0.23, 0.37, 0.49, -0.5])
def test_chroma_filterbank_matches_librosa(sr, n_fft, n_chroma, tuning):
    ours = chroma_filterbank(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning)
    ref = librosa.filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning)
    assert ours.shape == ref.shape == (n_chroma, 1 + n_fft // 2)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=CHROMA_ATOL)


@pytest.mark.parametrize("tuning", [0.1, -0.23, 0.37, 0.49])
def test_chroma_tuning_moves_every_filter_by_that_many_bins(tuning):
    """Each filter's centre (its circular mean position within the octave, over 2-8 kHz
    where FFT bins are fine enough) moves by ``tuning`` chroma bins."""
    sr, n_fft, n_chroma = 48_000, 2048, 24
    f = fft_frequencies(sr=sr, n_fft=n_fft)
    band = (f >= 2000) & (f < 8000)
    phase = np.exp(2j * np.pi * np.log2(f[band] / 440.0))

    def centres(t: float) -> np.ndarray:
        w = chroma_filterbank(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=t)[:, band]
        return np.angle((w * phase).sum(axis=1)) / (2 * np.pi) * n_chroma

    moved = (centres(tuning) - centres(0.0) + n_chroma / 2) % n_chroma - n_chroma / 2
    np.testing.assert_allclose(moved, tuning, atol=0.01)


@pytest.mark.parametrize(("n_in", "n_out"), [(128, 40), (40, 20), (40, 40), (7, 3)])
def test_dct_matrix_is_orthonormal_dct2(n_in, n_out, rng):
    d = dct_matrix(n_in=n_in, n_out=n_out)
    assert d.shape == (n_out, n_in)
    x = rng.standard_normal((n_in, 5))
    np.testing.assert_allclose(
        d @ x, scipy.fft.dct(x, axis=0, norm="ortho")[:n_out], rtol=0, atol=DCT_ATOL * 100
    )
    np.testing.assert_allclose(
        d, scipy.fft.dct(np.eye(n_in), axis=0, norm="ortho")[:n_out], rtol=0, atol=DCT_ATOL
    )
    np.testing.assert_allclose(d @ d.T, np.eye(n_out), atol=1e-12)


@pytest.mark.parametrize(("win_length", "n_fft"), [(2048, 2048), (640, 1024), (400, 512), (401, 512)])
def test_hann_window_matches_librosa(win_length, n_fft):
    ours = hann_window(win_length=win_length, n_fft=n_fft)
    ref = librosa.util.pad_center(librosa.filters.get_window("hann", win_length, fftbins=True), size=n_fft)
    assert ours.shape == (n_fft,)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=WINDOW_ATOL)
    if win_length % 2 == 0:
        assert ours[(n_fft - win_length) // 2 + win_length // 2] == pytest.approx(1.0)  # periodic
    assert ours[: (n_fft - win_length) // 2].sum() == 0.0


def test_banks_are_cached_and_read_only():
    a = mel_filterbank(sr=16_000, n_fft=1024, n_mels=40, fmin=0.0, fmax=8000.0)
    assert mel_filterbank(sr=16_000, n_fft=1024, n_mels=40, fmin=0.0, fmax=8000.0) is a
    for bank in (
        a,
        chroma_filterbank(sr=16_000, n_fft=1024, n_chroma=12),
        dct_matrix(n_in=40, n_out=20),
        hann_window(win_length=640, n_fft=1024),
    ):
        with pytest.raises(ValueError):
            bank[0, ...] = 1.0


def test_mel_scale_matches_librosa_slaney():
    f = np.array([0.0, 100.0, 999.0, 1000.0, 1001.0, 4000.0, 8000.0, 24_000.0])
    np.testing.assert_allclose(hz_to_mel(f), librosa.hz_to_mel(f, htk=False), rtol=1e-12)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f)), f, rtol=1e-12, atol=1e-9)


def test_fft_frequencies():
    np.testing.assert_allclose(
        fft_frequencies(sr=16_000, n_fft=1024), librosa.fft_frequencies(sr=16_000, n_fft=1024)
    )
    assert fft_frequencies(sr=16_000, n_fft=1024)[[0, -1]].tolist() == [0.0, 8000.0]
