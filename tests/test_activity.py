"""Movement bursts, presence, actigram, and their kernels (bursts, debounce)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_tracks import naive_bursts, naive_debounce, synthetic_bcg

from sleepsignal._track_kernels import _bursts_kernel, _debounce_kernel
from sleepsignal.activity import (
    ABSENT,
    NO_SIGNAL,
    PRESENT,
    Movements,
    actigram,
    movement_bursts,
    presence,
)
from sleepsignal.errors import SignalError


# -- kernels against their naive twins -----------------------------------------------------
@given(
    st.lists(st.one_of(st.floats(0, 100), st.just(float("nan"))), max_size=150),
    st.floats(0, 100),
    st.floats(0, 100),
    st.integers(0, 6),
)
def test_bursts_kernel_matches_naive(values, on, off, gap):
    e = np.asarray(values, dtype=np.float64)
    on_a = np.full(len(e), max(on, off))
    off_a = np.full(len(e), min(on, off))
    got = _bursts_kernel(e, on_a, off_a, gap)
    want = naive_bursts(e, on_a, off_a, gap)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_bursts_kernel_edges():
    e = np.array([9.0, 9.0, 0.0, 0.0, 0.0, 9.0])
    s, t = _bursts_kernel(e, np.full(6, 5.0), np.full(6, 1.0), 1)
    np.testing.assert_array_equal(s, [0, 5])
    np.testing.assert_array_equal(t, [2, 6])  # a burst running to the end is closed
    s, t = _bursts_kernel(e, np.full(6, 5.0), np.full(6, 1.0), 4)
    np.testing.assert_array_equal(s, [0])
    np.testing.assert_array_equal(t, [6])
    s, t = _bursts_kernel(np.empty(0), np.empty(0), np.empty(0), 1)
    assert len(s) == 0 and len(t) == 0


@given(st.lists(st.integers(0, 2), max_size=80), st.integers(1, 6))
def test_debounce_kernel_matches_naive(values, min_run):
    a = np.asarray(values, dtype=np.int64)
    np.testing.assert_array_equal(_debounce_kernel(a, min_run), naive_debounce(a, min_run))


@given(st.lists(st.integers(0, 2), min_size=1, max_size=80), st.integers(1, 6))
def test_debounce_kernel_leaves_no_short_runs(values, min_run):
    out = _debounce_kernel(np.asarray(values, dtype=np.int64), min_run)
    change = np.flatnonzero(np.diff(out)) + 1
    runs = np.diff(np.concatenate([[0], change, [len(out)]]))
    assert len(runs) == 1 or runs.min() >= min_run


# -- movement_bursts -----------------------------------------------------------------------
def test_movement_bursts_finds_each_movement_once():
    moves = ((100.0, 106.0), (200.0, 203.0), (400.0, 412.0))
    s = synthetic_bcg(600, seed=5, movements=moves)
    m = movement_bursts(s.signal, s.fs)
    assert isinstance(m, Movements)
    assert len(m.starts) == len(moves)
    for (a, b), ms, me in zip(moves, m.starts, m.ends, strict=True):
        assert a - 3 <= ms <= a + 2
        assert b - 2 <= me <= b + 4
    assert np.all(m.peak_ratio > 10)


def test_movement_bursts_still_sleeper_has_almost_none():
    # The toy heartbeat (a 6 Hz wavelet) aliases in the 10 Hz view, so a 1 s window
    # with two beats can reach 20x the baseline: at most one such false burst per 10
    # minutes of still sleep (3 seeds); the simulator-based floors in test_tracks.py
    # hold the false-positive rate on a realistic complex.
    counts = [
        len(movement_bursts(synthetic_bcg(600, seed=k).signal, 140.0).starts) for k in range(6, 9)
    ]
    assert max(counts) <= 1
    assert sum(counts) <= 2


def test_movement_bursts_scale_invariant():
    s = synthetic_bcg(400, seed=7, movements=((150.0, 160.0),))
    x = s.signal.astype(np.float64)
    a = movement_bursts(x, s.fs)
    b = movement_bursts(5.0 * x, s.fs)
    np.testing.assert_array_equal(a.starts, b.starts)
    np.testing.assert_array_equal(a.ends, b.ends)


def test_movement_bursts_presence_silences_away_time():
    s = synthetic_bcg(900, seed=8, movements=((100.0, 108.0),), away=((300.0, 700.0),))
    p = presence(s.signal, s.fs)
    m = movement_bursts(s.signal, s.fs, present=p)
    assert not np.any((m.starts > 310) & (m.starts < 690))


def test_movement_bursts_degenerate():
    for x in (np.zeros(0), np.full(140 * 60, 100, dtype=np.uint16), np.arange(10.0)):
        m = movement_bursts(x, 140.0)
        assert len(m.starts) == 0
    with pytest.raises(SignalError):
        movement_bursts(np.ones(100), -1.0)


# -- presence ------------------------------------------------------------------------------
def test_presence_finds_bed_exit():
    s = synthetic_bcg(1200, seed=9, away=((400.0, 700.0),))
    p = presence(s.signal, s.fs)
    np.testing.assert_array_equal(p.states, [PRESENT, ABSENT, PRESENT, NO_SIGNAL])
    assert abs(p.times[1] - 400) <= p.window_s
    assert abs(p.times[2] - 700) <= p.window_s
    assert p.times[-1] == pytest.approx(1200.0)
    a_s, a_e = p.intervals(ABSENT)
    assert len(a_s) == 1 and a_e[0] - a_s[0] == pytest.approx(300, abs=2 * p.window_s)


def test_presence_whole_night_in_bed_and_whole_night_away():
    s = synthetic_bcg(900, seed=10)
    p = presence(s.signal, s.fs)
    np.testing.assert_array_equal(p.states, [PRESENT, NO_SIGNAL])
    e = synthetic_bcg(900, seed=10, away=((0.0, 900.0),))
    q = presence(e.signal, e.fs)
    np.testing.assert_array_equal(q.states, [ABSENT, NO_SIGNAL])


def test_presence_slow_drift_on_empty_bed_is_away():
    e = synthetic_bcg(900, seed=11, away=((0.0, 900.0),))
    t = np.arange(len(e.signal)) / e.fs
    drifting = e.signal.astype(np.float64) + 300 * np.sin(2 * np.pi * t / 400.0)
    np.testing.assert_array_equal(presence(drifting, e.fs).states, [ABSENT, NO_SIGNAL])


def test_presence_flat_sensor_is_no_signal():
    x = np.full(140 * 300, 32768, dtype=np.uint16)
    p = presence(x, 140.0)
    assert set(p.window_states.tolist()) == {NO_SIGNAL}


def test_presence_short_signal():
    p = presence(np.ones(100), 140.0)
    np.testing.assert_array_equal(p.states, [NO_SIGNAL])
    assert len(p.window_states) == 0


# -- actigram ------------------------------------------------------------------------------
def test_actigram_counts_per_epoch_while_present():
    s = synthetic_bcg(
        900,
        seed=12,
        movements=((70.0, 74.0), (90.0, 95.0), (200.0, 205.0)),
        away=((500.0, 800.0),),
    )
    p = presence(s.signal, s.fs)
    m = movement_bursts(s.signal, s.fs, present=p)
    ep, counts = actigram(m, p, duration=900.0)
    assert counts.dtype == np.float32
    assert 60.0 in ep and counts[list(ep).index(60.0)] == 2
    assert counts[list(ep).index(180.0)] == 1
    assert not np.any((ep >= 540) & (ep < 780))  # away epochs are not reported
    assert counts.sum() == 3


def test_actigram_bad_arguments():
    p = presence(np.ones(10), 140.0)
    m = Movements(np.empty(0), np.empty(0), np.empty(0))
    with pytest.raises(SignalError):
        actigram(m, p, duration=float("nan"))
    with pytest.raises(SignalError):
        actigram(m, p, duration=10.0, epoch_s=0.0)
    ep, c = actigram(m, p, duration=30.0)
    assert len(ep) == 0 and len(c) == 0


@pytest.mark.parametrize("block", [1, 7, 64])
def test_block_wise_movements_equal_one_block(monkeypatch, block):
    """Long recordings go through movements a block at a time; any block size gives
    the values of one block over the whole view, bit for bit (presence is one kernel
    pass with per-window outputs only)."""
    from sleepsignal import activity

    rng = np.random.default_rng(11)
    n = 20 * 60 * 10  # 20 min at 10 Hz
    low = np.cumsum(rng.standard_normal(n)) * 0.2 + 2000 + 30 * np.sin(np.arange(n) / 35.0)
    low[4000:6500] = 2000.0  # flat: no signal
    low[9000:9300] += rng.standard_normal(300) * 400  # a movement
    still = rng.random((n - 1) // 10) > 0.05

    def run():
        p = activity._presence_from_low(low, 10.0)
        m = activity._movements_from_low(low, 10.0, still)
        return [p.window_states, p.times, m.starts, m.ends, m.peak_ratio]

    monkeypatch.setattr(activity, "_MOVEMENT_BLOCK_S", 10**9)
    whole = run()
    monkeypatch.setattr(activity, "_MOVEMENT_BLOCK_S", block)
    for a, b in zip(run(), whole, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(whole[2]) >= 1  # the movement is found


def test_presence_spreads_kernel_matches_naive():
    """The kernel's spreads are numpy's (pairwise sums reproduced) on windows of 50
    samples (the 10 Hz view), 25, 130 (past numpy's 128-sample pairwise block) and 3,
    drifting, flat and noisy, and a read-only view."""
    from naive_status import naive_presence_spreads

    from sleepsignal._status_kernels import _presence_spreads_kernel

    rng = np.random.default_rng(21)
    low = np.cumsum(rng.standard_normal(13_000)) * 3 + 2000 + rng.standard_normal(13_000) * 1e-3
    low[1000:1300] = 2100.0  # flat windows
    low.flags.writeable = False
    for w in (50, 25, 130, 3):
        n_w = len(low) // w
        got = _presence_spreads_kernel(low, w, n_w)
        want = naive_presence_spreads(low, w, n_w)
        for g, x in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, x)
        assert got[2].any() and not got[2].all()


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 49, 50, 128, 129, 136, 300, 1000, 5000])
def test_pairwise_sum_is_numpys(n):
    """The presence kernel's sums are numpy's pairwise sums, bit for bit, short runs
    and runs split once or several times."""
    from sleepsignal._status_kernels import _pairwise_sum

    a = np.random.default_rng(n).standard_normal(n + 5) * 1e3 + 3e4
    assert _pairwise_sum(a, 3, n) == np.sum(a[3 : 3 + n])


def test_nan_row_medians_equal_nanmedian():
    """Rows without NaN, with some (odd and even counts left), all NaN, ties, and the
    movement baseline's block length (30) and others."""
    import warnings

    from sleepsignal.activity import _nan_row_medians

    rng = np.random.default_rng(4)
    for block in (1, 2, 29, 30):
        rows = rng.gamma(2.0, 3.0, (400, block))
        rows[::7] = np.round(rows[::7])  # ties
        rows[rng.random(rows.shape) < 0.2] = np.nan
        rows[5] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN row
            want = np.nanmedian(rows, axis=1)
        np.testing.assert_array_equal(_nan_row_medians(rows), want)
