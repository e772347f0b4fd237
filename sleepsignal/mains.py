"""Sensor status: operational, mains interference (50 Hz or 60 Hz), or unclear.

The Beddit ``sensor_status`` track holds change points ``[t, code]``: 1 operational,
2 interference, 3 unclear. :func:`mains_interference` finds both mains frequencies
without being told which, through their harmonics and their aliases at the sensor rate
(at 140 Hz: 50 Hz harmonics fall at 50, 40, 10, 60, 30, 20 Hz; 60 Hz harmonics at 60,
20, 40 Hz).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._rank_filter import median_filter
from ._status_kernels import _line_scores_kernel
from ._track_kernels import (
    LOWRATE_HZ,
    _centred_windows_kernel,
    _change_points,
    _check_fs,
    _coerce_signal,
    _debounce_kernel,
    _scan_kernel,
)

__all__ = [
    "INTERFERENCE",
    "OPERATIONAL",
    "UNCLEAR",
    "SensorStatus",
    "mains_aliases",
    "mains_interference",
]

OPERATIONAL = 1
INTERFERENCE = 2
UNCLEAR = 3

#: Status window (s), the part of it whose spectrum the FFT detector analyses (s), and
#: the shortest status run kept (windows).
WINDOW_S = 4.0
FFT_S = 4.0
MIN_RUN = 8
#: The spectrum is computed for one status window in every ``FFT_EVERY`` (hum is
#: stationary over seconds); the windows in between take the result of the analysed
#: window before them. Clipping and flatness are still checked in every window.
FFT_EVERY = 2
#: A spectral line counts when its power is this many times the mean of its
#: neighbourhood (10 dB; with the 3-window majority, no false window on a hum-free
#: simulated 8 h night).
LINE_RATIO = 10.0
#: Half-width (Hz) of the neighbourhood of a line.
NEIGHBOURHOOD_HZ = 4.0
#: Harmonics of each mains frequency that are looked at.
HARMONICS = 6
#: Analysed windows transformed per FFT call (their spectra stay in the CPU's cache).
_FFT_ROWS = 256
#: Fraction of a window's samples at the recording's extreme values that makes it
#: "clipped" (status 3).
CLIPPED_FRACTION = 0.02


class SensorStatus(NamedTuple):
    """Result of :func:`mains_interference`.

    Attributes
    ----------
    times : numpy.ndarray
        Change points, s from the first sample (float64); the first is at 0.
    status : numpy.ndarray
        uint8 code at each change point: 1 operational, 2 interference, 3 unclear.
    mains_hz : numpy.ndarray
        Mains frequency at each change point: 50.0 or 60.0 for interference, else 0.0.
    window_status : numpy.ndarray
        uint8 code of every 4 s window (window ``k`` starts at ``4 k`` s).
    window_hz : numpy.ndarray
        Mains frequency found in every window (0.0 when none).
    window_s : float
        Window length, s.
    """

    times: np.ndarray
    status: np.ndarray
    mains_hz: np.ndarray
    window_status: np.ndarray
    window_hz: np.ndarray
    window_s: float


def mains_aliases(mains_hz: float, fs: float, harmonics: int = HARMONICS) -> np.ndarray:
    """Where harmonics 1..``harmonics`` of ``mains_hz`` appear when sampled at ``fs`` (Hz).

    Examples
    --------
    >>> mains_aliases(50.0, 140.0).tolist()
    [50.0, 40.0, 10.0, 60.0, 30.0, 20.0]
    """
    k = np.arange(1, harmonics + 1, dtype=np.float64)
    f = np.mod(k * mains_hz, fs)
    return np.where(f > fs / 2, fs - f, f)


def _line_bins(
    n_bins: int, df: float, lines: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bins :func:`_line_scores_kernel` reads for each line (Hz) of a spectrum of
    ``n_bins`` bins ``df`` Hz apart: the peak bins (the 3 nearest the line), and the
    neighbourhood (bins within :data:`NEIGHBOURHOOD_HZ`, the 5 nearest the line left
    out, bin 0 left out). A line too near either end of the spectrum, or with fewer than
    4 neighbourhood bins, is not scored (``peak_lo`` -1)."""
    peak_lo = np.full(len(lines), -1, dtype=np.int64)
    peak_hi = np.full(len(lines), -1, dtype=np.int64)
    ref_start = np.zeros(len(lines) + 1, dtype=np.int64)
    ref: list[int] = []
    h = round(NEIGHBOURHOOD_HZ / df)
    for j, f in enumerate(lines):
        c = round(f / df)
        cols = [i for i in range(c - h, c + h + 1) if abs(i - c) > 2 and 0 < i < n_bins]
        if 2 <= c <= n_bins - 1 and len(cols) >= 4:
            peak_lo[j], peak_hi[j] = c - 1, min(c + 1, n_bins - 1)
            ref.extend(cols)
        ref_start[j + 1] = len(ref)
    return peak_lo, peak_hi, ref_start, np.array(ref, dtype=np.int64)


