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


def interval_agreement(
    a_t: np.ndarray, a_v: np.ndarray, b_t: np.ndarray, b_v: np.ndarray, reach: float = 0.05
) -> tuple[float, float, float, float]:
    """Share of ``a`` intervals with a ``b`` interval starting within ``reach`` s, the
    share of those with the same value (1 us), the largest value difference (s) and the
    largest start-time difference (s) of the matched ones."""
    i = np.clip(np.searchsorted(b_t, a_t), 1, len(b_t) - 1)
    k = np.where(np.abs(b_t[i] - a_t) < np.abs(b_t[i - 1] - a_t), i, i - 1)
    dt = np.abs(b_t[k] - a_t)
    near = dt <= reach
    dv = np.abs(b_v[k] - a_v)[near]
    return float(near.mean()), float((dv <= 1e-6).mean()), float(dv.max()), float(dt[near].max())
