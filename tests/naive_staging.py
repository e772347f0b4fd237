"""Slow, obviously correct references for the staging kernels."""

from __future__ import annotations

import itertools
import math

import numpy as np


def nn_mask(starts, rr, lo=0.3, hi=2.0, tol=0.25, max_gap=10.0, max_reject=4):
    """Plain-Python NN filter, the same rule as ``_nn_mask_kernel``."""
    out = []
    ref = None
    last_end = -math.inf
    rejects = 0
    for s, x in zip(starts, rr, strict=True):
        x = float(x)
        if math.isnan(x) or x < lo or x > hi:
            out.append(False)
            continue
        restart = ref is None or (s - last_end > max_gap) or rejects >= max_reject
        if restart or abs(x - ref) <= tol * ref:
            out.append(True)
            ref = x if restart else 0.75 * ref + 0.25 * x
            last_end = s + x
            rejects = 0
        else:
            out.append(False)
            rejects += 1
    return np.array(out, dtype=bool)


def hmm_posteriors(lik, trans, init):
    """Posterior state probabilities by enumerating every path (tiny inputs only)."""
    n, k = lik.shape
    post = np.zeros((n, k))
    for path in itertools.product(range(k), repeat=n):
        p = init[path[0]] * lik[0, path[0]]
        for i in range(1, n):
            p *= trans[path[i - 1], path[i]] * lik[i, path[i]]
        for i, s in enumerate(path):
            post[i, s] += p
    return post / post.sum(axis=1, keepdims=True)


def rank_night(x):
    """Percentile rank (r + 0.5) / n with ties averaged, over the finite values."""
    out = np.full(len(x), np.nan)
    vals = [v for v in x if math.isfinite(v)]
    if len(vals) < 3:
        return out
    for i, v in enumerate(x):
        if math.isfinite(v):
            below = sum(1 for u in vals if u < v)
            equal = sum(1 for u in vals if u == v)
            out[i] = (below + (equal - 1) / 2 + 0.5) / len(vals)
    return out


def running_median(x, k):
    """Centred median of the finite values within k // 2 epochs."""
    out = np.full(len(x), np.nan)
    for i in range(len(x)):
        w = [v for v in x[max(0, i - k // 2) : i + k // 2 + 1] if math.isfinite(v)]
        if w:
            out[i] = float(np.median(w))
    return out


def trailing_mean(x, k):
    """Mean of the finite values among the epoch and the k - 1 before it."""
    out = np.full(len(x), np.nan)
    for i in range(len(x)):
        w = [v for v in x[max(0, i - k + 1) : i + 1] if math.isfinite(v)]
        if w:
            out[i] = sum(w) / len(w)
    return out


def _whole_grid_windows(ends, rr, n_epochs, win):
    """The NN series interpolated on the whole grid (margin ``win // 2``), one row per
    epoch-centred window (all of them), and whether each window is at least 80 % valid."""
    half = win // 2
    grid = np.arange(-half, n_epochs * 30.0 * 4.0 + half) / 4.0
    y = np.interp(grid, ends, rr)
    pos = np.searchsorted(ends, grid)
    lo = np.clip(pos - 1, 0, len(ends) - 1)
    hi = np.clip(pos, 0, len(ends) - 1)
    valid = np.minimum(np.abs(grid - ends[lo]), np.abs(ends[hi] - grid)) <= 3.0
    centres = ((np.arange(n_epochs) + 0.5) * 120.0).astype(np.int64)
    seg = np.array([y[c : c + win] for c in centres]).reshape(n_epochs, win)
    ok = np.array([valid[c : c + win].sum() / win >= 0.8 for c in centres], dtype=bool)
    return seg, ok


def spectral_whole_grid(ends, rr, n_epochs):
    """VLF, LF, HF power with every window transformed (the staging code before it
    transformed only the kept windows)."""
    seg, ok = _whole_grid_windows(ends, rr, n_epochs, 1024)
    seg -= seg.mean(axis=1, keepdims=True)
    seg *= np.hanning(1024)
    f = np.fft.rfftfreq(1024, 0.25)
    f = f[: int(np.count_nonzero(f < 0.4))]
    p = np.abs(np.fft.rfft(seg, axis=1)[:, : len(f)]) ** 2
    bands = ((0.01, 0.04), (0.04, 0.15), (0.15, 0.40))
    return tuple(
        np.where(ok, p[:, (f >= a) & (f < b)].sum(axis=1) + 1e-12, np.nan) for a, b in bands
    )


def edr_whole_grid(ends, rr, n_epochs):
    """ECG-derived respiration (rate, entropy, peak share, centroid) with every window
    transformed: the staging code as it was before it transformed only the kept windows,
    kept as the bit-for-bit "before" of that change (not an independent reference: the
    band, entropy and peak steps are the production code's own)."""
    seg, ok = _whole_grid_windows(ends, rr, n_epochs, 128)
    tt = np.arange(128) - 127 / 2
    seg -= seg.mean(axis=1, keepdims=True)
    seg -= np.outer(seg @ tt / (tt @ tt), tt)
    seg *= np.hanning(128)
    p = np.abs(np.fft.rfft(seg, axis=1)) ** 2
    f = np.fft.rfftfreq(128, 0.25)
    band = (f >= 0.1) & (f < 0.5)
    pb = p[:, band] + 1e-15
    fb = f[band]
    q = pb / pb.sum(axis=1, keepdims=True)
    entropy = -(q * np.log(q)).sum(axis=1) / np.log(band.sum())
    k = pb.argmax(axis=1)
    near = np.clip(k[:, None] + np.arange(-1, 2)[None, :], 0, band.sum() - 1)
    peak = np.take_along_axis(q, near, axis=1).sum(axis=1)
    return tuple(np.where(ok, r, np.nan) for r in (fb[k], entropy, peak, q @ fb))
