"""Numba kernels of :mod:`sleepsignal.heartbeats` (sequential parts only).

Every kernel takes 1-D contiguous arrays and scalars, allocates its worst-case output and
returns it; the public wrappers in :mod:`sleepsignal.heartbeats` validate the input.
A slow reference of each kernel lives in ``tests/naive_heartbeats.py`` and is tested for
equality.
"""

from __future__ import annotations

import numpy as np

from ._numba import REASSOC_MATH, njit

__all__: list[str] = []


@njit
def _vertex(y0: float, y1: float, y2: float) -> float:
    """Offset (samples) of the vertex of the parabola through three equally spaced
    points ``y0, y1, y2`` around a maximum at ``y1``; 0 when they do not curve down."""
    den = y0 - 2.0 * y1 + y2
    return 0.5 * (y0 - y2) / den if den < 0.0 else 0.0


@njit
def _candidate_peaks(env: np.ndarray, half: int) -> np.ndarray:
    """Indices ``i`` where ``env[i]`` is the maximum of ``env[i-half : i+half+1]``.

    Ties keep the first index of a plateau; NaN samples are never peaks. ``env`` must be
    float64. ``i`` is a peak when ``env[i] > 0``, ``env[i]`` exceeds every finite value
    to its left within ``half`` and is not exceeded to its right.

    The samples are cut into blocks of ``half + 1``: a peak's window holds its whole
    block, so a peak is the first maximum of its block, and the rest of its window lies
    in the two neighbouring blocks. One pass finds each block's first maximum (a
    comparison per sample, no data-dependent jumps); a block's maximum is then a peak
    when it beats the neighbouring blocks' maxima (most are settled so), else the part
    of a neighbour inside its window is scanned.
    """
    n = env.shape[0]
    h = max(0, half)
    bs = h + 1
    nb = (n + bs - 1) // bs
    bmax = np.full(nb, -np.inf)  # largest non-NaN value of each block (-inf: none)
    barg = np.full(nb, -1, dtype=np.int64)  # its first index
    for b in range(nb):
        best = -np.inf
        bi = -1
        for i in range(b * bs, min(n, b * bs + bs)):
            v = env[i]
            if v > best:  # NaN compares False
                best = v
                bi = i
        bmax[b] = best
        barg[b] = bi
    out = np.empty(nb, dtype=np.int64)
    m = 0
    for b in range(nb):
        i = barg[b]
        v = bmax[b]
        if not (v > 0.0):
            continue
        # left: env[i-h : block start] lies in block b-1; nothing there may reach v
        if b > 0 and not (bmax[b - 1] < v):
            ok = True
            for j in range(max(0, i - h), b * bs):
                if env[j] >= v:
                    ok = False
                    break
            if not ok:
                continue
        # right: env[block end : i+h+1] lies in block b+1; nothing there may exceed v
        if b + 1 < nb and bmax[b + 1] > v:
            ok = True
            for j in range((b + 1) * bs, min(n, i + h + 1)):
                if env[j] > v:
                    ok = False
                    break
            if not ok:
                continue
        out[m] = i
        m += 1
    return out[:m]


@njit(fastmath=REASSOC_MATH)
def _dot(a: np.ndarray, b: np.ndarray, w: int) -> float:
    """``sum(a[:w] * b[:w])``, summed in SIMD lanes (:data:`REASSOC_MATH`: the order of
    the additions is the compiler's, so the result may differ from a sequential sum by
    rounding; NaN propagates)."""
    s = 0.0
    for i in range(w):
        s += a[i] * b[i]
    return s


@njit(fastmath=REASSOC_MATH)
def _dot2(a: np.ndarray, x: np.ndarray, p0: int, p1: int, w: int) -> tuple[float, float]:
    """``(_dot(a, x[p0:], w), _dot(a, x[p1:], w))`` in one pass (``a`` read once), each
    summed in SIMD lanes like :func:`_dot` (on the machines measured, the same lanes
    and order: the results are bit for bit its; ``tests/test_heartbeats.py`` checks
    it for every window length up to 320). The windows are taken as slices, so the
    compiler sees unit-stride loads (an index ``x[p0 + i]`` became a gather)."""
    x0 = x[p0 : p0 + w]
    x1 = x[p1 : p1 + w]
    s0 = 0.0
    s1 = 0.0
    for i in range(w):
        ai = a[i]
        s0 += ai * x0[i]
        s1 += ai * x1[i]
    return s0, s1


@njit(fastmath=REASSOC_MATH)
def _dot_and_square(a: np.ndarray, b: np.ndarray, w: int) -> tuple[float, float]:
    """``(sum(a[:w] * b[:w]), sum(a[:w] ** 2))`` in one pass, each summed in SIMD
    lanes like :func:`_dot` (on the machines measured, the same lanes and order as two
    :func:`_dot` calls: the results are bit for bit theirs)."""
    s = 0.0
    q = 0.0
    for i in range(w):
        s += a[i] * b[i]
        q += a[i] * a[i]
    return s, q


@njit(fastmath=REASSOC_MATH)
def _sums(x: np.ndarray, s0: int, w: int) -> tuple[float, float]:
    """Sum and sum of squares of ``x[s0 : s0 + w]``, in SIMD lanes like :func:`_dot`."""
    xs = x[s0 : s0 + w]
    s1 = 0.0
    s2 = 0.0
    for i in range(w):
        v = xs[i]
        s1 += v
        s2 += v * v
    return s1, s2


@njit
def _slid_sums(
    x: np.ndarray, prev: int, b0: int, w: int, sb: float, sbb: float
) -> tuple[float, float]:
    """Sum and sum of squares of ``x[b0 : b0 + w]``: slid from ``sb``, ``sbb`` (those of
    the window at ``prev``) when it overlaps, otherwise made anew (``prev < 0``: none)."""
    if prev < 0 or b0 - prev >= w:
        return _sums(x, b0, w)
    for j in range(prev, b0):
        vo = x[j]
        vi = x[j + w]
        sb += vi - vo
        sbb += vi * vi - vo * vo
    return sb, sbb


@njit(fastmath=REASSOC_MATH)
def _centre_window(x: np.ndarray, a0: int, w: int, out: np.ndarray) -> float:
    """``out[:w] = x[a0:a0+w] - mean``; returns the sum of squares of ``out[:w]``
    (sums in SIMD lanes, see :func:`_dot`)."""
    xa = x[a0 : a0 + w]  # a slice: unit-stride loads (x[a0 + i] compiled to gathers)
    sa = 0.0
    for i in range(w):
        sa += xa[i]
    ma = sa / w
    va = 0.0
    for i in range(w):
        out[i] = xa[i] - ma
        va += out[i] * out[i]
    return va


@njit
def _ncc_vb(x: np.ndarray, a: np.ndarray, va: float, s: int, w: int, vb: float) -> float:
    """Pearson correlation of zero-mean ``a`` (sum of squares ``va``) with ``x[s:s+w]``,
    whose centred sum of squares ``vb`` is given (NaN: that window is flat, and so is
    the result)."""
    return _dot(a, x[s : s + w], w) / np.sqrt(va * vb)


