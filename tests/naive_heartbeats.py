"""Slow, obviously correct references of the heartbeat kernels, and the interval scorer.

Each ``naive_*`` function computes what the matching kernel in
``sleepsignal._heartbeat_kernels`` computes, with plain loops and numpy, for the
equality tests. :func:`score_intervals` and :func:`score_heart_rate` are the scoring
rules shared by the tests and ``benchmarks/accuracy_heartbeats.py``.
"""

from __future__ import annotations

import numpy as np


def naive_candidate_peaks(env: np.ndarray, half: int) -> np.ndarray:
    out = []
    n = len(env)
    for i in range(n):
        if not np.isfinite(env[i]) or env[i] <= 0:
            continue
        lo, hi = max(0, i - half), min(n, i + half + 1)
        w = np.where(np.isfinite(env[lo:hi]), env[lo:hi], -np.inf)
        if np.argmax(w) + lo == i:  # argmax: the first of equal maxima
            out.append(i)
    return np.array(out, dtype=np.int64)


def naive_pair_alignment(
    x, cand, bad, max_skip, before, after, max_lag, good_enough, step, min_iv, max_iv
):
    nc = len(cand)
    lag = np.full((nc, max_skip), np.nan)
    ncc = np.full((nc, max_skip), np.nan)
    n = len(x)
    w = before + after

    def corr(a, b0):
        b = x[b0 : b0 + w]
        if np.var(b) <= 1e-12 * np.mean(b * b) or np.var(b) <= 0:
            return np.nan
        return float(np.corrcoef(a, b)[0, 1])

    for k in range(nc):
        a0 = cand[k] - before
        if a0 < 0 or a0 + w > n or bad[k]:
            continue
        a = x[a0 : a0 + w]
        if np.var(a) <= 0:
            continue
        for d in range(1, max_skip + 1):
            # once a nearer pair matches at good_enough, no farther one is tried
            if k + d >= nc or (d > 1 and np.nanmax(np.append(ncc[k, : d - 1], -2)) >= good_enough):
                break
            # a candidate no lag can put inside the allowed intervals: skipped (the next
            # candidate only when too close: a long pair still counts for good_enough)
            span = cand[k + d] - cand[k]
            if span + max_lag < min_iv or (d > 1 and span - max_lag > max_iv):
                continue
            if bad[k + d]:
                continue
            b0 = cand[k + d] - before - max_lag
            if b0 < 0 or b0 + w + 2 * max_lag > n:
                continue
            nl = 2 * max_lag + 1
            r = np.full(nl, np.nan)
            coarse = list(range(0, nl, step))
            for li in coarse:
                r[li] = corr(a, b0 + li)
            if np.all(np.isnan(r)):
                continue
            bi = int(np.nanargmax(r))
            s = step
            while s > 1:  # +-ceil(s / 2) around the best so far, down to +-1
                s = (s + 1) // 2
                c0 = bi
                for li in (c0 - s, c0 + s):
                    if 0 <= li < nl and np.isnan(r[li]):
                        r[li] = corr(a, b0 + li)
                bi = int(np.nanargmax(r))
            for li in (bi - 1, bi + 1):
                if 0 <= li < nl:
                    r[li] = corr(a, b0 + li)
            frac = 0.0
            if 0 < bi < nl - 1:
                den = r[bi - 1] - 2 * r[bi] + r[bi + 1]
                if den < 0:
                    frac = 0.5 * (r[bi - 1] - r[bi + 1]) / den
            lag[k, d - 1] = bi - max_lag + frac
            ncc[k, d - 1] = r[bi]
    return lag, ncc


def naive_nearest_good_interval(cand, lag, ncc, min_interval, max_interval, margin, min_best):
    """Per candidate: the interval to the nearest next candidate whose match is within
    ``margin`` of the best in-range match (``lag``, ``ncc``: ``(n, max_skip)``)."""
    nc, max_skip = ncc.shape
    out = np.full(nc, np.nan)
    for k in range(nc):
        ivs = [(cand[min(k + d, nc - 1)] - cand[k]) + lag[k, d - 1] for d in range(1, max_skip + 1)]
        ok = [
            bool(np.isfinite(ncc[k, d]) and min_interval <= ivs[d] <= max_interval)
            for d in range(max_skip)
        ]
        if not any(ok):
            continue
        best = max(ncc[k, d] for d in range(max_skip) if ok[d])
        if best < min_best:
            continue
        out[k] = next(ivs[d] for d in range(max_skip) if ok[d] and ncc[k, d] >= best - margin)
    return out


