"""Tracks of a recording of any length, in memory bounded independently of its length.

:func:`stream_tracks` takes the raw BCG as chunks (an iterator of arrays from a live
sensor, or a big array such as a :func:`numpy.memmap`, sliced without loading it);
:func:`stream_session_tracks` takes a Beddit session file and reads its ``normal`` blob
in chunks with :func:`numpy.fromfile` (never whole). Both return what the whole-signal
path returns: the :class:`~sleepsignal.tracks.SessionTracks` of
:func:`~sleepsignal.tracks.session_tracks` plus the ``heartbeat`` / ``heart_rate``
tracks of :func:`~sleepsignal.heartbeats.heartbeat_tracks`.

Design (the answers to "what is streamed, what is exact"):

1. **Two passes, the raw samples read once.** Pass 1 goes over the raw samples in
   chunks cut at multiples of the 10 Hz block *and* of two 4 s status windows (560 x
   2 samples at 140 Hz; any input chunking is re-cut to that), and keeps only small
   per-block / per-window features: the 10 Hz block means, each status window's
   extremes and how many samples sit on them, and the mains-line scores of every
   analysed window (its own FFT). These are the whole-signal path's own numbers
   (:func:`sleepsignal.tracks._scan_part` is the one function both paths call), so they
   are **exact**. Pass 2 computes the tracks from them, as
   :func:`~sleepsignal.tracks.session_tracks` does through the same functions:

   - up to :data:`~sleepsignal.tracks.SLICED_ABOVE_S` (24 h) in one piece, at the end
     (the features of a day are about 8 MB);
   - beyond, in day slices with 1 h of context (``sleepsignal._track_slices``), each
     run as soon as pass 1 and the heartbeats are past its context, after which the
     features before the next slice are dropped: the stream holds one slice's features
     (about 28 h of them with the heartbeats' lag), whatever the length.

   Result: sensor status, presence, actigram, movements, breathing cycles and snoring
   are **identical** (bit for bit) to :func:`~sleepsignal.tracks.session_tracks` of the
   whole signal, whatever the chunk boundaries and the length.
2. **Gaps** (NaN/inf in a float source) are held at the last finite sample, in both
   paths; leading gaps take the first finite sample (counted, filled when it arrives).
3. **Heartbeats** use the raw 140 Hz signal and whole-run context (a centring median,
   a +-15 s local median, one reference run per call for the common fiducial), so they
   are computed on overlapping segments: cores of :data:`HEARTBEAT_CORE_S` (the last
   core takes the tail, so it is 1-2 cores long) with :data:`HEARTBEAT_OVERLAP_S` of
   context on each side; each segment keeps the beats and intervals that start in its
   core. A recording shorter than two cores is one segment: identical to
   :func:`~sleepsignal.heartbeats.detect_heartbeats` of the whole. Longer recordings
   differ near segment seams and where a run's reliability depends on the reference
   run chosen per segment; the tests hold the measured agreement (see the README
   section "Streaming").
4. **Staging and records are not streamed**: they describe one night (the staging
   features use hour-long medians of one sleep period, the records one sleep). A
   multi-day recording gives tracks; cut it at long absences into nights and stage
   each (``sleepsignal.analyze`` on each night's session).
5. **Memory** above what any analysis process holds (imports, loaded kernels): the
   chunk (``chunk_s`` of raw samples), two heartbeat cores plus overlap, the features
   of at most one day slice with its context and the heartbeats' lag (28 h of them,
   10 MB), one slice's pass 2 (breathing the largest), and the result: the merged
   heartbeats (about 33 bytes per beat, 2.6 MB per day) and the tracks with their
   details (1.3 MB per day). Freed temporaries are handed back to the system between slices
   (glibc ``malloc_trim``); the ``noise`` track of a session file is read a slice at a
   time. The README section "Streaming" has the measurements, 1 to 14 days.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import tracks as _tracks
from ._stream_kernels import _release_freed_memory
from ._track_kernels import MAX_ABS_SAMPLE
from ._track_slices import _noise_source, _NoiseSource, _SlicedPass2
from ._validate import array_1d, real_number
from .errors import SignalError
from .heartbeats import Heartbeats, _detect_heartbeats, _FastHeart, _warn_fast_heart, heart_rate
from .session import Session, TimeValueTrack
from .tracks import (
    SessionTracks,
    _chunk_quantum,
    _gap_note,
    _hold_gaps,
    _noise_of,
    _scan_part,
    _ScanPart,
    _tracks_from_scan,
)

__all__ = [
    "DEFAULT_CHUNK_S",
    "HEARTBEAT_CORE_S",
    "HEARTBEAT_OVERLAP_S",
    "StreamedTracks",
    "stream_session_tracks",
    "stream_tracks",
]

#: Raw samples per pass-1 chunk, s (rounded to whole status-window pairs).
DEFAULT_CHUNK_S = 600.0
#: Heartbeat segment core, s; the last core takes the tail (up to twice this).
HEARTBEAT_CORE_S = 3600.0
#: Context on each side of a heartbeat core, s (longer than the detector's +-15 s local
#: median, its filter transients and its 3-interval streaks).
HEARTBEAT_OVERLAP_S = 60.0
#: Beat pairs needed in a seam's shared stretch to carry the fiducial across it.
SEAM_MIN_PAIRS = 10


class StreamedTracks(NamedTuple):
    """Result of :func:`stream_tracks` / :func:`stream_session_tracks`.

    Attributes
    ----------
    tracks : SessionTracks
        Breathing, actigram, presence, sensor status and snoring, as
        :func:`~sleepsignal.tracks.session_tracks` returns them.
    heartbeat, heart_rate : TimeValueTrack or None
        As :func:`~sleepsignal.heartbeats.heartbeat_tracks` returns them (times relative
        to the session start); None when heartbeats were not asked for.
    heartbeats : Heartbeats or None
        The merged array-level detector result (times relative to the first sample).
    n_samples : int
        Raw samples read.
    fs : float
        Their rate, Hz.
    """

    tracks: SessionTracks
    heartbeat: TimeValueTrack | None
    heart_rate: TimeValueTrack | None
    heartbeats: Heartbeats | None
    n_samples: int
    fs: float

    def as_list(self) -> list[TimeValueTrack]:
        """Every track, in the order :func:`sleepsignal.analyze` adds them."""
        hb = [t for t in (self.heartbeat, self.heart_rate) if t is not None]
        return [*hb, *self.tracks.as_list()]


class _TrackScanner:
    """Pass 1 of the non-heartbeat tracks: re-cuts the chunks at window boundaries,
    holds gaps, and hands the :class:`~sleepsignal.tracks._ScanPart` of each piece to
    ``sink(part, n_samples)``."""

    def __init__(
        self, fs: float, chunk_samples: int, sink: Callable[[_ScanPart, int], None]
    ) -> None:
        self.fs = fs
        quantum = _chunk_quantum(fs)
        self.step = max(quantum, chunk_samples // quantum * quantum)
        self.sink = sink
        self.buf: list[np.ndarray] = []
        self.n_buf = 0
        self.n_windows = 0
        self.n = 0
        self.carry: float | None = None  # last finite sample (float sources)
        self.pending = 0  # leading non-finite samples not yet filled
        self.n_bad = 0
        self.dtype: np.dtype | None = None

    def feed(self, x: np.ndarray) -> None:
        if len(x) == 0:
            return
        if x.dtype.kind == "f":
            bad = ~np.isfinite(x)
            if bad.any():
                good = np.flatnonzero(~bad)
                if self.carry is None:
                    if len(good) == 0:
                        self.pending += len(x)
                        self.n_bad += len(x)
                        return
                    self._flush_pending(x[good[0]])
                    self.carry = float(x[good[0]])
                x, n_bad = _hold_gaps(x, self.carry)
                self.n_bad += n_bad
            elif self.carry is None:
                self._flush_pending(x[0])
            self.carry = float(x[-1])
        self._push(x)

    def _flush_pending(self, value: np.generic | float) -> None:
        while self.pending:
            k = min(self.pending, self.step)
            self._push(np.full(k, value, dtype=self.dtype or np.float64))
            self.pending -= k

    def _push(self, x: np.ndarray) -> None:
        self.buf.append(x)
        self.n_buf += len(x)
        while self.n_buf >= self.step:
            whole = np.concatenate(self.buf) if len(self.buf) > 1 else self.buf[0]
            self._scan(whole[: self.step])
            rest = whole[self.step :]
            self.buf = [rest] if len(rest) else []
            self.n_buf = len(rest)

    def _scan(self, block: np.ndarray) -> None:
        part = _scan_part(np.ascontiguousarray(block), self.fs, self.n_windows)
        self.n_windows += len(part.wmin)
        self.n += len(block)
        self.sink(part, len(block))

    def finish(self) -> tuple[int, list[str]]:
        if self.pending:
            self._flush_pending(0.0)  # all samples non-finite: as the whole path, 0.0
        if self.n_buf:
            self._scan(np.concatenate(self.buf))
            self.buf, self.n_buf = [], 0
        if self.n == 0:
            self._scan(np.empty(0, dtype=self.dtype or np.float64))
        notes = [_gap_note(self.n_bad, self.fs)] if self.n_bad else []
        return self.n, notes


class _HeartbeatStream:
    """Heartbeats on overlapping segments of the raw signal (see the module notes)."""

    def __init__(self, fs: float, sink: Callable[[np.ndarray, float], None]) -> None:
        self.fs = fs
        self.sink = sink  # sink(beat times, s up to which the beats are final)
        self.core = max(1, round(HEARTBEAT_CORE_S * fs))
        self.overlap = round(HEARTBEAT_OVERLAP_S * fs)
        self.buf = np.empty(0, dtype=np.float32)
        self.buf0 = 0  # sample index of buf[0]
        self.pending: list[np.ndarray] = []  # chunks not yet joined to buf
        self.n_pending = 0
        self.k = 0  # next segment
        self.pieces: list[Heartbeats] = []
        self.seam_beats = np.empty(0)  # the previous segment's beats past its core - overlap
        # the fast-heart (wrong fs) check's removals, summed over the segments: one warning
        # per stream, in finish() (segments overlap, so an interval there may count twice)
        self.fast_heart: _FastHeart | None = None

    def feed(self, x: np.ndarray) -> None:
        self.pending.append(x.astype(np.float32))
        self.n_pending += len(x)
        # segment k is run once it cannot be the last one: a whole core follows it
        if self.buf0 + len(self.buf) + self.n_pending >= (self.k + 2) * self.core + self.overlap:
            self._gather()
        while self.buf0 + len(self.buf) >= (self.k + 2) * self.core + self.overlap:
            a = self.k * self.core
            self._run(a, a + self.core)
            self.k += 1
            drop = max(0, self.k * self.core - self.overlap - self.buf0)
            self.buf = self.buf[drop:]
            self.buf0 += drop

    def _gather(self) -> None:
        """Join the chunks received since the last segment (one copy per segment)."""
        if self.pending:
            self.buf = np.concatenate([self.buf, *self.pending])
            self.pending, self.n_pending = [], 0

    def _run(self, a: int, b: int) -> None:
        lo = max(0, a - self.overlap)
        hi = min(self.buf0 + len(self.buf), b + self.overlap)
        seg = self.buf[lo - self.buf0 : hi - self.buf0]
        hb, fast = _detect_heartbeats(seg, self.fs)
        if fast is not None:
            lost = fast.lost + (self.fast_heart.lost if self.fast_heart is not None else 0)
            self.fast_heart = fast._replace(lost=lost)
        ta, tb = a / self.fs, b / self.fs
        bt = hb.beat_times + lo / self.fs
        st = hb.interval_starts + lo / self.fs
        # one fiducial for the recording: shift the segment so that its beats in the
        # stretch both segments saw coincide with the previous segment's beats
        shift = _fiducial_shift(self.seam_beats, bt, ta - self.overlap / self.fs, ta)
        bt = bt - shift
        st = st - shift
        kb = (bt >= ta) & (bt < tb)
        ki = (st >= ta) & (st < tb)
        self.pieces.append(
            Heartbeats(
                bt[kb],
                st[ki],
                hb.intervals[ki],
                hb.confidence[ki],
                hb.reliable[ki],
                hb.timed[ki],
                hb.length_reliable[ki],
            )
        )
        self.seam_beats = bt[bt >= tb - self.overlap / self.fs]
        self.sink(bt[kb], tb)

    def finish(self) -> Heartbeats:
        self._gather()
        n = self.buf0 + len(self.buf)
        if n > self.k * self.core or not self.pieces:
            self._run(self.k * self.core, n)
        self.sink(np.empty(0), math.inf)
        if self.fast_heart is not None:
            _warn_fast_heart(self.fast_heart)
        return Heartbeats(*_move_join(self.pieces))


def _move_join(items: list[Any]) -> list[np.ndarray]:
    """Concatenate the tuples of arrays ``items`` (parts, or Heartbeats) field by field
    (along the first axis),
    emptying the list as it goes: each item is freed once copied and the freed heap
    pages are returned every 8 MB, so the peak is the result plus 8 MB
    (:func:`numpy.concatenate` would hold every item and the result at once)."""
    n_fields = len(items[0])
    totals = [sum(len(it[f]) for it in items) for f in range(n_fields)]
    out = [
        np.empty((totals[f], *items[0][f].shape[1:]), dtype=items[0][f].dtype)
        for f in range(n_fields)
    ]
    at = [0] * n_fields
    freed = 0
    items.reverse()
    while items:
        it = items.pop()
        for f in range(n_fields):
            out[f][at[f] : at[f] + len(it[f])] = it[f]
            at[f] += len(it[f])
            freed += it[f].nbytes
        del it
        if freed >= _TRIM_EVERY_BYTES:  # the items sit in the C heap: hand them back
            _release_freed_memory()
            freed = 0
    return out


#: Bytes of joined items after which :func:`_move_join` returns the heap's free pages.
_TRIM_EVERY_BYTES = 8 << 20


def _fiducial_shift(prev: np.ndarray, cur: np.ndarray, t_lo: float, t_hi: float) -> float:
    """Median time (s) by which the beats ``cur`` lie after the beats ``prev`` of the
    previous segment within ``[t_lo, t_hi)`` (nearest beat within 0.25 s; at least 10
    pairs), else 0: the previous segment's fiducial is kept across the seam."""
    p = prev[(prev >= t_lo) & (prev < t_hi)]
    c = cur[(cur >= t_lo) & (cur < t_hi)]
    if len(p) < SEAM_MIN_PAIRS or len(c) < SEAM_MIN_PAIRS:
        return 0.0
    i = np.clip(np.searchsorted(p, c), 1, len(p) - 1)
    near = np.where(np.abs(p[i] - c) < np.abs(p[i - 1] - c), p[i], p[i - 1])
    d = c - near
    d = d[np.abs(d) <= 0.25]
    return float(np.median(d)) if len(d) >= SEAM_MIN_PAIRS else 0.0