@njit
def _pair_alignment(
    x: np.ndarray,
    cand: np.ndarray,
    bad: np.ndarray,
    max_skip: int,
    before: int,
    after: int,
    max_lag: int,
    good_enough: float,
    step: int,
    min_interval: float,
    max_interval: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Align the beat window of each candidate with the next ``max_skip`` candidates.

    For candidate ``k`` and ``d`` in ``1..max_skip``, window ``A = x[c_k-before :
    c_k+after]`` is compared with ``B(l) = x[c_{k+d}+l-before : c_{k+d}+l+after]`` for
    every lag ``l`` in ``[-max_lag, max_lag]`` by the Pearson correlation. Returns
    ``lag[k, d-1]`` (fractional, samples, from a parabola through the best lag and its
    two neighbours) and ``ncc[k, d-1]`` (the best correlation). Pairs whose windows leave
    the signal, touch a ``bad`` sample, or are flat get NaN. Once a pair of ``k``
    correlates at ``good_enough`` or more, the pairs with farther candidates are not
    computed (NaN): that candidate is then the next beat (with the next candidate:
    nothing is skipped). The lags are searched every ``step`` samples first, then at
    the two lags ``s`` either side of the best so far for ``s`` = half the step rounded
    up, halved again down to 1 (``step=2``: the coarse best's two neighbours; 4: +-2
    then +-1; ``step=1``: exhaustive). A pair whose interval ``c_{k+d} - c_k + l`` lies
    outside ``[min_interval, max_interval]`` (samples) at every lag is not computed
    (NaN): no interval of it could be used (the pair with the next candidate is
    computed when it is too long, for the ``good_enough`` test; a next candidate too
    close to be the next beat does not stop the farther ones from being tried).
    """
    n = x.shape[0]
    nc = cand.shape[0]
    lag = np.full((nc, max_skip), np.nan)
    ncc = np.full((nc, max_skip), np.nan)
    w = before + after
    nl = 2 * max_lag + 1
    r = np.empty(nl)
    a = np.empty(w)
    # centred sum of squares of the window at every lag, per target candidate: a
    # candidate is the target of up to max_skip pairs (from its max_skip predecessors)
    # with the same windows, so they are made once, in slot j % max_skip (the
    # targets of candidate k, k+1 .. k+max_skip, fall in distinct slots)
    wvb_all = np.empty((max_skip, nl))
    slot_of = np.full(max_skip, -1, dtype=np.int64)  # the candidate each slot holds
    for k in range(nc):
        a0 = cand[k] - before
        if a0 < 0 or a0 + w > n or bad[k]:
            continue
        va = _centre_window(x, a0, w, a)
        if va <= 0.0:
            continue
        hit = False  # a pair of k correlates at good_enough or more
        for d in range(1, max_skip + 1):
            if k + d >= nc:
                break
            if hit:
                break
            span = cand[k + d] - cand[k]
            if d > 1 and span - max_lag > max_interval:
                break  # and every farther candidate too
            if span + max_lag < min_interval:
                continue  # too close: no lag makes an allowed interval
            if bad[k + d]:
                continue
            b0 = cand[k + d] - before - max_lag
            if b0 < 0 or b0 + w + 2 * max_lag > n:
                continue
            slot = (k + d) % max_skip
            wvb = wvb_all[slot]
            if slot_of[slot] != k + d:
                # window sums at every lag by sliding (2 updates per lag, not w adds),
                # and from them each window's centred sum of squares (NaN: flat)
                s1, s2 = _sums(x, b0, w)
                for li in range(nl):
                    if li > 0:
                        vo = x[b0 + li - 1]
                        vi = x[b0 + li - 1 + w]
                        s1 += vi - vo
                        s2 += vi * vi - vo * vo
                    vb = s2 - s1 * s1 / w
                    wvb[li] = np.nan if vb <= 1e-12 * s2 or vb <= 0.0 else vb
                slot_of[slot] = k + d
            # coarse pass every `step` lags, then every lag around the coarse best; the
            # correlation is smooth in the lag (the band ends far below fs / 2)
            for li in range(nl):
                r[li] = np.nan
            best = -2.0
            bi = -1
            nco = (nl - 1) // step + 1
            g = 0
            while g + 1 < nco:  # two lags per pass over the template
                l0 = g * step
                l1 = l0 + step
                c0, c1 = _dot2(a, x, b0 + l0, b0 + l1, w)
                r[l0] = c0 / np.sqrt(va * wvb[l0])  # as _ncc_vb makes it
                r[l1] = c1 / np.sqrt(va * wvb[l1])
                g += 2
            if g < nco:
                r[g * step] = _ncc_vb(x, a, va, b0 + g * step, w, wvb[g * step])
            for g in range(nco):
                li = g * step
                if r[li] > best:
                    best = r[li]
                    bi = li
            if bi < 0:
                continue
            # finer: the lags half the step (rounded up) either side of the best, then
            # half that, down to 1 (step 2: the two neighbours of the coarse best)
            s = step
            while s > 1:
                s = (s + 1) // 2
                l0 = bi - s
                l1 = bi + s
                if l0 >= 0 and l1 < nl and r[l0] != r[l0] and r[l1] != r[l1]:
                    # both new (the usual case): one pass for the two
                    c0, c1 = _dot2(a, x, b0 + l0, b0 + l1, w)
                    r[l0] = c0 / np.sqrt(va * wvb[l0])
                    r[l1] = c1 / np.sqrt(va * wvb[l1])
                    if r[l0] > best:
                        best = r[l0]
                        bi = l0
                    if r[l1] > best:
                        best = r[l1]
                        bi = l1
                    continue
                for li in (l0, l1):
                    if 0 <= li < nl and r[li] != r[li]:
                        r[li] = _ncc_vb(x, a, va, b0 + li, w, wvb[li])
                        if r[li] > best:
                            best = r[li]
                            bi = li
            for li in (bi - 1, bi + 1):  # neighbours for the parabola
                if 0 <= li < nl and r[li] != r[li]:
                    r[li] = _ncc_vb(x, a, va, b0 + li, w, wvb[li])
            frac = 0.0
            if 0 < bi < nl - 1:
                frac = _vertex(r[bi - 1], r[bi], r[bi + 1])
            lag[k, d - 1] = bi - max_lag + frac
            ncc[k, d - 1] = best
            hit = best >= good_enough
    return lag, ncc


@njit
def _nearest_good_interval(
    cand: np.ndarray,
    lag: np.ndarray,
    ncc: np.ndarray,
    max_skip: int,
    min_interval: float,
    max_interval: float,
    near_margin: float,
    min_best: float,
) -> np.ndarray:
    """Each candidate's interval (samples) to the nearest of the next ``max_skip``
    candidates that matches within ``near_margin`` of the best match.

    ``lag`` and ``ncc`` are the flattened ``(n, max_skip)`` outputs of
    :func:`_pair_alignment`. A pair counts when its ``ncc`` is finite and its interval
    ``cand[k + d] - cand[k] + lag`` lies in ``[min_interval, max_interval]``. NaN when
    the best counted ``ncc`` is below ``min_best`` or none counts.
    """
    nc = cand.shape[0]
    out = np.full(nc, np.nan)
    for k in range(nc):
        best = -np.inf
        for d in range(1, max_skip + 1):
            j = k * max_skip + d - 1
            q = ncc[j]
            iv = (cand[min(k + d, nc - 1)] - cand[k]) + lag[j]
            if q == q and min_interval <= iv <= max_interval and q > best:
                best = q
        if not (best >= min_best):
            continue
        for d in range(1, max_skip + 1):  # the nearest counted pair within the margin
            j = k * max_skip + d - 1
            q = ncc[j]
            iv = (cand[min(k + d, nc - 1)] - cand[k]) + lag[j]
            if q == q and min_interval <= iv <= max_interval and q >= best - near_margin:
                out[k] = iv
                break
    return out


@njit
def _local_median(t: np.ndarray, v: np.ndarray, tq: np.ndarray, half_window: float) -> np.ndarray:
    """Median of the finite ``v[j]`` with ``|t[j] - tq[i]| <= half_window``, for each ``i``.

    ``t`` and ``tq`` must be non-decreasing. NaN where no finite value lies in the window.
    """
    n = t.shape[0]
    nq = tq.shape[0]
    out = np.full(nq, np.nan)
    buf = np.empty(n)  # the finite values of the current window, kept sorted
    m = 0
    lo = 0
    hi = 0
    for i in range(nq):
        # windows only move forward: drop the values that left, insert the new ones
        while lo < n and t[lo] < tq[i] - half_window:
            if lo < hi and v[lo] == v[lo]:
                m = _sorted_remove(buf, m, v[lo])
            lo += 1
        if hi < lo:
            hi = lo
        while hi < n and t[hi] <= tq[i] + half_window:
            if v[hi] == v[hi]:
                m = _sorted_insert(buf, m, v[hi])
            hi += 1
        if m > 0:
            h = m // 2
            if m % 2 == 1:
                out[i] = buf[h]
            else:
                out[i] = (buf[h - 1] + buf[h]) / 2
    return out


@njit
def _interp_grid(grid: np.ndarray, mg: np.ndarray, tq: np.ndarray, step: float) -> np.ndarray:
    """Linear interpolation of ``mg`` (values on the sorted ``grid``, spacing ``step``)
    at the non-decreasing times ``tq``: from the grid point before ``tq`` (the first
    one for times before the grid) and the next, the weight clipped to [0, 1]; where
    one of the two is NaN the other is used (NaN when both are)."""
    g = grid.shape[0]
    out = np.empty(tq.shape[0])
    p = 0  # number of grid points < tq[i] (a searchsorted that only moves forward)
    for i in range(tq.shape[0]):
        while p < g and grid[p] < tq[i]:
            p += 1
        i0 = min(max(p - 1, 0), g - 1)
        i1 = min(i0 + 1, g - 1)
        f = min(max((tq[i] - grid[i0]) / step, 0.0), 1.0)
        a = mg[i0]
        b = mg[i1]
        if np.isfinite(a) and np.isfinite(b):
            out[i] = a + f * (b - a)
        elif np.isfinite(a):
            out[i] = a
        else:
            out[i] = b
    return out


@njit
def _sorted_insert(buf: np.ndarray, m: int, val: float) -> int:
    """Insert ``val`` into the sorted ``buf[:m]``; returns the new length."""
    j = m
    while j > 0 and buf[j - 1] > val:
        buf[j] = buf[j - 1]
        j -= 1
    buf[j] = val
    return m + 1


@njit
def _sorted_remove(buf: np.ndarray, m: int, val: float) -> int:
    """Remove one copy of ``val`` from the sorted ``buf[:m]``; returns the new length."""
    j = np.searchsorted(buf[:m], val)
    for k in range(j, m - 1):
        buf[k] = buf[k + 1]
    return m - 1


@njit
def _best_chain(
    cand: np.ndarray,
    lag: np.ndarray,
    ncc: np.ndarray,
    max_skip: int,
    med: np.ndarray,
    min_interval: int,
    max_interval: int,
    ncc_floor: float,
    dev_weight: float,
    break_cost: float,
    unit: float,
) -> np.ndarray:
    """Choose the beats among the candidates by dynamic programming.

    ``lag`` and ``ncc`` are the flattened ``(n, max_skip)`` outputs of
    :func:`_pair_alignment` (entry ``p * max_skip + d - 1`` pairs ``p`` with ``p + d``).
    The path visits candidates in time order. An edge ``p -> k`` (``k - p <= max_skip``)
    scores ``ncc - ncc_floor - dev_weight * |interval / med_p - 1|`` and is allowed only
    when finite, positive and ``min_interval <= interval <= max_interval`` (samples);
    when ``unit > 0`` (samples) an allowed edge's score is multiplied by ``interval /
    unit``, so that the path's score counts per unit of time rather than per edge (a
    path through two candidates per beat does not collect twice the score); a
    break (``p`` -> any later candidate) scores ``-break_cost``, and a path may also
    start afresh at any candidate (score 0). Returns ``pred``: for each candidate
    on the optimal path, the index of its predecessor joined by an edge, ``-1`` for the
    first beat of a run, and ``-2`` for candidates not on the path.
    """
    nc = cand.shape[0]
    score = np.zeros(nc)
    back = np.full(nc, -1, dtype=np.int64)  # edge predecessor, -1 if break
    brk = np.full(nc, -1, dtype=np.int64)  # best earlier node for a break
    best_i = -1
    best_s = 0.0
    for k in range(nc):
        s_k = best_s - break_cost
        b_k = -1
        brk_k = best_i
        if s_k < 0.0:  # cheaper to start afresh than to pay for the break
            s_k = 0.0
            brk_k = -1
        for d in range(1, max_skip + 1):
            p = k - d
            if p < 0:
                break
            q = ncc[p * max_skip + d - 1]
            if q != q:
                continue
            iv = cand[k] - cand[p] + lag[p * max_skip + d - 1]
            if iv < min_interval or iv > max_interval:
                continue
            m = med[p]
            dev = 0.0
            if m == m and m > 0.0:
                dev = abs(iv / m - 1.0)
            wgt = q - ncc_floor - dev_weight * dev
            if wgt <= 0.0:
                continue
            if unit > 0.0:
                wgt *= iv / unit
            if score[p] + wgt > s_k:
                s_k = score[p] + wgt
                b_k = p
        score[k] = s_k
        back[k] = b_k
        brk[k] = brk_k
        if s_k > best_s:
            best_s = s_k
            best_i = k
    pred = np.full(nc, -2, dtype=np.int64)
    k = best_i
    while k >= 0:
        if back[k] >= 0:
            pred[k] = back[k]
            k = back[k]
        else:
            pred[k] = -1
            k = brk[k]
    return pred


@njit
def _run_fiducial(
    y: np.ndarray,
    t: np.ndarray,
    run_start: np.ndarray,
    left: int,
    right: int,
    max_shift: int,
    ref: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Offset (samples) of one common fiducial point from the beats of each run, and
    how well the run's average beat matched the beat it was aligned to.

    Run ``r`` holds beats ``t[run_start[r] : run_start[r+1]]`` (``run_start`` ends with
    ``len(t)``). The windows ``y[round(t)-left : round(t)+right+1]`` of a run are
    averaged (windows leaving the signal are skipped). Run ``ref`` is the reference
    (when it has a window; otherwise, or for ``ref < 0``, the run with the most beats
    that have one); its fiducial is its largest absolute value (the J wave, either polarity).
    Every other run's average is aligned to the reference by the largest absolute
    correlation over shifts within ``+-max_shift`` (so a polarity flip or a new posture
    keeps the same lobe as fiducial). Offsets are refined by parabolas; 0 for runs
    without a window.

    Returns ``(offset, quality)``: quality is the absolute correlation of the
    alignment that set the offset (1 for the reference, 0 for runs without a window).
    """
    n = y.shape[0]
    nr = run_start.shape[0] - 1
    w = left + right + 1
    out = np.zeros(nr)
    quality = np.zeros(nr)
    cnt = np.zeros(nr, dtype=np.int64)
    for r in range(nr):
        for b in range(run_start[r], run_start[r + 1]):
            c = int(np.floor(t[b] + 0.5))
            if c - left >= 0 and c + right + 1 <= n:
                cnt[r] += 1
    if nr == 0 or cnt.max() == 0:
        return out, quality
    if ref < 0 or ref >= nr or cnt[ref] == 0:
        ref = int(np.argmax(cnt))
    # avg[0]: the reference's sum of windows; avg[1]: that of the run being aligned
    # (made when it is aligned, so a night's runs need no (runs x w) array)
    avg = np.zeros((2, w))
    _window_sum(y, t, run_start[ref], run_start[ref + 1], left, right, avg[0])
    best = -1.0
    bi = 0
    for i in range(w):
        v = abs(avg[0, i])
        if v > best:
            best = v
            bi = i
    frac = 0.0
    if 0 < bi < w - 1:
        frac = _vertex(abs(avg[0, bi - 1]), best, abs(avg[0, bi + 1]))
    out[ref] = bi - left + frac
    quality[ref] = 1.0
    sc = np.empty(2 * max_shift + 1)
    # the reference's sum of squares over the overlap at each shift is the same for
    # every run: made once (the same sums _align_avg would make)
    sbb = np.empty(2 * max_shift + 1)
    for si in range(2 * max_shift + 1):
        sh = si - max_shift
        i0 = max(0, -sh)
        i1 = min(w, w - sh)
        rb = avg[0, i0:i1]
        sbb[si] = _dot(rb, rb, max(0, i1 - i0))
    for r in range(nr):
        if cnt[r] == 0 or r == ref:
            continue
        avg[1, :] = 0.0
        _window_sum(y, t, run_start[r], run_start[r + 1], left, right, avg[1])
        sh, q = _align_avg(avg, 1, 0, max_shift, sc, sbb)
        out[r] = out[ref] + sh
        quality[r] = q
    return out, quality


