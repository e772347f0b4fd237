"""Rendering of a simulated night at the sensor rate: BCG counts and the noise track.

Private helpers of :mod:`sleepsignal.simulate`. Every component is built for the whole
night at once with numpy (one scatter-add for all beats, one filter pass per noise
process), so 8 hours at 140 Hz take about a second.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps

from ._simulate_physio import slow_noise

__all__: list[str] = []

#: J-wave complex as six Gaussian lobes: centre (s from the J peak), amplitude relative
#: to J, and width (s). "Sharp" is the textbook H-I-J-K-L-M complex of a stiff sensor.
LOBE_MU = np.array([-0.075, -0.040, 0.0, 0.045, 0.100, 0.165])
LOBE_AMP = np.array([0.25, -0.55, 1.0, -0.75, 0.35, -0.15])
LOBE_WIDTH = np.array([0.014, 0.012, 0.013, 0.016, 0.022, 0.030])
#: "Damped": fitted (least squares, sign-constrained, J fixed at 0) to the R-locked
#: average complex of the real mattress recording qixiuai-psg-5min (1-20 Hz band,
#: correlation 0.999 after the same filter); its J maximum is within 0.2 ms of 0.
DAMPED_MU = np.array([-0.194, -0.095, 0.0, 0.066, 0.148, 0.307])
DAMPED_AMP = np.array([0.806, -0.464, 1.0, -0.315, -0.32, 0.796])
DAMPED_WIDTH = np.array([0.026, 0.024, 0.045, 0.015, 0.045, 0.045])
#: Each lobe is rendered out to this many widths from its centre (exp(-0.5 * 4.5**2)
#: = 4e-5 of its height: below one ADC count for any J amplitude used here).
LOBE_REACH = 4.5

#: Slow beat-shape drift at ``beat_drift=1`` (standard deviations across beats): every
#: lobe but J moves its amplitude by DRIFT_AMP x its own size, its centre by DRIFT_MU s
#: and its width by a factor exp(+-DRIFT_WIDTH); each follows its own AR(1) process over
#: beats with a correlation of DRIFT_BEATS beats, so neighbouring beats share the drift.
DRIFT_AMP = 2.0
DRIFT_MU = 0.040
DRIFT_WIDTH = 0.7
DRIFT_BEATS = 100.0

#: Inspiration fraction of a built-in breathing cycle.
INSPIRATION = 0.4


def breath_wave(u: np.ndarray) -> np.ndarray:
    """Breathing cycle shape of the fraction ``u`` in [0, 1): 0 at onset, 1 at the end
    of inspiration, a slower expiration back to 0."""
    insp = u < INSPIRATION
    out = np.empty_like(u)
    out[insp] = 0.5 - 0.5 * np.cos(np.pi * u[insp] / INSPIRATION)
    v = (u[~insp] - INSPIRATION) / (1 - INSPIRATION)
    out[~insp] = 0.5 + 0.5 * np.cos(np.pi * v)
    return out


def postures(n: int, damping: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per posture segment: gain, polarity, lobe shape and breathing coupling.

    ``damping`` in [0, 1] blends the night's complex from the sharp textbook shape (0)
    to the damped mattress shape (1): centres and amplitudes linearly, widths
    geometrically.
    """
    base_mu = LOBE_MU + damping * (DAMPED_MU - LOBE_MU)
    base_amp = LOBE_AMP + damping * (DAMPED_AMP - LOBE_AMP)
    base_width = LOBE_WIDTH * (DAMPED_WIDTH / LOBE_WIDTH) ** damping
    gain = np.exp(rng.uniform(math.log(0.3), math.log(3.0), n))
    gain[0] = np.exp(rng.uniform(math.log(0.6), math.log(1.6)))
    flips = rng.random(n) < 0.25
    flips[0] = False
    polarity = np.where(np.cumsum(flips) % 2 == 1, -1.0, 1.0)
    amp = base_amp * (1 + 0.25 * rng.standard_normal((n, 6)))
    amp[:, 2] = 1.0  # J stays the reference lobe
    mu = base_mu + rng.normal(0, 0.004, (n, 6))
    mu[:, 2] = 0.0  # J peak is the fiducial: exactly at the beat time
    width = base_width * np.exp(rng.normal(0, 0.12, (n, 6)))
    resp = np.exp(rng.normal(0, 0.4, n)) * np.where(rng.random(n) < 0.15, -1.0, 1.0)
    return {"gain": gain, "polarity": polarity, "amp": amp, "mu": mu, "width": width, "resp": resp}


