"""Numba kernel of the chunked (streaming) track path.

Private: :mod:`sleepsignal.tracks` and :mod:`sleepsignal.streaming` call it on
validated, contiguous arrays. Its slow twin lives in ``tests/naive_streaming.py``.
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

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
        lo = wmin[k]
        hi = wmax[k]
        a = 0
        b = 0
        for i in range(k * w, k * w + w):
            v = x[i]
            a += v == lo
            b += v == hi
        nmin[k] = a
        nmax[k] = b
    return nmin, nmax
