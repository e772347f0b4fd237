"""Unit tests of sleepsignal.heartbeats, its kernels and sleepsignal.hrv (no real data)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_heartbeats import (
    naive_bad_runs,
    naive_bad_samples,
    naive_best_chain,
    naive_block_sums,
    naive_candidate_peaks,
    naive_envelope,
    naive_envelope_peaks,
    naive_front_end,
    naive_hidden_beat,
    naive_interp_grid,
    naive_local_median,
    naive_local_template_ncc,
    naive_nearest_good_interval,
    naive_pair_alignment,
    naive_recurrence,
    naive_run_fiducial,
    naive_solve_tridiagonal,
)

from sleepsignal import _heartbeat_kernels as K
from sleepsignal import heartbeats as hb_module
from sleepsignal.errors import SignalError, SleepSignalError, SleepSignalWarning
from sleepsignal.heartbeats import (
    MIN_FS,
    Heartbeats,
    _design_filter,
    _hum_aliases,
    _warm_up,
    detect_heartbeats,
    heart_rate,
    heartbeat_tracks,
)
from sleepsignal.hrv import night_hrv_indices, rmssd
from sleepsignal.session import Session

FS = 140.0


def bcg(
    intervals: np.ndarray, fs: float = FS, *, seed: int = 0, noise: float = 0.02, lead: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A small synthetic BCG: a three-lobe complex (I, J, K) at each beat, plus noise.

    Returns the signal and the J-peak times (s).
    """
    beats = lead + np.concatenate(([0.0], np.cumsum(intervals)))
    n = int((beats[-1] + 1.0) * fs)
    t = np.arange(n) / fs
    x = np.zeros(n)
    for b in beats:
        lo, hi = int((b - 0.3) * fs), int((b + 0.4) * fs)
        tt = t[lo:hi] - b
        x[lo:hi] += (
            np.exp(-((tt / 0.025) ** 2))
            - 0.55 * np.exp(-(((tt + 0.07) / 0.03) ** 2))
            - 0.7 * np.exp(-(((tt - 0.08) / 0.035) ** 2))
        )
    rng = np.random.default_rng(seed)
    x += noise * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 0.25 * t)
    return x, beats


def rr_series(n: int, *, seed: int = 1, mean: float = 0.85) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return mean + 0.04 * np.sin(2 * np.pi * k / 4.5) + 0.01 * rng.standard_normal(n)


# -- kernels against the naive references ---------------------------------------------


@pytest.mark.parametrize("half", [0, 1, 2, 3, 20])
def test_candidate_peaks_matches_naive(half: int) -> None:
    rng = np.random.default_rng(half)
    env = rng.random(400)
    env[50:60] = 0.7  # plateau
    env[100:103] = np.nan
    env[200] = 0.0
    np.testing.assert_array_equal(K._candidate_peaks(env, half), naive_candidate_peaks(env, half))


@pytest.mark.parametrize("half", [1, 5, 13])
def test_candidate_peaks_matches_naive_on_smooth_envelope(half: int) -> None:
    # a smooth envelope with plateaus and ties: exercises the neighbour shortcut and
    # the skip of ``half`` samples after each peak
    rng = np.random.default_rng(10 + half)
    env = np.convolve(rng.random(3000) ** 4, np.ones(9) / 9, mode="same")
    env = np.round(env, 2)  # many equal values
    env[700:720] = np.nan
    env[1500:1520] = 0.0
    np.testing.assert_array_equal(K._candidate_peaks(env, half), naive_candidate_peaks(env, half))


@given(
    st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, np.nan]), max_size=60),
    st.integers(0, 8),
)
def test_candidate_peaks_matches_naive_with_ties_and_nan(values: list, half: int) -> None:
    # few distinct values: ties and NaN at every position relative to the blocks
    env = np.array(values, dtype=np.float64)
    np.testing.assert_array_equal(K._candidate_peaks(env, half), naive_candidate_peaks(env, half))


def test_candidate_peaks_edges() -> None:
    assert K._candidate_peaks(np.empty(0), 3).shape == (0,)
    assert K._candidate_peaks(np.zeros(10), 3).shape == (0,)  # flat zero: no peak
    assert K._candidate_peaks(np.full(10, np.nan), 3).shape == (0,)
    np.testing.assert_array_equal(K._candidate_peaks(np.array([1.0]), 3), [0])
    np.testing.assert_array_equal(K._candidate_peaks(np.array([1.0, 2.0, 3.0]), 1), [2])


def test_pair_alignment_matches_naive() -> None:
    x, _ = bcg(rr_series(20))
    rng = np.random.default_rng(3)
    x = x + 0.2 * rng.standard_normal(x.shape[0])
    cand = np.sort(rng.choice(np.arange(x.shape[0]), 40, replace=False)).astype(np.int64)
    bad = np.zeros(40, dtype=bool)
    bad[5] = True
    x[cand[7] : cand[7] + 200] = 1.0  # a flat stretch: NaN correlations
    computed = {}
    for good, step, lo, hi in (
        (0.9, 2, 0.0, 1e9),
        (2.0, 1, 0.0, 1e9),
        (0.9, 3, 0.0, 1e9),
        (2.0, 4, 0.0, 1e9),  # +-2, then +-1 around the coarse best
        (0.9, 5, 0.0, 1e9),  # +-3, +-2, +-1
        (2.0, 2, 0.0, 1e9),
        (2.0, 2, 52.5, 140.0),  # farther pairs out of range are skipped
        (2.0, 2, 120.0, 1e9),
    ):
        lag, ncc = K._pair_alignment(x, cand, bad, 3, 35, 49, 14, good, step, lo, hi)
        nlag, nncc = naive_pair_alignment(x, cand, bad, 3, 35, 49, 14, good, step, lo, hi)
        np.testing.assert_allclose(ncc, nncc, rtol=0, atol=1e-9, equal_nan=True)
        np.testing.assert_allclose(lag, nlag, rtol=0, atol=1e-6, equal_nan=True)
        computed[(lo, hi)] = np.isfinite(ncc)
    # once a pair matches at good_enough, the farther ones are skipped: after the second
    # candidate too, not only after the next
    _, ncc9 = K._pair_alignment(x, cand, bad, 3, 35, 49, 14, 0.5, 2, 0.0, 1e9)
    _, ncc2 = K._pair_alignment(x, cand, bad, 3, 35, 49, 14, 2.0, 2, 0.0, 1e9)
    after_second = (ncc2[:, 0] < 0.5) & (ncc2[:, 1] >= 0.5) & np.isfinite(ncc2[:, 2])
    assert after_second.any()
    assert np.isnan(ncc9[after_second, 2]).all()
    np.testing.assert_array_equal(ncc9[after_second, :2], ncc2[after_second, :2])
    every = computed[(0.0, 1e9)]  # the last run without a range (good=2.0, step=2)
    for lo, hi in ((52.5, 140.0), (120.0, 1e9)):
        got = computed[(lo, hi)]
        # the skip is real (fewer pairs) and touches only the pairs out of range; the
        # next candidate's pair only when it is too close (a long one counts for the
        # good_enough test)
        assert got.sum() < every.sum()
        span1 = np.full(cand.shape[0], np.nan)
        span1[:-1] = np.diff(cand)
        np.testing.assert_array_equal(got[:, 0], every[:, 0] & (span1 + 14 >= lo))
        if lo == 120.0:
            assert (every[:, 0] & (span1 + 14 < lo)).any()  # the too-close skip happens
        for d in (2, 3):
            span = np.full(cand.shape[0], np.nan)
            span[:-d] = cand[d:] - cand[:-d]
            inside = (span + 14 >= lo) & (span - 14 <= hi)
            np.testing.assert_array_equal(got[:, d - 1], every[:, d - 1] & inside)