@njit
def _window_sum(
    y: np.ndarray,
    t: np.ndarray,
    a: int,
    b: int,
    left: int,
    right: int,
    acc: np.ndarray,
) -> None:
    """Add the windows ``y[round(t[i]) - left : round(t[i]) + right + 1]`` of the beats
    ``a <= i < b`` to ``acc``, in beat order (windows leaving ``y`` are skipped)."""
    n = y.shape[0]
    w = left + right + 1
    for i in range(a, b):
        c = int(np.floor(t[i] + 0.5))
        if c - left < 0 or c + right + 1 > n:
            continue
        for j in range(w):
            acc[j] += y[c - left + j]


@njit
def _align_avg(
    avg: np.ndarray, r: int, ref: int, max_shift: int, sc: np.ndarray, ref_ss: np.ndarray
) -> tuple[float, float]:
    """Shift (samples, parabola-refined) that best aligns ``avg[r]`` to ``avg[ref]``
    (run ``r``'s lobe at ``i + shift`` matches the reference at ``i``), by the largest
    absolute correlation over the overlap, and that correlation. ``ref_ss[si]`` is the
    sum of squares (:func:`_dot`) of the reference over the overlap at shift ``si -
    max_shift``."""
    w = avg.shape[1]
    ns = 2 * max_shift + 1
    best = -1.0
    bs = 0
    for si in range(ns):
        sh = si - max_shift
        i0 = max(0, -sh)  # the overlap: i in [i0, i1) with j = i + sh in [0, w)
        i1 = min(w, w - sh)
        ra = avg[r, i0 + sh : i1 + sh]
        rb = avg[ref, i0:i1]
        m = max(0, i1 - i0)
        sab, saa = _dot_and_square(ra, rb, m)
        sbb = ref_ss[si]
        v = abs(sab) / np.sqrt(saa * sbb) if saa > 0.0 and sbb > 0.0 else 0.0
        sc[si] = v
        if v > best:
            best = v
            bs = si
    frac = 0.0
    if 0 < bs < ns - 1:
        frac = _vertex(sc[bs - 1], sc[bs], sc[bs + 1])
    return bs - max_shift + frac, best