def _as_chunk(a: object, i: int, dtype: np.dtype | None) -> np.ndarray:
    x = array_1d(a, f"chunk {i}")
    if x.dtype == np.float16:  # numba has no float16; float32 holds every value exactly
        x = x.astype(np.float32)
    # as _coerce_signal: energies square the samples (float32 cannot exceed the limit)
    if x.dtype == np.float64 and x.size:
        big = (np.abs(x) > MAX_ABS_SAMPLE) & np.isfinite(x)  # NaN / inf stay gaps
        if big.any():
            j = int(np.argmax(big))
            raise SignalError(
                f"chunk {i} has values beyond +-{MAX_ABS_SAMPLE:g} ({x[j]!r} at sample {j}); "
                "their squares overflow float64: rescale the signal"
            )
    if dtype is not None and x.dtype != dtype:
        raise SignalError(
            f"chunk {i} has dtype {x.dtype}, earlier chunks {dtype}: every chunk of one "
            "recording must have the same sample type (the tracks depend on it)"
        )
    return x


def _chunks_of(source: np.ndarray | Iterable[np.ndarray], step: int) -> Iterator[np.ndarray]:
    if isinstance(source, np.ndarray):
        if source.ndim != 1:
            raise SignalError(f"signal must be a 1-D array of samples, got shape {source.shape}")
        for a in range(0, len(source), step):
            yield source[a : a + step]  # a view: a memmap is read a chunk at a time
    else:
        try:
            chunks = iter(source)
        except TypeError:
            raise SignalError(
                "signal must be a 1-D array or an iterable of 1-D chunks, got "
                f"{type(source).__name__}"
            ) from None
        yield from chunks


