"""One entry point: every non-heartbeat session track from a session's raw tracks.

:func:`session_tracks` reads the ``normal`` (BCG) and ``noise`` sampled tracks of a
:class:`~sleepsignal.session.Session` and returns the Beddit Session tracks
``respiration_cycles``, ``respiration_cycle_amplitudes``, ``actigram``, ``sensor_status``
and ``snoring_events``, plus a non-standard ``presence`` track, as
:class:`~sleepsignal.session.TimeValueTrack` objects (times in s relative to the session
start).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._stream_kernels import _extreme_counts_kernel
from ._track_kernels import _coerce_signal, _scan_kernel
from ._validate import check_instance
from .activity import (
    PRESENCE_WINDOW_S,
    PRESENT,
    Movements,
    Presence,
    _movements_from_low,
    _presence_from_low,
    actigram,
)
from .errors import SignalError, SleepSignalWarning, warn_user
from .mains import (
    FFT_EVERY,
    UNCLEAR,
    WINDOW_S,
    SensorStatus,
    _scan_sizes,
    _status_from_features,
    _unclear_from_counts,
    _window_scores,
)
from .respiration import Breathing, _breathing_from_low, _check_beat_times, respiration_rate
from .session import Session, TimeValueTrack
from .snoring import Snoring, _snoring_notes, detect_snoring

__all__ = ["SessionTracks", "TrackDetails", "respiration_rate", "session_tracks"]


class TrackDetails(NamedTuple):
    """The array-level results behind :class:`SessionTracks` (for researchers)."""

    breathing: Breathing
    movements: Movements
    presence: Presence
    sensor_status: SensorStatus
    snoring: Snoring | None


class SessionTracks(NamedTuple):
    """Tracks computed by :func:`session_tracks` (relative times, s).

    Attributes
    ----------
    respiration_cycles : TimeValueTrack
        ``[t_start, cycle_length_s]``, float32.
    respiration_cycle_amplitudes : TimeValueTrack
        ``[t_start, amplitude]`` (signal units), float32.
    actigram : TimeValueTrack
        ``[epoch_start, movement_count]`` per 60 s epoch while present, float32.
    presence : TimeValueTrack
        uint8 change points 80 present / 65 away / 78 no signal (non-standard session
        track; the last item, 78 at the session end, marks the end of data).
    sensor_status : TimeValueTrack
        uint8 change points 1 operational / 2 interference / 3 unclear.
    snoring_events : TimeValueTrack or None
        ``[t, length_s]``, float32; None when the session has no noise track, or one
        that is empty, has no valid value or does not look like a level in dB
        (snoring unknown, with a note; see :func:`~sleepsignal.snoring.detect_snoring`).
    notes : list of str
        What was left out and why (missing noise track, bad noise values, noise
        dropouts, noise not in dB, no signal).
    details : TrackDetails
        The array-level results the tracks were built from.
    """

    respiration_cycles: TimeValueTrack
    respiration_cycle_amplitudes: TimeValueTrack
    actigram: TimeValueTrack
    presence: TimeValueTrack
    sensor_status: TimeValueTrack
    snoring_events: TimeValueTrack | None
    notes: list[str]
    details: TrackDetails

    def as_list(self) -> list[TimeValueTrack]:
        """The tracks that exist, ready for :meth:`Session.with_tracks`."""
        out = [
            self.respiration_cycles,
            self.respiration_cycle_amplitudes,
            self.actigram,
            self.presence,
            self.sensor_status,
        ]
        if self.snoring_events is not None:
            out.append(self.snoring_events)
        return out


def session_tracks(session: Session, *, beat_times: np.ndarray | None = None) -> SessionTracks:
    """Breathing, movement, presence, sensor status and snoring tracks of a session.

    Parameters
    ----------
    session : Session
        Needs a loaded ``normal`` sampled track; a ``noise`` track is used when present.
    beat_times : array_like, optional
        Heartbeat times in s from the first ``normal`` sample
        (``detect_heartbeats(...).beat_times``), when the caller has run the heartbeat
        detector (``pipeline.analyze`` does): breathing then also uses the beat
        intervals (see :func:`~sleepsignal.respiration.detect_breathing`).

    Returns
    -------
    SessionTracks
        See its attributes. Presence decides where the other tracks are silent: no
        cycles and no actigram items while away or without signal, and no cycles
        through movement.

    Raises
    ------
    SignalError
        When the session has no ``normal`` track.
    NotLoadedError
        When the ``normal`` track's bytes were not loaded.

    Notes
    -----
    1. :func:`~sleepsignal.mains.mains_interference` on the raw signal gives the sensor
       status; its clipped or flat windows are "no signal" for presence.
    2. :func:`~sleepsignal.activity.presence` and
       :func:`~sleepsignal.activity.movement_bursts` (in bed only) on the 10 Hz view.
    3. :func:`~sleepsignal.respiration.detect_breathing` excluding movements and time
       not present.
    4. :func:`~sleepsignal.snoring.detect_snoring` on the noise track, when there is one.
    5. A recording longer than :data:`SLICED_ABOVE_S` (24 h) goes through steps 1-4 in
       day slices with 1 h of context on each side (``sleepsignal._track_slices``):
       the clipping extremes, the empty-bed floor, the movement baseline and the
       beat-interval knots are then those of each slice, not of the whole recording,
       and memory does not grow with the length (:mod:`sleepsignal.streaming` calls the
       same code, so its tracks equal these). Up to 24 h the recording is one piece.

    Bad input, each with a defined output: NaN or infinite samples in the ``normal``
    track (gaps) -> held flat at the last finite sample (the first finite one before
    it), so presence is 78 (no signal) there and no item of any
    track falls inside, with a note; no noise track -> ``snoring_events`` is None
    and a note says so; noise with NaN/inf/negative/zero values -> those values are missing
    (a note and a warning); noise values far below the room level (dropouts) -> missing
    too, counted in a note (no warning); a noise track that is empty, has no valid value
    or does not look like a level in dB (constant, linear amplitude, raw counts) ->
    ``snoring_events`` is None with a note (and a warning, but for the empty track); a
    session entirely out of bed -> presence 65, no cycles, an
    empty actigram; hum all night -> sensor status 2 throughout, the other tracks are
    computed as usual (the 10 Hz view is free of mains aliases at 140 Hz); a clipped
    sensor -> status 3 and presence 78 where it clips, no cycles there.
    """
    check_instance(session, Session, "session")
    if "normal" not in session.sampled_tracks:
        raise SignalError(
            f"session {session.id} has no 'normal' sampled track (it has "
            f"{sorted(session.sampled_tracks) or 'none'}); the tracks need the raw BCG"
        )
    raw = session.sampled_tracks["normal"]
    fs = raw.fs
    notes: list[str] = []
    x = raw.data
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x)
        if bad.any():
            good = np.flatnonzero(~bad)
            first = x[good[0]] if len(good) else 0.0
            x, n_bad = _hold_gaps(x, first)
            notes.append(_gap_note(n_bad, fs))
    x = _coerce_signal(x, "normal track")
    return _tracks_from_scan(
        _scan_part(x, fs, 0), fs, len(x), _noise_of(session), notes, beat_times=beat_times
    )


#: The noise samples and their rate (Hz), or why snoring cannot use them.
_Noise = tuple[np.ndarray, float] | str


def _noise_of(session: Session) -> _Noise:
    """The session's ``noise`` samples and rate, or why snoring cannot use them."""
    track = session.sampled_tracks.get("noise")
    if track is None:
        return "no noise track"
    if not track.loaded:
        return "noise track not loaded"
    return (track.data, track.fs)