def render_beats(
    n: int,
    fs: float,
    beats: np.ndarray,
    seg: np.ndarray,
    post: dict[str, np.ndarray],
    beat_scale: np.ndarray,
    rng: np.random.Generator,
    drift: float = 0.0,
    drift_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Sum of one J-wave complex per beat, sampled at ``fs`` (float64, J amplitude 1).

    ``seg`` is each beat's posture segment, ``beat_scale`` its amplitude (respiratory
    modulation and beat-to-beat jitter included), ``drift`` the multiplier of the slow
    beat-shape drift (:data:`DRIFT_AMP` ...), drawn from ``drift_rng``.
    """
    out = np.zeros(n)
    if len(beats) == 0:
        return out
    nb = len(beats)
    amp = post["amp"][seg] * (1 + 0.10 * rng.standard_normal((nb, 6)))
    amp[:, 2] = 1.0
    mu = post["mu"][seg] + rng.normal(0, 0.003, (nb, 6))
    mu[:, 2] = 0.0
    width = post["width"][seg]
    if drift > 0 and drift_rng is not None:
        amp = amp + drift * DRIFT_AMP * np.abs(amp) * slow_walk(nb, drift_rng)
        mu = mu + drift * DRIFT_MU * slow_walk(nb, drift_rng)
        width = width * np.exp(drift * DRIFT_WIDTH * slow_walk(nb, drift_rng))
        amp[:, 2] = 1.0  # J stays the reference lobe and the fiducial
        mu[:, 2] = 0.0
    # one window for all beats, wide enough for every lobe of every beat
    lo = float(np.min(mu - LOBE_REACH * width))
    hi = float(np.max(mu + LOBE_REACH * width))
    k = np.arange(math.floor(lo * fs) - 1, math.ceil(hi * fs) + 2)
    i0 = np.floor(beats * fs).astype(np.int64)
    idx = i0[:, None] + k[None, :]
    # float32 from here: times relative to each beat are small, errors < 1e-7 of J
    rel = (idx / fs - beats[:, None]).astype(np.float32)
    wave = np.zeros(rel.shape, dtype=np.float32)
    for j in range(6):
        z = (rel - mu[:, j : j + 1].astype(np.float32)) / width[:, j : j + 1].astype(np.float32)
        wave += amp[:, j : j + 1].astype(np.float32) * np.exp(np.float32(-0.5) * z * z)
    scale = beat_scale * post["gain"][seg] * post["polarity"][seg]
    wave *= scale[:, None].astype(np.float32)
    ok = (idx >= 0) & (idx < n)
    out += np.bincount(idx[ok], weights=wave[ok], minlength=n)[:n]
    return out


def slow_walk(nb: int, rng: np.random.Generator) -> np.ndarray:
    """Six unit-variance AR(1) series over ``nb`` beats (shape (nb, 6)), correlation
    exp(-1 / DRIFT_BEATS) from one beat to the next."""
    phi = math.exp(-1.0 / DRIFT_BEATS)
    e = rng.standard_normal((nb, 6))
    e[1:] *= math.sqrt(1.0 - phi * phi)
    out = np.empty_like(e)
    if nb:
        # y[i] = phi * y[i - 1] + e[i], by a one-pole filter along the beats
        out[:] = sps.lfilter([1.0], [1.0, -phi], e, axis=0)
    return out


def band_noise(
    n: int, fs: float, band: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Unit-variance Gaussian noise band-passed to ``band`` Hz (causal, one pass)."""
    hi = min(band[1], 0.45 * fs)
    sos = sps.butter(2, [band[0], hi], "bandpass", fs=fs, output="sos")
    x = sps.sosfilt(sos, rng.standard_normal(n))
    return x / max(float(np.std(x)), 1e-12)


