"""Snoring events from the Beddit ``noise`` track (loudness per 100 ms), locked to breathing.

Snoring is loud sound that repeats with the breathing cycle: a burst in each cycle, quiet
in between. A snoring event (``snoring_events`` item ``[t, length_s]``) is a run of such
cycles.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._rank_filter import median_filter
from ._track_kernels import _check_fs, _cycle_levels_kernel, _runs_kernel
from ._validate import check_instance
from .errors import SignalError, SleepSignalWarning
from .respiration import Breathing

__all__ = ["Snoring", "detect_snoring"]

#: A cycle snores when its loudest 100 ms is this many dB above the quiet baseline and
#: above the quietest part of the same cycle (the burst is locked to the cycle).
SNORE_DB = 6.0
#: The loud part (above the midpoint level) covers at most this fraction of the cycle:
#: a snore is a burst, not a steady noise.
MAX_LOUD_FRACTION = 0.7
#: An event needs this many snoring cycles; it tolerates this many quiet cycles inside.
MIN_CYCLES = 3
MAX_GAP_CYCLES = 1
#: Two cycles are consecutive when the second starts within this many s of the first's end.
CONTIGUITY_S = 1.0
#: A cycle with missing noise values is judged on its valid ones when at least this
#: fraction of its samples (and at least 3) is valid; otherwise it cannot snore.
MIN_VALID_FRACTION = 0.5
#: A valid value this many dB below the room level (the lowest median of its own 30 s
#: block and its two neighbours) is a dropout, missing too: a room does not fall that
#: far below its own level for one window (the simulator's quiet samples reach ~4 dB
#: below it), and one such value would otherwise set a cycle's quiet level, its
#: midpoint falls and the cycle looks steadily loud.
DROPOUT_DB = 12.0
#: Samples (at 10 Hz) of the running median a dropout must also fall DROPOUT_DB below:
#: dropouts are isolated windows, while the quiet phase of a cycle that is loud for most
#: of its length (steady snoring, up to MAX_LOUD_FRACTION) is a run of samples whose
#: own neighbourhood is quiet.
DROPOUT_RUN = 11
#: Noise visited at a time, s (memory only: the events do not depend on it). A day of
#: 10 Hz loudness took ~50-70 MB of temporaries (a week's peak RSS); 3 h take ~8 MB.
SLICE_S = 3 * 3600.0
#: A noise track looks like a level in dB when the median of its valid values lies in
#: this range, dB (see :func:`detect_snoring`, Notes 7: a guess, kept wide).
LEVEL_MEDIAN_DB = (5.0, 150.0)
#: ... and its valid values' 5th to 95th percentile span at most this many dB.
LEVEL_SPREAD_DB = 60.0
#: ... and at least this many dB: a room's level from 100 ms windows varies (the
#: simulator's nights: 3.66 dB at the least); 0.5 is 7 times under that and 5 bins of the
#: check's 0.1 dB histogram, so only a (nearly) constant track fails it.
LEVEL_MIN_SPREAD_DB = 0.5
#: Histogram of the units check (:func:`_summarise_noise`): bin width and top, dB.
_LEVEL_BIN_DB = 0.1
_LEVEL_TOP_DB = 256.0
#: ... and over the top and under 1 (not a dB level: for the message), bins of 0.01 in
#: log10 (2.3 %) from 1e-40 to 1e40, beyond which a percentile is the maximum.
_LEVEL_LOG_BIN = 0.01
_LEVEL_LOG_END = 40.0
_LEVEL_BIN_MAX = 2.0**62  # the bin of a percentile beyond 1e40 (any: over every limit)


class Snoring(NamedTuple):
    """Result of :func:`detect_snoring`.

    Attributes
    ----------
    starts : numpy.ndarray
        Event start (start of its first snoring cycle), s from the first sample.
    lengths : numpy.ndarray
        Event length (to the end of its last snoring cycle), s.
    cycle_snores : numpy.ndarray
        Bool per input breathing cycle: whether that cycle snored.
    invalid_samples : int
        Number of noise samples that were NaN, infinite, zero or negative (treated as
        missing).
    dropout_samples : int
        Number of valid noise samples taken as dropouts (more than :data:`DROPOUT_DB`
        below the room level and their own neighbourhood; treated as missing), over the
        whole track whether or not a breathing cycle covers them; 0 when not
        ``searched``.
    searched : bool
        Whether the events were searched for. False when the track is empty, has no
        valid value or does not look like a level in dB (see :func:`detect_snoring`,
        Notes 7): the events are then empty because snoring is unknown, not absent.
    """

    starts: np.ndarray
    lengths: np.ndarray
    cycle_snores: np.ndarray
    invalid_samples: int
    dropout_samples: int
    searched: bool


def _level(a: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """``a[lo:hi]`` as float64 with NaN where a value is missing, and where that is."""
    y = a[lo:hi].astype(np.float64)
    bad = ~((y > 0) & (y < np.inf))  # NaN, infinite, zero or negative (NaN compares False)
    y[bad] = np.nan
    return y, bad


def _row_percentile(rows: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(rows, q, axis=1)`` (linear method) of a float64 2-D array without
    NaN, with one partition position instead of numpy's three (~3x faster).

    The two order statistics numpy interpolates between are the upper one (the
    partition position) and the largest value before it; the weight and the
    interpolation are numpy's (``_lerp``: from the upper value when the weight is at
    least 0.5). Falls back to ``np.percentile`` where that shortcut does not apply.
    """
    n = rows.shape[1] if rows.ndim == 2 else 0
    vi = (n - 1) * np.true_divide(q, 100)
    lo = int(np.floor(vi))
    t = float(vi - np.floor(vi))
    if rows.dtype != np.float64 or len(rows) == 0 or n < 2 or t == 0.0 or lo + 1 >= n:
        return np.asarray(np.percentile(rows, q, axis=1), dtype=np.float64)
    part = np.partition(rows, lo + 1, axis=1)
    b = part[:, lo + 1]
    a = part[:, : lo + 1].max(axis=1)
    d = b - a
    return np.asarray(b - d * (1 - t) if t >= 0.5 else a + d * t)


