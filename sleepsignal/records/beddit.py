"""The Beddit **Sleep** object: one per night, absolute Unix times in its tracks.

Built from the session, its hypnogram and its :class:`~sleepsignal.statistics.NightStatistics`.
Every track a public Beddit client reads is present, empty when there is nothing to
report; a property that cannot be computed is omitted (never ``null``).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from ..errors import SignalError
from ..hypnogram import BEDDIT_SLEEP_STAGE_CODES, Hypnogram
from ..session import Session
from ..statistics import NightStatistics, SleepScore, sleep_score

__all__ = [
    "BEDDIT_SLEEP_TRACKS",
    "NAP_MAX_BED_TIME",
    "STAGE_DURATION_KEYS",
    "beddit_sleep",
    "is_nap",
]

#: Tracks of a Sleep object, in the order written.
BEDDIT_SLEEP_TRACKS = (
    "sleep_stages",
    "presence",
    "actigram_epochwise",
    "sleep_cycles",
    "heart_rate_curve",
    "snoring_episodes",
    "nap_periods",
)
#: ``sleep_stages`` code -> ``stage_duration_X`` letter.
STAGE_DURATION_KEYS = {65: "A", 83: "S", 82: "R", 87: "W", 78: "N", 71: "G"}
_TRACK_TYPES = {
    "sleep_stages": "uint8",
    "presence": "uint8",
    "actigram_epochwise": "float32",
    "sleep_cycles": "float32",
    "heart_rate_curve": "float32",
    "snoring_episodes": "float32",
    "nap_periods": "uint8",
}
_HR_CURVE_STEP = 300.0
_SNORING_STEP = 600.0
#: A sleep is a nap when its bed period is shorter than this (s); same rule as Jawbone.
NAP_MAX_BED_TIME = 3 * 3600.0


def is_nap(stats: NightStatistics) -> bool:
    """Whether a sleep is a nap: a bed period shorter than 3 h (``NAP_MAX_BED_TIME``)."""
    return 0 < stats.time_in_bed < NAP_MAX_BED_TIME


def _zone(tz: str) -> ZoneInfo:
    """The IANA zone, or a :class:`SignalError` naming the bad value."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SignalError(
            f"unknown time zone {tz!r}; use an IANA name such as 'Europe/Helsinki'"
        ) from None


def _f32(x: float) -> float:
    """Shortest decimal that reads back to the same float32 (as the Beddit API writes)."""
    return float(str(np.float32(x)))


def _num(x: float) -> float | int:
    """A JSON number: integral floats as int, others as float rounded to 6 decimals."""
    r = round(float(x), 6)
    return int(r) if r == int(r) else r


def _f32s(x: np.ndarray) -> list[float]:
    """:func:`_f32` of every value, the float32 decimals written by numpy in one pass
    (the same shortest decimals as ``str`` of each float32 scalar)."""
    return [float(d) for d in np.asarray(x).astype(np.float32).astype(str).tolist()]


def _nums(x: np.ndarray) -> list[float | int]:
    """:func:`_num` of every value, from Python floats (no numpy scalar per value)."""
    return [_num(v) for v in np.asarray(x, dtype=np.float64).tolist()]


def _stage_codes(hypnogram: Hypnogram) -> np.ndarray:
    return np.asarray(hypnogram.vendor_labels(BEDDIT_SLEEP_STAGE_CODES), dtype=np.int64)


def _changes(times: np.ndarray, codes: np.ndarray) -> list[list[Any]]:
    """Change points ``[t, code]``: the first item and every item whose code differs."""
    if len(codes) == 0:
        return []
    keep = np.concatenate(([True], codes[1:] != codes[:-1]))
    return [[t, int(c)] for t, c in zip(_nums(times[keep]), codes[keep].tolist(), strict=False)]