def stream_tracks(
    source: np.ndarray | Iterable[np.ndarray],
    fs: float,
    *,
    noise: np.ndarray | None = None,
    noise_fs: float | None = None,
    chunk_s: float = DEFAULT_CHUNK_S,
    heartbeats: bool = True,
    offset: float = 0.0,
) -> StreamedTracks:
    """Every track of a raw BCG recording of any length, read chunk by chunk.

    Parameters
    ----------
    source : numpy.ndarray or iterable of numpy.ndarray
        The raw ``normal`` samples: a 1-D array (a :func:`numpy.memmap` is sliced, never
        loaded whole) or an iterable of 1-D chunks of any lengths (a live sensor), all
        of one dtype (uint16 counts or float; NaN/inf in float samples are gaps).
    fs : float
        Sampling rate, Hz (140 for Beddit). Required.
    noise : array_like, optional
        The whole ``noise`` loudness track (10 Hz for Beddit, 25 MB for a week); without
        it ``snoring_events`` is None and a note says so.
    noise_fs : float, optional
        Rate of ``noise``, Hz; required with ``noise``.
    chunk_s : float
        Raw samples processed at a time, s (rounded to whole pairs of 4 s windows). The
        tracks do not depend on it; memory does.
    heartbeats : bool
        Also compute the ``heartbeat`` / ``heart_rate`` tracks (the slow part).
    offset : float
        Time of the first sample relative to the session start, s (added to the
        heartbeat track times, as :func:`~sleepsignal.heartbeats.heartbeat_tracks` does).

    Returns
    -------
    StreamedTracks

    Raises
    ------
    SignalError
        A bad ``fs`` (a real number from 20 Hz to 1e6 Hz), ``chunk_s`` (positive,
        finite), ``noise_fs`` (0.1 Hz to 1e6 Hz) or ``offset`` (a finite number of s);
        a chunk that is not 1-D real, whose dtype differs from the first chunk's, or
        (float64) holds a sample beyond +-1e100 (NaN and inf stay gaps).

    Notes
    -----
    See the module docstring: pass 1 keeps per-window features of each chunk, pass 2 runs
    the whole-signal code on them (tracks identical to
    :func:`~sleepsignal.tracks.session_tracks`); heartbeats run on overlapping 1 h
    segments.

    Examples
    --------
    >>> import numpy as np
    >>> from sleepsignal.simulate import simulate_night
    >>> night = simulate_night(0.2, seed=1)
    >>> x = night.session.sampled_tracks["normal"].data
    >>> out = stream_tracks(iter(np.array_split(x, 7)), 140.0, heartbeats=False)
    >>> out.n_samples == len(x)
    True
    """
    from ._track_kernels import _check_fs

    noise_arg: _NoiseSource | str = "no noise track"
    if noise is not None:
        if noise_fs is None:
            raise SignalError("noise_fs (Hz) is required with noise; there is no default rate")
        try:
            noise_a = np.asarray(noise)
        except (TypeError, ValueError) as e:  # ragged nested sequences
            raise SignalError(f"noise must be a 1-D array of real numbers: {e}") from None
        noise_arg = _noise_source((noise_a, _check_fs(noise_fs, minimum=0.1)))
    return _stream(source, fs, noise_arg, chunk_s, heartbeats, offset)


