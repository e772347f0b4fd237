"""Snoring with invalid noise values: F1 of clean against sprinkled noise tracks.

Usage::

    python benchmarks/snoring_invalid.py [--every 120] [--seeds 1-6] [--value V ...]

For each seed, a 1 h simulated night with snoring (``simulate_night(1.0, seed,
snoring_rate=6.0)``) is scored on its clean ``noise`` track and with one value in
``--every`` (distinct indices drawn without replacement by
``default_rng(seed).choice``, as ``tests/test_snoring.py`` does) set to each value in
turn: NaN, +inf, -1, 0 and the low dropouts 1e-3, 1 and 10 dB (far below the
simulator's 28-36 dB room floor), or only the ``--value`` ones when given, using the
simulator's own breathing cycles (``naive_tracks.truth_breathing`` in ``tests/``), so
only snoring is measured.
Prints per seed the time-weighted F1 against ``truth.snoring`` at 1 s and the number of
events. Run it with ``PYTHONPATH`` at an export of an older commit for the before column
of the README's table. Seed 1's truth has no snoring (its F1 is 0 whatever it finds).

With ``--units`` it prints instead, per seed, what the units check of
``detect_snoring`` makes of the night's track turned into other units (linear
amplitude re 20 uPa and divided by its maximum, power, power / max, uint16 counts,
dB x 100, dB - 30, a constant, all zeros): the median and 5-95 % spread of the valid
values the check sees, whether snoring was searched, the events, the F1, and the
warning's start. ``--hours H`` simulates H h nights instead of 1 h ones (``--units``
only).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from sleepsignal.respiration import Breathing
from sleepsignal.simulate import simulate_night
from sleepsignal.snoring import detect_snoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from naive_tracks import second_mask, time_f1, truth_breathing


def _score(x: np.ndarray, fs: float, breathing: Breathing, true_mask: np.ndarray) -> str:
    s = detect_snoring(x, fs, breathing)
    found = second_mask(len(true_mask), np.column_stack([s.starts, s.starts + s.lengths]))
    return f"{time_f1(true_mask, found):.3f} ({len(s.starts)})"


def _units(seeds: range, hours: float) -> None:
    from sleepsignal.snoring import _summarise_noise

    print("seed  track                    median  5-95 %  searched  events     F1  warning")
    for seed in seeds:
        night = simulate_night(hours, seed=seed, snoring_rate=6.0)
        breathing = truth_breathing(night.truth.breath_starts)
        db, fs = night.session.signal("noise")
        db = np.asarray(db, dtype=np.float64)
        n = int(len(db) / fs) + 1
        true_mask = second_mask(n, night.truth.snoring)
        amp, power = 10 ** (db / 20), 10 ** (db / 10)
        cases = {
            "dB (as simulated)": db,
            "amplitude re 20 uPa": amp,
            "amplitude / max": amp / amp.max(),
            "power": power,
            "power / max": power / power.max(),
            "uint16 counts": np.round(amp * 20).astype(np.uint16),
            "dB x 100": db * 100,
            "dB - 30": db - 30,
            "constant 30": np.full(len(db), 30.0),
            "zeros": np.zeros(len(db)),
        }
        for name, x in cases.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                s = detect_snoring(x, fs, breathing)
            found = second_mask(n, np.column_stack([s.starts, s.starts + s.lengths]))
            said = str(caught[-1].message)[:60] if caught else ""
            v = _summarise_noise(lambda lo, hi, x=x: x[lo:hi], len(x), fs)
            print(
                f"{seed:4d}  {name:22s}  {v.p50:7.4g}  {v.p95 - v.p5:6.3g}  "
                f"{s.searched!s:>8}  {len(s.starts):6d}  {time_f1(true_mask, found):.3f}  {said}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=float, default=120.0)
    parser.add_argument("--seeds", default="1-6", help="first-last")
    parser.add_argument(
        "--value", type=float, action="append", help="value to sprinkle (repeatable)"
    )
    parser.add_argument("--units", action="store_true", help="the units check instead")
    parser.add_argument(
        "--hours", type=float, default=1.0, help="night length with --units (default 1 h)"
    )
    args = parser.parse_args(argv)
    first, last = (int(v) for v in args.seeds.split("-"))
    if args.units:
        _units(range(first, last + 1), args.hours)
        return
    warnings.simplefilter("ignore")  # the invalid values warn, as documented
    values = args.value or [np.nan, np.inf, -1.0, 0.0, 1e-3, 1.0, 10.0]
    print("seed  runs  clean F1 (events)  " + "  ".join(f"{v!s:>12}" for v in values))
    for seed in range(first, last + 1):
        night = simulate_night(1.0, seed=seed, snoring_rate=6.0)
        truth = night.truth
        breathing = truth_breathing(truth.breath_starts)
        noise, noise_fs = night.session.signal("noise")
        noise = np.asarray(noise, dtype=np.float64)
        n = int(len(noise) / noise_fs) + 1
        true_mask = second_mask(n, truth.snoring)

        rng = np.random.default_rng(seed)
        idx = rng.choice(len(noise), int(len(noise) / args.every), replace=False)
        row = []
        for v in values:
            bad = noise.copy()
            bad[idx] = v
            row.append(_score(bad, noise_fs, breathing, true_mask))
        clean = _score(noise, noise_fs, breathing, true_mask)
        cells = "  ".join(f"{r:>12}" for r in row)
        print(f"{seed:4d}  {len(truth.snoring):4d}  {clean:>17}  {cells}")


if __name__ == "__main__":
    main()
