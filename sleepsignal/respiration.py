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

from ._track_kernels import _check_fs, _coerce_signal, _extrema_kernel, _lowrate
from .errors import SignalError, SleepSignalWarning
from .session import TimeValueTrack

__all__ = ["Breathing", "detect_breathing", "respiration_rate"]

#: Breathing band (Hz) of the band-pass that isolates the breathing wave.
BREATHING_BAND_HZ = (0.08, 0.6)
#: Shortest and longest cycle kept (s): 6.7 to 40 breaths/min.
MIN_CYCLE_S = 1.5
MAX_CYCLE_S = 10.0
#: Hysteresis of the extremum tracker, as a multiple of the local median of |wave|.
HYSTERESIS = 1.2
#: Length (s) of the running window of the local scale.
SCALE_WINDOW_S = 300.0


class Breathing(NamedTuple):
    """Breathing cycles found by :func:`detect_breathing`.

    Attributes
    ----------
    starts : numpy.ndarray
        Cycle start (trough of the breathing wave), s from the first sample, float64.
    lengths : numpy.ndarray
        Cycle length (trough to next trough), s, float64.
    amplitudes : numpy.ndarray
        Peak-to-trough height of each cycle in signal units (the peak minus the mean of
        the two troughs, on the band-passed wave), float64.
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


def _breathing_wave(low: np.ndarray, fs_low: float) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    hi = min(BREATHING_BAND_HZ[1], 0.45 * fs_low)
    sos = butter(2, [BREATHING_BAND_HZ[0], hi], btype="bandpass", fs=fs_low, output="sos")
    padlen = min(len(low) - 1, int(3 * fs_low / BREATHING_BAND_HZ[0]))
    return np.asarray(sosfiltfilt(sos, low - np.median(low), padlen=padlen))


def _local_scale(wave: np.ndarray, fs_low: float) -> np.ndarray:
    """Median of ``|wave|`` per 30 s block, running median over SCALE_WINDOW_S, per sample."""
    from scipy.ndimage import median_filter

    block = round(30.0 * fs_low)
    n = len(wave)
    nb = -(-n // block)
    a = np.abs(wave)
    pad = np.empty(nb * block)
    pad[:n] = a
    pad[n:] = a[-1] if n else 0.0
    med = np.median(pad.reshape(nb, block), axis=1)
    span = max(1, min(nb, round(SCALE_WINDOW_S / 30.0)))
    med = median_filter(med, size=span, mode="nearest")
    return np.repeat(med, block)[:n]


def _breathing_from_low(
    low: np.ndarray,
    fs_low: float,
    exclude: tuple[np.ndarray, np.ndarray] | None = None,
    wave: np.ndarray | None = None,
) -> Breathing:
    """:func:`detect_breathing` on the low-rate view (shared with ``session_tracks``)."""
    if len(low) < int(4 * MAX_CYCLE_S * fs_low):
        return _empty_breathing()
    if wave is None:
        wave = _breathing_wave(low, fs_low)
    hyst = HYSTERESIS * _local_scale(wave, fs_low)
    if not np.any(hyst > 0):
        return _empty_breathing()
    idx, kind = _extrema_kernel(np.ascontiguousarray(wave), np.ascontiguousarray(hyst))
    # cycles: trough, peak, trough consecutive in the extremum sequence
    if len(idx) < 3:
        return _empty_breathing()
    k0 = np.flatnonzero((kind[:-2] == -1) & (kind[1:-1] == 1) & (kind[2:] == -1))
    tr0 = _parabolic(wave, idx[k0]) / fs_low
    tr1 = _parabolic(wave, idx[k0 + 2]) / fs_low
    pk = _parabolic(wave, idx[k0 + 1]) / fs_low
    amp = wave[idx[k0 + 1]] - 0.5 * (wave[idx[k0]] + wave[idx[k0 + 2]])
    lengths = tr1 - tr0
    keep = (lengths >= MIN_CYCLE_S) & (lengths <= MAX_CYCLE_S) & (amp > 0)
    if exclude is not None and len(exclude[0]):
        ex_s, ex_e = exclude
        order = np.argsort(ex_s)
        ex_s, ex_e = ex_s[order], np.maximum.accumulate(ex_e[order])
        # a cycle [a, b) overlaps an interval [s, e) iff s < b and e > a
        j = np.searchsorted(ex_s, tr1, side="left") - 1  # last interval starting before b
        overlap = (j >= 0) & (ex_e[np.clip(j, 0, None)] > tr0)
        keep &= ~overlap
    return Breathing(tr0[keep], lengths[keep], amp[keep].astype(np.float64), pk[keep])


def detect_breathing(
    signal: np.ndarray,
    fs: float,
    *,
    exclude: tuple[np.ndarray, np.ndarray] | None = None,
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
        overlaps any of them is dropped (movements, time out of bed).

    Returns
    -------
    Breathing
        Cycles in time order; empty arrays when the signal is shorter than 40 s, flat, or
        holds no breathing.

    Raises
    ------
    SignalError
        For a non-1-D or non-real signal, a non-finite sample, or a bad ``fs``.

    Notes
    -----
    1. Block means bring the signal to about 10 Hz (at 140 Hz, 14-sample blocks: their
       spectral zeros at multiples of 10 Hz remove every mains alias).
    2. A zero-phase 2nd-order Butterworth band-pass of 0.08-0.6 Hz keeps the breathing
       wave.
    3. Local scale: the median of ``|wave|`` per 30 s, then a running median over
       5 minutes; the hysteresis is 1.2 x that scale (for a sine, about 0.42 of its
       peak-to-trough height). An alternating extremum tracker confirms a trough (peak)
       once the wave has risen (fallen) by the hysteresis. The hysteresis follows the
       breathing depth and the posture's gain through the night, so shallow breaths
       are not missed and heartbeat ripple is not counted.
    4. A cycle runs trough to trough with one peak between; troughs are placed with
       sub-sample parabolic interpolation. Cycles shorter than 1.5 s or longer than 10 s
       and cycles overlapping ``exclude`` are dropped.

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
        exclude = (
            np.asarray(exclude[0], dtype=np.float64).reshape(-1),
            np.asarray(exclude[1], dtype=np.float64).reshape(-1),
        )
        if len(exclude[0]) != len(exclude[1]):
            raise SignalError(
                f"exclude must be (starts, ends) of one length, got {len(exclude[0])} "
                f"starts and {len(exclude[1])} ends"
            )
    low, fs_low, _ = _lowrate(x, fs_f)
    return _breathing_from_low(low, fs_low, exclude)


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
        starts = np.asarray(s, dtype=np.float64).reshape(-1)
        lengths = np.asarray(ln, dtype=np.float64).reshape(-1)
    if starts.shape != lengths.shape:
        raise SignalError(
            f"cycle starts and lengths differ in length: {len(starts)} and {len(lengths)}"
        )
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
