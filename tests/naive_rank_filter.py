"""Slow, obviously correct reference of ``sleepsignal._rank_filter._running_median_kernel``."""

from __future__ import annotations

import math

import numpy as np


def naive_running_median(x: np.ndarray, size: int, nearest: bool, upper: bool) -> np.ndarray:
    """For each item: gather its window, drop NaN, sort, take the median by the rule."""
    n = len(x)
    out = np.empty(n)
    for i in range(n):
        window = []
        for j in range(i - size // 2, i - size // 2 + size):
            if nearest:
                window.append(x[min(max(j, 0), n - 1)])
            elif 0 <= j < n:
                window.append(x[j])
        w = sorted(v for v in window if not math.isnan(v))
        c = len(w)
        if c == 0:
            out[i] = np.nan
        elif upper:
            out[i] = w[c // 2]
        else:
            with np.errstate(invalid="ignore"):  # inf + -inf is NaN, as in numba
                out[i] = (np.float64(w[(c - 1) // 2]) + w[c // 2]) / 2
    return out
