"""Speed of the session tracks (breathing, movement, presence, sensor status, snoring).

Target: all tracks of an 8-hour night under 0.1 s on one core. Peers timed in the same
run: a plain scipy pipeline (full-rate band-pass + ``find_peaks`` for breathing, a
rolling-std movement detector and a Welch mains check), and neurokit2's ``rsp_process``
when neurokit2 is installed (skipped otherwise).

Run the timings with ``pytest benchmarks/bench_tracks.py --benchmark-enable -m "slow or
not slow"``; by default (``--benchmark-disable``) each case runs once as a smoke test and
the 8-hour cases are marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from sleepsignal.session import Session
from sleepsignal.tracks import session_tracks

HOURS = [pytest.param(1.0, id="1h"), pytest.param(8.0, id="8h", marks=pytest.mark.slow)]


def _night(hours: float) -> Session:
    """A simulated night: 30 simulated minutes tiled to length (cheap to build)."""
    from sleepsignal.simulate import simulate_night

    base = simulate_night(0.5, seed=11, bed_exits=1, sleep_onset=60.0, mains_hz=50.0)
    reps = int(np.ceil(hours * 2))
    x = np.tile(base.session.sampled_tracks["normal"].data, reps)
    noise = np.tile(base.session.sampled_tracks["noise"].data, reps)
    n = int(hours * 3600 * 140)
    return Session.from_array(
        x[:n], 140.0, start=1.7e9, timezone="UTC", noise=noise[: n // 14], noise_fs=10.0
    )


_CACHE: dict[float, Session] = {}


def _cached(hours: float) -> Session:
    if hours not in _CACHE:
        _CACHE[hours] = _night(hours)
    return _CACHE[hours]


def _plain_scipy(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plain peer: what a researcher would write with scipy alone."""
    from scipy.signal import butter, find_peaks, sosfiltfilt, welch

    xf = x.astype(np.float64)
    sos = butter(2, [0.1, 0.5], btype="bandpass", fs=fs, output="sos")
    resp = sosfiltfilt(sos, xf)
    peaks, _ = find_peaks(resp, distance=int(2 * fs))
    hp = sosfiltfilt(butter(2, 3.0, btype="highpass", fs=fs, output="sos"), xf)
    w = int(fs)
    sd = hp[: len(hp) // w * w].reshape(-1, w).std(axis=1)
    moving = sd > 5 * np.median(sd)
    seg = xf[: len(xf) // (10 * w) * 10 * w].reshape(-1, 10 * w)
    f, p = welch(seg, fs=fs, nperseg=2 * w, axis=1)
    return peaks, moving, p[:, np.searchsorted(f, 50.0)]


@pytest.mark.parametrize("hours", HOURS)
def test_bench_session_tracks(benchmark, hours):
    ses = _cached(hours)
    session_tracks(ses)  # JIT compiled (or loaded from cache) outside the timed call
    r = benchmark(session_tracks, ses)
    assert len(r.respiration_cycles) > 100 * hours


@pytest.mark.parametrize("hours", HOURS)
def test_bench_session_tracks_with_beats(benchmark, hours):
    """As ``pipeline.analyze`` calls it: with the heartbeat detector's beat times, so
    breathing also weighs the beat intervals (the detector's own time is not counted:
    analyze pays it for the heartbeat track anyway)."""
    from sleepsignal.heartbeats import detect_heartbeats

    ses = _cached(hours)
    x, fs = ses.signal("normal")
    bt = detect_heartbeats(x, fs).beat_times
    session_tracks(ses, beat_times=bt)
    r = benchmark(session_tracks, ses, beat_times=bt)
    assert len(r.respiration_cycles) > 100 * hours


@pytest.mark.parametrize("hours", HOURS)
def test_bench_plain_scipy_peer(benchmark, hours):
    ses = _cached(hours)
    x, fs = ses.signal("normal")
    peaks, _, _ = benchmark(_plain_scipy, x, fs)
    assert len(peaks) > 100 * hours


@pytest.mark.parametrize("hours", [pytest.param(1.0, id="1h")])
def test_bench_neurokit2_peer(benchmark, hours):
    """1 hour only: on a whole night neurokit2 takes about a minute per call."""
    nk = pytest.importorskip("neurokit2", reason="neurokit2 is not installed (optional peer)")
    ses = _cached(hours)
    x, fs = ses.signal("normal")
    signals, _ = benchmark(nk.rsp_process, x.astype(np.float64), sampling_rate=int(fs))
    assert len(signals) == len(x)


def test_bench_cold_start(benchmark):
    """A fresh process: import, numba cache load (or compile on the very first run), and
    the tracks of a 3-minute session. Compare with the warm 1-hour case above."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import numpy as np\n"
        "from sleepsignal.session import Session\n"
        "from sleepsignal.tracks import session_tracks\n"
        "x = (32768 + 200 * np.sin(np.arange(140 * 180) / 140 * 1.5)).astype(np.uint16)\n"
        "session_tracks(Session.from_array(x, 140.0, start=0.0, timezone='UTC'))\n"
    )
    root = Path(__file__).resolve().parents[1]

    def run() -> None:
        subprocess.run([sys.executable, "-c", code], check=True, cwd=root)

    benchmark.pedantic(run, rounds=1, iterations=1)
