"""The transforms the signal code needs (real FFT and its inverse, DCT-I), straight from scipy's pocketfft.

``import scipy.fft`` costs about 95 ms of one core (it pulls in scipy.special,
array_api_compat and through it numpy.f2py), paid once per batch before its workers
fork. What the features call is scipy's compiled pocketfft binding, which loads in
under 10 ms on its own; so this module loads that binding by file and calls it with
the arguments scipy.fft would pass, which gives the same numbers bit for bit (a test
compares them). Where the binding is not where scipy keeps it (``scipy/fft/_pocketfft``),
or does not take the arguments scipy 1.17's scipy.fft passes (a probe call on load), the
functions fall back to scipy.fft itself.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["dct1", "irfft", "next_fast_len", "rfft", "uses_pocketfft_directly"]


def _load_binding() -> ModuleType | None:
    """scipy's ``pypocketfft`` extension, loaded without importing scipy, or ``None``."""
    try:
        spec = importlib.util.find_spec("scipy")
        if spec is None or spec.origin is None:
            return None
        base = os.path.join(os.path.dirname(spec.origin), "fft", "_pocketfft", "pypocketfft")
        path = next((base + s for s in importlib.machinery.EXTENSION_SUFFIXES if os.path.exists(base + s)), None)
        if path is None:
            return None
        # Its own name, so scipy.fft, if imported later, loads and owns its copy untouched.
        binding_spec = importlib.util.spec_from_file_location("semo_batch.features._pypocketfft.pypocketfft", path)
        if binding_spec is None or binding_spec.loader is None:
            return None
        module = importlib.util.module_from_spec(binding_spec)
        binding_spec.loader.exec_module(module)
        probe = np.arange(4.0)  # the calls below must be the ones this scipy's binding takes
        module.c2r(module.r2c(probe, (0,), True, 0, None, 1), (0,), 4, False, 2, None, 1)
        module.dct(probe, 1, (0,), 0, None, 1, None)
        module.good_size(5, True)
        return module
    except Exception:  # any surprise: scipy.fft does the work instead
        return None


_BINDING = _load_binding()


def uses_pocketfft_directly() -> bool:
    """Whether the fast path (the binding without scipy.fft) is in use."""
    return _BINDING is not None


def rfft(x: np.ndarray, n: int | None = None) -> np.ndarray:
    """``scipy.fft.rfft(x, n, axis=-1)``: float32 stays single precision; ``n`` pads the last
    axis with zeros or cuts it."""
    if _BINDING is None:
        import scipy.fft

        return scipy.fft.rfft(x, n, axis=-1)
    a = _real_input(x)
    return _BINDING.r2c(_fit(a, n), (a.ndim - 1,), True, 0, None, 1)  # type: ignore[no-any-return]


def irfft(x: np.ndarray, n: int) -> np.ndarray:
    """``scipy.fft.irfft(x, n, axis=-1)``: the real signal of ``n`` points whose spectrum is ``x``."""
    if _BINDING is None:
        import scipy.fft

        return scipy.fft.irfft(x, n, axis=-1)
    a = np.asarray(x)
    a = a + 0j if a.dtype.kind != "c" else np.asarray(a, a.dtype.newbyteorder("="))
    return _BINDING.c2r(_fit(a, n // 2 + 1), (a.ndim - 1,), n, False, 2, None, 1)  # type: ignore[no-any-return]


def next_fast_len(n: int) -> int:
    """``scipy.fft.next_fast_len(n, real=True)``: the smallest length >= ``n`` that pocketfft
    transforms fast."""
    if _BINDING is None:
        import scipy.fft

        return int(scipy.fft.next_fast_len(n, real=True))
    return int(_BINDING.good_size(n, True))


def _fit(a: np.ndarray, n: int | None) -> np.ndarray:
    """``a`` with its last axis cut or zero-padded to ``n`` points, as scipy.fft does."""
    if n is None or n == a.shape[-1]:
        return a
    if n < a.shape[-1]:
        return a[..., :n]
    out = np.zeros((*a.shape[:-1], n), dtype=a.dtype)
    out[..., : a.shape[-1]] = a
    return out


def dct1(x: np.ndarray, *, overwrite_x: bool = False) -> np.ndarray:
    """``scipy.fft.dct(x, type=1, axis=-1, overwrite_x=overwrite_x)``, unnormalised."""
    if _BINDING is None:
        import scipy.fft

        return scipy.fft.dct(x, type=1, axis=-1, overwrite_x=overwrite_x)
    x = _real_input(x)
    out = x if overwrite_x else None
    return _BINDING.dct(x, 1, (x.ndim - 1,), 0, out, 1, None)  # type: ignore[no-any-return]


def _real_input(x: Any) -> np.ndarray:
    """What scipy.fft hands the binding for real input: floats in native byte order,
    float16 as float32, integers and booleans as float64."""
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise TypeError("x must be a real sequence")
    if a.dtype == np.float16:
        return a.astype(np.float32)
    if a.dtype.kind != "f":
        return a.astype(np.float64)
    return np.asarray(a, a.dtype.newbyteorder("="))
