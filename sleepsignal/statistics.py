"""Night statistics (AASM terms), a versioned sleep score and a Jawbone-style quality.

Everything here is downstream of a :class:`~sleepsignal.hypnogram.Hypnogram` (30 s
epochs) and, optionally, the session's time-value tracks (``heart_rate``,
``heartbeat``, ``respiration_cycles``, ``actigram``, ``snoring_events``). Missing tracks
give ``None`` for the statistics that need them, never a guess.

Definitions (all times in s, Unix seconds for instants)
------------------------------------------------------
- **Bed period**: from the start of the first epoch that is neither ``away`` nor
  ``no_signal`` to the end of the last such epoch ("lights off" to "lights on").
  ``time_in_bed`` is its length; it includes bed exits and no-signal epochs inside it.
- **Sleep onset**: start of the first sleep epoch (light, deep or REM). **Final
  awakening**: end of the last sleep epoch. **Sleep period** (``sleep_period``): from
  onset to final awakening.
- ``total_sleep_time``: sleep epochs x 30 s. ``sleep_onset_latency``: onset minus bed
  period start. ``wake_after_sleep_onset``: wake and away epochs inside the sleep period
  (no-signal epochs inside it are unknown, counted in ``stage_durations['no_signal']``
  only). ``sleep_efficiency``: ``total_sleep_time / time_in_bed`` (AASM, 0..1).
- ``awakenings``: wake bouts (consecutive wake or away epochs) inside the sleep period
  lasting at least ``min_awakening`` s (default 120 s = 4 epochs; vendors differ, and
  the count depends mostly on this choice).
- ``stage_durations``: seconds of each of :data:`~sleepsignal.hypnogram.STAGES` inside
  the bed period; they add up to ``time_in_bed``. ``stage_percentages``: light, deep,
  REM as a fraction of total sleep time. ``stage_latencies``: from sleep onset to the
  first epoch of light, deep and REM sleep.
- ``bed_exits``: away bouts inside the bed period; ``away_time``: their seconds.
- ``activity_index``: movements per hour (Beddit definition): the sum of ``actigram``
  counts of the 60 s epochs that start inside the sleep period, divided by its length in
  hours (sleep latency and the time after the final awakening are excluded).
- ``resting_heart_rate``: median of the session ``heart_rate`` track (30 s values), bpm.
  ``average_heart_rate``: their mean. ``heart_rate_coverage``: fraction of the sleep
  period's 30 s epochs that hold a ``heart_rate`` value.
- ``average_respiration_rate``: 60 / mean length of the ``respiration_cycles`` that
  start in sleep epochs, breaths/min (all cycles in the bed period when there is no
  sleep). Injected value wins (``respiration_rate=``).
- ``hrv``: RMSSD indices in s (Beddit names). Injected mapping wins (``hrv=``);
  otherwise :func:`sleepsignal.hrv.night_hrv_indices` on the ``heartbeat`` track over the
  sleep period.
- ``snoring_time``: summed ``snoring_events`` lengths, s.

A night with no sleep has ``sleep_onset_latency``, ``sleep_efficiency``,
``sleep_period`` onset/end and stage latencies ``None``, ``total_sleep_time`` 0 and a
sleep score of 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from ._validate import check_instance, real_number
from .errors import SignalError
from .hrv import night_hrv_indices
from .hypnogram import AWAY, DEEP, LIGHT, NO_SIGNAL, REM, STAGES, WAKE, Hypnogram

_F32_MAX = float(np.finfo(np.float32).max)

if TYPE_CHECKING:
    from .session import Session

__all__ = [
    "JAWBONE_QUALITY_VERSION",
    "SCORE_WEIGHTS",
    "SLEEP_SCORE_VERSION",
    "NightStatistics",
    "SleepScore",
    "jawbone_quality",
    "night_statistics",
    "sleep_score",
]

#: Version of the :func:`sleep_score` formula (change it whenever the formula changes).
SLEEP_SCORE_VERSION = "sleepsignal-score-1"
#: Version of the :func:`jawbone_quality` formula.
JAWBONE_QUALITY_VERSION = "sleepsignal-quality-1"

_SLEEP = (LIGHT, DEEP, REM)
_HRV_KEYS = ("evening_HRV_index", "morning_HRV_index", "all_night_HRV_index", "resting_HRV_index")


@dataclass(frozen=True)
class NightStatistics:
    """Night statistics, AASM terms (definitions in the module docstring).

    Attributes
    ----------
    start, end : float
        Hypnogram span, Unix seconds.
    timezone : str
        IANA time zone of the night.
    epoch_length : float
        Epoch length, s.
    recording_time : float
        ``end - start``, s.
    bed_start, bed_end : float or None
        Bed period ("lights off", "lights on"), Unix s; ``None`` when never in bed.
    time_in_bed : float
        ``bed_end - bed_start``, s (0 when never in bed).
    sleep_onset, final_awakening : float or None
        Unix s; ``None`` when there is no sleep.
    sleep_period : float
        ``final_awakening - sleep_onset``, s (0 when no sleep).
    total_sleep_time : float
        Light + deep + REM, s.
    sleep_onset_latency : float or None
        s; ``None`` when no sleep.
    wake_after_sleep_onset : float
        s (0 when no sleep).
    sleep_efficiency : float or None
        ``total_sleep_time / time_in_bed``, 0..1; ``None`` when no sleep.
    awakenings : int
        Wake bouts of at least ``min_awakening`` s inside the sleep period.
    min_awakening : float
        The minimum wake bout used, s.
    stage_durations : mapping of str to float
        s per stage name (all of ``STAGES``) inside the bed period; sums to
        ``time_in_bed``.
    stage_percentages : mapping of str to float
        ``light``, ``deep``, ``rem`` as a fraction (0..1) of total sleep time; empty
        when no sleep.
    stage_latencies : mapping of str to float
        s from sleep onset to the first ``light``, ``deep``, ``rem`` epoch; a stage that
        never occurs is absent.
    bed_exits : int
        Away bouts inside the bed period.
    away_time : float
        Away seconds inside the bed period.
    restless_time : float
        Sleep epochs flagged restless, s.
    activity_index : float or None
        Movements per hour of the sleep period; ``None`` without an ``actigram`` track or
        without sleep.
    resting_heart_rate, average_heart_rate : float or None
        Median / mean of the ``heart_rate`` track, bpm.
    heart_rate_coverage : float or None
        Fraction (0..1) of the sleep period's epochs with a heart-rate value.
    average_respiration_rate : float or None
        breaths/min.
    hrv : mapping of str to float
        RMSSD indices, s; keys absent when not computable.
    snoring_time : float or None
        Summed snoring event lengths, s; ``None`` without a ``snoring_events`` track.
    """

    start: float
    end: float
    timezone: str
    epoch_length: float
    recording_time: float
    bed_start: float | None
    bed_end: float | None
    time_in_bed: float
    sleep_onset: float | None
    final_awakening: float | None
    sleep_period: float
    total_sleep_time: float
    sleep_onset_latency: float | None
    wake_after_sleep_onset: float
    sleep_efficiency: float | None
    awakenings: int
    min_awakening: float
    stage_durations: Mapping[str, float]
    stage_percentages: Mapping[str, float]
    stage_latencies: Mapping[str, float]
    bed_exits: int
    away_time: float
    restless_time: float
    activity_index: float | None = None
    resting_heart_rate: float | None = None
    average_heart_rate: float | None = None
    heart_rate_coverage: float | None = None
    average_respiration_rate: float | None = None
    hrv: Mapping[str, float] = field(default_factory=dict)
    snoring_time: float | None = None

    def __post_init__(self) -> None:
        for name in ("stage_durations", "stage_percentages", "stage_latencies", "hrv"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def stage_minutes(self) -> dict[str, float]:
        """:attr:`stage_durations` in minutes."""
        return {k: v / 60.0 for k, v in self.stage_durations.items()}


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) indices of the True runs of a boolean array."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def night_statistics(
    hypnogram: Hypnogram,
    session: Session | None = None,
    *,
    min_awakening: float = 120.0,
    hrv: Mapping[str, float] | None = None,
    respiration_rate: float | None = None,
) -> NightStatistics:
    """Night statistics of a hypnogram and, optionally, its session's tracks.

    Parameters
    ----------
    hypnogram : Hypnogram
        30 s stages of the night.
    session : Session, optional
        The session the hypnogram was staged from; its time-value tracks (times relative
        to ``session.start_timestamp``) feed heart rate, respiration, activity, HRV and
        snoring statistics. Without it those are ``None`` / empty.
    min_awakening : float
        Shortest wake bout counted as an awakening, s (default 120 s; AASM sets no
        number, vendors differ). Must be positive.
    hrv : mapping, optional
        HRV indices (s) computed elsewhere (for example by
        ``sleepsignal.heartbeats.night_hrv_indices``); replaces the built-in
        :func:`sleepsignal.hrv.night_hrv_indices` over the sleep period.
    respiration_rate : float, optional
        Average respiration rate (breaths/min) computed elsewhere (for example by
        ``sleepsignal.tracks.respiration_rate``); replaces the built-in estimate.

    Returns
    -------
    NightStatistics

    Raises
    ------
    SignalError
        For a non-positive ``min_awakening``, or an injected value that is infinite,
        negative or not a number. A NaN injected means "not computable": a NaN
        ``respiration_rate`` counts as not given (the built-in estimate is used), a NaN
        HRV value is dropped.

    Notes
    -----
    Definitions are in the module docstring. The steps:

    1. Bed period: first to last epoch that is neither away nor no-signal.
    2. Stage seconds inside the bed period; bed exits = away runs inside it.
    3. Sleep onset / final awakening: first / last light, deep or REM epoch.
    4. WASO and awakenings from the wake-or-away runs between them (runs of at least
       ``min_awakening`` s count).
    5. Track statistics from the session's tracks, times shifted from session-relative
       to the hypnogram's grid.

    References
    ----------
    .. [1] Berry RB et al., *The AASM Manual for the Scoring of Sleep and Associated
       Events*, v2.0, American Academy of Sleep Medicine, 2012 (TIB, TST, SOL, WASO,
       SE, stage latencies).
    .. [2] Task Force of the ESC and NASPE, "Heart rate variability: standards of
       measurement", *Circulation* 93:1043-1065, 1996 (RMSSD).
    .. [3] Beddit Cloud API, Sleep object properties (activity index, HRV indices);
       ``shared/specs/README.md``.

    Examples
    --------
    >>> import numpy as np
    >>> from sleepsignal.hypnogram import Hypnogram
    >>> h = Hypnogram(np.array([0, 0, 1, 1, 2, 2, 0, 0, 0, 0, 3, 3, 0]), start=0.0)
    >>> s = night_statistics(h)
    >>> s.total_sleep_time, s.sleep_onset_latency, s.wake_after_sleep_onset, s.awakenings
    (180.0, 60.0, 120.0, 1)
    """
    check_instance(hypnogram, Hypnogram, "hypnogram")
    if session is not None:
        from .session import Session as _Session  # at call time, as the annotation

        check_instance(session, _Session, "session")
    if not (math.isfinite(real_number(min_awakening, "min_awakening")) and min_awakening > 0):
        raise SignalError(f"min_awakening must be a positive number of s, got {min_awakening!r}")
    if respiration_rate is not None and math.isnan(
        real_number(respiration_rate, "respiration_rate")
    ):
        respiration_rate = None  # upstream could not compute it: unknown, not an error
    if respiration_rate is not None and not (
        math.isfinite(respiration_rate) and respiration_rate > 0
    ):
        raise SignalError(
            f"respiration_rate must be a positive breaths/min value, got {respiration_rate!r}"
        )
    if hrv is not None:
        # a Mapping, or anything with .items() (a pandas Series of the indices)
        if not (isinstance(hrv, Mapping) or callable(getattr(hrv, "items", None))):
            raise SignalError(f"hrv must be a mapping of index name to RMSSD (s), got {hrv!r}")
        checked: dict[str, float] = {}
        for k, v in hrv.items():
            f = real_number(v, f"hrv[{k!r}]")  # numpy numbers too; bools and strings not
            if math.isnan(f):
                continue  # upstream could not compute it: the index is unknown, omitted
            # records store the indices as float32: beyond its range they would be inf
            if not (math.isfinite(f) and 0 <= f <= _F32_MAX):
                raise SignalError(f"hrv[{k!r}] must be a finite non-negative RMSSD in s, got {v!r}")
            checked[k] = f
        hrv = checked

    st = np.asarray(hypnogram.stages)
    el = float(hypnogram.epoch_length)
    t0 = float(hypnogram.start)
    n = len(st)
    in_bed = (st != AWAY) & (st != NO_SIGNAL)
    bed_idx = np.flatnonzero(in_bed)
    if len(bed_idx):
        b0, b1 = int(bed_idx[0]), int(bed_idx[-1]) + 1
    else:
        b0 = b1 = 0
    bed = st[b0:b1]
    stage_durations = {
        name: float(np.count_nonzero(bed == code)) * el for code, name in enumerate(STAGES)
    }
    time_in_bed = (b1 - b0) * el
    ex_start, _ex_stop = _runs(bed == AWAY)
    bed_exits = len(ex_start)
    away_time = stage_durations["away"]
    restless_time = float(np.count_nonzero(np.asarray(hypnogram.restless))) * el

    asleep = np.isin(st, _SLEEP)
    sleep_idx = np.flatnonzero(asleep)
    tst = float(len(sleep_idx)) * el
    onset: float | None = None
    final: float | None = None
    latency: float | None = None
    efficiency: float | None = None
    waso = 0.0
    awakenings = 0
    percentages: dict[str, float] = {}
    latencies: dict[str, float] = {}
    s0 = s1 = 0
    if len(sleep_idx):
        s0, s1 = int(sleep_idx[0]), int(sleep_idx[-1]) + 1
        onset = t0 + s0 * el
        final = t0 + s1 * el
        latency = (s0 - b0) * el
        efficiency = tst / time_in_bed
        period = st[s0:s1]
        wakeish = (period == WAKE) | (period == AWAY)
        waso = float(np.count_nonzero(wakeish)) * el
        w_start, w_stop = _runs(wakeish)
        awakenings = int(np.count_nonzero((w_stop - w_start) * el >= min_awakening - 1e-9))
        for code in _SLEEP:
            name = STAGES[code]
            percentages[name] = float(np.count_nonzero(st == code)) * el / tst
            first = np.flatnonzero(period == code)
            if len(first):
                latencies[name] = float(first[0]) * el

    activity = hr_rest = hr_mean = coverage = resp = snoring = None
    hrv_out: dict[str, float] = {}
    if session is not None:
        rel0 = t0 - session.start_timestamp  # hypnogram start, s relative to session
        tracks = session.time_value_tracks
        if "actigram" in tracks and onset is not None and final is not None:
            a = tracks["actigram"]
            lo, hi = onset - t0 + rel0, final - t0 + rel0
            sel = (a.times >= lo) & (a.times < hi)
            counts = a.values[sel].astype(np.float64)
            counts = counts[np.isfinite(counts)]
            activity = float(counts.sum()) / ((hi - lo) / 3600.0)
        if "heart_rate" in tracks:
            h = tracks["heart_rate"]
            hv = h.values.astype(np.float64)
            ok = np.isfinite(hv) & (hv > 0)
            if np.any(ok):
                hr_rest = float(np.median(hv[ok]))
                hr_mean = float(np.mean(hv[ok]))
            if onset is not None:
                ep = np.floor((h.times[ok] - rel0) / el).astype(np.int64)
                ep = np.unique(ep[(ep >= s0) & (ep < s1)])
                coverage = len(ep) / (s1 - s0)
        if "respiration_cycles" in tracks and respiration_rate is None:
            r = tracks["respiration_cycles"]
            lengths = r.values.astype(np.float64)
            ep = np.floor((r.times - rel0) / el).astype(np.int64)
            inside = (ep >= 0) & (ep < n)
            use = np.zeros(len(ep), bool)
            use[inside] = asleep[ep[inside]] if len(sleep_idx) else in_bed[ep[inside]]
            use &= np.isfinite(lengths) & (lengths > 0)
            if np.any(use):
                resp = 60.0 / float(np.mean(lengths[use]))
        if "snoring_events" in tracks:
            sv = tracks["snoring_events"].values.astype(np.float64)
            snoring = float(np.sum(sv[np.isfinite(sv) & (sv > 0)]))
        if hrv is None and "heartbeat" in tracks and onset is not None and final is not None:
            hb = tracks["heartbeat"]
            hrv_out = night_hrv_indices(
                hb.times + session.start_timestamp,
                hb.values.astype(np.float64),
                start=onset,
                end=final,
            )
    if respiration_rate is not None:
        resp = float(respiration_rate)
    if hrv is not None:
        hrv_out = {k: float(v) for k, v in hrv.items()}

    return NightStatistics(
        start=t0,
        end=float(hypnogram.end),
        timezone=hypnogram.timezone,
        epoch_length=el,
        recording_time=n * el,
        bed_start=t0 + b0 * el if len(bed_idx) else None,
        bed_end=t0 + b1 * el if len(bed_idx) else None,
        time_in_bed=time_in_bed,
        sleep_onset=onset,
        final_awakening=final,
        sleep_period=(final - onset) if onset is not None and final is not None else 0.0,
        total_sleep_time=tst,
        sleep_onset_latency=latency,
        wake_after_sleep_onset=waso,
        sleep_efficiency=efficiency,
        awakenings=awakenings,
        min_awakening=float(min_awakening),
        stage_durations=stage_durations,
        stage_percentages=percentages,
        stage_latencies=latencies,
        bed_exits=bed_exits,
        away_time=away_time,
        restless_time=restless_time,
        activity_index=activity,
        resting_heart_rate=hr_rest,
        average_heart_rate=hr_mean,
        heart_rate_coverage=coverage,
        average_respiration_rate=resp,
        hrv=hrv_out,
        snoring_time=snoring,
    )


# -- scores ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SleepScore:
    """A sleep score and the points of its items.

    Attributes
    ----------
    value : int
        0-100.
    items : mapping of str to float
        Points earned per item (``amount_of_sleep``, ``sleep_efficiency``,
        ``sleep_latency``, ``awakenings``, ``deep_rem_share``, ``bed_exits``,
        ``snoring``); an item whose input is unknown is absent.
    maximum : mapping of str to float
        Points available per item (its weight).
    version : str
        :data:`SLEEP_SCORE_VERSION`.
    sleep_time_target : float
        The amount of sleep that earns all duration points, s.
    """

    value: int
    items: Mapping[str, float]
    maximum: Mapping[str, float]
    version: str
    sleep_time_target: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", MappingProxyType(dict(self.items)))
        object.__setattr__(self, "maximum", MappingProxyType(dict(self.maximum)))


#: Item weights of :func:`sleep_score` (points, summing to 100).
SCORE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "amount_of_sleep": 35.0,
        "sleep_efficiency": 20.0,
        "deep_rem_share": 15.0,
        "sleep_latency": 10.0,
        "awakenings": 10.0,
        "bed_exits": 5.0,
        "snoring": 5.0,
    }
)


def _ramp(x: float, zero_at: float, full_at: float) -> float:
    """0 at ``zero_at``, 1 at ``full_at``, linear between, clipped (either direction)."""
    f = (x - zero_at) / (full_at - zero_at)
    return min(1.0, max(0.0, f))


def sleep_score(stats: NightStatistics, *, sleep_time_target: float = 8 * 3600.0) -> SleepScore:
    """Sleep score 0-100, formula ``sleepsignal-score-1``.

    Parameters
    ----------
    stats : NightStatistics
    sleep_time_target : float
        Total sleep time that earns all ``amount_of_sleep`` points, s (8 h by default;
        children need more: pass their target).

    Returns
    -------
    SleepScore

    Notes
    -----
    Each item earns a fraction (0..1, linear ramps, clipped) of its weight:

    1. ``amount_of_sleep`` (35): total sleep time / target.
    2. ``sleep_efficiency`` (20): 0 at efficiency 0.50, full at 0.90.
    3. ``deep_rem_share`` (15): (deep + REM) / total sleep time, 0 at 0.10, full at 0.40.
    4. ``sleep_latency`` (10): full up to 15 min, 0 from 60 min.
    5. ``awakenings`` (10): full at 0-1, 0 from 7.
    6. ``bed_exits`` (5): full at 0, 0 from 3.
    7. ``snoring`` (5): snoring time / total sleep time, full at 0, 0 from 0.20; absent
       when the session has no ``snoring_events`` track.

    ``value = round(100 * earned / available)`` over the items present. A night without
    sleep scores 0 (every item 0).
    """
    check_instance(stats, NightStatistics, "stats")
    if not (
        math.isfinite(real_number(sleep_time_target, "sleep_time_target")) and sleep_time_target > 0
    ):
        raise SignalError(
            f"sleep_time_target must be a positive number of s, got {sleep_time_target!r}"
        )
    w = SCORE_WEIGHTS
    items: dict[str, float] = {}
    tst = stats.total_sleep_time
    if tst <= 0 or stats.sleep_efficiency is None or stats.sleep_onset_latency is None:
        items = {k: 0.0 for k in w if k != "snoring" or stats.snoring_time is not None}
    else:
        share = stats.stage_percentages.get("deep", 0.0) + stats.stage_percentages.get("rem", 0.0)
        items["amount_of_sleep"] = w["amount_of_sleep"] * min(1.0, tst / sleep_time_target)
        items["sleep_efficiency"] = w["sleep_efficiency"] * _ramp(stats.sleep_efficiency, 0.5, 0.9)
        items["deep_rem_share"] = w["deep_rem_share"] * _ramp(share, 0.10, 0.40)
        items["sleep_latency"] = w["sleep_latency"] * _ramp(
            stats.sleep_onset_latency, 3600.0, 900.0
        )
        items["awakenings"] = w["awakenings"] * _ramp(stats.awakenings, 7.0, 1.0)
        items["bed_exits"] = w["bed_exits"] * _ramp(stats.bed_exits, 3.0, 0.0)
        if stats.snoring_time is not None:
            items["snoring"] = w["snoring"] * _ramp(stats.snoring_time / tst, 0.20, 0.0)
    available = sum(w[k] for k in items)
    value = round(float(100.0 * sum(items.values()) / available)) if available else 0
    return SleepScore(
        value=value,
        items={k: round(v, 6) for k, v in items.items()},
        maximum={k: w[k] for k in items},
        version=SLEEP_SCORE_VERSION,
        sleep_time_target=float(sleep_time_target),
    )


def jawbone_quality(stats: NightStatistics) -> int:
    """Jawbone-style sleep quality 0-100, formula ``sleepsignal-quality-1``.

    Jawbone never published its formula ("light and deep sleep vs wake time"); this one
    is ours.

    Parameters
    ----------
    stats : NightStatistics

    Returns
    -------
    int
        ``round(100 * (0.5 * E + 0.3 * D + 0.2 * T))`` where ``E`` is total sleep time
        over the bed period (sleep vs wake), ``D`` is ``min(1, deep share / 0.20)`` (deep
        sleep vs light) and ``T`` is ``min(1, total sleep time / 7 h)``. 0 without sleep.

    Examples
    --------
    >>> import numpy as np
    >>> from sleepsignal.hypnogram import Hypnogram
    >>> jawbone_quality(night_statistics(Hypnogram(np.zeros(10, int), start=0.0)))
    0
    """
    if stats.total_sleep_time <= 0 or stats.time_in_bed <= 0:
        return 0
    e = stats.total_sleep_time / stats.time_in_bed
    d = min(1.0, stats.stage_percentages.get("deep", 0.0) / 0.20)
    t = min(1.0, stats.total_sleep_time / (7 * 3600.0))
    return round(float(100.0 * (0.5 * e + 0.3 * d + 0.2 * t)))
