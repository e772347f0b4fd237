"""Numba kernels of the per-window sensor states: the mains detector
(:mod:`sleepsignal.mains`: the line scores after the FFT; the windows before it are
centred by ``_track_kernels._centred_windows_kernel``, beside the ``_block_sum`` it
calls, because numba's cache does not notice an edit of a callee in another file) and
bed presence (:mod:`sleepsignal.activity`: the spreads of each window).

Each replaces a chain of whole-array numpy passes (centring, windowing; the magnitude of
every bin, fancy-indexed neighbourhoods; differences, means, standard deviations) by one
pass that touches only what is needed: of the 281 bins of a 4 s window at 140 Hz, the
~200 around the mains lines. ``tests/naive_status.py`` holds their slow references.
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

__all__: list[str] = []


@njit
def _line_scores_kernel(
    spec: np.ndarray,
    n_bins: int,
    peak_lo: np.ndarray,
    peak_hi: np.ndarray,
    ref_start: np.ndarray,
    ref_bins: np.ndarray,
    out: np.ndarray,
) -> None:
    """Line-to-neighbourhood power ratio of every spectrum at every line.

    ``spec``: float64, the complex spectra of the windows as (real, imaginary) pairs,
    ``n_bins`` bins per window, windows back to back. Line ``j`` peaks in bins
    ``peak_lo[j]`` to ``peak_hi[j]`` (inclusive; ``peak_lo[j] < 0``: the line is not
    scored, 0); its neighbourhood is bins ``ref_bins[ref_start[j]:ref_start[j + 1]]``.
    ``out`` (float64, windows x lines, row-major) gets the highest power of the peak
    bins over the mean power of the neighbourhood (power ``re**2 + im**2``);
    +inf when the neighbourhood has no power but the peak has, 0 when neither has.
    """
    n_lines = peak_lo.shape[0]
    n_win = spec.shape[0] // (2 * n_bins) if n_bins > 0 else 0
    for k in range(n_win):
        base = 2 * n_bins * k
        for j in range(n_lines):
            score = 0.0
            if peak_lo[j] >= 0:
                peak = 0.0
                for b in range(peak_lo[j], peak_hi[j] + 1):
                    re = spec[base + 2 * b]
                    im = spec[base + 2 * b + 1]
                    p = re * re + im * im
                    if p > peak:
                        peak = p
                acc = 0.0
                for m in range(ref_start[j], ref_start[j + 1]):
                    b = ref_bins[m]
                    re = spec[base + 2 * b]
                    im = spec[base + 2 * b + 1]
                    acc += re * re + im * im
                ref = acc / (ref_start[j + 1] - ref_start[j])
                if ref > 0:
                    score = peak / ref
                elif peak > 0:
                    score = np.inf
            out[k * n_lines + j] = score


@njit
def _block_sum8(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's pairwise-summation leaf (``n`` <= 128): 8 running sums, then the rest."""
    if n < 8:
        acc = 0.0
        for i in range(lo, lo + n):
            acc += a[i]
        return acc
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    stop = lo + n - n % 8
    for i in range(lo + 8, stop, 8):
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
    acc = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(stop, lo + n):
        acc += a[i]
    return acc


@njit
def _pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:
    """Sum of ``a[lo:lo + n]`` in the order of numpy's pairwise summation (``np.sum``
    of a contiguous float64 run), so a numpy mean or standard deviation is reproduced
    bit for bit: runs over 128 values are split in two (the first half a multiple of 8
    long) and the halves' sums added. The splitting runs on an explicit stack (a
    recursive kernel does not load safely from numba's cache)."""
    if n <= 128:
        return _block_sum8(a, lo, n)
    # post-order walk of the split tree: (start, length, children done) per node
    node_lo = np.empty(64, dtype=np.int64)
    node_n = np.empty(64, dtype=np.int64)
    node_step = np.empty(64, dtype=np.int64)
    sums = np.empty(64)
    top = 0
    n_sums = 0
    node_lo[0], node_n[0], node_step[0] = lo, n, 0
    while top >= 0:
        m = node_n[top]
        if m <= 128:
            sums[n_sums] = _block_sum8(a, node_lo[top], m)
            n_sums += 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if node_step[top] == 0:  # the first half next
            node_step[top] = 1
            node_lo[top + 1], node_n[top + 1], node_step[top + 1] = node_lo[top], half, 0
            top += 1
        elif node_step[top] == 1:  # then the second half
            node_step[top] = 2
            node_lo[top + 1], node_n[top + 1] = node_lo[top] + half, m - half
            node_step[top + 1] = 0
            top += 1
        else:  # both halves summed: add them
            sums[n_sums - 2] = sums[n_sums - 2] + sums[n_sums - 1]
            n_sums -= 1
            top -= 1
    return sums[0]


@njit
def _std_of(buf: np.ndarray, n: int) -> float:
    """``np.std(buf[:n])`` (population), as numpy computes it: the pairwise mean, the
    squared deviations, their pairwise mean, its square root. Overwrites ``buf``."""
    mean = _pairwise_sum(buf, 0, n) / n
    for i in range(n):
        dev = buf[i] - mean
        buf[i] = dev * dev
    return np.sqrt(_pairwise_sum(buf, 0, n) / n)


@njit
def _presence_spreads_kernel(
    low: np.ndarray, w: int, n_w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window ``k`` of ``w`` samples of ``low`` (``k < n_w``): ``d``, the standard
    deviation of its first differences; ``b``, the standard deviation of its residual
    from the least-squares straight line; and whether it is constant.

    ``d`` and the window means are numpy's numbers (:func:`_pairwise_sum`); the slope
    is a dot product summed in order (numpy's ``@`` uses BLAS, whose order is its own),
    so ``b`` may differ from a numpy computation in the last bits.
    """
    d = np.empty(n_w)
    b = np.empty(n_w)
    dead = np.zeros(n_w, dtype=np.bool_)
    buf = np.empty(max(w, 1))
    tc = np.empty(w)
    tt = 0.0
    for i in range(w):
        tc[i] = i - (w - 1) / 2.0
        tt += tc[i] * tc[i]  # half-integers: exact in any order
    for k in range(n_w):
        s0 = k * w
        lo = low[s0]
        hi = low[s0]
        for i in range(1, w):
            v = low[s0 + i]
            buf[i - 1] = v - low[s0 + i - 1]
            lo = min(lo, v)
            hi = max(hi, v)
        dead[k] = lo == hi
        d[k] = _std_of(buf, w - 1)
        mean = _pairwise_sum(low, s0, w) / w
        dot = 0.0
        for i in range(w):
            c = low[s0 + i] - mean
            buf[i] = c
            dot += c * tc[i]
        slope = dot / tt
        for i in range(w):
            buf[i] -= slope * tc[i]
        b[k] = _std_of(buf, w)
    return d, b, dead
