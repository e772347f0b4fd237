"""Numba kernels of the session tracks (breathing, movement, presence, snoring).

Private: the public wrappers in :mod:`sleepsignal.respiration`, :mod:`sleepsignal.activity`,
:mod:`sleepsignal.mains` and :mod:`sleepsignal.snoring` validate and coerce their input;
these kernels take 1-D contiguous arrays and scalars only. Each has a slow, obviously
correct twin in ``tests/naive_tracks.py`` that the tests compare it with.

Only the sequential state machines live here (depth simplification of extrema, burst
hysteresis, run debouncing, run grouping); everything that vectorises stays numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._numba import njit, overload
from ._validate import array_1d, check_fs

__all__: list[str] = []


@njit
def _heap_less(hk: np.ndarray, hi: np.ndarray, hj: np.ndarray, a: int, b: int) -> bool:
    """Heap order of entries ``a`` and ``b``: by key, then ``hi``, then ``hj``."""
    if hk[a] != hk[b]:
        return hk[a] < hk[b]
    if hi[a] != hi[b]:
        return hi[a] < hi[b]
    return hj[a] < hj[b]


@njit
def _heap_swap(hk: np.ndarray, hi: np.ndarray, hj: np.ndarray, a: int, b: int) -> None:
    hk[a], hk[b] = hk[b], hk[a]
    hi[a], hi[b] = hi[b], hi[a]
    hj[a], hj[b] = hj[b], hj[a]


@njit
def _sift_down(hk: np.ndarray, hi: np.ndarray, hj: np.ndarray, c: int, size: int) -> None:
    """Restore the heap below entry ``c`` (the first ``size`` entries are the heap)."""
    while True:
        small = c
        left = 2 * c + 1
        if left < size and _heap_less(hk, hi, hj, left, small):
            small = left
        if left + 1 < size and _heap_less(hk, hi, hj, left + 1, small):
            small = left + 1
        if small == c:
            return
        _heap_swap(hk, hi, hj, c, small)
        c = small


@njit
def _simplify_kernel(x: np.ndarray, thr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extrema of ``x`` left by depth simplification with a per-sample threshold ``thr``.

    1. Every local extremum of ``x`` (the slope changes sign; a flat step takes the
       slope before it, so a plateau is one extremum at its last sample and a flat start
       is none). A NaN sample ends a run: extrema on either side never pair up.
    2. Repeatedly, the adjacent extremum pair (i, j) of one run with the smallest
       ``|x[j] - x[i]|`` (ties: the earlier pair) is removed while that difference is
       below ``0.5 * (thr[i] + thr[j])``; its two neighbours then face each other and are
       compared anew. Pairs at or above their threshold stay.

    This is the count-adv rule of Schafer & Kratky (2008) with a local threshold, as the
    simulator's breathing truth (``_simulate_physio.belt_troughs``). What is left
    alternates peak / trough within a run.

    Returns
    -------
    idx : int64 array
        Sample indices of the extrema left, increasing.
    kind : int8 array
        +1 for a maximum, -1 for a minimum.
    """
    n = x.shape[0]
    ex = np.empty(n, dtype=np.int64)
    kd = np.empty(n, dtype=np.int8)
    seg = np.empty(n, dtype=np.int64)
    m = 0
    run = 0
    slope = 0  # last non-zero slope sign of the current run (0: none yet)
    for i in range(1, n):
        a = x[i - 1]
        b = x[i]
        if np.isnan(a) or np.isnan(b):
            if np.isnan(b):
                run += 1
                slope = 0
            continue
        s = 1 if b > a else (-1 if b < a else 0)
        if s == 0:
            continue
        if slope != 0 and s != slope:
            ex[m] = i - 1
            kd[m] = 1 if slope > 0 else -1
            seg[m] = run
            m += 1
        slope = s
    prv = np.arange(-1, m - 1)
    nxt = np.arange(1, m + 1)
    alive = np.ones(m, dtype=np.bool_)
    # binary min-heap of the pairs below their threshold, keyed by (depth, i, j): a pair
    # at or above its threshold is never removed, so it never needs to be in the heap
    cap = m + m // 2 + 1
    hk = np.empty(cap)
    hi = np.empty(cap, dtype=np.int64)
    hj = np.empty(cap, dtype=np.int64)
    size = 0
    for i in range(m - 1):
        dv = abs(x[ex[i + 1]] - x[ex[i]])
        if seg[i] == seg[i + 1] and dv < 0.5 * (thr[ex[i]] + thr[ex[i + 1]]):
            hk[size] = dv
            hi[size] = i
            hj[size] = i + 1
            size += 1
    for r in range(size // 2 - 1, -1, -1):
        _sift_down(hk, hi, hj, r, size)
    while size > 0:
        i = hi[0]
        j = hj[0]
        size -= 1
        hk[0] = hk[size]
        hi[0] = hi[size]
        hj[0] = hj[size]
        _sift_down(hk, hi, hj, 0, size)
        if not (alive[i] and alive[j] and nxt[i] == j):
            continue  # stale entry
        alive[i] = False
        alive[j] = False
        p = prv[i]
        q = nxt[j]
        if p >= 0:
            nxt[p] = q
        if q < m:
            prv[q] = p
        if p >= 0 and q < m and seg[p] == seg[q]:
            dv = abs(x[ex[q]] - x[ex[p]])
            if dv < 0.5 * (thr[ex[p]] + thr[ex[q]]):
                c = size
                size += 1
                hk[c] = dv
                hi[c] = p
                hj[c] = q
                while c > 0:  # sift up
                    u = (c - 1) // 2
                    if not _heap_less(hk, hi, hj, c, u):
                        break
                    _heap_swap(hk, hi, hj, c, u)
                    c = u
    k = 0
    for i in range(m):
        if alive[i]:
            ex[k] = ex[i]
            kd[k] = kd[i]
            k += 1
    return ex[:k].copy(), kd[:k].copy()


@njit
def _bursts_kernel(
    energy: np.ndarray, on: np.ndarray, off: np.ndarray, min_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bursts of ``energy`` by hysteresis: start above ``on``, end below ``off``.

    A burst starts at the first frame with ``energy > on`` and ends (exclusive) at the
    first later frame with ``energy <= off``. Bursts separated by fewer than ``min_gap``
    quiet frames are merged into one. NaN energy counts as quiet.

    Returns
    -------
    starts, ends : int64 arrays
        Frame index of each burst start, and one past its last frame.
    """
    n = energy.shape[0]
    starts = np.empty(n // 2 + 1, dtype=np.int64)
    ends = np.empty(n // 2 + 1, dtype=np.int64)
    k = 0
    inside = False
    for i in range(n):
        e = energy[i]
        if not inside:
            if e > on[i]:
                if k > 0 and i - ends[k - 1] < min_gap:
                    k -= 1  # reopen the previous burst
                else:
                    starts[k] = i
                inside = True
        else:
            if not (e > off[i]):
                ends[k] = i
                k += 1
                inside = False
    if inside:
        ends[k] = n
        k += 1
    return starts[:k].copy(), ends[:k].copy()


@njit
def _debounce_kernel(states: np.ndarray, min_run: int) -> np.ndarray:
    """Remove runs shorter than ``min_run`` items from a state sequence.

    Runs are visited left to right; a short run takes the state of the run before it
    (the first run, if short, takes the state of the run after it). Runs that become
    adjacent with one state merge, so the output has no run shorter than ``min_run``
    unless the whole sequence is shorter.
    """
    n = states.shape[0]
    out = states.copy()
    if n == 0:
        return out
    changed = True
    while changed:
        changed = False
        i = 0
        while i < n:
            j = i
            while j < n and out[j] == out[i]:
                j += 1
            if j - i < min_run and not (i == 0 and j == n):
                fill = out[i - 1] if i > 0 else out[j]
                for m in range(i, j):
                    out[m] = fill
                changed = True
                break
            i = j
    return out


@njit
def _runs_kernel(flags: np.ndarray, max_gap: int, min_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Runs of true ``flags`` that tolerate up to ``max_gap`` false items inside.

    A run starts at a true item and ends after its last true item; it goes on through at
    most ``max_gap`` consecutive false items. Runs with fewer than ``min_len`` true items
    are dropped.

    Returns
    -------
    first, last : int64 arrays
        Index of the first and of the last true item of each kept run.
    """
    n = flags.shape[0]
    first = np.empty(n // 2 + 1, dtype=np.int64)
    last = np.empty(n // 2 + 1, dtype=np.int64)
    k = 0
    i = 0
    while i < n:
        if not flags[i]:
            i += 1
            continue
        start = i
        end = i
        count = 1
        gap = 0
        j = i + 1
        while j < n:
            if flags[j]:
                end = j
                count += 1
                gap = 0
            else:
                gap += 1
                if gap > max_gap:
                    break
            j += 1
        if count >= min_len:
            first[k] = start
            last[k] = end
            k += 1
        i = end + 1
    return first[:k].copy(), last[:k].copy()


@njit
def _scan_kernel(x: np.ndarray, q: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass over the raw signal: the 10 Hz view and the extremes of each window.

    Parameters
    ----------
    x : 1-D array
        Raw samples.
    q : int
        Block length of the low-rate view (block means).
    w : int
        Status-window length (samples); windows are whole, the tail is ignored.

    Returns
    -------
    low : float64 array
        Mean of each whole block of ``q`` samples.
    wmin, wmax : float64 arrays
        Lowest and highest sample of each whole window of ``w`` samples.
    """
    n = x.shape[0]
    nb = n // q
    low = np.empty(nb, dtype=np.float64)
    for b in range(nb):
        # integer samples sum exactly (vectorised); float samples in float64, in order
        low[b] = _block_sum(x[b * q : b * q + q]) / q
    nw = n // w
    wmin = np.empty(nw, dtype=np.float64)
    wmax = np.empty(nw, dtype=np.float64)
    for k in range(nw):
        # in the samples' own dtype (they are finite)
        lo, hi = _extremes(x[k * w : k * w + w])
        wmin[k] = lo
        wmax[k] = hi
    return low, wmin, wmax


def _block_sum(seg: np.ndarray) -> Any:
    """Sum of the samples: exact for integer samples, in order in float64 for floats."""
    acc = 0.0
    for v in seg:
        acc += float(v)
    return acc


@overload(_block_sum)
def _block_sum_numba(seg: Any) -> Any:
    """:func:`_block_sum` in numba, per dtype. Integer samples: the array sum (64-bit
    integers, exact whatever the order), which vectorises where a loop over a block of
    a run-time length does not (uint16 samples of an 8 h night: 2.5 -> 1.3 ms). Float
    samples: one float64 accumulator, sample by sample, as before."""
    from numba import types

    if isinstance(seg.dtype, types.Integer):

        def impl_int(seg: Any) -> Any:
            return seg.sum()

        return impl_int

    def impl(seg: Any) -> Any:
        acc = 0.0
        for i in range(seg.shape[0]):
            acc += seg[i]
        return acc

    return impl


@njit
def _centred_windows_kernel(
    x: np.ndarray, w: int, first: int, step: int, hann: np.ndarray, out: np.ndarray
) -> None:
    """Row ``r`` of ``out`` (float64, rows of ``len(hann)`` values back to back): the
    first ``len(hann)`` samples of window ``first + r * step`` of ``x`` (windows of
    ``w`` samples from sample 0), minus their mean, times ``hann``. The mean's sum is
    that of the 10 Hz view (``_block_sum``: float samples in float64 in order, integer
    samples exactly)."""
    n_fft = hann.shape[0]
    n_rows = out.shape[0] // n_fft if n_fft > 0 else 0
    for r in range(n_rows):
        src = (first + r * step) * w
        seg = x[src : src + n_fft]
        row = out[r * n_fft : (r + 1) * n_fft]  # slices: the loop below vectorises
        # integer samples: an exact (vectorised) integer sum, equal to the float64 sum
        mean = _block_sum(seg) / n_fft
        for i in range(n_fft):
            row[i] = (np.float64(seg[i]) - mean) * hann[i]


def _extremes(seg: np.ndarray) -> tuple[Any, Any]:
    """Lowest and highest value of a non-empty finite array (the first of equal ones)."""
    lo = hi = seg[0]
    for v in seg[1:]:
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@overload(_extremes)
def _extremes_numba(seg: Any) -> Any:
    """:func:`_extremes` in numba, per dtype. Integer samples: the array min/max
    reductions, which vectorise where the loop does not (uint16 samples of an 8 h night:
    3.8 -> 0.8 ms). Float samples: the loop (the float reductions check every value for
    NaN and are ~2x slower than it)."""
    from numba import types

    if isinstance(seg.dtype, types.Integer):

        def impl_int(seg: Any) -> Any:
            return seg.min(), seg.max()

        return impl_int

    def impl(seg: Any) -> Any:
        lo = seg[0]
        hi = seg[0]
        for i in range(1, seg.shape[0]):
            v = seg[i]
            lo = min(lo, v)
            hi = max(hi, v)
        return lo, hi

    return impl


# ---------------------------------------------------------------------------------------
# Plain-numpy helpers shared by the track modules (validation and the 10 Hz view).
# ---------------------------------------------------------------------------------------

#: Target rate (Hz) of the low-rate view used for breathing, movement and presence.
LOWRATE_HZ = 10.0


#: Largest sample magnitude the track functions accept (energies square the samples).
MAX_ABS_SAMPLE = 1e100


def _check_fs(fs: object, *, minimum: float = 5.0, name: str = "fs") -> float:
    """``fs`` as a float, or :class:`~sleepsignal.errors.SignalError` naming ``name``
    (:func:`sleepsignal._validate.check_fs`, with the track functions' 5 Hz minimum)."""
    return check_fs(fs, name, minimum=minimum)


def _coerce_signal(signal: object, name: str = "signal") -> np.ndarray:
    """A 1-D, contiguous, real, finite array (dtype kept), or ``SignalError``."""
    from .errors import SignalError

    a = array_1d(signal, name)
    if a.dtype == np.float16:  # numba has no float16; float32 holds every value exactly
        a = a.astype(np.float32)
    if a.dtype.kind == "f":
        finite = np.isfinite(a)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise SignalError(
                f"{name} has a non-finite value {a[bad]!r} at sample {bad}; gaps must be "
                "cut out (split the recording) or filled before analysis"
            )
        # energies square the samples: beyond 1e100 they overflow float64 (float32
        # cannot hold such values, so only float64 input is looked at)
        if a.dtype == np.float64 and a.size and max(-a.min(), a.max()) > MAX_ABS_SAMPLE:
            raise SignalError(
                f"{name} has values beyond +-{MAX_ABS_SAMPLE:g} (largest magnitude "
                f"{max(-a.min(), a.max()):.3g}); their squares overflow float64: rescale it"
            )
    return np.ascontiguousarray(a)


def _lowrate(x: np.ndarray, fs: float) -> tuple[np.ndarray, float, int]:
    """Block means of ``x`` at about :data:`LOWRATE_HZ` (float64), their rate and block.

    A block mean of ``q`` samples has spectral zeros at multiples of ``fs / q``; at the
    Beddit rate (140 Hz, q = 14) those are the multiples of 10 Hz, which is where every
    harmonic of 50 Hz and 60 Hz mains aliases, so the low-rate view is free of hum.
    """
    q = max(1, round(fs / LOWRATE_HZ))
    n = len(x) // q * q
    if n == 0:
        return np.empty(0, dtype=np.float64), fs / q, q
    low = x[:n].reshape(-1, q).mean(axis=1, dtype=np.float64)
    return low, fs / q, q


def _change_points(
    states: np.ndarray, window_s: float, end_s: float, end_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Change points ``(t_s, state)`` of per-window states (window k starts at k * window_s).

    With ``end_state``, a last item ``(end_s, end_state)`` marks where the data end.
    """
    if len(states) == 0:
        t = np.empty(0) if end_state is None else np.array([0.0])
        v = np.empty(0, dtype=np.uint8) if end_state is None else np.array([end_state], np.uint8)
        return t, v
    change = np.flatnonzero(np.diff(states)) + 1
    idx = np.concatenate([[0], change])
    t = idx.astype(np.float64) * window_s
    v = states[idx].astype(np.uint8)
    if end_state is not None and end_s > t[-1]:
        t = np.append(t, end_s)
        v = np.append(v, np.uint8(end_state))
    return t, v


@njit
def _no_overlap_kernel(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Keep mask over cycles sorted by start: a cycle that starts before the end of the
    last kept one (by more than 1e-9 s) is dropped."""
    n = starts.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    last_end = -np.inf
    for i in range(n):
        if starts[i] < last_end - 1e-9:
            keep[i] = False
        else:
            last_end = starts[i] + lengths[i]
    return keep


@njit
def _seam_kernel(
    starts: np.ndarray, lengths: np.ndarray, peaks: np.ndarray, min_lengths: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_no_overlap_kernel` that trims instead of dropping at a seam: a cycle
    (sorted by start) that starts less than ``tol`` s before the end of the last kept
    one, with its peak after that end, is kept with its start moved to that end (its
    length shortened by as much) unless that leaves it shorter than its own
    ``min_lengths`` (s: the shortest cycle its wave keeps); any other overlapping cycle
    is dropped. Returns the keep mask and the (trimmed) starts and lengths."""
    n = starts.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    s = starts.copy()
    ln = lengths.copy()
    last_end = -np.inf
    for i in range(n):
        if s[i] < last_end - 1e-9:
            over = last_end - s[i]
            if over < tol and peaks[i] > last_end and ln[i] - over >= min_lengths[i]:
                s[i] = last_end
                ln[i] -= over
            else:
                keep[i] = False
                continue
        last_end = s[i] + ln[i]
    return keep, s, ln


@njit
def _cycle_levels_kernel(
    ext: np.ndarray, c0: np.ndarray, c1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per cycle ``[c0[k], c1[k])`` of the loudness ``ext`` (NaN where missing; each
    cycle non-empty), judged on its valid (non-NaN) samples: loudest level (NaN counts
    as -inf), quietest (NaN as +inf), how many samples are missing, the fraction of the
    valid samples above the midpoint of the two (0 when none is valid), and the index of
    its first loudest sample."""
    m = len(c0)
    top = np.empty(m)
    bottom = np.empty(m)
    n_missing = np.zeros(m, dtype=np.int64)
    loud = np.empty(m)
    arg = np.empty(m, dtype=np.int64)
    for k in range(m):
        hi = -np.inf
        lo = np.inf
        missing = 0
        for s in range(c0[k], c1[k]):
            v = ext[s]
            missing += np.isnan(v)
            if v > hi:  # False for NaN
                hi = v
            if v < lo:
                lo = v
        n_missing[k] = missing
        mid = 0.5 * (hi + lo)
        count = 0
        for s in range(c0[k], c1[k]):
            count += ext[s] > mid  # branch-free: vectorises (False for NaN)
        first = -1
        for s in range(c0[k], c1[k]):
            v = ext[s]
            if v == hi or (np.isnan(v) and hi == -np.inf):
                first = s
                break
        top[k] = hi
        bottom[k] = lo
        valid = c1[k] - c0[k] - missing
        loud[k] = count / valid if valid > 0 else 0.0
        arg[k] = first
    return top, bottom, n_missing, loud, arg


@njit
def _template_correction(x: np.ndarray, pos: np.ndarray, k_n: int, w: int) -> np.ndarray:
    """Running beat template of ``x`` (see ``_beat_template_kernel``), per sample."""
    n = len(x)
    nb = len(pos)
    out = np.zeros(n)
    if nb == 0:
        return out
    w = min(w, nb)
    # running sum of the rows of the window [a, a + w)
    acc = np.zeros(k_n)
    a = 0
    for r in range(w):
        i0 = int(pos[r])
        fr = pos[r] - i0
        for k in range(k_n):
            acc[k] += x[i0 + k] * (1.0 - fr) + x[i0 + k + 1] * fr
    half = w // 2
    for b in range(nb):
        want = min(max(b - half, 0), nb - w)
        while a < want:  # slide by one beat: drop row a, add row a + w
            i0 = int(pos[a])
            fr = pos[a] - i0
            i1 = int(pos[a + w])
            f1 = pos[a + w] - i1
            for k in range(k_n):
                acc[k] += (x[i1 + k] * (1.0 - f1) + x[i1 + k + 1] * f1) - (
                    x[i0 + k] * (1.0 - fr) + x[i0 + k + 1] * fr
                )
            a += 1
        # samples from this beat up to the next one (at most k_n - 1 after it)
        j0 = int(np.ceil(pos[b]))
        j1 = n if b + 1 == nb else int(np.ceil(pos[b + 1]))
        for j in range(j0, j1):
            off = j - pos[b]
            if off >= k_n - 1:
                break
            k0 = int(off)
            f = off - k0
            out[j] = (acc[k0] * (1.0 - f) + acc[k0 + 1] * f) / w
    return out


@njit
def _beat_template_kernel(
    low: np.ndarray,
    pos: np.ndarray,
    k_n: int,
    w: int,
    wb: int,
    frame: int,
    gate: float,
) -> np.ndarray:
    """``low`` minus its running beat template where the template matters.

    1. ``base``: the centred running mean of ``low - low[0]`` over ``wb`` samples (the
       window shifted inwards at the ends; ``1 <= wb <= len(low)``); the heartbeat
       signal ``hp = low - low[0] - base``.
    2. ``pos`` are beat positions in samples (sorted, ``0 <= pos < len(low) - k_n -
       1``). Row ``b`` holds ``hp`` at ``pos[b] + k``, ``k = 0 .. k_n - 1`` (linear
       interpolation); the template of beat ``b`` is the mean of the rows of the ``w``
       beats centred on it (``min(w, len(pos))`` beats; the window shifted inwards at
       the ends). Sample ``j`` at offset ``o = j - pos[b] < k_n - 1`` from the beat
       ``b`` at or before it gets that template at ``o`` (linear interpolation), every
       other sample 0: the correction.
    3. Per frame of ``frame`` samples (the last one may be shorter): the correction is
       subtracted where its mean square exceeds ``gate / max(1, min(w, len(pos)))`` x the
       mean square of ``hp`` over the frame. A template of ``m`` rows carries about
       ``1 / m`` of the power of what in ``hp`` is not locked to the beats (the breath's
       residue, noise); subtracting it helps only where it stands above that.

    Returns a new float64 array.
    """
    n = len(low)
    # hp = low - low[0] - base; base by a running sum over the window [a, a + wb)
    hp = np.empty(n)
    y0 = low[0]
    a = 0
    run = 0.0
    for j in range(wb):
        run += low[j] - y0
    for j in range(n):
        want = min(max(j - wb // 2, 0), n - wb)
        while a < want:
            run += (low[a + wb] - y0) - (low[a] - y0)
            a += 1
        hp[j] = (low[j] - y0) - run / wb
    corr = _template_correction(hp, pos, k_n, w)
    out = low.astype(np.float64)
    rows = max(1, min(w, len(pos)))
    for f0 in range(0, n, frame):
        f1 = min(n, f0 + frame)
        s2 = 0.0
        h2 = 0.0
        for j in range(f0, f1):
            s2 += corr[j] * corr[j]
            h2 += hp[j] * hp[j]
        if s2 > gate * h2 / rows:
            for j in range(f0, f1):
                out[j] -= corr[j]
    return out