def test_nearest_good_interval_matches_naive() -> None:
    rng = np.random.default_rng(7)
    nc = 500
    cand = np.cumsum(rng.integers(20, 160, size=nc))
    ncc = rng.random((nc, 3)) * 1.2 - 0.1
    ncc[rng.random((nc, 3)) < 0.2] = np.nan
    ncc[:, 1] = np.where(rng.random(nc) < 0.3, ncc[:, 0] - 0.05, ncc[:, 1])  # near ties
    lag = np.where(np.isnan(ncc), np.nan, rng.normal(size=(nc, 3)) * 5)
    for lo, hi in ((52.5, 280.0), (0.0, 1e9), (100.0, 120.0)):
        got = K._nearest_good_interval(cand, lag.ravel(), ncc.ravel(), 3, lo, hi, 0.1, 0.7)
        want = naive_nearest_good_interval(cand, lag, ncc, lo, hi, 0.1, 0.7)
        np.testing.assert_array_equal(got, want)
        assert np.isfinite(got).sum() > 10  # not a vacuous comparison of all-NaN
    empty = np.empty(0, dtype=np.int64)
    assert K._nearest_good_interval(
        empty, np.empty(0), np.empty(0), 3, 1.0, 2.0, 0.1, 0.7
    ).shape == (0,)


def test_pair_alignment_empty_and_edges() -> None:
    lag, ncc = K._pair_alignment(
        np.zeros(10), np.empty(0, np.int64), np.empty(0, bool), 3, 2, 2, 1, 0.9, 1, 0.0, 1e9
    )
    assert lag.shape == (0, 3) and ncc.shape == (0, 3)
    # windows that leave the signal give NaN, never an index error
    x = np.sin(np.arange(100.0))
    lag, ncc = K._pair_alignment(
        x, np.array([0, 50, 99]), np.zeros(3, bool), 3, 10, 10, 5, 0.9, 2, 0.0, 1e9
    )
    assert np.isnan(ncc[0]).all() and np.isnan(ncc[2]).all()


@pytest.mark.parametrize("seed", range(5))
def test_bad_samples_matches_naive(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, 300).astype(np.float64)  # many equal neighbours and rails
    x[rng.random(300) < 0.05] = np.nan
    x[100:140] = 3.0
    for min_flat in (2, 4, 30):
        np.testing.assert_array_equal(K._bad_samples(x, min_flat), naive_bad_samples(x, min_flat))
    assert K._bad_samples(np.empty(0), 3).shape == (0,)
    assert K._bad_samples(np.full(5, np.nan), 3).all()
    np.testing.assert_array_equal(
        K._bad_samples(np.array([0.0, 5.0, 5.0, 1.0]), 9), [False, True, True, False]
    )  # two samples on the top rail


@pytest.mark.parametrize("seed", range(5))
def test_bad_runs_match_naive(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, 300).astype(np.float64)  # many equal neighbours and rails
    x[rng.random(300) < 0.05] = np.nan
    x[rng.random(300) < 0.02] = np.inf
    x[100:140] = 3.0
    for dtype in (np.float64, np.float32):
        for min_flat in (2, 4, 30):
            got = K._bad_runs(x.astype(dtype), min_flat)
            want = naive_bad_runs(x, min_flat)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
    for edge in (np.empty(0), np.array([1.0]), np.full(5, np.nan), np.array([2.0, 2.0])):
        got = K._bad_runs(edge, 3)
        want = naive_bad_runs(edge, 3)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("seed", range(5))
