"""Snoring events from the noise track, locked to breathing; the runs kernel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_tracks import naive_cycle_levels, naive_runs

from sleepsignal._track_kernels import _cycle_levels_kernel, _runs_kernel
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


def _vectorised_cycle_levels(ext, c0, c1):
    """The numpy formulation the kernel replaced (reduceat over the cycle edges)."""
    filled = np.where(np.isnan(ext), -np.inf, ext)
    edges = np.empty(2 * len(c0), dtype=np.int64)
    edges[0::2], edges[1::2] = c0, c1
    top = np.maximum.reduceat(filled, edges)[0::2]
    bottom = np.minimum.reduceat(np.where(np.isnan(ext), np.inf, ext), edges)[0::2]
    nan_in = np.add.reduceat(np.isnan(ext).astype(np.int64), edges)[0::2] > 0
    length = c1 - c0
    cyc = np.repeat(np.arange(len(c0)), length)
    sample = np.repeat(c0 - np.concatenate([[0], np.cumsum(length)[:-1]]), length) + np.arange(
        length.sum()
    )
    with np.errstate(invalid="ignore"):  # an all-missing cycle: -inf + inf
        mid = 0.5 * (top + bottom)
    loud = np.bincount(cyc, weights=(ext[sample] > mid[cyc]), minlength=len(c0)) / length
    arg = np.full(len(c0), -1, dtype=np.int64)
    is_top = filled[sample] == top[cyc]
    arg[cyc[is_top][::-1]] = sample[is_top][::-1]
    return top, bottom, nan_in, loud, arg


@given(
    st.lists(
        st.sampled_from([0.0, 1.5, 3.0, 7.25, 30.0, 31.0, float("nan")]), min_size=1, max_size=60
    ),
    st.lists(st.integers(0, 4), min_size=1, max_size=15),
    st.lists(st.integers(1, 8), min_size=1, max_size=15),
)
def test_cycle_levels_kernel_matches_naive_and_numpy(values, gaps, lengths):
    """Ties, missing values, all-missing cycles, touching cycles: the kernel equals the
    plain loop and the reduceat formulation it replaced in ``detect_snoring``."""
    c0, c1, pos = [], [], 0
    for g, n in zip(gaps, lengths, strict=False):
        c0.append(pos + g)
        c1.append(pos + g + n)
        pos += g + n
    ext = np.resize(np.asarray(values, dtype=np.float64), pos + 1)
    c0a, c1a = np.asarray(c0, dtype=np.int64), np.asarray(c1, dtype=np.int64)
    got = _cycle_levels_kernel(ext, c0a, c1a)
    for want in (naive_cycle_levels(ext, c0a, c1a), _vectorised_cycle_levels(ext, c0a, c1a)):
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_cycle_levels_kernel_empty_and_read_only():
    ext = np.array([1.0, 2.0, np.nan, 4.0])
    ext.flags.writeable = False
    e = np.empty(0, dtype=np.int64)
    assert all(len(a) == 0 for a in _cycle_levels_kernel(ext, e, e))
    top, bottom, nan_in, loud, arg = _cycle_levels_kernel(
        ext, np.array([0, 2], dtype=np.int64), np.array([2, 3], dtype=np.int64)
    )
    assert top.tolist() == [2.0, -np.inf] and bottom.tolist() == [1.0, np.inf]
    assert nan_in.tolist() == [False, True] and loud.tolist() == [0.5, 0.0]
    assert arg.tolist() == [1, 2]


@given(
    st.integers(0, 20),
    st.integers(1, 160),
    st.sampled_from([20.0, 5.0, 50.0, 95.0, 0.0, 100.0, 33.3]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_row_percentile_equals_numpy(rows, cols, q, ties, seed):
    """The baseline's block percentile is ``np.percentile(axis=1)`` bit for bit."""
    from sleepsignal.snoring import _row_percentile

    rng = np.random.default_rng(seed)
    x = rng.normal(30, 8, (rows, cols))
    if ties:
        x = rng.integers(0, 4, (rows, cols)).astype(np.float64)
    want = np.percentile(x, q, axis=1)
    got = _row_percentile(x, q)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


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
