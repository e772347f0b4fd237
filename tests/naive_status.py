"""Slow, obviously correct references of the mains kernels
(``sleepsignal._status_kernels``); the tests check that both agree exactly."""

from __future__ import annotations

import math

import numpy as np


def naive_centred_windows(rows: np.ndarray, hann: np.ndarray) -> np.ndarray:
    """Each row minus its mean, times the window (float64)."""
    out = np.empty(rows.shape)
    for r in range(rows.shape[0]):
        total = 0.0
        for v in rows[r]:
            total += float(v)
        mean = total / rows.shape[1]
        for i in range(rows.shape[1]):
            out[r, i] = (float(rows[r, i]) - mean) * float(hann[i])
    return out


def naive_line_scores(spec: np.ndarray, lines_hz: list[float], df: float) -> np.ndarray:
    """Line scores of complex spectra (rows) at each line: the highest power of the 3
    bins nearest the line over the mean power of the bins within 4 Hz of it (the 5
    nearest left out, and bin 0); 0 for a line whose bins do not fit in the spectrum
    (or with fewer than 4 neighbourhood bins), inf when only the peak has power."""
    n_bins = spec.shape[1]
    out = np.zeros((spec.shape[0], len(lines_hz)))
    h = round(4.0 / df)
    for j, f in enumerate(lines_hz):
        c = round(f / df)
        near = [i for i in range(c - h, c + h + 1) if abs(i - c) > 2 and 0 < i < n_bins]
        if c < 2 or c > n_bins - 1 or len(near) < 4:
            continue
        for k in range(spec.shape[0]):
            power = [float(z.real) ** 2 + float(z.imag) ** 2 for z in spec[k]]
            peak = max(power[c - 1 : c + 2])
            total = 0.0
            for i in near:
                total += power[i]
            ref = total / len(near)
            out[k, j] = peak / ref if ref > 0 else (math.inf if peak > 0 else 0.0)
    return out


def naive_presence_spreads(
    low: np.ndarray, w: int, n_w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window of ``w`` samples: the std of its first differences, the std of its
    residual from the least-squares line (slope from a plain in-order dot product), and
    whether it is constant; numpy for the means and standard deviations."""
    d = np.empty(n_w)
    b = np.empty(n_w)
    dead = np.zeros(n_w, dtype=bool)
    tc = np.arange(w, dtype=np.float64) - (w - 1) / 2.0
    for k in range(n_w):
        seg = np.array(low[k * w : (k + 1) * w], dtype=np.float64)
        d[k] = np.std(np.diff(seg))
        centred = seg - np.mean(seg)
        dot = 0.0
        for c, t in zip(centred, tc, strict=True):
            dot += float(c) * float(t)
        slope = dot / float(tc @ tc)
        b[k] = np.std(centred - slope * tc)
        dead[k] = seg.max() == seg.min()
    return d, b, dead