def detect_snoring(noise: np.ndarray, noise_fs: float, breathing: Breathing) -> Snoring:
    """Snoring events: runs of breathing cycles that each carry a loud burst.

    Parameters
    ----------
    noise : array_like
        Loudness level per window in dB (Beddit ``noise`` track), 1-D. The reference is
        arbitrary but below the quietest room, so a measured level is > 0 (the
        simulator's room floor is 28-36 dB); NaN, infinite, zero and negative values
        are missing.
    noise_fs : float
        Rate of ``noise`` in Hz (Beddit: 10).
    breathing : Breathing
        Cycles from :func:`sleepsignal.respiration.detect_breathing`, in the same time
        base as ``noise`` (s from its first sample).

    Returns
    -------
    Snoring
        Events in time order (empty when there are no cycles or no snoring; empty with
        ``searched`` False when the track cannot tell, see Notes 7).

    Raises
    ------
    SignalError
        For a non-1-D or non-real ``noise``, a ``noise_fs`` that is not a finite rate of
        1 Hz to 1e6 Hz, or a ``breathing`` that is not a :class:`Breathing`.

    Warns
    -----
    SleepSignalWarning
        When ``noise`` holds NaN, infinite, zero or negative values: they are treated
        as missing (see Notes, 5). When the valid values do not look like a level in
        dB (Notes 7): once, with what was found; snoring is then not searched.

    Notes
    -----
    1. Loudness is a level in dB; missing values stay NaN.
    2. Quiet baseline: the 20th percentile of each 30 s (every other sample), then a
       running median over 10 such blocks (5 min), so a long snoring run does not
       lift it.
    3. For each breathing cycle: its loudest sample must be 6 dB above the baseline and
       6 dB above the quietest sample of the cycle (the sound swells and falls within
       the cycle), and the samples above the midpoint level must cover at most 70 % of
       the cycle. Such a cycle snores.
    4. An event is a run of at least 3 snoring cycles, in consecutive cycles (no gap of
       more than 1 s between them), tolerating one quiet cycle inside.
    5. Missing values (NaN, infinite, zero or negative: zero is the level of the
       arbitrary reference, below any room, i.e. a dropped or zero-filled window, not a
       quiet one) are left out: a 30 s block's percentile is taken over its valid
       values (a block with none takes the baseline of its neighbours), and a cycle is
       judged by step 3 on its valid samples (the loud fraction is a fraction of them)
       when at least half of its samples, and at least 3, are valid; a cycle with
       fewer cannot snore, so a gap of missing values longer than about two cycles
       ends an event. A sprinkling of missing values thus changes the events little
       (simulated nights, one value in 120 missing: time-weighted F1 within 0.01 of the
       clean night's, ``tests/test_snoring.py``). A track with no valid value is not
       searched (``searched`` False; the warning says so).
    6. Dropouts: a valid value more than 12 dB (:data:`DROPOUT_DB`) below the room
       level (the lowest median of its 30 s block and the two neighbouring blocks) and
       more than 12 dB below the running median of its 11 samples
       (:data:`DROPOUT_RUN`: a dropout is isolated, the quiet phase of a cycle that is
       loud for most of its length is a run) is
       missing too in step 3 (the spec gives the track no unit or floor, so a dropped
       window may read a small positive number rather than 0). They are counted in
       ``dropout_samples`` (over the whole track), not in ``invalid_samples``, and do
       not warn: it is a rule on valid values, like the baseline, and
       :func:`~sleepsignal.tracks.session_tracks` says the count in a note. A room that
       falls quiet keeps its values (the quieter neighbour
       block's median is the reference); the quiet samples of the simulated 1 h nights
       reach 4 dB below that level, not 12. The median is the room's level while less
       than half of a block drops out; beyond that the dropouts count as quiet.
    7. Units: the rules are absolute dB differences, so the track must be a level in
       dB. Before step 1 the valid values are checked (a guess, as no real Beddit
       noise track was available: kept wide): the track is taken for a level in dB
       when its valid values are not all equal, their median lies in 5-150 dB
       (:data:`LEVEL_MEDIAN_DB`; the simulator's rooms: 28-36 dB) and their 5th to 95th
       percentiles lie at most 60 dB apart (:data:`LEVEL_SPREAD_DB`; the simulator's
       nights: at most 23 dB) and at least 0.5 dB (:data:`LEVEL_MIN_SPREAD_DB`; the
       simulator's nights: at least 3.66 dB; a track constant but for a few values is
       not a room's level). The percentiles are those of every valid value, to
       0.1 dB (a histogram that day slices add up: the verdict does not depend on
       where a sample falls, nor on how the track is cut), and the limits are counted
       in whole 0.1 dB bins (a spread of 600 bins is 60 dB wherever it lies; a median
       in the bin of 150 dB, 150-150.1, is in range). Otherwise
       (a linear amplitude of 0-1, power or raw counts in the thousands, a constant
       track) one warning says what was found and snoring is not searched: empty
       events with ``searched`` False, an unknown rather than a silent wrong answer (a
       linear amplitude converts with ``20 * np.log10(x)``, a power with
       ``10 * np.log10(x)``). A linear track that happens to look like dB (an amplitude
       in the tens with little spread) passes.
    """
    nfs = _check_fs(noise_fs, minimum=1.0, name="noise_fs")
    check_instance(breathing, Breathing, "breathing")
    a = _checked_noise(noise)
    summary = _summarise_noise(lambda lo, hi: a[lo:hi], len(a), nfs)
    for message in _noise_warnings(summary):
        warnings.warn(message, SleepSignalWarning, stacklevel=2)
    if not _searchable(summary):
        return _not_searched(breathing, summary.n_bad)
    snores, n_dropout = _cycle_snores(a, nfs, breathing, summary.n_bad)
    return _snoring_events(breathing, snores, summary.n_bad, n_dropout)


