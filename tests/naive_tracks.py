"""Slow, obviously correct references of the track kernels, and a small synthetic BCG.

Each ``naive_*`` function does what its kernel in ``sleepsignal._track_kernels`` does,
written as plainly as possible; the tests check that both agree exactly.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


def naive_simplify(x: np.ndarray, thr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth simplification (see ``_simplify_kernel``), by full rescans.

    Runs of finite samples are handled apart. In a run, the slope before each sample
    (flat steps take the last non-zero one) changes sign at an extremum. Then, while any
    adjacent pair of surviving extrema is shallower than the mean of their thresholds,
    the shallowest such pair (the earliest on a tie) is removed; every pass rescans all
    pairs.
    """
    idx: list[int] = []
    kind: list[int] = []
    n = len(x)
    i = 0
    while i < n:
        if math.isnan(float(x[i])):
            i += 1
            continue
        j = i
        while j < n and not math.isnan(float(x[j])):
            j += 1
        ex: list[int] = []
        kd: list[int] = []
        slope = 0
        for k in range(i + 1, j):
            d = float(x[k]) - float(x[k - 1])
            s = 1 if d > 0 else (-1 if d < 0 else 0)
            if s != 0:
                if slope != 0 and s != slope:
                    ex.append(k - 1)
                    kd.append(slope)
                slope = s
        while True:
            best = None
            for p in range(len(ex) - 1):
                dv = abs(float(x[ex[p + 1]]) - float(x[ex[p]]))
                below = dv < 0.5 * (float(thr[ex[p]]) + float(thr[ex[p + 1]]))
                if below and (best is None or dv < best[0]):
                    best = (dv, p)
            if best is None:
                break
            p = best[1]
            del ex[p : p + 2], kd[p : p + 2]
        idx += ex
        kind += kd
        i = j
    return np.array(idx, dtype=np.int64), np.array(kind, dtype=np.int8)