class _ScanPart(NamedTuple):
    """What the tracks need from the raw samples, per 10 Hz block and per status window.

    Every field is computed from whole blocks / windows only, so the parts of chunks cut
    at multiples of :func:`_chunk_quantum` samples concatenate to the part of the whole
    signal, exactly (:mod:`sleepsignal.streaming` relies on it).
    """

    low: np.ndarray  # block means (10 Hz view), float64
    wmin: np.ndarray  # lowest sample of each status window, float64
    wmax: np.ndarray  # highest sample of each status window, float64
    nmin: np.ndarray  # samples equal to wmin in the window, int64
    nmax: np.ndarray  # samples equal to wmax in the window, int64
    s50: np.ndarray  # line scores of the analysed windows at the 50 Hz aliases
    s60: np.ndarray  # line scores of the analysed windows at the 60 Hz aliases


def _chunk_quantum(fs: float) -> int:
    """Samples a chunk must be a multiple of so that blocks, status windows and the
    one-in-``FFT_EVERY`` analysed windows all fall the same way as in the whole signal."""
    q, w = _scan_sizes(fs)
    return math.lcm(q, w * FFT_EVERY)


def _scan_part(x: np.ndarray, fs: float, first_window: int) -> _ScanPart:
    """The :class:`_ScanPart` of the finite samples ``x`` whose first status window is
    window ``first_window`` of the recording (0 for the whole signal)."""
    q, w = _scan_sizes(fs)
    low, wmin, wmax = _scan_kernel(x, q, w)
    nmin, nmax = _extreme_counts_kernel(x, w, wmin, wmax)
    s50, s60 = _window_scores(x, len(wmin), (-first_window) % FFT_EVERY, fs)
    return _ScanPart(low, wmin, wmax, nmin, nmax, s50, s60)


