"""Snoring events from the noise track, locked to breathing; the runs kernel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_tracks import naive_runs

from sleepsignal._track_kernels import _runs_kernel
from sleepsignal.errors import SignalError, SleepSignalWarning
from sleepsignal.respiration import Breathing
from sleepsignal.snoring import Snoring, detect_snoring


@given(st.lists(st.booleans(), max_size=120), st.integers(0, 3), st.integers(1, 5))
def test_runs_kernel_matches_naive(flags, gap, min_len):
    f = np.asarray(flags, dtype=np.uint8)
    got = _runs_kernel(f, gap, min_len)
    want = naive_runs(f, gap, min_len)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def _cycles(seconds: float, period: float = 4.0) -> Breathing:
    s = np.arange(0.0, seconds - period, period)
    return Breathing(s, np.full(len(s), period), np.ones(len(s)), s + 0.4 * period)


def _noise(seconds: float, snore: tuple[float, float] | None, period: float = 4.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = (np.arange(int(seconds * 10)) + 0.5) / 10
    level = 30 + rng.normal(0, 0.8, len(t))
    if snore is not None:
        u = (t % period) / period
        on = (t >= snore[0]) & (t < snore[1]) & (u < 0.4)
        level[on] = np.maximum(level[on], 30 + 18 * np.sin(np.pi * u[on] / 0.4) ** 2)
    return level.astype(np.float32)


def test_snoring_run_found():
    b = _cycles(600)
    r = detect_snoring(_noise(600, (200.0, 320.0)), 10.0, b)
    assert isinstance(r, Snoring)
    assert len(r.starts) == 1
    assert r.starts[0] == pytest.approx(200.0, abs=4.0)
    assert r.starts[0] + r.lengths[0] == pytest.approx(320.0, abs=4.0)
    assert r.cycle_snores.sum() == 30


def test_snoring_quiet_room_and_steady_noise_are_not_snoring():
    b = _cycles(600)
    assert len(detect_snoring(_noise(600, None), 10.0, b).starts) == 0
    steady = _noise(600, None)
    steady[2000:3000] += 20  # a fan for 100 s: loud but not locked to breathing
    assert len(detect_snoring(steady, 10.0, b).starts) == 0


def test_snoring_needs_three_consecutive_cycles():
    b = _cycles(600)
    r = detect_snoring(_noise(600, (200.0, 208.0)), 10.0, b)  # two snores only
    assert len(r.starts) == 0 and r.cycle_snores.sum() == 2


def test_snoring_bad_values_are_missing_with_warning():
    b = _cycles(600)
    n = _noise(600, (200.0, 320.0))
    n[2500] = np.nan
    n[2600] = -1.0
    n[100] = np.inf
    with pytest.warns(SleepSignalWarning, match="3 of"):
        r = detect_snoring(n, 10.0, b)
    assert r.invalid_samples == 3
    # the run is split where the missing values are, nothing crashes
    assert 1 <= len(r.starts) <= 3
    with pytest.warns(SleepSignalWarning):
        r = detect_snoring(np.full(100, np.nan, np.float32), 10.0, b)
    assert len(r.starts) == 0


def test_snoring_no_cycles_or_no_noise():
    empty = Breathing(np.empty(0), np.empty(0), np.empty(0), np.empty(0))
    assert len(detect_snoring(_noise(60, None), 10.0, empty).starts) == 0
    assert len(detect_snoring(np.empty(0, np.float32), 10.0, _cycles(60)).starts) == 0


def test_snoring_bad_arguments():
    with pytest.raises(SignalError):
        detect_snoring(np.ones((3, 3)), 10.0, _cycles(60))
    with pytest.raises(SignalError):
        detect_snoring(np.ones(30), 0.0, _cycles(60))