def test_equal_runs_match_naive(seed: int) -> None:
    """The bad runs read off the equal neighbours (finite signals) are the scan's."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, 400).astype(np.float64)  # many equal neighbours and rails
    x[100:140] = 3.0
    x[200:236] = 7.0  # a flat run on the top rail, next to ...
    x[236:240] = 2.0  # ... a short run of another value: adjacent runs merge
    x[:3] = 0.0  # runs at both ends
    x[-2:] = 7.0
    for dtype in (np.float64, np.float32):
        xd = x.astype(dtype)
        eq = np.flatnonzero(xd[1:] == xd[:-1])
        for min_flat in (2, 4, 30):
            want = naive_bad_runs(x, min_flat)
            got = K._equal_runs(xd, eq, float(xd.min()), float(xd.max()), min_flat)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
            got = hb_module._bad_runs(xd, min_flat)  # the wrapper the detector calls
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
        assert got[0].shape[0] >= 3  # not a vacuous comparison
    # NaN or infinity: the wrapper falls back to the sample-by-sample scan
    for v in (np.nan, np.inf, -np.inf):
        xv = x.copy()
        xv[[5, 6, 50]] = v
        got = hb_module._bad_runs(xv, 4)
        want = naive_bad_runs(xv, 4)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    for edge in (np.empty(0), np.array([1.0]), np.array([2.0, 2.0]), np.arange(5.0)):
        got = hb_module._bad_runs(edge, 3)
        want = naive_bad_runs(edge, 3)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("n_notch", [0, 2, 4, 8])
def test_front_end_matches_scipy_sosfilt(n_notch: int) -> None:
    from scipy.signal import butter, iirnotch, tf2sos

    rng = np.random.default_rng(n_notch)
    n = 40000  # longer than 12 warm-ups: most lanes start from a warmed-up zero state
    x = np.cumsum(rng.normal(size=n)) + 500.0
    x[rng.random(n) < 0.01] = np.nan
    x[1000:1100] = 7.0
    x[24990:25300] = 9.0  # a bad run across a lane boundary (16 lanes: at 25000)
    sos = np.concatenate(
        [butter(2, 2.0, "highpass", fs=FS, output="sos"), butter(4, 20.0, fs=FS, output="sos")]
        + [tf2sos(*iirnotch(5.0 + 3 * k, 8.0, fs=FS)) for k in range(n_notch)]
    )  # 3 to 11 sections
    warm = _warm_up(sos)
    assert 0 < warm < 3500  # the slowest pole, the 5 Hz notch (Q = 8): 3284 samples
    for dtype in (np.float64, np.float32):
        xd = x.astype(dtype)
        start, stop = K._bad_runs(xd, 35)
        bad = naive_bad_samples(xd, 35)
        want = naive_front_end(xd, 480.5, sos, bad)
        for q in (1, 2, 3, 7):
            for lanes, w in ((1, -1), (3, warm), (16, warm), (16, -1)):
                y, eb = K._front_end(xd, 480.5, sos, start, stop, q, lanes, w)
                # fused multiply-adds, and lanes started from a zero state decayed
                # below 1e-20: equal to rounding, relative to the signal's scale
                np.testing.assert_allclose(y, want, rtol=0, atol=1e-11 * np.abs(want).max())
                eb_want = naive_block_sums(want, q)
                np.testing.assert_allclose(eb, eb_want, rtol=0, atol=1e-11 * eb_want.max())
    y, eb = K._front_end(np.empty(0), 0.0, sos, start[:0], stop[:0], 2, 16, warm)
    assert y.shape == (0,) and eb.shape == (0,)
    for n_short in (1, 5, 100):  # shorter than the lanes or a warm-up: the serial filter
        xs = x[:n_short].copy()
        xs[np.isnan(xs)] = 0.0
        want = naive_front_end(xs, 480.5, sos, np.zeros(n_short, dtype=bool))
        y, eb = K._front_end(xs, 480.5, sos, start[:0], stop[:0], 2, 16, warm)
        np.testing.assert_allclose(y, want, rtol=0, atol=1e-11 * np.abs(want).max())
        assert eb.shape == (n_short // 2,)


def test_filter_design_is_cached_and_copied() -> None:
    for fs, band in ((FS, (2.0, 20.0)), (500.0, (2.0, 20.0)), (50.0, (1.0, 15.0))):
        sos, warm = hb_module._filter_and_warm_up(fs, *band)
        want = _design_filter(fs, *band)
        np.testing.assert_array_equal(sos, want)
        assert warm == _warm_up(want)
        sos[:] = 0.0  # the caller's copy: the cached design is untouched
        np.testing.assert_array_equal(hb_module._filter_and_warm_up(fs, *band)[0], want)


def test_front_end_lanes_need_the_warm_up() -> None:
    # without a warm-up the lanes start from a wrong (zero) state: the test above would
    # catch a kernel that ignored the lanes' warm-up
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(size=8000))
    sos = _design_filter(FS, 2.0, 20.0)
    start = np.empty(0, dtype=np.int64)
    want = naive_front_end(x, 0.0, sos, np.zeros(x.shape[0], dtype=bool))
    y, _ = K._front_end(x, 0.0, sos, start, start, 2, 8, 0)
    assert np.abs(y - want).max() > 1e-6 * np.abs(want).max()
    y, _ = K._front_end(x, 0.0, sos, start, start, 2, 8, _warm_up(sos))
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_detector_in_lanes_equals_one_serial_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    # 10 min at 140 Hz: 16 lanes, each warmed up over 11.7 s; the serial filter (one
    # lane) gives the same beats to rounding
    x, _ = bcg(rr_series(700))
    x[30000:30500] = np.nan  # a gap inside a lane
    hb = detect_heartbeats(x, FS)
    monkeypatch.setattr(hb_module, "_LANES", 1)
    one = detect_heartbeats(x, FS)
    assert hb.reliable.sum() > 500
    for a, b in zip(hb, one, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_warm_up_of_the_beddit_filter() -> None:
    # at 140 Hz the slowest pole is the 10 Hz mains notch: |p| = 0.9723 (36 samples)
    sos = _design_filter(FS, 2.0, 20.0)
    r = max(np.abs(np.roots([1.0, a1, a2])).max() for a1, a2 in sos[:, 4:6])
    assert r == pytest.approx(0.9723, abs=1e-4)
    warm = _warm_up(sos)
    assert r**warm <= 1e-20 < r ** (warm - 1)
    assert _warm_up(np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 1.0]])) == -1  # |p| = 1: none
    assert _warm_up(np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])) == 0  # FIR: no state


@pytest.mark.parametrize("n", [1, 2, 3, 50])
def test_solve_tridiagonal_matches_dense_solve(n: int) -> None:
    rng = np.random.default_rng(n)
    off = -(rng.random(n - 1) < 0.8).astype(np.float64)  # chains broken at random
    diag = 0.02 + np.concatenate(([0.0], -off)) + np.concatenate((-off, [0.0]))
    rhs = rng.normal(size=n) * 100.0
    got = K._solve_tridiagonal(off, diag, rhs)
    np.testing.assert_allclose(got, naive_solve_tridiagonal(off, diag, rhs), rtol=1e-10)
    assert K._solve_tridiagonal(off[:0], diag[:0], rhs[:0]).shape == (0,)


@pytest.mark.parametrize("n", [0, 1, 5, 37, 400])
def test_envelope_matches_naive(n: int) -> None:
    eb = np.random.default_rng(n).random(n) ** 4
    for size in (1, 2, 5, 10, 11, 2 * n + 3):
        want = naive_envelope(eb, size)
        # a running sum: rounding relative to the largest value, not to each sum
        atol = 1e-13 * max(1.0, float(want.max(initial=0.0)))
        np.testing.assert_allclose(K._envelope(eb, size), want, rtol=0, atol=atol)


@pytest.mark.parametrize("n", [0, 1, 5, 400, 4096, 4097, 13000])
def test_envelope_peaks_match_naive(n: int) -> None:
    rng = np.random.default_rng(n)
    smooth = np.convolve(rng.random(n + 40) ** 4, np.ones(20), "valid")[:n]
    for eb in (rng.random(n) ** 4, smooth, np.where(rng.random(n) < 0.3, 0.0, smooth)):
        for size in (1, 2, 10, 11):
            env = K._envelope(eb, size)  # the same running sum
            for half in (1, 13, 300, 5000):  # 5000: wider than the 4096-block buffer
                peaks, at = K._envelope_peaks(eb, size, half)
                want, want_at = naive_envelope_peaks(eb, size, half)
                np.testing.assert_array_equal(peaks, want)
                np.testing.assert_array_equal(at, want_at)  # bit for bit
                np.testing.assert_array_equal(at, env[peaks])
    eb = np.ones(9000)
    eb[5000] = np.nan  # the running sum stays NaN after a NaN: no peaks there
    peaks, _ = K._envelope_peaks(eb, 3, 2)
    np.testing.assert_array_equal(peaks, naive_envelope_peaks(eb, 3, 2)[0])
    assert peaks.max() < 5000


def test_local_median_matches_naive() -> None:
    rng = np.random.default_rng(4)
    t = np.sort(rng.uniform(0, 200, 300))
    v = rng.random(300)
    v[::7] = np.nan
    tq = np.linspace(-20, 220, 97)
    np.testing.assert_allclose(
        K._local_median(t, v, tq, 15.0), naive_local_median(t, v, tq, 15.0), equal_nan=True
    )
    assert K._local_median(np.empty(0), np.empty(0), tq, 1.0).shape == tq.shape


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_local_median_matches_naive_with_ties_and_gaps(seed: int) -> None:
    # repeated values (removal of one copy), even and odd counts, query steps wider
    # than the window (values that leave before they were ever inserted), NaN values
    rng = np.random.default_rng(seed)
    t = np.sort(np.concatenate([rng.uniform(0, 100, 200), rng.uniform(300, 400, 200)]))
    v = np.round(rng.random(400), 1)
    v[rng.random(400) < 0.1] = np.nan
    tq = np.sort(np.concatenate([np.linspace(-10, 120, 40), [150.0, 290.0, 305.0, 500.0]]))
    for hw in (0.5, 3.0, 15.0):
        np.testing.assert_allclose(
            K._local_median(t, v, tq, hw),
            naive_local_median(t, v, tq, hw),
            rtol=0,
            atol=0,
            equal_nan=True,
        )


def test_interp_grid_matches_naive() -> None:
    rng = np.random.default_rng(3)
    grid = np.arange(10.0, 200.0, 2.0)
    mg = rng.normal(size=grid.shape[0])
    mg[rng.random(grid.shape[0]) < 0.3] = np.nan
    tq = np.sort(np.concatenate([rng.uniform(0.0, 220.0, 500), grid[::7], [5.0, 5.0]]))
    np.testing.assert_array_equal(
        K._interp_grid(grid, mg, tq, 2.0), naive_interp_grid(grid, mg, tq, 2.0)
    )
    one = np.array([3.0])
    np.testing.assert_array_equal(K._interp_grid(one, one * 2, tq[:5], 2.0), np.full(5, 6.0))
    assert K._interp_grid(grid, mg, np.empty(0), 2.0).shape == (0,)


def test_best_chain_matches_naive() -> None:
    rng = np.random.default_rng(5)
    for trial in range(20):
        nc = 60
        cand = np.sort(rng.choice(np.arange(10_000), nc, replace=False)).astype(np.int64)
        lag = rng.uniform(-10, 10, (nc, 3))
        ncc = rng.uniform(-0.2, 1.0, (nc, 3))
        ncc[rng.random((nc, 3)) < 0.1] = np.nan
        med = rng.uniform(100, 300, nc)
        med[rng.random(nc) < 0.1] = np.nan
        args = (cand, lag, ncc, med, 50, 400, 0.3, 2.0, (0.0, 0.3, 1.5)[trial % 3])
        args += ((0.0, 140.0)[trial % 2],)
        got = K._best_chain(cand, lag.ravel(), ncc.ravel(), 3, *args[3:])
        np.testing.assert_array_equal(got, naive_best_chain(*args), err_msg=f"trial {trial}")


def test_sum_helpers_match_plain_sums() -> None:
    """The sum helpers of the fiducial kernels against plain sums: the side-by-side
    sequential sums (:func:`_shift_sums`, :func:`_centred_sums`) are the sequential
    loop's bit for bit; the fused SIMD pair (:func:`_dot_and_square`) equals numpy's
    sums to rounding."""
    rng = np.random.default_rng(11)
    for ns, ws in ((0, 5), (1, 7), (3, 85), (4, 85), (7, 1), (57, 85), (127, 85)):
        arr = rng.standard_normal(ns + ws + 3) * 100.0
        tmpl = rng.standard_normal(ws)
        sab = np.full(max(ns, 1), np.nan)
        saa = np.full(max(ns, 1), np.nan)
        K._shift_sums(arr, 2, ns, tmpl, ws, sab, saa)
        for si in range(ns):
            s1 = 0.0
            s2 = 0.0
            for k in range(ws):  # the plain sequential loop
                v = arr[2 + si + k]
                s1 += v * tmpl[k]
                s2 += v * v
            assert sab[si] == s1 and saa[si] == s2, (ns, ws, si)
        K._centred_sums(arr, 1, ns, tmpl, ws, sab, saa)
        for li in range(ns):
            m = 0.0
            for k in range(ws):
                m += arr[1 + li + k]
            m = m / ws
            s1 = 0.0
            s2 = 0.0
            for k in range(ws):
                v = arr[1 + li + k] - m
                s1 += tmpl[k] * v
                s2 += v * v
            assert sab[li] == s1 and saa[li] == s2, (ns, ws, li)
        a = arr[:ws]
        got = K._dot_and_square(a, tmpl, ws)
        np.testing.assert_allclose(got, (a @ tmpl, a @ a), rtol=1e-12, atol=1e-9)


def test_dot2_is_two_dots_bit_for_bit() -> None:
    """:func:`_dot2` (two windows per pass, in the pair alignment's coarse search) gives
    each window :func:`_dot`'s value to the last bit, at every window length up to 320
    (84 at 140 Hz, 300 at 500 Hz), so the alignment's outputs do not move; and both
    equal numpy's dot to rounding. This pins the compiler's vectorisation, not a
    correctness rule: if a new numba or LLVM makes the two differ in the last bit, the
    answers are still right; then make :func:`_dot2` match again or accept the changed
    outputs with the accuracy runs."""
    rng = np.random.default_rng(12)
    for w in range(1, 321):
        x = rng.standard_normal(w + 40) * 10.0 ** rng.uniform(-3, 3)
        a = rng.standard_normal(w)
        p0, p1 = (int(v) for v in rng.integers(0, 40, 2))
        got = K._dot2(a, x, p0, p1, w)
        want = (K._dot(a, x[p0 : p0 + w], w), K._dot(a, x[p1 : p1 + w], w))
        assert np.array(got).tobytes() == np.array(want).tobytes(), (w, got, want)
        np.testing.assert_allclose(
            got,
            (a @ x[p0 : p0 + w], a @ x[p1 : p1 + w]),
            rtol=1e-9,
            atol=1e-9 * np.abs(x).max() * w,
        )


def test_run_fiducial_matches_naive() -> None:
    x, beats = bcg(rr_series(40))
    t = beats * FS + 3.3
    t[20:] += 11.0  # a second run locked on another lobe
    x[int(beats[25] * FS) :] *= -3  # ... and with flipped polarity
    run_start = np.array([0, 20, 20, 30, 41], dtype=np.int64)  # one empty run
    got, quality = K._run_fiducial(x, t, run_start, 42, 42, 28)
    want, want_q = naive_run_fiducial(x, t, run_start, 42, 42, 28)
    np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_allclose(quality, want_q, atol=1e-12)
    assert got[1] == 0.0 and quality[1] == 0.0
    assert np.all(quality[[0, 2, 3]] > 0.9)
    # every run's fiducial lands on the same lobe: the J peak
    fid = t[run_start[[0, 2, 3]]] + got[[0, 2, 3]]
    np.testing.assert_allclose(fid, beats[[0, 20, 30]] * FS, atol=0.6)


def test_run_fiducial_with_a_given_reference_matches_naive() -> None:
    """The reference run can be chosen (the detector picks the run with most
    well-matched pairs); an empty or out-of-range choice falls back to most beats."""
    x, beats = bcg(rr_series(40))
    t = beats * FS + 3.3
    t[20:] += 11.0
    run_start = np.array([0, 20, 20, 30, 41], dtype=np.int64)
    for ref in (-1, 0, 1, 2, 3, 9):
        got = K._run_fiducial(x, t, run_start, 42, 42, 28, ref)
        want = naive_run_fiducial(x, t, run_start, 42, 42, 28, ref)
        np.testing.assert_allclose(got[0], want[0], atol=1e-9)
        np.testing.assert_allclose(got[1], want[1], atol=1e-12)
        chosen = ref if ref in (0, 2, 3) else 0  # run 0 has most beats; run 1 is empty
        assert got[1][chosen] == 1.0


def test_reference_run_is_not_a_run_of_noise_in_the_empty_bed() -> None:
    """A noisy night whose real runs are short (sharp beat shape, strong body noise:
    simulator seed 21) with an empty-bed stretch: the run with most beats was a run of
    noise in the empty bed (39 "beats", median pair correlation 0.48), no real run
    matched it and almost nothing was timed. The reference is now the run with most
    well-matched pairs."""
    from naive_heartbeats import score_intervals

    from sleepsignal.simulate import simulate_night

    night = simulate_night(0.75, seed=21, movement_rate=0.0, bed_exits=1)
    hb = detect_heartbeats(*night.session.signal("normal"))
    rel = hb.reliable
    s = score_intervals(
        hb.interval_starts[rel], hb.intervals[rel], hb.beat_times, night.truth.beat_times
    )
    assert s["coverage"] >= 0.07, s  # measured 0.081 (223 intervals); 0.054 (150) before
    assert s["wrong"] <= 0.02, s


def test_run_fiducial_quality_of_noise_runs_matches_naive() -> None:
    """Runs of noise match the reference poorly: their quality is low, and equal."""
    rng = np.random.default_rng(5)
    for trial in range(5):
        y = rng.standard_normal(4000)
        y[1000:1500] += np.sin(np.arange(500) / 3.0) * 4  # the reference run's shape
        t = np.concatenate((np.linspace(1050, 1400, 12), np.sort(rng.uniform(1600, 3900, 48))))
        # the 12 beats on the shape are the longest run: the reference
        run_start = np.concatenate(([0], np.arange(12, 60, 5), [60])).astype(np.int64)
        got = K._run_fiducial(y, t, run_start, 30, 30, 20)
        want = naive_run_fiducial(y, t, run_start, 30, 30, 20)
        np.testing.assert_allclose(got[0], want[0], atol=1e-9, err_msg=f"trial {trial}")
        np.testing.assert_allclose(got[1], want[1], atol=1e-12, err_msg=f"trial {trial}")
        assert got[1][0] == 1.0 and np.median(got[1][1:]) < 0.8


def test_hidden_beat_matches_naive() -> None:
    x, beats = bcg(rr_series(30))
    rng = np.random.default_rng(11)
    x = x + 0.1 * rng.standard_normal(x.shape[0])  # several local maxima per interval
    b = np.round(beats * FS).astype(np.int64)
    first, second = b[:-2], b[2:]  # intervals that span a beat ...
    for coarse in (1, 2, 3):
        for gap in (0, 40):
            got = K._hidden_beat(x, first, second, 35, 49, 0.3, 0.7, 2, gap, coarse)
            want = naive_hidden_beat(x, first, second, 35, 49, 0.3, 0.7, 2, gap, coarse)
            np.testing.assert_allclose(got, want, equal_nan=True, atol=1e-9)
            assert np.nanmin(got[1:]) > 0.7  # ... show the hidden beat
        single = K._hidden_beat(x, b[1:-1], b[2:], 35, 49, 0.3, 0.7, 2, 0, coarse)
        want = naive_hidden_beat(x, b[1:-1], b[2:], 35, 49, 0.3, 0.7, 2, 0, coarse)
        np.testing.assert_allclose(single, want, equal_nan=True, atol=1e-9)
        assert np.nanmax(single) < 0.8
        # windows cut by the signal's ends: only the positions inside are tried
        lo_end = K._hidden_beat(x[30:], first - 30, second - 30, 35, 49, 0.0, 0.7, 2, 0, coarse)
        want = naive_hidden_beat(x[30:], first - 30, second - 30, 35, 49, 0.0, 0.7, 2, 0, coarse)
        np.testing.assert_allclose(lo_end, want, equal_nan=True, atol=1e-9)
        # no room between the minimum gaps: NaN, not an error
        assert np.isnan(K._hidden_beat(x, b[1:-1], b[2:], 35, 49, 0.3, 0.7, 2, 100, coarse)).all()
    # the coarse pass is a real shortcut: a coarser search never finds more than all
    full = K._hidden_beat(x, b[1:-1], b[2:], 35, 49, 0.3, 0.7, 2, 0, 1)
    for coarse in (2, 3):
        part = K._hidden_beat(x, b[1:-1], b[2:], 35, 49, 0.3, 0.7, 2, 0, coarse)
        assert np.all(part <= full + 1e-12) and np.any(part < full - 1e-6)


def test_local_template_ncc_matches_naive_and_finds_the_odd_beat() -> None:
    rng = np.random.default_rng(7)
    w = 84
    shape = np.sin(np.linspace(0, 3 * np.pi, w)) * np.hanning(w)
    starts = np.arange(20, 20 + 40 * 120, 120)
    y = 0.05 * rng.standard_normal(starts[-1] + 200)
    for s0 in starts:
        y[s0 : s0 + w] += shape * (1 + 0.2 * rng.standard_normal())
    odd = 17
    y[starts[odd] : starts[odd] + w] = 0.3 * rng.standard_normal(w)  # a beat unlike the rest
    # windows that leave the signal, and a flat one
    st = np.concatenate(([-30], starts, [len(y) - 10]))
    y_flat = y.copy()
    y_flat[starts[5] : starts[5] + w] = 1.0
    every = np.ones(st.shape[0], dtype=bool)
    # needed beats: all, scattered (gaps wider than a neighbourhood: the sum is rebuilt),
    # close pairs (the sum slides)
    masks = [every, rng.random(st.shape[0]) < 0.3, np.isin(np.arange(st.shape[0]), [3, 4, 30])]
    for half in (1, 2, 8):
        for sig in (y, y_flat):
            for need in masks:
                got = K._local_template_ncc(sig, st, need, half, w)
                want = naive_local_template_ncc(sig, st, need, half, w)
                np.testing.assert_allclose(got, want, equal_nan=True, atol=1e-9)
    r = K._local_template_ncc(y, st, every, 8, w)
    assert np.isnan(r[0]) and np.isnan(r[-1])  # outside the signal
    assert r[1 + odd] < 0.5  # the odd beat does not match its neighbourhood
    assert np.nanmin(np.delete(r[1:-1], odd)) > 0.9  # every other beat does
    assert np.isnan(K._local_template_ncc(y_flat, st, every, 8, w)[6])  # a flat beat: NaN
    part = K._local_template_ncc(y, st, masks[2], 8, w)
    assert np.isnan(np.delete(part, [3, 4, 30])).all()  # beats not needed: NaN
    np.testing.assert_allclose(part[[3, 4, 30]], r[[3, 4, 30]], atol=1e-12)
    # fewer than 2 neighbours inside: NaN
    assert np.isnan(K._local_template_ncc(y, starts[:2], every[:2], 8, w)).all()


# -- detect_heartbeats -----------------------------------------------------------------


def test_detects_intervals_to_sub_sample_precision() -> None:
    rr = rr_series(120)
    x, beats = bcg(rr)
    hb = detect_heartbeats(x, FS)
    assert isinstance(hb, Heartbeats)
    rel = hb.reliable
    assert rel.sum() >= 0.9 * len(rr)
    # every reliable interval is one of the true ones, within a fraction of a sample
    j = np.searchsorted(beats, hb.interval_starts[rel] - 0.2)
    err = np.abs(hb.intervals[rel] - rr[j])
    assert np.max(err) < 1.0 / FS
    assert np.mean(err) < 0.25 / FS
    assert np.all((hb.confidence >= 0) & (hb.confidence <= 1))
    # beat times are consistent with the intervals
    assert np.all(np.diff(hb.beat_times) > 0)


@given(
    scale=st.floats(0.01, 1000.0),
    offset=st.floats(-1e4, 1e4),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_invariant_to_gain_offset_and_polarity(scale: float, offset: float, sign: float) -> None:
    x, _ = bcg(rr_series(40), seed=2)
    ref = detect_heartbeats(x, FS)
    hb = detect_heartbeats(sign * scale * x + offset, FS)
    rel_ref = ref.intervals[ref.reliable]
    rel = hb.intervals[hb.reliable]
    assert abs(len(rel) - len(rel_ref)) <= 2
    assert abs(np.median(rel) - np.median(rel_ref)) < 1e-3


def test_flat_padding_shifts_beats() -> None:
    x, _ = bcg(rr_series(40), seed=3)
    ref = detect_heartbeats(x, FS)
    pad = int(5 * FS)
    hb = detect_heartbeats(np.concatenate((np.zeros(pad), x, np.zeros(pad))), FS)
    # the padding changes the centring offset and the filter's start-up transient: allow
    # a thousandth of a sample period
    tol = 1e-3 / FS
    np.testing.assert_allclose(hb.intervals[hb.reliable], ref.intervals[ref.reliable], atol=tol)
    np.testing.assert_allclose(
        hb.interval_starts[hb.reliable] - 5.0, ref.interval_starts[ref.reliable], atol=tol
    )


def test_resampled_signal_gives_same_intervals() -> None:
    from scipy.signal import resample_poly

    rr = rr_series(60, seed=4)
    x, beats = bcg(rr, fs=500.0)
    a = detect_heartbeats(x, 500.0)
    b = detect_heartbeats(resample_poly(x, 7, 25), FS)
    for hb in (a, b):
        rel = hb.reliable
        assert rel.sum() >= 50
        j = np.searchsorted(beats, hb.interval_starts[rel] - 0.2)
        assert np.mean(np.abs(hb.intervals[rel] - rr[j])) < 0.002


@pytest.mark.parametrize("bpm", [35.0, 60.0, 100.0, 150.0])
def test_heart_rate_range(bpm: float) -> None:
    n = int(120 * bpm / 60)
    rr = np.full(n, 60.0 / bpm) + 0.005 * np.random.default_rng(int(bpm)).standard_normal(n)
    x, _ = bcg(rr, seed=int(bpm))
    hb = detect_heartbeats(x, FS)
    rel = hb.intervals[hb.reliable]
    assert len(rel) >= 0.8 * n
    assert abs(60.0 / np.mean(rel) - bpm) < 0.5


def test_amplitude_jump_of_10x_and_polarity_flip_relearns_shape() -> None:
    rr = rr_series(150, seed=6)
    x, beats = bcg(rr, seed=6)
    cut = int((beats[75] + 0.4) * FS)
    x[cut:] *= -10.0
    hb = detect_heartbeats(x, FS)
    rel = hb.reliable
    after = hb.interval_starts[rel] > beats[76] + 0.5
    assert after.sum() >= 60
    j = np.searchsorted(beats, hb.interval_starts[rel] - 0.2)
    assert np.max(np.abs(hb.intervals[rel] - rr[j])) < 0.01


def test_nan_gap_is_a_gap() -> None:
    rr = rr_series(100, seed=7)
    x, _beats = bcg(rr, seed=7)
    lo, hi = int(30 * FS), int(40 * FS)
    x[lo:hi] = np.nan
    hb = detect_heartbeats(x, FS)
    s, e = (
        hb.interval_starts[hb.reliable],
        hb.interval_starts[hb.reliable] + hb.intervals[hb.reliable],
    )
    assert not np.any((e > 30.0 - 0.5) & (s < 40.0 + 0.5))
    assert hb.reliable.sum() > 60


def test_clipping_is_not_timed() -> None:
    rr = rr_series(100, seed=8)
    x, _beats = bcg(rr, seed=8)
    lo, hi = int(30 * FS), int(33 * FS)
    x[lo:hi] *= 50
    x = np.clip(x, -5, 5)  # a clipped movement burst
    hb = detect_heartbeats(x, FS)
    s = hb.interval_starts[hb.reliable]
    e = s + hb.intervals[hb.reliable]
    assert not np.any((e > 30.0) & (s < 33.0))


@pytest.mark.parametrize("seed", [0, 1])
def test_run_with_an_unmatched_beat_shape_is_length_reliable_not_timed(seed: int) -> None:
    """Two runs split by a NaN gap: 61 beats of a two-lobed complex (the reference run),
    then 28 beats (fewer than a local reference needs) of a wave packet that matches it
    nowhere within the alignment shifts. The second run's intervals have the right
    length (0.9 s) but no common fiducial: ``timed`` and ``reliable`` False,
    ``length_reliable`` True; and ``heart_rate`` reads them."""
    t = np.arange(int(90 * FS)) / FS
    x = np.zeros_like(t)
    for b in np.arange(0.5, 49.5, 0.8):
        x += np.exp(-(((t - b) / 0.03) ** 2)) - 0.6 * np.exp(-(((t - b - 0.1) / 0.04) ** 2))
    for b in np.arange(55.3, 80.0, 0.9):
        x += np.exp(-(((t - b) / 0.08) ** 2)) * np.sin(2 * np.pi * 7.0 * (t - b))
    x += 0.02 * np.random.default_rng(seed).standard_normal(t.shape[0])
    x[int(50.5 * FS) : int(54 * FS)] = np.nan
    hb = detect_heartbeats(x, FS)
    assert hb.timed.dtype == bool and hb.length_reliable.dtype == bool
    np.testing.assert_array_equal(hb.reliable, hb.length_reliable & hb.timed)
    first = hb.interval_starts < 50.0
    second = hb.interval_starts > 54.0
    assert first.sum() >= 55 and second.sum() >= 20
    assert hb.timed[first].all() and hb.reliable[first].sum() >= 55
    assert not hb.timed[second].any() and not hb.reliable[second].any()
    lr = hb.length_reliable & second
    assert lr.sum() >= 20
    np.testing.assert_allclose(hb.intervals[lr], 0.9, atol=0.002)
    t_hr, bpm = heart_rate(hb, duration=90.0)
    np.testing.assert_array_equal(t_hr, [0.0, 30.0, 60.0])  # 60-90 s: the second run only
    np.testing.assert_allclose(bpm[2], 60.0 / 0.9, rtol=1e-3)
    t_rel, _ = heart_rate(hb._replace(length_reliable=hb.reliable), duration=90.0)
    np.testing.assert_array_equal(t_rel, [0.0, 30.0])


def test_mains_hum_aliased_into_band_gives_no_beats() -> None:
    # 150 Hz (third harmonic of 50 Hz) sampled at 140 Hz lands on 10 Hz
    assert 10.0 in _hum_aliases(140.0, 2.0, 20.0)
    t = np.arange(int(300 * FS)) / FS
    rng = np.random.default_rng(9)
    x = 40 * np.sin(2 * np.pi * 150 * t) + 20 * np.sin(2 * np.pi * 50 * t + 1)
    x += rng.standard_normal(t.shape[0])
    hb = detect_heartbeats(x, FS)
    assert hb.reliable.sum() == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_out_of_bed_noise_gives_no_beats(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(600 * FS)) * 4 + np.cumsum(rng.standard_normal(int(600 * FS)))
    hb = detect_heartbeats(x, FS)
    assert hb.reliable.sum() == 0
    assert hb.length_reliable.sum() <= 3
    t, _ = heart_rate(hb, duration=600)
    assert t.shape == (0,)


@pytest.mark.parametrize(
    "signal",
    [
        np.zeros(5000),
        np.full(5000, 32768.0),
        np.full(5000, np.nan),
        np.zeros(0),
        np.ones(10),
        np.array([1.0, np.inf, 2.0] * 1000),
    ],
    ids=["zeros", "constant", "all-nan", "empty", "shorter-than-a-beat", "inf"],
)
def test_degenerate_signals_give_empty_results(signal: np.ndarray) -> None:
    hb = detect_heartbeats(signal, FS)
    assert hb.intervals.shape[0] == 0 or hb.length_reliable.sum() == 0
    assert hb.reliable.dtype == hb.timed.dtype == hb.length_reliable.dtype == bool
    assert hb.reliable.shape == hb.timed.shape == hb.length_reliable.shape == hb.intervals.shape


def test_integer_and_float32_inputs() -> None:
    x, _ = bcg(rr_series(40, seed=10))
    u = np.round(x * 300 + 32768).astype(np.uint16)
    a = detect_heartbeats(u, FS)
    b = detect_heartbeats(u.astype(np.float32), FS)
    np.testing.assert_array_equal(a.intervals, b.intervals)
    ro = u.copy()
    ro.flags.writeable = False
    assert detect_heartbeats(ro, FS).reliable.sum() == a.reliable.sum()


@pytest.mark.parametrize("fs", [0, -140.0, math.nan, math.inf, MIN_FS - 1, "140", True, None])
def test_bad_fs_raises(fs: object) -> None:
    with pytest.raises(SignalError, match="fs"):
        detect_heartbeats(np.zeros(1000), fs)  # type: ignore[arg-type]


def test_bad_arguments_raise() -> None:
    with pytest.raises(SignalError, match="1-D"):
        detect_heartbeats(np.zeros((10, 10)), FS)
    with pytest.raises(SignalError, match="dtype"):
        detect_heartbeats(np.array(["a"] * 100), FS)
    with pytest.raises(SignalError, match="bpm_range"):
        detect_heartbeats(np.zeros(1000), FS, bpm_range=(100, 50))
    with pytest.raises(SignalError, match="band"):
        detect_heartbeats(np.zeros(1000), FS, band=(30, 10))
    with pytest.raises(SleepSignalError, match="min_ncc"):
        detect_heartbeats(np.zeros(1000), FS, min_ncc=2.0)


def test_ectopic_beat_and_its_pause_are_reliable() -> None:
    """A premature beat (interval 0.7x the median) and its compensatory pause (1.3x):
    30 % off the local median, beyond max_deviation 0.25, but the beats match strongly
    (branch hbdrift5)."""
    iv = rr_series(120, seed=4)
    for k in (40, 80):
        iv[k], iv[k + 1] = 0.7 * 0.85, 1.3 * 0.85
    x, beats = bcg(iv)
    hb = detect_heartbeats(x, FS)
    near = np.abs(hb.beat_times[:, None] - beats[None, :]).argmin(axis=1)
    lag = float(np.median(hb.beat_times - beats[near]))  # fiducial vs J peak
    for k in (40, 80):
        for j in (k, k + 1):
            hit = np.abs(hb.interval_starts - beats[j] - lag) < 0.05
            assert hit.sum() == 1, (k, j)
            assert hb.reliable[hit][0], (k, j)
            assert abs(hb.intervals[hit][0] - iv[j]) < 0.005
    # a stricter caller stays strict: 1.4 x 0.2 = 0.28 < 0.3
    strict = detect_heartbeats(x, FS, max_deviation=0.2)
    for k in (40, 80):
        hit = np.abs(strict.interval_starts - beats[k] - lag) < 0.05
        assert not strict.reliable[hit].any()


def test_in_streak_counts_only_the_counted_edges() -> None:
    ek = np.arange(1, 7)
    passes = np.ones(6, dtype=bool)
    counts = np.array([True, True, False, True, False, False])
    np.testing.assert_array_equal(hb_module._in_streak(passes, ek, 3), passes)
    np.testing.assert_array_equal(hb_module._in_streak(passes, ek, 3, counts=counts), passes)
    np.testing.assert_array_equal(
        hb_module._in_streak(passes, ek, 4, counts=counts), np.zeros(6, dtype=bool)
    )
    passes[3] = False  # two streaks: 2 counted edges, then 0
    np.testing.assert_array_equal(
        hb_module._in_streak(passes, ek, 2, counts=counts),
        np.array([True, True, True, False, False, False]),
    )


@pytest.mark.parametrize(("n_beats", "seeds"), [(100, range(8)), (300, range(3)), (1500, (0, 5))])
def test_wrong_fs_does_not_invent_a_heart_rate(n_beats: int, seeds: range) -> None:
    """A 140 Hz signal declared as 500 Hz: beats at ~250 bpm, outside the range.

    The chain links every 4th beat (0.95 s, "63 bpm"): on main 3-16 (100 beats) and
    117-182 (1500 beats) such intervals were reliable, with 1-6 heart-rate readings."""
    for seed in seeds:
        x, _ = bcg(rr_series(n_beats, seed=seed))
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            hb = detect_heartbeats(x, 500.0)
        _t, bpm = heart_rate(hb, duration=len(x) / 500.0)
        assert bpm.shape[0] == 0, seed
        assert hb.length_reliable.sum() <= 3, seed
        # once per call, naming fs
        assert [w.category for w in rec] == [SleepSignalWarning], seed
        assert "fs=500 Hz" in str(rec[0].message)


@pytest.mark.parametrize("fs", [70.0, 280.0])
def test_wrong_fs_within_the_range_cannot_be_told(fs: float) -> None:
    """Declared at half or twice the rate, the beats scale into the default ``bpm_range``
    30-160 bpm (the simulated heart, ~70 bpm, becomes ~35 or ~140 bpm): a heart that
    beats that fast or slow looks the same, so the intervals are reported (scaled) and
    nothing warns (pytest turns a warning into an error)."""
    x, beats = bcg(rr_series(300, seed=2))
    hb = detect_heartbeats(x, fs)
    assert hb.reliable.mean() > 0.9
    iv = hb.intervals[hb.reliable]
    np.testing.assert_allclose(np.median(iv), np.median(np.diff(beats)) * FS / fs, rtol=0.02)


def test_recurrence_matches_naive_and_finds_a_fast_heart() -> None:
    """The beat complex searched lo .. hi samples after (before) each beat."""
    x, beats = bcg(rr_series(40, seed=4), noise=0.1)
    b = np.round(beats * FS).astype(np.int64)
    lo = 26  # 0.19-0.37 s at 140 Hz: the search of a fast heart
    hi = np.full(b.shape[0], 52, dtype=np.int64)
    hi[3] = 20  # no room: NaN
    at = b.copy()
    at[0] = 10  # own window leaves the signal: NaN
    at[-1] = x.shape[0] - 60  # later windows leave the signal: only those inside
    for sign in (1, -1):
        for coarse in (1, 2, 3):
            got, lag = K._recurrence(x, at, lo, hi, sign, 35, 49, 2, coarse)
            want, want_lag = naive_recurrence(x, at, lo, hi, sign, 35, 49, 2, coarse)
            np.testing.assert_allclose(got, want, equal_nan=True, atol=1e-9)
            # the best lag (ties aside: the same correlation at two lags is not expected)
            np.testing.assert_array_equal(lag, want_lag)
            assert np.isnan(got[0]) and np.isnan(got[3]) and lag[3] == -1
            # beats 0.85 s apart: only the complex's own waves 0.19-0.37 s away
            assert np.nanmax(got) < 0.6
    # a heart 4x as fast (~280 bpm): the next beat lies in reach
    xf, beats_f = bcg(rr_series(40, seed=4) / 4, noise=0.1)
    bf = np.round(beats_f[2:-2] * FS).astype(np.int64)
    lo_f, hi_f = 26, np.full(bf.shape[0], 52, dtype=np.int64)
    got, lag = K._recurrence(xf, bf, lo_f, hi_f, 1, 35, 49, 2, 2)
    want, want_lag = naive_recurrence(xf, bf, lo_f, hi_f, 1, 35, 49, 2, 2)
    np.testing.assert_allclose(got, want, equal_nan=True, atol=1e-9)
    assert np.nanmedian(got) > 0.6
    # flat signal: NaN, not an error
    flat = np.ones(2000)
    r_flat, lag_flat = K._recurrence(flat, np.array([500]), lo, np.array([52]), 1, 35, 49, 2, 2)
    assert np.isnan(r_flat).all() and (lag_flat == -1).all()


def _shaped(intervals: np.ndarray, shape, *, noise: float, seed: int = 0) -> np.ndarray:
    """A 140 Hz signal of one ``shape(t)`` per beat (t in s from the beat) plus noise and
    a 0.25 Hz breath (the reviewer's synthetic complexes, /work/notes/rv5/syn.py)."""
    beats = 1.0 + np.concatenate(([0.0], np.cumsum(intervals)))
    n = int((beats[-1] + 1.5) * FS)
    t = np.arange(n) / FS
    x = np.zeros(n)
    for b in beats:
        lo, hi = max(0, int((b - 0.4) * FS)), min(n, int((b + 0.9) * FS))
        x[lo:hi] += shape(t[lo:hi] - b)
    rng = np.random.default_rng(seed)
    return x + noise * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 0.25 * t)


def _ijk(tt: np.ndarray) -> np.ndarray:
    return (
        np.exp(-((tt / 0.025) ** 2))
        - 0.55 * np.exp(-(((tt + 0.07) / 0.03) ** 2))
        - 0.7 * np.exp(-(((tt - 0.08) / 0.035) ** 2))
    )


def _lmn(a: float):
    return lambda tt: (
        _ijk(tt)
        + a * 0.5 * np.exp(-(((tt - 0.2) / 0.035) ** 2))
        - a * 0.4 * np.exp(-(((tt - 0.3) / 0.04) ** 2))
        + a * 0.3 * np.exp(-(((tt - 0.42) / 0.04) ** 2))
    )


def _ring(f0: float, tau: float):
    return lambda tt: np.where(
        tt > -0.1, np.cos(2 * np.pi * f0 * tt) * np.exp(-np.abs(tt) / tau), 0.0
    )


@pytest.mark.parametrize(
    ("shape", "mean", "hrv"),
    [
        # an I-J-K complex with late L/M/N waves, 60-100 bpm: before the fix the check
        # removed every interval (600 -> 0 at 60 bpm) and warned "check fs"
        (_lmn(1.0), 0.6, False),
        (_lmn(1.0), 0.8, False),
        (_lmn(1.0), 1.0, False),
        (_lmn(1.5), 0.6, True),  # L/M/N at 0.75 of J, 5 % rhythm variation: 1200 -> 251
        # a damped 3.5-6 Hz ring, 60-86 bpm: removed all in 8 of 15 such cases before
        (_ring(4.0, 0.3), 1.0, False),
        (_ring(4.0, 0.3), 0.7, False),
        (_ring(3.5, 0.4), 0.85, False),
        (_ring(4.5, 0.5), 0.85, False),
        (_ring(4.5, 0.5), 0.7, False),
        (_ring(5.0, 0.25), 0.8, False),
    ],
)
def test_late_waves_and_rings_of_a_right_fs_are_no_fast_heart(shape, mean, hrv) -> None:
    """A right fs keeps its intervals and does not warn (pytest turns a warning into an
    error), whatever the complex's later waves do 0.19-0.37 s after the beat: compared
    with the check switched off, not one reliable interval is lost."""
    if hrv:
        rr = mean * (1 + 0.05 * np.random.default_rng(3).standard_normal(1200))
        x = _shaped(rr, shape, noise=0.1, seed=3)
    else:
        x = _shaped(rr_series(600, seed=3, mean=mean), shape, noise=0.1)
    hb = detect_heartbeats(x, FS)
    assert hb.reliable.sum() >= 400
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            hb_module, "_fast_recurrence", lambda y, first, *a: np.zeros(first.shape[0], bool)
        )
        off = detect_heartbeats(x, FS)
    np.testing.assert_array_equal(hb.reliable, off.reliable)
    np.testing.assert_array_equal(hb.length_reliable, off.length_reliable)


