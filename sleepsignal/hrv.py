"""Heart-rate variability from beat-to-beat intervals: RMSSD and the Beddit night indices."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._rank_filter import median_filter
from ._validate import check_bins, real_array, real_number
from .errors import SignalError, SleepSignalWarning

__all__ = ["HRV_SPAN", "night_hrv_indices", "rmssd"]

#: Length (s) of the evening, morning and resting HRV spans (15 minutes).
HRV_SPAN = 900.0

_MIN_PAIRS_SPAN = 100  # successive pairs needed for a 15-minute index
_MIN_BEATS_MINUTE = 20  # intervals needed for a one-minute mean heart rate
_NN_NEIGHBOURS = 31  # normal-to-normal: within 20 % of the median of 31 intervals
_NN_DEVIATION = 0.2


def _vectors(
    intervals: np.ndarray, starts: np.ndarray | None, starts_name: str = "starts"
) -> tuple[np.ndarray, np.ndarray | None]:
    iv = real_array(intervals, "intervals")
    if np.any(~np.isfinite(iv)) or np.any(iv <= 0):
        raise SignalError("intervals must be finite and positive (s)")
    if starts is None:
        return iv, None
    st = real_array(starts, starts_name)
    if st.shape != iv.shape:
        raise SignalError(
            f"{starts_name} and intervals must have one length, got {st.shape} and {iv.shape}"
        )
    if np.any(~np.isfinite(st)) or np.any(np.diff(st) < 0):
        raise SignalError(f"{starts_name} must be finite and non-decreasing (s)")
    return iv, st


def _successive_diffs(iv: np.ndarray, st: np.ndarray | None, tolerance: float) -> np.ndarray:
    d = np.diff(iv)
    if st is None:
        return d
    # a pair counts only when the second interval starts where the first one ends
    joined = np.abs(st[1:] - (st[:-1] + iv[:-1])) <= tolerance
    return d[joined]


def rmssd(
    intervals: np.ndarray,
    *,
    starts: np.ndarray | None = None,
    tolerance: float = 0.05,
    min_pairs: int = 2,
) -> float:
    """Root mean square of successive differences of beat-to-beat intervals (s).

    Parameters
    ----------
    intervals : array_like
        Beat-to-beat intervals in s, in time order.
    starts : array_like, optional
        Start of each interval in s. When given, only pairs of intervals that follow each
        other without a gap (the second starts within ``tolerance`` of the end of the
        first) count; without it every neighbouring pair counts.
    tolerance : float
        Gap tolerance in s.
    min_pairs : int
        Fewest successive pairs for a value.

    Returns
    -------
    float
        RMSSD in s; NaN with a :class:`~sleepsignal.errors.SleepSignalWarning` when fewer
        than ``min_pairs`` successive pairs exist.

    Raises
    ------
    SignalError
        For non-1-D, non-real, non-finite or non-positive intervals, misshaped
        ``starts``, a negative or NaN ``tolerance`` or a ``min_pairs`` that is not a
        whole number (``2`` and ``2.0`` are both fine).

    Examples
    --------
    >>> round(rmssd([0.80, 0.82, 0.79, 0.81]), 5)  # diffs 0.02, -0.03, 0.02 s
    0.0238
    """
    iv, st = _vectors(intervals, starts)
    if not real_number(tolerance, "tolerance") >= 0:
        raise SignalError(f"tolerance must be a number of s >= 0, got {tolerance!r}")
    if not real_number(min_pairs, "min_pairs").is_integer():  # 2.0 is fine, 2.5 not
        raise SignalError(f"min_pairs must be a whole number, got {min_pairs!r}")
    min_pairs = int(min_pairs)
    d = _successive_diffs(iv, st, tolerance)
    if d.shape[0] < max(1, min_pairs):
        warnings.warn(
            f"RMSSD needs at least {max(1, min_pairs)} successive interval pairs, got "
            f"{d.shape[0]}; returning NaN",
            SleepSignalWarning,
            stacklevel=2,
        )
        return math.nan
    return float(np.sqrt(np.mean(d * d)))


def _span_rmssd(
    iv: np.ndarray, st: np.ndarray, lo: float, hi: float, ends: np.ndarray | None = None
) -> tuple[float, int]:
    """RMSSD and pair count of the intervals inside ``[lo, hi]``. ``ends``: ``st + iv``
    when it is non-decreasing (intervals that do not overlap); the intervals inside are
    then one index range, found by binary search instead of a mask of the whole night."""
    if ends is None:
        m = (st >= lo) & (st + iv <= hi)
        d = _successive_diffs(iv[m], st[m], 0.05)
    else:
        a = int(np.searchsorted(st, lo, side="left"))
        b = max(a, int(np.searchsorted(ends, hi, side="right")))
        d = _successive_diffs(iv[a:b], st[a:b], 0.05)
    if d.shape[0] < _MIN_PAIRS_SPAN:
        return math.nan, int(d.shape[0])
    return float(np.sqrt(np.mean(d * d))), int(d.shape[0])


def _best_span(iv: np.ndarray, st: np.ndarray, lo: float, hi: float) -> float:
    """RMSSD of the 15-minute span inside [lo, hi] with the most successive pairs.

    Spans start every 60 s; the earliest span wins a tie. When the intervals do not
    overlap, every span's pair count comes from one cumulative count of the joined
    pairs (the spans are index ranges) and only the winner's RMSSD is computed.
    """
    ends: np.ndarray | None = st + iv
    if np.any(np.diff(st + iv) < 0):  # overlapping intervals: mask the night per span
        ends = None
    span_starts: list[float] = []
    s = lo
    while s + HRV_SPAN <= hi + 1e-9:
        span_starts.append(s)
        s += 60.0
    if ends is None:
        best_n = -1
        best = math.nan
        for s in span_starts:
            v, n = _span_rmssd(iv, st, s, s + HRV_SPAN, None)
            if math.isfinite(v) and n > best_n:
                best_n, best = n, v
        return best
    if not span_starts:
        return math.nan
    s0 = np.array(span_starts)
    a = np.searchsorted(st, s0, side="left")
    b = np.maximum(a, np.searchsorted(ends, s0 + HRV_SPAN, side="right"))
    # pairs (i, i + 1) of a span [a, b) are those with a <= i < b - 1, joined as in
    # _successive_diffs
    joined = np.abs(st[1:] - (st[:-1] + iv[:-1])) <= 0.05
    cum = np.concatenate([[0], np.cumsum(joined)])
    # a span past the last interval has a = b = len(iv) = len(cum): clip the indices
    # (np.where evaluates both sides; those spans take the 0)
    last = len(cum) - 1
    hi_i = np.minimum(np.maximum(b - 1, a), last)
    n_pairs = np.where(b - a >= 2, cum[hi_i] - cum[np.minimum(a, last)], 0)
    n_pairs = np.where(n_pairs >= _MIN_PAIRS_SPAN, n_pairs, -1)
    k = int(np.argmax(n_pairs))  # the first of the largest: the earliest span
    if n_pairs[k] < 0:
        return math.nan
    v, _ = _span_rmssd(iv, st, span_starts[k], span_starts[k] + HRV_SPAN, ends)
    return v


def night_hrv_indices(
    times: np.ndarray,
    intervals: np.ndarray,
    *,
    start: float,
    end: float,
    normal_to_normal: bool = False,
) -> dict[str, float]:
    """The Beddit Sleep HRV properties of one night (RMSSD, s).

    Parameters
    ----------
    times : array_like
        Start of each beat-to-beat interval in s (the ``heartbeat`` track times), in the
        same time base as ``start`` and ``end``.
    intervals : array_like
        Reliable beat-to-beat intervals in s (the ``heartbeat`` track values).
    start, end : float
        The night (measurement period) in s.
    normal_to_normal : bool
        Keep only normal-to-normal intervals, as usual in HRV: an interval more than
        20 % away from the median of the 31 intervals around it (an ectopic beat or its
        compensatory pause, which the ``heartbeat`` track may hold: they are real
        intervals) is left out, which also breaks its pairs. Default False: every
        interval counts.

    Returns
    -------
    dict of str to float
        ``evening_HRV_index`` and ``morning_HRV_index``: RMSSD of the 15-minute span in
        the first / last third of the night that holds the most successive interval
        pairs; ``all_night_HRV_index``: RMSSD over the whole night;
        ``resting_HRV_index``: RMSSD over the 15 minutes centred on the minute with the
        lowest mean heart rate (minutes with at least 20 intervals). A key is omitted
        (never null) when its span holds fewer than 100 successive pairs.

    Raises
    ------
    SignalError
        For misshaped input, non-numeric or non-finite ``start``/``end``,
        ``end <= start``, or a night of more than 10**6 minutes.

    Notes
    -----
    Beddit did not publish which 15-minute span of each third it uses; the choice made
    here (the span with the most evidence, spans every minute, earliest on ties) is
    sleepsignal's own and versioned with it. Only pairs of intervals that follow each
    other without a gap count (see :func:`rmssd`).
    """
    iv, st = _vectors(intervals, times, "times")
    if st is None:  # pragma: no cover - times is always given here
        raise SignalError("times are required")
    start_f, end_f = real_number(start, "start"), real_number(end, "end")
    if not (math.isfinite(start_f) and math.isfinite(end_f) and end_f > start_f):
        raise SignalError(f"need finite start < end (s), got start={start!r}, end={end!r}")
    # spans start every minute (a Python loop) and minutes are counted in one array:
    # a night of up to 10**6 minutes (694 days) takes well under a second
    check_bins(end_f - start_f, 60.0, "end - start", limit=10**6)
    start, end = start_f, end_f
    if normal_to_normal and iv.shape[0] > 0:
        med = median_filter(iv, _NN_NEIGHBOURS)
        nn = np.abs(iv / med - 1.0) <= _NN_DEVIATION
        iv, st = iv[nn], st[nn]
    out: dict[str, float] = {}
    third = (end - start) / 3.0
    ev = _best_span(iv, st, start, start + third)
    if math.isfinite(ev):
        out["evening_HRV_index"] = ev
    mo = _best_span(iv, st, end - third, end)
    if math.isfinite(mo):
        out["morning_HRV_index"] = mo
    al, _ = _span_rmssd(iv, st, start, end)
    if math.isfinite(al):
        out["all_night_HRV_index"] = al
    # one-minute mean heart rate; resting span centred on the lowest
    inside = (st >= start) & (st + iv <= end)
    if inside.any():
        minute = np.floor((st[inside] - start) / 60.0).astype(np.int64)
        n_min = math.ceil((end - start) / 60.0)
        cnt = np.bincount(minute, minlength=n_min)
        tot = np.bincount(minute, weights=iv[inside], minlength=n_min)
        ok = cnt >= _MIN_BEATS_MINUTE
        if ok.any():
            hr = np.where(ok, 60.0 * cnt / np.where(tot > 0, tot, 1.0), np.inf)
            m0 = int(np.argmin(hr))
            centre = start + 60.0 * m0 + 30.0
            lo = max(start, centre - HRV_SPAN / 2)
            hi = min(end, lo + HRV_SPAN)
            lo = max(start, hi - HRV_SPAN)
            rs, _ = _span_rmssd(iv, st, lo, hi)
            if math.isfinite(rs):
                out["resting_HRV_index"] = rs
    return out
