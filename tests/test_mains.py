"""Sensor status: mains interference at 50 and 60 Hz (aliases at 140 Hz), unclear."""

from __future__ import annotations

import numpy as np
import pytest
from naive_tracks import synthetic_bcg

from sleepsignal.errors import SignalError
from sleepsignal.mains import (
    INTERFERENCE,
    OPERATIONAL,
    UNCLEAR,
    SensorStatus,
    mains_aliases,
    mains_interference,
)


def test_mains_aliases_at_140_hz():
    # spec: harmonics of 50 and 60 Hz alias into 0..70 Hz at the Beddit rate
    assert mains_aliases(50.0, 140.0).tolist() == [50.0, 40.0, 10.0, 60.0, 30.0, 20.0]
    assert mains_aliases(60.0, 140.0).tolist() == [60.0, 20.0, 40.0, 40.0, 20.0, 60.0]
    assert mains_aliases(50.0, 1000.0, harmonics=2).tolist() == [50.0, 100.0]


@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_mains_found_without_being_told_which(hz):
    s = synthetic_bcg(400, seed=20, mains=((100.0, 300.0, hz),))
    st = mains_interference(s.signal, s.fs)
    assert isinstance(st, SensorStatus)
    np.testing.assert_array_equal(st.status, [OPERATIONAL, INTERFERENCE, OPERATIONAL])
    assert abs(st.times[1] - 100) <= st.window_s and abs(st.times[2] - 300) <= st.window_s
    assert st.mains_hz[1] == hz
    assert set(st.window_hz[st.window_status == INTERFERENCE].tolist()) == {hz}


@pytest.mark.parametrize("harmonic", [1, 2, 3])
def test_mains_single_aliased_harmonic_is_enough(harmonic):
    fs = 140.0
    rng = np.random.default_rng(1)
    t = np.arange(int(120 * fs)) / fs
    # a tone of the same amplitude as the white noise sd: ~19 dB over the noise per bin
    x = 10 * rng.standard_normal(len(t)) + 10 * np.sin(2 * np.pi * 50.0 * harmonic * t)
    st = mains_interference(x, fs)
    np.testing.assert_array_equal(st.status, [INTERFERENCE])


@pytest.mark.parametrize(("dtype", "offset"), [(np.uint32, 4e9), (np.int64, 1e15)])
def test_mains_found_on_samples_with_a_large_offset(dtype, offset):
    # float32 windows (before the tracksspeed branch) had steps of 512 at 4e9: the hum
    # of amplitude 3 vanished; the float64 windows keep it
    fs = 140.0
    rng = np.random.default_rng(0)
    t = np.arange(560 * 40) / fs
    x = np.round(offset + 10 * rng.standard_normal(len(t)) + 3 * np.sin(2 * np.pi * 50 * t))
    st = mains_interference(x.astype(dtype), fs)
    assert INTERFERENCE in st.status.tolist()
    assert set(st.window_hz[st.window_status == INTERFERENCE].tolist()) == {50.0}


def test_mains_hum_all_night():
    s = synthetic_bcg(300, seed=21, mains=((0.0, 300.0, 60.0),))
    st = mains_interference(s.signal, s.fs)
    np.testing.assert_array_equal(st.status, [INTERFERENCE])
    assert st.mains_hz.tolist() == [60.0]


def test_mains_clean_signal_and_movement_are_operational():
    s = synthetic_bcg(400, seed=22, movements=((100.0, 110.0), (250.0, 256.0)))
    st = mains_interference(s.signal, s.fs)
    np.testing.assert_array_equal(st.status, [OPERATIONAL])
    assert st.mains_hz.tolist() == [0.0]


def test_clipped_and_flat_sensor_are_unclear():
    s = synthetic_bcg(300, seed=23)
    x = s.signal.astype(np.int64)
    x[140 * 100 : 140 * 160] = 65535  # saturated for a minute
    st = mains_interference(x.astype(np.uint16), s.fs)
    np.testing.assert_array_equal(st.status, [OPERATIONAL, UNCLEAR, OPERATIONAL])
    flat = np.full(140 * 60, 1234, dtype=np.uint16)
    np.testing.assert_array_equal(mains_interference(flat, 140.0).status, [UNCLEAR])


def test_mains_short_and_bad_input():
    st = mains_interference(np.ones(10), 140.0)
    assert len(st.times) == 0 and len(st.window_status) == 0
    with pytest.raises(SignalError):
        mains_interference(np.ones(1000), 10.0)  # too slow to hold any mains alias
    with pytest.raises(SignalError):
        mains_interference(np.array([1.0, np.inf] * 500), 140.0)


@pytest.mark.parametrize("fs", [125.0, 1000.0])
@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_mains_other_rates(fs, hz):
    """125 Hz is not a multiple of 10 Hz (FFT detector); 1000 Hz is (comb detector)."""
    rng = np.random.default_rng(2)
    t = np.arange(int(200 * fs)) / fs
    x = 10 * rng.standard_normal(len(t)) + 200 * np.sin(2 * np.pi * 0.25 * t)
    on = (t >= 60) & (t < 140)
    x[on] += 15 * np.sin(2 * np.pi * hz * t[on]) + 5 * np.sin(2 * np.pi * 2 * hz * t[on])
    st = mains_interference(x, fs)
    np.testing.assert_array_equal(st.status, [OPERATIONAL, INTERFERENCE, OPERATIONAL])
    assert st.mains_hz[1] == hz
    assert abs(st.times[1] - 60) <= st.window_s and abs(st.times[2] - 140) <= st.window_s