def naive_local_median(t, v, tq, half_window):
    out = np.full(len(tq), np.nan)
    for i, q in enumerate(tq):
        w = v[(np.abs(t - q) <= half_window) & np.isfinite(v)]
        if len(w):
            out[i] = np.median(w)
    return out


def naive_interp_grid(grid, mg, tq, step):
    """Linear interpolation between the grid points around each time (clipped), falling
    back to the finite one of the two."""
    g = len(grid)
    idx = np.clip(np.searchsorted(grid, tq) - 1, 0, g - 1)
    idx2 = np.minimum(idx + 1, g - 1)
    f = np.clip((tq - grid[idx]) / step, 0.0, 1.0)
    a, b = mg[idx], mg[idx2]
    both = np.isfinite(a) & np.isfinite(b)
    return np.where(both, a + f * (b - a), np.where(np.isfinite(a), a, b))


def naive_best_chain(
    cand, lag, ncc, med, min_interval, max_interval, floor, dev_weight, break_cost=0.0, unit=0.0
):
    """Exhaustive dynamic programme written from the definition (same tie rules): a
    candidate is reached by an edge (its score times ``interval / unit`` when ``unit >
    0``), by a break from the best earlier candidate (its score less ``break_cost``) or
    by a fresh start (score 0)."""
    nc = len(cand)
    max_skip = lag.shape[1]
    score = [0.0] * nc
    back = [-1] * nc
    brk = [-1] * nc
    best_i, best_s = -1, 0.0
    for k in range(nc):
        start = (best_s - break_cost, best_i) if best_s - break_cost >= 0 else (0.0, -1)
        options = [(start[0], -1)]
        for d in range(1, max_skip + 1):
            p = k - d
            if p < 0:
                break
            q = ncc[p, d - 1]
            if np.isnan(q):
                continue
            iv = cand[k] - cand[p] + lag[p, d - 1]
            if not (min_interval <= iv <= max_interval):
                continue
            dev = abs(iv / med[p] - 1) if np.isfinite(med[p]) and med[p] > 0 else 0.0
            w = q - floor - dev_weight * dev
            if w > 0:
                if unit > 0:
                    w = w * (iv / unit)
                options.append((score[p] + w, p))
        s, b = options[0]
        for s2, b2 in options[1:]:
            if s2 > s:
                s, b = s2, b2
        score[k], back[k], brk[k] = s, b, start[1]
        if s > best_s:
            best_s, best_i = s, k
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


def _parabola(v: np.ndarray, i: int) -> float:
    if 0 < i < len(v) - 1:
        den = v[i - 1] - 2 * v[i] + v[i + 1]
        if den < 0:
            return 0.5 * (v[i - 1] - v[i + 1]) / den
    return 0.0


def naive_run_fiducial(y, t, run_start, left, right, max_shift, ref=-1):
    nr = len(run_start) - 1
    w = left + right + 1
    avgs, counts = [], []
    for r in range(nr):
        rows = []
        for b in range(run_start[r], run_start[r + 1]):
            c = int(np.floor(t[b] + 0.5))
            if c - left >= 0 and c + right + 1 <= len(y):
                rows.append(y[c - left : c + right + 1])
        avgs.append(np.sum(rows, axis=0) if rows else np.zeros(w))
        counts.append(len(rows))
    out = np.zeros(nr)
    quality = np.zeros(nr)
    if nr == 0 or max(counts) == 0:
        return out, quality

    def align(r, ref):
        sc = []
        for sh in range(-max_shift, max_shift + 1):
            i = np.arange(w)
            j = i + sh
            ok = (j >= 0) & (j < w)
            ra, rr = avgs[r][j[ok]], avgs[ref][i[ok]]
            den = np.sqrt(np.sum(ra * ra) * np.sum(rr * rr))
            sc.append(abs(np.sum(ra * rr)) / den if den > 0 else 0.0)
        sc = np.array(sc)
        bs = int(np.argmax(sc))
        return bs - max_shift + _parabola(sc, bs), sc[bs]

    if not (0 <= ref < nr and counts[ref] > 0):
        ref = int(np.argmax(counts))
    a = np.abs(avgs[ref])
    bi = int(np.argmax(a))
    out[ref] = bi - left + _parabola(a, bi)
    quality[ref] = 1.0
    for r in range(nr):
        if counts[r] > 0 and r != ref:
            sh, quality[r] = align(r, ref)
            out[r] = out[ref] + sh
    return out, quality


