"""Numba kernels of the mains detector (:mod:`sleepsignal.mains`): the windows before
their FFT, and the line scores after it.

Both replace chains of whole-array numpy passes (centring, windowing; the magnitude of
every bin, fancy-indexed neighbourhoods) by one pass that touches only what the scores
need: of the 281 bins of a 4 s window at 140 Hz, the ~200 around the mains lines.
``tests/naive_mains.py`` holds their slow references.
"""

from __future__ import annotations

import numpy as np

from ._numba import njit
from ._track_kernels import _block_sum

__all__: list[str] = []


@njit
def _centred_windows_kernel(
    x: np.ndarray, w: int, first: int, step: int, hann: np.ndarray, out: np.ndarray
) -> None:
    """Row ``r`` of ``out`` (float64, rows of ``len(hann)`` values back to back): the
    first ``len(hann)`` samples of window ``first + r * step`` of ``x`` (windows of
    ``w`` samples from sample 0), minus their mean, times ``hann``. The mean's sum is
    that of the 10 Hz view (``_block_sum``: float samples in float64 in order, integer
    samples exactly)."""
    n_fft = hann.shape[0]
    n_rows = out.shape[0] // n_fft if n_fft > 0 else 0
    for r in range(n_rows):
        src = (first + r * step) * w
        dst = r * n_fft
        # integer samples: an exact (vectorised) integer sum, equal to the float64 sum
        mean = _block_sum(x[src : src + n_fft]) / n_fft
        for i in range(n_fft):
            out[dst + i] = (np.float64(x[src + i]) - mean) * hann[i]


@njit
def _line_scores_kernel(
    spec: np.ndarray,
    n_bins: int,
    peak_lo: np.ndarray,
    peak_hi: np.ndarray,
    ref_start: np.ndarray,
    ref_bins: np.ndarray,
    out: np.ndarray,
) -> None:
    """Line-to-neighbourhood power ratio of every spectrum at every line.

    ``spec``: float64, the complex spectra of the windows as (real, imaginary) pairs,
    ``n_bins`` bins per window, windows back to back. Line ``j`` peaks in bins
    ``peak_lo[j]`` to ``peak_hi[j]`` (inclusive; ``peak_lo[j] < 0``: the line is not
    scored, 0); its neighbourhood is bins ``ref_bins[ref_start[j]:ref_start[j + 1]]``.
    ``out`` (float64, windows x lines, row-major) gets the highest power of the peak
    bins over the mean power of the neighbourhood (power ``re**2 + im**2``);
    +inf when the neighbourhood has no power but the peak has, 0 when neither has.
    """
    n_lines = peak_lo.shape[0]
    n_win = spec.shape[0] // (2 * n_bins) if n_bins > 0 else 0
    for k in range(n_win):
        base = 2 * n_bins * k
        for j in range(n_lines):
            score = 0.0
            if peak_lo[j] >= 0:
                peak = 0.0
                for b in range(peak_lo[j], peak_hi[j] + 1):
                    re = spec[base + 2 * b]
                    im = spec[base + 2 * b + 1]
                    p = re * re + im * im
                    if p > peak:
                        peak = p
                acc = 0.0
                for m in range(ref_start[j], ref_start[j + 1]):
                    b = ref_bins[m]
                    re = spec[base + 2 * b]
                    im = spec[base + 2 * b + 1]
                    acc += re * re + im * im
                ref = acc / (ref_start[j + 1] - ref_start[j])
                if ref > 0:
                    score = peak / ref
                elif peak > 0:
                    score = np.inf
            out[k * n_lines + j] = score
