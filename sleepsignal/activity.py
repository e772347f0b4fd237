"""Movement bursts, the 60 s actigram, and bed presence from a bed-sensor (BCG) signal.

Definitions used throughout (they are the contract of the ``actigram`` and ``presence``
tracks):

- **A movement** is a burst of signal energy above an adaptive threshold, counted once
  per burst. The energy is that of the 10 Hz low-rate view (mains-free at 140 Hz)
  high-passed at 4.5 Hz, summed over 1 s: body movement is broadband, while breathing,
  its harmonics and slow artefacts stay below a few Hz, so only heartbeat and movement
  remain. The threshold is :data:`MOVEMENT_ON` (20) times the local baseline (a
  2.5-minute running median of 30 s medians of that energy, i.e. the heartbeat level of
  the still sleeper). A burst starts above ``MOVEMENT_ON`` x baseline, ends below
  ``MOVEMENT_OFF`` (4) x baseline, and bursts less than 5 s apart are one movement.
- **Presence** (Beddit codes 80 present, 65 away, 78 no signal) is decided per 5 s
  window; see :func:`presence`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._filters import butter_sos, sosfilt
from ._rank_filter import median_filter
from ._status_kernels import _presence_spreads_kernel
from ._track_kernels import (
    _bursts_kernel,
    _change_points,
    _check_fs,
    _coerce_signal,
    _debounce_kernel,
    _lowrate,
)
from ._validate import check_bins, check_instance, real_number
from .errors import SignalError

__all__ = [
    "ABSENT",
    "NO_SIGNAL",
    "PRESENT",
    "Movements",
    "Presence",
    "actigram",
    "movement_bursts",
    "presence",
]

#: Beddit presence codes.
PRESENT = 80
ABSENT = 65
NO_SIGNAL = 78

#: Movement hysteresis, as multiples of the baseline 1 s energy.
MOVEMENT_ON = 20.0
MOVEMENT_OFF = 4.0
#: High-pass (Hz) that removes breathing, its harmonics and slow artefacts before the
#: energy (the 10 Hz view reaches 5 Hz).
MOVEMENT_HIGHPASS_HZ = 4.5
#: Bursts closer than this (s) are one movement.
MOVEMENT_MERGE_S = 5.0
#: Presence window (s) and the shortest state run kept (windows).
PRESENCE_WINDOW_S = 5.0
PRESENCE_MIN_RUN = 6
#: Presence: a window is white (no one in bed) when the std of its residual from a
#: straight line is under this multiple of its first-difference std (white noise: 0.71).
PRESENCE_WHITENESS = 1.0
#: Presence: white windows within this many dB of the empty-bed floor are away.
PRESENCE_MARGIN_DB = 12.0
#: Presence: white windows needed to estimate the empty-bed floor.
PRESENCE_MIN_WHITE = 3
#: Presence: the floor must lie this many dB below the median window (else no one left).
PRESENCE_CONTRAST_DB = 20.0
#: Presence: without contrast, a recording whose median first-difference std (10 Hz
#: view, ADC counts) is below this is an empty bed all along (Beddit-like uint16 counts:
#: an empty sensor gives about 1.5, a person tens to hundreds).
PRESENCE_EMPTY_COUNTS = 5.0


class Movements(NamedTuple):
    """Movement bursts found by :func:`movement_bursts`.

    Attributes
    ----------
    starts, ends : numpy.ndarray
        Burst start and end, s from the first sample, float64.
    peak_ratio : numpy.ndarray
        Highest 1 s energy in the burst over the local baseline (dimensionless).
    """

    starts: np.ndarray
    ends: np.ndarray
    peak_ratio: np.ndarray


class Presence(NamedTuple):
    """Bed presence found by :func:`presence`.

    Attributes
    ----------
    times : numpy.ndarray
        Change points, s from the first sample, float64. The first item is at 0 and, for
        a non-empty signal, the last item is ``(duration, 78)``: the end of the data.
    states : numpy.ndarray
        uint8 codes at each change point: 80 present, 65 away, 78 no signal.
    window_states : numpy.ndarray
        uint8 code of every 5 s window (window ``k`` starts at ``5 k`` s).
    window_s : float
        Window length, s.
    """

    times: np.ndarray
    states: np.ndarray
    window_states: np.ndarray
    window_s: float

    def mask(self, times: np.ndarray, state: int = PRESENT) -> np.ndarray:
        """Whether each time (s) falls in a window with ``state``."""
        k = np.floor(np.asarray(times, dtype=np.float64) / self.window_s).astype(np.int64)
        ok = (k >= 0) & (k < len(self.window_states))
        out = np.zeros(k.shape, dtype=bool)
        out[ok] = self.window_states[k[ok]] == state
        return out

    def intervals(self, state: int = PRESENT) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, ends)`` in s of the runs of windows with ``state``."""
        w = np.concatenate([[False], self.window_states == state, [False]]).astype(np.int8)
        d = np.diff(w)
        return (
            np.flatnonzero(d == 1) * self.window_s,
            np.flatnonzero(d == -1) * self.window_s,
        )


