"""Simulation speed: a 5-minute segment, 1 hour and a whole 8-hour night at 140 Hz.

Run for real with ``pytest benchmarks/bench_simulate.py --benchmark-enable``; in the
normal test run benchmarks are disabled and each body runs once as a smoke test (the
8-hour case is marked slow: it takes a few seconds on a shared machine). The
``write`` case adds writing the Beddit folder (what ``sleepsignal simulate`` does).
There is no numba in the simulator (everything is vectorised numpy), so there is no
compile time to time apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepsignal.simulate import simulate_night, write_simulated

HOURS = [
    pytest.param(5 / 60, id="5min"),
    pytest.param(1.0, id="1h"),
    pytest.param(8.0, id="8h", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("hours", HOURS)
def test_simulate_night(benchmark, hours: float) -> None:
    night = benchmark(simulate_night, hours, seed=7)
    assert night.session.duration == pytest.approx(hours * 3600, abs=0.2)


@pytest.mark.parametrize("hours", [pytest.param(1.0, id="1h")])
def test_simulate_and_write(benchmark, tmp_path: Path, hours: float) -> None:
    out = benchmark(lambda: write_simulated(simulate_night(hours, seed=7), tmp_path / "n"))
    assert (out / "session.json").is_file() and (out / "truth.json").is_file()
