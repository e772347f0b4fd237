"""Beat-to-beat intervals, 30 s heart rate and the Beddit heart tracks from raw BCG.

The detector works on the local shape of the ballistocardiogram rather than on single
peaks: each candidate beat is aligned with the next few candidates by correlating whole
beat complexes (the multi-lobed J-wave), the chain of beats is chosen by dynamic
programming, and each interval gets a confidence and a reliability decision. Only
reliable intervals enter the Beddit ``heartbeat`` track, and a 30 s ``heart_rate``
reading is given only when enough of its window is covered by intervals whose length is
reliable (their beat times may sit on another lobe of the beat complex).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from . import _heartbeat_kernels as _k
from ._filters import butter_sos, iirnotch_sos
from ._validate import array_1d, check_bins, check_fs, check_instance, real_number
from .errors import SignalError, warn_user
from .hrv import night_hrv_indices, rmssd
from .session import Session, TimeValueTrack

__all__ = [
    "MIN_FS",
    "Heartbeats",
    "detect_heartbeats",
    "heart_rate",
    "heartbeat_tracks",
    "night_hrv_indices",
    "rmssd",
]

#: Lowest sampling rate (Hz) accepted: below it the J-wave band (up to ~10 Hz) aliases.
MIN_FS = 25.0

_MAX_SKIP = 3  # a candidate is aligned with the next 3 (skips 2 spurious candidates)
_GOOD_ENOUGH = 0.8  # next candidate this similar: do not try skipping it
_NCC_FLOOR = 0.3  # correlation below which an edge never joins the chain
_NEAR_MARGIN = 0.1  # local median: nearest candidate within 0.1 of the best ncc
_DEV_WEIGHT = 2.0  # chain cost per unit relative deviation from the local median
_BREAK_COST = 0.0  # chain score a run break costs (0.2 measured worse on drifting nights)
_EDGE_UNIT = 1.0  # s, edge scores count per second of interval (not per edge)
_ANCHOR = 0.02  # least-squares weight of the energy-peak anchor of each beat
_MAX_AMP_RATIO = 2.5  # largest beat-to-beat energy ratio (sqrt) of a reliable interval
_HIDDEN_MAX = 0.78  # a beat hides inside an interval when its shape recurs this well...
_HIDDEN_MARGIN = 0.1  # ...or within this much of the interval's own correlation
# (0.65 flagged ~5 % of the correct intervals of drifting beats, 0.75 ~1.5-2 % of those of
# cardiac drifting nights; 0.8 let the wrong-fs signal of test_wrong_fs_... through: its
# hidden beat recurs at 0.789)
_STRONG_NCC = 0.9  # a pair this alike (and >= min_ncc) may deviate up to...
_STRONG_DEV = 1.4  # ...this times max_deviation from the local median (an ectopic beat)
_HIDDEN_GAP = 0.75  # a hidden beat lies at least 0.75 x the shortest interval from both ends
_ALIGN_STEP = 1.0 / 70.0  # s, coarse lag step of the beat-pair alignment (then halved)
_HIDDEN_COARSE = 2  # hidden-beat positions tried every 2nd step first, then around the best
_J_REACH = 0.3  # s, search for the J wave of a run's average beat
_FIDUCIAL_SHIFT = 0.2  # s, largest shift when aligning a run to the reference run
_FIDUCIAL_MIN_Q = 0.8  # a run's average beat must match the reference run this well (|r|)
_LOCAL_HALF_WINDOW = 300.0  # s, matched runs this near in time form a run's local reference
_LOCAL_SHIFT = 0.6  # s, largest shift when aligning a run to its local reference...
_LOCAL_SHIFT_FRAC = 0.45  # ...and at most this fraction of the run's mean interval
_LOCAL_MIN_BEATS = 30  # beats a local reference needs (fewer: noise could match by chance)
_LOCAL_MIN_RUN = 32  # beats a run needs to be aligned to a local reference
_LOCAL_MAX_ITER = 8  # rounds of local alignment (each can use the runs matched before)
_CARRY_OWN = 8  # a run's first (last) beats aligned to the running template...
_CARRY_TEMPLATE = 16  # ...of the last (next) timed beats...
_CARRY_STAGES = ((10.0, 2), (60.0, 16), (300.0, 16), (60.0, 4))  # ...within 10 s of the
# run; then, for runs of >= 16 beats still untimed, 60 s and 300 s; last, runs of >= 4
# beats within 60 s (runs of 2-3 beats so far from a timed beat match noise too often)...
_CARRY_MIN_Q = 0.65  # ...must match it this well (signed cosine)...
_CARRY_MARGIN = 0.1  # ...and this much better than on any lobe _CARRY_SEP or more away
_CARRY_SEP = 0.05  # s
_CARRY_USABLE = 0.8  # share of a run's pair correlations >= min_ncc for it to be carried
_BRIDGE_DEV = 0.5  # a run break is bridged when the gap is within 50 % of the local median
_BRIDGE_TOL = 0.02  # s, and the fiducial times agree this well with the direct alignment
_SKIP_MAX = 2  # a break between timed runs n +- _SKIP_DEV local medians wide (n = 2..3)...
_SKIP_DEV = 0.5  # ...may hide n - 1 beats the chain skipped...
_SKIP_MIN_Q = 0.6  # ...found when both beats beside the gap match each this well...
_SKIP_TOL = 0.03  # s, ...at places this close to each other
_NOTCH_Q = 8.0  # quality factor of the mains notches (-3 dB width f/8)
_MEDIAN_HALF_WINDOW = 15.0  # s, half width of the local median interval
_LANES = 16  # chunks of the night band-passed side by side in SIMD lanes
_TEMPLATE_HALF = 8  # a beat's local template: the average of its +-8 neighbouring beats
_RECUR_LO = 0.5  # the beat complex recurring 0.5-1 x the shortest interval after a beat...
_RECUR_HI_FRAC = 0.4  # ...and within the first 40 % of the interval (a beat in the
# middle is the hidden-beat check's: complexes with a strong mid-cycle wave recur there)...
_RECUR_TOL = 0.25  # ...at lags that fit one period (rhythm varies)...
_RECUR_BEAT_MARGIN = 0.16  # ...and a local median of min(r1, r2) minus the two end beats'
# own correlation of at least -0.16 (a ring or late wave of a right heart's complex matches
# less than the next beat does: -0.23 and below on the reviewer's synthetic rings, a wrong
# fs -0.14 and above: a thin margin)
_RECUR_MAX = 0.45  # ...with a local median correlation this high: the heart is too fast
_RECUR_EVERY = 60.0  # s, about one interval per 60 s is searched (at least 16 per signal)...
_RECUR_HALF_WINDOW = 300.0  # s, ...and their median taken over +-300 s...
_RECUR_MIN_SEARCHED = 5  # ...of at least 5 searched intervals (all, when fewer)
_TEMPLATE_MIN_Q = 0.6  # an interval failing only on ncc/confidence passes when both
# beats match their local template this well


class Heartbeats(NamedTuple):
    """Beats and beat-to-beat intervals found in a BCG signal.

    Attributes
    ----------
    beat_times : numpy.ndarray
        float64, s from the first sample, in time order: sub-sample time of the J wave
        of every beat that joins at least one interval (the largest lobe of the average
        beat, the same lobe for every run of beats; successive beats of a run differ by
        the aligned interval). Where two runs of the chain meet on one beat, that beat
        appears twice, at nearly the same time.
    interval_starts : numpy.ndarray
        float64, s: start of each interval (the time of its earlier beat), non-decreasing;
        every per-interval array below is in this order.
    intervals : numpy.ndarray
        float64, s: beat-to-beat interval, measured by aligning the two whole beat
        complexes (sub-sample, parabolic interpolation of the correlation peak); across
        a bridged break of the chain the two beats are aligned at their fiducial times.
    confidence : numpy.ndarray
        float64 in [0, 1] per interval: shape similarity of the two beats times the
        agreement of the interval with the local median interval.
    reliable : numpy.ndarray
        bool per interval: the intervals that go into the Beddit ``heartbeat`` track and
        HRV: both the length and the timing are trusted (``length_reliable & timed``).
    timed : numpy.ndarray
        bool per interval: its beat times share the night's fiducial lobe (the average
        beat of its run matched the reference run, or a local reference, with ``|r| >=
        0.8``, or the running template of the timed beats next to the run). When False
        the interval length may still be right, but both beat times may sit on another
        lobe of the beat complex (up to ~0.45 s off).
    length_reliable : numpy.ndarray
        bool per interval: passes every reliability check except the fiducial one, so
        its length is trusted but not necessarily its position. :func:`heart_rate` uses
        these; ``reliable`` is ``length_reliable & timed``.
    """

    beat_times: np.ndarray
    interval_starts: np.ndarray
    intervals: np.ndarray
    confidence: np.ndarray
    reliable: np.ndarray
    timed: np.ndarray
    length_reliable: np.ndarray


def _empty() -> Heartbeats:
    e = np.empty(0, dtype=np.float64)
    b = np.empty(0, dtype=bool)
    return Heartbeats(e, e.copy(), e.copy(), e.copy(), b, b.copy(), b.copy())


def _check_fs(fs: object) -> float:
    return check_fs(
        fs,
        minimum=MIN_FS,
        too_low=(
            "fs={fs:g} Hz is too low to time heartbeats; need at least {minimum:g} Hz "
            "(the Beddit BCG track is 140 Hz). Check that fs is in Hz, not kHz."
        ),
    )


def _number_pair(value: object, name: str) -> tuple[float, float]:
    """``(low, high)`` as two floats from any 1-D real array-like of length 2 (a tuple,
    list, numpy array or pandas Series), or :class:`SignalError` naming ``name``."""
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested sequences
        a = np.asarray(None)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in value):
        a = np.asarray(None)  # (True, 20) would become an int array
    if a.shape != (2,) or a.dtype.kind not in "iuf":  # strings, bools, complex, objects
        raise SignalError(f"{name} must be a (low, high) pair of numbers, got {value!r}")
    return float(a[0]), float(a[1])


def _as_signal(signal: np.ndarray) -> np.ndarray:
    a = array_1d(signal, "signal")
    # float32 (the decoded Beddit track) and float64 go to the kernels as they are
    dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.float64
    return np.ascontiguousarray(a, dtype=dtype)


def detect_heartbeats(
    signal: np.ndarray,
    fs: float,
    *,
    bpm_range: tuple[float, float] = (30.0, 160.0),
    band: tuple[float, float] = (2.0, 20.0),
    min_ncc: float = 0.6,
    max_deviation: float = 0.25,
    min_confidence: float = 0.35,
) -> Heartbeats:
    """Detect heartbeats and beat-to-beat intervals in a raw BCG signal.

    Parameters
    ----------
    signal : array_like
        Raw BCG samples, 1-D (for Beddit: the ``normal`` track). Any offset, polarity
        and gain; NaN marks missing samples.
    fs : float
        Sampling rate in Hz (140 for Beddit). Required; at least :data:`MIN_FS`.
    bpm_range : (float, float)
        Heart rates (bpm) an interval may represent; intervals outside are not reported.
    band : (float, float)
        Band-pass (Hz) applied before alignment; the upper edge is capped at 0.4 ``fs``.
    min_ncc : float
        Lowest beat-to-beat shape correlation of a reliable interval.
    max_deviation : float
        Largest relative deviation of a reliable interval from the local median
        interval (median over +-15 s of the best-matching intervals), within (0, 1].
    min_confidence : float
        Lowest confidence of a reliable interval.

    Returns
    -------
    Heartbeats
        Beats, intervals, confidence and reliability; empty arrays when the signal holds
        no detectable beats (flat, all NaN, out-of-bed noise, shorter than two beats).

    Raises
    ------
    SignalError
        For a non-1-D or non-numeric signal, a bad ``fs`` (a real number from
        :data:`MIN_FS` = 25 Hz to 1e6 Hz) or bad options.

    Warns
    -----
    SleepSignalWarning
        Once per call, when beats recur faster than ``bpm_range`` allows somewhere (most
        likely ``fs`` is declared higher than the signal's own rate) and intervals that
        would have been reported there are not.

    Notes
    -----
    The method follows the idea of local interval estimation on the whole beat complex
    (Brüser et al. 2013) with a chain model of the beats (Paalasmaa et al. 2015):

    1. Filter: high-pass 2 Hz (2nd order), low-pass 20 Hz (4th order, capped at
       0.4 ``fs``), and notches (Q = 8) wherever 50/60 Hz mains hum or a harmonic folds
       into the band at this ``fs`` (at 140 Hz the 150 Hz harmonic lands on 10 Hz).
       NaN, samples stuck on the signal's rail (clipping) and flat stretches >= 0.25 s
       are bad samples; no window that touches one (plus 0.3 s of filter ringing) is
       timed.
    2. Energy envelope: sum of squares over 0.15 s, every ~1/70 s.
       Candidate beats: envelope maxima within half the shortest allowed interval.
    3. Align the window [-0.25 s, +0.35 s] around each candidate with the windows around
       the next three candidates at every lag within +-0.1 s (coarse-to-fine), by
       Pearson correlation: gain and offset drop out. The best lag, refined by a
       parabola, gives the interval to a fraction of a sample, and its correlation
       ``ncc`` the shape similarity. Farther candidates are tried only when the next one
       correlates below 0.8.
    4. Local median interval: median over +-15 s of each candidate's interval to the
       nearest of the next three candidates that matches within 0.1 of the best one
       (best ``ncc >= 0.7``); noisy beats match their next few beats about equally
       well, and the best alone would often span two beats.
    5. Dynamic programming picks the chain of beats that maximises the summed edge score
       ``(ncc - 0.3 - 2 |interval / median - 1|) x interval / 1 s`` (edges scoring
       above zero only; counted per second of interval, so that a chain through both
       lobes of every beat, twice the edges at half the interval, does not outscore
       the beats). The chain breaks where no edge scores above zero (movement, out of
       bed) and starts again with the new beat shape, so the shape is re-learnt after
       every movement or posture change.
    6. Beat times: least squares that keeps each aligned interval while anchoring the run
       to its envelope peaks (weight 0.02), so times do not drift; then each run is
       shifted so that its average beat's J wave (the largest lobe of the reference run,
       the run with most beat pairs at ``ncc >= min_ncc``; other runs aligned to it by
       correlation, either polarity) is the fiducial.
       A run of >= 32 beats that matches it with ``|r| < 0.8`` (the beat shape drifts
       over a night as the lobes beside J change size and place) is aligned to a local
       reference instead: the average beats of the matched runs within +-300 s (>= 30
       beats), centred on their fiducials; the shift may reach 0.45 of the run's
       interval (at most 0.6 s), short of the neighbouring beat; a run matched so (``|r|
       >= 0.8``, and only then counted as matching the reference below) joins the local
       references of the next round (up to 8 rounds), so the fiducial follows the drift
       outwards from the runs that match, as an adaptive beat template does (Paalasmaa
       et al. 2015; here per run of beats rather than per beat). A run that matches
       neither (on drifting nights the chain breaks every ~13 beats, mostly with no beat
       missing, so most runs are short) is aligned to a running template, the
       fiducial-centred sum of the nearest 16 timed beats within 10 s before it (then,
       in a backward pass, after it), by its first (last) 8 beats: signed correlation
       ``>= 0.65`` and at least 0.1 better than at any shift 0.05 s or more away (another
       lobe). It is then timed and its beats join the template of the next runs, so the
       fiducial is carried across the break; runs of >= 16 beats still untimed are
       tried again with the template reaching 60 s, then 300 s, and last the runs of
       >= 4 beats with the template reaching 60 s (only runs with >= 80 % of their
       pair correlations ``>= min_ncc`` are carried, and runs of 2-3 beats only within
       10 s: noise can match a template by chance), as the adaptive beat model
       of Paalasmaa et al. 2015 follows a drifting beat shape (there a model updated
       with the beats found, which then locates the next beats). A break between two
       timed runs whose fiducial times lie 0.5-1.5 local median intervals apart (no
       beat missing) becomes an interval when the two beats, aligned directly as in
       step 3 (windows at the fiducial times), agree with that gap within 20 ms (both
       runs then sit on one lobe): the interval is the direct alignment, its ``ncc``
       that alignment's correlation, and the later run (with the runs bridged after
       it) moves by the difference, so that the beat times keep every interval.
       A break between two timed runs 2 (3) +- 0.5 local medians wide hides 1 (2)
       beats the chain skipped: each is sought at its place in the gap (divided
       evenly) by aligning both beats beside the gap with the signal there (as in
       step 3, lags within +-0.1 s); when both find it within 30 ms of each other at
       correlations >= 0.6, for every missing beat of the gap, the beats (at the
       places the beat before the gap gives) become nodes of the chain that join the
       two runs, and the later run (with the runs bridged after it) moves so that its
       first beat keeps the place its own alignment gives. The local median is
       recomputed from the chain's own intervals (``ncc >= min_ncc``).
    7. Reliable: ``ncc >= min_ncc`` and confidence >= ``min_confidence``, or (with
       ``ncc >= 0.3``) both beats correlate >= max(0.6, ``min_ncc``) with their local
       template (the sum of the filtered windows, -0.25..+0.35 s, of the 8 beats before and after at
       their solved times, the beat itself excluded): with strong body noise two
       single beats differ more than a beat and its neighbourhood; within
       ``max_deviation`` of the local median (or, for a pair with ``ncc >= max(0.9,
       min_ncc)``, within 1.4 ``max_deviation``, confidence aside: a premature beat and
       the pause after it lie 25-35 % off the median; such an interval does not count
       towards the streak length below); inside ``bpm_range``; the two beats' energies
       within a factor 2.5**2 (a posture change can make the alignment lock on the wrong
       lobe); the run's average beat matched the reference run or its local reference
       with ``|r| >= 0.8``, or the running template (otherwise its beat times might sit
       on another lobe); no hidden beat (the first
       beat's shape must not recur at 30-70 % of the interval with a correlation >=
       min(0.78, ncc - 0.1): the interval might span a missed beat; a cap of 0.65
       flagged ~5 % of the correct intervals of drifting nights, whose beat complex
       recurs at 0.65-0.8 inside the interval, 0.75 still 1.5-2 % of those of the
       cardiac ones; for an interval passed by the local
       template, its weaker beat's template correlation stands for ``ncc``); and part of a
       streak of at least three consecutive such intervals (a streak goes on across a
       run break where two timed runs meet on one beat, their two nodes of it within
       20 ms: no beat is missing there). ``length_reliable`` is the same test without
       the fiducial check and ``timed`` the fiducial check alone (a streak lies within
       one run or joins timed runs only, so ``reliable == length_reliable & timed``).
    8. Too fast a heart: where the beat complex recurs 0.5-1 x the shortest allowed
       interval after a beat and as far before the next (one period from each end, the
       rest of the interval a whole number of periods; median over +-300 s of one
       interval per ~60 s, correlation >= 0.45), nothing is reliable and a warning
       names ``fs`` (a 140 Hz signal declared as 500 Hz beats at ~250 bpm, and the chain
       would link every 4th beat).

    ``confidence = clip((ncc - 0.3) / 0.7, 0, 1) * clip(1 - dev / (2 max_deviation), 0,
    1)`` with ``dev`` the relative deviation from the local median.

    References
    ----------
    .. [1] C. Brüser, S. Winter, S. Leonhardt, "Robust inter-beat interval estimation in
       cardiac vibration signals", Physiol. Meas. 34:123-138, 2013.
    .. [2] J. Paalasmaa, H. Toivonen, M. Partinen, "Adaptive heartbeat modeling for beat-
       to-beat heart rate measurement in ballistocardiograms", IEEE J. Biomed. Health
       Inform. 19(6):1945-1952, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 140.0
    >>> t = np.arange(int(60 * fs)) / fs
    >>> beats = np.arange(0.5, 59.5, 0.8)
    >>> x = sum(np.exp(-((t - b) / 0.03) ** 2) - 0.6 * np.exp(-((t - b - 0.1) / 0.04) ** 2)
    ...         for b in beats)
    >>> hb = detect_heartbeats(x, fs)
    >>> bool(np.allclose(hb.intervals[hb.reliable], 0.8, atol=0.002))
    True
    """
    hb, fast_heart = _detect_heartbeats(
        signal,
        fs,
        bpm_range=bpm_range,
        band=band,
        min_ncc=min_ncc,
        max_deviation=max_deviation,
        min_confidence=min_confidence,
    )
    if fast_heart is not None:
        _warn_fast_heart(fast_heart)
    return hb


class _FastHeart(NamedTuple):
    """What the fast-heart check removed: ``lost`` intervals that would have been
    reported, at the fastest allowed heart ``hi_bpm`` and the declared ``fs``."""

    lost: int
    hi_bpm: float
    fs: float


def _warn_fast_heart(fast_heart: _FastHeart) -> None:
    """The one warning of a wrong ``fs`` (per call, or per stream)."""
    warn_user(
        f"the beat complex recurs faster than the fastest allowed heart rate "
        f"({fast_heart.hi_bpm:g} bpm): {fast_heart.lost} beat-to-beat intervals there are "
        f"not reported. Check fs: fs={fast_heart.fs:g} Hz was given, and a sampling rate "
        "declared higher than the signal's own makes every beat look that much faster."
    )


def _detect_heartbeats(
    signal: np.ndarray,
    fs: float,
    *,
    bpm_range: tuple[float, float] = (30.0, 160.0),
    band: tuple[float, float] = (2.0, 20.0),
    min_ncc: float = 0.6,
    max_deviation: float = 0.25,
    min_confidence: float = 0.35,
) -> tuple[Heartbeats, _FastHeart | None]:
    """:func:`detect_heartbeats`, and what its fast-heart check removed (``None`` when
    nothing): the caller warns (once per call, or once per stream)."""
    fs = _check_fs(fs)
    x = _as_signal(signal)
    lo_bpm, hi_bpm = _number_pair(bpm_range, "bpm_range")
    if not (0 < lo_bpm < hi_bpm <= 300):
        raise SignalError(
            f"bpm_range must be (low, high) with 0 < low < high <= 300, got {bpm_range!r}"
        )
    f_lo, f_hi = _number_pair(band, "band")
    f_hi = min(f_hi, 0.4 * fs)
    if not (0 < f_lo < f_hi):
        raise SignalError(f"band must be (low, high) in Hz with 0 < low < high, got {band!r}")
    for name, v in (
        ("min_ncc", min_ncc),
        ("max_deviation", max_deviation),
        ("min_confidence", min_confidence),
    ):
        if not (0.0 <= real_number(v, name) <= 1.0):
            raise SignalError(f"{name} must be within [0, 1], got {v!r}")
    if not real_number(max_deviation, "max_deviation") > 0.0:  # the confidence divides by it
        raise SignalError(f"max_deviation must be within (0, 1], got {max_deviation!r}")

    min_iv = 60.0 / hi_bpm * fs  # samples
    max_iv = 60.0 / lo_bpm * fs
    before = round(0.25 * fs)
    after = round(0.35 * fs)
    max_lag = max(1, round(0.1 * fs))
    if x.shape[0] < before + after + 2 * max_lag + min_iv:
        return _empty(), None

    min_flat = max(2, round(0.25 * fs))
    # the median of a 1 Hz subsample centres the signal (in float64, like the filter)
    sub = x[:: max(1, int(fs))].astype(np.float64)
    sub = sub[np.isfinite(sub)]
    if sub.shape[0]:
        centre = float(np.median(sub))
    else:  # rare: the median of the good samples (needs the bad samples first)
        x64 = x.astype(np.float64)
        bad = _k._bad_samples(x64, min_flat)
        if bad.all():
            return _empty(), None
        centre = float(np.median(x64[~bad]))
    # energy envelope: sum of squares over 0.15 s, evaluated every ~1/70 s (candidates
    # only need to fall within the +-0.1 s that the alignment searches)
    q = max(1, round(fs / 70.0))
    bad_start, bad_stop = _bad_runs(x, min_flat)
    if int(np.sum(bad_stop - bad_start)) == x.shape[0]:
        return _empty(), None
    sos, warm = _filter_and_warm_up(fs, f_lo, f_hi)
    # lanes whose warm-ups add at most half the signal's length again (a short signal
    # at a high rate gets fewer lanes; the filter is the same to rounding)
    lanes = max(1, min(_LANES, x.shape[0] // (2 * warm))) if warm > 0 else _LANES
    y, eb = _k._front_end(x, centre, sos, bad_start, bad_stop, q, lanes, warm)
    peaks, env_c = _k._envelope_peaks(
        eb, max(1, round(0.15 * fs / q)), max(1, int(0.5 * min_iv / q))
    )
    cand = peaks * q + q // 2
    if cand.shape[0] < 2:
        return _empty(), None

    # a candidate is bad when its aligned windows (plus 0.3 s of filter ringing) touch
    # a bad sample
    ring = round(0.3 * fs)
    lo_i = np.clip(cand - before - max_lag - ring, 0, x.shape[0])
    hi_i = np.clip(cand + after + max_lag + 1, 0, x.shape[0])
    # runs [bad_start, bad_stop) are sorted and disjoint: one meets [lo, hi) when it
    # starts before hi and more runs start before hi than stop at or before lo
    cand_bad = np.searchsorted(bad_stop, lo_i, side="right") < np.searchsorted(
        bad_start, hi_i, side="left"
    )

    lag, ncc = _k._pair_alignment(
        y,
        cand,
        cand_bad,
        _MAX_SKIP,
        before,
        after,
        max_lag,
        _GOOD_ENOUGH,
        max(1, round(_ALIGN_STEP * fs)),
        min_iv,
        max_iv,
    )
    # the nearest candidate that matches almost as well as the best: when beats are
    # noisy, the next beats match about equally well, and the best of them alone would
    # put the local median at two beats
    nc = cand.shape[0]
    best_iv = _k._nearest_good_interval(
        cand, lag.ravel(), ncc.ravel(), _MAX_SKIP, min_iv, max_iv, _NEAR_MARGIN, 0.7
    )
    med = _median_at(cand.astype(np.float64) / fs, best_iv, cand.astype(np.float64) / fs)

    pred = _k._best_chain(
        cand,
        lag.ravel(),
        ncc.ravel(),
        _MAX_SKIP,
        med,
        math.ceil(min_iv),
        int(max_iv),
        _NCC_FLOOR,
        _DEV_WEIGHT,
        _BREAK_COST,
        _EDGE_UNIT * fs,
    )
    kk = np.flatnonzero(pred >= 0)  # later beat of each edge
    if kk.shape[0] == 0:
        return _empty(), None
    pp = pred[kk]
    dd = kk - pp
    e_iv = cand[kk] - cand[pp] + lag[pp, dd - 1]
    e_q = ncc[pp, dd - 1]
    e_med = med[pp]
    e_dev = _deviation(e_iv, e_med)

    # nodes of the chain (every candidate joined by an edge), in time order
    on = np.zeros(nc, dtype=bool)
    on[kk] = True
    on[pp] = True
    nodes = np.flatnonzero(on)
    pos = np.full(nc, -1, dtype=np.int64)
    pos[nodes] = np.arange(nodes.shape[0])
    ek = pos[kk]  # edge j joins node ek-1 -> ek (consecutive nodes in the chain)
    t = _solve_times(nodes.shape[0], ek, e_iv, cand[nodes].astype(np.float64))
    # one fiducial for every run: the J wave of the run's average beat, aligned to the
    # run with most well-matched beat pairs (edges at ncc >= min_ncc), so runs locked on
    # different lobes share one time reference. Not simply the run with most beats: on
    # a noisy night whose real runs are short, that can be a run of noise in the empty
    # bed (median ncc 0.48), to which no real run matches
    joined_nodes = np.zeros(nodes.shape[0], dtype=bool)
    joined_nodes[ek] = True  # node i is joined to node i-1
    run_start = np.concatenate((np.flatnonzero(~joined_nodes), [nodes.shape[0]]))
    n_runs = run_start.shape[0] - 1
    run_of_edge = np.repeat(np.arange(n_runs), np.diff(run_start))[ek]
    good_edges = np.bincount(run_of_edge, weights=e_q >= min_ncc, minlength=n_runs)
    reach = round(_J_REACH * fs)
    shift, fid_q = _k._run_fiducial(
        y,
        t,
        run_start,
        reach,
        reach,
        round(_FIDUCIAL_SHIFT * fs),
        int(np.argmax(good_edges)) if n_runs else -1,
    )
    # runs that do not match the reference (the beat shape drifts over the night) are
    # aligned to a time-local reference: the matched runs within +-300 s (runs of 32
    # beats or more: a shorter run's average matches another lobe too often)
    shift, fid_q = _k._local_fiducial(
        y,
        t,
        run_start,
        shift,
        fid_q,
        reach,
        round(_LOCAL_SHIFT * fs),
        _LOCAL_SHIFT_FRAC,
        _LOCAL_HALF_WINDOW * fs,
        _FIDUCIAL_MIN_Q,
        _LOCAL_MIN_BEATS,
        _LOCAL_MIN_RUN,
        _LOCAL_MAX_ITER,
    )
    # a run that matched neither (often a short run: the chain breaks every ~13 beats
    # on drifting nights, with no beat missing) is aligned to a running template: the
    # nearest timed beats before it (forwards) or after it (backwards), centred on
    # their fiducials, so the fiducial is carried across the break; the template may
    # reach 10 s, then (for runs of 16 beats or more still untimed) 60 s, then 300 s
    timed_run = fid_q >= _FIDUCIAL_MIN_Q
    # only runs whose beats match each other (>= 80 % of their pair correlations >=
    # min_ncc) are carried: a run of noise could match a template by chance and then
    # pass it on
    usable = _CARRY_USABLE * np.bincount(run_of_edge, minlength=n_runs) <= good_edges
    for age, min_run in _CARRY_STAGES:
        shift, _, timed_run = _k._template_fiducial(
            y,
            t,
            run_start,
            shift,
            timed_run,
            usable & (np.diff(run_start) >= min_run),
            reach,
            round(_LOCAL_SHIFT * fs),
            _LOCAL_SHIFT_FRAC,
            _CARRY_OWN,
            _CARRY_TEMPLATE,
            age * fs,
            _CARRY_MIN_Q,
            max(1, round(_CARRY_SEP * fs)),
            _CARRY_MARGIN,
        )
    t = t + np.repeat(shift, np.diff(run_start))
    # a run whose beat shape matches neither the reference run, its local reference
    # nor the running template cannot be given the common fiducial lobe: its
    # intervals may be right but its times on another lobe
    fid_ok = np.repeat(timed_run, np.diff(run_start))[ek]
    # a break between two timed runs with one interval between them (the chain
    # broke with no beat missing) becomes an edge when the two beats, aligned
    # directly at their fiducial times, agree with the gap (both runs then sit on the
    # same lobe)
    a_node = run_start[1:-1] - 1  # last node of each run but the last
    b_node = a_node + 1  # first node of the next run
    gap = t[b_node] - t[a_node]
    m_ab = med[nodes[a_node]]
    sel = np.flatnonzero(
        timed_run[:-1]
        & timed_run[1:]
        & (gap >= (1.0 - _BRIDGE_DEV) * m_ab)
        & (gap <= (1.0 + _BRIDGE_DEV) * m_ab)
    )
    if sel.shape[0]:
        ca = np.floor(t[a_node[sel]] + 0.5).astype(np.int64)
        cb = np.floor(t[b_node[sel]] + 0.5).astype(np.int64)
        lo_b = np.clip(np.minimum(ca, cb) - before - max_lag - ring, 0, x.shape[0])
        hi_b = np.clip(np.maximum(ca, cb) + after + max_lag + 1, 0, x.shape[0])
        clean = np.searchsorted(bad_stop, lo_b, side="right") >= np.searchsorted(
            bad_start, hi_b, side="left"
        )
        b_lag, b_q = _k._fiducial_pairs(y, t[a_node[sel]], t[b_node[sel]], before, after, max_lag)
        direct = (cb - ca) + b_lag
        with np.errstate(invalid="ignore"):
            agree = clean & (np.abs(direct - gap[sel]) <= _BRIDGE_TOL * fs) & (b_q >= _NCC_FLOOR)
        sel = sel[agree]
        b_q = b_q[agree]
        # the later run moves so that the bridged interval is the direct alignment (as
        # precise as any other interval); a chain of bridges moves together
        step = np.zeros(run_start.shape[0] - 1)
        step[sel + 1] = direct[agree] - gap[sel]
        bridged = np.zeros(run_start.shape[0] - 1, dtype=bool)
        bridged[sel + 1] = True
        acc = np.cumsum(step)
        first = np.flatnonzero(~bridged)  # first run of each chain of bridged runs
        acc = acc - acc[first][np.cumsum(~bridged) - 1]
        t = t + np.repeat(acc, np.diff(run_start))
        gap = t[b_node] - t[a_node]
    n_b = sel.shape[0]
    bridged_break = np.zeros(a_node.shape[0], dtype=bool)  # joined by an edge now
    bridged_break[sel] = True
    if n_b:
        ek = np.concatenate((ek, b_node[sel]))
        kk = np.concatenate((kk, nodes[b_node[sel]]))
        pp = np.concatenate((pp, nodes[a_node[sel]]))
        e_iv = np.concatenate((e_iv, gap[sel]))
        e_q = np.concatenate((e_q, b_q))
        e_med = np.concatenate((e_med, med[nodes[a_node[sel]]]))
        fid_ok = np.concatenate((fid_ok, np.ones(n_b, dtype=bool)))
        ek, kk, pp, e_iv, e_q, e_med, fid_ok = _by_edge(ek, kk, pp, e_iv, e_q, e_med, fid_ok)
        e_dev = _deviation(e_iv, e_med)
    # a break between two timed runs about two (three) intervals wide: the chain
    # skipped a beat (two beats): no energy peak of it was a candidate, or its edges
    # scored <= 0. Each missing beat is sought by aligning both beats beside the gap
    # with the signal around its expected place (the gap divided evenly); when both
    # find it within _SKIP_TOL of each other for every missing beat of the gap, the
    # beats become nodes of the chain (not candidates) that join the two runs
    a_node = run_start[1:-1] - 1
    b_node = a_node + 1
    gap = t[b_node] - t[a_node]
    with np.errstate(invalid="ignore"):
        ratio = gap / med[nodes[a_node]]
    ratio = np.where(np.isfinite(ratio), ratio, 0.0)
    n_iv = np.floor(ratio + 0.5).astype(np.int64)  # intervals the gap spans
    sel = np.flatnonzero(
        timed_run[:-1]
        & timed_run[1:]
        & ~bridged_break  # a bridged break has an edge already (its gap may reach 1.5)
        & (n_iv >= 2)
        & (n_iv <= _SKIP_MAX + 1)
        & (np.abs(ratio - n_iv) <= _SKIP_DEV)
    )
    cand_x = cand
    env_x = env_c
    if sel.shape[0]:
        k_sel = n_iv[sel]
        rep, i_in, m_a, m_b, q_a, q_b, ok_break = _skipped_beats(
            y,
            t[a_node[sel]],
            t[b_node[sel]],
            k_sel,
            before,
            after,
            max_lag,
            _SKIP_MIN_Q,
            _SKIP_TOL * fs,
        )
        lo_b = np.clip(np.floor(t[a_node[sel]]).astype(np.int64) - before - max_lag - ring, 0, None)
        hi_b = np.clip(np.floor(t[b_node[sel]]).astype(np.int64) + after + max_lag + 2, 0, None)
        clean = np.searchsorted(bad_stop, lo_b, side="right") >= np.searchsorted(
            bad_start, hi_b, side="left"
        )
        ok_break = ok_break & clean
        keep = ok_break[rep]
        if keep.any():
            rep = np.cumsum(ok_break)[rep[keep]] - 1  # into the kept breaks
            sel = sel[ok_break]
            i_in = i_in[keep]
            tm = m_a[keep]  # the places the beat before the gap gives
            m_b = m_b[keep]
            q_a = q_a[keep]
            q_b = q_b[keep]
            ta = t[a_node[sel]][rep]
            an = a_node[sel][rep]  # sorted; the new nodes follow node an, in order
            nr = an.shape[0]
            r = np.arange(nr)
            t = np.insert(t, an + 1, tm)
            ek = ek + np.searchsorted(an, ek, side="left")
            m_new = an + r + 1  # the new nodes' indices
            last = np.flatnonzero(np.append(rep[1:] != rep[:-1], True))  # each break's last row
            pa = nodes[a_node[sel]]  # candidates beside each kept gap
            pb = nodes[b_node[sel]]
            # pseudo candidates in the envelope's time frame (where run A's energy
            # peaks lie relative to its fiducial)
            pseudo = cand[pa[rep]] + np.floor(tm - ta + 0.5).astype(np.int64)
            ci = nc + r
            # their energy: the envelope's largest value within 0.1 s (as at a peak)
            size = max(1, round(0.15 * fs / q))
            span = max(1, round(0.1 * fs / q))
            bi = np.clip(pseudo // q, 0, eb.shape[0] - 1)[:, None, None]
            bi = bi + np.arange(-span, span + 1)[None, :, None]
            bi = bi + (np.arange(size) - size // 2)[None, None, :]
            inside = (bi >= 0) & (bi < eb.shape[0])
            env_m = np.max(
                np.sum(np.where(inside, eb[np.clip(bi, 0, eb.shape[0] - 1)], 0.0), axis=2),
                axis=1,
            )
            cand_x = np.concatenate((cand, pseudo))
            env_x = np.concatenate((env_c, env_m))
            # an edge into every new node (from run A's last beat or the previous new
            # node; correlation: the alignment with A, or the weaker of both for a
            # middle beat) and one from each gap's last new node into run B
            into_q = np.where(i_in == 1, q_a, np.minimum(q_a, q_b))
            ek = np.concatenate((ek, m_new, m_new[last] + 1))
            kk = np.concatenate((kk, ci, pb))
            pp = np.concatenate((pp, np.where(i_in == 1, pa[rep], ci - 1), ci[last]))
            # the run after the gap (with the runs joined to it after) moves so that its
            # first beat keeps the place its own alignment gives: every new interval is
            # a direct alignment, as precise as any other
            e_new = np.concatenate((m_new, m_new[last] + 1))
            joined_n = np.zeros(t.shape[0], dtype=bool)
            joined_n[ek] = True
            joined_n[e_new] = True
            step = np.zeros(t.shape[0])
            step[m_new[last] + 1] = tm[last] - m_b[last]
            acc = np.cumsum(step)
            first = np.flatnonzero(~joined_n)  # first node of each joined stretch
            t = t + (acc - acc[first][np.cumsum(~joined_n) - 1])
            e_iv = np.concatenate((e_iv, t[e_new] - t[e_new - 1]))
            e_q = np.concatenate((e_q, into_q, q_b[last]))
            e_med = np.concatenate((e_med, med[pa[rep]], med[pa]))
            fid_ok = np.concatenate((fid_ok, np.ones(nr + sel.shape[0], dtype=bool)))
            ek, kk, pp, e_iv, e_q, e_med, fid_ok = _by_edge(ek, kk, pp, e_iv, e_q, e_med, fid_ok)
            e_dev = _deviation(e_iv, e_med)
    # second pass of the local median: from the chain's own well-matched intervals
    good = e_q >= min_ncc
    if good.any():
        t_edge = cand_x[pp].astype(np.float64) / fs  # sorted, unlike shifted beat times
        e_med = _median_at(t_edge[good], e_iv[good], t_edge)
        e_dev = _deviation(e_iv, e_med)
    intervals = (t[ek] - t[ek - 1]) / fs
    starts = t[ek - 1] / fs

    conf = np.clip((e_q - _NCC_FLOOR) / (1.0 - _NCC_FLOOR), 0.0, 1.0) * np.clip(
        1.0 - e_dev / (2.0 * max_deviation), 0.0, 1.0
    )
    # the two beats must have similar strength: a 10x jump or a polarity flip between
    # them is a posture change, where the alignment can lock on the wrong lobe
    with np.errstate(divide="ignore", invalid="ignore"):
        amp_ratio = np.sqrt(env_x[kk] / env_x[pp])
    in_range = (intervals >= 60.0 / hi_bpm) & (intervals <= 60.0 / lo_bpm)
    # a premature beat and the pause after it are real intervals 25-35 % off the local
    # median (their confidence falls with the deviation): a pair of beats that match
    # strongly passes up to _STRONG_DEV x max_deviation
    strong = (e_q >= max(_STRONG_NCC, min_ncc)) & (e_dev <= _STRONG_DEV * max_deviation)
    usual = (e_dev <= max_deviation) & (conf >= min_confidence)
    passes = (
        (e_q >= min_ncc)
        & (usual | strong)
        & (amp_ratio >= 1 / _MAX_AMP_RATIO)
        & (amp_ratio <= _MAX_AMP_RATIO)
        & in_range
    )  # every check but the fiducial one (fid_ok) and the hidden beat (below)
    # an interval that fails only on the pair's similarity (ncc or confidence) passes
    # when both beats match the average of their neighbours (at their solved times):
    # with strong body noise two single beats differ more than a beat and its
    # neighbourhood's average
    weak = (
        ~passes
        & (e_dev <= max_deviation)
        & (amp_ratio >= 1 / _MAX_AMP_RATIO)
        & (amp_ratio <= _MAX_AMP_RATIO)
        & in_range
        & (e_q >= _NCC_FLOOR)
    )
    if weak.any():
        order_t = np.argsort(t, kind="stable")
        start_t = np.floor(t[order_t] + 0.5).astype(np.int64) - before
        need = np.zeros(t.shape[0], dtype=bool)  # the beats of the weak intervals
        need[ek[weak] - 1] = True
        need[ek[weak]] = True
        r_sorted = _k._local_template_ncc(y, start_t, need[order_t], _TEMPLATE_HALF, before + after)
        r_node = np.empty(t.shape[0])
        r_node[order_t] = r_sorted
        with np.errstate(invalid="ignore"):
            # never looser than the caller's own min_ncc (a stricter detector stays strict)
            q_min = max(_TEMPLATE_MIN_Q, min_ncc)
            tmpl_ok = (r_node[ek - 1] >= q_min) & (r_node[ek] >= q_min)
        via_tmpl = weak & tmpl_ok
        passes |= via_tmpl
        # the hidden-beat check below compares with the interval's own similarity:
        # for these intervals, the weaker beat's match with its template
        q_hidden = np.where(via_tmpl, np.minimum(r_node[ek - 1], r_node[ek]), e_q)
    else:
        q_hidden = e_q
    # an interval that might span a missed beat: the first beat's shape recurs inside it.
    # The check only removes intervals from the streaks below, so only the intervals of
    # a streak of passing intervals need it
    # a streak goes on across a run break where the two runs meet on one beat: both
    # timed, and their two nodes of that beat within _BRIDGE_TOL of each other
    link = _same_beat_links(ek, t, fid_ok, _BRIDGE_TOL * fs)
    # an interval passed only as a strong pair does not count towards a streak's length
    counts = usual | ~strong
    cand_pass = np.flatnonzero(_in_streak(passes, ek, 3, link, counts))
    hidden = _k._hidden_beat(
        y,
        cand_x[pp[cand_pass]],
        cand_x[kk[cand_pass]],
        before,
        after,
        0.3,
        0.7,
        max(1, round(fs / 70.0)),
        int(min_iv * _HIDDEN_GAP),
        _HIDDEN_COARSE,
    )
    passes[cand_pass[hidden >= np.minimum(_HIDDEN_MAX, q_hidden[cand_pass] - _HIDDEN_MARGIN)]] = (
        False
    )
    # beats that recur faster than the fastest allowed heart (a wrong fs): the chain
    # then links every 2nd-4th beat, intervals the hidden-beat check misses (with a
    # varying rhythm the beat at the middle of the interval matches the first one less
    # than the beats next to the ends do)
    fast = _fast_recurrence(
        y, cand_x[pp[cand_pass]], cand_x[kk[cand_pass]], before, after, min_iv, fs
    )
    fast_heart = None
    passes_slow = passes.copy() if fast.any() else passes
    passes[cand_pass[fast]] = False
    # the length checks pass: streaks of length-reliable intervals. A streak lies within
    # one run, or links timed runs only, and fid_ok is constant over a run, so the
    # streaks of passes & fid_ok are exactly these streaks where fid_ok holds: reliable
    # = length_reliable & fid_ok
    length_reliable = passes & _in_streak(passes, ek, 3, link, counts)
    if passes_slow is not passes:
        # the warning only where the check removed intervals that would have been
        # reported (on a night of noise it may flag a few that fail anyway)
        lost = passes_slow & _in_streak(passes_slow, ek, 3, link, counts) & ~length_reliable
        if lost.any():
            fast_heart = _FastHeart(int(lost.sum()), hi_bpm, fs)
    per_interval = [starts, intervals, conf, length_reliable & fid_ok, fid_ok, length_reliable]
    # in time order: runs moved onto one fiducial lobe may overlap by a beat, so the
    # chain's order can put a start just before the previous one
    if np.any(np.diff(starts) < 0):
        order = np.argsort(starts, kind="stable")
        per_interval = [v[order] for v in per_interval]
    starts, intervals, conf, reliable, timed, length_reliable = per_interval
    hb = Heartbeats(
        beat_times=np.sort(t / fs),
        interval_starts=starts,
        intervals=intervals,
        confidence=conf,
        reliable=reliable,
        timed=timed,
        length_reliable=length_reliable,
    )
    return hb, fast_heart


def _fast_recurrence(
    y: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    before: int,
    after: int,
    min_iv: float,
    fs: float,
) -> np.ndarray:
    """True for the intervals (beats at samples ``first``, ``second``, in time order)
    that lie where the beat complex recurs faster than the fastest allowed heart.

    A signal whose beats come faster than ``min_iv`` (samples) allows (a 140 Hz
    recording declared as 500 Hz shows ~250 bpm) makes the chain link every 2nd-4th
    beat; the hidden-beat check, which looks at the middle of the interval, misses
    them when the rhythm varies (its window holds the neighbouring beats too, and the
    beat two away sits in another phase of the rhythm). Here, for one interval about
    every :data:`_RECUR_EVERY` s (at least 16 per signal, or all; a wrong ``fs`` holds for
    the whole recording):

    1. ``r1``: the first beat's window correlated with the windows 0.5-1 ``min_iv``
       after it, within the first 40 % of the interval
       (:func:`~sleepsignal._heartbeat_kernels._recurrence`, best position ``p1``).
       A heart within the range has no beat there, only the later waves of the same
       complex.
    2. Where the median of ``r1`` over +-:data:`_RECUR_HALF_WINDOW` s reaches
       :data:`_RECUR_MAX` (rare on real nights, so this costs little), ``r2``: the
       second beat's window with the windows as far before it (``p2``). A too-fast
       heart puts whole beats at both places, one period apart from each end
       (``p1 ~ p2``, and the rest of the interval a whole number of such periods,
       within :data:`_RECUR_TOL`); a real complex's later wave after the first beat has
       no partner before the second. Only an interior best position counts (not within
       one step of either end of the search, :func:`_at_edge`): at an end the window
       slides down the slope of its own complex. ``v = min(r1, r2)`` where they fit,
       else 0.
    3. An interval is flagged when the median of ``v`` over +-:data:`_RECUR_HALF_WINDOW`
       s, of at least :data:`_RECUR_MIN_SEARCHED` searched intervals, reaches
       :data:`_RECUR_MAX`: one value alone varies with the rhythm, and a wrong ``fs``
       holds for the whole recording; and where the median of ``v`` minus the two end
       beats' own correlation (:func:`_window_corr`) reaches ``-``:data:`_RECUR_BEAT_MARGIN`:
       whole beats one period from each end match like beats, a ring or a late wave of
       a right heart's complex dies away and matches less.
    """
    m = first.shape[0]
    out = np.zeros(m, dtype=bool)
    if m == 0:
        return out
    span = max(float(second[-1] - first[0]), 1.0)
    stride = max(1, min(m // 16, round(m * _RECUR_EVERY * fs / span)))
    f = np.ascontiguousarray(first[::stride], dtype=np.int64)
    s = np.ascontiguousarray(second[::stride], dtype=np.int64)
    length = s - f
    lo = max(1, int(_RECUR_LO * min_iv))
    hi = np.minimum(int(min_iv), (_RECUR_HI_FRAC * length).astype(np.int64))
    step = max(1, round(fs / 70.0))
    half = _RECUR_HALF_WINDOW * fs
    tf = f.astype(np.float64)
    order = None
    if np.any(np.diff(tf) < 0):
        order = np.argsort(tf, kind="stable")
    r1, p1 = _k._recurrence(y, f, lo, hi, 1, before, after, step, _HIDDEN_COARSE)
    # only an interior peak counts: a best lag within one step of either end of the
    # search is the slope of the beat's own complex (its later waves, a ring) rather
    # than another beat, and would remove a right heart's intervals (issue 3)
    edge1 = _at_edge(p1, lo, hi, step)
    r1 = np.where(edge1, np.nan, r1)

    def local_median(v: np.ndarray, tq: np.ndarray) -> np.ndarray:
        if order is None and not np.any(np.diff(tq) < 0):
            return _k._local_median(tf, v, tq, half)
        o_q = np.argsort(tq, kind="stable")
        o_e = np.arange(tf.shape[0]) if order is None else order
        med = np.empty(tq.shape[0])
        med[o_q] = _k._local_median(tf[o_e], v[o_e], tq[o_q], half)
        return med

    with np.errstate(invalid="ignore"):
        need = local_median(r1, tf) >= _RECUR_MAX
    if not need.any():
        return out
    idx = np.flatnonzero(need)
    r2, p2 = _k._recurrence(y, s[idx], lo, hi[idx], -1, before, after, step, _HIDDEN_COARSE)
    edge = edge1[idx] | _at_edge(p2, lo, hi[idx], step)
    a1 = p1[idx].astype(np.float64)
    a2 = p2.astype(np.float64)
    period = 0.5 * (a1 + a2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = (length[idx] - a1 - a2) / period
        fits = (
            (a1 > 0)
            & (a2 > 0)
            & (np.abs(a1 - a2) <= _RECUR_TOL * period)
            & (rest >= 1.0 - _RECUR_TOL)
            & (np.abs(rest - np.round(rest)) <= _RECUR_TOL)
            & ~edge
        )
    # a true beat train: the beats one period from each end match the end beats about
    # as well as the two end beats match each other; a ring or a late wave of the
    # complex dies away and matches less
    r_beat = _window_corr(y, f[idx], s[idx], before, after)
    rv = np.minimum(r1[idx], r2)
    v = np.zeros(f.shape[0])  # not searched: no sign of a fast heart
    v[idx] = np.where(fits, rv, 0.0)  # NaN (flat) drops out
    d = np.full(f.shape[0], np.nan)
    d[idx] = np.where(fits, rv - r_beat, np.nan)
    # a median of at least _RECUR_MIN_SEARCHED searched intervals (a night of noise has
    # short sparse streaks whose noise may fit a period by chance)
    t_sorted = np.sort(tf[np.isfinite(v)])

    def decided(tq: np.ndarray) -> np.ndarray:
        cnt = np.searchsorted(t_sorted, tq + half, side="right") - np.searchsorted(
            t_sorted, tq - half, side="left"
        )
        with np.errstate(invalid="ignore"):
            return (
                (local_median(v, tq) >= _RECUR_MAX)
                & (local_median(d, tq) >= -_RECUR_BEAT_MARGIN)
                & (cnt >= min(_RECUR_MIN_SEARCHED, t_sorted.shape[0]))
            )

    if not np.any(decided(tf)):  # at the searched intervals first
        return out
    return decided(first.astype(np.float64))


def _window_corr(
    x: np.ndarray, a: np.ndarray, b: np.ndarray, before: int, after: int
) -> np.ndarray:
    """Pearson correlation of the windows ``x[a-before : a+after]`` and
    ``x[b-before : b+after]``, pair by pair; NaN where a window leaves ``x`` or is flat."""
    w = before + after
    out = np.full(a.shape[0], np.nan)
    ok = (
        (a - before >= 0)
        & (b - before >= 0)
        & (a + after <= x.shape[0])
        & (b + after <= x.shape[0])
    )
    if not ok.any():
        return out
    k = np.arange(w)
    wa = x[(a[ok] - before)[:, None] + k]
    wb = x[(b[ok] - before)[:, None] + k]
    wa = wa - wa.mean(axis=1, keepdims=True)
    wb = wb - wb.mean(axis=1, keepdims=True)
    den = np.sqrt(np.sum(wa * wa, axis=1) * np.sum(wb * wb, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[ok] = np.where(den > 0.0, np.sum(wa * wb, axis=1) / den, np.nan)
    return out


def _at_edge(lag: np.ndarray, lo: int, hi: np.ndarray, step: int) -> np.ndarray:
    """True where a best lag of :func:`~sleepsignal._heartbeat_kernels._recurrence` is
    no interior peak: within one ``step`` of ``lo`` or of ``hi`` (``lag >= 0``)."""
    return (lag >= 0) & ((lag <= lo + step) | (lag >= hi - step))


def _bad_runs(x: np.ndarray, min_flat: int) -> tuple[np.ndarray, np.ndarray]:
    """The bad samples of ``x`` as sorted, disjoint runs ``[start, stop)``
    (:func:`~sleepsignal._heartbeat_kernels._bad_runs`).

    A signal without NaN or infinity (its minimum and maximum are finite) has bad runs
    only where neighbouring samples are equal: numpy finds those in three SIMD passes
    and :func:`~sleepsignal._heartbeat_kernels._equal_runs` reads the runs off them
    (about 3 ms instead of 8 ms on an 8 h night at 140 Hz); any other signal takes the
    sample-by-sample scan.
    """
    if x.shape[0] == 0:
        return _k._bad_runs(x, min_flat)
    lo = float(np.min(x))
    hi = float(np.max(x))
    if not (math.isfinite(lo) and math.isfinite(hi)):  # NaN or inf: the full scan
        return _k._bad_runs(x, min_flat)
    eq = np.flatnonzero(x[1:] == x[:-1])
    return _k._equal_runs(x, eq, lo, hi, min_flat)


def _deviation(e_iv: np.ndarray, e_med: np.ndarray) -> np.ndarray:
    """``|interval / local median - 1|`` of each chain edge; inf where it is undefined."""
    with np.errstate(invalid="ignore"):
        e_dev = np.abs(e_iv / e_med - 1.0)
    return np.where(np.isfinite(e_dev), e_dev, np.inf)


def _by_edge(ek: np.ndarray, *per_edge: np.ndarray) -> tuple[np.ndarray, ...]:
    """``ek`` and the other per-edge arrays reordered by ``ek`` (stable): edges added
    by the bridges and skipped beats go to their place in the chain."""
    order = np.argsort(ek, kind="stable")
    return tuple(v[order] for v in (ek, *per_edge))


def _in_streak(
    passes: np.ndarray,
    ek: np.ndarray,
    length: int,
    link: np.ndarray | None = None,
    counts: np.ndarray | None = None,
) -> np.ndarray:
    """True for passing edges inside a streak of ``length`` or more consecutive passing
    edges of one run (edge ``j+1`` continues edge ``j`` when ``ek[j+1] == ek[j] + 1``),
    or of runs joined where ``link[j+1]`` (see :func:`_same_beat_links`). With
    ``counts``, only the passing edges where it is True count towards ``length``."""
    if passes.shape[0] == 0:
        return passes.copy()
    cont = np.zeros(passes.shape[0], dtype=bool)
    joined = ek[1:] == ek[:-1] + 1
    if link is not None:
        joined = joined | link[1:]
    cont[1:] = joined & passes[1:] & passes[:-1]
    # streak id increments whenever an edge does not continue the previous passing edge
    sid = np.cumsum(~cont)
    size = np.bincount(sid) if counts is None else np.bincount(sid, weights=passes & counts)
    return passes & (size[sid] >= length)


def _skipped_beats(
    y: np.ndarray,
    ta: np.ndarray,
    tb: np.ndarray,
    k: np.ndarray,
    before: int,
    after: int,
    max_lag: int,
    min_q: float,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The beats a chain skipped between the beats at ``ta`` and ``tb`` (samples, fiducial
    times), each gap spanning ``k`` (>= 2) intervals.

    Missing beat ``i`` (``1 .. k - 1``) of a gap is expected at ``ta + i (tb - ta) / k``:
    both beats beside the gap are aligned with the signal there
    (:func:`~sleepsignal._heartbeat_kernels._fiducial_pairs`, lags within ``+-max_lag``)
    and each gives a place for its fiducial. A gap is found when, for every missing beat,
    both places lie within ``tol`` samples of each other, both correlations are >=
    ``min_q`` and neither best lag lies at the edge of the search (no peak there).

    Returns ``(gap, place, m_a, m_b, q_a, q_b, found)``: one row per missing beat (its
    gap's index, ``i``, its places from the beat at ``ta`` and from the beat at ``tb``,
    the correlations with each), rows in order of gap and place, and ``found`` per gap.
    """
    rep = np.repeat(np.arange(k.shape[0]), k - 1)
    first_row = np.cumsum(k - 1) - (k - 1)
    place = np.arange(rep.shape[0]) - first_row[rep] + 1
    ta_r = ta[rep]
    g = ta_r + (tb[rep] - ta_r) * place / k[rep]
    cg = np.floor(g + 0.5)
    lag_a, q_a = _k._fiducial_pairs(y, ta_r, g, before, after, max_lag)
    lag_b, q_b = _k._fiducial_pairs(y, tb[rep], g, before, after, max_lag)
    # the window at round(ta) matches the one at cg + lag_a: ta itself at that plus its
    # fraction of a sample
    m_a = cg + lag_a + (ta_r - np.floor(ta_r + 0.5))
    tb_r = tb[rep]
    m_b = cg + lag_b + (tb_r - np.floor(tb_r + 0.5))
    with np.errstate(invalid="ignore"):
        ok = (
            (np.abs(m_a - m_b) <= tol)
            & (np.minimum(q_a, q_b) >= min_q)
            & (np.abs(lag_a) < max_lag - 0.5)
            & (np.abs(lag_b) < max_lag - 0.5)
        )
    found = np.bincount(rep, weights=~ok, minlength=k.shape[0]) == 0
    return rep, place, m_a, m_b, q_a, q_b, found


def _same_beat_links(ek: np.ndarray, t: np.ndarray, timed: np.ndarray, tol: float) -> np.ndarray:
    """True at edge ``j`` when it starts the run after edge ``j-1``'s run (``ek[j] ==
    ek[j-1] + 2``: node ``ek[j-1] + 1`` has no edge into it) and the two runs meet on one
    beat: both timed and the last node of the one within ``tol`` (samples) of the first
    node of the other (the chain broke between two lobes of that beat; no beat is
    missing)."""
    link = np.zeros(ek.shape[0], dtype=bool)
    if ek.shape[0] > 1:
        a = ek[:-1]  # later node of edge j - 1; a + 1 < ek[j] <= len(t) - 1 where linked
        nxt = ek[1:] == a + 2
        gap = np.abs(t[np.where(nxt, a + 1, a)] - t[a])
        link[1:] = nxt & timed[1:] & timed[:-1] & (gap <= tol)
    return link


def _hum_aliases(fs: float, f_lo: float, f_hi: float) -> list[float]:
    """Frequencies (Hz) where 50/60 Hz mains hum and its harmonics land after sampling at
    ``fs``, within the analysis band (plus 25 % above it)."""
    out: list[float] = []
    for f0 in (50.0, 60.0):
        for h in range(1, 8):
            fa = math.fmod(h * f0, fs)
            fa = min(fa, fs - fa)  # folded into [0, fs/2]
            if f_lo < fa < 1.25 * f_hi and all(abs(fa - g) > 0.5 for g in out):
                out.append(fa)
    return sorted(out)


def _design_filter(fs: float, f_lo: float, f_hi: float) -> np.ndarray:
    """High-pass (2nd order), low-pass (4th order) and notches at aliased mains lines."""
    sos = np.concatenate([butter_sos(2, f_lo, "highpass", fs), butter_sos(4, f_hi, "lowpass", fs)])
    notches = [iirnotch_sos(fa, _NOTCH_Q, fs) for fa in _hum_aliases(fs, f_lo, f_hi)]
    return np.concatenate([sos, *notches]) if notches else sos


@functools.lru_cache(maxsize=16)
def _cached_filter(fs: float, f_lo: float, f_hi: float) -> tuple[np.ndarray, int]:
    sos = _design_filter(fs, f_lo, f_hi)
    return sos, _warm_up(sos)


def _filter_and_warm_up(fs: float, f_lo: float, f_hi: float) -> tuple[np.ndarray, int]:
    """:func:`_design_filter` and its :func:`_warm_up`, designed once per ``(fs, band)``
    (about 0.5 ms a call otherwise: a batch of nights shares them); ``sos`` is a copy."""
    sos, warm = _cached_filter(fs, f_lo, f_hi)
    return sos.copy(), warm


def _warm_up(sos: np.ndarray) -> int:
    """Samples after which a zero initial state of the filter ``sos`` is forgotten.

    The error of a wrong initial state decays like ``|p| ** k`` after ``k`` samples,
    ``p`` the pole of largest modulus of any section (at 140 Hz: the 10 Hz mains notch,
    ``|p| = 0.972``, a time constant of 36 samples = 0.25 s). ``|p| ** k <= 1e-20``,
    four orders below float64 rounding (room for the polynomial growth of a cascade of
    similar poles), takes 1641 samples (11.7 s) there. An unstable or marginal filter
    gets ``-1``: no warm-up is enough (the front end then runs one serial lane).
    """
    r = 0.0
    for a1, a2 in sos[:, 4:6]:
        r = max(r, *np.abs(np.roots([1.0, a1, a2])))
    if not r < 1.0:
        return -1
    if r == 0.0:
        return 0
    return math.ceil(math.log(1e-20) / math.log(r))


def _median_at(t: np.ndarray, v: np.ndarray, tq: np.ndarray) -> np.ndarray:
    """Local median of ``v`` (over +-15 s of ``t``) at the times ``tq``.

    Evaluated on a 2 s grid and interpolated linearly (NaN stays NaN where no value lies
    within reach): the median moves slowly, and this keeps a night cheap. ``tq`` must be
    non-decreasing.
    """
    if tq.shape[0] == 0 or t.shape[0] == 0:
        return np.full(tq.shape[0], np.nan)
    grid = np.arange(tq[0], tq[-1] + 2.0, 2.0)
    mg = _k._local_median(t, v, grid, _MEDIAN_HALF_WINDOW)
    return _k._interp_grid(grid, mg, tq, 2.0)


def _solve_times(n: int, ek: np.ndarray, iv: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """Beat times (samples) keeping the aligned intervals, anchored to envelope peaks.

    Minimises ``sum (t[ek] - t[ek-1] - iv)^2 + w sum (t - anchor)^2`` with a
    tridiagonal solve; runs of beats are independent blocks.
    """
    diag = np.full(n, _ANCHOR)
    upper = np.zeros(n)  # upper[i] couples i and i+1
    rhs = _ANCHOR * anchor
    # each node is the later end of at most one edge and the earlier end of at most
    # one: the indices are unique, so fancy-index updates add like np.add.at
    diag[ek] += 1.0
    diag[ek - 1] += 1.0
    upper[ek - 1] = -1.0
    rhs[ek] += iv
    rhs[ek - 1] -= iv
    return _k._solve_tridiagonal(upper[:-1].copy(), diag, rhs)


def heart_rate(
    heartbeats: Heartbeats,
    *,
    duration: float,
    window: float = 30.0,
    min_coverage: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Heart rate (bpm) per window from the intervals whose length is reliable.

    A reading needs only interval lengths, so it uses ``heartbeats.length_reliable``:
    the intervals that pass every reliability check of :func:`detect_heartbeats` except
    the fiducial one (``timed``). An interval whose beat times sit on another lobe of
    the same beat complex has the right length but a position off by up to about half a
    second (less than the beat complex is wide); that can move it into the neighbouring
    window only when its midpoint lies that close to a window edge, which does not
    matter for the mean of a 30 s window. The ``heartbeat`` track and HRV keep using
    ``reliable`` (length and timing).

    Parameters
    ----------
    heartbeats : Heartbeats
        Output of :func:`detect_heartbeats`.
    duration : float
        Length of the recording in s; windows ``[i * window, (i + 1) * window)`` cover it.
    window : float
        Window length in s (30 for the Beddit ``heart_rate`` track).
    min_coverage : float
        Share of the window that the length-reliable intervals (assigned to the window of
        their midpoint) must cover for a reading; windows with less give no reading.

    Returns
    -------
    t : numpy.ndarray
        float64, start of each window that has a reading, s from the signal start.
    bpm : numpy.ndarray
        float64, ``60 / mean(length-reliable intervals)`` of the window, bpm.

    Raises
    ------
    SignalError
        For a negative or non-finite ``duration``, a non-positive ``window`` or a
        ``min_coverage`` outside (0, 1], more than 10**8
        windows, or ``heartbeats`` that is not a :class:`Heartbeats`.
    """
    check_instance(heartbeats, Heartbeats, "heartbeats")
    if not (math.isfinite(real_number(duration, "duration")) and duration >= 0):
        raise SignalError(f"duration must be a finite number of s >= 0, got {duration!r}")
    if not (math.isfinite(real_number(window, "window")) and window > 0):
        raise SignalError(f"window must be a positive number of s, got {window!r}")
    if not (0 < real_number(min_coverage, "min_coverage") <= 1):
        raise SignalError(f"min_coverage must be within (0, 1], got {min_coverage!r}")
    check_bins(duration, window, "duration / window")
    n_win = math.floor(duration / window + 1e-9)
    use = np.asarray(heartbeats.length_reliable, dtype=bool)
    iv = np.asarray(heartbeats.intervals, dtype=np.float64)[use]
    st = np.asarray(heartbeats.interval_starts, dtype=np.float64)[use]
    if n_win == 0 or iv.shape[0] == 0:
        return np.empty(0), np.empty(0)
    w = np.floor((st + iv / 2) / window).astype(np.int64)
    keep = (w >= 0) & (w < n_win)
    total = np.bincount(w[keep], weights=iv[keep], minlength=n_win)
    count = np.bincount(w[keep], minlength=n_win)
    has = total >= min_coverage * window
    idx = np.flatnonzero(has)
    return idx * window, 60.0 * count[idx] / total[idx]


def heartbeat_tracks(
    session: Session, *, heartbeats: Heartbeats | None = None
) -> list[TimeValueTrack]:
    """The Beddit ``heartbeat`` and ``heart_rate`` tracks of a session.

    Parameters
    ----------
    session : Session
        A session with a loaded ``normal`` sampled track.
    heartbeats : Heartbeats, optional
        The result of :func:`detect_heartbeats` on that track, when the caller already
        has it (``pipeline.analyze`` also passes its beat times to the breathing
        detector); by default the detector runs here.

    Returns
    -------
    list of TimeValueTrack
        ``heartbeat``: ``[t_start, interval_s]`` for each reliable interval;
        ``heart_rate``: ``[t, bpm]`` per 30 s window with a reading (``t`` is the window
        start; from the length-reliable intervals, see :func:`heart_rate`). Times are s
        relative to the session start, values float32. Empty tracks when no beat is
        reliable (``heart_rate``: no interval is length-reliable).

    Raises
    ------
    KeyError
        When the session has no ``normal`` track.
    NotLoadedError
        When its bytes were not loaded.
    """
    track = session._sampled("normal")  # MissingTrackError (a KeyError) when absent
    duration = track.duration  # NotLoadedError when its bytes were not loaded
    offset = track.start - session.start_timestamp
    # the samples are decoded only when the detector runs here (analyze passes its beats)
    hb = detect_heartbeats(*session.signal("normal")) if heartbeats is None else heartbeats
    t_hr, bpm = heart_rate(hb, duration=duration)
    rel = hb.reliable  # detect_heartbeats gives the intervals in start order
    return [
        TimeValueTrack(
            "heartbeat",
            hb.interval_starts[rel] + offset,
            hb.intervals[rel].astype(np.float32),
            "float32",
        ),
        TimeValueTrack("heart_rate", t_hr + offset, bpm.astype(np.float32), "float32"),
    ]