def naive_local_fiducial(
    y,
    t,
    run_start,
    shift,
    quality,
    half,
    max_shift,
    shift_frac,
    half_window,
    min_q,
    min_count,
    min_run,
    max_iter,
):
    nr = len(run_start) - 1
    out = np.array(shift, dtype=np.float64)
    qual = np.array(quality, dtype=np.float64)
    wide = half + max_shift
    w = 2 * wide + 1
    avgs, counts, tm, lim = [], [], np.zeros(nr), np.full(nr, max_shift)
    for r in range(nr):
        tt = t[run_start[r] : run_start[r + 1]]
        rows = []
        for c in np.floor(tt + 0.5).astype(int):
            if c - wide >= 0 and c + wide + 1 <= len(y):
                rows.append(y[c - wide : c + wide + 1])
        avgs.append(np.sum(rows, axis=0) if rows else np.zeros(w))
        counts.append(len(rows))
        if len(tt):
            tm[r] = np.mean(tt)
        if len(tt) > 1:
            mean_iv = (tt[-1] - tt[0]) / (len(tt) - 1)
            lim[r] = max(0, min(max_shift, int(np.floor(shift_frac * mean_iv))))
    counts = np.array(counts)
    matched = (counts > 0) & (qual >= min_q)
    k = np.arange(-half, half + 1)

    def segment(r):
        # the run's average beat around its fiducial, unit RMS x beats, fiducial lobe up
        pos = wide + out[r] + k
        i0 = np.clip(np.floor(pos).astype(int), 0, w - 2)
        f = pos - i0
        v = avgs[r][i0] * (1 - f) + avgs[r][i0 + 1] * f
        rms = np.sqrt(np.mean(v * v))
        g = counts[r] / rms if rms > 0 else 0.0
        return -g * v if v[half] < 0 else g * v

    for _ in range(max_iter):
        segs = {r: segment(r) for r in range(nr) if matched[r]}
        newly = np.zeros(nr, dtype=bool)
        for r in range(nr):
            if matched[r] or counts[r] == 0 or counts[r] < min_run:
                continue
            near = [
                j for j in segs if j != r and tm[r] - half_window <= tm[j] <= tm[r] + half_window
            ]
            if sum(counts[j] for j in near) < min_count:
                continue
            tmpl = np.zeros(2 * half + 1)
            for j in near:
                tmpl = tmpl + segs[j]
            if np.sum(tmpl * tmpl) <= 0:
                continue
            m = lim[r]
            sc = []
            for s in range(-m, m + 1):
                a = avgs[r][wide + s - half : wide + s + half + 1]
                den = np.sqrt(np.sum(a * a) * np.sum(tmpl * tmpl))
                sc.append(abs(np.sum(a * tmpl)) / den if den > 0 else 0.0)
            sc = np.array(sc)
            bs = int(np.argmax(sc))
            out[r] = bs - m + _parabola(sc, bs)
            qual[r] = sc[bs]
            newly[r] = sc[bs] >= min_q
        if not newly.any():
            break
        matched |= newly
    return out, qual


