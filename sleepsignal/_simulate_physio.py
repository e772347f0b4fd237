"""Physiology of a simulated night: stages, events, beat times and breathing cycles.

Private helpers of :mod:`sleepsignal.simulate`. Everything here works on a coarse
control grid (:data:`GRID_FS`) or on event lists; the sample-rate rendering lives in
:mod:`sleepsignal._simulate_signal`. All times are float64 seconds from the session start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps
from scipy.ndimage import gaussian_filter1d, uniform_filter1d

from .hypnogram import AWAY, DEEP, EPOCH_LENGTH, LIGHT, REM, WAKE

__all__: list[str] = []

#: Rate (Hz) of the control grid on which heart rate and breathing rate are modelled.
GRID_FS = 20.0

# Stage-dependent physiology, indexed by stage code (wake, light, deep, rem, away).
_HR_OFFSET = np.array([8.0, 0.0, -4.0, 3.0, 8.0])  # bpm
_HR_IRREGULAR = np.array([5.0, 2.5, 1.0, 4.0, 5.0])  # bpm, slow random component
_RSA_BPM = np.array([2.0, 3.5, 4.5, 2.0, 2.0])  # bpm, respiratory sinus arrhythmia
_BR_OFFSET = np.array([2.0, 0.0, -1.0, 1.5, 2.0])  # breaths/min
_BR_IRREGULAR = np.array([0.35, 0.16, 0.08, 0.32, 0.35])  # fraction of the rate
_BR_AMP_SD = np.array([0.30, 0.15, 0.08, 0.30, 0.30])  # log-sd of cycle amplitude
_MOVE_PER_HOUR = np.array([25.0, 6.0, 1.5, 4.0, 0.0])


@dataclass(frozen=True)
class Events:
    """Event lists of a night (all ``(n, 2)`` arrays of [start, end] s)."""

    stages: np.ndarray  # int8 per 30 s epoch
    away: np.ndarray
    movements_raw: np.ndarray  # (n, 3): start, end, intensity factor (may overlap)
    posture_times: np.ndarray  # (n,) s, where a new posture starts
    snoring: np.ndarray
    mains: np.ndarray


def merge_intervals(iv: np.ndarray) -> np.ndarray:
    """Union of possibly overlapping ``(n, 2)`` intervals, sorted."""
    if len(iv) == 0:
        return np.empty((0, 2))
    iv = iv[np.argsort(iv[:, 0], kind="stable")]
    out = [list(iv[0, :2])]
    for s, e in iv[:, :2]:
        if s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return np.asarray(out, dtype=np.float64)


def inside(t: np.ndarray, iv: np.ndarray) -> np.ndarray:
    """Boolean mask: which times fall in any of the merged, sorted intervals ``iv``."""
    if len(iv) == 0:
        return np.zeros(len(t), dtype=bool)
    k = np.searchsorted(iv[:, 0], t, side="right") - 1
    ok = k >= 0
    out = np.zeros(len(t), dtype=bool)
    out[ok] = t[ok] < iv[k[ok], 1]
    return out


def _stage_cycles(n_epochs: int, onset_epochs: int, rng: np.random.Generator) -> np.ndarray:
    """Wake until onset, then ~90 min NREM/REM cycles: deep early, REM late."""
    st = np.full(n_epochs, WAKE, dtype=np.int8)
    i = min(onset_epochs, n_epochs)
    k = 0
    while i < n_epochs:
        cyc = max(120, round(rng.normal(90.0, 10.0) * 2))
        deep = max(0.0, 0.40 - 0.11 * k) * rng.uniform(0.8, 1.2)
        rem = min(0.45, 0.10 + 0.08 * k) * rng.uniform(0.8, 1.2)
        light = 1.0 - deep - rem
        n_l1 = int(cyc * light * 0.55)
        n_d = int(cyc * deep)
        n_l2 = int(cyc * light) - n_l1
        n_r = cyc - n_l1 - n_d - n_l2
        seg = np.repeat(np.array([LIGHT, DEEP, LIGHT, REM], dtype=np.int8), [n_l1, n_d, n_l2, n_r])
        m = min(cyc, n_epochs - i)
        st[i : i + m] = seg[:m]
        i += cyc
        k += 1
    sleep = np.flatnonzero(st[onset_epochs:] != WAKE) + onset_epochs
    # deep sleep is patchy: a few light epochs inside deep runs
    flick = sleep[(st[sleep] == DEEP) & (rng.random(len(sleep)) < 0.06)]
    st[flick] = LIGHT
    # brief awakenings (1-3 epochs), more likely later in the night and out of REM
    p = 0.004 + 0.006 * sleep / max(n_epochs, 1) + 0.006 * (st[sleep] == REM)
    for j in sleep[rng.random(len(sleep)) < p]:
        st[j : j + int(rng.integers(1, 4))] = WAKE
    if n_epochs * EPOCH_LENGTH >= 3 * 3600:  # final awakening before getting up
        st[n_epochs - int(rng.integers(4, 21)) :] = WAKE
    return st


def make_events(
    duration: float,
    rng: np.random.Generator,
    *,
    onset: float | None,
    bed_exits: int | None,
    movement_rate: float,
    snoring_rate: float,
    mains_hz: float,
    mains_rate: float,
) -> Events:
    """Stage sequence and the interval events of the night."""
    n_epochs = max(1, math.ceil(duration / EPOCH_LENGTH - 1e-9))
    if onset is None:
        onset = float(rng.lognormal(math.log(12 * 60), 0.5))
    onset = min(onset, duration)
    stages = _stage_cycles(n_epochs, int(onset // EPOCH_LENGTH), rng)

    # bed exits: short (1-8 min), apart, after sleep onset
    if bed_exits is None:
        bed_exits = int(rng.choice([0, 1, 2], p=[0.45, 0.4, 0.15]))
    margin = min(20 * 60.0, 0.15 * duration)
    lo, hi = onset + margin, duration - margin
    away_list: list[tuple[float, float]] = []
    for _ in range(bed_exits):
        for _try in range(50):
            d = float(rng.uniform(60.0, 480.0))
            if hi - lo < d:
                break
            s = float(rng.uniform(lo, hi - d))
            if all(s > e0 + 600 or s + d < s0 - 600 for s0, e0 in away_list):
                away_list.append((s, s + d))
                break
    away = merge_intervals(np.asarray(away_list, dtype=np.float64).reshape(-1, 2))
    ep0 = np.arange(n_epochs) * EPOCH_LENGTH
    for s, e in away:
        # awake before getting up and for a while after coming back
        w0, w1 = s - 60.0, e + float(rng.uniform(120.0, 480.0))
        stages[(ep0 + EPOCH_LENGTH > w0) & (ep0 < w1)] = WAKE
        overlap = np.clip(np.minimum(ep0 + EPOCH_LENGTH, e) - np.maximum(ep0, s), 0, None)
        stages[overlap >= EPOCH_LENGTH / 2] = AWAY

    # movements: Poisson per epoch by stage, plus stage changes, plus bed exits
    lam = _MOVE_PER_HOUR[stages] * movement_rate * EPOCH_LENGTH / 3600.0
    counts = rng.poisson(lam)
    t_mv = np.repeat(ep0, counts) + rng.uniform(0, EPOCH_LENGTH, int(counts.sum()))
    change = np.flatnonzero(np.diff(stages) != 0) + 1
    change = change[
        (stages[change] != AWAY) & (rng.random(len(change)) < min(1.0, 0.3 * movement_rate))
    ]
    t_mv = np.concatenate([t_mv, ep0[change] + rng.uniform(-5, 5, len(change))])
    dur = np.clip(rng.lognormal(math.log(4.0), 0.6, len(t_mv)), 1.0, 40.0)
    amp = rng.lognormal(math.log(8.0), 1.0, len(t_mv))
    mv = np.column_stack([t_mv - dur / 2, t_mv + dur / 2, amp])
    exits = []
    for s, e in away:
        d1, d2 = rng.uniform(3.0, 8.0, 2)
        a1, a2 = 60.0 * rng.uniform(0.8, 1.5, 2)
        exits += [[s - d1, s, a1], [e, e + d2, a2]]
    if exits:
        mv = np.concatenate([mv, np.asarray(exits)])
    mv[:, 0] = np.clip(mv[:, 0], 0.0, duration)
    mv[:, 1] = np.clip(mv[:, 1], 0.0, duration)
    # nothing moves on an empty bed: cut movements at the away intervals
    keep = (mv[:, 1] - mv[:, 0]) > 0.5
    for s, e in away:
        inside_all = (mv[:, 0] >= s) & (mv[:, 1] <= e)
        keep &= ~inside_all
        mv[(mv[:, 0] < s) & (mv[:, 1] > s), 1] = s
        mv[(mv[:, 0] < e) & (mv[:, 1] > e), 0] = e
    mv = mv[keep & ((mv[:, 1] - mv[:, 0]) > 0.5)]
    mv = mv[np.argsort(mv[:, 0], kind="stable")]

    # posture changes: a third of the movements and every return to bed
    mid = (mv[:, 0] + mv[:, 1]) / 2
    pick = (rng.random(len(mv)) < 0.35) | (mv[:, 2] >= 30.0)
    posture = np.sort(mid[pick])

    # snoring: runs inside stretches of light/deep sleep
    snore: list[tuple[float, float]] = []
    nrem = np.isin(stages, (LIGHT, DEEP)).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], nrem, [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        s0, e0 = a * EPOCH_LENGTH, min(b * EPOCH_LENGTH, duration)
        n_runs = rng.poisson(snoring_rate * (e0 - s0) / 3600.0 * 1.5)
        for _ in range(n_runs):
            d = float(np.clip(rng.lognormal(math.log(240.0), 0.6), 30.0, e0 - s0))
            s = float(rng.uniform(s0, e0 - d))
            snore.append((s, s + d))
    snoring = merge_intervals(np.asarray(snore, dtype=np.float64).reshape(-1, 2))
    snoring = _subtract(snoring, away)

    mains_list: list[tuple[float, float]] = []
    if mains_hz > 0 and mains_rate > 0:
        if rng.random() < 0.15:
            mains_list.append((0.0, duration))
        else:
            for _ in range(1 + rng.poisson(mains_rate * duration / 3600.0 * 0.5)):
                d = float(np.clip(rng.lognormal(math.log(900.0), 0.8), 30.0, duration))
                s = float(rng.uniform(0.0, duration - d))
                mains_list.append((s, s + d))
    mains = merge_intervals(np.asarray(mains_list, dtype=np.float64).reshape(-1, 2))
    return Events(stages, away, mv, posture, snoring, mains)


def _subtract(iv: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """Intervals ``iv`` with the parts inside ``cut`` removed (both merged)."""
    out = []
    for s, e in iv:
        pieces = [(s, e)]
        for c0, c1 in cut:
            nxt = []
            for a, b in pieces:
                if c1 <= a or c0 >= b:
                    nxt.append((a, b))
                    continue
                if a < c0:
                    nxt.append((a, c0))
                if c1 < b:
                    nxt.append((c1, b))
            pieces = nxt
        out += [p for p in pieces if p[1] - p[0] > 1.0]
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def slow_noise(n: int, grid_fs: float, tau: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance Gaussian noise smoothed over ``tau`` s, on a grid of ``n`` points.

    White noise at 1 Hz is smoothed with a Gaussian of ``tau`` s and scaled by the
    theoretical factor (not the sample std, which is degenerate for short nights),
    then interpolated to the grid.
    """
    tau = max(tau, 0.5)
    n1 = int(n / grid_fs) + 3  # 1 Hz support
    w = gaussian_filter1d(rng.standard_normal(n1), sigma=tau, mode="reflect")
    w *= math.sqrt(2.0 * math.sqrt(math.pi) * tau)
    return np.interp(np.arange(n) / grid_fs, np.arange(n1, dtype=np.float64), w)


