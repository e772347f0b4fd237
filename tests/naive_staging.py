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