def envelope(n: int, fs: float, iv: np.ndarray, amp: np.ndarray) -> np.ndarray:
    """Sum of Tukey windows of height ``amp`` over the intervals ``iv`` (s)."""
    env = np.zeros(n)
    for (s, e), a in zip(iv, amp, strict=True):
        i0, i1 = max(0, round(s * fs)), min(n, round(e * fs))
        if i1 > i0:
            env[i0:i1] += a * sps.windows.tukey(i1 - i0, 0.3)
    return env


def hum(
    n: int, fs: float, iv: np.ndarray, hz: float, amp: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Mains hum at its true frequency (with 2nd and 3rd harmonics) sampled at ``fs``.

    The tone is computed at the sample instants, so frequencies above ``fs / 2``
    (harmonics at 140 Hz sampling) alias exactly as they would on the real ADC.
    """
    out = np.zeros(n)
    for (s, e), a in zip(iv, amp, strict=True):
        i0, i1 = max(0, math.ceil(s * fs)), min(n, math.ceil(e * fs))
        t = np.arange(i0, i1) / fs
        f = hz * (1 + rng.normal(0, 1e-4))  # grid frequency off by a few mHz
        ph = rng.uniform(0, 2 * np.pi, 3)
        out[i0:i1] = a * (
            np.sin(2 * np.pi * f * t + ph[0])
            + 0.3 * np.sin(4 * np.pi * f * t + ph[1])
            + 0.15 * np.sin(6 * np.pi * f * t + ph[2])
        )
    return out


def noise_track(
    n: int,
    nfs: float,
    breath_u: np.ndarray,
    snoring: np.ndarray,
    movements: np.ndarray,
    rng: np.random.Generator,
    more_movements: np.ndarray | None = None,
    more_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Loudness (dB, arbitrary reference) per 1/``nfs`` s window.

    Room floor with slow wander, snores locked to inspiration inside snoring runs,
    rustling during movements, and occasional room noises. ``more_movements`` (the
    belt's, drawn from ``more_rng``) rustle too, after everything ``rng`` draws.
    """
    t = (np.arange(n) + 0.5) / nfs
    floor = rng.uniform(28.0, 36.0) + 1.0 * slow_noise(n, nfs, 300.0, rng)
    power = 10 ** ((floor + rng.normal(0, 0.8, n)) / 10)
    # snores: loud on inspiration, one level per run
    for s, e in snoring:
        m = (t >= s) & (t < e)
        u = breath_u[m]
        env = np.where(u < INSPIRATION, np.sin(np.pi * u / INSPIRATION), 0.0)
        level = floor[m] + rng.uniform(12.0, 25.0)
        power[m] += env**2 * 10 ** (level / 10)
    for s, e in movements[:, :2]:
        m = (t >= s) & (t < e)
        power[m] += 10 ** ((floor[m] + rng.uniform(3.0, 10.0)) / 10)
    dur = n / nfs
    for _ in range(rng.poisson(4.0 * dur / 3600.0)):
        s = rng.uniform(0, dur)
        m = (t >= s) & (t < s + rng.uniform(0.5, 8.0))
        power[m] += 10 ** ((floor[m] + rng.uniform(8.0, 25.0)) / 10)
    if more_movements is not None and more_rng is not None:
        for s, e in more_movements[:, :2]:
            m = (t >= s) & (t < e)
            power[m] += 10 ** ((floor[m] + more_rng.uniform(3.0, 10.0)) / 10)
    return (10 * np.log10(power)).astype(np.float32)
