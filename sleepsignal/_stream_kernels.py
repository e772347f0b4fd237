"""Numba kernel of the chunked (streaming) track path, and its memory helper.

Private: :mod:`sleepsignal.tracks` and :mod:`sleepsignal.streaming` call the kernel on
validated, contiguous arrays. Its slow twin lives in ``tests/naive_streaming.py``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._numba import njit, overload

__all__: list[str] = []


@njit
def _extreme_counts_kernel(
    x: np.ndarray, w: int, wmin: np.ndarray, wmax: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How many samples of each whole window of ``w`` samples equal its min and its max.

    Parameters
    ----------
    x : 1-D array
        Raw samples (finite).
    w : int
        Window length, samples; window ``k`` is ``x[k * w:(k + 1) * w]``.
    wmin, wmax : 1-D float64 arrays
        Lowest and highest sample of each window (from ``_scan_kernel``); their length
        is the number of windows counted.

    Returns
    -------
    nmin, nmax : int64 arrays
        Count of samples equal to ``wmin[k]`` and to ``wmax[k]`` in window ``k``.
    """
    nw = wmin.shape[0]
    nmin = np.zeros(nw, dtype=np.int64)
    nmax = np.zeros(nw, dtype=np.int64)
    for k in range(nw):
        # the extremes in the samples' own dtype, 32-bit counts: the loop vectorises
        # (uint16 samples of an 8 h night: 2.5 -> 0.8 ms)
        lo = _like_samples(x, wmin[k])
        hi = _like_samples(x, wmax[k])
        a = np.int32(0)
        b = np.int32(0)
        seg = x[k * w : k * w + w]
        for i in range(w):
            a += np.int32(seg[i] == lo)
            b += np.int32(seg[i] == hi)
        nmin[k] = a
        nmax[k] = b
    return nmin, nmax


def _like_samples(x: np.ndarray, v: float) -> Any:
    """``v`` (a float64 that holds one of the samples ``x``) in the samples' dtype, where
    that is exact (floats, integers up to 32 bits); else ``v`` itself."""
    return v


@overload(_like_samples)
def _like_samples_numba(x: Any, v: Any) -> Any:
    """:func:`_like_samples` in numba: a cast to ``x``'s dtype (the comparisons with the
    samples then stay in it), kept as float64 for 64-bit integers."""
    from numba import types

    dt = x.dtype
    if isinstance(dt, types.Float) or (
        isinstance(dt, types.Integer) and getattr(dt, "bitwidth", 64) <= 32
    ):

        def impl_cast(x: Any, v: Any) -> Any:
            return dt(v)

        return impl_cast

    def impl(x: Any, v: Any) -> Any:
        return v

    return impl


def _release_freed_memory() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``; no-op
    elsewhere).

    The pass-1 parts, the heartbeat pieces and the detector's temporaries are small
    arrays taken from the C heap (numba and numpy use ``malloc``; glibc's mmap threshold
    rises to the largest array freed so far, up to 32 MB), interleaved with arrays that
    live on, so the heap cannot shrink from its top and what they freed stays resident.
    ``malloc_trim(0)`` releases the whole free pages inside the heap as well. Measured on
    a week (``python benchmarks/bench_streaming.py --phases 168``): about 50 MB less
    resident during pass 2; it takes a few ms.
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        _MALLOC_TRIM = False
        if sys.platform.startswith("linux"):
            import contextlib
            import ctypes

            with contextlib.suppress(OSError, AttributeError):  # musl has no malloc_trim
                _MALLOC_TRIM = ctypes.CDLL(None).malloc_trim
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM: Any = None