def _checked_noise(noise: np.ndarray) -> np.ndarray:
    """``noise`` as an array, or :class:`SignalError` when it is not 1-D and real (the
    check of every path that reads a whole noise track: one piece and day slices)."""
    a = np.asarray(noise)
    if a.ndim != 1 or a.dtype.kind not in "uif":
        raise SignalError(
            f"noise must be a 1-D array of real loudness values, got shape {a.shape} "
            f"and dtype {a.dtype}"
        )
    return a


def _steps(nfs: float) -> tuple[int, int]:
    """Baseline block and slice length, noise samples (see :data:`SLICE_S`)."""
    block = max(1, round(30.0 * nfs))
    return block, block * max(1, round(SLICE_S * nfs / block))


def _count_invalid(a: np.ndarray, nfs: float) -> int:
    """Noise values that are NaN, infinite, zero or negative (missing)."""
    step = _steps(nfs)[1]
    n_bad = 0
    for lo in range(0, len(a), step):
        part = a[lo : lo + step]  # in its own dtype: the same test as _level's
        n_bad += len(part) - int(np.count_nonzero(_valid(part)))
    return n_bad


class _NoiseSummary(NamedTuple):
    """What the checks of a whole noise track need (:func:`_summarise_noise`)."""

    n: int  # values
    n_bad: int  # NaN, infinite, zero or negative
    low: float  # lowest and highest valid value (NaN when there is none)
    high: float
    p5: float  # percentiles of all valid values, to 0.1 dB (or NaN; see _summarise_noise)
    p50: float
    p95: float
    b5: int = 0  # ... and the 0.1 dB bin of each, floor(value / 0.1): the limits compare
    b50: int = 0  # these whole bins (bin centres' float differences put the same number
    b95: int = 0  # of bins on either side of a limit depending on where they lie)


