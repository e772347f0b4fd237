"""The running median that replaces ``scipy.ndimage.median_filter`` in the track modules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_rank_filter import naive_median_filter

from sleepsignal._rank_filter import _median_filter_kernel, median_filter
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


@given(values, st.integers(1, 12))
def test_kernel_matches_naive(xs, size):
    x = np.array(xs, dtype=np.float64)
    np.testing.assert_array_equal(_median_filter_kernel(x, size), naive_median_filter(x, size))


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