def test_recurrence_skips_nan_correlations() -> None:
    """A NaN sample makes the windows that hold it NaN: never the best, also after a
    finite best (the kernel and its naive twin alike)."""
    x, beats = bcg(rr_series(40, seed=4) / 4, noise=0.1)
    at = np.round(beats[2:-2] * FS).astype(np.int64)
    hi = np.full(at.shape[0], 52, dtype=np.int64)
    clean, clean_lag = K._recurrence(x, at, 26, hi, 1, 35, 49, 2, 1)
    xn = x.copy()
    # a NaN just past the best window of beat 5: later windows hold it, the best does not
    k = at[5] + clean_lag[5] + 49 + 1
    xn[k] = np.nan
    got, lag = K._recurrence(xn, at, 26, hi, 1, 35, 49, 2, 1)
    want, want_lag = naive_recurrence(xn, at, 26, hi, 1, 35, 49, 2, 1)
    np.testing.assert_allclose(got, want, equal_nan=True, atol=1e-9)
    np.testing.assert_array_equal(lag, want_lag)
    assert np.isfinite(got[5]) and got[5] == pytest.approx(clean[5]) and lag[5] == clean_lag[5]


# -- heart_rate ------------------------------------------------------------------------


def _hb(starts: np.ndarray, iv: np.ndarray, reliable: np.ndarray | None = None) -> Heartbeats:
    rel = np.ones(len(iv), bool) if reliable is None else reliable
    return Heartbeats(
        np.asarray(starts),
        np.asarray(starts),
        np.asarray(iv),
        np.ones(len(iv)),
        rel,
        np.ones(len(iv), bool),
        rel.copy(),
    )


