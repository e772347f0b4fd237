"""sleepsignal._filters against scipy.signal, its reference (the tests may import it)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal as sps
from hypothesis import given
from hypothesis import strategies as st

from sleepsignal import _filters as F
from sleepsignal.errors import SignalError


@given(
    order=st.integers(1, 6),
    fs=st.sampled_from([10.0, 50.0, 140.0, 500.0]),
    lo=st.floats(0.01, 0.45),
    width=st.floats(0.05, 0.5),
    btype=st.sampled_from(["lowpass", "highpass", "bandpass"]),
)
def test_butter_sos_equals_scipy(order, fs, lo, width, btype):
    f1 = lo * fs
    f2 = min(lo + width, 0.49) * fs
    if btype == "bandpass" and f2 <= f1 * 1.01:
        return
    cutoff = (f1, f2) if btype == "bandpass" else f1
    ours = F.butter_sos(order, cutoff, btype, fs)
    ref = sps.butter(order, cutoff, btype=btype, fs=fs, output="sos")
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("order", "cutoff", "btype", "fs"),
    [
        (2, 2.0, "highpass", 140.0),
        (4, 20.0, "lowpass", 140.0),
        (2, (0.08, 0.6), "bandpass", 10.0),
        (4, 0.5, "lowpass", 10.0),
        (4, 2.0, "highpass", 10.0),
        (2, 4.5, "highpass", 10.0),
    ],
)
def test_designs_used_by_the_kernels_are_bit_identical(order, cutoff, btype, fs):
    """The designs the analysis uses give exactly scipy's coefficients, so swapping
    scipy out changes no result."""
    ours = F.butter_sos(order, cutoff, btype, fs)
    assert np.array_equal(ours, sps.butter(order, cutoff, btype=btype, fs=fs, output="sos"))


@pytest.mark.parametrize(
    ("f0", "q", "fs"), [(10.0, 30.0, 140.0), (50.0, 35.0, 500.0), (3.0, 5, 10)]
)
def test_iirnotch_sos_equals_scipy(f0, q, fs):
    ref = sps.tf2sos(*sps.iirnotch(f0, q, fs=fs))
    np.testing.assert_allclose(F.iirnotch_sos(f0, q, fs), ref, rtol=1e-13, atol=1e-15)


def _sos(fs: float = 140.0) -> np.ndarray:
    return np.concatenate(
        [
            F.butter_sos(2, 2.0, "highpass", fs),
            F.butter_sos(4, 20.0, "lowpass", fs),
            F.iirnotch_sos(10.0, 30.0, fs),
        ]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sosfilt_and_sosfiltfilt_are_bit_identical_to_scipy(dtype):
    x = (np.random.default_rng(3).standard_normal(20_000) * 200 + 2000).astype(dtype)
    sos = _sos()
    assert np.array_equal(F.sosfilt(sos, x), sps.sosfilt(sos, x))
    assert np.array_equal(F.sosfiltfilt(sos, x), sps.sosfiltfilt(sos, x))
    assert np.array_equal(F.sosfiltfilt(sos, x, padlen=17), sps.sosfiltfilt(sos, x, padlen=17))
    assert np.array_equal(F.sosfiltfilt(sos, x, padlen=0), sps.sosfiltfilt(sos, x, padlen=0))
    assert np.array_equal(F.sosfilt_zi(sos), sps.sosfilt_zi(sos))


@pytest.mark.parametrize("n_sections", [1, 2, 3, 4, 5, 6, 7, 9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_grouping_of_sections_is_bit_identical_to_scipy(n_sections, dtype):
    """The kernel runs the sections in passes of 4, 2 and 1 (registers, not an array,
    hold the states): every count of sections, and so every mix of passes, gives
    scipy's numbers and final states, also when filtering in place backwards."""
    sos = np.concatenate([F.butter_sos(2, 2.0 + k, "highpass", 140.0) for k in range(5)])
    sos = np.concatenate([sos, F.butter_sos(8, 30.0, "lowpass", 140.0)])[:n_sections]
    x = (np.random.default_rng(6).standard_normal(3000) * 200 + 2000).astype(dtype)
    zi = np.random.default_rng(7).standard_normal((n_sections, 2))
    y, zf = F.sosfilt(sos, x, zi=zi)
    y_ref, zf_ref = sps.sosfilt(sos, x, zi=zi)
    assert np.array_equal(y, y_ref)
    assert np.array_equal(zf, zf_ref)
    assert np.array_equal(F.sosfiltfilt(sos, x), sps.sosfiltfilt(sos, x))


def test_integer_input_is_filtered_as_float64():
    """scipy extends unsigned integers in their own dtype (2 * x0 - x wraps around);
    here integers are converted to float64 first."""
    x = np.random.default_rng(4).integers(0, 65535, 3000).astype(np.uint16)
    sos = F.butter_sos(2, (0.08, 0.6), "bandpass", 10.0)
    assert np.array_equal(F.sosfiltfilt(sos, x), sps.sosfiltfilt(sos, x.astype(np.float64)))
    assert np.array_equal(F.sosfilt(sos, x), sps.sosfilt(sos, x.astype(np.float64)))


@given(cuts=st.lists(st.integers(0, 5000), max_size=6))
def test_sosfilt_in_chunks_equals_one_call(cuts):
    """Carrying the state from chunk to chunk gives exactly the whole-signal result."""
    x = np.random.default_rng(5).standard_normal(5000).astype(np.float32)
    sos = _sos()
    whole = F.sosfilt(sos, x)
    bounds = [0, *sorted(cuts), len(x)]
    zi = np.zeros((sos.shape[0], 2))
    parts = []
    for a, b in itertools.pairwise(bounds):
        y, zi = F.sosfilt(sos, x[a:b], zi=zi)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), whole)
    _, zf_ref = sps.sosfilt(sos, x, zi=np.zeros((sos.shape[0], 2)))
    assert np.array_equal(zi, zf_ref)


def test_bad_arguments_raise_signal_error():
    with pytest.raises(SignalError, match="fs"):
        F.butter_sos(2, 1.0, "lowpass", 0)
    with pytest.raises(SignalError, match="fs/2"):
        F.butter_sos(2, 6.0, "lowpass", 10.0)
    with pytest.raises(SignalError, match="pair"):
        F.butter_sos(2, 1.0, "bandpass", 10.0)
    with pytest.raises(SignalError, match="low < high"):
        F.butter_sos(2, (2.0, 1.0), "bandpass", 10.0)
    with pytest.raises(SignalError, match="btype"):
        F.butter_sos(2, 1.0, "bandstop", 10.0)  # type: ignore[arg-type]
    with pytest.raises(SignalError, match="order"):
        F.butter_sos(0, 1.0, "lowpass", 10.0)
    with pytest.raises(SignalError, match="notch"):
        F.iirnotch_sos(80.0, 30.0, 140.0)
    sos = F.butter_sos(2, 1.0, "lowpass", 10.0)
    with pytest.raises(SignalError, match="longer than padlen"):
        F.sosfiltfilt(sos, np.ones(9))
    with pytest.raises(SignalError, match="1-D"):
        F.sosfilt(sos, np.ones((3, 3)))
    with pytest.raises(SignalError, match="dtype"):
        F.sosfilt(sos, np.array(["a", "b"]))
    with pytest.raises(SignalError, match="zi"):
        F.sosfilt(sos, np.ones(10), zi=np.zeros((3, 2)))
    with pytest.raises(SignalError, match="shape"):
        F.sosfilt(np.ones(6), np.ones(10))