def naive_template_fiducial(
    y,
    t,
    run_start,
    shift,
    timed,
    usable,
    half,
    max_shift,
    shift_frac,
    n_own,
    n_tmpl,
    max_age,
    min_q,
    sep,
    min_margin,
):
    nr = len(run_start) - 1
    out = np.array(shift, dtype=np.float64)
    done = np.array(timed, dtype=bool)
    qual = np.full(nr, np.nan)
    wide = half + max_shift

    def window(c, h):
        c = int(np.floor(c + 0.5))
        return y[c - h : c + h + 1] if c - h >= 0 and c + h + 1 <= len(y) else None

    for forward in (True, False):
        for r in range(nr) if forward else range(nr - 1, -1, -1):
            tt = t[run_start[r] : run_start[r + 1]]
            if len(tt) < 2 or done[r] or not usable[r]:
                continue
            edge = tt[0] if forward else tt[-1]
            # the nearest timed beats on this side, none beyond max_age; the search
            # stops at the first run whose nearest beat is beyond it
            rows = []
            others = range(r - 1, -1, -1) if forward else range(r + 1, nr)
            for j in others:
                tj = t[run_start[j] : run_start[j + 1]]
                if len(tj) and abs((tj[-1] if forward else tj[0]) - edge) > max_age:
                    break
                if not done[j]:
                    continue
                for tb in tj[::-1] if forward else tj:
                    if len(rows) >= n_tmpl or abs(tb - edge) > max_age:
                        break
                    win = window(tb + out[j], half)
                    if win is not None:
                        rows.append(win)
                if len(rows) >= n_tmpl:
                    break
            if not rows:
                continue
            tmpl = np.sum(rows, axis=0)
            if not np.sum(tmpl * tmpl) > 0:
                continue
            mine = tt[:n_own] if forward else tt[::-1][:n_own]
            own = [win for c in mine if (win := window(c, wide)) is not None]
            if not own:
                continue
            own = np.sum(own, axis=0)
            m = max(0, min(max_shift, int(np.floor(shift_frac * (tt[-1] - tt[0]) / (len(tt) - 1)))))
            sc = []
            for s in range(-m, m + 1):
                a = own[wide + s - half : wide + s + half + 1]
                den = np.sqrt(np.sum(a * a) * np.sum(tmpl * tmpl))
                sc.append(np.sum(a * tmpl) / den if den > 0 else 0.0)
            sc = np.array(sc)
            bs = int(np.argmax(sc))
            far = np.abs(np.arange(len(sc)) - bs) >= sep
            second = sc[far].max() if far.any() else -2.0
            if sc[bs] < min_q or sc[bs] - second < min_margin:
                continue
            out[r] = bs - m + _parabola(sc, bs)
            qual[r] = sc[bs]
            done[r] = True
    return out, qual, done


def naive_fiducial_pairs(y, first, second, before, after, max_lag):
    lag = np.full(len(first), np.nan)
    ncc = np.full(len(first), np.nan)
    w = before + after
    for p in range(len(first)):
        a0 = int(np.floor(first[p] + 0.5)) - before
        b0 = int(np.floor(second[p] + 0.5)) - before - max_lag
        if a0 < 0 or a0 + w > len(y) or b0 < 0 or b0 + w + 2 * max_lag > len(y):
            continue
        a = y[a0 : a0 + w] - np.mean(y[a0 : a0 + w])
        if not np.sum(a * a) > 0:
            continue
        sc = np.full(2 * max_lag + 1, np.nan)
        for li in range(2 * max_lag + 1):
            b = y[b0 + li : b0 + li + w] - np.mean(y[b0 + li : b0 + li + w])
            if np.sum(b * b) > 0:
                sc[li] = np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))
        if np.all(np.isnan(sc)):
            continue
        bi = int(np.nanargmax(sc))
        frac = _parabola(sc, bi) if np.all(np.isfinite(sc[max(0, bi - 1) : bi + 2])) else 0.0
        lag[p] = bi - max_lag + frac
        ncc[p] = sc[bi]
    return lag, ncc


