"""Breathing cycles from a bed-sensor (BCG) signal, and the respiration rate over a span.

The Beddit Session tracks ``respiration_cycles`` (``[t_start, cycle_length_s]``) and
``respiration_cycle_amplitudes`` (``[t_start, amplitude]``) are built from
:func:`detect_breathing`; :func:`respiration_rate` turns cycles into breaths/min over any
span.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from ._filters import butter_sos, sosfiltfilt
from ._track_kernels import (
    _beat_template_kernel,
    _check_fs,
    _coerce_signal,
    _lowrate,
    _no_overlap_kernel,
    _seam_kernel,
    _simplify_kernel,
)
from ._validate import real_number
from .errors import SignalError, SleepSignalWarning
from .session import TimeValueTrack

__all__ = ["Breathing", "detect_breathing", "respiration_rate"]

#: Breathing band (Hz) of the band-pass that isolates the breathing wave (the
#: smoothed candidate, the heartbeat test and the cycle amplitude; the beat-interval
#: wave starts at RSA_BAND_HZ).
BREATHING_BAND_HZ = (0.08, 0.6)
#: Band (Hz) of the baseline candidate wave: up to 1 Hz, because a shallow breath or a
#: ripple inside a breath has components up to there and the depth rule, not the
#: filter, must decide whether it is a breath (the 0.6 Hz edge flattened such ripples
#: and merged breaths); the heart-rate leak this lets in where the heartbeat dominates
#: is why the smoothed wave takes over in those frames.
BASELINE_BAND_HZ = (0.05, 1.0)
#: Shortest and longest cycle kept (s): 6.7 to 40 breaths/min, for the waves that
#: compete where the heartbeat buries the breath (the smoothed and the beat-interval
#: waves; a cycle under 1.5 s there is the heart rate, and it must not count in the
#: selection's coverage). MAX_CYCLE_S also sets the shortest recording analysed.
MIN_CYCLE_S = 1.5
MAX_CYCLE_S = 10.0
#: Shortest and longest cycle kept (s) of the baseline and the wide waves, where the
#: breath is plain: every trough to trough that the depth rule leaves is a breath (as
#: in the truth, which has no length limit).
BASELINE_CYCLE_S = (0.8, 30.0)
#: Where two chosen waves meet (a wide/baseline switch at a frame boundary) they place
#: the same trough a few tens of ms apart: a cycle starting less than SEAM_TOL_S before
#: the end of the previous one, with its peak after that end, is kept with its start
#: moved to that end (dropping it lost a whole breath at such seams).
SEAM_TOL_S = 0.5
#: A cycle longer than MAX_CYCLE_S within LONG_CYCLE_SETTLE_S of an ``exclude``
#: interval (a movement) is dropped: the band-passes ring for seconds after a movement
#: and a long "cycle" there is that ringing (a 23.7 s one 8.6 s after a movement). Far
#: from movements a long cycle stays: on the belt nights true cycles of 10-25 s occur
#: at 0.4-45 x the median amplitude around them, so depth cannot tell them apart.
LONG_CYCLE_SETTLE_S = 10.0
#: The frame classes (heartbeat-buried, wide) come from the slopes outside ``exclude``
#: widened by EXCLUDE_SLOPE_PAD_S on each side: a movement's slopes lifted a
#: heart-dominated frame over the buried line, and the baseline then gave cycles at the
#: heart rate there.
EXCLUDE_SLOPE_PAD_S = 2.0
#: Where the breath plainly dominates the signal (the rms slope of the 0.08-0.6 Hz wave
#: is at least WIDE_MIN_SLOPE_RATIO x that of the 10 Hz view: little heartbeat left to
#: leak), the baseline wave is replaced by a wider band, WIDE_BAND_HZ, simplified at
#: the truth's own depth fraction WIDE_DEPTH_FRACTION: the depth rule then judges the
#: ripples inside a breath nearly as the breathing reference's own 0.08-1 Hz band shows
#: them, where the baseline's 1 Hz edge flattens them (on a breathing belt, the truth's
#: rule on the belt itself reproduces 0.96-0.99 of the minutes, after a second 0.05-1
#: Hz pass 0.54-0.89, nights 1, 2, 4, 5). Chosen on belt nights 0-5 only (1.5 and 2 Hz
#: scored alike there; at 1.5 Hz less of the heartbeat's residue moves the troughs).
#: The slope ratio 0.5 (branch breath6) became 0.3 when beat times give a template
#: (at least TEMPLATE_BEATS usable beats, whether or not its gate subtracted it in any
#: frame), once the template was gated by its own noise (TEMPLATE_GATE): of 0.15 / 0.2 /
#: 0.25 / 0.3 / 0.35 / 0.4 / 0.5 / 0.6 the mean on nights 0-5 was 0.816 / 0.816 / 0.818
#: / 0.817 / 0.816 / 0.814 / 0.813 / 0.810 (0.3: the cardiac nights unchanged, 0.25
#: and below lose minutes there). Without beat times (no template) it stays
#: WIDE_MIN_SLOPE_RATIO_RAW: there 0.3 / 0.4 / 0.5 scored 0.731 / 0.736 / 0.738.
WIDE_BAND_HZ = (0.05, 1.5)
WIDE_MIN_SLOPE_RATIO = 0.3
WIDE_MIN_SLOPE_RATIO_RAW = 0.5
WIDE_DEPTH_FRACTION = 0.3
#: Stretches between those runs shorter than this (s) are computed too: one more
#: band-pass and simplification call costs about what 5-10 min of samples do.
WAVE_MIN_SKIP_S = 600.0
#: Depth simplification of a candidate wave: the shallowest adjacent extremum pair below
#: DEPTH_FRACTION x the local breath size is removed, repeatedly (``_simplify_kernel``).
#: The local breath size is 2 sqrt(2) x the local scale (for a sine, its peak to
#: trough). Tuned on belt nights 0-5 of ``benchmarks/accuracy_tracks.py`` only.
DEPTH_FRACTION = 0.25
#: The same for the beat-interval wave: smooth (2.5 Hz, low-passed at 0.5 Hz), so
#: nearly every turning point is a breath. On the cardiac nights among 0-5, 0.05 scored
#: best (0.25 clearly worse); 0.05 splits breaths at ectopic and missed beats
#: (``test_beat_intervals_drop_ectopic_and_missed_beats``), 0.08 and up do not.
RSA_DEPTH_FRACTION = 0.1
#: Length (s) of the running window of the local scale, and of its blocks (the median
#: of ``|wave|`` per block, then a running median over SCALE_WINDOW_S / SCALE_BLOCK_S
#: blocks).
SCALE_WINDOW_S = 300.0
SCALE_BLOCK_S = 30.0
#: The baseline and the wide waves are each band-passed and simplified only over the
#: runs of frames where they may be used (the wide wave in the wide frames, the baseline
#: in the others), each run widened by WAVE_MARGIN_S (whole frames) on both sides, not
#: over the whole night (``_band_cycles``). For the cycles of the whole-night wave, the
#: margin covers, from a cycle to the run's edge: the band-pass's edge transient, that
#: many periods (WAVE_TRANSIENT_PERIODS) of the lowest band edge (6 / 0.05 Hz = 120 s;
#: on a cardiac hour a piece's wave differs from the whole wave's by under 1e-11 of its
#: rms beyond 120 s from the piece's edge and by over 1e-9 within 60 s,
#: ``test_wave_margin_covers_...``; the filter's padding of 3 periods is not its
#: transient), the half window of the local
#: breath size (SCALE_WINDOW_S / 2: 150 s, in whole blocks) and a cycle's reach past its
#: frame (half the longest, BASELINE_CYCLE_S: 15 s) rounded up to a whole block (a block
#: median needs the whole block's wave): 300 s. The first and last frame of a recording
#: use the whole view's window span too (``_local_scale``). Measured on the 22 belt
#: nights of ``benchmarks/accuracy_tracks.py``: README section "tracks".
WAVE_TRANSIENT_PERIODS = 6.0
WAVE_MARGIN_S = float(
    WAVE_TRANSIENT_PERIODS / min(BASELINE_BAND_HZ[0], WIDE_BAND_HZ[0])
    + SCALE_WINDOW_S / 2.0
    + SCALE_BLOCK_S * np.ceil(BASELINE_CYCLE_S[1] / 2.0 / SCALE_BLOCK_S)
)
#: Candidate breathing waves used by default. The beat envelope ("envelope") is
#: implemented but off: on the belt-driven simulated nights alone it scores 0.03-0.13 of
#: clean minutes (body noise swamps the beat energy) and in a selection it sometimes wins
#: on a steady heartbeat (every other beat is a "cycle"), so it costs more than it gives.
BREATHING_SOURCES: tuple[str, ...] = ("baseline", "smooth")
#: Low-pass (Hz) of the smoothed candidate wave (see ``_smooth_wave``).
SMOOTH_LOWPASS_HZ = 0.5
#: Beat-envelope wave: high-pass (Hz) isolating the beat, clip (x median energy),
#: smoothing low-pass (Hz).
ENVELOPE_HIGHPASS_HZ = 1.0
ENVELOPE_CLIP = 20.0
ENVELOPE_LOWPASS_HZ = 0.7
# The smoothed and the beat-interval candidates compete only in frames where the
# heartbeat buries the breath (elsewhere the baseline wave is the breath; smoothing it
# removes the shallow breaths the depth rule must judge).

#: Handicap of the beat-interval candidate in the source selection. 0.05 before the
#: beat template; with it (and the beats of branch hbdrift2) 0.01-0.03 scored best on
#: belt nights 0-5 (the two cardiac ones). With the dropped intervals repaired
#: (``_rsa_repaired``) the interval wave alone is right in more buried minutes than the
#: smoothed one, and of 0.03 ... -0.1 the best on nights 0-5 was -0.02 (a small bonus;
#: -0.01 to -0.03 within 0.003 of it, 0.02 0.01 lower, -1 = always the intervals 0.05
#: lower).
RSA_HANDICAP = -0.02
#: The heartbeat buries the breath in a frame when the rms slope of the band-passed
#: breathing wave is below this share of the rms slope of the 10 Hz view (median over
#: a 30 s frame: about 0.02-0.03 when the heartbeat dominates, 0.3-0.9 when the
#: breathing swing does).
RSA_MAX_SLOPE_RATIO = 0.1
#: Source selection: frame (s), span (s) around it over which a candidate's cycles are
#: judged (coverage x regularity, see ``_select``), and the handicap subtracted from
#: each candidate's score (on a tie the least filtered wave wins; the envelope, the
#: noisiest, must be clearly better).
SELECT_FRAME_S = 30.0
SELECT_SPAN_S = 90.0
SOURCE_HANDICAP = {
    "baseline": 0.0,
    "wide": 0.0,
    "smooth": 0.01,
    "envelope": 0.1,
    "rsa": RSA_HANDICAP,
}
#: Recordings longer than SLICE_CORE_S are processed in overlapping slices (bounded
#: memory): cores of SLICE_CORE_S (the last takes the rest) with SLICE_MARGIN_S of
#: context on each side, far beyond the reach of the filters (~40 s), the 5-minute
#: running median of the scale and the 90 s selection span. See ``_breathing_sliced``.
SLICE_CORE_S = 24 * 3600.0
SLICE_MARGIN_S = 3600.0
#: Bytes of ``|wave|`` rows per median call in the local scale (bounds its temporary).
SCALE_ROWS_BYTES = 1 << 20
#: Frames per block of the slope sums (``_slope_sums``).
DOMINATES_BLOCK = 512
#: Beat-interval (respiratory sinus arrhythmia) candidate, used when beat times are
#: given: an interval is kept when within RSA_MAX_DEVIATION of the running median of
#: RSA_MEDIAN_BEATS intervals and within RSA_INTERVAL_S; the kept intervals, at their
#: midpoints, are interpolated onto a grid at 1 / RSA_DECIMATE of the low rate (2.5 Hz
#: at the 10 Hz low rate; the breathing band ends at 0.6 Hz) and are zero across a gap
#: longer than RSA_MAX_GAP_S between kept midpoints.
RSA_MEDIAN_BEATS = 15
#: Band (Hz) of the beat-interval wave: from 0.1 Hz, above most of the heart rate's own
#: slow swings (the low-frequency band of heart-rate variability, 0.04-0.15 Hz, Mayer
#: waves near 0.1 Hz), which at 0.08 Hz tilted the wave enough to hide shallow breaths.
#: Of 0.05-0.17 Hz, 0.1 scored best on the cardiac belt nights 0 and 3.
RSA_BAND_HZ = (0.1, BREATHING_BAND_HZ[1])
RSA_MAX_DEVIATION = 0.2
RSA_INTERVAL_S = (0.3, 2.0)
RSA_DECIMATE = 4
RSA_MAX_GAP_S = 2.5
#: Repair of the intervals the running-median rule drops: an interval (or two
#: consecutive dropped ones together) whose length is q = 1 .. RSA_REPAIR_MAX_BEATS
#: running medians, each part within RSA_MAX_DEVIATION of it, is q intervals of
#: 1/q of it (a missed beat, an extra beat, a premature beat and its compensatory
#: pause), instead of a hole that the interpolation bridges. Chosen on the cardiac belt
#: nights 0 and 3 of ``benchmarks/accuracy_tracks.py``.
RSA_REPAIR_MAX_BEATS = 3
#: Beat-template subtraction (with beat times, see ``_beats_removed``): the heartbeat is
#: taken from the 10 Hz view minus its centred running mean over TEMPLATE_HIGHPASS_S (a
#: boxcar: the breath, 3-10 s long, stays mostly in that mean); the template of a beat
#: is the mean of that signal over the TEMPLATE_MAX_S after each of the TEMPLATE_BEATS
#: beats centred on it; it is subtracted in the 30 s frames where its mean square is
#: above TEMPLATE_GATE / TEMPLATE_BEATS x the mean square of that heartbeat signal: a
#: mean of m rows carries about 1 / m of the power of what is not locked to the beats
#: (the breath's ripples inside the 1.1 s window, noise), so below that the template is
#: mostly its own noise, and subtracting it only adds that noise (which moves the
#: ripples the wide wave's depth rule judges by a hair); where the heartbeat is plain it
#: stands far above. Chosen on belt nights 0-5 of ``benchmarks/accuracy_tracks.py``
#: only: of 0.5 / 0.75 / 1 / 1.1 / 1.25 / 1.4 / 1.5 / 2 / 4 / 8 the mean was 0.801 /
#: 0.806 / 0.812 / 0.811 / 0.813 / 0.812 / 0.810 / 0.810 / 0.809 / 0.805 (the gate
#: before, rms 0.04 x the std of the running mean: 0.803; the best of that form, 0.08-0.15,
#: 0.810-0.811, gained only on the respiratory nights).
TEMPLATE_BEATS = 31
TEMPLATE_MAX_S = 2.0
TEMPLATE_HIGHPASS_S = 1.1
TEMPLATE_GATE = 1.25


class Breathing(NamedTuple):
    """Breathing cycles found by :func:`detect_breathing`.

    Attributes
    ----------
    starts : numpy.ndarray
        Cycle start (trough of the breathing wave), s from the first sample, float64.
    lengths : numpy.ndarray
        Cycle length (trough to next trough), s, float64.
    amplitudes : numpy.ndarray
        Peak-to-trough height of each cycle in signal units: the range (max - min) of
        the 0.08-0.6 Hz band-passed wave over the cycle, float64.
    peaks : numpy.ndarray
        Time of the peak inside each cycle, s, float64.
    """

    starts: np.ndarray
    lengths: np.ndarray
    amplitudes: np.ndarray
    peaks: np.ndarray


def _empty_breathing() -> Breathing:
    e = np.empty(0, dtype=np.float64)
    return Breathing(e, e.copy(), e.copy(), e.copy())


def _parabolic(y: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Sub-sample offset (in samples) of the extremum at ``i`` by a parabola fit."""
    i = np.clip(i, 1, len(y) - 2)
    a, b, c = y[i - 1], y[i], y[i + 1]
    den = a - 2.0 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(den != 0, 0.5 * (a - c) / den, 0.0)
    return i + np.clip(off, -0.5, 0.5)


