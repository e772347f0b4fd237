"""The tracks of a recording longer than a day, in day slices with context.

Private: :func:`sleepsignal.tracks.session_tracks` (through ``_tracks_from_scan``) and
:mod:`sleepsignal.streaming` both call :class:`_SlicedPass2`, so the whole-signal and
the streamed tracks of a long recording are the same numbers. Up to
``tracks.SLICED_ABOVE_S`` (24 h) neither comes here: a recording is one piece.

Why slices: every track step that looks at the whole recording (the night-wide floors
of presence, the clipping extremes of the sensor status, the median baseline of the
movement detector, the beat-interval knots of breathing) would make the memory of a
stream grow with its length. Here each such quantity is taken per slice:

1. The recording is cut into cores of :data:`SLICE_CORE_S` (24 h; the last one takes
   what is left, shorter), each processed with :data:`SLICE_MARGIN_S` (1 h) of context
   on each side. Slice starts are multiples of :func:`_slice_unit` raw samples, so every
   10 Hz block, 4 s status window, analysed status window and 5 s presence window of a
   slice is one of the recording. Breathing's 30 s frames and scale blocks and
   snoring's 30 s noise blocks are counted from the first sample a step is given, and
   at many rates (55, 75, 135 Hz; not 140) those starts are off that grid: a slice's
   breathing starts at the first frame of the recording at or after the slice start
   (:func:`_breathing_start`), its noise at the first 30 s block
   (:func:`_noise_start`), under 2 min into the 1 h context.
2. Per slice, from its pass-1 features and beats: sensor status per window (its
   extremes and clipping are the slice's), presence per window (floors of the slice),
   movements, breathing (its beat-interval knots from the slice's beats), and which
   breathing cycles snore (the slice's noise). A slice keeps the windows, movements and
   cycles of its core; a kept cycle that overlaps the previous slice's last kept one is
   dropped (as ``respiration._breathing_sliced`` does).
3. At the end, from what the cores kept (the size of the output tracks): the change
   points of status and presence, one mains frequency per interference run, the
   actigram, and the snoring events (runs of snoring cycles, across seams).

A stream holds the features of at most one slice plus the lag of the heartbeats
(:meth:`_SlicedPass2.ready`), so its memory does not depend on the recording's length.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import respiration as _respiration
from . import tracks as _tracks
from ._stream_kernels import _release_freed_memory
from ._track_kernels import _change_points
from .activity import NO_SIGNAL, PRESENCE_WINDOW_S, Movements, Presence, _presence_from_low
from .errors import warn_user
from .mains import (
    FFT_EVERY,
    _scan_sizes,
    _status_from_states,
    _unclear_from_counts,
    _window_states,
)
from .respiration import (
    BREATHING_SOURCES,
    RSA_DECIMATE,
    Breathing,
    _breathing_part,
    _no_overlap,
    _rsa_knots,
)
from .snoring import (
    Snoring,
    _checked_noise,
    _count_invalid,
    _cycle_snores,
    _noise_warnings,
    _NoiseSummary,
    _not_searched,
    _searchable,
    _snoring_events,
    _snoring_notes,
    _steps,
    _summarise_noise,
)
from .tracks import (
    SessionTracks,
    _assemble_tracks,
    _exclusions,
    _flat_windows,
    _join_parts,
    _movements_in_bed,
    _Noise,
    _ScanPart,
)

__all__: list[str] = []

#: Slice core, s (the last core is shorter); breathing's own slices by default.
SLICE_CORE_S = _respiration.SLICE_CORE_S
#: Context on each side of a core, s: far beyond the reach of every step (the
#: breathing filters ~40 s, the 5-min running medians of movement, breathing and
#: snoring, the presence and status debounce of 30 s).
SLICE_MARGIN_S = _respiration.SLICE_MARGIN_S
#: Beats taken beyond each end of a slice, s (the beat-interval running median).
BEAT_MARGIN_S = 60.0


def _slice_unit(fs: float) -> int:
    """Raw samples every slice start is a multiple of: whole 10 Hz blocks, pairs of 4 s
    status windows (the analysed one first), 5 s presence windows and beat-interval
    grid samples, so that the windows a slice keeps tile the recording's. (At 140 Hz
    it is 40 s, and 24 h and 1 h are multiples of the 30 s breathing frames too; at
    other rates the 30 s grids are placed by :func:`_breathing_start` and
    :func:`_noise_start`.)"""
    q, w = _scan_sizes(fs)
    fs_low = fs / q
    return math.lcm(q, w * FFT_EVERY, q * round(PRESENCE_WINDOW_S * fs_low), q * RSA_DECIMATE)


def _breathing_start(a: int, q: int, unit_low: int) -> int:
    """The raw sample a slice's breathing starts at: the first one at or after the
    slice start ``a`` whose low-rate sample (``a`` and the result are multiples of the
    block ``q``) is a multiple of ``unit_low`` (``respiration._slice_unit``), so the
    slice's 30 s frames, scale blocks and beat-interval grid are the recording's (as in
    ``respiration._breathing_sliced``). Adding the frame to :func:`_slice_unit` instead
    would make slices days long at some rates (75 Hz: ~4.9 days)."""
    return -(-(a // q) // unit_low) * unit_low * q


def _noise_start(a: int, r: float, noise_fs: float) -> int:
    """The noise sample a slice starting at raw sample ``a`` reads its noise from
    (``r``: noise samples per raw sample): the first multiple of snoring's 30 s
    baseline block (``snoring._steps``) at or after ``round(a * r)``, so the slice's
    blocks, counted from its first noise sample, are the recording's."""
    block = _steps(noise_fs)[0]
    return -(-round(a * r) // block) * block


class _NoiseSource(NamedTuple):
    """The ``noise`` track, read a range at a time: ``read(lo, hi)`` gives samples
    ``lo`` to ``hi`` (clipped to ``n``) at ``fs`` Hz."""

    read: Callable[[int, int], np.ndarray]
    n: int
    fs: float


def _noise_source(noise: _Noise) -> _NoiseSource | str:
    """A :class:`_NoiseSource` of loaded noise samples, or why there is none."""
    if isinstance(noise, str):
        return noise
    a, fs = _checked_noise(noise[0]), float(noise[1])
    return _NoiseSource(lambda lo, hi: a[lo:hi], len(a), fs)


class _SlicedPass2:
    """Pass 2 of a long recording, a day slice at a time (see the module notes).

    Feed it the pass-1 features in order (:meth:`add_scan`, parts that start at
    multiples of ``tracks._chunk_quantum`` samples) and, when breathing weighs beats,
    the beat times in order (:meth:`add_beats`, with how far they are final); call
    :meth:`run_ready` whenever convenient and :meth:`finish` at the end.
    """

    def __init__(self, fs: float, noise: _NoiseSource | str, with_beats: bool) -> None:
        self.fs = fs
        self.q, self.w = _scan_sizes(fs)
        self.fs_low = fs / self.q
        self.pw = round(PRESENCE_WINDOW_S * self.fs_low)
        unit = _slice_unit(fs)
        self.core = max(unit, round(SLICE_CORE_S * fs) // unit * unit)
        # breathing starts up to a breathing unit after the slice (_breathing_start):
        # the context keeps at least one such unit before the core
        self.unit_low = _respiration._slice_unit(self.fs_low)
        reach = max(round(SLICE_MARGIN_S * fs), self.unit_low * self.q)
        self.margin = -(-reach // unit) * unit
        self.noise = noise
        self.with_beats = with_beats
        # pass-1 features held: parts and the raw sample each starts at
        self.parts: list[_ScanPart] = []
        self.starts: list[int] = []
        self.n_scanned = 0
        # beats held (s from the first sample) and up to when they are final
        self.beats: list[np.ndarray] = []
        self.beats_until = -math.inf
        self.k = 0  # next slice
        # what the cores kept
        self.states: list[np.ndarray] = []
        self.hz: list[np.ndarray] = []
        self.presence: list[np.ndarray] = []
        self.moves: list[Movements] = []
        self.cycles: list[Breathing] = []
        self.snores: list[np.ndarray | None] = []
        self.last_end = -math.inf  # end of the last kept cycle, s
        self.noise_summary: _NoiseSummary | None = None  # the whole track's, read once
        self.n_dropout_noise = 0

    # ------------------------------------------------------------------ input
    def add_scan(self, part: _ScanPart, n: int) -> None:
        self.parts.append(part)
        self.starts.append(self.n_scanned)
        self.n_scanned += n

    def add_beats(self, beat_times: np.ndarray, until_s: float) -> None:
        if len(beat_times):
            self.beats.append(np.asarray(beat_times, dtype=np.float64))
        self.beats_until = until_s

    def ready(self) -> bool:
        """Whether slice ``k`` has all it needs while more recording follows: features to
        the end of its right context, and beats beyond it. Never before the recording is
        known to be sliced (longer than ``tracks.SLICED_ABOVE_S``): a shorter one is one
        piece, from all the features, none of which may have been dropped by a slice."""
        b = (self.k + 1) * self.core + self.margin
        if self.n_scanned < b or self.n_scanned <= _tracks.SLICED_ABOVE_S * self.fs:
            return False
        return not self.with_beats or self.beats_until >= b / self.fs + BEAT_MARGIN_S

    def run_ready(self) -> None:
        while self.ready():
            self._run(self.n_scanned, last=False)

    def finish(self, n: int, notes: list[str]) -> SessionTracks:
        """Run the remaining slices of a recording of ``n`` raw samples and assemble."""
        while self.k * self.core < n or self.k == 0:
            self._run(n, last=(self.k + 1) * self.core >= n)
        return self._assemble(n, notes)

    # --------------------------------------------------------------- one slice
    def _features(self, a: int, b: int) -> _ScanPart:
        """The pass-1 features of raw samples ``[a, b)`` (whole blocks and windows)."""
        i = 0
        while i + 1 < len(self.starts) and self.starts[i + 1] <= a:
            i += 1
        j = i
        while j < len(self.starts) and self.starts[j] < b:
            j += 1
        f = _join_parts(self.parts[i:j])
        p0 = self.starts[i]
        q, w, aw = self.q, self.w, self.w * FFT_EVERY
        nw = (b - p0) // w
        return _ScanPart(
            f.low[(a - p0) // q : (b - p0) // q],
            f.wmin[(a - p0) // w : nw],
            f.wmax[(a - p0) // w : nw],
            f.nmin[(a - p0) // w : nw],
            f.nmax[(a - p0) // w : nw],
            f.s50[(a - p0) // aw : -(-nw // FFT_EVERY)],
            f.s60[(a - p0) // aw : -(-nw // FFT_EVERY)],
        )

    def _beats_of(self, t_lo: float, t_hi: float) -> np.ndarray | None:
        if not self.with_beats:
            return None
        bt = np.concatenate(self.beats) if self.beats else np.empty(0)
        return bt[(bt >= t_lo) & (bt < t_hi)]

    def _bounds(self, k: int, n: int, last: bool) -> tuple[int, int, int, int, int]:
        """Raw samples of slice ``k`` of a recording whose samples so far (or in all) are
        ``n``: its core ``[c0, c1)``, its context ``[a, b)`` and where its breathing
        starts (``_breathing_start``: ``a <= ab <= c0``)."""
        c0 = k * self.core
        c1 = n if last else min(n, c0 + self.core)
        a, b = max(0, c0 - self.margin), min(n, c1 + self.margin)
        return c0, c1, a, b, _breathing_start(a, self.q, self.unit_low)

    def _run(self, n: int, last: bool) -> None:
        """Slice ``k`` of a recording whose samples so far (or in all) are ``n``."""
        fs, q, fs_low = self.fs, self.q, self.fs_low
        c0, c1, a, b, ab = self._bounds(self.k, n, last)
        t0 = a / fs
        f = self._features(a, b)
        low = f.low
        # sensor status: per window, clipping judged by the slice's extremes
        unclear = _unclear_from_counts(f.wmin, f.wmax, f.nmin, f.nmax, self.w)
        states, hz = _window_states(fs, unclear, f.s50, f.s60)
        pres = _presence_from_low(low, fs_low, _flat_windows(states, len(low), fs_low))
        moves = _movements_in_bed(low, fs_low, pres)
        bt = self._beats_of(t0 - BEAT_MARGIN_S, b / fs + BEAT_MARGIN_S)
        knots = None if bt is None else _rsa_knots(bt)
        # breathing on the recording's frame grid: from raw sample ab (= a at 140 Hz)
        ex = _exclusions(pres, moves, (b - a) / fs)
        if ab != a:
            ex = (ex[0] - (ab - a) / fs, ex[1] - (ab - a) / fs)
        cyc = _breathing_part(
            low[(ab - a) // q :],
            fs_low,
            ex,
            BREATHING_SOURCES,
            knots,
            ab // q,
            None if bt is None else bt - ab / fs,
        )
        if ab != a:  # times from raw sample a, like the other tracks of the slice
            d = (ab - a) / fs
            cyc = Breathing(cyc.starts + d, cyc.lengths, cyc.amplitudes, cyc.peaks + d)
        del f, low, unclear
        # keep the core
        w0, w1 = (c0 - a) // self.w, (c1 - a) // self.w
        self.states.append(states[w0:w1].astype(np.uint8))
        self.hz.append(hz[w0:w1])
        p0 = (c0 - a) // q // self.pw
        p1 = len(pres.window_states) if last else (c1 - a) // q // self.pw
        self.presence.append(pres.window_states[p0:p1])
        tc0, tc1 = (c0 - a) / fs, (c1 - a) / fs
        m = (moves.starts >= tc0) & (moves.starts < tc1)
        self.moves.append(Movements(moves.starts[m] + t0, moves.ends[m] + t0, moves.peak_ratio[m]))
        m = (cyc.starts >= tc0) & (cyc.starts < tc1)
        mine = Breathing(cyc.starts[m], cyc.lengths[m], cyc.amplitudes[m], cyc.peaks[m])
        # as one call of _no_overlap over every slice: cycles within a slice do not overlap
        keep = _no_overlap(
            np.concatenate([[self.last_end - t0], mine.starts]),
            np.concatenate([[0.0], mine.lengths]),
        )[1:]
        mine = Breathing(*(v[keep] for v in mine))
        if len(mine.starts):
            self.last_end = float(mine.starts[-1] + mine.lengths[-1]) + t0
        self._snoring(mine, a, b, c0, c1, last)
        self.cycles.append(
            Breathing(mine.starts + t0, mine.lengths, mine.amplitudes, mine.peaks + t0)
        )
        self.k += 1
        self._drop_before((self.k * self.core - self.margin) if not last else n)
        _release_freed_memory()

    def _snoring(self, mine: Breathing, a: int, b: int, c0: int, c1: int, last: bool) -> None:
        """Which kept cycles snore, from the slice's noise (times in ``mine`` are s
        from raw sample ``a``), read from a multiple of snoring's 30 s block at or after
        ``a`` (at 140 Hz, ``a`` itself)."""
        if isinstance(self.noise, str):
            return
        src = self.noise
        if not _searchable(self._noise_summary(src)):
            self.snores.append(None)  # not searched (see _assemble)
            return
        r = src.fs / self.fs
        # the last slice reads to the end of the noise track, as one piece does
        lo, hi = _noise_start(a, r, src.fs), src.n if last else min(src.n, round(b * r))
        n_lo, n_hi = round(c0 * r), src.n if last else min(src.n, round(c1 * r))
        x = src.read(lo, hi) if hi > lo else np.empty(0, np.float32)
        n_bad = _count_invalid(x, src.fs)
        # cycle times from the noise slice's first sample
        dt = a / self.fs - lo / src.fs
        shifted = Breathing(mine.starts + dt, mine.lengths, mine.amplitudes, mine.peaks + dt)
        # the dropouts of the core only: the cores tile the track, each counted once
        flags, n_dropout = _cycle_snores(x, src.fs, shifted, n_bad, (n_lo - lo, n_hi - lo))
        self.n_dropout_noise += n_dropout
        self.snores.append(np.zeros(len(mine.starts), dtype=bool) if flags is None else flags)

    def _noise_summary(self, src: _NoiseSource) -> _NoiseSummary:
        """The summary of the whole noise track ``src`` (its warnings and whether snoring
        can be searched), read a slice at a time the first time it is needed."""
        if self.noise_summary is None:
            self.noise_summary = _summarise_noise(src.read, src.n, src.fs)
        return self.noise_summary

    def _drop_before(self, a: int) -> None:
        """Forget the features and beats before raw sample ``a`` (the next slice's start)."""
        while len(self.starts) > 1 and self.starts[1] <= a:
            self.parts.pop(0)
            self.starts.pop(0)
        if self.beats:
            bt = np.concatenate(self.beats)
            self.beats = [bt[bt >= a / self.fs - BEAT_MARGIN_S]]

    # -------------------------------------------------------------- the end
    def _assemble(self, n: int, notes: list[str]) -> SessionTracks:
        fs = self.fs
        duration = n / fs
        status = _status_from_states(
            np.concatenate(self.states).astype(np.int64), np.concatenate(self.hz)
        )
        ws = np.concatenate(self.presence)
        t, v = _change_points(ws, PRESENCE_WINDOW_S, (n // self.q) / self.fs_low, NO_SIGNAL)
        pres = Presence(t, v, ws, PRESENCE_WINDOW_S)
        moves = Movements(*(np.concatenate(f) for f in zip(*self.moves, strict=True)))
        cycles = Breathing(*(np.concatenate(f) for f in zip(*self.cycles, strict=True)))
        snoring: Snoring | None = None
        if isinstance(self.noise, str):
            notes.append(f"snoring_events omitted: {self.noise}")
        else:
            # the warnings and notes of detect_snoring on the whole track, in its order
            summary = self._noise_summary(self.noise)
            for msg in _noise_warnings(summary):
                notes.append(msg)
                warn_user(msg)
            if _searchable(summary):
                flags = np.concatenate([s for s in self.snores if s is not None])
                snoring = _snoring_events(
                    cycles, flags if len(flags) else None, summary.n_bad, self.n_dropout_noise
                )
            else:
                snoring = _not_searched(cycles, summary.n_bad)
            notes.extend(_snoring_notes(snoring, summary.n))
        return _assemble_tracks(cycles, moves, pres, status, snoring, duration, notes)


def _sliced_tracks(
    scan: _ScanPart,
    fs: float,
    n_samples: int,
    noise: _Noise | Callable[[], _Noise],
    notes: list[str],
    beat_times: np.ndarray | None,
) -> SessionTracks:
    """``tracks._tracks_from_scan`` of a recording over a day: the whole scan fed at
    once to :class:`_SlicedPass2` (``beat_times`` sorted, s from the first sample)."""
    if callable(noise):
        noise = noise()
    engine = _SlicedPass2(fs, _noise_source(noise), beat_times is not None)
    engine.add_scan(scan, n_samples)
    if beat_times is not None:
        engine.add_beats(beat_times, math.inf)
    return engine.finish(n_samples, notes)
