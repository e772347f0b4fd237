"""Heartbeat coverage against beat-to-beat similarity on default simulated nights.

Run from the repository root::

    python benchmarks/coverage_snr_heartbeats.py                # seeds 0-23, 15 min each
    python benchmarks/coverage_snr_heartbeats.py --seeds 21 0 --hours 2

For each seed, ``simulate_night(hours, seed, movement_rate=0, bed_exits=0)`` (simulator
defaults otherwise: profile "mixed", body_noise 0.25, built-in heart rate) is run through
:func:`~sleepsignal.heartbeats.detect_heartbeats` and this prints, sorted by ``r next``:

- ``damping`` and ``noise x``: the night's two random draws that set how alike
  neighbouring beats are: the beat shape (0 = the sharp textbook complex, 1 = the damped
  mattress complex; drawn uniformly for the mixed profile) and the per-night body-noise
  multiplier (lognormal, sd 0.35). They mirror ``simulate_night``'s random streams
  (children 5 and 13 of the seed's ``SeedSequence``), so they are diagnostic only;
- ``beat energy``: the in-band (detector filter, -0.25..+0.35 s) energy of that night's
  base beat complex relative to the damped one at the same J amplitude. Body noise is
  scaled to the J amplitude, so a sharp beat (about 0.32 of the damped energy) sees
  1 / sqrt(0.32) = 1.8 x the noise;
- ``eff. noise``: ``noise x / sqrt(beat energy)``, the body noise relative to a damped
  beat (1 = the median night of the cardiac profile that ``body_noise`` 0.25 was
  calibrated on, see ``benchmarks/realism_heartbeats.py``);
- ``r next``: median correlation of consecutive beats at their true times in the
  detector band (as in ``realism_heartbeats.py``; the real qixiuai recording: 0.92);
- ``coverage``, ``wrong``: the reliable intervals scored as in
  ``benchmarks/accuracy_heartbeats.py``.

The detector times a beat pair when its beat-to-beat correlation ``ncc >= 0.6`` (and
confidence >= 0.35, in streaks of three), or, failing only that, when both beats
correlate >= 0.6 with their local template (their 8 timed neighbours on each side; branch
hbtemplate), so coverage falls once ``r next`` drops below about 0.7, less steeply than
with the pair check alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from naive_heartbeats import score_intervals  # noqa: E402

from sleepsignal import _simulate_signal as sg  # noqa: E402
from sleepsignal._filters import sosfilt  # noqa: E402
from sleepsignal.heartbeats import _design_filter, detect_heartbeats  # noqa: E402
from sleepsignal.simulate import simulate_night  # noqa: E402

FS = 140.0


def _segments(y: np.ndarray, beats: np.ndarray, fs: float) -> np.ndarray:
    k = np.arange(round(-0.25 * fs), round(0.35 * fs) + 1)
    idx = np.round(beats * fs).astype(np.int64)
    seg = y[idx[:, None] + k[None, :]]
    seg = seg - seg.mean(axis=1, keepdims=True)
    return seg / np.linalg.norm(seg, axis=1, keepdims=True)


def r_next(x: np.ndarray, fs: float, beats: np.ndarray) -> float:
    """Median correlation of consecutive beats (< 2 s apart) at their true times."""
    y = sosfilt(_design_filter(fs, 2.0, 20.0), x - np.median(x))
    b = beats[(beats > 2) & (beats < len(x) / fs - 1)]
    seg = _segments(y, b, fs)
    r = np.sum(seg[:-1] * seg[1:], axis=1)
    return float(np.median(r[np.diff(b) < 2.0]))


def beat_energy(damping: float, fs: float = FS) -> float:
    """In-band energy of the base beat complex at ``damping``, relative to damping 1."""
    t = np.arange(-1.0, 1.0, 1 / fs)
    win = (t >= -0.25) & (t <= 0.35)
    sos = _design_filter(fs, 2.0, 20.0)

    def energy(d: float) -> float:
        mu = sg.LOBE_MU + d * (sg.DAMPED_MU - sg.LOBE_MU)
        amp = sg.LOBE_AMP + d * (sg.DAMPED_AMP - sg.LOBE_AMP)
        w = sg.LOBE_WIDTH * (sg.DAMPED_WIDTH / sg.LOBE_WIDTH) ** d
        x = np.zeros(len(t) + 140)
        for a, m, s in zip(amp, mu, w, strict=True):
            x[140:] += a * np.exp(-0.5 * ((t - m) / s) ** 2)
        return float(np.sum(sosfilt(sos, x)[140:][win] ** 2))

    return energy(damping) / energy(1.0)


def draws(seed: int) -> tuple[float, float]:
    """The mixed-profile beat-shape damping and body-noise multiplier of ``seed``."""
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(15)]
    return float(rngs[5].uniform(0.0, 1.0)), float(rngs[13].lognormal(0.0, 0.35))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="*", default=list(range(24)))
    p.add_argument("--hours", type=float, default=0.25)
    args = p.parse_args(argv)
    rows = []
    for seed in args.seeds:
        night = simulate_night(args.hours, seed=seed, movement_rate=0.0, bed_exits=0)
        x, fs = night.session.signal("normal")
        b = np.asarray(night.truth.beat_times)
        hb = detect_heartbeats(x, fs)
        r = hb.reliable
        sc = score_intervals(hb.interval_starts[r], hb.intervals[r], hb.beat_times, b)
        damping, mult = draws(seed)
        e = beat_energy(damping, fs)
        rows.append((seed, damping, mult, e, mult / np.sqrt(e), r_next(x, fs, b), sc))
        print(f"  done seed {seed}", file=sys.stderr, flush=True)
    print("| seed | damping | noise x | beat energy | eff. noise | r next | coverage | wrong |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for seed, d, m, e, eff, rn, sc in sorted(rows, key=lambda v: -v[5]):
        print(
            f"| {seed} | {d:.2f} | {m:.2f} | {e:.2f} | {eff:.2f} | {rn:.3f} "
            f"| {sc['coverage']:.1%} | {sc['wrong']:.2%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
