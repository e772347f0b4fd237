"""Slow, obviously correct reference of ``sleepsignal._rank_filter._median_filter_kernel``."""

from __future__ import annotations

import numpy as np


def naive_median_filter(x: np.ndarray, size: int) -> np.ndarray:
    """For each item, sort its window (edges repeat the end values) and take rank size//2."""
    n = len(x)
    out = np.empty(n)
    for i in range(n):
        window = [x[min(max(j, 0), n - 1)] for j in range(i - size // 2, i - size // 2 + size)]
        out[i] = sorted(window)[size // 2]
    return out