def _summarise_noise(read: Callable[[int, int], np.ndarray], n: int, nfs: float) -> _NoiseSummary:
    """The :class:`_NoiseSummary` of a noise track of ``n`` values at ``nfs`` Hz read a
    slice at a time (``read(lo, hi)``: values ``lo`` to ``hi``; the same slices for a
    whole array and a day-sliced stream, so both give the same summary).

    Every valid value counts: each slice adds its valid values to a histogram of
    :data:`_LEVEL_BIN_DB` wide bins from 0 to :data:`_LEVEL_TOP_DB` plus one overflow
    bin (counts add up across slices, so the verdict does not depend on how the track
    is cut, nor on where any sample falls; memory is bounded). A percentile is the
    centre of the bin holding its rank (the ``lower`` rank of :func:`numpy.percentile`).
    A rank over the top makes the verdict "implausible" either way (a median over 150
    dB, or a 5-95 % spread over 60 dB, as :data:`_LEVEL_TOP_DB` is over 150 + 60); its
    value, for the message, comes from log-spaced bins over the top (2.3 %), or is the
    highest value beyond 1e40. Values under 1 (not a room's level: a linear amplitude,
    a dropout) go to log-spaced bins from 1e-40 to 1 as well, so that the message gives
    a linear track's median and spread (0.1 dB bins would put 0-0.1 in one). The lowest
    and highest valid values are exact."""
    step = _steps(nfs)[1]
    n_bins = round(_LEVEL_TOP_DB / _LEVEL_BIN_DB)
    log_top = np.log10(_LEVEL_TOP_DB)
    n_log = round((_LEVEL_LOG_END - log_top) / _LEVEL_LOG_BIN)
    n_under = round(_LEVEL_LOG_END / _LEVEL_LOG_BIN)  # log bins 1e-40 .. 1 (under 1 dB)
    # bins: [under 1, log] [0 .. 256 dB, 0.1 dB; the ten under 1 stay empty] [over, log]
    counts = np.zeros(n_under + n_bins + n_log + 1, np.int64)
    lin = counts[n_under : n_under + n_bins + 1]  # views: the last one is the overflow
    low, high = np.inf, -np.inf
    n_bad = 0
    for lo in range(0, n, step):
        part = np.asarray(read(lo, min(n, lo + step)))
        ok = _valid(part)
        n_ok = int(np.count_nonzero(ok))
        n_bad += len(part) - n_ok
        vals = part if n_ok == len(part) else part[ok]  # no copy of a clean slice
        if not len(vals):
            continue
        part_low, part_high = float(vals.min()), float(vals.max())
        low, high = min(low, part_low), max(high, part_high)
        # bin index, in the values' own float type (float32 tracks: half the memory
        # traffic of float64; the same cut for any way the track is read)
        scaled = (
            vals * vals.dtype.type(1 / _LEVEL_BIN_DB)
            if vals.dtype.kind == "f"
            else vals / _LEVEL_BIN_DB
        )
        if part_high >= _LEVEL_TOP_DB:  # else every index is under n_bins already
            np.minimum(scaled, n_bins, out=scaled)
        lin += np.bincount(scaled.astype(np.intp), minlength=n_bins + 1)
        # not a dB room (or a dropout): values under 1 and over the top, log bins
        if part_low < 1.0:
            under = np.log10(vals[scaled < 1 / _LEVEL_BIN_DB].astype(np.float64))
            lin[: round(1 / _LEVEL_BIN_DB)] = 0  # held only this slice's: moved
            j = np.clip((under + _LEVEL_LOG_END) / _LEVEL_LOG_BIN, 0, n_under - 1)
            counts[:n_under] += np.bincount(j.astype(np.intp), minlength=n_under)
        if part_high >= _LEVEL_TOP_DB:
            over = np.log10(vals[vals >= _LEVEL_TOP_DB].astype(np.float64))
            j = np.minimum((over - log_top) / _LEVEL_LOG_BIN, n_log).astype(np.intp)
            lin[n_bins] -= len(j)
            counts[n_under + n_bins :] += np.bincount(j, minlength=n_log + 1)
    m = n - n_bad
    if m == 0:
        return _NoiseSummary(n, n_bad, np.nan, np.nan, np.nan, np.nan, np.nan)
    cum = np.cumsum(counts)

    def value(b: int) -> float:
        if b < n_under:
            return float(10 ** ((b + 0.5) * _LEVEL_LOG_BIN - _LEVEL_LOG_END))
        b -= n_under
        if b < n_bins:
            return (b + 0.5) * _LEVEL_BIN_DB
        if b < n_bins + n_log:
            return float(10 ** (log_top + (b - n_bins + 0.5) * _LEVEL_LOG_BIN))
        return high

    def db_bin(b: int) -> int:  # the 0.1 dB bin (log bins: the one of their centre)
        if n_under <= b < n_under + n_bins:
            return b - n_under
        return int(min(value(b) / _LEVEL_BIN_DB, _LEVEL_BIN_MAX))  # (1e308 / 0.1: inf)

    ranks = [int(np.searchsorted(cum, (q * (m - 1)) // 100, side="right")) for q in (5, 50, 95)]
    p5, p50, p95 = (value(b) for b in ranks)
    b5, b50, b95 = (db_bin(b) for b in ranks)
    return _NoiseSummary(n, n_bad, low, high, p5, p50, p95, b5, b50, b95)


def _valid(part: np.ndarray) -> np.ndarray:
    """Where the values of ``part`` (in their own dtype) are valid: finite and > 0."""
    return (part > 0) & (part < np.inf) if part.dtype.kind == "f" else part > 0


def _level_problem(s: _NoiseSummary) -> str | None:
    """Why the valid values of a track do not look like a level in dB (see
    :func:`detect_snoring`, Notes 7), or None when they do or there is none."""
    if s.n_bad == s.n:
        return None  # nothing to judge: no valid value (the invalid-values warning)
    lo_db, hi_db = LEVEL_MEDIAN_DB
    # limits in whole bins of the histogram (see _NoiseSummary.b5)
    median_ok = round(lo_db / _LEVEL_BIN_DB) <= s.b50 <= round(hi_db / _LEVEL_BIN_DB)
    spread = s.b95 - s.b5
    why = []
    if s.low == s.high:
        why.append(f"constant at {s.low:g}")
    elif not median_ok:
        why.append(f"median {_fmt(s.p50)} outside {lo_db:g}-{hi_db:g} dB")
    if spread > round(LEVEL_SPREAD_DB / _LEVEL_BIN_DB):
        why.append(f"5-95 % spread {_fmt(s.p95 - s.p5)} over {LEVEL_SPREAD_DB:g} dB")
    elif s.low != s.high and median_ok and spread < round(LEVEL_MIN_SPREAD_DB / _LEVEL_BIN_DB):
        why.append(
            f"nearly constant: 5-95 % spread {_fmt(s.p95 - s.p5)} under {LEVEL_MIN_SPREAD_DB:g} dB"
        )
    if not why:
        return None
    return (
        f"noise track does not look like a loudness level in dB ({'; '.join(why)}): found "
        f"{s.n - s.n_bad} valid values from {s.low:.4g} to {s.high:.4g}, median "
        f"{_fmt(s.p50)}, 5th-95th percentile {_fmt(s.p5)}-{_fmt(s.p95)}; expected a level in "
        f"dB that varies, with a median of {lo_db:g}-{hi_db:g} (a room: the simulator's "
        f"is 28-36) and a 5-95 % spread of {LEVEL_MIN_SPREAD_DB:g}-{LEVEL_SPREAD_DB:g} dB. "
        "Snoring is not computed (snoring_events left out: unknown, not zero): convert a "
        "linear amplitude with 20*log10(x), a power with 10*log10(x)"
    )


def _fmt(v: float) -> str:
    """A percentile of :func:`_summarise_noise` for a message (3 digits, whole from 100:
    they are histogram bins, 0.1 dB wide or 2.3 % over 256)."""
    return f"{v:.0f}" if abs(v) >= 100 and abs(v) < 1e15 else f"{v:.3g}"


def _searchable(s: _NoiseSummary) -> bool:
    """Whether snoring can be searched in a track of this summary: some valid value, and
    the valid values look like a level in dB."""
    return s.n_bad < s.n and _level_problem(s) is None


def _noise_warnings(s: _NoiseSummary) -> list[str]:
    """The warnings of a noise track, in the order :func:`detect_snoring` emits them
    (the day slices of :mod:`sleepsignal._track_slices` emit the same)."""
    out = [] if s.n_bad == 0 else [_invalid_message(s.n_bad, s.n)]
    problem = _level_problem(s)
    return out if problem is None else [*out, problem]


def _invalid_message(n_bad: int, n: int) -> str:
    message = (
        f"noise track: {n_bad} of {n} values are NaN, infinite or negative (or zero, the "
        "dB reference, below any room); they are treated as missing (a breathing cycle "
        "is judged on its valid values, and cannot snore when fewer than half are valid)"
    )
    if n_bad == n:
        message += (
            "; no valid value is left: snoring is not computed (snoring_events left out: "
            "unknown, not zero)"
        )
    return message


def _snoring_notes(snoring: Snoring, n: int) -> list[str]:
    """The session-track notes of a snoring result of a noise track of ``n`` values
    beyond its warnings: the dropouts, and why the events are absent when not searched."""
    notes = []
    if snoring.dropout_samples:
        notes.append(
            f"noise track: {snoring.dropout_samples} of {n} values are dropouts (more than "
            f"{DROPOUT_DB:g} dB below the room level and their own {DROPOUT_RUN}-value "
            "neighbourhood); they are treated as missing, like NaN"
        )
    if not snoring.searched:
        why = (
            "the noise track is empty"
            if n == 0
            else "no valid noise value"
            if snoring.invalid_samples == n
            else "the noise track does not look like a level in dB"
        )
        notes.append(f"snoring_events omitted: {why}")
    return notes


def _not_searched(breathing: Breathing, n_bad: int) -> Snoring:
    """The result when snoring cannot be searched (``searched`` False)."""
    n_cyc = len(breathing.starts)
    return Snoring(np.empty(0), np.empty(0), np.zeros(n_cyc, dtype=bool), n_bad, 0, False)


def _dropout_floor(q: np.ndarray) -> np.ndarray:
    """Per 30 s block, the level below which a value is a dropout: the lowest of the
    block medians ``q`` of the block and its two neighbours (a room that falls quiet near
    a block's end keeps its quiet values), minus :data:`DROPOUT_DB`. A median, not the
    baseline's 20th percentile: it stays the room's level while up to half of a block's
    values drop out."""
    near = q.copy()
    if len(q) > 1:
        np.minimum(near[1:], q[:-1], out=near[1:])
        np.minimum(near[:-1], q[1:], out=near[:-1])
    return near - DROPOUT_DB


def _cycle_snores(
    a: np.ndarray,
    nfs: float,
    breathing: Breathing,
    n_bad: int,
    count: tuple[int, int] | None = None,
) -> tuple[np.ndarray | None, int]:
    """Steps 1-3 and 6 of :func:`detect_snoring`: whether each cycle snores (None: no
    cycle can, as there are no cycles or no valid noise), and how many values of
    ``a[count[0]:count[1]]`` (all of ``a`` when None) are dropouts. Every number is
    computed per 30 s block, per 5 min of blocks, per 11 values or per cycle, so the day
    slices of a long recording (:mod:`sleepsignal._track_slices`) call it per slice
    with an hour of context and count the dropouts of the slice's core."""
    # The noise track is visited a slice at a time (SLICE_S, whole 30 s blocks), so a
    # week of loudness (6 M values) never holds more than a slice of float64
    # temporaries; every number below is computed per block or per cycle, so the result
    # does not depend on the slice boundaries (a cycle is taken with the slice its start
    # falls in).
    block, step = _steps(nfs)
    n = len(a)
    n_cyc = len(breathing.starts)
    if n == 0 or n_bad == n:
        return None, 0
    nb = -(-n // block)
    q = np.empty(nb)
    qm = np.empty(nb)  # block medians: the dropout reference (see _dropout_floor)
    for lo in range(0, n, step):
        logy = _level(a, lo, lo + step)[0]  # a level in dB, NaN where missing
        k = len(logy)
        nbk = -(-k // block)
        padded = np.full(nbk * block, np.nan)
        padded[:k] = logy
        blocks = padded.reshape(nbk, block)
        has_nan = np.isnan(blocks).any(axis=1)
        qk = np.empty(nbk)
        mk = np.empty(nbk)
        # every other sample is plenty for a 20th percentile of 300 values
        qk[~has_nan] = _row_percentile(blocks[~has_nan][:, ::2], 20.0)
        mk[~has_nan] = _row_percentile(blocks[~has_nan][:, ::2], 50.0)
        if has_nan.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
                qk[has_nan] = np.nanpercentile(blocks[has_nan], 20, axis=1)
                mk[has_nan] = np.nanpercentile(blocks[has_nan], 50, axis=1)
        q[lo // block : lo // block + nbk] = qk
        qm[lo // block : lo // block + nbk] = mk
    good = ~np.isnan(q)
    if not good.any():
        return None, 0
    q = np.interp(np.arange(nb), np.flatnonzero(good), q[good])
    qm = np.interp(np.arange(nb), np.flatnonzero(good), qm[good])
    base_block = median_filter(q, min(10, nb))  # per 30 s block
    floor_block = _dropout_floor(qm)

    i0 = np.clip(np.round(breathing.starts * nfs).astype(np.int64), 0, n)
    i1 = np.clip(np.round((breathing.starts + breathing.lengths) * nfs).astype(np.int64), 0, n)
    thr = SNORE_DB
    snores = np.zeros(n_cyc, dtype=bool)
    ok_idx = np.flatnonzero((i1 - i0) >= 3)
    day = i0[ok_idx] // step
    count_lo, count_hi = (0, n) if count is None else count
    n_dropout = 0
    h = DROPOUT_RUN // 2
    for lo in range(0, n, step):
        # every slice, cycles or not: the dropouts are counted over the whole track
        sel = ok_idx[day == lo // step]
        c0, c1 = i0[sel], i1[sel]
        # cycles do not overlap, so [c0, c1) pairs interleave into one increasing index;
        # the last cycle may end in the next slice
        own = min(n, lo + step)
        hi = max(own, int(c1.max())) if len(sel) else own
        # dropouts (far below the room level, and far below their own neighbourhood, so
        # isolated: the quiet phase of steady snoring is a run, not a dropout) are
        # missing too; lo starts a block, and only this slice's blocks are spread to
        # samples (a slice of temporaries); the running median sees DROPOUT_RUN // 2
        # samples beyond the slice, so it does not depend on where slices start
        c0x, c1x = max(0, lo - h), min(n, hi + h)
        yx = _level(a, c0x, c1x)[0]
        y = yx[lo - c0x : hi - c0x]
        b0 = lo // block
        floor = np.repeat(floor_block[b0 : b0 - (-len(y) // block)], block)[: len(y)]
        below = np.flatnonzero(y < floor)  # few: the running median only there
        if len(below):
            padded = np.concatenate([np.full(h, np.nan), yx, np.full(h, np.nan)])
            at = below + (lo - c0x)  # in yx; window yx[at - h : at + h + 1]
            # centred on a valid value, so no window is all NaN (no nanmedian warning)
            local = np.nanmedian(padded[at[:, None] + np.arange(2 * h + 1)], axis=1)
            gone = below[y[below] < local - DROPOUT_DB]
            y[gone] = np.nan
            # counted once: in the slice they fall in (own), within the range asked
            g = gone + lo
            n_dropout += int(np.count_nonzero((g < own) & (g >= count_lo) & (g < count_hi)))
        if len(sel) == 0:
            continue
        ext = np.append(y, 0.0)
        # per cycle, over its valid samples: loudest, quietest, number missing, fraction
        # above the midpoint of the two, first loudest sample (one kernel pass)
        top, bottom, n_missing, loud, arg = _cycle_levels_kernel(
            ext, np.ascontiguousarray(c0 - lo), np.ascontiguousarray(c1 - lo)
        )
        # baseline at the loudest sample of each cycle
        at = np.clip(arg + lo, 0, n - 1) // block
        n_valid = (c1 - c0) - n_missing
        snore = (
            (n_valid >= 3)
            & (n_valid >= MIN_VALID_FRACTION * (c1 - c0))
            & (top - base_block[at] >= thr)
            & (top - bottom >= thr)
            & (loud <= MAX_LOUD_FRACTION)
        )
        snores[sel] = snore
    return (snores if n_cyc else None), n_dropout


def _snoring_events(
    breathing: Breathing, snores: np.ndarray | None, n_bad: int, n_dropout: int
) -> Snoring:
    """Step 4 of :func:`detect_snoring`: the events of the per-cycle flags."""
    n_cyc = len(breathing.starts)
    if snores is None:
        return Snoring(
            np.empty(0), np.empty(0), np.zeros(n_cyc, dtype=bool), n_bad, n_dropout, True
        )
    # runs of consecutive cycles: break the sequence where cycles are not contiguous
    ends = breathing.starts + breathing.lengths
    flags = snores.astype(np.uint8)
    gaps = np.flatnonzero(breathing.starts[1:] - ends[:-1] > CONTIGUITY_S) + 1
    # one kernel call: MAX_GAP_CYCLES + 1 false items inserted at every break
    pos = np.arange(n_cyc) + (MAX_GAP_CYCLES + 1) * np.searchsorted(
        gaps, np.arange(n_cyc), side="right"
    )
    spread = np.zeros(int(pos[-1]) + 1, dtype=np.uint8)
    spread[pos] = flags
    f, last = _runs_kernel(spread, MAX_GAP_CYCLES, MIN_CYCLES)
    first_c = np.searchsorted(pos, f)
    last_c = np.searchsorted(pos, last)
    starts_out = breathing.starts[first_c]
    lengths_out = ends[last_c] - starts_out
    return Snoring(
        np.asarray(starts_out, dtype=np.float64),
        np.asarray(lengths_out, dtype=np.float64),
        snores,
        n_bad,
        n_dropout,
        True,
    )
