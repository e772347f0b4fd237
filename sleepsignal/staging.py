"""30 s sleep stages from a session's time-value tracks.

Entry points:

* :func:`stage_session` — a :class:`~sleepsignal.session.Session` in, a
  :class:`~sleepsignal.hypnogram.Hypnogram` out (the pipeline/CLI call). It works on
  whatever tracks the session carries and never fails on a session that cannot be
  staged: it returns ``no_signal`` epochs and says why in ``info["message"]``.
* :func:`stage_epochs` — the same on plain arrays, for researchers.
* :func:`hypnogram_csv` / :func:`write_hypnogram_csv` — the ``hypnogram.csv`` contract
  (header ``start,end,stage``, Unix seconds, one row per 30 s epoch).

Model (fitted by ``scripts/train_staging.py``, shipped as ``data/staging_model.npz`` and
loaded with numpy only):

1. Features per 30 s epoch from what the tracks give (see
   :mod:`sleepsignal._staging_features`): with ``heartbeat``, heart-rate level and
   10-minute trend, RMSSD over 90 s and 270 s, SDNN, SDNN/RMSSD, pNN50, VLF/LF/HF
   power and LF/HF over 256 s, time since start, and ECG-derived respiration from the
   beat intervals (respiratory sinus arrhythmia over 32 s: breathing rate, spectral
   entropy and peak share as irregularity/regularity, rate variability); with only
   ``heart_rate``, the heart-rate subset. Every base feature is rank-normalised
   within the night (percentiles) and taken at several scales: the epoch, centred
   means over 5.5 and 10.5 min, the difference to the centred 1-hour median, and
   trailing means over 5.5 and 10.5 min.
2. A multinomial logistic regression (4 classes wake/light/deep/rem) trained on the 13
   slpdb nights gives ``p(stage | features)``.
3. A hidden Markov model smooths the epochs: the transition matrix between the 4 stages
   is counted on 151 HMC whole-night hypnograms; emissions are ``p / prior**a``
   (``a`` per model, 0 = posteriors, 1 = the usual hybrid scaled likelihood; chosen by
   leave-one-subject-out, see ``benchmarks/accuracy_staging.py``);
   forward-backward gives the per-epoch probabilities, their argmax the stage.
4. ``away`` and ``no_signal`` come from the ``presence`` track (65 / 78), from
   ``sensor_status`` (3 unclear -> ``no_signal``, but only on epochs that no heart,
   breathing or movement item falls in; 2 mains interference is hum that the kernels
   filter, so it never makes an epoch ``no_signal`` by itself), and, without
   ``presence``, from stretches of more than :data:`NO_DATA_GAP` s without any track
   data (``no_signal``). The HMM runs separately on each stretch of present epochs.
5. Without heart data, the actigraphy rule :func:`actigraphy_sleep_wake` (Cole-Kripke
   form) gives wake/sleep only; sleep epochs are reported as ``light`` and
   ``info["model"]`` says ``"actigraphy"``.
6. ``restless`` marks sleep epochs whose movement count (actigram, per 60 s item, half
   to each 30 s epoch) is at least :data:`RESTLESS_COUNT`.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from . import _staging_features as _f
from ._numba import njit
from ._validate import check_instance, is_integer
from .errors import SignalError
from .hypnogram import AWAY, DEEP, EPOCH_LENGTH, LIGHT, NO_SIGNAL, REM, STAGES, WAKE, Hypnogram

__all__ = [
    "MODEL_PATH",
    "NO_DATA_GAP",
    "RESTLESS_COUNT",
    "EpochStages",
    "actigraphy_sleep_wake",
    "hypnogram_csv",
    "stage_epochs",
    "stage_session",
    "write_hypnogram_csv",
]

MODEL_PATH = Path(__file__).resolve().parent / "data" / "staging_model.npz"
#: A stretch longer than this (s) with no data in any track is ``no_signal``.
NO_DATA_GAP = 300.0
#: Movements per 30 s epoch from which a sleep epoch is ``restless``.
RESTLESS_COUNT = 1.0
#: Minimum share of present epochs with NN intervals for the heartbeat model.
MIN_HEART_COVERAGE = 0.2
#: Cole-Kripke weights for epochs t-4 .. t+2 (1-min epochs), relative.
COLE_KRIPKE_WEIGHTS = np.array([106.0, 54.0, 58.0, 76.0, 230.0, 74.0, 67.0])
#: Weighted movements per minute at or above which an epoch is wake (actigraphy rule).
#: Chosen on simulated nights (seeds 10-13) from the grid 0.25..2, checked on seeds 14-15
#: (``python benchmarks/accuracy_staging.py --actigraphy``); no real staged night with
#: bed-sensor movement counts exists to refit it.
ACTIGRAPHY_THRESHOLD = 0.5

Method = Literal["auto", "heartbeat", "heart_rate", "actigraphy"]
_METHODS = ("auto", "heartbeat", "heart_rate", "actigraphy")
_METHOD_TRACK = {"heartbeat": "heartbeat", "heart_rate": "heart_rate", "actigraphy": "actigram"}

Pair = tuple[np.ndarray, np.ndarray]


class EpochStages(NamedTuple):
    """Result of :func:`stage_epochs`.

    Attributes
    ----------
    stages : numpy.ndarray
        int8 stage code per epoch (index into :data:`~sleepsignal.hypnogram.STAGES`).
    probabilities : numpy.ndarray or None
        ``(n_epochs, 4)`` wake/light/deep/rem probabilities, NaN on away/no-signal
        epochs; ``None`` for the actigraphy rule and when nothing could be staged.
    restless : numpy.ndarray
        bool per epoch.
    model : str
        ``"heartbeat"``, ``"heart_rate"``, ``"actigraphy"`` or ``"none"``.
    inputs : tuple of str
        Tracks that were used.
    message : str
        Empty, or why the night could not be staged (fully or partly).
    """

    stages: np.ndarray
    probabilities: np.ndarray | None
    restless: np.ndarray
    model: str
    inputs: tuple[str, ...]
    message: str


@lru_cache(maxsize=4)
def _load_model(path: str) -> Mapping[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _model() -> Mapping[str, np.ndarray]:
    return _load_model(str(MODEL_PATH))


_MAX_EPOCHS = 10**7  # 9.5 years of 30 s epochs; more is a unit mistake
_MAX_TIME = 1e12  # s (31,700 years): track times beyond are not session-relative


def _pair(value: Any, name: str) -> Pair | None:
    if value is None:
        return None
    try:
        t, v = value
    except (TypeError, ValueError):
        raise SignalError(
            f"{name} must be a (times, values) pair of arrays, got {type(value)}"
        ) from None
    try:
        t, v = np.asarray(t), np.asarray(v)
        if t.dtype.kind not in "buif" or v.dtype.kind not in "buif":  # complex: no silent cast
            raise TypeError
        t = t.astype(np.float64)
        v = v.astype(np.float64)
    except (TypeError, ValueError):
        raise SignalError(f"{name}: times and values must be numeric arrays") from None
    if t.ndim != 1 or v.shape != t.shape:
        raise SignalError(
            f"{name}: times and values must be 1-D of equal length, got {t.shape} and {v.shape}"
        )
    # times become epoch indices (int64): NaN, inf or absurd times cannot
    far = ~(np.abs(t) <= _MAX_TIME)
    if far.any():
        i = int(np.argmax(far))
        raise SignalError(
            f"{name}: times must be finite s from the session start within +-{_MAX_TIME:g}, "
            f"got {float(t[i])!r} at item {i}"
        )
    order = np.argsort(t, kind="stable")
    return t[order], v[order]


def _step_state(times: np.ndarray, codes: np.ndarray, n_epochs: int, default: float) -> np.ndarray:
    """Value of a change-point track at every epoch midpoint (``default`` before the first)."""
    mids = (np.arange(n_epochs) + 0.5) * EPOCH_LENGTH
    i = np.searchsorted(times, mids, side="right") - 1
    return np.where(i >= 0, codes[np.maximum(i, 0)], default)


def _data_coverage(pairs: list[Pair], n_epochs: int, spread: bool = True) -> np.ndarray:
    """True for epochs with a data item of any track (within :data:`NO_DATA_GAP` / 2 of
    one when ``spread``)."""
    have = np.zeros(n_epochs, dtype=bool)
    for t, _ in pairs:
        ep = np.floor(t / EPOCH_LENGTH).astype(np.int64)
        ep = ep[(ep >= 0) & (ep < n_epochs)]
        have[ep] = True
    half = int(NO_DATA_GAP / EPOCH_LENGTH / 2)
    if spread and half and n_epochs:
        full = np.convolve(have.astype(np.float64), np.ones(2 * half + 1))
        have = full[half : half + n_epochs] > 0.5
    return have


def actigraphy_sleep_wake(counts: np.ndarray) -> np.ndarray:
    """Wake (True) / sleep (False) per 30 s epoch from movement counts (Cole-Kripke form).

    Parameters
    ----------
    counts : numpy.ndarray
        Movements per 30 s epoch (NaN where unknown, treated as 0).

    Returns
    -------
    numpy.ndarray
        bool, True for wake.

    Notes
    -----
    1. Counts are summed to 1-min epochs (pairs of 30 s epochs, centred).
    2. ``D = sum_k w_k A_{t+k} / sum_k w_k`` over minutes ``t-4 .. t+2`` with the
       relative Cole-Kripke (1992) weights :data:`COLE_KRIPKE_WEIGHTS`.
    3. Wake when ``D >= ACTIGRAPHY_THRESHOLD`` movements per minute.

    The weights are Cole-Kripke's (relative); the threshold is set for sleepsignal's
    movement count (one count per movement burst) on simulated nights only: it has NOT
    been refitted on real staged nights (none with bed-sensor movement counts is
    available). Treat the result as a coarse sleep/wake estimate.

    References
    ----------
    Cole RJ, Kripke DF, et al. Automatic sleep/wake identification from wrist activity.
    Sleep 1992;15(5):461-469.
    """
    c = np.nan_to_num(np.asarray(counts, dtype=np.float64), nan=0.0)
    if c.ndim != 1:
        raise SignalError(f"counts must be 1-D, got shape {c.shape}")
    per_min = c + np.r_[c[1:], 0.0] if len(c) else c
    # minutes t-4..t+2 are 30 s epochs t-8, t-6, ..., t+4
    w = COLE_KRIPKE_WEIGHTS / COLE_KRIPKE_WEIGHTS.sum()
    d = np.zeros(len(c))
    padded = np.concatenate([np.zeros(8), per_min, np.zeros(4)])
    for k, wk in zip(range(-4, 3), w, strict=True):
        d += wk * padded[8 + 2 * k : 8 + 2 * k + len(c)]
    return d >= ACTIGRAPHY_THRESHOLD


@njit
def _forward_backward_kernel(
    lik: np.ndarray, trans: np.ndarray, init: np.ndarray, k: int
) -> np.ndarray:
    """Scaled forward-backward on flat row-major ``lik`` (n*k) and ``trans`` (k*k)."""
    n = len(lik) // k
    alpha = np.empty(n * k)
    beta = np.ones(n * k)
    c = np.empty(n)
    for i in range(n):
        tot = 0.0
        for j in range(k):
            if i == 0:
                a = init[j]
            else:
                a = 0.0
                for m in range(k):
                    a += alpha[(i - 1) * k + m] * trans[m * k + j]
            a *= lik[i * k + j]
            alpha[i * k + j] = a
            tot += a
        c[i] = tot
        for j in range(k):
            alpha[i * k + j] /= tot
    for i in range(n - 2, -1, -1):
        for j in range(k):
            b = 0.0
            for m in range(k):
                b += trans[j * k + m] * lik[(i + 1) * k + m] * beta[(i + 1) * k + m]
            beta[i * k + j] = b / c[i + 1]
    post = alpha * beta
    for i in range(n):
        tot = 0.0
        for j in range(k):
            tot += post[i * k + j]
        for j in range(k):
            post[i * k + j] /= tot
    return post


def _forward_backward(lik: np.ndarray, trans: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Posterior state probabilities ``(n, k)`` of an HMM with per-step likelihoods.

    Rows of ``lik`` must have a positive sum (they do: softmax outputs divided by a
    positive prior).
    """
    lik = np.ascontiguousarray(lik, dtype=np.float64)
    n, k = lik.shape
    if n == 0:
        return np.zeros((0, k))
    post = _forward_backward_kernel(
        lik.ravel(),
        np.ascontiguousarray(trans, dtype=np.float64).ravel(),
        np.ascontiguousarray(init, dtype=np.float64),
        k,
    )
    return np.asarray(post).reshape(n, k)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.r_[False, mask, False].astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def _classify(
    kind: str, x: np.ndarray, present: np.ndarray, params: Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """HMM posteriors ``(n, 4)`` of one model on a feature matrix; NaN where not present.

    ``params`` defaults to the shipped model; the accuracy script passes the
    parameters of each leave-one-subject-out fold so evaluation runs this same code.
    """
    m = _model() if params is None else params
    xi = np.where(np.isfinite(x), x, m[f"{kind}_impute"])
    z = ((xi - m[f"{kind}_mean"]) / m[f"{kind}_scale"]) @ m[f"{kind}_weights"] + m[f"{kind}_bias"]
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    lik = p / m[f"{kind}_class_prior"] ** float(m[f"{kind}_prior_exponent"])
    out = np.full(p.shape, np.nan)
    trans = m["transition"]
    init = m["time_prior"][0]
    for a, b in _runs(present):
        out[a:b] = _forward_backward(lik[a:b], trans, init)
    return out


def stage_epochs(
    n_epochs: int,
    *,
    heartbeat: Pair | None = None,
    heart_rate: Pair | None = None,
    actigram: Pair | None = None,
    respiration_cycles: Pair | None = None,
    presence: Pair | None = None,
    sensor_status: Pair | None = None,
    method: Method = "auto",
) -> EpochStages:
    """Sleep stage per 30 s epoch from track arrays (times in s from the session start).

    Parameters
    ----------
    n_epochs : int
        Number of 30 s epochs, epoch 0 starting at time 0.
    heartbeat : (times, intervals), optional
        Beat-to-beat intervals: start of each interval (s) and its length (s).
    heart_rate : (times, bpm), optional
        Heart rate samples (bpm), e.g. every 30 s.
    actigram : (times, counts), optional
        Movements per 60 s epoch starting at ``times`` (s).
    respiration_cycles : (times, lengths), optional
        Breath starts and lengths (s). Used only to decide where data exists: the
        model's breathing features come from the beat intervals (sinus arrhythmia),
        because the training nights carry no breathing track.
    presence : (times, codes), optional
        Change points: 80 present, 65 away, 78 no signal.
    sensor_status : (times, codes), optional
        Change points: 1 operational, 2 mains interference, 3 unclear. Epochs under 3
        with no item of any data track are ``no_signal``; 2 alone changes nothing (the
        kernels filter the hum, and what they found is used).
    method : {"auto", "heartbeat", "heart_rate", "actigraphy"}
        ``"auto"`` picks the richest input available (heartbeat > heart_rate >
        actigraphy). Asking for a method whose track is missing raises.

    Returns
    -------
    EpochStages

    Raises
    ------
    SignalError
        Bad ``n_epochs`` (more than 10**7 too), malformed pairs (times that are not
        finite or beyond +-1e12 s too), unknown ``method``, or a forced method
        without its track. (:func:`stage_session` turns the data errors among these
        into ``no_signal`` epochs and a message.)

    Examples
    --------
    >>> import numpy as np
    >>> rr = np.full(3600, 1.0) + 0.02 * np.sin(np.arange(3600) / 0.7)
    >>> starts = np.r_[0.0, np.cumsum(rr)[:-1]]
    >>> r = stage_epochs(120, heartbeat=(starts, rr),
    ...                  presence=(np.array([0.0, 3000.0]), np.array([80, 65])))
    >>> r.model, r.stages.shape, int((r.stages == 4).sum())
    ('heartbeat', (120,), 20)
    >>> stage_epochs(10).message.split(":")[0]
    'the session has no heartbeat, heart_rate, actigram or respiration_cycles data'
    """
    if not is_integer(n_epochs) or n_epochs < 0:
        raise SignalError(f"n_epochs must be a non-negative integer, got {n_epochs!r}")
    if n_epochs > _MAX_EPOCHS:
        raise SignalError(
            f"n_epochs must be at most {_MAX_EPOCHS} (9.5 years of 30 s epochs), got {n_epochs!r}"
        )
    n = int(n_epochs)
    if method not in _METHODS:
        raise SignalError(f"unknown method {method!r}; allowed: {', '.join(_METHODS)}")
    hb = _pair(heartbeat, "heartbeat")
    hr = _pair(heart_rate, "heart_rate")
    ac = _pair(actigram, "actigram")
    rc = _pair(respiration_cycles, "respiration_cycles")
    pr = _pair(presence, "presence")
    ss = _pair(sensor_status, "sensor_status")

    stages = np.full(n, NO_SIGNAL, dtype=np.int8)
    restless = np.zeros(n, dtype=bool)
    data_pairs = [p for p in (hb, hr, ac, rc) if p is not None and len(p[0])]
    if pr is not None and len(pr[0]):
        state = _step_state(*pr, n, default=80.0)
        away = state == 65
        nosig = state == 78
    else:
        away = np.zeros(n, dtype=bool)
        nosig = ~_data_coverage(data_pairs, n)
    if ss is not None and len(ss[0]):
        # 2 (mains interference) is hum the kernels filter out: it never discards an
        # epoch by itself. 3 (unclear) does, but only where no track item gives evidence.
        unclear = _step_state(*ss, n, default=1.0) == 3
        nosig |= unclear & ~_data_coverage(data_pairs, n, spread=False)
    nosig &= ~away
    present = ~away & ~nosig
    stages[away] = AWAY

    inputs: list[str] = []
    if pr is not None:
        inputs.append("presence")
    if ss is not None:
        inputs.append("sensor_status")
    counts = _f.actigraphy_counts(*ac, n) if ac is not None else None

    hb_ok = False
    if hb is not None and len(hb[0]) and present.any():
        keep = _f.nn_mask(*hb)
        ep = np.floor((hb[0][keep] + hb[1][keep] / 2) / EPOCH_LENGTH).astype(np.int64)
        ep = ep[(ep >= 0) & (ep < n)]
        covered = np.zeros(n, dtype=bool)
        covered[ep] = True
        hb_ok = (covered & present).sum() >= MIN_HEART_COVERAGE * present.sum()
    hr_ok = (
        hr is not None
        and bool(present.any())
        and bool(np.isfinite(hr[1]).sum() >= MIN_HEART_COVERAGE * present.sum())
    )
    ac_ok = counts is not None and bool(np.isfinite(counts[present]).any())

    track_of = _METHOD_TRACK
    chosen: str = method
    if method == "auto":
        ok = {"heartbeat": hb_ok, "heart_rate": hr_ok, "actigraphy": ac_ok}
        chosen = next((k for k, v in ok.items() if v), "none")
    elif {"heartbeat": hb, "heart_rate": hr, "actigraphy": ac}[method] is None:
        raise SignalError(
            f"method={method!r} needs the {track_of[method]} track, which was not given"
        )

    message = ""
    probabilities: np.ndarray | None = None
    if not data_pairs and not (pr is not None and len(pr[0])):
        chosen = "none"
        message = (
            "the session has no heartbeat, heart_rate, actigram or respiration_cycles "
            "data: every epoch is no_signal"
        )
        present = np.zeros(n, dtype=bool)
    elif not present.any():
        chosen = "none"
        message = "no epoch with the sleeper present and a usable signal: nothing to stage"
    elif chosen == "heartbeat" and hb is not None:
        x = _f.heartbeat_features(hb[0], hb[1], n)
        probabilities = _classify("heartbeat", x, present)
        inputs.append("heartbeat")
    elif chosen == "heart_rate" and hr is not None:
        x = _f.heart_rate_features(hr[0], hr[1], n)
        probabilities = _classify("heart_rate", x, present)
        inputs.append("heart_rate")
    elif chosen == "actigraphy" and counts is not None:
        wake = actigraphy_sleep_wake(counts)
        stages[present] = np.where(wake[present], WAKE, LIGHT)
        inputs.append("actigram")
        message = "staged from movement only (actigraphy rule): wake/sleep, sleep shown as light"
    else:
        chosen = "none"
        message = (
            "the session has no heartbeat, heart_rate or actigram data while present: "
            "every epoch is no_signal"
        )
        present = np.zeros(n, dtype=bool)
    if probabilities is not None:
        stages[present] = np.argmax(probabilities[present], axis=1).astype(np.int8)
    stages[~present & ~away] = NO_SIGNAL
    n_gap = int((stages == NO_SIGNAL).sum())
    if chosen != "none" and n_gap:
        note = f"{n_gap} of {n} epochs are no_signal (no usable data there)"
        message = f"{message}; {note}" if message else note
    if counts is not None:
        if "actigram" not in inputs:
            inputs.append("actigram")
        restless = np.isin(stages, (LIGHT, DEEP, REM)) & (np.nan_to_num(counts) >= RESTLESS_COUNT)
    return EpochStages(stages, probabilities, restless, chosen, tuple(inputs), message)


def stage_session(session: Any, *, method: Method = "auto") -> Hypnogram:
    """Stage a session from the time-value tracks it carries.

    Parameters
    ----------
    session : Session
        Any session; tracks used when present: ``heartbeat``, ``heart_rate``,
        ``actigram``, ``respiration_cycles``, ``presence``, ``sensor_status``.
    method : {"auto", "heartbeat", "heart_rate", "actigraphy"}
        See :func:`stage_epochs`.

    Returns
    -------
    Hypnogram
        Epochs from the session start to its end (last partial epoch included);
        ``info`` holds ``model``, ``inputs``, ``training_checksum`` (sha256 of
        the data the shipped model was trained on) and ``message`` (empty when all
        went well). A session that cannot be staged gets ``no_signal`` epochs and a
        message, never an exception: a track that :func:`stage_epochs` would refuse
        (times not finite or beyond +-1e12 s from the start, e.g. milliseconds of Unix
        time) is left out and named in the message, and a session longer than 10**7
        epochs (9.5 years: a wrong ``end_timestamp``) gets no epochs and a message.

    Raises
    ------
    SignalError
        If ``session`` is not a :class:`~sleepsignal.session.Session`, ``method`` is
        unknown, or a forced ``method`` lacks its track in the session (arguments, not
        data).
    """
    from .session import Session

    check_instance(session, Session, "session")
    start = float(session.start_timestamp)
    try:
        duration = float(session.duration)
    except (KeyError, TypeError, ValueError):
        duration = math.nan
    tv = session.time_value_tracks
    if not math.isfinite(duration) or duration <= 0:
        ends = [float(t.times[-1]) for t in tv.values() if len(t.times)]
        duration = max(ends) if ends else 0.0
    n = math.ceil(duration / EPOCH_LENGTH - 1e-9) if duration > 0 else 0
    refused: list[str] = []  # why tracks were left out, for info["message"]
    refused_names: set[str] = set()  # and which
    too_long = n > _MAX_EPOCHS
    if too_long:  # stage_epochs refuses it; a session's data is no reason to raise
        refused.append(
            f"the session lasts {duration:.6g} s, more than {_MAX_EPOCHS} epochs "
            "(9.5 years; check start_timestamp and end_timestamp): nothing staged"
        )
        n = 0

    def pair(name: str) -> Pair | None:
        t = tv.get(name)
        if t is None or n == 0:
            return None
        p = np.asarray(t.times, np.float64), np.asarray(t.values, np.float64).reshape(-1)
        try:  # the checks stage_epochs makes: a track that fails them is left out, named
            return _pair(p, name)
        except SignalError as e:
            refused.append(f"{e}: the track is left out")
            refused_names.add(name)
            return None

    pairs = {
        name: pair(name)
        for name in (
            "heartbeat",
            "heart_rate",
            "actigram",
            "respiration_cycles",
            "presence",
            "sensor_status",
        )
    }
    forced = _METHOD_TRACK.get(method)  # an unknown method raises in stage_epochs
    forced_refused = forced is not None and forced in refused_names
    nothing = too_long or forced_refused  # nothing to stage, or the forced track was refused
    res = stage_epochs(n) if nothing else stage_epochs(n, **pairs, method=method)
    notes = refused if too_long or not res.message else [*refused, res.message]
    if forced_refused:  # (never too_long: no track is read then) not stage_epochs(n)'s
        # message, which would say the session has none of the tracks
        notes = [
            *refused,
            f"method={method!r} was forced and its track {forced} was left out (see "
            "above): every epoch is no_signal",
        ]
    info = {
        "model": res.model,
        "inputs": list(res.inputs),
        "message": "; ".join(notes),
        "training_checksum": str(_model()["training_checksum"]),
    }
    return Hypnogram(
        res.stages,
        start,
        session.timezone,
        restless=res.restless,
        probabilities=res.probabilities,
        info=info,
    )


def hypnogram_csv(hypnogram: Hypnogram) -> str:
    """The CLI's ``hypnogram.csv``: header ``start,end,stage``, one row per epoch.

    ``start`` and ``end`` are Unix seconds (``repr`` of the float, so exact), ``stage``
    one of :data:`~sleepsignal.hypnogram.STAGES`.

    Examples
    --------
    >>> import numpy as np
    >>> print(hypnogram_csv(Hypnogram(np.array([0, 1, 4]), 1700000000.0)), end="")
    start,end,stage
    1700000000.0,1700000030.0,wake
    1700000030.0,1700000060.0,light
    1700000060.0,1700000090.0,away
    """
    check_instance(hypnogram, Hypnogram, "hypnogram")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["start", "end", "stage"])
    starts = hypnogram.epoch_starts()
    for s, code in zip(starts, hypnogram.stages, strict=True):
        w.writerow([repr(float(s)), repr(float(s + hypnogram.epoch_length)), STAGES[code]])
    return buf.getvalue()


def write_hypnogram_csv(hypnogram: Hypnogram, path: str | os.PathLike[str]) -> Path:
    """Write :func:`hypnogram_csv` to ``path`` (UTF-8); returns the path."""
    p = Path(path)
    p.write_text(hypnogram_csv(hypnogram), encoding="utf-8")
    return p
