"""Staging speed: a night of beat intervals to 30 s stages (features + logistic + HMM).

Run for real with ``pytest benchmarks/bench_staging.py --benchmark-enable``; in the
normal test run benchmarks are disabled and each body runs once as a smoke test. The
numba NN filter is compiled (or loaded from the cache) outside the timed call.
"""

from __future__ import annotations

import numpy as np
import pytest

from sleepsignal import _staging_features as F
from sleepsignal.hypnogram import Hypnogram
from sleepsignal.staging import stage_epochs

HOURS = {"1h": 1.0, "8h": 8.0, "week": 7 * 24.0}


def _beats(hours: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = int(hours * 3600)
    k = np.arange(n)
    rr = 1.0 + 0.05 * np.sin(2 * np.pi * k / 1500) + 0.03 * np.sin(k / 0.7)
    rr += rng.normal(0, 0.01, n)
    return np.r_[0.0, np.cumsum(rr)[:-1]], rr


@pytest.fixture(
    scope="module",
    params=[pytest.param(k, marks=pytest.mark.slow) if k == "week" else k for k in HOURS],
    ids=list(HOURS),
)
def night(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, int]:
    t, rr = _beats(HOURS[request.param])
    F.nn_mask(t[:10], rr[:10])  # JIT warm-up outside the timed call
    return t, rr, int(np.ceil((t[-1] + rr[-1]) / 30))


def test_stage_epochs_heartbeat(benchmark, night) -> None:  # type: ignore[no-untyped-def]
    t, rr, n = night
    r = benchmark(stage_epochs, n, heartbeat=(t, rr))
    assert r.model == "heartbeat" and len(r.stages) == n


def test_nn_mask_kernel(benchmark, night) -> None:  # type: ignore[no-untyped-def]
    t, rr, _ = night
    mask = benchmark(F.nn_mask, t, rr)
    assert mask.mean() > 0.99


def test_sleep_cycles(benchmark) -> None:  # type: ignore[no-untyped-def]
    stages = np.tile(np.repeat([1, 2, 1, 3], 45), 6)
    h = Hypnogram(stages, 1.7e9, "UTC", probabilities=np.full((len(stages), 4), 0.25))
    c = benchmark(h.sleep_cycles)
    assert len(c.times) == len(stages) * 30 // 120 + 1  # onset and final awakening included


def test_nn_mask_first_call_float32(benchmark) -> None:  # type: ignore[no-untyped-def]
    """First call on the float32 signature (compile or cache load) timed on its own."""
    t = np.arange(5, dtype=np.float32)
    rr = np.array([1.0, 1.0, 0.5, 1.0, 1.0], dtype=np.float32)
    mask = benchmark.pedantic(
        F._nn_mask_kernel, args=(t, rr, 0.3, 2.0, 0.25, 10.0, 4), rounds=1, iterations=1
    )
    np.testing.assert_array_equal(mask, [True, True, False, True, True])