def naive_beat_template(
    low: np.ndarray,
    pos: np.ndarray,
    k_n: int,
    w: int,
    wb: int,
    frame: int,
    gate: float,
) -> np.ndarray:
    """Beat-template subtraction (see ``_beat_template_kernel``), written out.

    The running mean is a mean over each sample's window; the template of each beat is
    the mean of its window's rows, built row by row; each sample looks up the last beat
    at or before it; each frame compares mean squares directly (the correction's
    against the heartbeat signal's over the number of rows averaged).
    """
    n = len(low)
    y = [float(v) - float(low[0]) for v in low]
    base = []
    for j in range(n):
        a = min(max(j - wb // 2, 0), n - wb)
        base.append(sum(y[a : a + wb]) / wb)
    hp = [y[j] - base[j] for j in range(n)]

    def at(x: list[float], p: float) -> float:  # linear interpolation between samples
        i = math.floor(p)
        f = p - i
        return x[i] * (1.0 - f) + x[i + 1] * f

    nb = len(pos)
    rows = [[at(hp, float(pos[b]) + k) for k in range(k_n)] for b in range(nb)]
    ww = min(w, nb)
    tmpl = []
    for b in range(nb):
        a = min(max(b - ww // 2, 0), nb - ww)
        tmpl.append([sum(rows[r][k] for r in range(a, a + ww)) / ww for k in range(k_n)])
    corr = [0.0] * n
    for j in range(n):
        before = [b for b in range(nb) if float(pos[b]) <= j]
        if not before:
            continue
        b = before[-1]
        off = j - float(pos[b])
        if off < k_n - 1:
            corr[j] = at(tmpl[b], off)
    out = [float(v) for v in low]
    for f0 in range(0, n, frame):
        f1 = min(n, f0 + frame)
        c2 = sum(c * c for c in corr[f0:f1]) / (f1 - f0)
        h2 = sum(v * v for v in hp[f0:f1]) / (f1 - f0)
        if c2 > gate * h2 / max(1, ww):
            for j in range(f0, f1):
                out[j] -= corr[j]
    return np.array(out)


def naive_bursts(
    energy: np.ndarray, on: np.ndarray, off: np.ndarray, min_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hysteresis bursts, then merge those fewer than ``min_gap`` frames apart."""
    raw: list[list[int]] = []
    inside = False
    for i in range(len(energy)):
        e = energy[i]
        if not inside and e > on[i]:
            raw.append([i, len(energy)])
            inside = True
        elif inside and not (e > off[i]):
            raw[-1][1] = i
            inside = False
    merged: list[list[int]] = []
    for s, e in raw:
        if merged and s - merged[-1][1] < min_gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return (
        np.array([m[0] for m in merged], dtype=np.int64),
        np.array([m[1] for m in merged], dtype=np.int64),
    )


def _runs_of(states: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []  # [state, length]
    for s in states:
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    return runs


def naive_debounce(states: np.ndarray, min_run: int) -> np.ndarray:
    """Repeatedly give the first short run the state of its left (else right) neighbour."""
    out = [int(s) for s in states]
    while True:
        runs = _runs_of(out)
        if len(runs) <= 1:
            break
        pos = 0
        fixed = False
        for r, (_s, n) in enumerate(runs):
            if n < min_run:
                fill = runs[r - 1][0] if r > 0 else runs[r + 1][0]
                out[pos : pos + n] = [fill] * n
                fixed = True
                break
            pos += n
        if not fixed:
            break
    return np.array(out, dtype=states.dtype)


def naive_runs(flags: np.ndarray, max_gap: int, min_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Group true items separated by at most ``max_gap`` false ones; keep big groups."""
    trues = [i for i in range(len(flags)) if flags[i]]
    groups: list[list[int]] = []
    for i in trues:
        if groups and i - groups[-1][-1] - 1 <= max_gap:
            groups[-1].append(i)
        else:
            groups.append([i])
    kept = [g for g in groups if len(g) >= min_len]
    return (
        np.array([g[0] for g in kept], dtype=np.int64),
        np.array([g[-1] for g in kept], dtype=np.int64),
    )


class Synthetic(NamedTuple):
    """A small synthetic BCG with its truth (times in s from the first sample)."""

    signal: np.ndarray  # uint16 at fs
    fs: float
    noise: np.ndarray  # float32 loudness at 10 Hz, dB
    breath_starts: np.ndarray
    movements: list[tuple[float, float]]
    away: list[tuple[float, float]]
    mains: list[tuple[float, float, float]]  # (start, end, hz)
    snoring: list[tuple[float, float]]


def synthetic_bcg(
    seconds: float,
    *,
    seed: int,
    fs: float = 140.0,
    rate_bpm: float = 15.0,
    movements: tuple[tuple[float, float], ...] = (),
    away: tuple[tuple[float, float], ...] = (),
    mains: tuple[tuple[float, float, float], ...] = (),
    snoring: tuple[tuple[float, float], ...] = (),
    breath_amp: float = 300.0,
    beat_amp: float = 60.0,
    noise_sd: float = 8.0,
) -> Synthetic:
    """Breathing (rate wandering around ``rate_bpm``), heartbeats, sensor noise, and
    optional movement, away, mains and snoring intervals."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    # breathing: phase integrates a slowly wandering rate
    rate = rate_bpm / 60.0 * (1 + 0.1 * np.sin(2 * np.pi * t / 300.0 + rng.uniform(0, 6)))
    phase = np.cumsum(rate) / fs
    wave = -np.cos(2 * np.pi * phase)  # trough at integer phase: start of inhalation
    cyc = np.floor(phase)
    starts = t[np.flatnonzero(np.diff(cyc) > 0) + 1]
    amp = breath_amp * (1 + 0.2 * rng.standard_normal(int(cyc[-1]) + 2))
    x = amp[cyc.astype(int)] * wave
    # heartbeats at ~62 bpm: a damped wavelet per beat
    hr = 62 / 60.0
    beats = np.cumsum(rng.normal(1 / hr, 0.03, int(seconds * hr) + 5))
    k = np.arange(int(0.6 * fs)) / fs
    wavelet = np.exp(-k / 0.08) * np.sin(2 * np.pi * 6 * k)
    for b in beats[beats < seconds - 0.7]:
        i = int(b * fs)
        x[i : i + len(wavelet)] += beat_amp * wavelet
    for a, b in movements:
        i0, i1 = int(a * fs), int(b * fs)
        x[i0:i1] += 8 * breath_amp * np.cumsum(rng.standard_normal(i1 - i0)) / np.sqrt(fs) * 3
    for a, b in away:
        x[int(a * fs) : int(b * fs)] = 0.0
    x += noise_sd * rng.standard_normal(n)
    for a, b, hz in mains:
        i0, i1 = int(a * fs), int(b * fs)
        tt = t[i0:i1]
        for h, g in ((1, 40.0), (2, 12.0), (3, 20.0)):
            x[i0:i1] += g * np.sin(2 * np.pi * h * hz * tt + h)
    sig = np.clip(np.round(32768 + x), 0, 65535).astype(np.uint16)
    # loudness at 10 Hz: quiet room noise, plus a burst at each inhalation while snoring
    m = int(seconds * 10)
    tn = np.arange(m) / 10.0
    loud = np.abs(rng.normal(1.0, 0.15, m)).astype(np.float64)
    ph10 = np.interp(tn, t, phase)
    for a, b in snoring:
        sel = (tn >= a) & (tn < b)
        frac = ph10[sel] % 1.0
        loud[sel] += 6.0 * np.exp(-(((frac - 0.3) / 0.08) ** 2))
    # as a level in dB, as the noise track is (a 30 dB room; a burst ~ +17 dB)
    loud = 30.0 + 20.0 * np.log10(loud)
    return Synthetic(
        sig,
        fs,
        loud.astype(np.float32),
        starts,
        list(movements),
        list(away),
        list(mains),
        list(snoring),
    )


def naive_scan(x: np.ndarray, q: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block means and window min/max, with plain loops."""
    xs = [float(v) for v in x]
    low = [sum(xs[b * q : b * q + q]) / q for b in range(len(xs) // q)]
    nw = len(xs) // w
    wmin = [min(xs[k * w : k * w + w]) for k in range(nw)]
    wmax = [max(xs[k * w : k * w + w]) for k in range(nw)]
    return np.array(low), np.array(wmin), np.array(wmax)


def naive_no_overlap(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Keep mask: walk the cycles in order; one that starts before the end of the last
    kept one (by more than 1e-9 s) is dropped."""
    keep = []
    last_end = -np.inf
    for s, ln in zip(starts.tolist(), lengths.tolist(), strict=True):
        if s < last_end - 1e-9:
            keep.append(False)
        else:
            keep.append(True)
            last_end = s + ln
    return np.array(keep, dtype=bool)


def naive_seam(
    starts: np.ndarray, lengths: np.ndarray, peaks: np.ndarray, min_lengths: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk the cycles in order; one starting before the last kept end: if by less than
    ``tol``, its peak is after that end and what remains from that end is at least its
    own ``min_lengths`` entry, start it at that end; otherwise drop it."""
    keep, out_s, out_l = [], [], []
    last_end = -np.inf
    rows = zip(starts.tolist(), lengths.tolist(), peaks.tolist(), min_lengths.tolist(), strict=True)
    for s, ln, p, lo in rows:
        if s < last_end - 1e-9:
            if last_end - s < tol and p > last_end and ln - (last_end - s) >= lo:
                ln = ln - (last_end - s)
                s = last_end
            else:
                keep.append(False)
                out_s.append(s)
                out_l.append(ln)
                continue
        keep.append(True)
        out_s.append(s)
        out_l.append(ln)
        last_end = s + ln
    return np.array(keep, dtype=bool), np.array(out_s), np.array(out_l)


def naive_cycle_levels(
    ext: np.ndarray, c0: np.ndarray, c1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per cycle ``[c0[k], c1[k])``: loudest (NaN as -inf), quietest (NaN as +inf),
    number of NaN, fraction of the non-NaN samples above the midpoint (0 when there
    is none), first loudest index."""
    top, bottom, n_missing, loud, arg = [], [], [], [], []
    for a, b in zip(c0.tolist(), c1.tolist(), strict=True):
        vals = [float(v) for v in ext[a:b]]
        valid = [v for v in vals if not math.isnan(v)]
        hi = max(valid, default=-math.inf)
        lo = min(valid, default=math.inf)
        mid = 0.5 * (hi + lo)
        top.append(hi)
        bottom.append(lo)
        n_missing.append(len(vals) - len(valid))
        loud.append(sum(1 for v in valid if v > mid) / len(valid) if valid else 0.0)
        arg.append(a + [-math.inf if math.isnan(v) else v for v in vals].index(hi))
    return (
        np.array(top, dtype=np.float64),
        np.array(bottom, dtype=np.float64),
        np.array(n_missing, dtype=np.int64),
        np.array(loud, dtype=np.float64),
        np.array(arg, dtype=np.int64),
    )


def naive_rsa_repaired(
    bt: np.ndarray,
    ibi: np.ndarray,
    med: np.ndarray,
    ok: np.ndarray,
    dev: float,
    lo: float,
    hi: float,
    qmax: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Loop twin of ``respiration._rsa_repaired``: interval knots (midpoints, lengths),
    kept intervals as they are, a dropped interval of q = 2..qmax medians split in q,
    then two consecutive dropped (not split) ones together with q = 1..qmax, left to
    right."""

    def parts(s: float, m: float, qmin: int) -> int:
        q = round(s / m)
        if q < qmin or q > qmax:
            return 0
        p = s / q
        return q if abs(p - m) < dev * m and lo <= p <= hi else 0

    n = len(ibi)
    single = [not ok[i] and parts(ibi[i], med[i], 2) > 0 for i in range(n)]
    rest = [not ok[i] and not single[i] for i in range(n)]
    tm: list[float] = []
    v: list[float] = []
    for i in range(n):
        if ok[i]:
            tm.append(bt[i] + 0.5 * ibi[i])
            v.append(ibi[i])
        elif single[i]:
            q = parts(ibi[i], med[i], 2)
            for j in range(q):
                tm.append(bt[i] + (j + 0.5) * ibi[i] / q)
                v.append(ibi[i] / q)
    i = 0
    while i < n - 1:
        q = parts(ibi[i] + ibi[i + 1], med[i], 1) if rest[i] and rest[i + 1] else 0
        if q:
            s = ibi[i] + ibi[i + 1]
            for j in range(q):
                tm.append(bt[i] + (j + 0.5) * s / q)
                v.append(s / q)
            i += 2
        else:
            i += 1
    order = np.argsort(np.asarray(tm), kind="stable")
    return np.asarray(tm)[order], np.asarray(v)[order]


def second_mask(n: int, intervals: np.ndarray) -> np.ndarray:
    """``n`` one-second bins, True where any ``[start, end)`` interval (s) touches: the
    time grid every time-weighted F1 of the tracks is scored on."""
    m = np.zeros(n, dtype=bool)
    for start, end in np.asarray(intervals, dtype=float).reshape(-1, 2):
        m[max(0, int(np.floor(start))) : max(0, int(np.ceil(end)))] = True
    return m


def time_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """F1 of two boolean masks; NaN when there is nothing to find and nothing found."""
    tp = float(np.sum(truth & pred))
    fp = float(np.sum(~truth & pred))
    fn = float(np.sum(truth & ~pred))
    if tp + fp + fn == 0:
        return float("nan")
    return 2 * tp / (2 * tp + fp + fn)


def truth_breathing(breath_starts: np.ndarray):  # -> sleepsignal.respiration.Breathing
    """The simulator's breathing cycles, start to next start, without the "cycles" over
    15 s: those span a gap in the truth (the sleeper out of bed), not a breath (one such
    336 s cycle made a 350 s false snoring event of seed 4 with one value in 20 missing).
    Snoring is scored on these so that only snoring is measured."""
    from sleepsignal.respiration import Breathing

    bs = np.asarray(breath_starts, dtype=np.float64)
    starts, lengths = bs[:-1], np.diff(bs)
    keep = lengths <= 15.0
    starts, lengths = starts[keep], lengths[keep]
    return Breathing(starts, lengths, np.ones(len(starts)), starts + 0.4 * lengths)