def _stream(
    source: np.ndarray | Iterable[np.ndarray],
    fs: float,
    noise: _NoiseSource | str,
    chunk_s: float,
    heartbeats: bool,
    offset: float,
) -> StreamedTracks:
    from ._track_kernels import _check_fs

    fs_f = _check_fs(fs, minimum=20.0)
    if not (math.isfinite(real_number(chunk_s, "chunk_s")) and chunk_s > 0):
        raise SignalError(f"chunk_s must be a positive number of s, got {chunk_s!r}")
    if not math.isfinite(real_number(offset, "offset")):
        raise SignalError(f"offset must be a finite number of s, got {offset!r}")
    step = max(1, round(chunk_s * fs_f))
    # pass 2 runs a day slice at a time behind pass 1 (and behind the heartbeats, whose
    # beats breathing weighs), holding at most one slice's features and beats
    pass2 = _SlicedPass2(fs_f, noise, heartbeats)
    scanner = _TrackScanner(fs_f, step, pass2.add_scan)
    beats = _HeartbeatStream(fs_f, pass2.add_beats) if heartbeats else None
    dtype: np.dtype | None = None
    for i, chunk in enumerate(_chunks_of(source, step)):
        x = _as_chunk(chunk, i, dtype)
        if dtype is None:
            dtype = x.dtype
            scanner.dtype = x.dtype
        scanner.feed(x)
        if beats is not None:
            beats.feed(x)
        pass2.run_ready()
    n, notes = scanner.finish()
    del scanner
    hb_track: TimeValueTrack | None = None
    hr_track: TimeValueTrack | None = None
    hb: Heartbeats | None = None
    if beats is not None:
        hb = beats.finish()
        del beats
    _release_freed_memory()  # pass 1's small arrays, before pass 2's temporaries
    if n / fs_f > _tracks.SLICED_ABOVE_S:
        tracks = pass2.finish(n, notes)
    else:
        # up to a day, one piece: the features were all held (at most a day's)
        scan = _ScanPart(*_move_join(pass2.parts))
        del pass2
        # as analyze does: the beats also give breathing its beat-interval candidate
        tracks = _tracks_from_scan(
            scan,
            fs_f,
            n,
            noise if isinstance(noise, str) else functools.partial(_read_all, noise),
            notes,
            beat_times=None if hb is None else hb.beat_times,
        )
    if hb is not None:
        t_hr, bpm = heart_rate(hb, duration=n / fs_f)
        rel = hb.reliable
        hb_track = TimeValueTrack(
            "heartbeat",
            hb.interval_starts[rel] + offset,
            hb.intervals[rel].astype(np.float32),
            "float32",
        )
        hr_track = TimeValueTrack("heart_rate", t_hr + offset, bpm.astype(np.float32), "float32")
    return StreamedTracks(tracks, hb_track, hr_track, hb, n, fs_f)


