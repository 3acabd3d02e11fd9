"""semo_batch.features.fft: scipy's pocketfft without scipy.fft, the same numbers bit for bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.fft

from semo_batch.features import fft


@pytest.fixture(params=["direct", "fallback"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs on the binding loaded by file and on the scipy.fft fallback."""
    if request.param == "fallback":
        monkeypatch.setattr(fft, "_BINDING", None)
    return str(request.param)


def test_direct_path_is_in_use() -> None:
    # With the pinned scipy the binding must load; a silent fallback would cost every
    # batch the 0.1 s of importing scipy.fft again.
    assert fft.uses_pocketfft_directly()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 512), (3, 1025), (257,), (2, 3, 400)])
def test_rfft_equals_scipy(path: str, dtype: type, shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got = fft.rfft(x)
    want = scipy.fft.rfft(x, axis=-1)
    assert got.dtype == want.dtype == (np.complex64 if dtype == np.float32 else np.complex128)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 1601), (2, 513), (65,)])
def test_dct1_equals_scipy(path: str, dtype: type, shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(1).random(shape).astype(dtype)
    want = scipy.fft.dct(x, type=1, axis=-1)
    kept = x.copy()
    got = fft.dct1(x)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(x, kept)  # not overwritten unless asked
    np.testing.assert_array_equal(fft.dct1(x, overwrite_x=True), want)


def test_dct1_known_answer(path: str) -> None:
    # DCT-I of [1, 0, 0, 0] is all ones; of a constant c over N points, 2c(N-1) at 0, zero elsewhere.
    np.testing.assert_array_equal(fft.dct1(np.array([1.0, 0, 0, 0])), np.ones(4))
    np.testing.assert_allclose(fft.dct1(np.full(5, 3.0)), [24.0, 0, 0, 0, 0], atol=1e-12)


def test_input_types_as_scipy(path: str) -> None:
    ints = np.arange(16)
    np.testing.assert_array_equal(fft.rfft(ints), scipy.fft.rfft(ints))
    half = np.linspace(0, 1, 16, dtype=np.float16)
    assert fft.rfft(half).dtype == scipy.fft.rfft(half).dtype == np.complex64
    swapped = np.arange(16.0).astype(">f8")
    np.testing.assert_array_equal(fft.dct1(swapped), scipy.fft.dct(swapped, type=1))
    with pytest.raises(TypeError):
        fft.rfft(np.ones(8, dtype=np.complex128))


def test_importing_the_features_loads_no_scipy_fft() -> None:
    # What the fast path is for: a batch's parent imports the feature code, not scipy.fft;
    # nor does the voice detector of long recordings, when it runs.
    code = ("import sys, numpy as np, semo_batch.features, semo_batch.vad as vad\n"
            "print('scipy.fft' in sys.modules, 'scipy' in sys.modules)\n"
            "vad.frame_stats(np.random.default_rng(0).standard_normal(16000), 16000)\n"
            "print('scipy.fft' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


@pytest.mark.parametrize("n", [None, 300, 512, 700, 1000])
def test_rfft_with_a_length_and_irfft_equal_scipy(path: str, n: int | None) -> None:
    x = np.random.default_rng(2).standard_normal((4, 512))
    spec = fft.rfft(x, n)
    np.testing.assert_array_equal(spec, scipy.fft.rfft(x, n, axis=-1))
    size = n or 512
    power = spec.real ** 2 + spec.imag ** 2  # real input: taken as complex, as scipy does
    np.testing.assert_array_equal(fft.irfft(power, size), scipy.fft.irfft(power, size, axis=-1))
    np.testing.assert_array_equal(fft.irfft(spec, size), scipy.fft.irfft(spec, size, axis=-1))
    np.testing.assert_allclose(fft.irfft(spec, size), x[:, :size] if size <= 512 else
                               np.pad(x, ((0, 0), (0, size - 512))), atol=1e-12)  # the round trip


def test_next_fast_len_equals_scipy(path: str) -> None:
    for n in (1, 7, 511, 640, 1000, 1601, 4097):
        assert fft.next_fast_len(n) == scipy.fft.next_fast_len(n, real=True)
    assert fft.next_fast_len(1000) == 1000 and fft.next_fast_len(1601) == 1620  # 2^3 5^3; 2^2 3^4 5


@pytest.mark.parametrize("first", ["features", "scipy"])
def test_the_binding_and_scipy_fft_live_side_by_side_in_either_order(first: str) -> None:
    # Each loads the extension under its own name; neither may break the other.
    imports = ["import semo_batch.features.fft as f", "import scipy.fft, scipy.signal"]
    code = "\n".join([*(imports if first == "features" else imports[::-1]),
                      "import numpy as np",
                      "x = np.random.default_rng(0).standard_normal((4, 512)).astype(np.float32)",
                      "assert f.uses_pocketfft_directly()",
                      "assert np.array_equal(f.rfft(x), scipy.fft.rfft(x, axis=-1))",
                      "assert np.array_equal(f.dct1(x), scipy.fft.dct(x, type=1, axis=-1))",
                      "print(scipy.signal.fftconvolve(np.ones(4), np.ones(3)).sum())"])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["12.0"]
