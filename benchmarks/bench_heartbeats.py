"""Heartbeat detection speed against peers, on simulated nights (no real data needed).

Run for real with ``pytest benchmarks/bench_heartbeats.py --benchmark-enable``; in the
normal test run benchmarks are disabled and each body runs once as a smoke test (the 8 h
night is marked slow). Peers, timed in the same session for ratios:

- ``scipy_peaks``: a plain scipy detector (4th-order Butterworth band-pass 2-20 Hz,
  ``sosfiltfilt``, ``find_peaks`` with a 0.375 s refractory distance (160 bpm)), no gating;
- ``neurokit2``: ``ecg_clean`` + ``ecg_peaks`` (skipped when neurokit2 is absent).

The numba kernels are compiled (or loaded from the cache) before timing.
"""

from __future__ import annotations

import numpy as np
import pytest

from sleepsignal.heartbeats import detect_heartbeats
from sleepsignal.simulate import simulate_night

HOURS = {
    "10min": pytest.param(1 / 6, id="10min"),
    "1h": pytest.param(1.0, id="1h"),
    "8h": pytest.param(8.0, id="8h", marks=pytest.mark.slow),
}


@pytest.fixture(scope="module", params=list(HOURS.values()))
def night(request) -> tuple[np.ndarray, float]:
    # body_noise 0.25: neighbouring beats as alike as on a real mattress recording
    # (benchmarks/realism_heartbeats.py); at the default 1.0 almost nothing is reliable
    sim = simulate_night(request.param, seed=3, profile="mixed", body_noise=0.25)
    x, fs = sim.session.signal("normal")
    detect_heartbeats(x[: int(60 * fs)], fs)  # warm the kernels outside the timing
    return x, fs


def scipy_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """The plain peer: band-pass + find_peaks, every peak a beat."""
    from scipy.signal import butter, find_peaks, sosfiltfilt

    y = sosfiltfilt(butter(4, [2.0, 20.0], btype="bandpass", fs=fs, output="sos"), x)
    peaks, _ = find_peaks(y, distance=max(1, int(0.375 * fs)))
    return np.diff(peaks) / fs


def test_sleepsignal(benchmark, night: tuple[np.ndarray, float]) -> None:
    x, fs = night
    hb = benchmark(detect_heartbeats, x, fs)
    assert hb.reliable.sum() > 0.5 * len(x) / fs  # more than 30 bpm of reliable beats


def test_peer_scipy_peaks(benchmark, night: tuple[np.ndarray, float]) -> None:
    x, fs = night
    iv = benchmark(scipy_peaks, x, fs)
    assert len(iv) > 0


def test_peer_neurokit2(benchmark, night: tuple[np.ndarray, float]) -> None:
    nk = pytest.importorskip("neurokit2", reason="neurokit2 is not installed (optional peer)")
    x, fs = night

    def run() -> np.ndarray:
        clean = nk.ecg_clean(x.astype(np.float64), sampling_rate=int(fs))
        _, info = nk.ecg_peaks(clean, sampling_rate=int(fs))
        return np.asarray(info["ECG_R_Peaks"])

    peaks = benchmark(run)
    assert len(peaks) > 0