def test_heart_rate_windows() -> None:
    iv = np.full(150, 0.8)
    starts = np.concatenate(([0.0], np.cumsum(iv)[:-1]))
    rel = np.ones(150, bool)
    rel[(starts > 35) & (starts < 52)] = False  # window 30-60 keeps < 15 s of evidence
    t, bpm = heart_rate(_hb(starts, iv, rel), duration=120.0)
    np.testing.assert_array_equal(t, [0.0, 60.0, 90.0])
    np.testing.assert_allclose(bpm, 75.0)


def test_heart_rate_uses_length_reliable_intervals_not_reliable() -> None:
    """A 30 s reading needs only interval lengths: intervals whose times are not on the
    night's fiducial (``reliable`` False, ``length_reliable`` True) count, and
    ``reliable`` alone gives no reading."""
    iv = np.full(150, 0.8)
    starts = np.concatenate(([0.0], np.cumsum(iv)[:-1]))
    timed = starts < 60.0  # the second minute is on another lobe
    length_ok = np.ones(150, bool)
    length_ok[(starts > 95) & (starts < 112)] = False  # window 90-120: < 15 s of evidence
    hb = Heartbeats(starts, starts, iv, np.ones(150), length_ok & timed, timed, length_ok)
    t, bpm = heart_rate(hb, duration=120.0)
    np.testing.assert_array_equal(t, [0.0, 30.0, 60.0])
    np.testing.assert_allclose(bpm, 75.0)
    # the reliable flag is not what heart_rate reads
    t2, _ = heart_rate(hb._replace(reliable=np.zeros(150, bool)), duration=120.0)
    np.testing.assert_array_equal(t2, [0.0, 30.0, 60.0])
    t3, _ = heart_rate(hb._replace(length_reliable=hb.reliable), duration=120.0)
    np.testing.assert_array_equal(t3, [0.0, 30.0])