def _stage_intervals(
    hypnogram: Hypnogram, start: float, end: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-epoch ``sleep_stages`` codes clipped to [start, end], gaps filled with 71."""
    el = hypnogram.epoch_length
    e0 = hypnogram.epoch_starts()
    codes = _stage_codes(hypnogram)
    lo = np.clip(e0, start, end)
    hi = np.clip(e0 + el, start, end)
    keep = hi > lo
    lo, hi, codes = lo[keep], hi[keep], codes[keep]
    gap = BEDDIT_SLEEP_STAGE_CODES["gap"]
    pre_lo: list[float] = []
    pre_hi: list[float] = []
    if len(lo) == 0:
        return np.array([start]), np.array([end]), np.array([gap])
    if lo[0] > start:
        pre_lo, pre_hi = [start], [float(lo[0])]
    post = hi[-1] < end
    lo = np.concatenate((pre_lo, lo, [hi[-1]] if post else []))
    hi = np.concatenate((pre_hi, hi, [end] if post else []))
    codes = np.concatenate(([gap] if pre_lo else [], codes, [gap] if post else [])).astype(np.int64)
    return lo, hi, codes


def _sleep_cycles(hypnogram: Hypnogram) -> list[list[Any]]:
    """The hypnogram's own sleep-depth curve (:meth:`Hypnogram.sleep_cycles`)."""
    cycles = hypnogram.sleep_cycles()
    return [[t, d] for t, d in zip(_nums(cycles.times), _f32s(cycles.depth), strict=True)]


def _heart_rate_curve(session: Session, start: float, end: float) -> list[list[Any]]:
    if "heart_rate" not in session.time_value_tracks:
        return []
    h = session.time_value_tracks["heart_rate"]
    t = h.times + session.start_timestamp
    v = h.values.astype(np.float64)
    n = math.ceil((end - start) / _HR_CURVE_STEP)
    ok = np.isfinite(v) & (v > 0)
    b = np.floor((t[ok] - start) / _HR_CURVE_STEP).astype(np.int64)
    vals = v[ok]
    order = np.lexsort((vals, b))  # by bin, then by value within the bin
    b, vals = b[order], vals[order]
    edges = np.searchsorted(b, np.arange(n + 1))
    # each bin's median as np.median finds it: the middle value, or (a + b) / 2 of the
    # two middle ones
    cnt = np.diff(edges)
    full = cnt > 0
    a_i = edges[:-1][full] + (cnt[full] - 1) // 2
    b_i = edges[:-1][full] + cnt[full] // 2
    med = np.where(cnt[full] % 2 == 1, vals[a_i], (vals[a_i] + vals[b_i]) / 2)
    meds = iter(_f32s(med))
    out: list[list[Any]] = []
    for i in range(n):
        lo = start + i * _HR_CURVE_STEP
        centre = (lo + min(lo + _HR_CURVE_STEP, end)) / 2  # a short last bin: its middle
        out.append([_num(centre), next(meds) if full[i] else -1.0])
    return out


def _snoring_episodes(session: Session, start: float) -> list[list[Any]]:
    if "snoring_events" not in session.time_value_tracks:
        return []
    s = session.time_value_tracks["snoring_events"]
    t = s.times + session.start_timestamp
    v = s.values.astype(np.float64)
    ok = np.isfinite(v) & (v > 0)
    if not np.any(ok):
        return []
    b = np.floor((t[ok] - start) / _SNORING_STEP).astype(np.int64)
    totals = np.bincount(b - b.min(), weights=v[ok])
    out = []
    for i, total in enumerate(totals):
        if total > 0:
            out.append([_num(start + (b.min() + i) * _SNORING_STEP), _f32(total)])
    return out


def _presence(session: Session, hypnogram: Hypnogram, start: float, end: float) -> list[list[Any]]:
    if "presence" in session.time_value_tracks:
        p = session.time_value_tracks["presence"]
        t = p.times + session.start_timestamp
        return [[a, int(c)] for a, c in zip(_nums(t), p.values.tolist(), strict=False)]
    lo, _hi, codes = _stage_intervals(hypnogram, start, end)
    pres = np.where(codes == 65, 65, np.where((codes == 78) | (codes == 71), 78, 80))
    items = _changes(lo, pres)
    if items and items[-1][1] != 78:
        items.append([_num(end), 78])
    return items


def _track(name: str, items: list[list[Any]]) -> dict[str, Any]:
    return {"value_data_type": _TRACK_TYPES[name], "items": items}


def beddit_sleep(
    session: Session,
    hypnogram: Hypnogram,
    stats: NightStatistics,
    *,
    updated: float | None = None,
    score: SleepScore | None = None,
) -> dict[str, Any]:
    """The Beddit Sleep object of one night.

    Parameters
    ----------
    session : Session
        The night's session (its tracks feed ``presence``, ``actigram_epochwise``,
        ``heart_rate_curve``, ``snoring_episodes``).
    hypnogram : Hypnogram
        The night's stages (``sleep_stages``, ``sleep_cycles``, stage durations).
    stats : NightStatistics
        :func:`~sleepsignal.statistics.night_statistics` of ``hypnogram`` and ``session``.
    updated : float, optional
        ``updated`` field, Unix s. Default: the session's ``updated``, else its end.
    score : SleepScore, optional
        Default: :func:`~sleepsignal.statistics.sleep_score` of ``stats``.

    Returns
    -------
    dict
        JSON-ready: ``date`` (local date of the session end, YYYY-MM-DD), ``timezone``,
        ``start_timestamp``, ``end_timestamp`` (the session's), ``session_range_start``,
        ``session_range_end``, ``updated``, ``properties``, ``time_value_tracks`` (all of
        :data:`BEDDIT_SLEEP_TRACKS` in that order, absolute Unix times; ``snoring_episodes``
        is left out when the session has no ``snoring_events`` track).

    Raises
    ------
    SignalError
        When ``stats`` was not computed from ``hypnogram``.

    Notes
    -----
    - ``sleep_stages``: change points of the hypnogram (87 wake, 83 sleep, 82 restless
      sleep, 65 away, 78 no signal), clipped to the session; session time the hypnogram
      does not cover is 71 (gap). ``stage_duration_A|S|R|W|N|G`` are the seconds of each
      code and add up to ``end_timestamp - start_timestamp``.
    - ``sleep_efficiency`` (Beddit): total sleep time over the time from the session start
      to the final awakening. ``sleep_latency``: :attr:`NightStatistics.sleep_onset_latency`.
    - ``sleep_cycles``: :meth:`Hypnogram.sleep_cycles` (depth 0..1 every 120 s from
      sleep onset to the final awakening; away and no-signal epochs are not wake, so
      they are left out of the smoothing rather than counted as depth 0).
    - ``heart_rate_curve``: median of ``heart_rate`` per 5 min bin at its centre, -1 for
      a bin without values (a gap).
    - ``snoring_episodes``: ``[bin start, snoring s]`` per 10 min bin with snoring; an
      empty track means the session's ``snoring_events`` track exists and holds no
      snoring. A session without ``snoring_events`` (snoring unknown: no noise track, or
      one that is not a level in dB) gives no ``snoring_episodes`` track at all, as it
      gives no ``total_snoring_episode_duration`` / ``score_snoring`` (the Beddit
      document: "A field may be missing if it was not possible to compute it").
    - ``nap_periods``: ``[[onset, 1], [final awakening, 2]]`` when :func:`is_nap`,
      else empty.
    - ``presence``: the session's ``presence`` track in absolute time; without one,
      derived from the hypnogram (away 65, present 80, no signal / gap 78) ending in 78.
    """
    if abs(stats.start - hypnogram.start) > 1e-6 or abs(stats.end - hypnogram.end) > 1e-6:
        raise SignalError("stats were computed from another hypnogram (start/end differ)")
    start = session.start_timestamp
    end = session.end_timestamp
    tz = session.timezone
    lo, hi, codes = _stage_intervals(hypnogram, start, end)
    if score is None:
        score = sleep_score(stats)

    props: dict[str, Any] = {}
    if stats.resting_heart_rate is not None:
        props["resting_heart_rate"] = _f32(stats.resting_heart_rate)
    if stats.average_respiration_rate is not None:
        props["average_respiration_rate"] = _f32(stats.average_respiration_rate)
    if stats.sleep_onset_latency is not None:
        props["sleep_latency"] = _num(stats.sleep_onset_latency)
    if stats.final_awakening is not None and stats.final_awakening > start:
        props["sleep_efficiency"] = _f32(stats.total_sleep_time / (stats.final_awakening - start))
    props["away_episode_count"] = int(stats.bed_exits)
    if stats.snoring_time is not None:
        props["total_snoring_episode_duration"] = _num(stats.snoring_time)
    if stats.activity_index is not None:
        props["activity_index"] = _f32(stats.activity_index)
    durations = dict.fromkeys(STAGE_DURATION_KEYS.values(), 0.0)
    for a, b, c in zip(lo, hi, codes, strict=False):
        durations[STAGE_DURATION_KEYS[int(c)]] += float(b - a)
    for letter, seconds in durations.items():
        props[f"stage_duration_{letter}"] = _num(seconds)
    for key in (
        "evening_HRV_index",
        "morning_HRV_index",
        "all_night_HRV_index",
        "resting_HRV_index",
    ):
        if key in stats.hrv:
            props[key] = _f32(stats.hrv[key])
    props["total_sleep_score"] = int(score.value)
    props["sleep_score_version"] = score.version
    for item, beddit_name in (
        ("bed_exits", "score_bed_exits"),
        ("amount_of_sleep", "score_amount_of_sleep"),
        ("snoring", "score_snoring"),
        ("sleep_latency", "score_sleep_latency"),
        ("sleep_efficiency", "score_sleep_efficiency"),
        ("awakenings", "score_awakenings"),
    ):
        if item in score.items:
            props[beddit_name] = _f32(score.items[item])
    props["sleep_time_target"] = _num(score.sleep_time_target)

    stage_items = _changes(lo, codes)
    nap: list[list[Any]] = []
    if is_nap(stats) and stats.sleep_onset is not None and stats.final_awakening is not None:
        nap = [[_num(stats.sleep_onset), 1], [_num(stats.final_awakening), 2]]
    actigram: list[list[Any]] = []
    if "actigram" in session.time_value_tracks:
        a = session.time_value_tracks["actigram"]
        actigram = [[t, v] for t, v in zip(_nums(a.times + start), _f32s(a.values), strict=False)]
    if updated is None:
        updated = session.updated if session.updated is not None else end
    tracks = {
        "sleep_stages": _track("sleep_stages", stage_items),
        "presence": _track("presence", _presence(session, hypnogram, start, end)),
        "actigram_epochwise": _track("actigram_epochwise", actigram),
        "sleep_cycles": _track("sleep_cycles", _sleep_cycles(hypnogram)),
        "heart_rate_curve": _track("heart_rate_curve", _heart_rate_curve(session, start, end)),
        "snoring_episodes": _track("snoring_episodes", _snoring_episodes(session, start)),
        "nap_periods": _track("nap_periods", nap),
    }
    if "snoring_events" not in session.time_value_tracks:
        # unknown, not zero: an empty track would read as a night without snoring
        del tracks["snoring_episodes"]
    local_end = _dt.datetime.fromtimestamp(end, tz=_zone(tz))
    return {
        "date": local_end.strftime("%Y-%m-%d"),
        "timezone": tz,
        "start_timestamp": start,
        "end_timestamp": end,
        "session_range_start": start,
        "session_range_end": end,
        "updated": float(updated),
        "properties": props,
        "time_value_tracks": tracks,
    }
