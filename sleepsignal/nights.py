"""Cut a recording of several days into its sleep periods (nights), one session each.

Stages, night statistics and the API records describe one night. A bed sensor left
running for days (:func:`sleepsignal.pipeline.analyze_streamed`) records several; this
module finds them from the ``presence`` track and makes one session per night that
holds the derived time-value tracks of that night only, so that
:func:`sleepsignal.pipeline.analyze` stages it from those tracks.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np

from ._validate import check_instance, real_array, real_number
from .activity import PRESENT
from .errors import SignalError
from .session import Session, TimeValueTrack

__all__ = [
    "MAX_PERIOD_S",
    "MIN_GAP_S",
    "MIN_PERIOD_S",
    "PAD_S",
    "SleepPeriod",
    "sleep_periods",
    "split_nights",
]

#: Out of bed (or no signal) at least this long (s) separates two sleep periods.
MIN_GAP_S = 3 * 3600.0
#: Sleep periods with less time in bed than this (s) are left out.
MIN_PERIOD_S = 1800.0
#: A sleep period longer than this (s; someone in bed for days) is cut into equal parts
#: no longer than it, so that each is staged as one night and in bounded memory.
MAX_PERIOD_S = 24 * 3600.0
#: Time (s) kept before the first and after the last in-bed moment of a period (at most
#: half the gap to the next period, and within the recording).
PAD_S = 900.0

_EPOCH = 30.0  # s, the staging epoch

#: Change-point tracks: a night cut from the middle of the recording starts with the
#: state in force at its start.
_STATE_TRACKS = ("presence", "sensor_status")


class SleepPeriod(NamedTuple):
    """One sleep period of a recording, in s from the recording's start."""

    start: float
    end: float
    in_bed: float  # s in bed within [start, end)


def sleep_periods(
    presence_times: np.ndarray,
    presence_codes: np.ndarray,
    duration: float,
    *,
    min_gap: float = MIN_GAP_S,
    min_period: float = MIN_PERIOD_S,
    pad: float = PAD_S,
    max_period: float = MAX_PERIOD_S,
) -> list[SleepPeriod]:
    """The sleep periods of a recording from its presence change points.

    Parameters
    ----------
    presence_times : array_like
        Change-point times of the ``presence`` track, s from the recording's start,
        non-decreasing.
    presence_codes : array_like
        The state from each change point on: 80 in bed; anything else (65 away, 78 no
        signal) counts as out of bed.
    duration : float
        Length of the recording, s.
    min_gap : float
        Out of bed at least this long (s) ends a period; shorter absences (a night-time
        walk) stay inside it.
    min_period : float
        A period with less time in bed than this (s) is left out.
    pad : float
        Time kept (s) before the first and after the last in-bed moment of a period; at
        most half the absence to the neighbouring period, and within the recording.
        The ends are then moved out to the recording's 30 s grid (multiples of 30 s from
        its start), so a night's epochs are epochs of the recording.
    max_period : float
        A period longer than this (s) is cut into the fewest equal parts (on the 30 s
        grid) no longer than it: someone in bed for days gets one record per part, and
        each part is staged in bounded memory.

    Returns
    -------
    list of SleepPeriod
        In time order, not overlapping.

    Raises
    ------
    SignalError
        For misshaped or unordered change points, or a non-positive ``duration`` or
        parameter.
    """
    t = real_array(presence_times, "presence_times")
    v = real_array(presence_codes, "presence_codes")
    if t.ndim != 1 or v.shape != t.shape:
        raise SignalError(
            f"presence times and codes must be 1-D and of one length, got {t.shape} and {v.shape}"
        )
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        raise SignalError("presence times must be finite and non-decreasing (s)")
    for name, value, least in (
        ("duration", duration, 0.0),
        ("min_gap", min_gap, 0.0),
        ("min_period", min_period, None),
        ("pad", pad, None),
        ("max_period", max_period, 0.0),
    ):
        ok = math.isfinite(real_number(value, name)) and (
            value > least if least is not None else value >= 0
        )
        if not ok:
            kind = "> 0" if least is not None else ">= 0"
            raise SignalError(f"{name} must be a finite number of s {kind}, got {value!r}")
    # in-bed runs [a, b) from the change points, clipped to the recording
    ends = np.append(t[1:], duration)
    keep = (v == PRESENT) & (ends > t) & (t < duration)
    a = np.clip(t[keep], 0.0, duration)
    b = np.clip(ends[keep], 0.0, duration)
    if len(a) == 0:
        return []
    # runs separated by less than min_gap join into one period
    split = np.flatnonzero(a[1:] - b[:-1] >= min_gap) + 1
    first = np.concatenate([[0], split])
    last = np.concatenate([split - 1, [len(a) - 1]])
    in_bed = np.add.reduceat(b - a, first)
    p_start, p_end = a[first], b[last]
    periods = []
    for i in range(len(first)):
        if in_bed[i] < min_period:
            continue
        before = p_start[i] - (p_end[i - 1] if i > 0 else -np.inf)
        after = (p_start[i + 1] if i + 1 < len(first) else np.inf) - p_end[i]
        # on the recording's 30 s grid, so the night's epochs are the recording's
        s = max(0.0, _EPOCH * math.floor((p_start[i] - min(pad, before / 2)) / _EPOCH))
        e = min(duration, _EPOCH * math.ceil((p_end[i] + min(pad, after / 2)) / _EPOCH))
        parts = math.ceil((e - s) / max_period - 1e-9)
        if parts <= 1:
            periods.append(SleepPeriod(float(s), float(e), float(in_bed[i])))
            continue
        step = _EPOCH * math.ceil((e - s) / parts / _EPOCH)
        cuts = [min(s + k * step, e) for k in range(parts)] + [e]
        for c0, c1 in itertools.pairwise(cuts):
            if c1 > c0:  # (a max_period of a few epochs can leave the last cut empty)
                inside = np.clip(np.minimum(b, c1) - np.maximum(a, c0), 0.0, None).sum()
                periods.append(SleepPeriod(float(c0), float(c1), float(inside)))
    return periods