def test_heart_rate_empty_and_bad_args() -> None:
    t, bpm = heart_rate(_hb(np.empty(0), np.empty(0)), duration=100.0)
    assert t.shape == bpm.shape == (0,)
    for kw in (
        {"duration": -1.0},
        {"duration": math.nan},
        {"duration": 10.0, "window": 0.0},
        {"duration": 10.0, "min_coverage": 0.0},
    ):
        with pytest.raises(SignalError):
            heart_rate(_hb(np.empty(0), np.empty(0)), **kw)  # type: ignore[arg-type]


# -- heartbeat_tracks ------------------------------------------------------------------


def test_heartbeat_tracks_from_session() -> None:
    x, _ = bcg(rr_series(100, seed=12))
    u = np.round(x * 300 + 32768).astype(np.uint16)
    u = u[: len(u) - len(u) % 28]
    s = Session.from_array(u, FS, start=1.7e9)
    hbt, hrt = heartbeat_tracks(s)
    assert (hbt.name, hrt.name) == ("heartbeat", "heart_rate")
    assert hbt.values.dtype == np.float32 and hrt.values.dtype == np.float32
    assert len(hbt) >= 80 and len(hrt) >= 2
    assert np.all((hbt.values > 0.7) & (hbt.values < 1.0))
    assert np.all(hbt.times >= 0) and np.all(hbt.times < s.duration)


