"""The whole job: each stage and the whole pipeline per night length, with peers.

Run for real with ``pytest benchmarks/bench_pipeline.py --benchmark-enable
--benchmark-json=bench.json`` and render the README table with
``python benchmarks/render_readme.py bench.json``. In the normal test run benchmarks are
disabled and every body runs once as a smoke test (the 8 h night is marked slow).

Peers, timed in the same session for ratios:

- ``scipy_pipeline``: a plain scipy beat-and-breath script (band-pass + ``find_peaks``
  for beats at 2-20 Hz and for breaths at 0.1-0.5 Hz), no gating, no staging;
- ``neurokit2``: ``ecg_clean`` + ``ecg_peaks`` + ``rsp_process`` (skipped when absent).

Compile and cold start are timed apart, in new processes (``test_cold_start``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from sleepsignal.pipeline import analyze
from sleepsignal.simulate import simulate_night

NIGHTS = [
    pytest.param(5 / 60, id="5min"),
    pytest.param(1.0, id="1h"),
    pytest.param(8.0, id="8h", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module", params=NIGHTS)
def night(request):
    session = simulate_night(request.param, seed=21).session
    analyze(simulate_night(5 / 60, seed=22).session)  # kernels compiled/loaded, untimed
    return session


def scipy_pipeline(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """The plain peer: beats and breaths by band-pass + find_peaks."""
    from scipy.signal import butter, find_peaks, sosfiltfilt

    beat = sosfiltfilt(butter(4, [2.0, 20.0], btype="bandpass", fs=fs, output="sos"), x)
    beats, _ = find_peaks(beat, distance=max(1, int(0.375 * fs)))
    breath = sosfiltfilt(butter(2, [0.1, 0.5], btype="bandpass", fs=fs, output="sos"), x)
    breaths, _ = find_peaks(breath, distance=max(1, int(1.5 * fs)))
    return np.diff(beats) / fs, np.diff(breaths) / fs


def test_pipeline(benchmark, night) -> None:
    result = benchmark(analyze, night)
    assert len(result.hypnogram) == int(night.duration // 30) or len(result.hypnogram) > 0
    assert "sleep.json" in result.records


def test_stage_heartbeats(benchmark, night) -> None:
    from sleepsignal.heartbeats import heartbeat_tracks

    tracks = benchmark(heartbeat_tracks, night)
    assert [t.name for t in tracks] == ["heartbeat", "heart_rate"]


def test_stage_tracks(benchmark, night) -> None:
    from sleepsignal.tracks import session_tracks

    out = benchmark(session_tracks, night)
    assert out.as_list()


def test_stage_staging_and_records(benchmark, night) -> None:
    from sleepsignal.heartbeats import heartbeat_tracks
    from sleepsignal.records import build_records
    from sleepsignal.staging import stage_session
    from sleepsignal.statistics import night_statistics
    from sleepsignal.tracks import session_tracks

    s = night.with_tracks([*heartbeat_tracks(night), *session_tracks(night).as_list()])

    def run():
        h = stage_session(s)
        return build_records(s, h, stats=night_statistics(h, s))

    assert "sleep.json" in benchmark(run).records


def test_peer_scipy_pipeline(benchmark, night) -> None:
    x, fs = night.signal()
    beats, breaths = benchmark(scipy_pipeline, x, fs)
    assert len(beats) and len(breaths)


def test_peer_neurokit2(benchmark, night) -> None:
    nk = pytest.importorskip("neurokit2", reason="neurokit2 is not installed (optional peer)")
    x, fs = night.signal()
    x = x.astype(np.float64)

    def run():
        clean = nk.ecg_clean(x, sampling_rate=int(fs))
        nk.ecg_peaks(clean, sampling_rate=int(fs))
        nk.rsp_process(x, sampling_rate=int(fs))

    benchmark.pedantic(run, rounds=1, iterations=1)


COLD = (
    "import time; t0 = time.perf_counter(); import sleepsignal.pipeline as p; "
    "from sleepsignal.simulate import simulate_night; s = simulate_night(0.05, seed=1).session; "
    "t1 = time.perf_counter(); p.analyze(s); print(time.perf_counter() - t1)"
)


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_cold_start(benchmark, cache: str) -> None:
    """A new process analysing 3 minutes: compile (cold cache) vs load (warm cache)."""
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        if cache == "warm":
            subprocess.run([sys.executable, "-c", COLD], env=env, check=True, capture_output=True)

        def run() -> float:
            out = subprocess.run(
                [sys.executable, "-c", COLD], env=env, check=True, capture_output=True, text=True
            )
            return float(out.stdout.strip().splitlines()[-1])

        first_call = benchmark.pedantic(run, rounds=1, iterations=1)
    assert first_call > 0
