"""Per-epoch features for sleep staging (private; used by :mod:`sleepsignal.staging`).

Everything here works on plain arrays of seconds relative to the session start and on
the 30 s epoch grid that starts at 0. One numba kernel (:func:`_nn_mask_kernel`) does
the only sequential step, the beat-to-beat (NN) interval filter; the rest is vectorised
numpy. The same functions build the training features (``scripts/train_staging.py``)
and the run-time features, so the shipped model sees what it was trained on.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._numba import njit
from ._rank_filter import nan_running_median

__all__ = [
    "HEARTBEAT_BASE",
    "HEARTBEAT_FEATURES",
    "HEART_RATE_BASE",
    "HEART_RATE_FEATURES",
    "actigraphy_counts",
    "heart_rate_features",
    "heartbeat_features",
    "nn_mask",
]

EPOCH = 30.0

#: Acceptable beat-to-beat interval, s (200 to 30 bpm).
RR_MIN, RR_MAX = 0.3, 2.0
#: An interval is an NN interval if within this fraction of the running reference.
RR_TOLERANCE = 0.25
#: After this gap (s) with no accepted interval the reference restarts.
RR_MAX_GAP = 10.0
#: Consecutive rejections after which the reference restarts at the current interval.
RR_MAX_REJECT = 4

#: Resampling rate (Hz) of the NN series for spectral features, and window (samples).
SPECTRAL_FS = 4.0
SPECTRAL_WINDOW = 1024  # 256 s, centred on the epoch
VLF_BAND = (0.01, 0.04)
LF_BAND = (0.04, 0.15)
HF_BAND = (0.15, 0.40)

HEARTBEAT_BASE: tuple[str, ...] = (
    "hr",  # mean HR of the epoch, z-scored within the night
    "hr_10min",  # HR smoothed over 10 min (z)
    "hr_rel_low",  # 10 min HR minus the night's 5th percentile of HR, bpm / night IQR
    "hr_local",  # epoch HR minus 10 min HR (bpm / night IQR)
    "hr_max_jump",  # max HR in +-1 epoch minus 5 min median HR (z of bpm)
    "rmssd_90s",  # log RMSSD over 3 epochs (z)
    "rmssd_270s",  # log RMSSD over 9 epochs (z)
    "sdnn_270s",  # log SDNN over 9 epochs (z)
    "sd_ratio",  # log(SDNN / RMSSD) over 9 epochs (z)
    "pnn50_270s",  # fraction of successive differences > 50 ms over 9 epochs
    "log_vlf",  # log VLF power (cyclic variation, apnoea) over 256 s (z)
    "log_lf",  # log LF power (z)
    "log_hf",  # log HF power (z)
    "lf_hf",  # log LF/HF (z)
    "hf_norm",  # HF / (LF + HF)
    "hf_norm_10min",  # HF / (LF + HF) smoothed over 10 min
    "coverage",  # fraction of the epoch covered by NN intervals
    "hours",  # time since session start, h (clipped to 10)
    # ECG-derived respiration (respiratory sinus arrhythmia) over 32 s windows:
    "resp_rate",  # peak frequency of the RR series in 0.1-0.5 Hz, Hz
    "resp_entropy",  # spectral entropy in 0.1-0.5 Hz (0 one line .. 1 flat): irregularity
    "resp_peak",  # share of 0.1-0.5 Hz power within one bin of the peak: regularity
    "resp_centroid",  # power-weighted mean frequency in 0.1-0.5 Hz, Hz
    "resp_entropy_4.5min",  # resp_entropy smoothed over 9 epochs
    "resp_peak_4.5min",  # resp_peak smoothed over 9 epochs
    "resp_rate_sd_4.5min",  # SD of resp_rate over 9 epochs (epoch-to-epoch variability)
)

_MASKED_HB = np.array([i for i, k in enumerate(HEARTBEAT_BASE) if k not in ("hours", "coverage")])

HEART_RATE_BASE: tuple[str, ...] = (
    "hr",
    "hr_10min",
    "hr_rel_low",
    "hr_local",
    "hr_std_5",  # SD of epoch HR over 5 epochs (z of log)
    "hr_10min_slope",  # slope of 10 min HR, bpm per 10 min / night IQR
    "hours",
)

_MASKED_HR = np.array([i for i, k in enumerate(HEART_RATE_BASE) if k != "hours"])

#: Scales added to every base feature after per-night rank normalisation (epochs):
#: centred means over 11 and 21 epochs (5.5 and 10.5 min), the difference to the
#: centred 121-epoch (1 h) median, trailing means over 11 and 21 epochs.
SCALES: tuple[str, ...] = ("", "_c11", "_c21", "_d1h", "_t11", "_t21")
HEARTBEAT_FEATURES: tuple[str, ...] = tuple(b + s for s in SCALES for b in HEARTBEAT_BASE)
HEART_RATE_FEATURES: tuple[str, ...] = tuple(b + s for s in SCALES for b in HEART_RATE_BASE)

#: Window (samples at SPECTRAL_FS) and band (Hz) of the ECG-derived respiration.
EDR_WINDOW = 128  # 32 s
EDR_BAND = (0.1, 0.5)


@njit
def _nn_mask_kernel(
    starts: np.ndarray,
    rr: np.ndarray,
    lo: float,
    hi: float,
    tol: float,
    max_gap: float,
    max_reject: int,
) -> np.ndarray:
    n = len(rr)
    out = np.zeros(n, dtype=np.bool_)
    ref = np.nan
    last_end = -np.inf
    rejects = 0
    for i in range(n):
        x = rr[i]
        if not (x >= lo and x <= hi):
            continue
        restart = (ref != ref) or (starts[i] - last_end > max_gap) or rejects >= max_reject
        if restart or abs(x - ref) <= tol * ref:
            out[i] = True
            ref = x if restart else 0.75 * ref + 0.25 * x
            last_end = starts[i] + x
            rejects = 0
        else:
            rejects += 1
    return out


def nn_mask(starts: np.ndarray, rr: np.ndarray) -> np.ndarray:
    """Boolean mask of the intervals kept as normal-to-normal (NN) intervals.

    Parameters
    ----------
    starts : numpy.ndarray
        Interval start times, s, sorted.
    rr : numpy.ndarray
        Beat-to-beat intervals, s.

    Returns
    -------
    numpy.ndarray
        ``True`` where the interval is in 0.3..2.0 s and within 25 % of a running
        reference (0.75/0.25 exponential average of kept intervals; it restarts after a
        10 s gap or 4 rejections in a row).
    """
    s = np.ascontiguousarray(starts, dtype=np.float64)
    r = np.ascontiguousarray(rr, dtype=np.float64)
    return np.asarray(
        _nn_mask_kernel(s, r, RR_MIN, RR_MAX, RR_TOLERANCE, RR_MAX_GAP, RR_MAX_REJECT)
    )


# ---------------------------------------------------------------------------------
# helpers
def _window_sum(x: np.ndarray, k: int) -> np.ndarray:
    """Centred moving sum over ``k`` (odd) epochs, zero padding."""
    if len(x) == 0:
        return np.zeros(0)
    return np.convolve(x, np.ones(k))[k // 2 : k // 2 + len(x)]


def _window_counts(ok: np.ndarray, k: int, lag: int) -> np.ndarray:
    """Number of ``True`` in ``ok[..., i - lag : i - lag + k]`` (clipped to the array)
    for every ``i`` of the last axis, float64.

    Counted with a cumulative sum: the counts are small integers, exact in float64
    whatever the order of summation, so they equal the convolution with ``ones(k)``.
    """
    n = ok.shape[-1]
    cum = np.zeros((*ok.shape[:-1], n + 1))
    np.cumsum(ok, axis=-1, dtype=np.float64, out=cum[..., 1:])
    i = np.arange(n)
    return cum[..., np.minimum(i - lag + k, n)] - cum[..., np.maximum(i - lag, 0)]


def _nan_smooth(x: np.ndarray, k: int) -> np.ndarray:
    """Centred moving mean over ``k`` epochs ignoring NaN; NaN where no value."""
    ok = np.isfinite(x)
    s = _window_sum(np.where(ok, x, 0.0), k)
    c = _window_counts(ok, k, k // 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def _robust_z(x: np.ndarray, own: np.ndarray) -> np.ndarray:
    """(x - median) / IQR-based SD over the night's epochs that have data of their own.

    Epochs outside ``own`` get NaN, so that values that moving windows spread into a
    gap neither appear nor shift the normalisation.
    """
    x = np.where(own, x, np.nan)
    ok = np.isfinite(x)
    if ok.sum() < 3:
        return np.full_like(x, np.nan)
    q25, q50, q75 = np.percentile(x[ok], [25, 50, 75])
    scale = (q75 - q25) / 1.349
    if not scale > 0:
        scale = float(np.std(x[ok])) or 1.0
    return (x - q50) / scale


def _rank_night(x: np.ndarray) -> np.ndarray:
    """Per-column percentile rank (average rank of ties, (r + 0.5) / n) over the finite
    values of the night; NaN stays NaN."""
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        ok = np.isfinite(x[:, j])
        if ok.sum() < 3:
            continue
        v = x[ok, j]
        _, inv, cnt = np.unique(v, return_inverse=True, return_counts=True)
        first = np.cumsum(cnt) - cnt
        out[ok, j] = (first[inv] + (cnt[inv] - 1) / 2 + 0.5) / len(v)
    return out


def _running_median(x: np.ndarray, k: int) -> np.ndarray:
    """Centred median over ``k`` (odd) epochs ignoring NaN; NaN where none."""
    return nan_running_median(x, k)


def _trailing_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Mean over the epoch and the ``k - 1`` before it, ignoring NaN; NaN where none."""
    if len(x) == 0:
        return x.copy()
    ok = np.isfinite(x)
    s = np.convolve(np.where(ok, x, 0.0), np.ones(k))[: len(x)]
    c = _window_counts(ok, k, k - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def _multiscale(base: np.ndarray) -> np.ndarray:
    """Rank-normalise each base column within the night, then add the :data:`SCALES`.

    The same numbers as :func:`_nan_smooth`, :func:`_running_median` and
    :func:`_trailing_mean` column by column, in fewer numpy calls: the window sums of
    the values come from one full convolution per column and window length (the
    centred and the trailing mean are two slices of it), the counts of finite values
    from one cumulative sum.
    """
    r = _rank_night(base)
    n, m = r.shape
    out = np.empty((n, len(SCALES) * m))
    out[:, :m] = r
    if n == 0:
        return out
    rt = np.ascontiguousarray(r.T)
    ok = np.isfinite(rt)
    x0 = np.where(ok, rt, 0.0)
    full = {k: [np.convolve(row, np.ones(k)) for row in x0] for k in (11, 21)}
    # (slot in SCALES, window, lag): centred 11 and 21, trailing 11 and 21
    with np.errstate(invalid="ignore", divide="ignore"):
        for slot, k, lag in ((1, 11, 5), (2, 21, 10), (4, 11, 10), (5, 21, 20)):
            a = k - 1 - lag
            s = np.array([f[a : a + n] for f in full[k]])
            c = _window_counts(ok, k, lag)
            out[:, slot * m : (slot + 1) * m] = np.where(c > 0, s / np.maximum(c, 1), np.nan).T
    for j in range(m):
        out[:, 3 * m + j] = rt[j] - _running_median(rt[j], 121)
    return out


def _iqr(x: np.ndarray) -> float:
    ok = np.isfinite(x)
    if ok.sum() < 3:
        return np.nan
    q25, q75 = np.percentile(x[ok], [25, 75])
    return float(q75 - q25) if q75 > q25 else 1.0


def _hours(n_epochs: int) -> np.ndarray:
    return np.minimum((np.arange(n_epochs) + 0.5) * EPOCH / 3600.0, 10.0)


def _hr_block(hr: np.ndarray) -> dict[str, np.ndarray]:
    """Features from the per-epoch HR (bpm, NaN where unknown)."""
    n = len(hr)
    own = np.isfinite(hr)
    hr10 = np.where(own, _nan_smooth(hr, 21), np.nan)
    iqr = _iqr(hr)
    finite = hr[np.isfinite(hr)]
    low = np.percentile(finite, 5) if len(finite) >= 3 else np.nan
    slope = np.full(n, np.nan)
    if n > 20:
        slope[10:-10] = hr10[20:] - hr10[:-20]
    return {
        "hr": _robust_z(hr, own),
        "hr_10min": _robust_z(hr10, own),
        "hr_rel_low": (hr10 - low) / iqr,
        "hr_local": (hr - hr10) / iqr,
        "hr_10min_slope": slope / iqr,
        "hours": _hours(n),
    }


# ---------------------------------------------------------------------------------
def heartbeat_features(starts: np.ndarray, rr: np.ndarray, n_epochs: int) -> np.ndarray:
    """Feature matrix ``(n_epochs, len(HEARTBEAT_FEATURES))`` from beat intervals.

    Parameters
    ----------
    starts : numpy.ndarray
        Interval start times, s relative to the session start, sorted.
    rr : numpy.ndarray
        Beat-to-beat intervals, s.
    n_epochs : int
        Number of 30 s epochs from time 0.

    Returns
    -------
    numpy.ndarray
        float64 features, NaN where an epoch has too few beats for a feature.
    """
    starts = np.asarray(starts, dtype=np.float64)
    rr = np.asarray(rr, dtype=np.float64)
    keep = nn_mask(starts, rr)
    t, x = starts[keep], rr[keep]
    mid = t + x / 2
    ep = np.floor(mid / EPOCH).astype(np.int64)
    inside = (ep >= 0) & (ep < n_epochs)
    # successive differences between consecutive kept intervals that touch
    touch = np.abs(t[1:] - (t[:-1] + x[:-1])) < 0.05
    d = np.diff(x)
    dep = ep[1:]
    d_in = touch & (dep >= 0) & (dep < n_epochs)

    cnt = np.bincount(ep[inside], minlength=n_epochs).astype(np.float64)
    s1 = np.bincount(ep[inside], weights=x[inside], minlength=n_epochs)
    s2 = np.bincount(ep[inside], weights=x[inside] ** 2, minlength=n_epochs)
    dcnt = np.bincount(dep[d_in], minlength=n_epochs).astype(np.float64)
    d2 = np.bincount(dep[d_in], weights=d[d_in] ** 2, minlength=n_epochs)
    d50 = np.bincount(dep[d_in], weights=(np.abs(d[d_in]) > 0.05).astype(float), minlength=n_epochs)

    with np.errstate(invalid="ignore", divide="ignore"):
        hr = np.where(cnt >= 5, 60.0 / (s1 / np.maximum(cnt, 1)), np.nan)
        feats = _hr_block(hr)
        own = np.isfinite(hr)
        # max HR jump: max of epoch HR over +-1 epoch minus 5 min median
        hr_pad = np.pad(hr, 1, constant_values=np.nan)
        hrmax = np.fmax(np.fmax(hr_pad[:-2], hr_pad[1:-1]), hr_pad[2:])
        feats["hr_max_jump"] = (hrmax - _nan_smooth(hr, 11)) / _iqr(hr)

        def rmssd(k: int) -> np.ndarray:
            c = _window_sum(dcnt, k)
            return np.where(c >= 5 * k, np.log(np.sqrt(_window_sum(d2, k) / c) + 1e-3), np.nan)

        c9 = _window_sum(cnt, 9)
        m9 = _window_sum(s1, 9) / c9
        var9 = _window_sum(s2, 9) / c9 - m9**2
        sdnn9 = np.where(c9 >= 45, np.log(np.sqrt(np.maximum(var9, 0)) + 1e-3), np.nan)
        r3, r9 = rmssd(3), rmssd(9)
        feats["rmssd_90s"] = _robust_z(r3, own)
        feats["rmssd_270s"] = _robust_z(r9, own)
        feats["sdnn_270s"] = _robust_z(sdnn9, own)
        feats["sd_ratio"] = _robust_z(sdnn9 - r9, own)
        dc9 = _window_sum(dcnt, 9)
        feats["pnn50_270s"] = np.where(dc9 >= 45, _window_sum(d50, 9) / dc9, np.nan)
        feats["coverage"] = np.minimum(s1 / EPOCH, 1.0)

    own = np.isfinite(hr)
    ends = t + x
    # one NN grid for the HRV spectrum and the ECG-derived respiration (a slice of it)
    grid: _NNGrid | None = None
    if len(x) >= 10 and n_epochs:
        half = SPECTRAL_WINDOW // 2
        grid = _nn_grid(ends, x, n_epochs, half)
    spec = _spectral(ends, x, n_epochs, grid)
    with np.errstate(invalid="ignore", divide="ignore"):
        vlf, lf, hf = spec
        feats["log_vlf"] = _robust_z(np.log(vlf), own)
        feats["log_lf"] = _robust_z(np.log(lf), own)
        feats["log_hf"] = _robust_z(np.log(hf), own)
        feats["lf_hf"] = _robust_z(np.log(lf / hf), own)
        hfn = hf / (lf + hf)
        feats["hf_norm"] = hfn
        feats["hf_norm_10min"] = _nan_smooth(hfn, 21)
    if not n_epochs:
        return np.zeros((0, len(HEARTBEAT_FEATURES)))
    rate, entropy, peak, centroid = _edr(ends, x, n_epochs, grid)
    feats["resp_rate"] = rate
    feats["resp_entropy"] = entropy
    feats["resp_peak"] = peak
    feats["resp_centroid"] = centroid
    feats["resp_entropy_4.5min"] = _nan_smooth(entropy, 9)
    feats["resp_peak_4.5min"] = _nan_smooth(peak, 9)
    with np.errstate(invalid="ignore"):
        var = _nan_smooth(rate**2, 9) - _nan_smooth(rate, 9) ** 2
    feats["resp_rate_sd_4.5min"] = np.sqrt(np.maximum(var, 0.0))
    base = np.column_stack([feats[k] for k in HEARTBEAT_BASE])
    # an epoch without beats of its own gets no windowed feature either: otherwise the
    # windows would leak values into gaps and shift the night's normalisation
    no_beats = ~np.isfinite(hr)
    base[np.ix_(no_beats, _MASKED_HB)] = np.nan
    return _multiscale(base)


class _NNGrid(NamedTuple):
    """The NN series on its resampling grid, for the windowed spectra.

    The grid is ``(arange(length) - half) / SPECTRAL_FS`` (s): ``half`` samples before
    time 0 and after the last epoch. A grid point is valid when an NN interval ends
    within 3 s of it; the valid points are the disjoint runs ``[run_lo, run_hi)`` of
    grid indices (sorted), ``run_cum`` the total length of the runs before each run.
    ``ends`` and ``rr``: the series that :func:`numpy.interp` resamples, only at the
    grid points of the windows whose spectrum is kept.
    """

    length: int
    half: int
    run_lo: np.ndarray
    run_hi: np.ndarray
    run_cum: np.ndarray
    ends: np.ndarray
    rr: np.ndarray


def _grid_times(idx: np.ndarray, half: int) -> np.ndarray:
    """Grid times (s) of grid indices: the values of ``arange(-half, ...) / SPECTRAL_FS``
    (whole numbers of samples, exact in float64)."""
    return (idx - half) / SPECTRAL_FS


def _valid_below(nn: _NNGrid, j: np.ndarray) -> np.ndarray:
    """Number of valid grid points with an index below each ``j``."""
    if len(nn.run_lo) == 0:
        return np.zeros(len(j), dtype=np.int64)
    k = np.searchsorted(nn.run_lo, j, side="left")  # runs that start below j
    last = np.maximum(k - 1, 0)
    part = np.minimum(j, nn.run_hi[last]) - nn.run_lo[last]
    return np.where(k > 0, nn.run_cum[last] + part, 0)


def _windows(nn: _NNGrid, starts: np.ndarray, win: int) -> tuple[np.ndarray, np.ndarray]:
    """The interpolated series on the windows ``[s, s + win)`` (grid indices) that have
    at least 80 % of their grid points valid (a new array, one row per window), and the
    indices into ``starts`` of those rows.

    :func:`numpy.interp` computes each point on its own, so these rows equal the rows
    of the series interpolated on the whole grid, value for value. A single kept window
    (of several) comes twice: one row alone would be C- and F-ordered at once, and
    numpy sums the columns of such a row in another order than those of a matrix.
    When the windows hold more points than the grid, the whole grid is interpolated
    once and the rows are copied out of it.
    """
    count = _valid_below(nn, starts + win) - _valid_below(nn, starts)
    sel = np.flatnonzero(count / win >= 0.8)
    if len(sel) == 1 and len(starts) > 1:
        sel = np.repeat(sel, 2)
    if len(sel) * win < nn.length:  # few windows: interpolate their points only
        idx = starts[sel, None] + np.arange(win)
        return np.interp(_grid_times(idx, nn.half), nn.ends, nn.rr), sel
    y = np.interp(_grid_times(np.arange(nn.length), nn.half), nn.ends, nn.rr)
    return np.lib.stride_tricks.sliding_window_view(y, win)[starts[sel]], sel


def _nn_grid(ends: np.ndarray, rr: np.ndarray, n_epochs: int, half: int) -> _NNGrid:
    """The grid ``arange(-half, n_epochs * EPOCH * SPECTRAL_FS + half) / SPECTRAL_FS``
    (s) of the NN series, and the runs of its grid points with an NN interval ending
    within 3 s (``min(|g - nearest end below|, |nearest end above - g|) <= 3`` in
    float64). Grid values are exact multiples of ``1 / SPECTRAL_FS``, so the grid of a
    smaller ``half`` is a slice of this one, value for value."""
    length = len(np.arange(-half, n_epochs * EPOCH * SPECTRAL_FS + half))
    if (
        len(ends)
        and np.isfinite(ends[0])
        and np.isfinite(ends[-1])
        and np.all(ends[1:] >= ends[:-1])
    ):
        # Sorted ends: a point is valid when any end is within 3 s (the nearest one on
        # either side is then too), and ``|g - e| <= 3`` in float64 holds on one run of
        # grid points per end: its first and last index are found from (e -+ 3) *
        # SPECTRAL_FS and then checked with that very comparison, one step either way.
        # No pass over the whole grid.
        def off(j: np.ndarray) -> np.ndarray:
            return _grid_times(j, half) - ends

        lo = np.clip(np.ceil((ends - 3.0) * SPECTRAL_FS) + half, -2, length + 2).astype(np.int64)
        lo = np.where(off(lo - 1) >= -3.0, lo - 1, lo)
        lo = np.where(off(lo) >= -3.0, lo, lo + 1)
        hi = np.clip(np.floor((ends + 3.0) * SPECTRAL_FS) + half, -2, length + 2).astype(np.int64)
        hi = np.where(off(hi + 1) <= 3.0, hi + 1, hi)
        hi = np.where(off(hi) <= 3.0, hi, hi - 1)
        run_hi = np.clip(hi + 1, 0, length)
        run_lo = np.minimum(np.clip(lo, 0, length), run_hi)
        # the runs of neighbouring ends overlap: each starts where the one before ends
        run_lo = np.maximum(run_lo, np.concatenate(([0], run_hi[:-1])))
    else:  # unsorted or non-finite ends: every grid point with numpy's own search
        grid = np.arange(-half, n_epochs * EPOCH * SPECTRAL_FS + half) / SPECTRAL_FS
        pos = np.searchsorted(ends, grid)
        lo_i = np.clip(pos - 1, 0, len(ends) - 1)
        hi_i = np.clip(pos, 0, len(ends) - 1)
        valid = np.minimum(np.abs(grid - ends[lo_i]), np.abs(ends[hi_i] - grid)) <= 3.0
        edge = np.diff(np.concatenate(([False], valid, [False])).astype(np.int8))
        run_lo, run_hi = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    run_cum = np.concatenate(([0], np.cumsum(run_hi - run_lo)))
    return _NNGrid(length, half, run_lo, run_hi, run_cum, ends, rr)


def _edr(
    ends: np.ndarray,
    rr: np.ndarray,
    n_epochs: int,
    grid: _NNGrid | None = None,
) -> tuple[np.ndarray, ...]:
    """ECG-derived respiration per epoch from the NN series (respiratory sinus arrhythmia).

    The NN series resampled at :data:`SPECTRAL_FS` is cut in :data:`EDR_WINDOW`-sample
    windows centred on each epoch, detrended, Hann-windowed; in :data:`EDR_BAND` it
    returns the peak frequency (breathing rate, Hz), the normalised spectral entropy,
    the share of power within one bin of the peak, and the centroid frequency. NaN
    where less than 80 % of the window has an NN interval ending within 3 s.
    ``grid``: :func:`_nn_grid` of the same series with its ``half`` (at least
    ``EDR_WINDOW // 2``), when the caller has it already.
    """
    out = tuple(np.full(n_epochs, np.nan) for _ in range(4))
    if len(rr) < 10 or n_epochs == 0:
        return out
    win = EDR_WINDOW
    half = win // 2
    nn = _nn_grid(ends, rr, n_epochs, half) if grid is None else grid
    centres = ((np.arange(n_epochs) + 0.5) * EPOCH * SPECTRAL_FS).astype(np.int64)
    seg, sel = _windows(nn, centres + (nn.half - half), win)  # only the kept windows
    tt = np.arange(win) - (win - 1) / 2
    seg -= seg.mean(axis=1, keepdims=True)
    # The two matrix products (the detrending slope, the centroid) go through BLAS,
    # whose rounding of a row depends on the row's place in the matrix: they run on
    # the (n_epochs, ...) shape of all windows, zeros in the rows not kept, so every
    # kept row is where it always was. Everything else is row by row.
    full = np.zeros((n_epochs, win))
    full[sel] = seg
    seg -= np.outer((full @ tt)[sel] / (tt @ tt), tt)
    seg *= np.hanning(win)
    p = np.abs(np.fft.rfft(seg, axis=1))
    p *= p
    f = np.fft.rfftfreq(win, 1 / SPECTRAL_FS)
    band = (f >= EDR_BAND[0]) & (f < EDR_BAND[1])
    pb = p[:, band] + 1e-15
    fb = f[band]
    q = pb / pb.sum(axis=1, keepdims=True)
    entropy = -(q * np.log(q)).sum(axis=1) / np.log(band.sum())
    k = pb.argmax(axis=1)
    near = np.clip(k[:, None] + np.arange(-1, 2)[None, :], 0, band.sum() - 1)
    peak = np.take_along_axis(q, near, axis=1).sum(axis=1)
    # zeros in the memory layout of the old all-rows ``q`` (a boolean column index gives
    # column-major rows), which decides how BLAS sums each row
    q_full = np.zeros_like(np.empty((n_epochs, p.shape[1]))[:, band])
    q_full[sel] = q
    for o, r in zip(out, (fb[k], entropy, peak, (q_full @ fb)[sel]), strict=True):
        o[sel] = r
    return out


def _spectral(
    ends: np.ndarray,
    rr: np.ndarray,
    n_epochs: int,
    grid: _NNGrid | None = None,
) -> tuple[np.ndarray, ...]:
    """VLF, LF, HF power (s^2) of the NN series in a 256 s window centred on each epoch.

    ``grid``: :func:`_nn_grid` of the same series with ``half = SPECTRAL_WINDOW // 2``,
    when the caller has it already. Only the windows at least 80 % valid are
    transformed (the others are NaN); each row's mean, FFT and band sums are computed
    row by row, so they do not depend on which other rows are there.
    """
    out = tuple(np.full(n_epochs, np.nan) for _ in range(3))
    if len(rr) < 10 or n_epochs == 0:
        return out
    half = SPECTRAL_WINDOW // 2
    nn = _nn_grid(ends, rr, n_epochs, half) if grid is None else grid
    centres = ((np.arange(n_epochs) + 0.5) * EPOCH * SPECTRAL_FS).astype(np.int64)  # index
    seg, sel = _windows(nn, centres + (nn.half - half), SPECTRAL_WINDOW)  # offset -half
    seg -= seg.mean(axis=1, keepdims=True)
    seg *= np.hanning(SPECTRAL_WINDOW)
    f = np.fft.rfftfreq(SPECTRAL_WINDOW, 1 / SPECTRAL_FS)
    # power of the bins below the top band edge only (a fifth of them at 4 Hz): the
    # band sums see the same values in the same order
    f = f[: int(np.count_nonzero(f < max(VLF_BAND[1], LF_BAND[1], HF_BAND[1])))]
    p = np.abs(np.fft.rfft(seg, axis=1)[:, : len(f)])
    p *= p
    for o, (lo, hi) in zip(out, (VLF_BAND, LF_BAND, HF_BAND), strict=True):
        band = (f >= lo) & (f < hi)
        o[sel] = p[:, band].sum(axis=1) + 1e-12
    return out


def heart_rate_features(times: np.ndarray, bpm: np.ndarray, n_epochs: int) -> np.ndarray:
    """Feature matrix ``(n_epochs, len(HEART_RATE_FEATURES))`` from a heart-rate track.

    Parameters
    ----------
    times : numpy.ndarray
        Sample times, s relative to the session start.
    bpm : numpy.ndarray
        Heart rate, bpm; values outside 25..220 bpm are ignored.
    n_epochs : int
        Number of 30 s epochs from time 0.
    """
    times = np.asarray(times, dtype=np.float64)
    bpm = np.asarray(bpm, dtype=np.float64)
    ok = np.isfinite(bpm) & (bpm >= 25) & (bpm <= 220) & np.isfinite(times)
    ep = np.floor(times[ok] / EPOCH).astype(np.int64)
    inside = (ep >= 0) & (ep < n_epochs)
    c = np.bincount(ep[inside], minlength=n_epochs)
    s = np.bincount(ep[inside], weights=bpm[ok][inside], minlength=n_epochs)
    with np.errstate(invalid="ignore", divide="ignore"):
        hr = np.where(c > 0, s / np.maximum(c, 1), np.nan)
        feats = _hr_block(hr)
        own = np.isfinite(hr)
        lhr = np.log(hr)
        m = _nan_smooth(lhr, 5)
        m2 = _nan_smooth(lhr**2, 5)
        feats["hr_std_5"] = _robust_z(np.log(np.sqrt(np.maximum(m2 - m**2, 0)) + 1e-4), own)
    if not n_epochs:
        return np.zeros((0, len(HEART_RATE_FEATURES)))
    x = np.column_stack([feats[k] for k in HEART_RATE_BASE])
    x[np.ix_(~np.isfinite(hr), _MASKED_HR)] = np.nan
    return _multiscale(x)


def actigraphy_counts(times: np.ndarray, counts: np.ndarray, n_epochs: int) -> np.ndarray:
    """Movement count per 30 s epoch from a 60 s ``actigram`` track (half per epoch).

    NaN for epochs no actigram item covers.
    """
    times = np.asarray(times, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    total = np.zeros(n_epochs)
    seen = np.zeros(n_epochs, dtype=bool)
    ok = np.isfinite(times) & np.isfinite(counts)
    for half in (0.0, EPOCH):
        ep = np.floor((times[ok] + half) / EPOCH).astype(np.int64)
        inside = (ep >= 0) & (ep < n_epochs)
        np.add.at(total, ep[inside], counts[ok][inside] / 2)
        seen[ep[inside]] = True
    return np.where(seen, total, np.nan)