def test_heartbeat_tracks_of_an_empty_bed_are_empty() -> None:
    rng = np.random.default_rng(13)
    u = (32768 + 4 * rng.standard_normal(28 * 5 * 600)).astype(np.uint16)
    hbt, hrt = heartbeat_tracks(Session.from_array(u, FS, start=1.7e9))
    assert len(hrt) == 0 and len(hbt) == 0


# -- rmssd and night indices -----------------------------------------------------------


def test_rmssd_known_value() -> None:
    assert rmssd([0.8, 0.82, 0.79, 0.81]) == pytest.approx(math.sqrt((4e-4 + 9e-4 + 4e-4) / 3))


def test_rmssd_skips_pairs_across_gaps() -> None:
    iv = np.array([0.8, 0.9, 0.8, 0.9])
    starts = np.array([0.0, 0.8, 10.0, 10.8])  # gap between the 2nd and 3rd interval
    assert rmssd(iv, starts=starts) == pytest.approx(0.1)
    assert rmssd(iv) == pytest.approx(0.1)


def test_rmssd_too_few_pairs_warns_nan() -> None:
    with pytest.warns(SleepSignalWarning, match="successive"):
        assert math.isnan(rmssd([0.8]))
    with pytest.raises(SignalError):
        rmssd([0.8, -1.0])
    with pytest.raises(SignalError):
        rmssd([0.8, 0.9], starts=[0.0])


