"""Running medians of short 1-D windows, in place of ``scipy.ndimage.median_filter``.

Private. The track modules smooth short series (block medians, per-window flags, NN
intervals) with a running median over 3-31 items, and staging takes a NaN-aware running
median over 121 epochs. ``scipy.ndimage`` costs ~0.3 s of imports per process for the
former, and a sort of every window costs more than the rest of staging for the latter,
so both are one small numba kernel that keeps the window sorted while it slides.

- :func:`median_filter` equals ``scipy.ndimage.median_filter(x, size=size,
  mode="nearest")`` on 1-D NaN-free input, value for value;
- :func:`nan_running_median` leaves NaN out and the ends unpadded;
- :func:`row_medians` equals ``np.median(x, axis=1)`` of a 2-D array, ~3x faster.

``tests/test_rank_filter.py`` checks them against scipy / a sort of every window and
against the slow reference in ``tests/naive_rank_filter.py``.
"""

from __future__ import annotations

import numpy as np

from ._numba import njit
from .errors import SignalError

__all__ = ["median_filter", "nan_running_median", "row_medians"]


def row_medians(x: np.ndarray) -> np.ndarray:
    """Median of each row of a 2-D float array, equal to ``np.median(x, axis=1)``.

    ``np.median`` partitions each row at both middle positions, and a partition at two
    positions costs about three at one. Here each row is partitioned at its upper middle
    position only; for an even row length the lower middle value is the largest of the
    part before it, and the median is ``(lower + upper) / 2``, the mean ``np.median``
    takes of the same two values. A row holding NaN gives NaN, as in ``np.median``.
    (Rows holding both 0.0 and -0.0 may differ in the sign of a zero median, as
    ``np.median``'s own result depends on where its partition leaves them.)

    Parameters
    ----------
    x : numpy.ndarray
        2-D float array with at least one column.

    Returns
    -------
    numpy.ndarray
        float64 (the input's float dtype), one value per row.
    """
    n_rows, n = x.shape
    if n_rows == 0:
        return np.median(x, axis=1)
    half = n // 2
    part = np.partition(x, half, axis=1)
    upper = part[:, half]
    med = upper.copy() if n % 2 else (part[:, :half].max(axis=1) + upper) / 2
    nan_rows = np.isnan(part[:, half:]).any(axis=1)  # NaN sorts last: right of the middle
    med[nan_rows] = np.nan
    return med


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
    1. The window is kept sorted; items before the start and after the end are
       ``x[0]`` and ``x[-1]`` (``mode="nearest"``).
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
    return _running_median_kernel(a, int(size), True, True)


def nan_running_median(x: np.ndarray, size: int) -> np.ndarray:
    """Centred running median over ``size`` items ignoring NaN; NaN where none.

    Parameters
    ----------
    x : array_like
        1-D real values; NaN values are left out of every window (infinite ones rank
        as usual).
    size : int
        Window length in items, at least 1 (odd for a centred window). Items beyond
        the ends are not padded: the first windows are shorter.

    Returns
    -------
    numpy.ndarray
        float64: the median of the non-NaN values in each window (the mean of the two
        middle ones for an even count), NaN where the window has none.

    Examples
    --------
    >>> nan_running_median(np.array([1.0, np.nan, 4.0, 2.0]), 3).tolist()
    [1.0, 2.5, 3.0, 3.0]
    """
    a = np.asarray(x)
    if a.ndim != 1 or a.dtype.kind not in "buif":
        raise SignalError(
            f"nan_running_median needs a 1-D real array, got shape {a.shape} {a.dtype}"
        )
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise SignalError(f"nan_running_median size must be an integer >= 1, got {size!r}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    return _running_median_kernel(a, int(size), False, False)


@njit
def _running_median_kernel(x: np.ndarray, size: int, nearest: bool, upper: bool) -> np.ndarray:
    """Running median of ``x`` over ``size`` items (``i - size // 2`` onwards).

    Items beyond the ends repeat the end values (``nearest``) or are left out; NaN
    values are left out (infinite ones rank as usual). With ``c`` values in the window
    the median is the one of rank ``c // 2`` (``upper``) or the mean of ranks
    ``(c - 1) // 2`` and ``c // 2``; NaN when ``c`` is 0.
    """
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out
    left = size // 2
    buf = np.empty(size, dtype=np.float64)
    c = 0
    for step in range(n + size - 1):
        # step j puts item j - left into the window; from step size - 1 on, also out
        j = step - left
        if nearest:
            j = min(max(j, 0), n - 1)
        if step >= size:  # the item that entered size steps ago leaves
            o = step - size - left
            if nearest:
                o = min(max(o, 0), n - 1)
            if 0 <= o < n and not np.isnan(x[o]):
                p = np.searchsorted(buf[:c], x[o])
                for k in range(p, c - 1):
                    buf[k] = buf[k + 1]
                c -= 1
        if j < n and (nearest or j >= 0) and not np.isnan(x[j]):
            v = x[j]
            q = np.searchsorted(buf[:c], v)
            for k in range(c, q, -1):
                buf[k] = buf[k - 1]
            buf[q] = v
            c += 1
        i = step - (size - 1)  # the window of item i is complete
        if i >= 0 and i < n:
            if c == 0:
                out[i] = np.nan
            elif upper:
                out[i] = buf[c // 2]
            else:
                out[i] = (buf[(c - 1) // 2] + buf[c // 2]) / 2
    return out