def _fft_scores(
    x: np.ndarray,
    w: int,
    first: int,
    n_a: int,
    fs: float,
    w_fft: int,
    lines50: np.ndarray,
    lines60: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Line-to-neighbourhood power ratios of the Hann periodogram of the start of each
    analysed window (``n_a`` windows of ``w`` samples of ``x``: ``first``,
    ``first + FFT_EVERY``, ...; one row each).

    Each window is centred on its own mean, so a window's scores depend on its samples
    only: the chunked path (:mod:`sleepsignal.streaming`) gets the same numbers.
    """
    uniq, inv = np.unique(np.round(np.concatenate([lines50, lines60]), 6), return_inverse=True)
    n_bins = w_fft // 2 + 1
    bins = _line_bins(n_bins, 1.0 / (w_fft * (1.0 / fs)), uniq)  # as numpy.fft.rfftfreq
    hann = np.hanning(w_fft)
    scores = np.empty(n_a * len(uniq))
    # a few hundred windows at a time: the windows and their spectra stay in the CPU's
    # cache between the three steps (and a week's temporaries stay small)
    buf = np.empty(min(n_a, _FFT_ROWS) * w_fft)
    for r0 in range(0, n_a, _FFT_ROWS):
        m = min(_FFT_ROWS, n_a - r0)
        rows = buf[: m * w_fft]
        _centred_windows_kernel(x, w, first + FFT_EVERY * r0, FFT_EVERY, hann, rows)
        spec = np.fft.rfft(rows.reshape(m, w_fft), axis=1)  # float64: faster than float32
        spec64 = np.ascontiguousarray(spec, dtype=np.complex128).view(np.float64).ravel()
        _line_scores_kernel(spec64, n_bins, *bins, scores[r0 * len(uniq) : (r0 + m) * len(uniq)])
    table = scores.reshape(n_a, len(uniq))
    return table[:, inv[: len(lines50)]], table[:, inv[len(lines50) :]]


def mains_interference(signal: np.ndarray, fs: float) -> SensorStatus:
    """Sensor status per 4 s window: operational, mains interference, or unclear.

    Parameters
    ----------
    signal : array_like
        Raw sensor samples (BCG ``normal``), 1-D, finite.
    fs : float
        Sampling rate in Hz (at least 20 Hz: the lowest mains alias looked at is 10 Hz).

    Returns
    -------
    SensorStatus
        Change points and per-window codes. A signal shorter than one window gives
        empty arrays.

    Raises
    ------
    SignalError
        For a non-1-D or non-real signal, a non-finite sample, a float64 sample beyond
        +-1e100 (energies square the samples), or a bad ``fs`` (a real number from
        20 Hz to 1e6 Hz).

    Notes
    -----
    1. The signal is cut into 4 s status windows. For 50 Hz and for 60 Hz, the aliases
       of harmonics 1-6 at ``fs`` are the candidate lines (:func:`mains_aliases`).
    2. One window in every 2 (the even ones; hum is stationary over seconds) gets a
       Hann periodogram (0.25 Hz resolution, float64 FFT) of the
       window minus its own mean. A line is present when its power (highest of the 3
       nearest bins, so a mains drift of +-0.25 Hz is tolerated) exceeds 10
       times the mean power of its +-4 Hz neighbourhood (the 5 bins nearest the line
       left out). Heartbeat, breathing and movement are broadband at these
       frequencies and do not make such lines. The window after an analysed one takes
       its result.
    3. A window with any line is interference (code 2); the frequency is the one whose
       lines score higher (lines shared by 50 and 60 Hz, such as 20, 40 and 60 Hz at
       140 Hz, count for both; 10, 30 and 50 Hz only come from 50 Hz).
    4. A window whose samples are constant, or with more than 2 % of its samples at the
       recording's lowest or highest value (a clipped, saturated sensor), is unclear
       (code 3), whatever its spectrum.
    5. An analysed window keeps its line only when a neighbouring analysed window has
       one too (majority of 3: lone chance lines are about 2 % of noise-only windows);
       then runs shorter
       than 32 s (8 windows) take the state of the run before them.
    """
    fs_f = _check_fs(fs, minimum=20.0)
    x = _coerce_signal(signal)
    q, w = _scan_sizes(fs_f)
    _, wmin, wmax = _scan_kernel(x, q, w)
    return _status_from_scan(x, fs_f, wmin, wmax)


def _scan_sizes(fs: float) -> tuple[int, int]:
    """Block length of the 10 Hz view and status-window length (samples) for
    :func:`_scan_kernel`."""
    return max(1, round(fs / LOWRATE_HZ)), round(WINDOW_S * fs)


def _empty_status() -> SensorStatus:
    e = np.empty(0)
    return SensorStatus(
        e, np.empty(0, np.uint8), e.copy(), np.empty(0, np.uint8), e.copy(), WINDOW_S
    )


def _status_from_scan(
    x: np.ndarray,
    fs_f: float,
    wmin: np.ndarray,
    wmax: np.ndarray,
) -> SensorStatus:
    """:func:`mains_interference` from the one-pass scan of the whole signal."""
    _, w = _scan_sizes(fs_f)
    n_w = len(wmin)
    if n_w == 0:
        return _empty_status()
    seg = x[: n_w * w].reshape(n_w, w)
    lo_v, hi_v = wmin.min(), wmax.max()
    flat = wmax == wmin
    n_ext = np.zeros(n_w, dtype=np.int64)
    touch = np.flatnonzero((wmin == lo_v) | (wmax == hi_v))
    if len(touch):
        st = seg[touch]
        n_ext[touch] = (st == lo_v).sum(axis=1) + (st == hi_v).sum(axis=1)
    unclear = flat | (n_ext > CLIPPED_FRACTION * w)
    s50, s60 = _window_scores(x, n_w, 0, fs_f)
    return _status_from_features(fs_f, unclear, s50, s60)


def _unclear_from_counts(
    wmin: np.ndarray, wmax: np.ndarray, nmin: np.ndarray, nmax: np.ndarray, w: int
) -> np.ndarray:
    """Unclear windows (flat or clipped) from each window's extremes and how many of its
    samples sit on them; equal to the rule of :func:`_status_from_scan`, which needs the
    recording's extremes before it looks at a window (the chunked path cannot)."""
    if len(wmin) == 0:
        return np.zeros(0, dtype=bool)
    lo_v, hi_v = wmin.min(), wmax.max()
    n_ext = np.where(wmin == lo_v, nmin, 0) + np.where(wmax == hi_v, nmax, 0)
    return (wmax == wmin) | (n_ext > CLIPPED_FRACTION * w)


def _window_scores(
    x: np.ndarray, n_w: int, first: int, fs_f: float
) -> tuple[np.ndarray, np.ndarray]:
    """Line scores (50 Hz lines, 60 Hz lines) of the analysed windows of the samples
    ``x`` (1-D, contiguous; ``n_w`` status windows): windows ``first``,
    ``first + FFT_EVERY``, ... (one row each)."""
    _, w = _scan_sizes(fs_f)
    w_fft = round(FFT_S * fs_f)
    lines50 = mains_aliases(50.0, fs_f)
    lines60 = mains_aliases(60.0, fs_f)
    n_a = len(range(first, n_w, FFT_EVERY))
    if n_a == 0:
        return np.zeros((0, len(lines50))), np.zeros((0, len(lines60)))
    return _fft_scores(x, w, first, n_a, fs_f, w_fft, lines50, lines60)


def _status_from_features(
    fs_f: float, unclear: np.ndarray, s50: np.ndarray, s60: np.ndarray
) -> SensorStatus:
    """The status of every window from its unclear flag and the line scores of the
    analysed windows (every ``FFT_EVERY``-th); shared by the whole and chunked paths."""
    if len(unclear) == 0:
        return _empty_status()
    states, hz = _window_states(fs_f, unclear, s50, s60)
    return _status_from_states(states, hz)


def _window_states(
    fs_f: float, unclear: np.ndarray, s50: np.ndarray, s60: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Steps of :func:`_status_from_features` that look at a few windows around each
    (the line tests, the debounce): per window its state (int64, debounced) and the
    frequency of its strongest lines (Hz, 0 without a line). The day slices of a long
    recording (:mod:`sleepsignal._track_slices`) call it per slice."""
    n_w = len(unclear)
    n_a = len(s50)
    hit50 = s50 > LINE_RATIO
    hit60 = s60 > LINE_RATIO
    any_hit: np.ndarray = np.asarray(hit50.any(axis=1) | hit60.any(axis=1))
    # a lone analysed window with a line is chance (~2 % of windows on noise alone):
    # keep a hit only when at least one of its two analysed neighbours has one too
    if n_a >= 3:
        any_hit = median_filter(any_hit, 3).astype(bool)
    # evidence: number of lines present, ties broken by the summed line strength
    ev50 = hit50.sum(axis=1) + 1e-6 * np.where(hit50, s50, 0.0).sum(axis=1)
    ev60 = hit60.sum(axis=1) + 1e-6 * np.where(hit60, s60, 0.0).sum(axis=1)
    # every window takes the result of the analysed window that starts its group
    any_hit = np.repeat(any_hit, FFT_EVERY)[:n_w]
    ev50 = np.repeat(ev50, FFT_EVERY)[:n_w]
    ev60 = np.repeat(ev60, FFT_EVERY)[:n_w]
    hz = np.where(any_hit, np.where(ev50 >= ev60, 50.0, 60.0), 0.0)
    states = np.where(any_hit, INTERFERENCE, OPERATIONAL).astype(np.int64)
    states[unclear] = UNCLEAR
    states = _debounce_kernel(np.ascontiguousarray(states), MIN_RUN)
    return states, hz


def _status_from_states(states: np.ndarray, hz: np.ndarray) -> SensorStatus:
    """The :class:`SensorStatus` of the per-window states and line frequencies of
    :func:`_window_states` (one frequency per interference run, change points)."""
    n_w = len(states)
    hz = np.where(states == INTERFERENCE, hz, 0.0)
    if (states == INTERFERENCE).any():
        # one frequency per interference run: the majority of its windows
        edges = np.flatnonzero(np.diff(np.concatenate([[0], states == INTERFERENCE, [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            run = hz[a:b]
            hz[a:b] = 50.0 if (run == 50.0).sum() >= (run == 60.0).sum() else 60.0
    t, v = _change_points(states, WINDOW_S, n_w * WINDOW_S)
    idx = np.round(t / WINDOW_S).astype(np.int64)
    return SensorStatus(t, v, hz[idx], states.astype(np.uint8), hz, WINDOW_S)
