"""The running median that replaces ``scipy.ndimage.median_filter`` in the track modules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_rank_filter import naive_running_median

from sleepsignal._rank_filter import (
    _running_median_kernel,
    median_filter,
    nan_running_median,
    row_medians,
)
from sleepsignal.errors import SignalError

ndimage = pytest.importorskip("scipy.ndimage")

values = st.lists(
    st.one_of(
        st.integers(-3, 3).map(float),  # many ties
        st.floats(-1e6, 1e6, allow_nan=False),
        st.sampled_from([np.inf, -np.inf]),
    ),
    max_size=60,
)


def naive_median_filter(x, size):
    return naive_running_median(x, size, True, True)


@given(values, st.integers(1, 12), st.booleans(), st.booleans())
def test_kernel_matches_naive(xs, size, nearest, upper):
    x = np.array(xs, dtype=np.float64)
    np.testing.assert_array_equal(
        _running_median_kernel(x, size, nearest, upper),
        naive_running_median(x, size, nearest, upper),
    )


@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(np.nan)), max_size=60), st.integers(1, 12))
def test_kernel_with_nan_matches_naive(xs, size):
    x = np.array(xs, dtype=np.float64)
    for nearest in (False, True):
        for upper in (False, True):
            np.testing.assert_array_equal(
                _running_median_kernel(x, size, nearest, upper),
                naive_running_median(x, size, nearest, upper),
            )


@given(values, st.integers(1, 12))
def test_matches_scipy_ndimage(xs, size):
    x = np.array(xs, dtype=np.float64)
    expected = ndimage.median_filter(x, size=size, mode="nearest")
    np.testing.assert_array_equal(median_filter(x, size), expected)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 10, 30])
def test_matches_scipy_on_long_noise(size):
    x = np.random.default_rng(size).standard_normal(5000).round(1)  # ties and sign flips
    expected = ndimage.median_filter(x, size=size, mode="nearest")
    np.testing.assert_array_equal(median_filter(x, size), expected)


def test_integer_and_bool_input_as_scipy():
    flags = np.array([0, 1, 0, 0, 1, 1, 0, 1, 0], dtype=np.uint8)
    expected = ndimage.median_filter(flags, size=3, mode="nearest")
    got = median_filter(flags, 3)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.astype(np.uint8), expected)
    np.testing.assert_array_equal(median_filter(flags.astype(bool), 3), expected)


def test_edges_window_longer_than_series():
    x = np.array([4.0, 1.0, 3.0])
    np.testing.assert_array_equal(
        median_filter(x, 7), ndimage.median_filter(x, size=7, mode="nearest")
    )


def test_empty_single_flat_readonly_float32():
    assert median_filter(np.empty(0), 3).shape == (0,)
    np.testing.assert_array_equal(median_filter(np.array([2.5]), 4), [2.5])
    np.testing.assert_array_equal(median_filter(np.full(6, 7.0), 3), np.full(6, 7.0))
    x = np.arange(8.0)[::-1].copy()
    x.flags.writeable = False
    np.testing.assert_array_equal(median_filter(x, 3), naive_median_filter(x, 3))
    x32 = np.array([3, 1, 2, 9, 0], dtype=np.float32)
    np.testing.assert_array_equal(
        median_filter(x32, 3), ndimage.median_filter(x32, size=3, mode="nearest")
    )


def test_non_contiguous_input():
    x = np.arange(20.0)[::-2]
    np.testing.assert_array_equal(median_filter(x, 3), naive_median_filter(x, 3))


@pytest.mark.parametrize(
    ("x", "size", "match"),
    [
        (np.array([1.0, np.nan, 2.0]), 3, "NaN"),
        (np.ones((2, 2)), 3, "1-D"),
        (np.array(["a", "b"]), 3, "1-D real"),
        (np.ones(4), 0, "size"),
        (np.ones(4), 2.5, "size"),
        (np.ones(4), True, "size"),
    ],
)
def test_bad_input(x, size, match):
    with pytest.raises(SignalError, match=match):
        median_filter(x, size)


def sorted_window_median(x: np.ndarray, k: int) -> np.ndarray:
    """The sort-every-window NaN-aware median that staging used before (odd ``k``)."""
    n = len(x)
    pad = np.concatenate([np.full(k // 2, np.nan), x, np.full(k // 2, np.nan)])
    w = np.sort(np.lib.stride_tricks.sliding_window_view(pad, k), axis=1)  # NaN last
    c = np.isfinite(w).sum(axis=1)
    lo = np.maximum((c - 1) // 2, 0)
    hi = np.maximum(c // 2, 0)
    rows = np.arange(n)
    med = (w[rows, lo] + w[rows, hi]) / 2
    return np.where(c > 0, med, np.nan)


@pytest.mark.parametrize("k", [1, 3, 11, 121])
def test_nan_running_median_equals_sorted_windows(k):
    rng = np.random.default_rng(k)
    x = (rng.integers(1, 400, 960) + 0.5) / 960  # percentile ranks, ties included
    x[rng.random(960) < 0.2] = np.nan
    x[100:260] = np.nan  # a long gap: windows with no value at all
    np.testing.assert_array_equal(nan_running_median(x, k), sorted_window_median(x, k))


def test_nan_running_median_edges_and_bad_input():
    np.testing.assert_array_equal(nan_running_median(np.array([1.0, 3.0]), 5), [2.0, 2.0])
    assert np.isnan(nan_running_median(np.full(4, np.nan), 3)).all()
    assert nan_running_median(np.empty(0), 3).shape == (0,)
    with pytest.raises(SignalError, match="1-D"):
        nan_running_median(np.ones((2, 2)), 3)
    with pytest.raises(SignalError, match="size"):
        nan_running_median(np.ones(3), 0)


@given(
    st.integers(0, 12),
    st.integers(1, 40),
    st.sampled_from(["normal", "ties", "float32", "nan"]),
    st.integers(0, 2**32 - 1),
)
def test_row_medians_equal_numpy_median(rows, cols, kind, seed):
    """Bit for bit ``np.median(x, axis=1)``: odd and even rows, ties, float32, NaN."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols))
    if kind == "ties":
        x = rng.integers(0, 3, (rows, cols)).astype(np.float64)
    elif kind == "float32":
        x = np.abs(x).astype(np.float32)
    elif kind == "nan":
        x[rng.random((rows, cols)) < 0.1] = np.nan
    with np.errstate(invalid="ignore"):
        want = np.median(x, axis=1) if rows else np.empty(0, x.dtype)
    got = row_medians(x)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_row_medians_blocks_of_a_breathing_scale():
    """The 30 s blocks (300 values) of ``|wave|`` that the breathing scale takes."""
    rng = np.random.default_rng(5)
    x = np.abs(np.sin(np.arange(300 * 97) / 7.0) * (1 + rng.random(300 * 97)))
    rows = x.reshape(97, 300)
    np.testing.assert_array_equal(row_medians(rows), np.median(rows, axis=1))
    ro = rows.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(row_medians(ro), np.median(rows, axis=1))
    np.testing.assert_array_equal(row_medians(rows[:, ::3]), np.median(rows[:, ::3], axis=1))