def naive_hidden_beat(x, first, second, before, after, lo_frac, hi_frac, step, min_gap, coarse):
    out = np.full(len(first), np.nan)
    w = before + after
    for i in range(len(first)):
        a0 = first[i] - before
        if a0 < 0 or a0 + w > len(x):
            continue
        a = x[a0 : a0 + w]
        if np.var(a) <= 0:
            continue
        span = second[i] - first[i]
        p_lo = first[i] + max(int(lo_frac * span), min_gap)
        p_hi = first[i] + min(int(hi_frac * span), span - min_gap)
        # the grid positions whose window lies inside the signal
        grid = [p for p in range(p_lo, p_hi + 1, step) if p - before >= 0 and p + after <= len(x)]

        def corr(p, a=a):
            b = x[p - before : p - before + w]
            return np.corrcoef(a, b)[0, 1] if np.var(b) > 1e-12 * np.mean(b * b) else np.nan

        r = np.array([corr(p) if j % coarse == 0 else np.nan for j, p in enumerate(grid)])
        if np.isnan(r).all():
            continue
        jc = int(np.nanargmax(r))  # the coarse best, then every position around it
        for j in range(max(0, jc - coarse + 1), min(len(grid), jc + coarse)):
            r[j] = corr(grid[j])
        out[i] = np.nanmax(r)
    return out


def naive_recurrence(x, at, lo, hi, sign, before, after, step, coarse):
    out = np.full(len(at), np.nan)
    lag = np.full(len(at), -1, dtype=np.int64)
    w = before + after
    for i in range(len(at)):
        a0 = at[i] - before
        if a0 < 0 or a0 + w > len(x):
            continue
        a = x[a0 : a0 + w]
        if np.var(a) <= 0:
            continue
        # the lags whose window lies inside the signal
        lags = [
            p
            for p in range(lo, hi[i] + 1, step)
            if at[i] + sign * p - before >= 0 and at[i] + sign * p + after <= len(x)
        ]

        def corr(p, a=a, i=i):
            b = x[at[i] + sign * p - before : at[i] + sign * p - before + w]
            return np.corrcoef(a, b)[0, 1] if np.var(b) > 1e-12 * np.mean(b * b) else np.nan

        r = np.array([corr(p) if j % coarse == 0 else np.nan for j, p in enumerate(lags)])
        if np.isnan(r).all():
            continue
        jc = int(np.nanargmax(r))  # the coarse best, then every lag around it
        for j in range(max(0, jc - coarse + 1), min(len(lags), jc + coarse)):
            r[j] = corr(lags[j])
        j = int(np.nanargmax(r))
        out[i] = r[j]
        lag[i] = lags[j]
    return out, lag


def naive_local_template_ncc(y, start, need, half, w):
    out = np.full(len(start), np.nan)
    inside = [b >= 0 and b + w <= len(y) for b in start]
    for i in range(len(start)):
        if not (need[i] and inside[i]):
            continue
        nb = [
            j
            for j in range(max(0, i - half), min(len(start), i + half + 1))
            if j != i and inside[j]
        ]
        if len(nb) < 2:
            continue
        a = y[start[i] : start[i] + w]
        tmpl = np.sum([y[start[j] : start[j] + w] for j in nb], axis=0)
        if np.var(a) <= 1e-12 * np.mean(a * a) or np.var(tmpl) <= 1e-12 * np.mean(tmpl * tmpl):
            continue
        out[i] = np.corrcoef(a, tmpl)[0, 1]
    return out


