"""Slow, obviously correct twins of the kernels in ``sleepsignal._stream_kernels``."""

from __future__ import annotations

import numpy as np


def naive_extreme_counts(
    x: np.ndarray, w: int, wmin: np.ndarray, wmax: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per window ``k``: how many of ``x[k*w:(k+1)*w]`` equal ``wmin[k]`` and ``wmax[k]``."""
    nmin = []
    nmax = []
    for k in range(len(wmin)):
        window = [float(v) for v in x[k * w : (k + 1) * w]]
        nmin.append(sum(1 for v in window if v == float(wmin[k])))
        nmax.append(sum(1 for v in window if v == float(wmax[k])))
    return np.array(nmin, dtype=np.int64), np.array(nmax, dtype=np.int64)