def _join_parts(parts: list[_ScanPart]) -> _ScanPart:
    """Concatenate the parts of consecutive chunks, field by field (one part as is)."""
    if len(parts) == 1:
        return parts[0]
    return _ScanPart(*(np.concatenate(f) for f in zip(*parts, strict=True)))


def _hold_gaps(x: np.ndarray, carry: float) -> tuple[np.ndarray, int]:
    """``x`` with each non-finite sample replaced by the last finite one before it
    (``carry`` before the first), and how many were replaced."""
    bad = ~np.isfinite(x)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return x, 0
    idx = np.where(bad, -1, np.arange(len(x)))
    np.maximum.accumulate(idx, out=idx)
    out = x[np.maximum(idx, 0)]
    out[idx < 0] = carry
    return out, n_bad


def _gap_note(n_bad: int, fs: float) -> str:
    return (
        f"{n_bad} samples of the normal track are NaN or infinite (gaps, {n_bad / fs:.1f} s): "
        "reported as no signal (78), no track items inside"
    )


#: Recording length above which the tracks are computed in day slices with context
#: (:mod:`sleepsignal._track_slices`), s; up to it a recording is one piece.
SLICED_ABOVE_S = 24 * 3600.0


def _flat_windows(window_status: np.ndarray, n_low: int, fs_low: float) -> np.ndarray:
    """Whether each presence window of a 10 Hz view of ``n_low`` samples overlaps a
    status window that is unclear (flat or clipped: no signal)."""
    n_pw = n_low // round(PRESENCE_WINDOW_S * fs_low)
    cum = np.concatenate([[0], np.cumsum(window_status == UNCLEAR)])
    k = np.arange(n_pw)
    lo = np.clip(np.floor(k * PRESENCE_WINDOW_S / WINDOW_S).astype(np.int64), 0, len(cum) - 1)
    hi = np.clip(np.ceil((k + 1) * PRESENCE_WINDOW_S / WINDOW_S).astype(np.int64), 0, len(cum) - 1)
    return np.asarray((cum[hi] - cum[lo]) > 0)


