"""The interval scoring the accuracy scripts and floors use (tests/naive_heartbeats.py)."""

from __future__ import annotations

import numpy as np
from naive_heartbeats import score_intervals


def _beats() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.cumsum(0.9 + 0.1 * rng.standard_normal(1200).clip(-2, 2))


def test_a_constant_fiducial_lag_is_removed() -> None:
    ref = _beats()
    det = ref + 0.18  # timed on a later lobe all night
    sc = score_intervals(det[:-1], np.diff(det), det, ref)
    assert sc["wrong"] == 0.0 and sc["coverage"] > 0.99 and sc["mae_ms"] < 1e-9


def test_a_lag_that_moves_over_the_night_needs_the_local_window() -> None:
    """The second half is timed 0.25 s later (another lobe after the shape drifted):
    one lag for the night scores half the intervals wrong; a 60 s local lag does not,
    and an interval of the wrong length stays wrong either way."""
    ref = _beats()
    det = ref + np.where(ref > ref[len(ref) // 2], 0.3, 0.05)
    iv = np.diff(det)
    iv[100] += 0.2  # one wrong interval
    whole = score_intervals(det[:-1], iv, det, ref)
    local = score_intervals(det[:-1], iv, det, ref, lag_window=60.0)
    assert whole["wrong"] > 0.4
    assert 0 < local["wrong"] < 0.01
    assert local["coverage"] > 0.98