def _cut(track: TimeValueTrack, start: float, end: float) -> TimeValueTrack:
    """The items of ``track`` in ``[start, end)``, times from ``start``; a change-point
    track starts with the state in force at ``start``."""
    t = track.times
    i0 = int(np.searchsorted(t, start, side="left"))
    i1 = int(np.searchsorted(t, end, side="left"))
    times, values = t[i0:i1] - start, track.values[i0:i1]
    if track.name in _STATE_TRACKS and i0 > 0 and (i1 == i0 or t[i0] > start):
        times = np.concatenate([[0.0], times])
        values = np.concatenate([track.values[i0 - 1 : i0], values])
    return TimeValueTrack(track.name, times, values, track.value_data_type, track.extra)


def split_nights(
    session: Session,
    *,
    min_gap: float = MIN_GAP_S,
    min_period: float = MIN_PERIOD_S,
    pad: float = PAD_S,
    max_period: float = MAX_PERIOD_S,
) -> list[Session]:
    """One session per sleep period of a session that carries a ``presence`` track.

    Parameters
    ----------
    session : Session
        A recording with its derived time-value tracks (``presence`` at least), e.g.
        the session :func:`sleepsignal.pipeline.analyze_streamed` returns.
    min_gap, min_period, pad, max_period : float
        As in :func:`sleep_periods`.

    Returns
    -------
    list of Session
        One per sleep period, in time order. Each holds the session's metadata with
        ``start_timestamp`` / ``end_timestamp`` of the period and ``id`` =
        ``int(start_timestamp)``, and every time-value track cut to the period (times
        from the period's start; ``presence`` and ``sensor_status`` start with the
        state in force then). Sampled tracks are left out: the period is staged from
        its tracks. Empty when nobody was in bed long enough.

    Raises
    ------
    SignalError
        When the session has no ``presence`` track, or as :func:`sleep_periods`.
    """
    check_instance(session, Session, "session")
    pres = session.time_value_tracks.get("presence")
    if pres is None:
        raise SignalError(
            "split_nights needs the session's presence track: derive it first "
            "(sleepsignal.tracks.session_tracks or pipeline.analyze_streamed)"
        )
    periods = sleep_periods(
        pres.times,
        pres.values,
        session.duration,
        min_gap=min_gap,
        min_period=min_period,
        pad=pad,
        max_period=max_period,
    )
    nights = []
    t0 = session.start_timestamp
    for p in periods:
        md = dict(session.metadata)
        md.update(start_timestamp=t0 + p.start, end_timestamp=t0 + p.end, id=int(t0 + p.start))
        tracks = {name: _cut(tr, p.start, p.end) for name, tr in session.time_value_tracks.items()}
        nights.append(Session(md, {}, tracks, session.key_order))
    return nights