def _read_all(noise: _NoiseSource) -> tuple[np.ndarray, float]:
    """The whole noise track (a recording up to a day long, snoring in one piece)."""
    return noise.read(0, noise.n), noise.fs


def _late_noise(session: Session, path: Path) -> _NoiseSource | str:
    """The session's ``noise`` track as a reader of its blob (checked by
    ``read_session``): snoring reads a slice of it at a time, or the whole of a
    recording up to a day only when it needs it (a week is 24 MB of float32)."""
    from .io.beddit import _blob_file, _is_local

    track = session.sampled_tracks.get("noise")
    if track is None:
        return "no noise track"
    url = track.extra.get("data_url")
    if track.loaded or not (isinstance(url, str) and _is_local(url)):
        return _noise_source(_noise_of(session))  # what read_session gave
    blob = _blob_file(session, "noise", path)
    return _NoiseSource(lambda lo, hi: blob.read(lo, hi - lo), blob.n_samples, blob.fs)


def stream_session_tracks(
    path: str | os.PathLike[str],
    *,
    chunk_s: float = DEFAULT_CHUNK_S,
    heartbeats: bool = True,
    trim_partial_frames: bool = False,
) -> StreamedTracks:
    """:func:`stream_tracks` of a Beddit session file, its ``normal`` blob read in chunks.

    Parameters
    ----------
    path : path-like
        Session JSON with a local ``normal`` blob (the rate comes from its framing); a
        ``noise`` track, when present, is loaded whole (10 Hz) for snoring.
    chunk_s : float
        Raw samples read at a time, s.
    heartbeats : bool
        Also compute the heartbeat tracks.
    trim_partial_frames : bool
        As in :func:`~sleepsignal.io.beddit.read_session`: drop a blob's partial last
        frame with a warning instead of raising.

    Returns
    -------
    StreamedTracks
        Times relative to the session start, as
        :func:`~sleepsignal.heartbeats.heartbeat_tracks` and
        :func:`~sleepsignal.tracks.session_tracks` give them for the loaded session.

    Raises
    ------
    DecodeError
        What :func:`~sleepsignal.io.beddit.read_session` raises, or a ``normal`` blob that
        is not a local file.
    """
    from .io.beddit import open_blob, read_session

    session = read_session(path, lazy=("normal", "noise"), trim_partial_frames=trim_partial_frames)
    blob = open_blob(path, "normal", trim_partial_frames=trim_partial_frames)
    step = max(1, round(chunk_s * blob.fs))
    return _stream(
        blob.chunks(step),
        blob.fs,
        _late_noise(session, Path(path)),
        chunk_s,
        heartbeats,
        blob.start - session.start_timestamp,
    )
