"""Snoring events from the Beddit ``noise`` track (loudness per 100 ms), locked to breathing.

Snoring is loud sound that repeats with the breathing cycle: a burst in each cycle, quiet
in between. A snoring event (``snoring_events`` item ``[t, length_s]``) is a run of such
cycles.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from ._rank_filter import median_filter
from ._track_kernels import _check_fs, _cycle_levels_kernel, _runs_kernel
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
    """

    starts: np.ndarray
    lengths: np.ndarray
    cycle_snores: np.ndarray
    invalid_samples: int


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
        Events in time order (empty when there are no cycles or no snoring).

    Raises
    ------
    SignalError
        For a non-1-D or non-real ``noise`` or a bad ``noise_fs``.

    Warns
    -----
    SleepSignalWarning
        When ``noise`` holds NaN, infinite, zero or negative values: they are treated
        as missing (see Notes, 5).

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
       clean night's, ``tests/test_snoring.py``).
    6. Dropouts: a valid value more than 12 dB (:data:`DROPOUT_DB`) below the room
       level (the lowest median of its 30 s block and the two neighbouring blocks) and
       more than 12 dB below the running median of its 11 samples
       (:data:`DROPOUT_RUN`: a dropout is isolated, the quiet phase of a cycle that is
       loud for most of its length is a run) is
       missing too in step 3 (the spec gives the track no unit or floor, so a dropped
       window may read a small positive number rather than 0). It is not counted in
       ``invalid_samples`` and does not warn: it is a rule on valid values, like the
       baseline. A room that falls quiet keeps its values (the quieter neighbour
       block's median is the reference); the quiet samples of the simulated 1 h nights
       reach 4 dB below that level, not 12. The median is the room's level while less
       than half of a block drops out; beyond that the dropouts count as quiet. The
       track is assumed to be a level in dB (the simulator's; the rules are absolute
       dB differences): a linear-power track finds neither snoring nor dropouts.
    """
    nfs = _check_fs(noise_fs, minimum=1.0)
    a = _checked_noise(noise)
    n_bad = _count_invalid(a, nfs)
    if n_bad:
        warnings.warn(_invalid_message(n_bad, len(a)), SleepSignalWarning, stacklevel=2)
    return _snoring_events(breathing, _cycle_snores(a, nfs, breathing, n_bad), n_bad)


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
        ok = (part > 0) & (part < np.inf) if part.dtype.kind == "f" else part > 0
        n_bad += len(part) - int(np.count_nonzero(ok))
    return n_bad


def _invalid_message(n_bad: int, n: int) -> str:
    return (
        f"noise track: {n_bad} of {n} values are NaN, infinite or negative (or zero, the "
        "dB reference, below any room); they are treated as missing (a breathing cycle "
        "is judged on its valid values, and cannot snore when fewer than half are valid)"
    )


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


def _cycle_snores(a: np.ndarray, nfs: float, breathing: Breathing, n_bad: int) -> np.ndarray | None:
    """Steps 1-3 of :func:`detect_snoring`: whether each cycle snores (None: no cycle
    can, as there are no cycles or no valid noise). Every number is computed per 30 s
    block, per 5 min of blocks or per cycle, so the day slices of a long recording
    (:mod:`sleepsignal._track_slices`) call it per slice with an hour of context."""
    # The noise track is visited a slice at a time (SLICE_S, whole 30 s blocks), so a
    # week of loudness (6 M values) never holds more than a slice of float64
    # temporaries; every number below is computed per block or per cycle, so the result
    # does not depend on the slice boundaries (a cycle is taken with the slice its start
    # falls in).
    block, step = _steps(nfs)
    n = len(a)
    n_cyc = len(breathing.starts)
    if n_cyc == 0 or n == 0 or n_bad == n:
        return None
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
        return None
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
    for d in np.unique(day):
        sel = ok_idx[day == d]
        lo = int(d) * step
        c0, c1 = i0[sel], i1[sel]
        # cycles do not overlap, so [c0, c1) pairs interleave into one increasing index
        hi = int(c1.max())
        # dropouts (far below the room level, and far below their own neighbourhood, so
        # isolated: the quiet phase of steady snoring is a run, not a dropout) are
        # missing too; lo starts a block, and only this slice's blocks are spread to
        # samples (a slice of temporaries); the running median sees DROPOUT_RUN // 2
        # samples beyond the slice, so it does not depend on where slices start
        h = DROPOUT_RUN // 2
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
            y[below[y[below] < local - DROPOUT_DB]] = np.nan
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
    return snores


def _snoring_events(breathing: Breathing, snores: np.ndarray | None, n_bad: int) -> Snoring:
    """Step 4 of :func:`detect_snoring`: the events of the per-cycle flags."""
    n_cyc = len(breathing.starts)
    if snores is None:
        return Snoring(np.empty(0), np.empty(0), np.zeros(n_cyc, dtype=bool), n_bad)
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
    )
