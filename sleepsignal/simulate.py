"""Simulated bed-sensor nights with exact ground truth.

:func:`simulate_night` builds a whole night as a Beddit-style :class:`~sleepsignal.session.Session`
(140 Hz uint16 ``normal`` BCG, 10 Hz float32 ``noise`` loudness) together with a
:class:`NightTruth`: J-peak time of every beat, onset of every breath, body movements,
bed exits, mains-hum intervals, snoring runs and the 30 s sleep stages. Beat and
breathing timing come from built-in models or from real series
(:func:`load_li2024_rr`, :func:`load_li2024_resp`). The same seed gives the same bytes.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from . import _simulate_physio as _ph
from . import _simulate_signal as _sg
from ._simulate_truth import NightTruth
from .errors import SignalError, SleepSignalWarning
from .session import DEFAULT_FRAME_LENGTH, SampledTrack, Session

__all__ = [
    "DEFAULT_START",
    "DEMO_NIGHT",
    "PROFILES",
    "NightTruth",
    "Profile",
    "SimulatedNight",
    "demo_night",
    "load_li2024_resp",
    "load_li2024_rr",
    "simulate_night",
    "write_simulated",
]

#: Default session start: 2026-01-15 22:30 in Europe/Helsinki (Unix seconds).
DEFAULT_START = 1768509000.0

Profile = Literal["cardiac", "mixed", "respiratory"]
#: Signal dominance profiles: which component dominates the bed signal.
PROFILES: tuple[str, ...] = get_args(Profile)

#: Breathing amplitude (peak to trough) relative to the J-wave amplitude, per profile.
#: Calibrated (benchmarks/accuracy_simulate.py) so that the median over 5-min windows
#: of the 0.1-0.7 Hz over the 2-15 Hz standard deviation matches the real recordings:
#: qixiuai-psg-5min 0.18 (cardiac), sadek-mfos-18min 9.6 (respiratory), and about
#: their geometric mean (1.3) for mixed.
_RESP_RATIO = {"cardiac": 0.085, "mixed": 2.0, "respiratory": 19.0}
#: J-wave amplitude in ADC counts at posture gain 1, per profile (smaller where the
#: breathing dominates, to keep its swing inside the ADC range).
_J_COUNTS = {"cardiac": 300.0, "mixed": 300.0, "respiratory": 120.0}
#: Movement burst scale in ADC counts (times a per-movement intensity).
_MOVE_COUNTS = 300.0
#: Body noise (0.7-25 Hz) rms relative to the J amplitude, before the per-night spread.
_BODY_NOISE = 0.6
#: ADC centre, sensor noise (counts rms) and slow drift (counts rms).
_CENTRE, _SENSOR_NOISE, _DRIFT = 32768.0, 4.0, 300.0
#: Rate of the ``noise`` track in Hz (2 values per 0.2 s frame).
NOISE_FS = 10.0


@dataclass(frozen=True, eq=False)
class SimulatedNight:
    """A simulated session and its ground truth.

    Attributes
    ----------
    session : Session
        Beddit-style session: ``normal`` (uint16, ``fs`` Hz) and ``noise`` (float32, 10 Hz).
    truth : NightTruth
    """

    session: Session
    truth: NightTruth


def _check_number(
    name: str, value: Any, *, low: float, high: float, low_open: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SignalError(f"{name} must be a finite number, got {value!r}")
    v = float(value)
    if v < low or v > high or (low_open and v == low):
        lo = "(" if low_open else "["
        raise SignalError(f"{name} must be in {lo}{low:g}, {high:g}], got {value!r}")
    return v


def _check_series(name: str, a: Any) -> np.ndarray:
    x = np.asarray(a, dtype=np.float64) if a is not None else np.empty(0)
    if x.ndim != 1 or len(x) < 2:
        raise SignalError(f"{name} must be a 1-D array of at least 2 values, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise SignalError(f"{name} holds {int(np.sum(~np.isfinite(x)))} non-finite values")
    return x


def simulate_night(
    hours: float,
    *,
    seed: int,
    fs: float = 140.0,
    start: float = DEFAULT_START,
    timezone: str = "Europe/Helsinki",
    rr: np.ndarray | None = None,
    resp: np.ndarray | None = None,
    resp_fs: float | None = None,
    mains_hz: float | None = None,
    profile: Profile = "mixed",
    bed_exits: int | None = None,
    sleep_onset: float | None = None,
    movement_rate: float = 1.0,
    snoring_rate: float = 1.0,
    mains_rate: float = 1.0,
    ectopic_rate: float = 1.0,
    body_noise: float = 0.25,
    beat_drift: float = 0.0,
) -> SimulatedNight:
    """Simulate a night on a bed sensor, with exact ground truth.

    Parameters
    ----------
    hours : float
        Length of the session in hours (0 < hours <= 24); rounded to whole 0.2 s frames.
    seed : int
        Seed (>= 0). The same arguments and seed give the same bytes.
    fs : float
        BCG sampling rate in Hz: a multiple of 5 Hz (whole samples per 0.2 s frame)
        between 50 and 2000. Beddit uses 140.
    start : float
        Session start, Unix seconds (default 2026-01-15 22:30 Helsinki time).
    timezone : str
        IANA time zone written into the session.
    rr : array_like, optional
        Real beat-to-beat intervals (s) driving the beat times: the first beat falls in
        the first second, then ``beat[i + 1] = beat[i] + rr[i]`` exactly. Must cover the
        night. Default: built-in heart-rate model (stage-dependent, with respiratory sinus
        arrhythmia, integral pulse frequency modulation).
    resp : array_like, optional
        Real breathing-belt signal driving the breathing component (with ``resp_fs``).
        Its 0.08-1 Hz band, scaled, is the breathing in the BCG, and the cycle onsets are
        its troughs that survive depth simplification (the shallowest trough-peak pair
        removed repeatedly while shallower than 0.3 x the local breath size over 5 min;
        "count-adv" of Schafer & Kratky 2008 with a local threshold). Must cover the
        night. Default: built-in breathing model. The subject's own movements recorded
        by the belt become movements of the night (see Notes, step 6).
    resp_fs : float, optional
        Rate of ``resp`` in Hz; required with ``resp``.
    mains_hz : float, optional
        50 or 60 for hum at that frequency, 0 for none; None draws 50, 60 or none.
    profile : {"cardiac", "mixed", "respiratory"}
        Which component dominates the bed signal: the heartbeat (like
        ``qixiuai-psg-5min``), breathing (like ``sadek-mfos-18min``), or in between.
    bed_exits : int, optional
        Number of bed exits (1-8 min each, at least 10 min apart, after sleep onset);
        None draws 0, 1 or 2. When fewer fit in the night, a ``SleepSignalWarning``
        says how many were made.
    sleep_onset : float, optional
        Sleep-onset latency in s; None draws one (median 12 min).
    movement_rate, snoring_rate, mains_rate, ectopic_rate : float
        Multipliers (>= 0) of the built-in event rates; 0 turns the events off
        (``movement_rate`` scales the simulator's own random movements; a belt's
        movements are added whatever it is, and the movements at bed exits stay). Half
        the nights have no premature beats, the others a few per hour (built-in
        heart model only: a real ``rr`` series keeps its own).
    body_noise : float
        Multiplier (>= 0) of the body noise in the cardiac band (0.7-25 Hz). The noise is
        drawn independently for every beat, while on a real mattress neighbouring beats
        share a slowly drifting shape; the default 0.25 matches the real recording's
        neighbour statistics (single beat vs its 16 neighbours' average r 0.96, consecutive
        beats r 0.92; ``benchmarks/realism_heartbeats.py``). 1.0 matches the real
        whole-night spread of single beats (r ~0.5) but makes neighbours far less alike
        than real ones; 0 gives textbook-clean beats.
    beat_drift : float
        Multiplier (>= 0) of a slow drift of the beat shape: every lobe but J changes
        its size, position and width along slow random walks over about 100 beats, so
        neighbouring beats stay alike while the shape wanders over the night, as on a
        real mattress. 0 (default) keeps the shape of a posture fixed. With
        ``beat_drift=1, body_noise=0.2`` the single-beat statistics of
        ``benchmarks/realism_heartbeats.py`` are closest to the real recording's.

    Returns
    -------
    SimulatedNight
        ``.session`` (``normal`` uint16 at ``fs``, ``noise`` float32 at 10 Hz) and
        ``.truth`` (:class:`NightTruth`).

    Raises
    ------
    SignalError
        For an argument outside its range, an unknown profile, or ``rr`` / ``resp``
        that are not finite 1-D series covering the night.

    Warns
    -----
    SleepSignalWarning
        When the night is too short for the ``bed_exits`` asked for.

    Notes
    -----
    1. Stages: wake until sleep onset, then ~90 min cycles (light, deep, light, REM)
       with deep sleep shrinking and REM growing cycle by cycle, brief awakenings, a
       final awakening, 0-2 bed exits (stage 4 for epochs at least half away).
    2. Breathing: a stage-dependent rate with stage-dependent irregularity is
       integrated into a phase; a cycle starts at each integer phase. Per-cycle
       amplitude varies (more in REM/wake), with rare sighs.
    3. Heart: a heart-rate curve (stage offsets, slow drift, 0.1 Hz waves, respiratory
       sinus arrhythmia) drives an integral pulse frequency modulation model [1]_; beat
       times get 6 ms jitter; a few beats come early (premature, with a compensatory
       pause and a different amplitude), listed in ``truth.ectopic``.
    4. BCG: each beat is a six-lobe H-I-J-K-L-M complex [2]_ centred on the J peak;
       lobe sizes, timing and widths, overall gain (x0.3-x3) and polarity change with
       posture at movements; beat amplitude is modulated by breathing and jittered.
       Breathing is added as a baseline wave; snoring adds inspiration-locked
       vibration. Body movements are band-limited bursts (they clip when strong); the
       bed is empty (sensor noise and drift only) while away; hum is the true 50/60 Hz
       tone plus harmonics evaluated at the sample instants (aliasing included);
       drift and sensor noise are added and the sum is rounded to uint16 counts
       around 32768 and clipped to 0..65535.
    5. Noise track: room floor in dB, snores on inspiration in snoring runs, rustling
       during movements, random room noises.
    6. With ``resp``: the real subject moved when the belt did. Those intervals
       (:func:`sleepsignal._simulate_physio.belt_movements`: the belt's 2 s rms above
       2 Hz, where breathing has no energy, over 5x a robust reference, extended while
       over 2x or while the breathing band is out of range, runs < 5 s apart joined,
       1 s pad) minus the bed exits are movements like the model's own: a burst in the
       BCG with an intensity drawn as theirs, a new posture for about a third of them
       (and for every intensity >= 30), rustling in the noise track, and listed in
       ``truth.movements`` (merged with the model's own, sorted, disjoint). The
       model's own movements stay (they follow the simulated stages and bed exits,
       which the belt does not know); ``movement_rate=0`` leaves the belt's alone.
       Everything the belt's movements draw comes from a generator of their own, so
       every other random stream of a belt night is as before they existed.

    References
    ----------
    .. [1] Bayly E.J. (1968). Spectral analysis of pulse frequency modulation in the
       nervous systems. Biological Cybernetics 5, 1-7.
    .. [2] Inan O.T. et al. (2015). Ballistocardiography and seismocardiography: a
       review of recent advances. IEEE J Biomed Health Inform 19(4), 1414-1427.

    Examples
    --------
    >>> night = simulate_night(0.05, seed=1)
    >>> night.session.signal("normal")[1]
    140.0
    >>> bool(np.all(np.diff(night.truth.beat_times) > 0))
    True
    """
    hours = _check_number("hours", hours, low=0.0, high=24.0, low_open=True)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise SignalError(f"seed must be a non-negative integer, got {seed!r}")
    fs = _check_number("fs", fs, low=50.0, high=2000.0)
    spf_f = fs * DEFAULT_FRAME_LENGTH
    if abs(spf_f - round(spf_f)) > 1e-9:
        raise SignalError(
            f"fs={fs!r} Hz does not give whole samples per {DEFAULT_FRAME_LENGTH} s frame; "
            "use a multiple of 5 Hz (Beddit: 140)"
        )
    start = _check_number("start", start, low=0.0, high=1e11)
    if profile not in PROFILES:
        raise SignalError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    if mains_hz is not None and mains_hz not in (0, 50, 60):
        raise SignalError(f"mains_hz must be None, 0 (no hum), 50 or 60; got {mains_hz!r}")
    if bed_exits is not None and (
        isinstance(bed_exits, bool)
        or not isinstance(bed_exits, numbers.Integral)
        or not 0 <= bed_exits <= 10
    ):
        raise SignalError(f"bed_exits must be None or an integer 0..10, got {bed_exits!r}")
    if sleep_onset is not None:
        sleep_onset = _check_number("sleep_onset", sleep_onset, low=0.0, high=24 * 3600.0)
    rates = {}
    for name, v in (
        ("movement_rate", movement_rate),
        ("snoring_rate", snoring_rate),
        ("mains_rate", mains_rate),
        ("ectopic_rate", ectopic_rate),
        ("body_noise", body_noise),
        ("beat_drift", beat_drift),
    ):
        rates[name] = _check_number(name, v, low=0.0, high=100.0)

    spf = round(spf_f)
    n_frames = round(hours * 3600.0 / DEFAULT_FRAME_LENGTH)
    if n_frames < 1:
        raise SignalError(f"hours={hours!r} is shorter than one 0.2 s frame")
    n = n_frames * spf
    duration = n / fs

    rr_a = None if rr is None else _check_series("rr", rr)
    if rr_a is not None and np.any(rr_a <= 0):
        raise SignalError("rr intervals must be positive seconds")
    resp_a = None
    if resp is not None:
        resp_a = _check_series("resp", resp)
        if resp_fs is None:
            raise SignalError("resp_fs (Hz) is required when resp is given")
        resp_fs = _check_number("resp_fs", resp_fs, low=1.0, high=10000.0)
        if len(resp_a) / resp_fs < duration:
            raise SignalError(
                f"resp covers {len(resp_a) / resp_fs:.0f} s but the night is {duration:.0f} s; "
                f"ask for at most hours={len(resp_a) / resp_fs / 3600:.3f}"
            )

    # children 0-13 draw what every night has; 14 only the optional beat-shape drift, 15
    # only what the belt's own movements need, so a night without drift or belt is the
    # same bytes as before those options existed (spawn(16)[:15] == spawn(15))
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(16)]
    if mains_hz is None:
        mains_hz = float(rngs[0].choice([50.0, 60.0, 0.0], p=[0.45, 0.35, 0.2]))
    ev = _ph.make_events(
        duration,
        rngs[1],
        onset=sleep_onset,
        bed_exits=None if bed_exits is None else int(bed_exits),
        movement_rate=rates["movement_rate"],
        snoring_rate=rates["snoring_rate"],
        mains_hz=float(mains_hz),
        mains_rate=rates["mains_rate"],
    )

    if bed_exits is not None and len(ev.away) < bed_exits:
        warnings.warn(
            f"only {len(ev.away)} of the {bed_exits} bed exits asked for fit in a "
            f"{duration / 3600:g} h night (each 1-8 min, 10 min apart, after sleep onset)",
            SleepSignalWarning,
            stacklevel=2,
        )
    # the subject's own movements, seen by the belt (nothing moves on an empty bed)
    mv_own = ev.movements_raw
    mv_belt = np.empty((0, 3))
    posture_times = ev.posture_times
    if resp_a is not None:
        bm = _ph._subtract(_ph.belt_movements(resp_a, float(resp_fs), duration), ev.away)
        r15 = rngs[15]
        # intensity and posture change drawn as the movement model draws them
        amp_b = r15.lognormal(math.log(8.0), 1.0, len(bm))
        mv_belt = np.column_stack([bm, amp_b])
        turn = (r15.random(len(bm)) < 0.35) | (amp_b >= 30.0)
        posture_times = np.concatenate([ev.posture_times, bm[turn].mean(axis=1)])
    # -- breathing: phase on the control grid, cycle starts, per-sample wave -------
    t_fs = np.arange(n) / fs
    if resp_a is None:
        phase_g, starts, cyc_amp = _ph.breathing_builtin(duration, ev.stages, rngs[2])
        t_g = np.arange(len(phase_g)) / _ph.GRID_FS
        ph = np.interp(t_fs, t_g, phase_g)
        c = np.floor(ph).astype(np.int64)
        u = ph - c
        breath = cyc_amp[c - math.floor(phase_g[0])]
        del c
        breath *= _sg.breath_wave(u)
        breath -= 0.45
    else:
        belt, starts = _ph.belt_breathing(resp_a, float(resp_fs), duration)
        t_b = np.arange(len(belt)) / float(resp_fs)
        breath = np.interp(t_fs, t_b, belt)
        n_g = int(duration * _ph.GRID_FS) + 2
        t_g = np.arange(n_g) / _ph.GRID_FS
        phase_g = _ph.phase_from_starts(t_g, starts)
        ph = np.interp(t_fs, t_g, phase_g)
        u = ph - np.floor(ph)
    del ph

    # -- heart ---------------------------------------------------------------------
    if rr_a is None:
        hr = _ph.heart_rate_grid(duration, ev.stages, phase_g, rngs[3])
        beats = _ph.beats_ipfm(hr, rngs[4])
        r12 = rngs[12]
        per_hour = 0.0 if r12.random() < 0.5 else float(r12.lognormal(math.log(4.0), 0.8))
        beats, ectopic = _ph.premature_beats(beats, per_hour * rates["ectopic_rate"], r12)
    else:
        beats = rngs[4].uniform(0.2, 1.0) + np.concatenate([[0.0], np.cumsum(rr_a)])
        if beats[-1] < duration - 3.0:
            cover = beats[-1]
            raise SignalError(
                f"rr covers {cover:.0f} s but the night is {duration:.0f} s; ask for at most "
                f"hours={cover / 3600:.3f}"
            )
        ectopic = np.zeros(len(beats), dtype=bool)
    keep = (beats >= 0) & (beats < duration)
    keep[keep] = ~_ph.inside(beats[keep], ev.away)
    beats, ectopic = beats[keep], ectopic[keep]
    starts = starts[(starts >= 0) & (starts < duration)]
    starts = starts[~_ph.inside(starts, ev.away)]

    # -- render the BCG ------------------------------------------------------------
    lo_d = 0.75 if profile == "cardiac" else 0.0  # the cardiac reference is damped
    damping = float(rngs[5].uniform(lo_d, 1.0))
    post = _sg.postures(len(ev.posture_times) + 1, damping, rngs[5])
    if len(posture_times) > len(ev.posture_times):
        # the belt movements' new postures (drawn from their own generator) slot in
        # between the model's, in time order
        extra = _sg.postures(len(posture_times) - len(ev.posture_times) + 1, damping, rngs[15])
        order = np.argsort(posture_times, kind="stable")
        post = {
            k: np.concatenate([post[k][:1], np.concatenate([post[k][1:], extra[k][1:]])[order]])
            for k in post
        }
        posture_times = posture_times[order]
    seg_b = np.searchsorted(posture_times, beats, side="right")
    u_b = np.interp(beats, t_fs, u) if n > 1 else np.zeros(len(beats))
    beat_scale = (1 + 0.07 * rngs[6].standard_normal(len(beats))) * (
        1 + 0.2 * (_sg.breath_wave(u_b) - 0.5)
    )
    beat_scale[ectopic] *= rngs[12].uniform(0.5, 1.5, int(ectopic.sum()))  # other shape
    card = _sg.render_beats(
        n, fs, beats, seg_b, post, beat_scale, rngs[6], rates["beat_drift"], rngs[14]
    )
    bounds = np.searchsorted(t_fs, posture_times)
    seg_len = np.diff(np.concatenate([[0], bounds, [n]]))
    # phys = J * (card + ratio * resp_gain * breath), in place (same bits)
    phys = np.repeat(post["resp"] * post["gain"], seg_len)
    phys *= _RESP_RATIO[profile]
    phys *= breath
    del breath
    phys += card
    del card
    phys *= _J_COUNTS[profile]
    # snoring vibration (25-60 Hz) on inspiration; a sensor sampled at fs <= 66 Hz
    # (its anti-alias filter) does not see it
    for s, e in ev.snoring if 0.45 * fs > 30.0 else ():
        i0, i1 = int(s * fs), min(n, math.ceil(e * fs))
        if i1 - i0 < 10:
            continue
        uu = u[i0:i1]
        env = np.where(uu < _sg.INSPIRATION, np.sin(np.pi * uu / _sg.INSPIRATION), 0.0)
        vib = _sg.band_noise(i1 - i0, fs, (25.0, 60.0), rngs[7])
        seg = np.searchsorted(bounds, np.arange(i0, i1), side="right")
        phys[i0:i1] += 0.25 * _J_COUNTS[profile] * post["gain"][seg] * env * vib
    # body noise: what a body on a mattress adds in the cardiac band besides the beat
    # complex (other vibrations, mattress resonance); its level is calibrated on the
    # single-beat consistency of a real recording (see benchmarks/accuracy_simulate.py)
    r13 = rngs[13]
    level = _BODY_NOISE * rates["body_noise"] * float(r13.lognormal(0.0, 0.35))
    if level > 0:
        body = _sg.band_noise(n, fs, (0.7, 25.0), r13)
        body *= np.repeat(post["gain"], seg_len)
        body *= level * _J_COUNTS[profile]
        phys += body
        del body
    for s, e in ev.away:  # an empty bed: no heart, no breathing, no body
        phys[math.ceil(s * fs) : math.ceil(e * fs)] = 0.0

    mv = np.concatenate([mv_own, mv_belt]) if len(mv_belt) else mv_own
    r10 = rngs[10]
    # x = centre + drift + phys + moving + mains + sensor, summed in place in that order
    x = _ph.slow_noise(n, fs, 60.0, r10)
    x *= _DRIFT
    x += r10.uniform(-1500.0, 1500.0)
    x += _CENTRE
    x += phys
    del phys
    moving = _sg.band_noise(n, fs, (0.3, 8.0), rngs[8])
    moving *= _sg.envelope(n, fs, mv[:, :2], mv[:, 2] * _MOVE_COUNTS)
    x += moving
    del moving
    hum_amp = rngs[9].uniform(8.0, 40.0, len(ev.mains))
    x += _sg.hum(n, fs, ev.mains, float(mains_hz), hum_amp, rngs[9])
    sensor = r10.standard_normal(n)
    sensor *= _SENSOR_NOISE
    x += sensor
    del sensor
    np.rint(x, out=x)
    np.clip(x, 0, 65535, out=x)
    normal = x.astype("<u2")
    del x

    n_noise = n_frames * round(NOISE_FS * DEFAULT_FRAME_LENGTH)
    t_noise = (np.arange(n_noise) + 0.5) / NOISE_FS
    u_noise = np.interp(t_noise, t_fs, u)
    noise = _sg.noise_track(
        n_noise, NOISE_FS, u_noise, ev.snoring, mv_own, rngs[11], mv_belt, rngs[15]
    )

    session = Session.from_array(
        normal,
        fs,
        start=start,
        timezone=timezone,
        noise=noise,
        noise_fs=NOISE_FS,
        hardware="sleepsignal simulator",
        software="sleepsignal.simulate",
        simulation={
            "seed": int(seed),
            "profile": profile,
            "mains_hz": float(mains_hz),
            "driven_by": {"rr": rr is not None, "resp": resp is not None},
        },
    )
    truth = NightTruth(
        beat_times=beats,
        rj_delay=float(rngs[0].uniform(0.18, 0.26)),
        breath_starts=starts,
        movements=_ph.merge_intervals(mv[:, :2]),
        away=ev.away,
        mains=ev.mains,
        mains_hz=np.full(len(ev.mains), float(mains_hz)),
        snoring=ev.snoring,
        stages=ev.stages,
        ectopic=beats[ectopic],
    )
    return SimulatedNight(session, truth)


#: The arguments of the committed demo night ``data/fixtures/demo_session`` (seed 7,
#: 30 minutes chosen so that every track has something to find: a short bed exit, body
#: movements, 50 Hz hum and snoring).
DEMO_NIGHT: dict[str, Any] = {
    "hours": 0.5,
    "seed": 7,
    "profile": "mixed",
    "sleep_onset": 240.0,
    "bed_exits": 1,
    "mains_hz": 50.0,
    "movement_rate": 1.5,
    "snoring_rate": 6.0,
    "mains_rate": 2.0,
}


def demo_night() -> SimulatedNight:
    """The demo night (:data:`DEMO_NIGHT`), byte for byte the committed fixture."""
    args = dict(DEMO_NIGHT)
    return simulate_night(args.pop("hours"), **args)


def load_li2024_rr(path: str | Path) -> np.ndarray:
    """Beat-to-beat intervals (s) of one li2024 chest-strap night (``*_RR.csv.gz``).

    Dropouts and ectopic beats are kept as recorded.

    Raises
    ------
    SignalError
        When the file lacks the ``RR Interval in seconds`` column.
    """
    import pandas as pd

    df = pd.read_csv(path)
    col = "RR Interval in seconds"
    if col not in df.columns:
        raise SignalError(f"{path}: no {col!r} column (found {list(df.columns)})")
    return df[col].to_numpy(dtype=np.float64)


def load_li2024_resp(path: str | Path) -> tuple[np.ndarray, float]:
    """Breathing-belt samples and their rate in Hz of one li2024 night (``*_resp.csv.gz``).

    Raises
    ------
    SignalError
        When the file lacks the ``Resp`` or ``fs`` column.
    """
    import pandas as pd

    df = pd.read_csv(path)
    if "Resp" not in df.columns or "fs" not in df.columns:
        raise SignalError(f"{path}: expected columns Resp, Timestamp, fs; found {list(df.columns)}")
    return df["Resp"].to_numpy(dtype=np.float64), float(df["fs"].iloc[0])


def write_simulated(night: SimulatedNight, out_dir: str | Path) -> Path:
    """Write a simulated night as a Beddit session folder plus ``truth.json``.

    The layout is the documented Beddit one, written by
    :func:`sleepsignal.io.beddit.write_session`: ``session.json`` (with the
    ``data_url`` of each sampled track relative to the folder), ``normal.bin``
    (little-endian uint16 frames) and ``noise.bin`` (little-endian float32); plus
    ``truth.json`` (:meth:`NightTruth.to_json`). Read it back with
    :func:`sleepsignal.read_session` and :meth:`NightTruth.load`.

    Parameters
    ----------
    night : SimulatedNight
    out_dir : str or Path
        Folder to create (or reuse).

    Returns
    -------
    Path
        The folder.
    """
    from .io.beddit import write_session

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = night.session
    named = [
        SampledTrack(
            t.name,
            t.data,
            t.samples_per_frame,
            t.frame_length,
            t.start,
            t.data_type,
            {**t.extra, "data_url": f"{t.name}.bin"},
        )
        for t in s.sampled_tracks.values()
    ]
    write_session(s.with_tracks(sampled_tracks=named), out / "session.json")
    night.truth.save(out / "truth.json")
    return out