def _breathing_wave(
    low: np.ndarray,
    fs_low: float,
    band: tuple[float, float] = BREATHING_BAND_HZ,
    centre: float | None = None,
    sos: np.ndarray | None = None,
) -> np.ndarray:
    """``low`` minus its median (``centre`` when given: the caller's ``np.median(low)``,
    computed once for several bands), zero-phase 2nd-order Butterworth band-pass
    (``sos``: that filter's sections, when the caller designed them once for many
    pieces)."""
    if sos is None:
        sos = _band_sos(band, fs_low)
    padlen = min(len(low) - 1, int(3 * fs_low / band[0]))
    centred = low - (np.median(low) if centre is None else centre)
    return np.asarray(sosfiltfilt(sos, centred, padlen=padlen))


def _band_sos(band: tuple[float, float], fs_low: float) -> np.ndarray:
    """Sections of the 2nd-order Butterworth band-pass of :func:`_breathing_wave`."""
    return butter_sos(2, (band[0], min(band[1], 0.45 * fs_low)), "bandpass", fs_low)


def _local_scale(wave: np.ndarray, fs_low: float, view_n: int | None = None) -> np.ndarray:
    """Median of ``|wave|`` per 30 s block, running median over SCALE_WINDOW_S, per sample.

    The running median spans SCALE_WINDOW_S of blocks, or all blocks of a view of
    ``view_n`` samples when it has fewer (default: ``len(wave)``). A piece of a view
    (``_band_cycles``) passes the whole view's length, so it uses the whole view's span
    even where the recording's edge cuts it to fewer blocks than that span.

    The block medians are taken a few thousand blocks at a time (each row's median is
    the same whatever the other rows), so the only whole-length temporary is ``|wave|``.
    """
    from ._rank_filter import median_filter, row_medians

    block = round(SCALE_BLOCK_S * fs_low)
    n = len(wave)
    nb = -(-n // block)
    pad = np.empty(nb * block)
    np.abs(wave, out=pad[:n])
    pad[n:] = pad[n - 1] if n else 0.0
    rows = pad.reshape(nb, block)
    med = np.empty(nb)
    step = max(1, SCALE_ROWS_BYTES // (8 * block))
    for r0 in range(0, nb, step):
        med[r0 : r0 + step] = row_medians(rows[r0 : r0 + step])  # = np.median(axis=1)
    del pad, rows
    nb_view = nb if view_n is None else -(-view_n // block)
    span = max(1, min(nb_view, round(SCALE_WINDOW_S / SCALE_BLOCK_S)))
    med = median_filter(med, span)
    return np.repeat(med, block)[:n]


def _envelope_wave(low: np.ndarray, fs_low: float) -> np.ndarray:
    """Breathing wave of the beat envelope (respiratory-induced amplitude variation).

    The heartbeat complex (above :data:`ENVELOPE_HIGHPASS_HZ`, 4th-order zero-phase
    high-pass of the low-rate view, steep enough that a breathing swing 20x the beat does
    not leak in) is squared, clipped at :data:`ENVELOPE_CLIP` x its median (a movement
    does not smear over its neighbours), smoothed below the heart rate (4th-order
    low-pass at :data:`ENVELOPE_LOWPASS_HZ`) and band-passed like the baseline.
    """
    hp = min(ENVELOPE_HIGHPASS_HZ, 0.4 * fs_low)
    sos = butter_sos(4, hp, "highpass", fs_low)
    h = np.asarray(sosfiltfilt(sos, low - np.median(low)))
    e = h * h
    med = float(np.median(e))
    if med > 0:
        np.minimum(e, ENVELOPE_CLIP * med, out=e)
    sos = butter_sos(4, ENVELOPE_LOWPASS_HZ, "lowpass", fs_low)
    e = np.asarray(sosfiltfilt(sos, e))
    return _breathing_wave(e, fs_low)


def _regularity(b: Breathing, frames: np.ndarray, frame_s: float, span_s: float) -> np.ndarray:
    """Per frame in ``frames``: 1 - the coefficient of variation (population std / mean)
    of the lengths of the cycles whose midpoint lies strictly within ``span_s / 2`` of
    the frame centre (frames of ``frame_s`` s from time 0); 0 with fewer than 3 cycles.

    A wave whose cycles are the breaths gives steady lengths; one that splits and merges
    breaths at noise gives a spread of short and long ones.
    """
    mids = b.starts + 0.5 * b.lengths
    order = np.argsort(mids, kind="stable")
    mids, lengths = mids[order], b.lengths[order]
    c1 = np.concatenate([[0.0], np.cumsum(lengths)])
    c2 = np.concatenate([[0.0], np.cumsum(lengths * lengths)])
    centre = (frames + 0.5) * frame_s
    lo = np.searchsorted(mids, centre - 0.5 * span_s, side="right")
    hi = np.searchsorted(mids, centre + 0.5 * span_s, side="left")
    n = (hi - lo).astype(np.float64)
    out = np.zeros(len(frames))
    ok = n >= 3
    mean = (c1[hi[ok]] - c1[lo[ok]]) / n[ok]
    var = np.maximum((c2[hi[ok]] - c2[lo[ok]]) / n[ok] - mean * mean, 0.0)
    out[ok] = 1.0 - np.sqrt(var) / mean
    return out


def _smooth_wave(wave: np.ndarray, fs_low: float) -> np.ndarray:
    """The breathing wave through a further 4th-order zero-phase low-pass at
    :data:`SMOOTH_LOWPASS_HZ`: removes the heart-rate fundamental (0.7-1.5 Hz) that the
    2nd-order band edge lets through when the heartbeat dominates the signal."""
    sos = butter_sos(4, min(SMOOTH_LOWPASS_HZ, 0.4 * fs_low), "lowpass", fs_low)
    return np.asarray(sosfiltfilt(sos, wave))


def _rsa_wave(beat_times: np.ndarray, n: int, fs_low: float) -> tuple[np.ndarray, float]:
    """Breathing wave of the beat-to-beat intervals (respiratory sinus arrhythmia).

    Returns the wave on a grid of ``ceil(n / RSA_DECIMATE)`` samples at
    ``fs_low / RSA_DECIMATE`` (the same time base as the low-rate view) and that rate.
    Intervals off the running median (ectopic, missed or extra beats) are dropped; the
    kept intervals minus their median, placed at their midpoints, are interpolated
    linearly, zero across gaps, band-passed at :data:`RSA_BAND_HZ` and smoothed like the
    "smooth" candidate. All zeros when fewer than 3 intervals are kept.
    """
    return _rsa_grid(_rsa_knots(beat_times), n, fs_low, 0)


def _rsa_knots(beat_times: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Knots (times s, values s) of the interval wave of :func:`_rsa_wave`, or None
    when fewer than 3 intervals are kept. Cheap (one entry per beat), so
    :func:`detect_breathing`'s slices of a recording over 24 h use the knots of the
    whole recording (its cycles are those of one piece to rounding). The day slices of
    ``session_tracks`` and the stream (``sleepsignal._track_slices``) cannot: they run
    before the recording ends, so each computes the knots of its own beats, and the
    median subtracted is the slice's; over 24 h their cycles differ slightly from
    :func:`detect_breathing`'s (README section "Streaming")."""
    from ._rank_filter import median_filter

    bt = np.asarray(beat_times, dtype=np.float64)
    bt = bt[np.isfinite(bt)]
    if len(bt) < 4:
        return None
    ibi = np.diff(bt)
    med = median_filter(ibi, min(RSA_MEDIAN_BEATS, len(ibi)))
    ok = (np.abs(ibi - med) < RSA_MAX_DEVIATION * med) & (ibi >= RSA_INTERVAL_S[0])
    ok &= ibi <= RSA_INTERVAL_S[1]
    tm, v = _rsa_repaired(bt, ibi, med, ok)
    if len(tm) < 3:
        return None
    v = v - np.median(v)
    # zero across a gap: a zero knot just after its first and before its last midpoint
    g = np.flatnonzero(np.diff(tm) > RSA_MAX_GAP_S)
    if len(g):
        eps = 1e-6
        at = np.concatenate([tm, tm[g] + eps, tm[g + 1] - eps])
        order = np.argsort(at, kind="stable")
        tm = at[order]
        v = np.concatenate([v, np.zeros(2 * len(g))])[order]
    return tm, v


def _rsa_repaired(
    bt: np.ndarray, ibi: np.ndarray, med: np.ndarray, ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Interval knots (midpoint times s, lengths s, in time order): the kept intervals
    (``ok``) and the repaired dropped ones.

    A dropped interval whose length is ``q`` (2 .. :data:`RSA_REPAIR_MAX_BEATS`)
    running medians, ``|ibi / q - med| < RSA_MAX_DEVIATION * med``, is a missed beat
    (or two): ``q`` knots of ``ibi / q`` at the midpoints of its ``q`` equal parts. Then
    two consecutive dropped intervals not repaired alone are taken together by the same
    rule with ``q`` from 1 (an extra beat, a premature beat and its compensatory pause),
    pairs chosen from the left in a run of such intervals. Parts outside
    :data:`RSA_INTERVAL_S` are not used. Everything else dropped stays a hole.
    """
    dev = RSA_MAX_DEVIATION
    lo, hi = RSA_INTERVAL_S
    qmax = RSA_REPAIR_MAX_BEATS

    def fits(s: np.ndarray, m: np.ndarray, qmin: int) -> tuple[np.ndarray, np.ndarray]:
        # a zero or negative median (repeated or unsorted times) repairs nothing
        q = np.rint(s / np.where(m > 0, m, np.inf))
        good = (q >= qmin) & (q <= qmax)
        q = np.clip(q, 1.0, qmax + 1.0)  # a huge ratio must not overflow the int cast
        part = s / q
        good &= (np.abs(part - m) < dev * m) & (part >= lo) & (part <= hi)
        return good, q.astype(np.int64)

    bad = ~ok
    single, q1 = fits(ibi, med, 2)
    single &= bad
    rest = bad & ~single
    # pairs (i, i + 1) of dropped intervals; in a run of such pair starts every other
    # one from the run's start, so no interval is used twice
    both = rest[:-1] & rest[1:]
    pair, q2 = fits(ibi[:-1] + ibi[1:], med[:-1], 1)
    pair &= both
    if pair.any():
        idx = np.arange(len(pair))
        run_start = np.maximum.accumulate(np.where(~pair, idx + 1, 0))
        pair &= (idx - run_start) % 2 == 0
    starts = [bt[:-1][single], bt[:-2][pair]]
    lengths = [ibi[single], (ibi[:-1] + ibi[1:])[pair]]
    counts = [q1[single], q2[pair]]
    s0 = np.concatenate(starts)
    q = np.concatenate(counts)
    part = np.concatenate(lengths) / np.maximum(q, 1)
    # q knots per repaired span: at s0 + (j + 0.5) * part, j = 0 .. q - 1
    rep = np.repeat(np.arange(len(q)), q)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(q) - q, q)
    tm = np.concatenate([(bt[:-1] + 0.5 * ibi)[ok], s0[rep] + (j + 0.5) * part[rep]])
    v = np.concatenate([ibi[ok], part[rep]])
    order = np.argsort(tm, kind="stable")
    return tm[order], v[order]


def _rsa_grid(
    knots: tuple[np.ndarray, np.ndarray] | None, n: int, fs_low: float, s0: int
) -> tuple[np.ndarray, float]:
    """:func:`_rsa_wave` from its knots, for ``n`` low-rate samples starting at low-rate
    sample ``s0`` (a multiple of RSA_DECIMATE) of the recording."""
    fs_r = fs_low / RSA_DECIMATE
    n_r = -(-n // RSA_DECIMATE)
    if knots is None or n_r < int(4 * MAX_CYCLE_S * fs_r):
        return np.zeros(n_r), fs_r
    tm, v = knots
    wave = np.interp((np.arange(n_r) + s0 // RSA_DECIMATE) / fs_r, tm, v, left=0.0, right=0.0)
    # the band-pass of _breathing_wave and the low-pass of _smooth_wave in one pass
    hi = min(RSA_BAND_HZ[1], 0.45 * fs_r)
    sos = np.vstack(
        [
            butter_sos(2, (RSA_BAND_HZ[0], hi), "bandpass", fs_r),
            butter_sos(4, min(SMOOTH_LOWPASS_HZ, 0.4 * fs_r), "lowpass", fs_r),
        ]
    )
    padlen = min(n_r - 1, int(3 * fs_r / RSA_BAND_HZ[0]))
    return np.asarray(sosfiltfilt(sos, wave, padlen=padlen)), fs_r


def _beats_removed(low: np.ndarray, fs_low: float, beats: np.ndarray, frame: int) -> np.ndarray:
    """The low-rate view minus its beat template (:data:`TEMPLATE_BEATS` etc.).

    ``beats`` are beat times in s from ``low[0]`` (sorted; those too close to the ends
    for a whole template row are not used). The heartbeat signal is ``low`` minus its
    centred running mean over :data:`TEMPLATE_HIGHPASS_S` (the window shifted inwards
    at the ends); its running beat template (``_beat_template_kernel``) is subtracted
    from ``low`` in the frames of ``frame`` samples where the template's mean square
    exceeds :data:`TEMPLATE_GATE` / :data:`TEMPLATE_BEATS` x that of the heartbeat
    signal (the template stands above its own noise). ``low`` itself (the same object)
    when fewer than :data:`TEMPLATE_BEATS` beats are usable (a template of a few beats
    is mostly noise).
    """
    n = len(low)
    k_n = round(TEMPLATE_MAX_S * fs_low) + 1
    wb = max(1, min(n, round(TEMPLATE_HIGHPASS_S * fs_low)))
    pos = beats * fs_low
    pos = np.ascontiguousarray(pos[(pos >= 0) & (pos < n - k_n - 1)])
    if len(pos) < TEMPLATE_BEATS:
        return low
    return _beat_template_kernel(
        np.ascontiguousarray(low, dtype=np.float64),
        pos,
        k_n,
        TEMPLATE_BEATS,
        wb,
        frame,
        TEMPLATE_GATE,
    )


def _heartbeat_dominates(low: np.ndarray, wave: np.ndarray, frame: int, nf: int) -> np.ndarray:
    """Per frame: the breathing wave's rms slope is below RSA_MAX_SLOPE_RATIO x the rms
    slope of the low-rate view (the heartbeat, not the breath, shapes the signal)."""
    sa, sb = _slope_sums(low, wave, frame, nf)
    return sa < (RSA_MAX_SLOPE_RATIO**2) * sb


def _slope_sums(
    low: np.ndarray, wave: np.ndarray, frame: int, nf: int, skip: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the sums of the squared first differences of ``wave`` and of ``low``
    (zeros for a frame without two samples); their ratio is the squared ratio of the
    rms slopes (:func:`_heartbeat_dominates`, :data:`WIDE_MIN_SLOPE_RATIO`). ``skip``
    (bool per first difference, ``len(low) - 1``): differences left out of the sums."""
    at = np.arange(nf) * frame
    at = at[at < len(low) - 1]
    out_a = np.zeros(nf)
    out_b = np.zeros(nf)
    if len(at) == 0:
        return out_a, out_b
    # a few hundred frames at a time (the segment sums of reduceat do not depend on
    # what else is in the array, so the values are those of one whole-length pass)
    sa = np.empty(len(at))
    sb = np.empty(len(at))
    step = DOMINATES_BLOCK
    for f0 in range(0, len(at), step):
        a = at[f0]
        e = at[f0 + step] if f0 + step < len(at) else len(low) - 1
        dw = np.diff(wave[a : e + 1])
        dw *= dw
        dl = np.diff(low[a : e + 1])
        dl *= dl
        if skip is not None:
            dw[skip[a:e]] = 0.0
            dl[skip[a:e]] = 0.0
        sa[f0 : f0 + step] = np.add.reduceat(dw, at[f0 : f0 + step] - a)
        sb[f0 : f0 + step] = np.add.reduceat(dl, at[f0 : f0 + step] - a)
    out_a[: len(at)] = sa
    out_b[: len(at)] = sb
    return out_a, out_b


def _excluded(
    exclude: tuple[np.ndarray, np.ndarray] | None, n: int, fs_low: float
) -> np.ndarray | None:
    """Bool per first difference of the low-rate view (``n`` of them): inside an
    ``exclude`` interval widened by :data:`EXCLUDE_SLOPE_PAD_S` (None: nothing)."""
    if exclude is None or len(exclude[0]) == 0:
        return None
    a = np.clip(np.floor((exclude[0] - EXCLUDE_SLOPE_PAD_S) * fs_low), 0, n).astype(np.int64)
    b = np.clip(np.ceil((exclude[1] + EXCLUDE_SLOPE_PAD_S) * fs_low), 0, n).astype(np.int64)
    d = np.zeros(n + 1, dtype=np.int64)
    np.add.at(d, a, 1)
    np.add.at(d, b, -1)
    return np.cumsum(d[:-1]) > 0


def _coverage(
    b: Breathing, n: int, fs_low: float, frame: int, span: int, decimate: int = 1
) -> np.ndarray:
    """Per frame: the share of the ``span`` samples centred on it covered by cycles.

    The wave has ``n`` samples at ``fs_low`` Hz; the frames are of ``frame`` samples at
    ``decimate`` x that rate (the low-rate grid, for a wave at ``1 / decimate`` of its
    rate): frame ``k``'s centre is sample ``(k * frame + frame // 2) // decimate``, so
    the frames stay on that grid when ``frame`` is not a multiple of ``decimate``.
    A sample ``j`` is covered when some cycle has ``i0 <= j < i1`` (its start and end
    rounded to samples); the covered count before any point comes from the merged
    cycle intervals, so no per-sample array is built.
    """
    i0 = np.clip(np.round(b.starts * fs_low).astype(np.int64), 0, n)
    i1 = np.clip(np.round((b.starts + b.lengths) * fs_low).astype(np.int64), 0, n)
    nonempty = i1 > i0
    i0, i1 = i0[nonempty], i1[nonempty]
    order = np.argsort(i0, kind="stable")
    i0, i1 = i0[order], i1[order]
    nf = -(-n * decimate // frame)
    mid = (np.arange(nf) * frame + frame // 2) // decimate
    lo = np.clip(mid - span // 2, 0, n)
    hi = np.clip(mid + span // 2, 0, n)
    if len(i0) == 0:
        return np.zeros(nf)
    # merge into disjoint runs [ms, me): a cycle starting after every earlier end opens one
    ends = np.maximum.accumulate(i1)
    first = np.flatnonzero(np.concatenate([[True], i0[1:] > ends[:-1]]))
    ms = i0[first]
    me = ends[np.concatenate([first[1:] - 1, [len(i0) - 1]])]
    cum = np.concatenate([[0], np.cumsum(me - ms)])

    def covered_before(p: np.ndarray) -> np.ndarray:
        k = np.searchsorted(ms, p, side="left")  # runs starting before p
        j = np.maximum(k - 1, 0)
        part = np.clip(np.minimum(p, me[j]) - ms[j], 0, None)
        return np.where(k > 0, cum[j] + part, 0).astype(np.float64)

    return (covered_before(hi) - covered_before(lo)) / span


def _breathing_from_low(
    low: np.ndarray,
    fs_low: float,
    exclude: tuple[np.ndarray, np.ndarray] | None = None,
    sources: tuple[str, ...] = BREATHING_SOURCES,
    beat_times: np.ndarray | None = None,
) -> Breathing:
    """:func:`detect_breathing` on the low-rate view (shared with ``session_tracks``).

    With ``beat_times``, the heartbeat is first subtracted from ``low`` by its running
    beat template (:func:`_beats_removed`). Candidate breathing waves (``sources``):
    the baseline band-passed at
    :data:`BASELINE_BAND_HZ` (at :data:`WIDE_BAND_HZ`, the "wide" wave, in the frames
    where the breath plainly dominates, :data:`WIDE_MIN_SLOPE_RATIO` after the beat
    template, :data:`WIDE_MIN_SLOPE_RATIO_RAW` without one; computed only where
    needed), the :data:`BREATHING_BAND_HZ` wave through a steeper
    low-pass (:func:`_smooth_wave`), and the beat envelope (:func:`_envelope_wave`);
    with ``beat_times`` (s, same time base), also the beat-interval wave
    (:func:`_rsa_wave`, at a quarter of the low rate). The smoothed and the interval
    waves may win only in frames where the heartbeat buries the breath
    (:func:`_heartbeat_dominates`; not computed when there is none), the baseline only
    in the others (when one of those two exists). Cycles of each by depth
    simplification (:func:`_cycles_from_wave`). Per frame of
    :data:`SELECT_FRAME_S` where two or more candidates may win, the one with the
    highest score wins: the share of the surrounding :data:`SELECT_SPAN_S` covered by
    its accepted cycles (:func:`_coverage`: a wave that tracks the heartbeat yields
    cycles too short to keep) times their regularity (:func:`_regularity`, 1 - the
    coefficient of variation of their lengths), minus the candidate's handicap in
    :data:`SOURCE_HANDICAP`; a cycle
    belongs to the frame holding its midpoint; where chosen cycles of different
    candidates overlap, the later one is dropped (or trimmed, :data:`SEAM_TOL_S`), and
    a long cycle next to ``exclude`` too (:data:`LONG_CYCLE_SETTLE_S`); the frame
    classes ignore the slopes near ``exclude``. The amplitude of a cycle is always
    measured on the :data:`BREATHING_BAND_HZ` wave (its peak to trough over the cycle).

    A recording longer than :data:`SLICE_CORE_S` (24 h) is processed in overlapping
    day-long slices (:func:`_breathing_sliced`) so that memory does not grow with its
    length; up to 24 h it is one piece.
    """
    if len(low) < int(4 * MAX_CYCLE_S * fs_low):
        return _empty_breathing()
    knots = None if beat_times is None else _rsa_knots(beat_times)
    beats = None
    if beat_times is not None:
        beats = np.asarray(beat_times, dtype=np.float64)
        beats = np.sort(beats[np.isfinite(beats)])
    if len(low) > round(SLICE_CORE_S * fs_low):
        return _breathing_sliced(low, fs_low, exclude, sources, knots, beats)
    return _breathing_part(low, fs_low, exclude, sources, knots, 0, beats)


class _Selection(NamedTuple):
    """The candidates of :func:`_breathing_part` and the per-frame choice among them."""

    names: list[str]
    cycles: list[Breathing]
    choice: np.ndarray  # per frame of ``frame`` low-rate samples: index into ``cycles``
    frame: int
    band_wave: np.ndarray  # the BREATHING_BAND_HZ wave (heartbeat test, amplitudes)


def _select(
    low: np.ndarray,
    fs_low: float,
    exclude: tuple[np.ndarray, np.ndarray] | None,
    sources: tuple[str, ...],
    knots: tuple[np.ndarray, np.ndarray] | None,
    s0: int,
    beats: np.ndarray | None = None,
) -> _Selection:
    """Steps 2-6 of :func:`detect_breathing` up to the per-frame choice (see
    :func:`_breathing_part`; ``len(low)`` is at least ``4 * MAX_CYCLE_S`` s).
    ``beats``: beat times in s from ``low[0]``, sorted (None: no beat template)."""
    frame_s = SELECT_FRAME_S
    frame = max(1, round(frame_s * fs_low))
    wide_ratio = WIDE_MIN_SLOPE_RATIO_RAW
    if beats is not None:
        cleaned = _beats_removed(low, fs_low, beats, frame)
        # enough beats for a template (whether or not its gate subtracted it anywhere)
        if cleaned is not low:
            wide_ratio = WIDE_MIN_SLOPE_RATIO
        low = cleaned
    centre = float(np.median(low))  # one median for the band-passes of this view
    band_wave = _breathing_wave(low, fs_low, centre=centre)
    nf = -(-len(low) // frame)
    sa, sb = _slope_sums(low, band_wave, frame, nf, _excluded(exclude, len(low) - 1, fs_low))
    buried = sa < (RSA_MAX_SLOPE_RATIO**2) * sb
    # where the breath plainly dominates, the wide wave replaces the baseline
    wide = (sa >= (wide_ratio**2) * sb) & (sb > 0) & ~buried
    del sa, sb
    waves: list[np.ndarray | None] = []
    names = []
    fractions = []
    for name in sources:
        if name in ("smooth", "rsa") and not buried.any():
            continue  # consulted only where the heartbeat buries the breath: not computed
        if name == "baseline":
            if not wide.all():
                waves.append(None)  # computed by _band_cycles, only where it may be used
                names.append(name)
                fractions.append(DEPTH_FRACTION)
            if wide.any():
                waves.append(None)
                names.append("wide")
                fractions.append(WIDE_DEPTH_FRACTION)
            continue
        elif name == "smooth":
            waves.append(_smooth_wave(band_wave, fs_low))
        elif name == "envelope":
            waves.append(_envelope_wave(low, fs_low))
        else:  # private helper: a programming error, not user input
            raise ValueError(f"unknown breathing source {name!r}")
        names.append(name)
        fractions.append(DEPTH_FRACTION)
    rates = [fs_low] * len(waves)
    if knots is not None and buried.any():
        w_r, fs_r = _rsa_grid(knots, len(low), fs_low, s0)
        if np.any(w_r != 0):
            waves.append(w_r)
            rates.append(fs_r)
            names.append("rsa")
            fractions.append(RSA_DEPTH_FRACTION)
    # the baseline and wide waves only over the frames where they may win and that an
    # exclude interval does not cover whole (no cycle centred there survives)
    live = ~_frames_excluded(exclude, len(low), frame, fs_low)
    base_use = ~wide & live
    if any(name in ("smooth", "rsa") for name in names):
        base_use &= ~buried
    cands = [
        _band_cycles(
            low,
            fs_low,
            centre,
            name == "wide",
            wide & live if name == "wide" else base_use,
            frame,
            exclude,
        )
        if w is None
        else _cycles_from_wave(
            w,
            r,
            exclude,
            fraction=f,
            lengths_s=_cycle_lengths(name),
        )
        for w, r, f, name in zip(waves, rates, fractions, names, strict=True)
    ]
    # where each candidate may win: the smoothed and the interval waves only where the
    # heartbeat buries the breath, the wide wave only where the breath plainly
    # dominates, the baseline only elsewhere
    allowed = np.ones((len(waves), nf), dtype=bool)
    others = any(name in ("smooth", "rsa") for name in names)
    for k, name in enumerate(names):
        if name in ("smooth", "rsa"):
            allowed[k] = buried
        elif name == "wide":
            allowed[k] = wide
        elif name == "baseline":
            allowed[k] = ~wide
            if others:
                allowed[k] &= ~buried
    choice = np.argmax(allowed, axis=0)  # the first allowed (the only one, mostly)
    contested = np.flatnonzero(allowed.sum(axis=0) >= 2)
    if len(contested) == 0:
        return _Selection(names, cands, choice, frame, band_wave)
    # scores only where two or more candidates may win
    score = np.full((len(waves), len(contested)), -np.inf)
    # every wave is scored on the frames of ``low`` (frame / fs_low s: 30 s only to
    # rounding at most rates), whatever its own rate, so late frames do not drift
    grid_s = frame / fs_low
    for k, (w, r, c, name) in enumerate(zip(waves, rates, cands, names, strict=True)):
        d = max(1, round(fs_low / r))  # 1, or RSA_DECIMATE on the beat-interval wave
        fr = -(-frame // d)
        sp = max(fr, round(SELECT_SPAN_S * r))
        nw = len(low) if w is None else len(w)
        ok = (contested < -(-nw * d // frame)) & allowed[k, contested]
        if not ok.any():
            continue
        at = contested[ok]
        sc = _coverage(c, nw, r, frame, sp, d)[at] * _regularity(c, at, grid_s, SELECT_SPAN_S)
        score[k, ok] = sc - SOURCE_HANDICAP[name]
    choice[contested] = np.argmax(score, axis=0)
    return _Selection(names, cands, choice, frame, band_wave)


def _frames_excluded(
    exclude: tuple[np.ndarray, np.ndarray] | None, n: int, frame: int, fs_low: float
) -> np.ndarray:
    """Per frame of ``frame`` samples of a view of ``n``: its whole time span lies in the
    union of the ``exclude`` intervals, so every cycle with its midpoint there overlaps
    one and is dropped (:func:`_cycles_from_wave`), whatever the wave."""
    nf = -(-n // frame)
    if exclude is None or len(exclude[0]) == 0:
        return np.zeros(nf, dtype=bool)
    order = np.argsort(exclude[0], kind="stable")
    s, e = exclude[0][order], np.maximum.accumulate(exclude[1][order])
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] > e[:-1]  # starts a run of intervals that overlap or touch
    last = np.append(np.flatnonzero(first)[1:] - 1, len(s) - 1)
    run_s, run_e = s[first], e[last]
    k = np.arange(nf)
    t0 = k * frame / fs_low
    t1 = np.minimum((k + 1) * frame, n) / fs_low
    j = np.searchsorted(run_s, t0, side="right") - 1
    return (j >= 0) & (run_e[np.maximum(j, 0)] >= t1)


def _band_cycles(
    low: np.ndarray,
    fs_low: float,
    centre: float,
    is_wide: bool,
    use: np.ndarray,
    frame: int,
    exclude: tuple[np.ndarray, np.ndarray] | None,
) -> Breathing:
    """Cycles of the wide wave (``is_wide``: :data:`WIDE_BAND_HZ`, depth
    :data:`WIDE_DEPTH_FRACTION`) or of the baseline wave (:data:`BASELINE_BAND_HZ`,
    :data:`DEPTH_FRACTION`) for the ``use`` frames of ``frame`` samples, computed over
    each run of them widened by :data:`WAVE_MARGIN_S` in whole frames (runs less than
    :data:`WAVE_MIN_SKIP_S` apart are one), times from ``low[0]``. A run starts on a
    frame, hence on a 30 s block of the local breath size; one run covering the whole
    view is the whole-view wave itself."""
    n = len(low)
    nf = len(use)
    m = -(-round(WAVE_MARGIN_S * fs_low) // frame)
    at = np.flatnonzero(use)
    if len(at) == 0:  # e.g. the baseline where every other frame is buried
        return _empty_breathing()
    d = np.zeros(nf + 1, dtype=np.int64)
    np.add.at(d, np.maximum(at - m, 0), 1)
    np.add.at(d, np.minimum(at + m + 1, nf), -1)
    edges = np.diff(np.concatenate([[0], (np.cumsum(d[:-1]) > 0).astype(np.int8), [0]]))
    r0, r1 = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    apart = r0[1:] - r1[:-1] >= round(WAVE_MIN_SKIP_S * fs_low) / frame
    r0, r1 = r0[np.append(True, apart)], r1[np.append(apart, True)]
    band = WIDE_BAND_HZ if is_wide else BASELINE_BAND_HZ
    sos = _band_sos(band, fs_low)
    parts = [_empty_breathing()]
    for f0, f1 in zip(r0, r1, strict=True):
        a, b = int(f0) * frame, min(n, int(f1) * frame)
        t0 = a / fs_low
        ex = None if exclude is None else (exclude[0] - t0, exclude[1] - t0)
        c = _cycles_from_wave(
            _breathing_wave(low[a:b], fs_low, band, centre, sos),
            fs_low,
            ex,
            fraction=WIDE_DEPTH_FRACTION if is_wide else DEPTH_FRACTION,
            lengths_s=_cycle_lengths("wide" if is_wide else "baseline"),
            view_n=n,
        )
        parts.append(Breathing(c.starts + t0, c.lengths, c.amplitudes, c.peaks + t0))
    return Breathing(*(np.concatenate([getattr(p, k) for p in parts]) for k in Breathing._fields))


def _breathing_part(
    low: np.ndarray,
    fs_low: float,
    exclude: tuple[np.ndarray, np.ndarray] | None,
    sources: tuple[str, ...],
    knots: tuple[np.ndarray, np.ndarray] | None,
    s0: int,
    beats: np.ndarray | None = None,
) -> Breathing:
    """:func:`_breathing_from_low` of ``low`` in one piece; ``knots`` are those of the
    beat-interval wave (None: no such candidate), ``low`` starts at low-rate sample
    ``s0`` of the recording (times in and out are from ``low[0]``), ``beats`` are the
    beat times in s from ``low[0]`` for the beat template (None: none)."""
    if len(low) < int(4 * MAX_CYCLE_S * fs_low):
        return _empty_breathing()
    return _assemble(_select(low, fs_low, exclude, sources, knots, s0, beats), fs_low, exclude)


def _assemble(
    sel: _Selection, fs_low: float, exclude: tuple[np.ndarray, np.ndarray] | None = None
) -> Breathing:
    """The cycles of the chosen candidate per frame (a cycle belongs to the frame
    holding its midpoint), without overlaps, with amplitudes on the
    :data:`BREATHING_BAND_HZ` wave."""
    choice, frame, band_wave = sel.choice, sel.frame, sel.band_wave
    parts = []
    for k, b in enumerate(sel.cycles):
        f = ((b.starts + 0.5 * b.lengths) * fs_low / frame).astype(np.int64)
        m = choice[np.clip(f, 0, len(choice) - 1)] == k
        parts.append(Breathing(b.starts[m], b.lengths[m], b.amplitudes[m], b.peaks[m]))
    starts = np.concatenate([p.starts for p in parts])
    order = np.argsort(starts, kind="stable")
    starts = starts[order]
    lengths = np.concatenate([p.lengths for p in parts])[order]
    peaks = np.concatenate([p.peaks for p in parts])[order]
    # a cycle trimmed at a seam must stay as long as its own wave's shortest (step 4)
    mins = np.concatenate(
        [
            np.full(len(p.starts), lo)
            for p, lo in zip(parts, _seam_min_lengths(sel.names), strict=True)
        ]
    )[order]
    keep, starts, lengths = _seam_kernel(starts, lengths, peaks, mins, SEAM_TOL_S)
    starts, lengths, peaks = starts[keep], lengths[keep], peaks[keep]
    # amplitude on the BREATHING_BAND_HZ wave: its peak-to-trough over the cycle
    n = len(band_wave)
    i0 = np.clip(np.round(starts * fs_low).astype(np.int64), 0, n - 1)
    i1 = np.clip(np.round((starts + lengths) * fs_low).astype(np.int64) + 1, i0 + 1, n)
    ok = _long_cycles_ok(starts, lengths, exclude)
    # even slots are the cycles; odd slots (between cycles, possibly backwards) are dropped
    amps = _ranges(band_wave, i0[ok], i1[ok])
    return Breathing(starts[ok], lengths[ok], amps, peaks[ok])


def _cycle_lengths(name: str) -> tuple[float, float]:
    """The shortest and longest cycle (s) candidate wave ``name`` keeps (step 4 of the
    notes): :data:`BASELINE_CYCLE_S` on the baseline and wide waves, :data:`MIN_CYCLE_S`
    to :data:`MAX_CYCLE_S` on the others."""
    return BASELINE_CYCLE_S if name in ("baseline", "wide") else (MIN_CYCLE_S, MAX_CYCLE_S)


def _seam_min_lengths(names: list[str]) -> list[float]:
    """Per candidate wave: the shortest cycle (s) it keeps (:func:`_cycle_lengths`),
    which a cycle trimmed at a seam must keep too."""
    return [_cycle_lengths(n)[0] for n in names]


def _long_cycles_ok(
    starts: np.ndarray, lengths: np.ndarray, exclude: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray:
    """Keep mask: a cycle longer than :data:`MAX_CYCLE_S` that comes within
    :data:`LONG_CYCLE_SETTLE_S` of an ``exclude`` interval is dropped."""
    ok = np.ones(len(starts), dtype=bool)
    if exclude is None or len(exclude[0]) == 0:
        return ok
    for i in np.flatnonzero(lengths > MAX_CYCLE_S):  # a few per night
        near = (exclude[0] < starts[i] + lengths[i] + LONG_CYCLE_SETTLE_S) & (
            exclude[1] > starts[i] - LONG_CYCLE_SETTLE_S
        )
        ok[i] = not near.any()
    return ok


def _slice_unit(fs_low: float) -> int:
    """Slice starts are multiples of this many low-rate samples, so every frame, scale
    block, pair mean and beat-interval grid sample of a slice is one of the recording."""
    frame = max(1, round(SELECT_FRAME_S * fs_low))
    block = round(SCALE_BLOCK_S * fs_low)
    d = max(1, int(fs_low // 4.0))
    return int(np.lcm.reduce([frame, block, d, RSA_DECIMATE]))


def _breathing_sliced(
    low: np.ndarray,
    fs_low: float,
    exclude: tuple[np.ndarray, np.ndarray] | None,
    sources: tuple[str, ...],
    knots: tuple[np.ndarray, np.ndarray] | None,
    beats: np.ndarray | None = None,
) -> Breathing:
    """:func:`_breathing_part` on overlapping slices of a long recording.

    Cores of SLICE_CORE_S (the last one shorter), each processed with SLICE_MARGIN_S of
    context on both sides; a slice keeps the cycles that start in its core, and where a
    kept cycle of one slice overlaps the next slice's first one, the later is dropped.
    Memory is that of one slice (26 h), whatever the length. The beat-interval knots
    are the recording's (computed once); each slice centres its own low-rate view
    (a constant the band-pass removes). What differs from one piece: the filters' edge
    transients and the running medians near a slice edge (all inside the margins), the
    extremum tracker's state entering a core (it locks on within a few breaths), and
    rounding (times are computed from the slice start); the README section "Streaming"
    gives the measured agreement.
    """
    n = len(low)
    unit = _slice_unit(fs_low)
    core = max(unit, round(SLICE_CORE_S * fs_low) // unit * unit)
    margin = -(-round(SLICE_MARGIN_S * fs_low) // unit) * unit
    parts: list[Breathing] = []
    for c0 in range(0, n, core):
        c1 = min(n, c0 + core)
        a, b = max(0, c0 - margin), min(n, c1 + margin)
        t0 = a / fs_low
        ex = None
        if exclude is not None:
            ex = (exclude[0] - t0, exclude[1] - t0)
        bt = None if beats is None else beats - t0
        part = _breathing_part(low[a:b], fs_low, ex, sources, knots, a, bt)
        mine = (part.starts >= (c0 - a) / fs_low) & (part.starts < (c1 - a) / fs_low)
        parts.append(
            Breathing(
                part.starts[mine] + t0,
                part.lengths[mine],
                part.amplitudes[mine],
                part.peaks[mine] + t0,
            )
        )
        del part
    starts = np.concatenate([p.starts for p in parts])
    lengths = np.concatenate([p.lengths for p in parts])
    keep = _no_overlap(starts, lengths)
    return Breathing(
        starts[keep],
        lengths[keep],
        np.concatenate([p.amplitudes for p in parts])[keep],
        np.concatenate([p.peaks for p in parts])[keep],
    )


def _ranges(x: np.ndarray, i0: np.ndarray, i1: np.ndarray) -> np.ndarray:
    """``x[i0:i1].max() - x[i0:i1].min()`` per pair (``i0 < i1 <= len(x)``, pairs in
    order and not overlapping by more than one sample)."""
    n = len(x)
    out = np.empty(len(i0))
    tail = i1 >= n  # reduceat needs every index < len: those few are done one by one
    if np.any(~tail):
        # even slots are the pairs; odd slots (between pairs, possibly backwards) dropped
        bounds = np.column_stack([i0[~tail], i1[~tail]]).reshape(-1)
        out[~tail] = (np.maximum.reduceat(x, bounds) - np.minimum.reduceat(x, bounds))[0::2]
    for k in np.flatnonzero(tail):
        seg = x[i0[k] : i1[k]]
        out[k] = seg.max() - seg.min()
    return out


def _no_overlap(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Keep mask: a cycle starting before the end of the last kept one is dropped."""
    return _no_overlap_kernel(
        np.ascontiguousarray(starts, dtype=np.float64),
        np.ascontiguousarray(lengths, dtype=np.float64),
    )


def _cycles_from_wave(
    wave: np.ndarray,
    fs_low: float,
    exclude: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    fraction: float = DEPTH_FRACTION,
    lengths_s: tuple[float, float] = (MIN_CYCLE_S, MAX_CYCLE_S),
    view_n: int | None = None,
) -> Breathing:
    """Trough-peak-trough cycles of one breathing wave (steps 3-4 of the notes): depth
    simplification at ``fraction`` x the local breath size; cycles with lengths (s)
    outside ``lengths_s`` are dropped. ``view_n``: the samples of the whole view when
    ``wave`` is a piece of it (the breath size's window span, :func:`_local_scale`)."""
    thr = _local_scale(wave, fs_low, view_n)
    if not np.any(thr > 0):
        return _empty_breathing()
    thr *= fraction * 2.0 * np.sqrt(2.0)
    idx, kind = _simplify_kernel(np.ascontiguousarray(wave), thr)
    del thr
    # cycles: trough, peak, trough consecutive in the extremum sequence
    if len(idx) < 3:
        return _empty_breathing()
    k0 = np.flatnonzero((kind[:-2] == -1) & (kind[1:-1] == 1) & (kind[2:] == -1))
    tr0 = _parabolic(wave, idx[k0]) / fs_low
    tr1 = _parabolic(wave, idx[k0 + 2]) / fs_low
    pk = _parabolic(wave, idx[k0 + 1]) / fs_low
    amp = wave[idx[k0 + 1]] - 0.5 * (wave[idx[k0]] + wave[idx[k0 + 2]])
    lengths = tr1 - tr0
    keep = (lengths >= lengths_s[0]) & (lengths <= lengths_s[1]) & (amp > 0)
    if exclude is not None and len(exclude[0]):
        ex_s, ex_e = exclude
        order = np.argsort(ex_s)
        ex_s, ex_e = ex_s[order], np.maximum.accumulate(ex_e[order])
        # a cycle [a, b) overlaps an interval [s, e) iff s < b and e > a
        j = np.searchsorted(ex_s, tr1, side="left") - 1  # last interval starting before b
        overlap = (j >= 0) & (ex_e[np.clip(j, 0, None)] > tr0)
        keep &= ~overlap
    return Breathing(tr0[keep], lengths[keep], amp[keep].astype(np.float64), pk[keep])


def _real_times(value: object, name: str) -> np.ndarray:
    """Any array of real numbers flattened to 1-D float64 (as ``reshape(-1)`` did), or
    :class:`SignalError` naming ``name`` (strings, complex, objects, ragged lists)."""
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise SignalError(f"{name} must be real times in s: {e}") from None
    if a.dtype.kind not in "buif":
        raise SignalError(f"{name} must be real times in s, got dtype {a.dtype}")
    return a.astype(np.float64).reshape(-1)


def _check_beat_times(beat_times: object) -> np.ndarray:
    """Beat times as sorted finite float64 s (non-finite ones dropped), or SignalError."""
    try:
        raw = np.asarray(beat_times)
        if raw.dtype.kind not in "buif":  # complex would be cast to real with a warning
            raise TypeError
        bt = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise SignalError(
            f"beat_times must be a 1-D array of real times in s, got {type(beat_times).__name__}"
        ) from None
    if bt.ndim != 1:
        raise SignalError(f"beat_times must be 1-D, got shape {bt.shape}")
    return np.sort(bt[np.isfinite(bt)])


def _check_exclude(exclude: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``exclude`` as two float64 arrays of one length, no NaN, every end >= its start
    (+-inf allowed: an interval open to that side)."""
    try:
        first, second = exclude[0], exclude[1]
    except (TypeError, ValueError, IndexError, KeyError) as e:
        raise SignalError(f"exclude must be (starts, ends) of real times in s: {e}") from None
    ex_s = _real_times(first, "exclude starts")
    ex_e = _real_times(second, "exclude ends")
    if len(ex_s) != len(ex_e):
        raise SignalError(
            f"exclude must be (starts, ends) of one length, got {len(ex_s)} "
            f"starts and {len(ex_e)} ends"
        )
    bad = np.isnan(ex_s) | np.isnan(ex_e)
    if bad.any():
        raise SignalError(f"exclude holds NaN (interval {int(np.argmax(bad))})")
    back = ex_e < ex_s
    if back.any():
        i = int(np.argmax(back))
        raise SignalError(f"exclude interval {i} ends ({ex_e[i]}) before it starts ({ex_s[i]})")
    return ex_s, ex_e


def detect_breathing(
    signal: np.ndarray,
    fs: float,
    *,
    exclude: tuple[np.ndarray, np.ndarray] | None = None,
    beat_times: np.ndarray | None = None,
) -> Breathing:
    """Breathing cycles of a bed-sensor signal.

    Parameters
    ----------
    signal : array_like
        Raw sensor samples (BCG ``normal`` track, any real dtype), 1-D, finite.
    fs : float
        Sampling rate in Hz (at least 5 Hz).
    exclude : tuple of (starts, ends), optional
        Intervals in s (from the first sample) where no cycle is reported: a cycle that
        overlaps any of them is dropped (movements, time out of bed). Each end at or
        after its start, no NaN; -inf / +inf are allowed (an interval open to the start
        / end of the recording), as are intervals outside the recording.
    beat_times : array_like, optional
        Heartbeat times in s from the first sample (e.g.
        ``detect_heartbeats(signal, fs).beat_times``). When given, the heartbeat is
        subtracted from the signal by a running beat template (step 1 of the notes)
        and the beat-to-beat intervals (respiratory sinus arrhythmia) are one more
        candidate breathing wave (step 6).

    Returns
    -------
    Breathing
        Cycles in time order; empty arrays when the signal is shorter than 40 s, flat, or
        holds no breathing.

    Raises
    ------
    SignalError
        For a non-1-D or non-real signal, a non-finite sample, a float64 sample beyond
        +-1e100, a bad ``fs`` (a real number from 5 Hz to 1e6 Hz),
        ``beat_times`` that are not a 1-D real array, or an ``exclude`` that is not two
        equal-length arrays of real times, holds NaN, or has an end before its start.

    Notes
    -----
    1. Block means bring the signal to about 10 Hz (at 140 Hz, 14-sample blocks: their
       spectral zeros at multiples of 10 Hz remove every mains alias). With
       ``beat_times`` (at least 31 inside the recording), the heartbeat is subtracted
       from this view by a running beat template: the view minus its centred 1.1 s
       running mean, averaged over the 2 s after each of the 31 beats centred on a
       beat, is subtracted from the samples after that beat, in the 30 s frames where
       its mean square exceeds 1.25 / 31 x that of the view minus its running mean (a
       mean of 31 rows carries about 1 / 31 of the power not locked to the beats:
       below that the template is mostly its own noise, which would only be added).
       Every later step sees the cleaned view.
    2. Candidate breathing waves: the baseline, a zero-phase 2nd-order Butterworth
       band-pass of 0.05-1 Hz (the band of the breaths and the ripples inside them);
       in 30 s frames where the breath plainly dominates (the rms slope of the
       0.08-0.6 Hz band-passed wave is at least 0.3 x that of the 10 Hz view of step
       1 when ``beat_times`` give a template, at least 31 usable beats, whether or
       not its gate subtracted it in any frame; 0.5 x without one: little heartbeat
       to leak) in its place
       the same band-pass of 0.05-1.5 Hz ("wide": the
       1 Hz edge would flatten the ripples that the breathing reference's own 0.08-1
       Hz band shows); and, in 30 s frames where the heartbeat buries the breath (the
       rms slope of the 0.08-0.6 Hz wave is below 0.1 x that of the 10 Hz view: a "cardiac"
       sensor position, where the heart-rate fundamental, 0.7-1.5 Hz, leaks into the
       breathing band and would be tracked instead of the breath), the 0.08-0.6 Hz wave
       through a further zero-phase 4th-order low-pass at 0.5 Hz ("smooth"). Both
       slope tests leave out the samples within 2 s of ``exclude`` (a movement's
       slopes would otherwise decide the frame).
    3. Cycles of each wave by depth simplification (the "count-adv" rule of Schafer &
       Kratky, 2008, with a local threshold): take every local extremum; while the
       adjacent extremum pair with the smallest height difference is shallower than
       0.25 x the local breath size (0.3 on the wide wave, the reference's own
       fraction), remove it (its neighbours then face each other and are compared
       anew). The local breath size is 2 sqrt(2) x the median of
       ``|wave|`` per 30 s, running median over 5 minutes (for a sine, its peak to
       trough), so it follows the breathing depth and the posture's gain through the
       night, and a ripple riding on a breath never splits it, wherever it sits.
    4. A cycle runs trough to trough with one peak between; troughs are placed with
       sub-sample parabolic interpolation. Cycles of the baseline and wide waves
       shorter than 0.8 s or longer than 30 s, those of the other waves shorter than
       1.5 s or longer than 10 s (there a shorter one is the heart rate), and cycles
       overlapping ``exclude`` are dropped.
    5. Per 30 s frame one wave gives the cycles: the wide wave where the breath
       plainly dominates, the baseline where the heartbeat neither buries nor leaves
       the breath plain, the smoothed wave where it buries it; where the beat-interval
       wave of step 6 competes with the smoothed one, the higher score wins: the share
       of the 90 s around the frame covered by the wave's kept cycles (a wave that
       follows the heartbeat yields cycles too short to keep) times their regularity
       (1 - the coefficient of variation of the lengths of the cycles centred in those
       90 s: breaths found give steady lengths, breaths split and merged at noise do
       not), minus 0.01 for the smoothed wave, plus 0.02 for the interval wave. Where
       cycles of two waves
       overlap at a frame boundary the later one is dropped, so cycles never overlap,
       unless it overlaps by less than 0.5 s with its peak after the earlier one's end
       (two waves placing the same trough apart): then it starts at that end, and is
       dropped if that leaves it shorter than its own wave's minimum of step 4 (0.8 s
       on the baseline and wide waves, 1.5 s on the others).
       The amplitude is the peak to trough of the 0.08-0.6 Hz band-passed wave over
       the cycle. A cycle over 10 s within 10 s of ``exclude`` (the filters'
       ringing after a movement, not a pause) is dropped.
    6. With ``beat_times``: the beat-to-beat intervals within 20 % of the running median
       of 15, at their midpoints; an interval outside that is repaired when it is a
       whole number (2-3) of running medians, each part within 20 % (a missed beat:
       that many equal intervals), and two consecutive such intervals are taken
       together by the same rule (1-3 parts: an extra beat, a premature beat and its
       compensatory pause); the rest are dropped. These are interpolated onto a 2.5 Hz
       grid (zero across gaps over 2.5 s), band-passed (0.1-0.6 Hz) and smoothed like
       the smooth wave, simplified at 0.1 x their local size (a smooth wave: nearly
       every turning point is a breath), and compete in step 5 as one more candidate
       with a bonus of 0.02 on its score, in the frames of step 2 only. When the
       heartbeat dominates the signal the breathing swing can be lost under body noise
       while the heart rate still follows the breath
       (respiratory sinus arrhythmia). The cycle amplitude is still measured on the
       band-passed signal.
    7. A recording longer than 24 h goes through steps 2-6 in overlapping slices (24 h
       cores with 1 h of context on each side, each keeping the cycles that start in its
       core), so memory does not grow with its length; the cycles equal those of one
       piece to rounding (about 1e-10 s). Up to 24 h it is one piece.

    The trough is the start of inhalation when the sensor's polarity makes inhalation
    raise the signal; for the cycle lengths and the rate the polarity does not matter.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 140.0
    >>> t = np.arange(0, 120, 1 / fs)
    >>> x = 1000 + 50 * np.sin(2 * np.pi * 0.25 * t)
    >>> b = detect_breathing(x, fs)
    >>> bool(np.allclose(b.lengths[1:-1], 4.0, atol=0.05))
    True
    """
    fs_f = _check_fs(fs)
    x = _coerce_signal(signal)
    if exclude is not None:
        exclude = _check_exclude(exclude)
    bt = None if beat_times is None else _check_beat_times(beat_times)
    low, fs_low, _ = _lowrate(x, fs_f)
    return _breathing_from_low(low, fs_low, exclude, beat_times=bt)


def respiration_rate(
    cycles: TimeValueTrack | Breathing | tuple[np.ndarray, np.ndarray],
    *,
    start: float,
    end: float,
) -> float:
    """Average respiration rate (breaths/min) over ``[start, end)`` from breathing cycles.

    Parameters
    ----------
    cycles : TimeValueTrack, Breathing or (starts, lengths)
        A ``respiration_cycles`` track (``[t_start, cycle_length_s]``), the result of
        :func:`detect_breathing`, or two arrays of cycle starts and lengths in s.
    start, end : float
        The span, in the same time base as the cycle starts (s).

    Returns
    -------
    float
        Breaths per minute of breathing time: ``60 * sum(o_i / L_i) / sum(o_i)`` where
        ``o_i`` is the part (s) of cycle ``i`` (length ``L_i``) inside the span. A cycle
        counts by the fraction of it inside the span, so the rate does not depend on
        where cycle boundaries fall (which fiducial starts a cycle), and it is not
        diluted by gaps where no cycle was reported (movement, out of bed). NaN, with a
        :class:`~sleepsignal.errors.SleepSignalWarning`, when no cycle overlaps the
        span.

    Raises
    ------
    SignalError
        When ``end < start``, a bound is not finite, or the arrays do not match.

    Examples
    --------
    >>> respiration_rate((np.array([0.0, 4.0, 8.0]), np.array([4.0, 4.0, 4.0])), start=0, end=60)
    15.0
    """
    if isinstance(cycles, TimeValueTrack):
        starts = np.asarray(cycles.times, dtype=np.float64)
        lengths = np.asarray(cycles.values, dtype=np.float64)
    elif isinstance(cycles, Breathing):
        starts, lengths = cycles.starts, cycles.lengths
    else:
        try:
            s, ln = cycles
        except (TypeError, ValueError):
            raise SignalError(
                "cycles must be a TimeValueTrack, a Breathing result or a (starts, lengths) "
                f"pair, got {type(cycles).__name__}"
            ) from None
        starts = _real_times(s, "cycle starts")
        lengths = _real_times(ln, "cycle lengths")
    if starts.shape != lengths.shape:
        raise SignalError(
            f"cycle starts and lengths differ in length: {len(starts)} and {len(lengths)}"
        )
    real_number(start, "start")
    real_number(end, "end")
    if not (np.isfinite(start) and np.isfinite(end)) or end < start:
        raise SignalError(f"need finite start <= end (s), got start={start!r}, end={end!r}")
    ok = np.isfinite(lengths) & (lengths > 0)
    starts, lengths = starts[ok], lengths[ok]
    overlap = np.clip(np.minimum(starts + lengths, end) - np.maximum(starts, start), 0, None)
    covered = overlap.sum()
    if not covered > 0:
        warnings.warn(
            f"no breathing cycle overlaps [{start}, {end}) s; respiration rate is NaN",
            SleepSignalWarning,
            stacklevel=2,
        )
        return float("nan")
    return float(60.0 * (overlap / lengths).sum() / covered)