def _movements_in_bed(low: np.ndarray, fs_low: float, pres: Presence) -> Movements:
    """Movement bursts of the 10 Hz view, counted only in the seconds in bed."""
    sec = round(fs_low)
    n_s = max(0, (len(low) - 1) // sec)
    still = pres.mask((np.arange(n_s) + 0.5) * sec / fs_low)
    return _movements_from_low(low, fs_low, still)


def _exclusions(pres: Presence, moves: Movements, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """What breathing leaves out: the movements and every time not present (the
    complement of the present runs within ``[0, duration]`` s)."""
    a_s, a_e = pres.intervals(PRESENT)
    gap_s = np.concatenate([[0.0], a_e])
    gap_e = np.concatenate([a_s, [max(duration, 0.0)]])
    keep_gap = gap_e > gap_s
    return (
        np.concatenate([moves.starts, gap_s[keep_gap]]),
        np.concatenate([moves.ends, gap_e[keep_gap]]),
    )


def _tracks_from_scan(
    scan: _ScanPart,
    fs: float,
    n_samples: int,
    noise: _Noise | Callable[[], _Noise],
    notes: list[str],
    beat_times: np.ndarray | None = None,
) -> SessionTracks:
    """Every track from the scan of the raw samples and the noise track (or why there is
    none, or a function giving either when snoring needs it); shared by
    :func:`session_tracks` and :mod:`sleepsignal.streaming`. With
    ``beat_times`` (s from the first sample) breathing also weighs the beat intervals."""
    duration = n_samples / fs
    if duration > SLICED_ABOVE_S:
        from ._track_slices import _sliced_tracks

        bt = None if beat_times is None else _check_beat_times(beat_times)
        return _sliced_tracks(scan, fs, n_samples, noise, notes, bt)
    q, w = _scan_sizes(fs)
    low = scan.low
    fs_low = fs / q
    unclear = _unclear_from_counts(scan.wmin, scan.wmax, scan.nmin, scan.nmax, w)
    status = _status_from_features(fs, unclear, scan.s50, scan.s60)
    pres = _presence_from_low(low, fs_low, _flat_windows(status.window_status, len(low), fs_low))
    moves = _movements_in_bed(low, fs_low, pres)
    bt = None if beat_times is None else _check_beat_times(beat_times)
    breathing = _breathing_from_low(low, fs_low, _exclusions(pres, moves, duration), beat_times=bt)

    if callable(noise):
        noise = noise()  # the streamed path loads the noise track only now
    snoring: Snoring | None = None
    if isinstance(noise, str):
        notes.append(f"snoring_events omitted: {noise}")
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SleepSignalWarning)
            snoring = detect_snoring(noise[0], noise[1], breathing)
        for caught_warning in caught:
            notes.append(str(caught_warning.message))
            warn_user(str(caught_warning.message))
        notes.extend(_snoring_notes(snoring, len(noise[0])))  # dropouts; why absent
    return _assemble_tracks(breathing, moves, pres, status, snoring, duration, notes)


def _assemble_tracks(
    breathing: Breathing,
    moves: Movements,
    pres: Presence,
    status: SensorStatus,
    snoring: Snoring | None,
    duration: float,
    notes: list[str],
) -> SessionTracks:
    """The :class:`SessionTracks` of the array-level results (``duration`` in s); shared
    by the one-piece path and the day slices of :mod:`sleepsignal._track_slices`."""
    ep, counts = actigram(moves, pres, duration=duration)
    snoring_track: TimeValueTrack | None = None
    if snoring is not None and snoring.searched:  # not searched: absent, with a note
        snoring_track = TimeValueTrack(
            "snoring_events", snoring.starts, snoring.lengths.astype(np.float32), "float32"
        )
    if not (pres.window_states == PRESENT).any():
        notes.append("no time in bed detected: no breathing cycles and no actigram items")

    return SessionTracks(
        respiration_cycles=TimeValueTrack(
            "respiration_cycles", breathing.starts, breathing.lengths.astype(np.float32), "float32"
        ),
        respiration_cycle_amplitudes=TimeValueTrack(
            "respiration_cycle_amplitudes",
            breathing.starts,
            breathing.amplitudes.astype(np.float32),
            "float32",
        ),
        actigram=TimeValueTrack("actigram", ep, counts, "float32"),
        presence=TimeValueTrack("presence", pres.times, pres.states, "uint8"),
        sensor_status=TimeValueTrack("sensor_status", status.times, status.status, "uint8"),
        snoring_events=snoring_track,
        notes=notes,
        details=TrackDetails(breathing, moves, pres, status, snoring),
    )
