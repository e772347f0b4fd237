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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=float, default=120.0)
    parser.add_argument("--seeds", default="1-6", help="first-last")
    parser.add_argument(
        "--value", type=float, action="append", help="value to sprinkle (repeatable)"
    )
    args = parser.parse_args(argv)
    first, last = (int(v) for v in args.seeds.split("-"))
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