def naive_bad_samples(x, min_flat):
    x = np.asarray(x, dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.all():
        return bad
    lo, hi = np.min(x[~bad]), np.max(x[~bad])
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and np.isfinite(x[i]) and x[j + 1] == x[i]:
            j += 1
        run = j - i + 1
        if np.isfinite(x[i]) and (run >= min_flat or (run >= 2 and x[i] in (lo, hi))):
            bad[i : j + 1] = True
        i = j + 1
    return bad


def naive_bad_runs(x, min_flat):
    """The bad samples of :func:`naive_bad_samples` as half-open runs (start, stop)."""
    bad = np.concatenate(([False], naive_bad_samples(x, min_flat), [False]))
    edges = np.flatnonzero(np.diff(bad.astype(np.int8)))
    return edges[0::2], edges[1::2]


def naive_front_end(x, centre, sos, bad):
    """``scipy.signal.sosfilt`` of the centred signal with the bad samples set to 0."""
    from scipy.signal import sosfilt

    u = np.asarray(x, dtype=np.float64) - centre
    u[bad] = 0.0
    return sosfilt(sos, u)


def naive_block_sums(y, q):
    """Sum of ``y**2`` over each block of ``q`` samples (an incomplete last block dropped)."""
    return np.array(
        [float(np.sum(np.asarray(y[b * q : (b + 1) * q]) ** 2)) for b in range(len(y) // q)],
        dtype=np.float64,
    )


def naive_envelope(eb, size):
    """Sum of ``eb`` over the blocks ``b - size // 2 .. b + (size - 1) // 2``."""
    nb = len(eb)
    s1 = size // 2
    return np.array(
        [sum(eb[j] for j in range(b - s1, b - s1 + size) if 0 <= j < nb) for b in range(nb)],
        dtype=np.float64,
    )


def naive_envelope_peaks(eb, size, half):
    """Peaks of the envelope made as a running sum (``entering - leaving``, the order of
    additions of the kernels, so the same values bit for bit), and the envelope there."""
    nb = len(eb)
    s1 = size // 2
    env = np.empty(nb)
    tmp = 0.0
    for k in range(min(nb, size - s1)):
        tmp += float(eb[k])
    for b in range(nb):
        if b > 0:
            b_in, b_out = b - 1 + size - s1, b - 1 - s1
            tmp += (float(eb[b_in]) if b_in < nb else 0.0) - (
                float(eb[b_out]) if b_out >= 0 else 0.0
            )
        env[b] = tmp
    peaks = naive_candidate_peaks(env, half)
    return peaks, env[peaks]


def naive_solve_tridiagonal(off, diag, rhs):
    a = np.diag(np.asarray(diag, dtype=np.float64))
    a += np.diag(off, 1) + np.diag(off, -1)
    return np.linalg.solve(a, rhs)


# -- scoring ---------------------------------------------------------------------------


def fiducial_lag(beat_times: np.ndarray, ref_beats: np.ndarray) -> float:
    """Median offset of detected beats from their nearest reference beat (s)."""
    if len(beat_times) == 0 or len(ref_beats) < 2:
        return 0.0
    j = np.clip(np.searchsorted(ref_beats, beat_times), 1, len(ref_beats) - 1)
    near = np.where(
        np.abs(beat_times - ref_beats[j - 1]) < np.abs(beat_times - ref_beats[j]),
        ref_beats[j - 1],
        ref_beats[j],
    )
    d = beat_times - near
    return float(np.median(d[np.abs(d) < 0.3])) if np.any(np.abs(d) < 0.3) else 0.0


def score_intervals(
    starts: np.ndarray,
    intervals: np.ndarray,
    beat_times: np.ndarray,
    ref_beats: np.ndarray,
    ref_ok: np.ndarray | None = None,
    tol: float = 0.1,
    lag_window: float | None = None,
) -> dict[str, float]:
    """Score reported intervals against reference beats.

    A reported interval (after removing the median fiducial lag) is correct when its
    start and end both lie within ``tol`` s of two consecutive reference beats.
    With ``lag_window`` (s), the lag removed from each interval is instead the median
    offset of the reported interval starts within +-lag_window/2 of it from their
    nearest reference beats: for beats whose shape drifts, the point of the complex the
    detector times (and so its lag behind the reference) moves over the night.
    Intervals reported outside the reference span are ignored. ``ref_ok`` marks the
    reference intervals a detector can see (coverage denominator); default all.

    Returns ``n`` (reported, inside the span), ``coverage`` (share of visible reference
    intervals matched), ``mae_ms`` (mean absolute interval error of the correct ones),
    ``wrong`` (share of reported intervals that match no reference interval), ``lag``.
    """
    ref = np.asarray(ref_beats, dtype=np.float64)
    if ref_ok is None:
        ref_ok = np.ones(len(ref) - 1, dtype=bool)
    inside = (beat_times >= ref[0] - tol) & (beat_times <= ref[-1] + tol)
    lag = fiducial_lag(beat_times[inside], ref)
    s = np.asarray(starts) - lag
    if lag_window is not None and len(s):
        s0 = np.asarray(starts, dtype=np.float64)
        k = np.clip(np.searchsorted(ref, s0), 1, len(ref) - 1)
        near = np.where(np.abs(s0 - ref[k - 1]) < np.abs(s0 - ref[k]), ref[k - 1], ref[k])
        d = s0 - near
        order = np.argsort(s0, kind="stable")
        so, do = s0[order], d[order]
        lo = np.searchsorted(so, so - lag_window / 2)
        hi = np.searchsorted(so, so + lag_window / 2, side="right")
        local = np.array([np.median(do[a:b]) for a, b in zip(lo, hi, strict=True)])
        s = np.empty_like(s0)
        s[order] = so - local
    iv = np.asarray(intervals)
    e = s + iv
    span = (s >= ref[0] - tol) & (e <= ref[-1] + tol)
    s, e, iv = s[span], e[span], iv[span]
    n = len(s)
    if n == 0:
        return {"n": 0, "coverage": 0.0, "mae_ms": float("nan"), "wrong": float("nan"), "lag": lag}
    j = np.clip(np.searchsorted(ref, s), 1, len(ref) - 1)
    j = np.where(np.abs(s - ref[j - 1]) < np.abs(s - ref[j]), j - 1, j)
    j = np.minimum(j, len(ref) - 2)
    ok = (np.abs(s - ref[j]) < tol) & (np.abs(e - ref[j + 1]) < tol)
    err = np.abs(iv - (ref[j + 1] - ref[j]))[ok]
    hit = np.zeros(len(ref) - 1, dtype=bool)
    hit[j[ok]] = True
    cov = float(np.sum(hit & ref_ok) / max(1, np.sum(ref_ok)))
    return {
        "n": int(n),
        "coverage": cov,
        "mae_ms": float(1000 * err.mean()) if len(err) else float("nan"),
        "wrong": float(1 - ok.mean()),
        "lag": lag,
    }


def score_heart_rate(
    t: np.ndarray,
    bpm: np.ndarray,
    ref_starts: np.ndarray,
    ref_intervals: np.ndarray,
    duration: float,
    window: float = 30.0,
    clean_share: float = 0.9,
    plausible: tuple[float, float] = (60 / 160, 60 / 30),
) -> dict[str, float]:
    """Score windowed heart rate against reference intervals.

    A window is clean when visible reference intervals (midpoint inside) cover at least
    ``clean_share`` of it; its true rate is ``60 / mean(reference intervals)``. Only
    reference intervals within ``plausible`` (s) count: the li2024 chest-strap series
    holds dropouts of several seconds that are not heart periods.
    Returns ``hr_mae`` (bpm, over clean windows with a reading), ``hr_coverage`` (share
    of clean windows with a reading) and ``n_clean``.
    """
    n_win = int(duration // window)
    keep_iv = (ref_intervals >= plausible[0]) & (ref_intervals <= plausible[1])
    ref_starts, ref_intervals = ref_starts[keep_iv], ref_intervals[keep_iv]
    w = np.floor((ref_starts + ref_intervals / 2) / window).astype(int)
    keep = (w >= 0) & (w < n_win)
    tot = np.bincount(w[keep], weights=ref_intervals[keep], minlength=n_win)
    cnt = np.bincount(w[keep], minlength=n_win)
    clean = tot >= clean_share * window
    true = np.where(cnt > 0, 60 * cnt / np.where(tot > 0, tot, 1), np.nan)
    idx = np.round(np.asarray(t) / window).astype(int)
    ok = (idx >= 0) & (idx < n_win)
    idx, b = idx[ok], np.asarray(bpm)[ok]
    sel = clean[idx]
    err = np.abs(b[sel] - true[idx[sel]])
    return {
        "hr_mae": float(err.mean()) if len(err) else float("nan"),
        "hr_coverage": float(sel.sum() / max(1, clean.sum())),
        "n_clean": int(clean.sum()),
    }
