"""Simulated nights with PVC-shaped ectopic beats, for the heartbeat tests and benchmarks.

``simulate_night`` moves a few beats early but keeps their shape (only the amplitude
changes), so the detector sees them as ordinary beats. A premature ventricular
contraction also has another complex. :func:`pvc_night` renders a night from a list of
normal beat-to-beat intervals in which each chosen beat is left out (the normal beats
keep their times: a full compensatory pause), then adds at the premature place (60-75 %
of the normal interval after the previous beat) a complex of another shape: the local
average beat of the signal stretched 2x in time (a wide complex; it correlates 0-0.3
with the normal one, where two normal beats do 0.55-0.8), scaled to 0.5-1.5 x the local beat energy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sleepsignal.simulate import simulate_night


class PvcNight(NamedTuple):
    x: np.ndarray  # float64 BCG with the ectopic complexes added
    fs: float
    beats: np.ndarray  # every true beat time (s), normal and ectopic, sorted
    ectopic: np.ndarray  # the ectopic beat times (s)


def normal_rr(hours: float, seed: int, mean: float = 0.95) -> np.ndarray:
    """Plausible normal beat-to-beat intervals (s): ``mean`` +- 0.11 s, slowly wandering."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 / (mean - 0.15)) + 50
    t = np.arange(n)
    base = mean + 0.08 * np.sin(2 * np.pi * t / rng.uniform(400, 900) + rng.uniform(0, 6))
    resp = 0.03 * np.sin(2 * np.pi * t / rng.uniform(3.5, 5.0))
    return base + resp + rng.normal(0.0, 0.01, n)


def pvc_night(
    hours: float,
    seed: int,
    rate: float,
    profile: str = "cardiac",
    body_noise: float = 0.25,
    mean_rr: float = 0.95,
    amp: tuple[float, float] = (0.5, 1.5),
    stretch: float = 2.0,
    pause: float = 1.0,
    at: tuple[float, float] = (0.60, 0.75),
    beat_drift: float = 0.0,
) -> PvcNight:
    """A simulated night where a share ``rate`` of the normal beats is replaced by PVCs.

    ``amp``: range of the ectopic complex's energy relative to the local beat (sqrt);
    ``stretch``: its widening in time (1: the normal shape); ``pause``: 1 leaves the
    normal beat after it in place (full compensatory pause), 0 < pause < 1 brings it
    earlier by ``(1 - pause)`` x the normal interval (a partial pause), 0 keeps the
    rhythm (an interpolated beat); ``at``: range of the ectopic beat's place, as a
    share of the normal interval after the beat before it."""
    rng = np.random.default_rng(10_000 + seed)
    rr = normal_rr(hours, seed, mean_rr)
    m = len(rr)
    # chosen beats: apart by at least 3, not at the ends
    k = np.sort(rng.choice(np.arange(20, m - 20), size=int(rate * m), replace=False))
    k = k[np.concatenate([[True], np.diff(k) > 3])] if len(k) else k
    # beat j sits after rr[:j]; leaving beat k out merges rr[k-1] and rr[k]
    keep = np.ones(m, dtype=bool)
    keep[k] = False
    merged = rr.copy()
    merged[k - 1] += rr[k] * pause
    night = simulate_night(
        hours,
        seed=seed,
        rr=merged[np.flatnonzero(keep)],
        profile=profile,  # type: ignore[arg-type]
        body_noise=body_noise,
        movement_rate=0.0,
        ectopic_rate=0.0,
        beat_drift=beat_drift,
    )
    x32, fs = night.session.signal("normal")
    x = x32.astype(np.float64)
    normal = night.truth.beat_times
    # the rendered normal beat j (rr index) is normal[position among kept]; PVC time
    # between the kept neighbours
    pos = np.cumsum(keep) - 1  # index into the kept beats of each rr beat
    prev = pos[k - 1]
    inside = (prev >= 8) & (prev + 9 < len(normal))
    prev = prev[inside]
    frac = rng.uniform(at[0], at[1], len(prev))
    gap = normal[prev + 1] - normal[prev]
    ect = normal[prev] + frac * gap / (1.0 + pause)  # the normal interval, about
    half = round(0.45 * fs)
    w = np.arange(-half, half + 1)
    added = np.ones(len(ect), dtype=bool)
    scale = rng.uniform(amp[0], amp[1], len(ect))
    for j, (e, p, s) in enumerate(zip(ect, prev, scale, strict=True)):
        nb = normal[p - 7 : p + 9]
        nb = nb[np.abs(nb - e) > 0.3]
        idx = np.round(nb * fs).astype(np.int64)[:, None] + w[None, :]
        c = round(e * fs)
        if idx.min() < 0 or idx.max() >= len(x) or c - half < 0 or c + half >= len(x):
            added[j] = False
            continue
        seg = x[idx] - x[idx].mean(axis=1, keepdims=True)
        avg = seg.mean(axis=0)
        shape = np.interp(w / stretch, w, avg)  # 2: a wide complex, correlation 0-0.3
        shape *= s * np.sqrt(np.sum(avg**2) / max(np.sum(shape**2), 1e-12))
        x[c - half : c + half + 1] += shape
    ect = ect[added]
    beats = np.sort(np.concatenate([normal, ect]))
    return PvcNight(x, float(fs), beats, ect)


def nearest(beats: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the true beat nearest to each time in ``t`` (``beats`` sorted)."""
    b = np.asarray(beats, dtype=np.float64)
    j = np.clip(np.searchsorted(b, t), 1, len(b) - 1)
    return np.where(np.abs(b[j - 1] - t) <= np.abs(b[j] - t), j - 1, j)


def spanning(
    starts: np.ndarray,
    intervals: np.ndarray,
    beats: np.ndarray,
    lag: float | None = None,
    lag_window: float | None = None,
) -> np.ndarray:
    """True for the intervals that span a true beat, by index: with the detection lag
    taken off, the true beat nearest to the interval's end is at least two after the
    one nearest to its start. Unlike a length match this also flags an interval over an
    interpolated beat (no pause), which is as long as one normal interval. An interval
    reaching past the first or last true beat maps its outer end to that beat, so it is
    never flagged there (simulated truth covers the whole recording).

    The lag is ``lag`` if given, else the median of ``start`` minus its nearest true
    beat over all ``starts`` or, with ``lag_window`` (s), over the starts within
    +-lag_window/2 of each (drifting beats: the point of the complex the detector times
    moves over the night, as in ``score_intervals``)."""
    b = np.asarray(beats, dtype=np.float64)
    s = np.asarray(starts, dtype=np.float64)
    if len(s) == 0 or len(b) < 2:
        return np.zeros(len(s), dtype=bool)
    if lag is not None:
        shift: float | np.ndarray = float(lag)
    else:
        d = s - b[nearest(b, s)]
        if lag_window is None:
            shift = float(np.median(d))
        else:
            order = np.argsort(s, kind="stable")
            so, do = s[order], d[order]
            lo = np.searchsorted(so, so - lag_window / 2)
            hi = np.searchsorted(so, so + lag_window / 2, side="right")
            shift = np.empty(len(s))
            shift[order] = [np.median(do[a:z]) for a, z in zip(lo, hi, strict=True)]
    i0 = nearest(b, s - shift)
    i1 = nearest(b, s + np.asarray(intervals, dtype=np.float64) - shift)
    return i1 - i0 >= 2