def test_night_hrv_indices() -> None:
    rng = np.random.default_rng(14)
    n = 30000
    iv = 0.9 + 0.03 * rng.standard_normal(n)
    hr_dip = slice(15000, 16500)
    iv[hr_dip] += 0.2  # a slow stretch: the resting span
    iv[hr_dip] = 1.1 + 0.01 * rng.standard_normal(1500)
    starts = np.concatenate(([0.0], np.cumsum(iv)[:-1]))
    out = night_hrv_indices(starts, iv, start=0.0, end=float(starts[-1] + iv[-1]))
    assert set(out) == {
        "evening_HRV_index",
        "morning_HRV_index",
        "all_night_HRV_index",
        "resting_HRV_index",
    }
    assert out["evening_HRV_index"] == pytest.approx(0.03 * math.sqrt(2), rel=0.15)
    assert out["resting_HRV_index"] == pytest.approx(0.01 * math.sqrt(2), rel=0.3)
    # a 10-minute night: no 15-minute span, keys omitted (never None)
    short = night_hrv_indices(starts[:600], iv[:600], start=0.0, end=600.0)
    assert "evening_HRV_index" not in short and None not in short.values()
    with pytest.raises(SignalError):
        night_hrv_indices(starts, iv, start=10.0, end=5.0)


def test_night_hrv_indices_leave_out_ectopic_intervals() -> None:
    """``normal_to_normal=True``: a premature beat and its compensatory pause every 50
    beats (0.6 s then 1.2 s in a steady 0.9 s rhythm) do not change the indices."""
    rng = np.random.default_rng(3)
    iv = 0.9 + 0.01 * rng.standard_normal(6000)
    steady = night_hrv_indices(
        np.concatenate(([0.0], np.cumsum(iv)[:-1])),
        iv,
        start=0.0,
        end=float(iv.sum()),
        normal_to_normal=True,
    )
    ect = iv.copy()
    ect[25::50] = 0.6
    ect[26::50] = 1.2
    keep = np.ones(len(ect), bool)
    keep[25::50] = keep[26::50] = False
    starts = np.concatenate(([0.0], np.cumsum(ect)[:-1]))
    out = night_hrv_indices(starts, ect, start=0.0, end=float(ect.sum()), normal_to_normal=True)
    assert set(out) == set(steady)
    plain = night_hrv_indices(starts, ect, start=0.0, end=float(ect.sum()))
    assert plain["all_night_HRV_index"] > 5 * steady["all_night_HRV_index"]  # default: all
    # the same as leaving them out by hand (which also breaks their pairs)
    want = night_hrv_indices(starts[keep], ect[keep], start=0.0, end=float(ect.sum()))
    for key in out:
        assert out[key] == pytest.approx(want[key], rel=1e-12)
        assert out[key] == pytest.approx(steady[key], rel=0.1)


def test_ectopic_beats_are_reported_right_or_not_at_all() -> None:
    rr = rr_series(200, seed=15)
    for i in range(20, 200, 25):  # premature beat, then a compensatory pause
        total = rr[i] + rr[i + 1]
        rr[i] = 0.6 * rr[i]
        rr[i + 1] = total - rr[i]
    x, beats = bcg(rr, seed=15)
    hb = detect_heartbeats(x, FS)
    rel = hb.reliable
    j = np.searchsorted(beats, hb.interval_starts[rel] - 0.2)
    assert np.max(np.abs(hb.intervals[rel] - rr[j])) < 1.0 / FS
    assert rel.sum() >= 150