def test_scan_kernel_matches_naive():
    from naive_tracks import naive_scan

    from sleepsignal._track_kernels import _scan_kernel

    rng = np.random.default_rng(3)
    x = rng.integers(0, 65535, 140 * 13 + 5).astype(np.uint16)
    for q, w in ((14, 560), (5, 100), (1, 7), (3, 10**6)):
        got = _scan_kernel(x, q, w)
        want = naive_scan(x, q, w)
        for g, v in zip(got, want, strict=True):
            np.testing.assert_allclose(g, v, rtol=1e-12, atol=1e-9)
    # integer samples sum in int64 and compare in their own dtype, floats in float64
    y = rng.integers(-30000, 30000, 140 * 7 + 3)
    for a in (y.astype(np.int16), y.astype(np.int64), y.astype(np.float32), y * 0.37):
        for g, v in zip(_scan_kernel(a, 14, 560), naive_scan(a, 14, 560), strict=True):
            np.testing.assert_allclose(g, v, rtol=1e-12, atol=1e-9)
    got = _scan_kernel(np.empty(0, np.float32), 14, 560)
    assert all(len(a) == 0 for a in got)
    # block means and extremes are exact (integer sums in any order; float sums in
    # float64 sample by sample, as the naive loop), and of equal values (0.0 and -0.0)
    # the first is kept
    for a in (y.astype(np.int16), y.astype(np.uint16), y.astype(np.float32) * 0.37, y * 0.37):
        for q, w in ((14, 560), (5, 100), (1, 7), (3, 10**6)):
            for g, v in zip(_scan_kernel(a, q, w), naive_scan(a, q, w), strict=True):
                np.testing.assert_array_equal(g, v)
    z = np.array([0.0, -0.0, 1.0, -0.0, 0.0, 2.0, -1.0, -1.0, 3.0, 3.0])
    for q, w in ((1, 2), (1, 5), (1, 10)):
        got, want = _scan_kernel(z, q, w), naive_scan(z, q, w)
        for g, v in zip(got[1:], want[1:], strict=True):
            np.testing.assert_array_equal(g, v)
            np.testing.assert_array_equal(np.signbit(g), np.signbit(v))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_centred_windows_kernel_matches_naive(dtype):
    """Windows 1, 3, 5 of 600 samples, their first 560 centred and windowed; a flat
    window becomes all zero."""
    from naive_status import naive_centred_windows

    from sleepsignal._track_kernels import _centred_windows_kernel

    rng = np.random.default_rng(11)
    x = rng.integers(0, 65535, 7 * 600).astype(dtype)
    if dtype != np.uint16:
        x[1800:2400] = (rng.standard_normal(600) * 1e3).astype(dtype)
    x[3000:3600] = 30000  # window 5: flat
    hann = np.hanning(560)
    got = np.empty(3 * 560)
    _centred_windows_kernel(x, 600, 1, 2, hann, got)
    rows = x.reshape(7, 600)[1::2, :560]
    want = naive_centred_windows(rows, hann)
    assert np.array_equal(got.reshape(3, 560), want)
    assert not want[2].any()
    _centred_windows_kernel(x, 600, 1, 2, hann, np.empty(0))  # no window: no work


def test_line_scores_kernel_matches_naive():
    """Every line of both mains frequencies at several rates (lines near 0 Hz and near
    the Nyquist frequency are not scored), on noise, on a spectrum without power
    (0), and with power at the peak only (inf)."""
    from naive_status import naive_line_scores

    from sleepsignal._status_kernels import _line_scores_kernel
    from sleepsignal.mains import _line_bins

    rng = np.random.default_rng(12)
    for fs in (140.0, 125.0, 100.0, 20.0):
        w = round(4.0 * fs)
        n_bins = w // 2 + 1
        spec = rng.standard_normal((4, n_bins)) + 1j * rng.standard_normal((4, n_bins))
        spec[1] = 0
        df = 1.0 / (w * (1.0 / fs))
        lines = np.unique(
            np.concatenate([mains_aliases(50.0, fs), mains_aliases(60.0, fs), [0.25]])
        )
        c = round(lines[-1] / df)
        spec[2] = 0
        spec[2, c] = 1.0
        out = np.empty(4 * len(lines))
        _line_scores_kernel(
            spec.view(np.float64).ravel(), n_bins, *_line_bins(n_bins, df, lines), out
        )
        want = naive_line_scores(spec, lines.tolist(), df)
        assert np.array_equal(out.reshape(4, len(lines)), want)
        assert not want[1].any()
        assert want[2, -1] == np.inf
        assert not want[:, 0].any()  # 0.25 Hz: too near 0 Hz to be scored


@pytest.mark.parametrize("rows", [1, 3, 7])
def test_window_scores_in_groups_equal_one_group(monkeypatch, rows):
    """The analysed windows go through the FFT a group at a time; any group size gives
    the scores of one group, bit for bit (each window's spectrum is its own)."""
    from sleepsignal import mains

    bcg = synthetic_bcg(200, seed=5, mains=((40.0, 120.0, 50.0),))
    x = np.ascontiguousarray(bcg.signal)
    n_w = len(x) // 560
    monkeypatch.setattr(mains, "_FFT_ROWS", 10**9)
    whole = mains._window_scores(x, n_w, 1, bcg.fs)
    monkeypatch.setattr(mains, "_FFT_ROWS", rows)
    for got, want in zip(mains._window_scores(x, n_w, 1, bcg.fs), whole, strict=True):
        np.testing.assert_array_equal(got, want)
    assert (whole[0] > mains.LINE_RATIO).any()  # the hum is seen