def stage_on_grid(stages: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Stage code at each time ``t`` (s)."""
    idx = np.minimum((t // EPOCH_LENGTH).astype(np.int64), len(stages) - 1)
    return stages[idx]


def crossings(phase: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Times at which a strictly increasing ``phase`` passes each integer."""
    m = np.arange(math.ceil(phase[0]), math.floor(phase[-1]) + 1, dtype=np.float64)
    return np.interp(m, phase, t)


def breathing_builtin(
    duration: float, stages: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breathing phase on the grid, cycle starts (s) and per-cycle amplitudes.

    The rate follows the stage (deep: slower, regular; REM/wake: faster, irregular); a
    cycle starts where the integrated rate (the phase) passes an integer.
    """
    n = int(duration * GRID_FS) + 2
    t = np.arange(n) / GRID_FS
    sg = stage_on_grid(stages, t)
    base = rng.uniform(12.5, 16.0)
    rate = base + uniform_filter1d(_BR_OFFSET[sg], int(60 * GRID_FS), mode="nearest")
    irr = uniform_filter1d(_BR_IRREGULAR[sg], int(30 * GRID_FS), mode="nearest")
    rate = rate * (1.0 + irr * slow_noise(n, GRID_FS, 2.5, rng))
    f = np.clip(rate, 6.0, 30.0) / 60.0
    phase = rng.uniform(0, 1) + np.concatenate([[0.0], np.cumsum(f[:-1])]) / GRID_FS
    starts = crossings(phase, t)
    n_cyc = math.floor(phase[-1]) + 2
    cyc_t = np.interp(np.arange(n_cyc, dtype=np.float64), phase, t)
    sd = _BR_AMP_SD[stage_on_grid(stages, np.clip(cyc_t, 0, duration))]
    amp = np.exp(rng.standard_normal(n_cyc) * sd)
    amp[rng.random(n_cyc) < 0.01] *= 2.0  # sighs
    return phase, starts, amp


def heart_rate_grid(
    duration: float, stages: np.ndarray, breath_phase: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Instantaneous heart rate (bpm) on the control grid."""
    n = len(breath_phase)
    t = np.arange(n) / GRID_FS
    sg = stage_on_grid(stages, t)
    base = rng.uniform(55.0, 70.0)
    hr = base + uniform_filter1d(_HR_OFFSET[sg], int(90 * GRID_FS), mode="nearest")
    hr += -3.0 * t / max(duration, 1.0)  # heart rate falls over the night
    irr = uniform_filter1d(_HR_IRREGULAR[sg], int(60 * GRID_FS), mode="nearest")
    hr += irr * slow_noise(n, GRID_FS, 15.0, rng)
    lf = 2.0 * (1 + 0.5 * slow_noise(n, GRID_FS, 120.0, rng))
    hr += lf * np.sin(2 * np.pi * rng.uniform(0.07, 0.11) * t + rng.uniform(0, 2 * np.pi))
    rsa = uniform_filter1d(_RSA_BPM[sg], int(60 * GRID_FS), mode="nearest")
    hr += rsa * np.sin(2 * np.pi * breath_phase - np.pi / 2)  # faster on inspiration
    return np.clip(hr, 38.0, 140.0)


def beats_ipfm(hr: np.ndarray, rng: np.random.Generator, jitter: float = 0.006) -> np.ndarray:
    """Beat times (s) by integral pulse frequency modulation of ``hr`` (bpm), jittered (s)."""
    t = np.arange(len(hr)) / GRID_FS
    phase = rng.uniform(0, 1) + np.concatenate([[0.0], np.cumsum(hr[:-1] / 60.0)]) / GRID_FS
    beats = crossings(phase, t)
    beats = beats + rng.normal(0.0, jitter, len(beats))
    return np.sort(beats)


def premature_beats(
    beats: np.ndarray, per_hour: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Move a few beats early (premature contractions) and mark them.

    A chosen beat comes at 60-75 % of its interval after the previous beat; the next
    beat keeps its time, so a compensatory pause follows, as with ventricular ectopy.
    Returns the beat times and a boolean mask of the premature ones.
    """
    ectopic = np.zeros(len(beats), dtype=bool)
    if len(beats) < 3 or per_hour <= 0:
        return beats, ectopic
    span = (beats[-1] - beats[0]) / 3600.0
    k = rng.choice(
        np.arange(1, len(beats) - 1),
        size=min(len(beats) - 2, rng.poisson(per_hour * span)),
        replace=False,
    )
    k = np.sort(k)
    k = k[np.concatenate([np.ones(min(len(k), 1), dtype=bool), np.diff(k) > 2])]  # apart
    out = beats.copy()
    out[k] = beats[k - 1] + rng.uniform(0.60, 0.75, len(k)) * (beats[k] - beats[k - 1])
    ectopic[k] = True
    return out, ectopic


def phase_from_starts(t: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Breathing phase (cycles) at ``t``: integer at each start, linear in between."""
    k = np.arange(len(starts), dtype=np.float64)
    if len(starts) < 2:
        return np.zeros(len(t))
    period0, period1 = starts[1] - starts[0], starts[-1] - starts[-2]
    xp = np.concatenate([[starts[0] - 1e3 * period0], starts, [starts[-1] + 1e3 * period1]])
    fp = np.concatenate([[-1e3], k, [k[-1] + 1e3]])
    return np.interp(t, xp, fp)


#: Belt reference breaths: a trough-peak-trough counts when its depth (what is left
#: after every shallower wiggle has been removed) is at least this share of the local
#: breath size (the peak-to-trough height of a typical breath nearby).
BELT_DEPTH_FRACTION = 0.3
#: Belt reference: the local breath size is 2 sqrt(2) x the median of |belt| per
#: 30 s block (the peak to trough of a sine with that median), running median over
#: this many seconds.
BELT_SIZE_WINDOW_S = 300.0


def belt_breath_size(y: np.ndarray, fs: float, window_s: float = BELT_SIZE_WINDOW_S) -> np.ndarray:
    """Local breath size of a zero-mean belt wave ``y`` per sample (see BELT_SIZE_WINDOW_S)."""
    from scipy.ndimage import median_filter

    n = len(y)
    blk = max(1, round(30.0 * fs))
    nb = -(-n // blk)
    a = np.full(nb * blk, np.nan)
    a[:n] = np.abs(y)
    med = np.nanmedian(a.reshape(nb, blk), axis=1)
    med = median_filter(med, size=max(1, round(window_s / 30.0)), mode="nearest")
    return np.repeat(2.0 * math.sqrt(2.0) * med, blk)[:n]


def belt_troughs(
    y: np.ndarray, fs: float, fraction: float = BELT_DEPTH_FRACTION, size: np.ndarray | None = None
) -> np.ndarray:
    """Breath starts (s): troughs of the belt wave ``y`` that survive depth simplification.

    All local extrema of ``y``; repeatedly the adjacent (trough, peak) pair with the
    smallest height difference is removed while that difference is below ``fraction`` x
    the local breath size (:func:`belt_breath_size`, mean over the pair), as in the
    "count-adv" method of Schafer & Kratky (2008), with the threshold relative to the
    local breath size instead of the third quartile of all extremum differences. What
    remains alternates trough/peak; the troughs start the breaths.
    """
    import heapq

    if len(y) < 3:
        return np.empty(0)
    if size is None:
        size = belt_breath_size(y, fs)
    d = np.sign(np.diff(y))
    nz = np.flatnonzero(d != 0)
    if len(nz) == 0:
        return np.empty(0)
    # a flat step takes the slope before it (plateaus are not extrema)
    d = d[nz[np.clip(np.searchsorted(nz, np.arange(len(d)), "right") - 1, 0, None)]]
    idx = np.flatnonzero(d[1:] != d[:-1]) + 1
    is_trough = d[idx - 1] < 0
    v = y[idx]
    thr = fraction * size[idx]
    n = len(idx)
    prev = list(range(-1, n - 1))
    nxt = list(range(1, n + 1))
    alive = np.ones(n, dtype=bool)
    vl, tl = v.tolist(), thr.tolist()
    heap = [(abs(vl[i + 1] - vl[i]), i, i + 1) for i in range(n - 1)]
    heapq.heapify(heap)
    while heap:
        dv, i, j = heapq.heappop(heap)
        if not (alive[i] and alive[j] and nxt[i] == j):
            continue  # stale entry
        if dv >= 0.5 * (tl[i] + tl[j]):
            continue
        alive[i] = alive[j] = False
        p, q = prev[i], nxt[j]
        if p >= 0:
            nxt[p] = q
        if q < n:
            prev[q] = p
        if p >= 0 and q < n:
            heapq.heappush(heap, (abs(vl[q] - vl[p]), p, q))
    k = np.flatnonzero(alive)
    return idx[k[is_trough[k]]] / fs


def belt_breathing(
    resp: np.ndarray, resp_fs: float, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """Band-passed, scaled belt signal (about 1 peak to trough) and its breath starts (s).

    The starts are :func:`belt_troughs` of the 0.08-1 Hz band-passed belt.
    """
    y = belt_band(resp, resp_fs, duration)
    return y, belt_troughs(y, resp_fs)


def belt_band(resp: np.ndarray, resp_fs: float, duration: float) -> np.ndarray:
    """The belt's first ``duration`` s, 0.08-1 Hz band-passed (2nd order, forward-backward),
    scaled so that a typical breath is about 1 peak to trough (2 sqrt(2) x its MAD)."""
    x = resp[: math.ceil(duration * resp_fs) + 1]
    sos = sps.butter(2, [0.08, min(1.0, 0.45 * resp_fs)], "bandpass", fs=resp_fs, output="sos")
    y = sps.sosfiltfilt(sos, x - np.median(x))
    mad = float(np.median(np.abs(y - np.median(y)))) * 1.4826
    return y / max(2 * math.sqrt(2) * mad, 1e-12)


#: Belt movements (:func:`belt_movements`): high-pass corner (Hz) of the movement band.
#: Breathing lies below 1 Hz (60 breaths/min), so what a belt records above 2 Hz is not
#: breathing: body movement, or the belt's own sensor noise.
BELT_MOVE_HP_HZ = 2.0
#: Length (s) of the moving window of the rms of the movement band.
BELT_MOVE_WINDOW_S = 2.0
#: Reference level: the larger of the night's median rms and its running median over
#: this many seconds (30 s block medians), so a posture where the belt is noisier than
#: usual raises its own reference instead of reading as one long movement.
BELT_MOVE_REF_WINDOW_S = 600.0
#: A movement starts where the rms exceeds this many times the reference level ...
BELT_MOVE_ON = 5.0
#: ... and lasts, on both sides, while the rms stays above this many times it.
BELT_MOVE_OFF = 2.0
#: ... or while the breathing band of the belt (:func:`belt_band`) is out of its usual
#: range: ``|band| >`` this many times the local breath size (peak to trough,
#: :func:`belt_breath_size`), i.e. three times the half swing of a typical breath (1.0,
#: twice it, chained normal breaths of a new, larger posture onto the step before it on
#: the plotted nights). It covers the slow part of a movement and the baseline step it
#: leaves, which the simulated bed receives through that band. It only extends a run
#: that holds a strong burst above 2 Hz: a lone sigh is no movement.
BELT_MOVE_EXCURSION = 1.5
#: Movements closer than this (s) are one movement; each is padded by BELT_MOVE_PAD_S.
BELT_MOVE_MERGE_S = 5.0
BELT_MOVE_PAD_S = 1.0


def belt_movements(resp: np.ndarray, resp_fs: float, duration: float) -> np.ndarray:
    """Intervals ``(n, 2)`` (s, from the belt's start) where the subject moved, from the
    raw breathing belt alone.

    Parameters
    ----------
    resp : np.ndarray
        Raw belt samples (any unit); only the first ``duration`` s are used.
    resp_fs : float
        Belt rate in Hz.
    duration : float
        Length (s) of the night.

    Returns
    -------
    np.ndarray
        Sorted, non-overlapping ``[start, end]`` rows (s) inside ``[0, duration]``.
        An empty ``(0, 2)`` array, without a warning, when the belt's first ``duration``
        s are shorter than 10 s, hold any non-finite value (NaN, inf), are flat (no
        rms above 2 Hz, so nothing exceeds the reference) or the belt is sampled below
        5 Hz (no band above 2 Hz): no movement is known, and the night has none from
        the belt.

    Notes
    -----
    1. ``h``: the belt minus its median, 2nd-order Butterworth high-pass at
       :data:`BELT_MOVE_HP_HZ`, forward-backward. Breathing (< 1 Hz) is gone; a body
       movement (transients, steps, rubbing) leaves broadband energy there.
    2. ``e``: the rms of ``h`` over a centred :data:`BELT_MOVE_WINDOW_S` window.
    3. Reference ``r``: per sample the larger of the night's median of ``e`` and the
       running median (:data:`BELT_MOVE_REF_WINDOW_S`) of its 30 s block medians.
    4. A movement is a run where ``e > BELT_MOVE_OFF * r`` or the belt's
       breathing band is out of range (``|b| > BELT_MOVE_EXCURSION x`` the local breath
       size, ``b`` = :func:`belt_band`) holding at least one sample with
       ``e > BELT_MOVE_ON * r`` (hysteresis: the flagged peak is often only the
       middle of a movement; the rest, and the baseline step it leaves, which reaches
       the simulated bed through the breathing band, are weaker above 2 Hz).
    5. Runs closer than :data:`BELT_MOVE_MERGE_S` join before step 4 (a movement
       pauses); each movement is padded by :data:`BELT_MOVE_PAD_S` on both sides and
       clipped to the night.

    Limits (measured on the 22 li2024 belts, branch beltmove review; the rule is kept
    as it is): the reference follows the belt over 10 min, so restlessness lasting
    longer than about 5 min raises its own reference and is not found; a belt whose
    noise above 2 Hz changes during the night hides movements on its noisy part
    (11_20231119: about 20x noisier after 0.33 h, a ~7 min restless stretch at
    380-850 s missed; 11_20231120 misses steps at about 400 and 570 s). Such misses
    are conservative for the breathing benchmark: they leave hard minutes counted as
    clean, against the detector. The simulator renders each interval as one movement
    of the model whose strength and posture change are the model's random draws, not
    the belt's, lasting the whole interval (median 13-22 s per night, up to 206 s,
    against the model's own 4 s).
    """
    from scipy.ndimage import median_filter, uniform_filter1d

    x = np.asarray(resp, dtype=np.float64)[: math.ceil(duration * resp_fs) + 1]
    if len(x) < 10.0 * resp_fs or resp_fs < 5.0 or not np.all(np.isfinite(x)):
        return np.empty((0, 2))
    sos = sps.butter(2, BELT_MOVE_HP_HZ, "highpass", fs=resp_fs, output="sos")
    h = sps.sosfiltfilt(sos, x - np.median(x))
    win = max(1, round(BELT_MOVE_WINDOW_S * resp_fs))
    e = np.sqrt(np.maximum(uniform_filter1d(h * h, win, mode="nearest"), 0.0))
    n = len(e)
    blk = max(1, round(30.0 * resp_fs))
    nb = -(-n // blk)
    a = np.full(nb * blk, np.nan)
    a[:n] = e
    local = np.nanmedian(a.reshape(nb, blk), axis=1)
    local = median_filter(local, size=max(1, round(BELT_MOVE_REF_WINDOW_S / 30.0)), mode="nearest")
    ref = np.maximum(np.repeat(local, blk)[:n], float(np.median(e)))
    y = belt_band(x, resp_fs, duration)
    big = np.abs(y) > BELT_MOVE_EXCURSION * belt_breath_size(y, resp_fs)
    off = (e > BELT_MOVE_OFF * ref) | big
    on = e > BELT_MOVE_ON * ref
    # runs of the weak condition, those closer than BELT_MOVE_MERGE_S joined (sample
    # indices, end exclusive); a joined run holding a strong sample is a movement
    edges = np.flatnonzero(np.diff(np.concatenate([[0], off.astype(np.int8), [0]])))
    s_i, e_i = edges[::2], edges[1::2]
    if len(s_i) == 0:
        return np.empty((0, 2))
    gap = round(BELT_MOVE_MERGE_S * resp_fs)
    new_run = np.concatenate([[True], s_i[1:] - e_i[:-1] >= gap])
    first = np.flatnonzero(new_run)
    last = np.concatenate([first[1:], [len(s_i)]]) - 1
    s_i, e_i = s_i[first], e_i[last]
    csum = np.concatenate([[0], np.cumsum(on)])
    keep = csum[e_i] > csum[s_i]
    iv = np.column_stack(
        [s_i[keep] / resp_fs - BELT_MOVE_PAD_S, e_i[keep] / resp_fs + BELT_MOVE_PAD_S]
    )
    iv = merge_intervals(np.clip(iv, 0.0, duration))
    return np.clip(iv, 0.0, duration)