@njit
def _local_fiducial(
    y: np.ndarray,
    t: np.ndarray,
    run_start: np.ndarray,
    shift: np.ndarray,
    quality: np.ndarray,
    half: int,
    max_shift: int,
    shift_frac: float,
    half_window: float,
    min_q: float,
    min_count: int,
    min_run: int,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Second pass of the run fiducial: align each unmatched run to the matched runs
    near it in time.

    ``shift`` / ``quality`` come from :func:`_run_fiducial`; a run is matched when its
    quality is ``>= min_q``. Each matched run contributes the segment
    ``[-half, +half]`` of its average beat (windows ``y[round(t) - half - max_shift :
    round(t) + half + max_shift + 1]``) centred on its fiducial (linear interpolation),
    scaled to unit RMS times its number of windows and turned so that its fiducial
    lobe is positive. The local template of a run is the sum of the segments of the
    other matched runs whose mean beat time (samples) is within ``+-half_window`` of its
    own (runs in time order); it needs at least ``min_count`` windows. An unmatched
    run of at least ``min_run`` windows (the average of fewer matches another lobe
    too often) is aligned to its template by the largest absolute correlation over
    shifts within ``+-min(max_shift, shift_frac x its mean interval)``
    (parabola-refined); its shift and quality are replaced by that alignment, and it
    becomes matched when the quality is ``>= min_q``. Repeated (templates now include
    the runs matched in the previous round) until no run is newly matched or after
    ``max_iter`` rounds. Other runs keep their values. Returns new ``(shift, quality)`` arrays.
    """
    n = y.shape[0]
    nr = run_start.shape[0] - 1
    out = shift.copy()
    qual = quality.copy()
    wide = half + max_shift
    w = 2 * wide + 1
    ws = 2 * half + 1
    cnt = np.zeros(nr, dtype=np.int64)
    tm = np.zeros(nr)
    lim = np.zeros(nr, dtype=np.int64)
    # only a matched run (its segment) or one long enough to be aligned needs its
    # average beat (row[r] of avg and seg; -1: none): most runs of a noisy night don't
    row = np.full(nr, -1, dtype=np.int64)
    for r in range(nr):
        a = run_start[r]
        b = run_start[r + 1]
        if b <= a:
            continue
        s = 0.0
        for i in range(a, b):
            s += t[i]
        tm[r] = s / (b - a)
        lim[r] = max_shift
        if b - a > 1:
            lim[r] = max(
                0, min(max_shift, int(np.floor(shift_frac * (t[b - 1] - t[a]) / (b - a - 1))))
            )
        for i in range(a, b):
            c = int(np.floor(t[i] + 0.5))
            if c - wide >= 0 and c + wide + 1 <= n:
                cnt[r] += 1
    nrow = 0
    for r in range(nr):
        if cnt[r] > 0 and (qual[r] >= min_q or cnt[r] >= max(min_run, 1)):
            row[r] = nrow
            nrow += 1
    avg = np.zeros((nrow, w))
    for r in range(nr):
        if row[r] >= 0:
            _window_sum(y, t, run_start[r], run_start[r + 1], wide, wide, avg[row[r]])
    matched = np.zeros(nr, dtype=np.bool_)
    for r in range(nr):
        matched[r] = cnt[r] > 0 and qual[r] >= min_q
    seg = np.zeros((nrow, ws))
    tmpl = np.zeros(ws)
    sc = np.empty(2 * max_shift + 1)
    xab = np.empty(2 * max_shift + 1)  # cross sums and sums of squares per shift
    xaa = np.empty(2 * max_shift + 1)
    # a matched run's segment never changes, and an unmatched run's template changes
    # only when a run within its reach became matched: later rounds skip the others
    fresh = matched.copy()
    n_fresh = np.zeros(nr + 1, dtype=np.int64)
    for _ in range(max_iter):
        for r in range(nr):
            n_fresh[r + 1] = n_fresh[r] + (1 if fresh[r] else 0)
            if not fresh[r]:
                continue
            ss = 0.0
            for k in range(ws):
                pos = wide + out[r] + (k - half)
                i0 = min(max(int(np.floor(pos)), 0), w - 2)
                f = pos - i0
                v = avg[row[r], i0] * (1.0 - f) + avg[row[r], i0 + 1] * f
                seg[row[r], k] = v
                ss += v * v
            g = cnt[r] / np.sqrt(ss / ws) if ss > 0.0 else 0.0
            if seg[row[r], half] < 0.0:
                g = -g
            for k in range(ws):
                seg[row[r], k] *= g
        newly = np.zeros(nr, dtype=np.bool_)
        lo = 0
        hi = 0
        for r in range(nr):
            while lo < nr and tm[lo] < tm[r] - half_window:
                lo += 1
            while hi < nr and tm[hi] <= tm[r] + half_window:
                hi += 1
            if matched[r] or cnt[r] < max(min_run, 1) or n_fresh[hi] == n_fresh[lo]:
                continue
            tmpl[:] = 0.0
            nt = 0
            for j in range(lo, hi):
                if matched[j] and j != r:
                    nt += cnt[j]
                    for k in range(ws):
                        tmpl[k] += seg[row[j], k]
            if nt < min_count:
                continue
            stt = 0.0
            for k in range(ws):
                stt += tmpl[k] * tmpl[k]
            if stt <= 0.0:
                continue
            m = lim[r]
            best = -1.0
            bs = 0
            _shift_sums(avg[row[r]], wide - m - half, 2 * m + 1, tmpl, ws, xab, xaa)
            for si in range(2 * m + 1):
                sab = xab[si]
                saa = xaa[si]
                v = abs(sab) / np.sqrt(saa * stt) if saa > 0.0 else 0.0
                sc[si] = v
                if v > best:
                    best = v
                    bs = si
            frac = 0.0
            if 0 < bs < 2 * m:
                frac = _vertex(sc[bs - 1], sc[bs], sc[bs + 1])
            out[r] = bs - m + frac
            qual[r] = best
            newly[r] = best >= min_q
        if not newly.any():
            break
        for r in range(nr):
            if newly[r]:
                matched[r] = True
        fresh = newly
    return out, qual


@njit
def _shift_sums(
    arr: np.ndarray, a0: int, ns: int, tmpl: np.ndarray, ws: int, sab: np.ndarray, saa: np.ndarray
) -> None:
    """``sab[si] = sum(arr[a0+si : a0+si+ws] * tmpl[:ws])`` and ``saa[si] = sum(arr[a0+si
    : a0+si+ws] ** 2)`` for ``si < ns``.

    Each sum is taken in index order, one product at a time (the plain sequential
    loop, so every value is that loop's to the last bit); four shifts are summed side
    by side so that their additions overlap instead of waiting on each other.
    """
    si = 0
    while si + 4 <= ns:
        ab = arr[a0 + si : a0 + si + ws + 3]  # a slice: plain loads (no index checks)
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        q0 = 0.0
        q1 = 0.0
        q2 = 0.0
        q3 = 0.0
        for k in range(ws):
            tk = tmpl[k]
            v0 = ab[k]
            v1 = ab[k + 1]
            v2 = ab[k + 2]
            v3 = ab[k + 3]
            s0 += v0 * tk
            s1 += v1 * tk
            s2 += v2 * tk
            s3 += v3 * tk
            q0 += v0 * v0
            q1 += v1 * v1
            q2 += v2 * v2
            q3 += v3 * v3
        sab[si] = s0
        sab[si + 1] = s1
        sab[si + 2] = s2
        sab[si + 3] = s3
        saa[si] = q0
        saa[si + 1] = q1
        saa[si + 2] = q2
        saa[si + 3] = q3
        si += 4
    while si < ns:
        b = a0 + si
        s0 = 0.0
        q0 = 0.0
        for k in range(ws):
            v0 = arr[b + k]
            s0 += v0 * tmpl[k]
            q0 += v0 * v0
        sab[si] = s0
        saa[si] = q0
        si += 1


@njit
def _template_fiducial(
    y: np.ndarray,
    t: np.ndarray,
    run_start: np.ndarray,
    shift: np.ndarray,
    timed: np.ndarray,
    usable: np.ndarray,
    half: int,
    max_shift: int,
    shift_frac: float,
    n_own: int,
    n_tmpl: int,
    max_age: float,
    min_q: float,
    sep: int,
    min_margin: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Carry the fiducial across run breaks with a running template of the timed beats.

    Run ``r`` holds beats ``t[run_start[r] : run_start[r+1]]`` (samples, in time order;
    ``run_start`` ends with ``len(t)``); when ``timed[r]``, ``t + shift[r]`` are its
    fiducial times. Forward pass, runs in time order: for an untimed, ``usable`` run of
    two or more beats, the template is the sum of the windows ``y[round(t + shift) -
    half : ... + half + 1]`` of the last ``n_tmpl`` beats of timed runs before its first
    beat, none more than ``max_age`` samples before it (the search stops at the first
    run that ends farther away; windows leaving the signal are skipped). The sum of the
    windows ``[-half - m, +half + m]`` around the run's first ``n_own`` beats (``m =
    min(max_shift, floor(shift_frac x its mean interval))``) is aligned to the template
    by the largest signed cosine similarity ``q`` over the shifts ``s`` within ``+-m``
    (the run's lobe at ``i + s`` matches the template's at ``i``). The run becomes timed
    when ``q >= min_q`` and ``q`` exceeds the best similarity at shifts ``sep`` or more
    samples from ``s`` (another lobe) by at least ``min_margin``: ``shift`` becomes
    ``s`` (parabola-refined), and its beats join the templates of the runs after it.
    Backward pass, runs in reverse order: the same for the runs still untimed, with the
    first ``n_tmpl`` timed beats after the run's last beat and the run's last ``n_own``
    beats. Other runs keep their values.

    Returns ``(shift, quality, timed)``: new arrays; ``quality`` is ``q`` for the runs
    timed here and NaN for the others.
    """
    n = y.shape[0]
    nr = run_start.shape[0] - 1
    out = shift.copy()
    done = timed.copy()
    qual = np.full(nr, np.nan)
    ws = 2 * half + 1
    wide = half + max_shift
    w = 2 * wide + 1
    tmpl = np.zeros(ws)
    own = np.zeros(w)
    sc = np.empty(2 * max_shift + 1)
    xab = np.empty(2 * max_shift + 1)  # cross sums and sums of squares per shift
    xaa = np.empty(2 * max_shift + 1)
    for direction in range(2):
        for ri in range(nr):
            r = ri if direction == 0 else nr - 1 - ri
            a = run_start[r]
            b = run_start[r + 1]
            if b - a < 2 or done[r] or not usable[r]:
                continue
            # the template: the nearest timed beats on this pass's side of the run
            edge = t[a] if direction == 0 else t[b - 1]
            tmpl[:] = 0.0
            nt = 0
            rr = r - 1 if direction == 0 else r + 1
            while 0 <= rr < nr and nt < n_tmpl:
                a2 = run_start[rr]
                b2 = run_start[rr + 1]
                if b2 > a2 and abs(t[b2 - 1 if direction == 0 else a2] - edge) > max_age:
                    break
                if done[rr]:
                    for k in range(b2 - a2):
                        i = b2 - 1 - k if direction == 0 else a2 + k
                        if nt >= n_tmpl or abs(t[i] - edge) > max_age:
                            break
                        c = int(np.floor(t[i] + out[rr] + 0.5))
                        if c - half < 0 or c + half + 1 > n:
                            continue
                        for j in range(ws):
                            tmpl[j] += y[c - half + j]
                        nt += 1
                rr = rr - 1 if direction == 0 else rr + 1
            stt = 0.0
            for j in range(ws):
                stt += tmpl[j] * tmpl[j]
            if nt == 0 or not stt > 0.0:
                continue
            # the run's own average: its beats nearest the template
            own[:] = 0.0
            no = 0
            for k in range(min(n_own, b - a)):
                i = a + k if direction == 0 else b - 1 - k
                c = int(np.floor(t[i] + 0.5))
                if c - wide < 0 or c + wide + 1 > n:
                    continue
                for j in range(w):
                    own[j] += y[c - wide + j]
                no += 1
            if no == 0:
                continue
            m = max(0, min(max_shift, int(np.floor(shift_frac * (t[b - 1] - t[a]) / (b - a - 1)))))
            best = -2.0
            bs = 0
            _shift_sums(own, wide - m - half, 2 * m + 1, tmpl, ws, xab, xaa)
            for si in range(2 * m + 1):
                sab = xab[si]
                saa = xaa[si]
                v = sab / np.sqrt(saa * stt) if saa > 0.0 else 0.0
                sc[si] = v
                if v > best:
                    best = v
                    bs = si
            second = -2.0
            for si in range(2 * m + 1):
                if abs(si - bs) >= sep and sc[si] > second:
                    second = sc[si]
            if best < min_q or best - second < min_margin:
                continue
            frac = 0.0
            if 0 < bs < 2 * m:
                frac = _vertex(sc[bs - 1], sc[bs], sc[bs + 1])
            out[r] = bs - m + frac
            qual[r] = best
            done[r] = True
    return out, qual, done


@njit
def _centred_sums(
    y: np.ndarray, b0: int, nl: int, ca: np.ndarray, w: int, sab: np.ndarray, sbb: np.ndarray
) -> None:
    """For each lag ``li < nl``, with ``v = y[b0+li : b0+li+w] - mean``: ``sab[li] =
    sum(ca[:w] * v)`` and ``sbb[li] = sum(v ** 2)``.

    The mean and both sums are taken in index order, one term at a time (the plain
    sequential loops, so every value is theirs to the last bit); four lags are summed
    side by side so that their additions overlap instead of waiting on each other.
    """
    li = 0
    while li + 4 <= nl:
        yb = y[b0 + li : b0 + li + w + 3]  # a slice: plain loads (no index checks)
        m0 = 0.0
        m1 = 0.0
        m2 = 0.0
        m3 = 0.0
        for i in range(w):
            m0 += yb[i]
            m1 += yb[i + 1]
            m2 += yb[i + 2]
            m3 += yb[i + 3]
        m0 = m0 / w
        m1 = m1 / w
        m2 = m2 / w
        m3 = m3 / w
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        q0 = 0.0
        q1 = 0.0
        q2 = 0.0
        q3 = 0.0
        for i in range(w):
            c = ca[i]
            v0 = yb[i] - m0
            v1 = yb[i + 1] - m1
            v2 = yb[i + 2] - m2
            v3 = yb[i + 3] - m3
            s0 += c * v0
            s1 += c * v1
            s2 += c * v2
            s3 += c * v3
            q0 += v0 * v0
            q1 += v1 * v1
            q2 += v2 * v2
            q3 += v3 * v3
        sab[li] = s0
        sab[li + 1] = s1
        sab[li + 2] = s2
        sab[li + 3] = s3
        sbb[li] = q0
        sbb[li + 1] = q1
        sbb[li + 2] = q2
        sbb[li + 3] = q3
        li += 4
    while li < nl:
        b = b0 + li
        m0 = 0.0
        for i in range(w):
            m0 += y[b + i]
        m0 = m0 / w
        s0 = 0.0
        q0 = 0.0
        for i in range(w):
            v0 = y[b + i] - m0
            s0 += ca[i] * v0
            q0 += v0 * v0
        sab[li] = s0
        sbb[li] = q0
        li += 1


@njit
def _fiducial_pairs(
    y: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    before: int,
    after: int,
    max_lag: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Align the beat at each ``second`` time with the beat at the matching ``first``.

    For each pair (times in samples), the window ``y[a - before : a + after]`` with ``a
    = round(first)`` is correlated (Pearson) with the windows of the same length
    starting ``before`` samples before ``round(second) + lag`` for every integer lag
    within ``+-max_lag``. Returns ``(lag, ncc)``: the best lag refined by a parabola
    and its correlation; NaN for a pair whose windows leave the signal or are flat.
    """
    n = y.shape[0]
    m = first.shape[0]
    w = before + after
    lag = np.full(m, np.nan)
    ncc = np.full(m, np.nan)
    sc = np.empty(2 * max_lag + 1)
    xab = np.empty(2 * max_lag + 1)  # cross sums and centred sums of squares per lag
    xbb = np.empty(2 * max_lag + 1)
    ca = np.empty(w)
    for p in range(m):
        a0 = int(np.floor(first[p] + 0.5)) - before
        b0 = int(np.floor(second[p] + 0.5)) - before - max_lag
        if a0 < 0 or a0 + w > n or b0 < 0 or b0 + w + 2 * max_lag > n:
            continue
        sa = 0.0
        for i in range(w):
            sa += y[a0 + i]
        for i in range(w):
            ca[i] = y[a0 + i] - sa / w
        saa = 0.0
        for i in range(w):
            saa += ca[i] * ca[i]
        if not saa > 0.0:
            continue
        best = -2.0
        bi = -1
        _centred_sums(y, b0, 2 * max_lag + 1, ca, w, xab, xbb)
        for li in range(2 * max_lag + 1):
            sab = xab[li]
            sbb = xbb[li]
            v = sab / np.sqrt(saa * sbb) if sbb > 0.0 else np.nan
            sc[li] = v
            if v > best:
                best = v
                bi = li
        if bi < 0:
            continue
        frac = 0.0
        if 0 < bi < 2 * max_lag:
            frac = _vertex(sc[bi - 1], sc[bi], sc[bi + 1])
        lag[p] = bi - max_lag + frac
        ncc[p] = best
    return lag, ncc


@njit
def _hidden_beat(
    x: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    before: int,
    after: int,
    lo_frac: float,
    hi_frac: float,
    step: int,
    min_gap: int,
    coarse: int,
) -> np.ndarray:
    """Best correlation of each interval's first beat inside the interval.

    For interval ``i`` from sample ``first[i]`` to ``second[i]``, the window
    ``x[first-before : first+after]`` is correlated (Pearson) with the windows starting
    ``before`` samples ahead of positions ``p`` on the grid of every ``step``-th sample
    in ``[first + lo_frac * L, first + hi_frac * L]`` (``L = second - first``), keeping
    at least ``min_gap`` samples from both ends (a beat closer than that is not a
    heartbeat) and the windows inside the signal. A high value means that a beat may
    hide inside the interval (the interval would span a missed beat).

    Coarse to fine: every ``coarse``-th grid position (counted from the first whose
    window lies inside the signal) is tried first, then the grid positions less than
    ``coarse`` grid steps from the best of them; the result is the best correlation of
    all the positions tried (``coarse=1``: every grid position). NaN when no position
    fits, every coarse window is flat, or the first window is flat.
    """
    n = x.shape[0]
    m = first.shape[0]
    out = np.full(m, np.nan)
    w = before + after
    a = np.empty(w)
    c = max(1, coarse)
    for i in range(m):
        a0 = first[i] - before
        if a0 < 0 or a0 + w > n:
            continue
        va = _centre_window(x, a0, w, a)
        if va <= 0.0:
            continue
        span = second[i] - first[i]
        p_lo = first[i] + max(int(lo_frac * span), min_gap)
        p_hi = first[i] + min(int(hi_frac * span), span - min_gap)
        best = np.nan
        # positions whose window lies inside the signal: k0 <= k < k1 (b0 grows with k)
        npos = (p_hi - p_lo) // step + 1 if p_hi >= p_lo else 0
        k0 = 0
        while k0 < npos and p_lo + k0 * step - before < 0:
            k0 += 1
        k1 = npos
        while k1 > k0 and p_lo + (k1 - 1) * step - before + w > n:
            k1 -= 1
        sb = 0.0
        sbb = 0.0
        prev = -1  # start of the window whose sums sb, sbb hold; -1: none
        kc = -1  # the best coarse position
        for kk in range(k0, k1, c):
            b0 = p_lo + kk * step - before
            sb, sbb = _slid_sums(x, prev, b0, w, sb, sbb)
            prev = b0
            vb = sbb - sb * sb / w
            if vb <= 1e-12 * sbb or vb <= 0.0:
                continue
            r = _dot(a, x[b0 : b0 + w], w) / np.sqrt(va * vb)
            if r != r:  # NaN (non-finite input): never a best
                continue
            if not (r <= best):  # also replaces the initial NaN
                best = r
                kc = kk
        if c > 1 and kc >= 0:  # the grid positions around the coarse best
            prev = -1
            for kk in range(max(k0, kc - c + 1), min(k1, kc + c)):
                b0 = p_lo + kk * step - before
                sb, sbb = _slid_sums(x, prev, b0, w, sb, sbb)
                prev = b0
                if kk == kc:
                    continue
                vb = sbb - sb * sb / w
                if vb <= 1e-12 * sbb or vb <= 0.0:
                    continue
                r = _dot(a, x[b0 : b0 + w], w) / np.sqrt(va * vb)
                if r > best:
                    best = r
        out[i] = best
    return out


@njit
def _recurrence(
    x: np.ndarray,
    at: np.ndarray,
    lo: int,
    hi: np.ndarray,
    sign: int,
    before: int,
    after: int,
    step: int,
    coarse: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Best correlation of each beat's window with the windows ``lo .. hi[i]`` samples
    after it (``sign = 1``) or before it (``sign = -1``).

    Beat ``i``'s window is ``x[at[i]-before : at[i]+after]``; it is correlated (Pearson)
    with the windows of the same size around ``at[i] + sign * p`` for ``p = lo, lo +
    step, ...`` up to ``hi[i]``, those inside the signal. Coarse to fine as
    :func:`_hidden_beat`: every ``coarse``-th of these positions first (counted from the
    first inside the signal), then the positions less than ``coarse`` steps from the
    best of them. NaN when no position fits, every coarse window is flat, or the beat's
    own window is flat or leaves the signal. Returns ``(r, lag)``: the best correlation
    and its ``p`` (samples; -1 where ``r`` is NaN).
    """
    n = x.shape[0]
    m = at.shape[0]
    out = np.full(m, np.nan)
    lag = np.full(m, -1, dtype=np.int64)
    w = before + after
    a = np.empty(w)
    c = max(1, coarse)
    for i in range(m):
        a0 = at[i] - before
        if a0 < 0 or a0 + w > n:
            continue
        va = _centre_window(x, a0, w, a)
        if va <= 0.0:
            continue
        npos = (hi[i] - lo) // step + 1 if hi[i] >= lo else 0
        best = np.nan
        kc = -1
        # the positions whose window lies inside the signal: k0 <= k < k1 (the window
        # start moves monotonically with k)
        k0 = 0
        while k0 < npos:
            b0 = at[i] + sign * (lo + k0 * step) - before
            if b0 >= 0 and b0 + w <= n:
                break
            k0 += 1
        k1 = npos
        while k1 > k0:
            b0 = at[i] + sign * (lo + (k1 - 1) * step) - before
            if b0 >= 0 and b0 + w <= n:
                break
            k1 -= 1
        sb = 0.0
        sbb = 0.0
        prev = -1  # forwards: start of the window whose sums sb, sbb hold (slid on)
        for k in range(k0, k1, c):
            b0 = at[i] + sign * (lo + k * step) - before
            if sign > 0:
                sb, sbb = _slid_sums(x, prev, b0, w, sb, sbb)
                prev = b0
            else:
                sb, sbb = _sums(x, b0, w)
            vb = sbb - sb * sb / w
            if vb <= 1e-12 * sbb or vb <= 0.0:
                continue
            r = _dot(a, x[b0 : b0 + w], w) / np.sqrt(va * vb)
            if r != r:  # NaN (non-finite input): never a best
                continue
            if not (r <= best):  # also replaces the initial NaN
                best = r
                kc = k
        kb = kc
        if c > 1 and kc >= 0:
            for k in range(max(k0, kc - c + 1), min(k1, kc + c)):
                if k == kc:
                    continue
                b0 = at[i] + sign * (lo + k * step) - before
                sb, sbb = _sums(x, b0, w)
                vb = sbb - sb * sb / w
                if vb <= 1e-12 * sbb or vb <= 0.0:
                    continue
                r = _dot(a, x[b0 : b0 + w], w) / np.sqrt(va * vb)
                if r > best:
                    best = r
                    kb = k
        out[i] = best
        if kc >= 0:
            lag[i] = lo + kb * step
    return out, lag


@njit
def _bad_samples(x: np.ndarray, min_flat: int) -> np.ndarray:
    """Samples not to be timed: non-finite, on the signal's rail, or in a flat stretch.

    A sample is bad when it is NaN or infinite; when it equals the finite minimum or
    maximum of ``x`` and its neighbour holds the same value (clipping: two or more
    samples stuck on a rail); or when it belongs to a run of at least ``min_flat``
    identical consecutive samples (a dead or saturated sensor).
    """
    n = x.shape[0]
    bad = np.zeros(n, dtype=np.bool_)
    lo = np.inf
    hi = -np.inf
    for i in range(n):
        v = x[i]
        if np.isfinite(v):
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        else:
            bad[i] = True
    i = 0
    while i < n:
        if not np.isfinite(x[i]):
            i += 1
            continue
        j = i + 1
        while j < n and x[j] == x[i]:
            j += 1
        run = j - i
        if run >= min_flat or (run >= 2 and (x[i] == lo or x[i] == hi)):
            for k in range(i, j):
                bad[k] = True
        i = j
    return bad


@njit
def _bad_runs(x: np.ndarray, min_flat: int) -> tuple[np.ndarray, np.ndarray]:
    """The bad samples of :func:`_bad_samples` as sorted, disjoint half-open runs
    ``[start[i], stop[i])`` (adjacent runs merged), in one pass over ``x`` plus a pass
    over its runs of repeated or non-finite samples."""
    n = x.shape[0]
    # runs of >= 2 equal finite samples and runs of non-finite samples (worst case n/2)
    rs = np.empty(n // 2 + 1, dtype=np.int64)
    rstop = np.empty(n // 2 + 1, dtype=np.int64)
    lo = np.inf
    hi = -np.inf
    m = 0
    i = 0
    while i < n:
        v = x[i]
        if i + 1 < n and x[i + 1] != v and v - v == 0.0:  # a lone finite sample
            if v < lo:
                lo = v
            if v > hi:
                hi = v
            i += 1
            continue
        j = i + 1
        if v - v == 0.0:  # finite
            if v < lo:
                lo = v
            if v > hi:
                hi = v
            while j < n and x[j] == v:
                j += 1
            if j - i >= 2:
                rs[m] = i
                rstop[m] = j
                m += 1
        else:
            while j < n and not np.isfinite(x[j]):
                j += 1
            rs[m] = i
            rstop[m] = j
            m += 1
        i = j
    start = np.empty(m, dtype=np.int64)
    stop = np.empty(m, dtype=np.int64)
    nb = 0
    for r in range(m):
        v = x[rs[r]]
        if v - v == 0.0 and rstop[r] - rs[r] < min_flat and v != lo and v != hi:
            continue
        if nb > 0 and stop[nb - 1] == rs[r]:
            stop[nb - 1] = rstop[r]
        else:
            start[nb] = rs[r]
            stop[nb] = rstop[r]
            nb += 1
    return start[:nb], stop[:nb]


@njit
def _equal_runs(
    x: np.ndarray, eq: np.ndarray, lo: float, hi: float, min_flat: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_bad_runs` of an all-finite ``x`` from its equal neighbours.

    ``eq`` holds, in increasing order, every ``i`` with ``x[i + 1] == x[i]`` (numpy
    finds them in SIMD passes); ``lo`` and ``hi`` are the minimum and maximum of
    ``x``. The runs of equal samples are read off ``eq`` (consecutive indices are one
    run), so the night's samples are not walked one by one. Returns the same runs as
    :func:`_bad_runs` when ``x`` holds no NaN or infinity (the caller's condition).
    """
    m = eq.shape[0]
    start = np.empty(m, dtype=np.int64)
    stop = np.empty(m, dtype=np.int64)
    nb = 0
    r = 0
    while r < m:
        i0 = eq[r]
        e = r + 1
        while e < m and eq[e] == eq[e - 1] + 1:
            e += 1
        rs = i0  # the run of equal samples is x[i0 : eq[e - 1] + 2]
        rstop = eq[e - 1] + 2
        r = e
        v = x[rs]
        if rstop - rs < min_flat and v != lo and v != hi:
            continue
        if nb > 0 and stop[nb - 1] == rs:
            stop[nb - 1] = rstop
        else:
            start[nb] = rs
            stop[nb] = rstop
            nb += 1
    return start[:nb], stop[:nb]


@njit(fastmath=REASSOC_MATH)
def _front_end(
    x: np.ndarray,
    centre: float,
    sos: np.ndarray,
    bad_start: np.ndarray,
    bad_stop: np.ndarray,
    q: int,
    lanes: int,
    warm: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Centre, blank and band-pass ``x``: ``y = sosfilt(sos, where(bad, 0, x - centre))``,
    and the sum of ``y**2`` over each block of ``q`` samples (incomplete last block
    dropped).

    ``x`` is float32 or float64 (values taken as float64); the bad samples are the
    half-open runs ``[bad_start[i], bad_stop[i])`` (sorted, disjoint). The filter is
    the recursion of ``scipy.signal.sosfilt`` (direct form II transposed, zero initial
    state; ``sos`` is ``(n_sections, 6)`` with ``a0 = 1``) with the multiply-adds fused
    (:data:`~sleepsignal._numba.REASSOC_MATH`).

    The recursion is serial, so the signal is cut into ``lanes`` chunks (lengths a
    multiple of ``q``) filtered side by side, one SIMD lane each (the lane loop is the
    innermost loop, over a tile of samples transposed into lane order). Each chunk is
    started ``warm`` samples early from a zero state: the error of that state decays
    like the slowest pole, ``|p|**warm``, so with ``warm`` long enough (the caller's
    :func:`~sleepsignal.heartbeats._warm_up`: ``|p|**warm <= 1e-20``) the result
    equals the serial filter to rounding (measured: 2.5e-16 of the signal's largest
    value on an 8 h night). A chunk that the warm-up reaches back to the start (the
    first, and every chunk of a signal shorter than ``warm``) runs from sample 0 and
    is the serial filter itself; ``warm < 0`` (no warm-up is enough) runs one lane.
    The block sums are taken from each tile while it is in cache, so ``y`` is not read
    again for the envelope; for ``q = 2`` (140 Hz) by one expression per block, which
    the compiler runs on several blocks at once (the loop over a block's samples ran
    one block at a time: 4 of the kernel's ~21 ms on an 8 h night). Its value is the
    loop's to the last bit as compiled here (the loop's two multiply-adds fuse the
    same way; identical on every block of the snapshot nights), though with
    :data:`~sleepsignal._numba.REASSOC_MATH` either is the compiler's rounding.

    Returns ``(y, block_sums)``.
    """
    n = x.shape[0]
    ns = sos.shape[0]
    y = np.empty(n)
    nb = n // q
    eb = np.empty(nb)
    nl = max(1, lanes) if warm >= 0 else 1  # warm < 0: no warm-up is enough, one lane
    warm = ((max(0, warm) + q - 1) // q) * q  # a chunk's blocks stay whole
    chunk = ((n + nl - 1) // nl + q - 1) // q * q
    steps = chunk + warm
    tile = q * max(1, 128 // q)  # samples per lane and tile (a multiple of q)
    buf = np.empty(tile * nl)  # buf[i * nl + j]: step i of lane j
    z = np.zeros(2 * ns * nl)  # the two states of each section, per lane
    nbad = bad_start.shape[0]
    nxt = np.zeros(nl, dtype=np.int64)  # per lane: first bad run not yet passed
    base = np.zeros(nl, dtype=np.int64)  # per lane: the sample of the tile's first step
    for t0 in range(0, steps, tile):
        tn = min(tile, steps - t0)
        inside = True
        for j in range(nl):
            s = j * chunk - warm + t0
            base[j] = s
            if s < 0 or s + tn > n:
                inside = False
        if inside:  # the common case: no lane leaves the signal
            for j in range(nl):  # each lane's samples read in order (not a gather per step)
                xs = x[base[j] : base[j] + tn]
                for i in range(tn):
                    buf[i * nl + j] = np.float64(xs[i]) - centre
        else:
            for j in range(nl):
                s = base[j]
                i0 = min(max(0, -s), tn)
                i1 = max(min(tn, n - s), i0)
                for i in range(i0):
                    buf[i * nl + j] = 0.0
                for i in range(i0, i1):
                    buf[i * nl + j] = np.float64(x[s + i]) - centre
                for i in range(i1, tn):
                    buf[i * nl + j] = 0.0
        for j in range(nl):
            s = base[j]
            p = nxt[j]
            while p < nbad and bad_stop[p] <= s:
                p += 1
            while p < nbad and bad_start[p] < s + tn:
                for k in range(max(bad_start[p], s), min(bad_stop[p], s + tn)):
                    buf[(k - s) * nl + j] = 0.0
                if bad_stop[p] > s + tn:
                    break
                p += 1
            nxt[j] = p
        for i in range(tn):
            r = i * nl
            for sec in range(ns):
                b0 = sos[sec, 0]
                b1 = sos[sec, 1]
                b2 = sos[sec, 2]
                a1 = sos[sec, 4]
                a2 = sos[sec, 5]
                za = 2 * sec * nl
                zb = za + nl
                for j in range(nl):  # vectorised: lanes are independent
                    u = buf[r + j]
                    v = b0 * u + z[za + j]
                    z[za + j] = b1 * u - a1 * v + z[zb + j]
                    z[zb + j] = b2 * u - a2 * v
                    buf[r + j] = v
        for j in range(nl):  # the lane's own samples back in time order, and block sums
            s = base[j]
            lo = max(j * chunk, s, 0)
            hi = min((j + 1) * chunk, n, s + tn)
            ys = y[lo:hi]  # views with unit and lane strides: no index arithmetic per sample
            bj = buf[(lo - s) * nl + j :]
            for k in range(hi - lo):
                ys[k] = bj[k * nl]
            if q == 2:  # 140 Hz: the blocks side by side in SIMD lanes (a fixed body)
                for b in range(lo // 2, min(hi // 2, nb)):
                    eb[b] = y[2 * b + 1] * y[2 * b + 1] + y[2 * b] * y[2 * b]
            else:
                for b in range(lo // q, min(hi // q, nb)):
                    e = 0.0
                    for k in range(b * q, b * q + q):
                        e += y[k] * y[k]
                    eb[b] = e
    return y, eb


@njit
def _solve_tridiagonal(off: np.ndarray, diag: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the symmetric tridiagonal system ``A t = rhs`` with ``A[i, i] = diag[i]``
    and ``A[i, i+1] = A[i+1, i] = off[i]`` (``off`` has ``n - 1`` entries).

    Thomas algorithm (Gaussian elimination without pivoting): exact in exact arithmetic
    and stable when ``A`` is diagonally dominant, as the beat-time system is.
    """
    n = diag.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    c = np.empty(n)  # modified upper diagonal
    d = np.empty(n)  # modified right-hand side
    piv = diag[0]
    c[0] = off[0] / piv if n > 1 else 0.0
    d[0] = rhs[0] / piv
    for i in range(1, n):
        piv = diag[i] - off[i - 1] * c[i - 1]
        c[i] = off[i] / piv if i < n - 1 else 0.0
        d[i] = (rhs[i] - off[i - 1] * d[i - 1]) / piv
    out[n - 1] = d[n - 1]
    for i in range(n - 2, -1, -1):
        out[i] = d[i] - c[i] * out[i + 1]
    return out


@njit
def _envelope(eb: np.ndarray, size: int) -> np.ndarray:
    """Energy over ``size`` blocks around each block, from the block sums ``eb``.

    ``out[b]`` is the sum of ``eb`` over the blocks ``b - size // 2`` to
    ``b + (size - 1) // 2`` (blocks outside count as 0): a running sum updated by
    ``entering - leaving``. The detector uses :func:`_envelope_peaks`, which makes the
    same values without keeping them; this kernel is its reference in the tests.
    """
    nb = eb.shape[0]
    out = np.empty(nb)
    if nb == 0:
        return out
    s1 = size // 2
    tmp = 0.0
    for k in range(min(nb, size - s1)):  # blocks 0 .. size - s1 - 1: the first window
        tmp += eb[k]
    out[0] = tmp
    for k in range(nb - 1):
        b_in = k + size - s1
        b_out = k - s1
        vin = eb[b_in] if b_in < nb else 0.0
        vout = eb[b_out] if b_out >= 0 else 0.0
        tmp += vin - vout
        out[k + 1] = tmp
    return out


@njit
def _envelope_peaks(eb: np.ndarray, size: int, half: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_candidate_peaks` of :func:`_envelope` ``(eb, size)``, and the envelope at
    each peak, without the night's envelope in memory.

    The envelope is made by the same running sum as :func:`_envelope` (the same values,
    bit for bit) into a buffer of 4096 blocks plus ``half`` blocks on either side, and
    the peaks of each buffer's middle are found there: whether a block is a peak depends
    only on the envelope within ``half`` blocks of it, which the buffer holds. Returns
    ``(peaks, env_at_peaks)``.
    """
    nb = eb.shape[0]
    h = max(0, half)
    chunk = 4096
    out = np.empty(nb // (h + 1) + 1, dtype=np.int64)  # peaks lie > half blocks apart
    env_at = np.empty(out.shape[0])
    m = 0
    if nb == 0:
        return out[:0], env_at[:0]
    buf = np.empty(chunk + 2 * h)
    s1 = size // 2
    tmp = 0.0
    for k in range(min(nb, size - s1)):  # the first window, as in _envelope
        tmp += eb[k]
    made = 0  # envelope blocks made so far (block `made - 1` holds `tmp`)
    lo_prev = 0  # buf[i] holds block lo_prev + i, for the blocks made
    c0 = 0
    while c0 < nb:
        c1 = min(nb, c0 + chunk)
        lo = max(0, c0 - h)
        hi = min(nb, c1 + h)
        for b in range(lo, made):  # blocks kept from the previous buffer (the overlap)
            buf[b - lo] = buf[b - lo_prev]
        for b in range(max(made, lo), hi):
            if b > 0:  # _envelope's step from out[b - 1] to out[b]
                b_in = b - 1 + size - s1
                b_out = b - 1 - s1
                vin = eb[b_in] if b_in < nb else 0.0
                vout = eb[b_out] if b_out >= 0 else 0.0
                tmp += vin - vout
            buf[b - lo] = tmp
        made = hi
        lo_prev = lo
        pk = _candidate_peaks(buf[: hi - lo], half)
        for p in pk:
            if c0 <= p + lo < c1:
                out[m] = p + lo
                env_at[m] = buf[p]
                m += 1
        c0 = c1
    return out[:m], env_at[:m]


@njit
def _local_template_ncc(
    y: np.ndarray, start: np.ndarray, need: np.ndarray, half: int, w: int
) -> np.ndarray:
    """Pearson correlation of each needed beat with the sum of its neighbours.

    Beat ``i`` is the window ``y[start[i] : start[i] + w]``; its local template is the
    sum of the windows of beats ``i - half .. i + half`` other than ``i`` (beats whose
    window lies inside ``y``), kept as a running sum over the needed beats (rebuilt
    when the next needed beat's neighbourhood does not overlap the last one). NaN where
    ``need`` is False, the beat's window leaves ``y``, is flat, fewer than 2 neighbours
    count, or the template is flat.
    """
    n = y.shape[0]
    m = start.shape[0]
    out = np.full(m, np.nan)
    s = np.zeros(w)
    cnt = 0
    lo = 0  # beats lo .. hi - 1 are in the running sum (those inside y)
    hi = 0
    for i in range(m):
        if not need[i]:
            continue
        if i - half >= hi:  # no overlap: start afresh
            s[:] = 0.0
            cnt = 0
            lo = i - half
            hi = i - half
        while hi < m and hi <= i + half:
            b = start[hi]
            if hi >= 0 and b >= 0 and b + w <= n:
                for j in range(w):
                    s[j] += y[b + j]
                cnt += 1
            hi += 1
        while lo < i - half:
            b = start[lo]
            if lo >= 0 and b >= 0 and b + w <= n:
                for j in range(w):
                    s[j] -= y[b + j]
                cnt -= 1
            lo += 1
        a0 = start[i]
        if a0 < 0 or a0 + w > n or cnt - 1 < 2:
            continue
        sa = 0.0
        saa = 0.0
        st = 0.0
        stt = 0.0
        sat = 0.0
        for j in range(w):
            a = y[a0 + j]
            tj = s[j] - a
            sa += a
            saa += a * a
            st += tj
            stt += tj * tj
            sat += a * tj
        va = saa - sa * sa / w
        vt = stt - st * st / w
        if va <= 1e-12 * saa or vt <= 1e-12 * stt or va <= 0.0 or vt <= 0.0:
            continue
        out[i] = (sat - sa * st / w) / np.sqrt(va * vt)
    return out
