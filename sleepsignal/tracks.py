"""One entry point: every non-heartbeat session track from a session's raw tracks.

:func:`session_tracks` reads the ``normal`` (BCG) and ``noise`` sampled tracks of a
:class:`~sleepsignal.session.Session` and returns the Beddit Session tracks
``respiration_cycles``, ``respiration_cycle_amplitudes``, ``actigram``, ``sensor_status``
and ``snoring_events``, plus a non-standard ``presence`` track, as
:class:`~sleepsignal.session.TimeValueTrack` objects (times in s relative to the session
start).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from ._track_kernels import _coerce_signal, _scan_kernel
from .activity import (
    PRESENCE_WINDOW_S,
    PRESENT,
    Movements,
    Presence,
    _movements_from_low,
    _presence_from_low,
    actigram,
)
from .errors import SignalError, SleepSignalWarning
from .mains import UNCLEAR, SensorStatus, _scan_sizes, _status_from_scan
from .respiration import Breathing, _breathing_from_low, respiration_rate
from .session import Session, TimeValueTrack
from .snoring import Snoring, detect_snoring

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
        ``[t, length_s]``, float32; None when the session has no noise track.
    notes : list of str
        What was left out and why (missing noise track, bad noise values, no signal).
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

    Bad input, each with a defined output: NaN or infinite samples in the ``normal``
    track (gaps) -> held flat, so presence is 78 (no signal) there and no item of any
    track falls inside, with a note; no noise track -> ``snoring_events`` is None
    and a note says so; noise with NaN/inf/negative values -> those values are missing
    (a note and a warning); a session entirely out of bed -> presence 65, no cycles, an
    empty actigram; hum all night -> sensor status 2 throughout, the other tracks are
    computed as usual (the 10 Hz view is free of mains aliases at 140 Hz); a clipped
    sensor -> status 3 and presence 78 where it clips, no cycles there.
    """
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
            # A gap (a lost BT2 packet, NaN in a float blob) is held flat: the flat-window
            # rule of the sensor status then makes it "no signal" for presence, so no
            # cycle, movement or actigram item is found inside it.
            fill = float(np.median(x[~bad])) if not bad.all() else 0.0
            x = np.where(bad, np.asarray(fill, dtype=x.dtype), x)
            notes.append(
                f"{int(bad.sum())} samples of the normal track are NaN or infinite (gaps, "
                f"{bad.sum() / fs:.1f} s): reported as no signal (78), no track items inside"
            )
    x = _coerce_signal(x, "normal track")
    duration = len(x) / fs

    q, w = _scan_sizes(fs)
    low, wmin, wmax = _scan_kernel(x, q, w)
    fs_low = fs / q
    status = _status_from_scan(x, fs, wmin, wmax, float(np.mean(low)) if len(low) else 0.0)
    # presence windows that overlap an unclear status window have no signal
    n_pw = len(low) // round(PRESENCE_WINDOW_S * fs_low)
    cum = np.concatenate([[0], np.cumsum(status.window_status == UNCLEAR)])
    k = np.arange(n_pw)
    lo = np.clip(
        np.floor(k * PRESENCE_WINDOW_S / status.window_s).astype(np.int64), 0, len(cum) - 1
    )
    hi = np.clip(
        np.ceil((k + 1) * PRESENCE_WINDOW_S / status.window_s).astype(np.int64), 0, len(cum) - 1
    )
    flat = (cum[hi] - cum[lo]) > 0
    pres = _presence_from_low(low, fs_low, flat)

    sec = round(fs_low)
    n_s = max(0, (len(low) - 1) // sec)
    still = pres.mask((np.arange(n_s) + 0.5) * sec / fs_low)
    moves = _movements_from_low(low, fs_low, still)

    a_s, a_e = pres.intervals(PRESENT)
    # exclude everything not present: complement of the present runs within [0, duration]
    gap_s = np.concatenate([[0.0], a_e])
    gap_e = np.concatenate([a_s, [max(duration, 0.0)]])
    keep_gap = gap_e > gap_s
    ex_s = np.concatenate([moves.starts, gap_s[keep_gap]])
    ex_e = np.concatenate([moves.ends, gap_e[keep_gap]])
    bt = None
    if beat_times is not None:
        bt = np.asarray(beat_times, dtype=np.float64).reshape(-1)
        bt = np.sort(bt[np.isfinite(bt)])
    breathing = _breathing_from_low(low, fs_low, (ex_s, ex_e), beat_times=bt)

    ep, counts = actigram(moves, pres, duration=duration)

    snoring: Snoring | None = None
    snoring_track: TimeValueTrack | None = None
    noise_track = session.sampled_tracks.get("noise")
    if noise_track is None or not noise_track.loaded:
        why = "no noise track" if noise_track is None else "noise track not loaded"
        notes.append(f"snoring_events omitted: {why}")
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SleepSignalWarning)
            snoring = detect_snoring(noise_track.data, noise_track.fs, breathing)
        for caught_warning in caught:
            notes.append(str(caught_warning.message))
            warnings.warn(str(caught_warning.message), SleepSignalWarning, stacklevel=2)
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