def _nan_row_medians(rows: np.ndarray) -> np.ndarray:
    """``np.nanmedian(rows, axis=1)`` (NaN for an all-NaN row, without its warning) of
    a float64 2-D array, from one sort of the rows (NaN sorts last): the middle of the
    ``c`` values of a row, or the mean of the two middle ones for an even ``c``, the
    arithmetic of ``numpy.ma.median`` that ``nanmedian`` uses for short rows (and of
    ``numpy.median``), ~5x faster than the masked-array path."""
    srt = np.sort(rows, axis=1)
    c = rows.shape[1] - np.isnan(rows).sum(axis=1)
    r = np.arange(rows.shape[0])
    hi = srt[r, np.maximum(c // 2, 0)]
    lo = srt[r, np.maximum((c - 1) // 2, 0)]
    med = np.where(c % 2 == 1, hi, (lo + hi) / 2)
    med[c == 0] = np.nan
    return med


def _rolling_median_blocks(values: np.ndarray, block: int, span: int) -> np.ndarray:
    """Median of ``block``-sized blocks, then a running median over ``span`` blocks,
    repeated back to the length of ``values`` (NaN-aware)."""
    n = len(values)
    nb = max(1, -(-n // block))
    pad = np.full(nb * block, np.nan)
    pad[:n] = values
    med = _nan_row_medians(pad.reshape(nb, block)) if n else np.empty(0)
    if np.all(np.isnan(med)):
        return np.full(n, np.nan)
    good = ~np.isnan(med)
    med = np.interp(np.arange(nb), np.flatnonzero(good), med[good])
    med = median_filter(med, min(span, nb))
    return np.repeat(med, block)[:n]


#: Seconds of the low-rate view filtered and squared at a time by :func:`_movement_energy`
#: (a night is one block or a few; a week's temporaries stay a few MB instead of several
#: times its 10 Hz view).
_MOVEMENT_BLOCK_S = 4096


def _movement_energy(low: np.ndarray, fs_low: float, sec: int, n_s: int) -> np.ndarray:
    """Energy per second of the low-rate view high-passed above
    :data:`MOVEMENT_HIGHPASS_HZ` (causal): the sum of squares of band samples
    ``1 + k * sec`` to ``(k + 1) * sec`` for second ``k`` < ``n_s``.

    Filtered block by block with the filter state carried over, which gives exactly
    the samples of one call over the whole view.
    """
    sos = butter_sos(2, MOVEMENT_HIGHPASS_HZ, "highpass", fs_low)
    zi = np.zeros((sos.shape[0], 2))
    energy = np.empty(n_s)
    start = 0  # first view sample of the block; the band sample at 0 is not used
    for k0 in range(0, n_s, _MOVEMENT_BLOCK_S):
        k1 = min(k0 + _MOVEMENT_BLOCK_S, n_s)
        stop = 1 + k1 * sec
        band, zi = sosfilt(sos, low[start:stop] - low[0], zi)
        d = band[1 + k0 * sec - start :]
        energy[k0:k1] = np.square(d, out=d).reshape(k1 - k0, sec).sum(axis=1)
        start = stop
    return energy


def _movements_from_low(
    low: np.ndarray, fs_low: float, still: np.ndarray | None = None
) -> Movements:
    """:func:`movement_bursts` on the low-rate view; ``still`` masks 1 s blocks to use."""
    sec = round(fs_low)
    n_s = (len(low) - 1) // sec
    if n_s < 2:
        e = np.empty(0)
        return Movements(e, e.copy(), e.copy())
    energy = _movement_energy(low, fs_low, sec, n_s)
    base_in = energy.copy()
    if still is not None:
        base_in[~still[:n_s]] = np.nan
    base = _rolling_median_blocks(base_in, 30, 5)
    if np.all(np.isnan(base)):
        e = np.empty(0)
        return Movements(e, e.copy(), e.copy())
    mid = np.nanmedian(base)
    floor = mid * 1e-3 + np.finfo(np.float64).tiny
    base = np.where(np.isnan(base), mid, np.maximum(base, floor))
    e_use = energy if still is None else np.where(still[:n_s], energy, 0.0)
    s, e = _bursts_kernel(
        np.ascontiguousarray(e_use),
        np.ascontiguousarray(MOVEMENT_ON * base),
        np.ascontiguousarray(MOVEMENT_OFF * base),
        int(MOVEMENT_MERGE_S),
    )
    ratio = energy / base
    peak = np.array([ratio[a:b].max() for a, b in zip(s, e, strict=True)], dtype=np.float64)
    step = sec / fs_low
    return Movements(s * step, e * step, peak)


def movement_bursts(signal: np.ndarray, fs: float, *, present: Presence | None = None) -> Movements:
    """Movement bursts of a bed-sensor signal.

    Parameters
    ----------
    signal : array_like
        Raw sensor samples (BCG ``normal``), 1-D, finite.
    fs : float
        Sampling rate in Hz (at least 5 Hz).
    present : Presence, optional
        When given, only time in bed counts: the baseline is taken in bed and no burst is
        reported while away or without signal.

    Returns
    -------
    Movements
        Bursts in time order (1 s resolution); empty for a signal under 2 s.

    Raises
    ------
    SignalError
        For a non-1-D or non-real signal, a non-finite sample, a float64 sample beyond
        +-1e100 (energies square the samples), or a bad ``fs`` (a real number from
        5 Hz to 1e6 Hz).

    Notes
    -----
    1. The signal is brought to about 10 Hz by block means (mains-free at 140 Hz).
    2. Energy per 1 s: sum of squares of that view high-passed at 4.5 Hz (2nd-order
       Butterworth, causal): breathing and its harmonics are gone, heartbeat and
       movement stay.
    3. Baseline: median of each 30 s, then a running median over 5 such blocks
       (2.5 min). A movement lasting less than about a minute cannot lift it.
    4. Hysteresis: a burst starts when the energy exceeds 20 x baseline (about 4.5 x
       the still amplitude) and ends when it falls below 4 x baseline; bursts fewer than
       5 s apart merge. Each burst is one movement.
    """
    fs_f = _check_fs(fs)
    x = _coerce_signal(signal)
    low, fs_low, _ = _lowrate(x, fs_f)
    still = None
    if present is not None:
        check_instance(present, Presence, "present")
        sec = round(fs_low)
        n_s = max(0, (len(low) - 1) // sec)
        still = present.mask(np.arange(n_s) + 0.5)
    return _movements_from_low(low, fs_low, still)


def _presence_from_low(low: np.ndarray, fs_low: float, flat: np.ndarray | None = None) -> Presence:
    """:func:`presence` on the low-rate view; ``flat`` flags windows with no signal."""
    w = round(PRESENCE_WINDOW_S * fs_low)
    n_w = len(low) // w
    duration = len(low) / fs_low
    if n_w == 0 or len(low) < 2:
        t, v = _change_points(np.empty(0, np.uint8), PRESENCE_WINDOW_S, duration, NO_SIGNAL)
        return Presence(t, v, np.empty(0, np.uint8), PRESENCE_WINDOW_S)
    # per window: spread of the first difference (d) and of the residual of a straight
    # line (b: slow drift of an empty sensor goes away), and whether it is constant
    d, b, dead = _presence_spreads_kernel(np.ascontiguousarray(low, dtype=np.float64), w, n_w)
    if flat is not None:
        dead |= flat[:n_w]
    with np.errstate(divide="ignore", invalid="ignore"):
        white = ~dead & (b < PRESENCE_WHITENESS * d)
    states = np.full(n_w, PRESENT, dtype=np.int64)
    live = ~dead
    if white.sum() >= PRESENCE_MIN_WHITE:
        # quietest stretch of white windows: the lowest 3-window running median of d
        # (an empty bed lasts minutes; single quiet windows in bed do not count)
        d3 = median_filter(np.where(white, d, np.inf), PRESENCE_MIN_WHITE)
        floor = float(d3.min())
        if not np.isfinite(floor):
            floor = float(np.min(d[white]))
        if np.median(d[live]) >= floor * 10 ** (PRESENCE_CONTRAST_DB / 20):
            states[white & (d < floor * 10 ** (PRESENCE_MARGIN_DB / 20))] = ABSENT
        elif np.median(d[live]) < PRESENCE_EMPTY_COUNTS:
            states[white] = ABSENT  # no contrast and sensor-noise level: empty all along
    states[dead] = NO_SIGNAL
    states = _debounce_kernel(np.ascontiguousarray(states), PRESENCE_MIN_RUN)
    t, v = _change_points(states, PRESENCE_WINDOW_S, duration, NO_SIGNAL)
    return Presence(t, v, states.astype(np.uint8), PRESENCE_WINDOW_S)


def presence(signal: np.ndarray, fs: float) -> Presence:
    """Bed presence (80 present, 65 away, 78 no signal) of a bed-sensor signal.

    Parameters
    ----------
    signal : array_like
        Raw sensor samples (BCG ``normal``), 1-D, finite.
    fs : float
        Sampling rate in Hz (at least 5 Hz).

    Returns
    -------
    Presence
        Change points (first at 0 s, last ``(duration, 78)`` marking the end of data) and
        the state of every 5 s window. A signal shorter than 5 s is all "no signal".

    Raises
    ------
    SignalError
        For a non-1-D or non-real signal, a non-finite sample, a float64 sample beyond
        +-1e100 (energies square the samples), or a bad ``fs`` (a real number from
        5 Hz to 1e6 Hz).

    Notes
    -----
    Threshold logic, per 5 s window of the 10 Hz low-rate view (mains-free at 140 Hz):

    1. ``b`` = standard deviation of the residual from a straight line fitted to the
       window (breathing, heartbeat, movement; the slow drift of an empty sensor is
       removed by the line); ``d`` = standard deviation of the first difference.
    2. An empty bed leaves white sensor noise, for which ``b / d`` is about 0.71; a
       breathing person gives ``b / d`` well above 1. A window is *white* when
       ``b < d``.
    3. Empty-bed floor: the lowest 3-window running median of ``d`` over white windows
       (an empty bed lasts minutes; an isolated quiet window in bed does not). Only
       when the median ``d`` of the recording lies at least 20 dB above that floor is
       anyone away: then a window is away (65) when it is white and its ``d`` is
       within 12 dB of the floor. Movement in bed can be white, and a
       heartbeat-dominated signal can be nearly white, but both are far louder than the
       empty sensor, so they stay present. Without that contrast the recording is
       one state: away (its white windows) only when its median ``d`` is under 5 ADC
       counts (an empty Beddit-like uint16 sensor), else present.
    4. A window whose samples do not change (or that the sensor status marks unclear:
       clipped or flat) has no signal (78).
    5. Runs shorter than 30 s (6 windows) take the state of the run before them.
    """
    fs_f = _check_fs(fs)
    x = _coerce_signal(signal)
    low, fs_low, _ = _lowrate(x, fs_f)
    return _presence_from_low(low, fs_low)


def actigram(
    movements: Movements,
    present: Presence,
    *,
    duration: float,
    epoch_s: float = 60.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Movements per epoch while present (the Beddit ``actigram`` track).

    Parameters
    ----------
    movements : Movements
        From :func:`movement_bursts`.
    present : Presence
        From :func:`presence`.
    duration : float
        Length of the recording, s.
    epoch_s : float
        Epoch length, s (Beddit: 60).

    Returns
    -------
    epoch_starts : numpy.ndarray
        Start of each reported epoch, s (float64).
    counts : numpy.ndarray
        Number of movements starting in the epoch (float32). Only epochs in which the
        sleeper is present at least half the time are reported.

    Raises
    ------
    SignalError
        For ``movements`` / ``present`` that are not results of :func:`movement_bursts`
        / :func:`presence`, a negative or non-finite ``duration``, a non-positive
        ``epoch_s`` or more than 10**8 epochs.
    """
    check_instance(movements, Movements, "movements")
    check_instance(present, Presence, "present")
    if not (np.isfinite(real_number(duration, "duration")) and duration >= 0):
        raise SignalError(f"duration must be a finite number of s >= 0, got {duration!r}")
    if not (np.isfinite(real_number(epoch_s, "epoch_s")) and epoch_s > 0):
        raise SignalError(f"epoch_s must be a positive number of s, got {epoch_s!r}")
    check_bins(duration, epoch_s, "duration / epoch_s")
    n_ep = int(duration // epoch_s)
    if n_ep == 0:
        return np.empty(0), np.empty(0, dtype=np.float32)
    per = max(1, round(epoch_s / present.window_s))
    ws = present.window_states
    cover = np.zeros(n_ep)
    m = min(len(ws) // per, n_ep)
    if m:
        cover[:m] = (ws[: m * per].reshape(m, per) == PRESENT).mean(axis=1)
    k = np.floor(movements.starts / epoch_s).astype(np.int64)
    k = k[(k >= 0) & (k < n_ep)]
    counts = np.bincount(k, minlength=n_ep).astype(np.float32)
    keep = cover >= 0.5
    return np.flatnonzero(keep) * float(epoch_s), counts[keep]
