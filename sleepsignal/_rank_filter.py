"""A running median for short 1-D windows, in place of ``scipy.ndimage.median_filter``.

Private. The track modules smooth short series (block medians, per-window flags, NN
intervals) with a running median over 3-10 items. ``scipy.ndimage`` costs ~0.3 s of
imports per process for that alone, so this module does the same with one small numba
kernel. :func:`median_filter` equals ``scipy.ndimage.median_filter(x, size=size,
mode="nearest")`` on 1-D NaN-free input, value for value (``tests/test_rank_filter.py``
checks it against scipy and against the slow reference in ``tests/naive_rank_filter.py``).
"""

from __future__ import annotations

import numpy as np

from ._numba import njit
from .errors import SignalError

__all__ = ["median_filter"]


def median_filter(x: np.ndarray, size: int) -> np.ndarray:
    """Running median of a 1-D series, edges extended with the end values.

    Parameters
    ----------
    x : array_like
        1-D real values without NaN (``inf`` is allowed and ranks as usual).
    size : int
        Window length in items, at least 1. Item ``i`` takes the median of items
        ``i - size // 2`` to ``i + (size - 1) // 2``; for an even ``size`` that is the
        upper of the two middle values (rank ``size // 2``), as in scipy.

    Returns
    -------
    numpy.ndarray
        float64, the same length as ``x``.

    Raises
    ------
    SignalError
        For a non-1-D or non-real ``x``, NaN in ``x``, or ``size`` < 1.

    Notes
    -----
    1. The window starts as the sorted first ``size`` items of ``x`` padded with
       ``x[0]`` on the left (``mode="nearest"``).
    2. Each step removes the item leaving the window and inserts the one entering it,
       both found by binary search in the sorted window (O(size) per item).
    3. The median is the item of rank ``size // 2`` of the sorted window.

    ``-0.0`` and ``0.0`` rank as equal, so where both occur in one window either may be
    returned.

    Examples
    --------
    >>> median_filter(np.array([1.0, 5.0, 2.0, 8.0, 3.0]), 3).tolist()
    [1.0, 2.0, 5.0, 3.0, 3.0]
    """
    a = np.asarray(x)
    if a.ndim != 1 or a.dtype.kind not in "buif":
        raise SignalError(f"median_filter needs a 1-D real array, got shape {a.shape} {a.dtype}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise SignalError(f"median_filter size must be an integer >= 1, got {size!r}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if np.isnan(a).any():
        raise SignalError("median_filter input holds NaN; fill or drop the gaps first")
    return _median_filter_kernel(a, int(size))


@njit
def _median_filter_kernel(x: np.ndarray, size: int) -> np.ndarray:
    """Running median of ``x`` (float64, no NaN) over ``size`` items, nearest edges."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out
    left = size // 2
    right = size - 1 - left
    buf = np.empty(size, dtype=np.float64)
    for j in range(size):
        buf[j] = x[min(max(j - left, 0), n - 1)]
    buf.sort()
    out[0] = buf[left]
    for i in range(1, n):
        old = x[min(max(i - 1 - left, 0), n - 1)]
        new = x[min(i + right, n - 1)]
        if old != new:
            p = np.searchsorted(buf, old)  # leftmost copy of the leaving value
            q = np.searchsorted(buf, new)
            if q <= p:
                for k in range(p, q, -1):
                    buf[k] = buf[k - 1]
                buf[q] = new
            else:
                for k in range(p, q - 1):
                    buf[k] = buf[k + 1]
                buf[q - 1] = new
        out[i] = buf[left]
    return out
