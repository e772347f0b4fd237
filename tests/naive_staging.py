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
