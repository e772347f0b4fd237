"""Breathing cycles (detect_breathing), respiration_rate and the depth simplification kernel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import require_shared
from hypothesis import given
from hypothesis import strategies as st
from naive_tracks import (
    naive_beat_template,
    naive_no_overlap,
    naive_rsa_repaired,
    naive_simplify,
    synthetic_bcg,
)

from sleepsignal._track_kernels import _beat_template_kernel, _simplify_kernel
from sleepsignal.errors import SignalError, SleepSignalWarning
from sleepsignal.respiration import Breathing, detect_breathing, respiration_rate
from sleepsignal.session import TimeValueTrack

FS = 140.0


def test_regularity_matches_a_direct_loop():
    """Coverage x regularity scores the candidates: 1 - CV of the lengths of the cycles
    centred strictly within half the span of each frame centre, 0 under 3 cycles."""
    from sleepsignal import respiration as R

    rng = np.random.default_rng(3)
    lengths = rng.uniform(1.5, 8.0, 400)
    starts = np.cumsum(lengths) - lengths + rng.uniform(0, 3, 400).cumsum()
    b = Breathing(starts, lengths, np.ones(400), starts + 1.0)
    frames = np.arange(0, int(starts[-1] // 30) + 3)
    got = R._regularity(b, frames, 30.0, 90.0)
    mids = starts + 0.5 * lengths
    for f, g in zip(frames, got, strict=True):
        sel = lengths[np.abs(mids - (f + 0.5) * 30.0) < 45.0]
        want = 1 - np.std(sel) / np.mean(sel) if len(sel) >= 3 else 0.0
        assert g == pytest.approx(want, abs=1e-9)
    assert got[-1] == 0.0  # past the last cycle
    # equal lengths: fully regular
    even = Breathing(np.arange(50) * 4.0, np.full(50, 4.0), np.ones(50), np.zeros(50))
    assert np.allclose(R._regularity(even, np.arange(2, 5), 30.0, 90.0), 1.0)


# -- _simplify_kernel against its naive twin --------------------------------------------
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=0, max_size=120),
    st.floats(0.0, 500.0),
)
def test_simplify_kernel_matches_naive(values, t):
    x = np.asarray(values, dtype=np.float64)
    thr = np.full(len(x), t)
    got = _simplify_kernel(x, thr)
    want = naive_simplify(x, thr)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 3]))
def test_simplify_kernel_matches_naive_with_ties_and_varying_threshold(seed, step):
    """Quantised values (many equal depths: the tie order matters), a threshold that
    varies per sample, and plateaus."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(150).cumsum() / step) * step
    thr = rng.uniform(0.0, 6.0, len(x))
    got = _simplify_kernel(x, thr)
    want = naive_simplify(x, thr)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_simplify_kernel_nan_splits_runs_and_matches_naive():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.standard_normal(500))
    x[0] = np.nan
    x[100:110] = np.nan
    x[300] = np.nan
    thr = np.full(len(x), 3.0)
    thr[400] = np.nan  # a NaN threshold keeps its pairs
    got = _simplify_kernel(x, thr)
    want = naive_simplify(x, thr)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert not np.any((got[0] >= 99) & (got[0] <= 110))  # nothing in or at the gap


def test_simplify_kernel_empty_minimal_flat():
    e = np.empty(0)
    for x in (e, np.zeros(1), np.zeros(2), np.zeros(50), np.array([0.0, 1.0, 2.0])):
        idx, kind = _simplify_kernel(x, np.full(len(x), 0.1))
        assert len(idx) == 0 and len(kind) == 0
    idx, kind = _simplify_kernel(np.array([0.0, 1.0, 0.0]), np.full(3, 0.1))
    assert idx.tolist() == [1] and kind.tolist() == [1]
    # a plateau is one extremum at its last sample
    idx, kind = _simplify_kernel(np.array([0.0, 1.0, 1.0, 0.0, 0.5]), np.zeros(5))
    assert idx.tolist() == [2, 3] and kind.tolist() == [1, -1]


def test_simplify_kernel_removes_a_ripple_wherever_it_sits():
    """A ripple (pairs < 0.6 deep) on a breath of 2 peak to trough is removed at
    threshold 1 (it never splits the breath), kept at 0.05; what is left alternates."""
    t = np.arange(0, 40, 0.05)
    base = np.sin(2 * np.pi * t / 4.0)
    for at in (0.0, 1.0, 2.0, 3.0):  # ripple on the rise, at the top, on the fall, bottom
        x = base + 0.3 * np.exp(-(((t % 4.0) - at - 0.5) ** 2) / 0.1) * np.sin(2 * np.pi * t / 0.4)
        _, kind = _simplify_kernel(x, np.full(len(x), 1.0))
        assert np.all(kind[1:] != kind[:-1])
        assert (kind == -1).sum() == 10, at
        _, kind = _simplify_kernel(x, np.full(len(x), 0.05))
        assert (kind == -1).sum() > 10, at


def test_simplify_kernel_equals_the_truth_rule():
    """On a random belt-like wave the kernel keeps exactly the troughs of the
    simulator's truth (``belt_troughs``: the same rule with a Python heap)."""
    from sleepsignal._simulate_physio import belt_breath_size, belt_troughs

    rng = np.random.default_rng(4)
    y = np.cumsum(rng.standard_normal(20000))
    y -= np.convolve(y, np.ones(200) / 200, "same")
    size = belt_breath_size(y, 10.0)
    idx, kind = _simplify_kernel(y, 0.3 * size)
    np.testing.assert_array_equal(idx[kind == -1] / 10.0, belt_troughs(y, 10.0, 0.3, size))


# -- detect_breathing --------------------------------------------------------------------
def _sine(seconds: float, period: float, fs: float = FS, amp: float = 50.0) -> np.ndarray:
    t = np.arange(0, seconds, 1 / fs)
    return 1000 + amp * np.sin(2 * np.pi * t / period)


@pytest.mark.parametrize("period", [2.5, 4.0, 6.0, 9.0])
def test_detect_breathing_sine_period(period):
    b = detect_breathing(_sine(180, period), FS)
    # interior cycles: exact to within one 10 Hz sample (0.1 s) of the low-rate view
    inner = b.lengths[2:-2]
    assert len(inner) > 5
    np.testing.assert_allclose(inner, period, atol=0.1)
    assert isinstance(b, Breathing)


def test_detect_breathing_synthetic_counts_cycles():
    s = synthetic_bcg(300, seed=3, rate_bpm=15.0)
    b = detect_breathing(s.signal, s.fs)
    true_n = np.sum((s.breath_starts > 20) & (s.breath_starts < 280))
    got_n = np.sum((b.starts > 20) & (b.starts < 280))
    assert abs(int(got_n) - int(true_n)) <= 1
    rate_true = 60 / np.median(np.diff(s.breath_starts))
    assert respiration_rate(b, start=20, end=280) == pytest.approx(rate_true, abs=0.5)


def test_detect_breathing_amplitude_scales_with_signal():
    x = _sine(120, 4.0, amp=50.0)
    b1 = detect_breathing(x, FS)
    b2 = detect_breathing(1000 + 3 * (x - 1000), FS)
    np.testing.assert_allclose(b2.starts, b1.starts, atol=1e-9)
    np.testing.assert_allclose(b2.amplitudes, 3 * b1.amplitudes, rtol=1e-9)
    # peak-to-trough of a 50-count sine is 100 counts (band-pass shrinks it a little)
    assert np.median(b1.amplitudes) == pytest.approx(100, rel=0.1)


def test_detect_breathing_exclude_drops_overlapping_cycles():
    x = _sine(120, 4.0)
    full = detect_breathing(x, FS)
    cut = detect_breathing(x, FS, exclude=(np.array([50.0]), np.array([60.0])))
    ends = cut.starts + cut.lengths
    assert not np.any((cut.starts < 60) & (ends > 50))
    assert len(cut.starts) < len(full.starts)


def test_detect_breathing_float32_and_readonly_and_uint16_agree():
    x = _sine(120, 4.0)
    a = detect_breathing(x, FS)
    x16 = np.round(x).astype(np.uint16)
    x16.flags.writeable = False
    b = detect_breathing(x16, FS)
    c = detect_breathing(x16.astype(np.float32), FS)
    np.testing.assert_allclose(b.starts, c.starts, atol=1e-6)
    np.testing.assert_allclose(a.lengths[2:-2], b.lengths[2:-2], atol=0.05)


def test_detect_breathing_flat_short_and_empty_give_empty():
    for x in (np.full(140 * 100, 500.0), np.zeros(0), _sine(20, 4.0)):
        b = detect_breathing(x, FS)
        assert len(b.starts) == 0 and len(b.lengths) == 0 and len(b.amplitudes) == 0


def test_detect_breathing_other_rate_same_answer():
    t50 = np.arange(0, 120, 1 / 50)
    b = detect_breathing(1000 + 50 * np.sin(2 * np.pi * t50 / 4.0), 50.0)
    np.testing.assert_allclose(b.lengths[2:-2], 4.0, atol=0.1)


@pytest.mark.parametrize(
    "bad, fs",
    [
        (np.zeros((10, 10)), FS),
        (np.array(["a", "b"]), FS),
        (np.array([1.0, np.nan, 2.0]), FS),
        (np.ones(100), 0.0),
        (np.ones(100), float("nan")),
        (np.ones(100), "140"),
        (np.ones(100), 2.0),
    ],
)
def test_detect_breathing_bad_input(bad, fs):
    with pytest.raises(SignalError):
        detect_breathing(bad, fs)


def test_detect_breathing_bad_exclude():
    with pytest.raises(SignalError, match="one length"):
        detect_breathing(_sine(60, 4), FS, exclude=(np.array([1.0, 2.0]), np.array([3.0])))


# -- respiration_rate ----------------------------------------------------------------------
def test_respiration_rate_counts_partial_cycles_by_fraction():
    starts = np.array([0.0, 4.0, 8.0, 12.0])
    lengths = np.array([4.0, 4.0, 4.0, 4.0])
    assert respiration_rate((starts, lengths), start=2.0, end=14.0) == pytest.approx(15.0)
    # uneven cycles: 2 s and 6 s cycles give 2 breaths in 8 s
    assert respiration_rate((np.array([0.0, 2.0]), np.array([2.0, 6.0])), start=0, end=8) == (
        pytest.approx(15.0)
    )


def test_respiration_rate_accepts_track_and_breathing():
    tr = TimeValueTrack("respiration_cycles", [0.0, 5.0], np.array([5.0, 5.0], np.float32))
    assert respiration_rate(tr, start=0, end=10) == pytest.approx(12.0)
    b = Breathing(np.array([0.0, 3.0]), np.array([3.0, 3.0]), np.ones(2), np.array([1.0, 4.0]))
    assert respiration_rate(b, start=0, end=6) == pytest.approx(20.0)


def test_respiration_rate_gap_does_not_dilute():
    starts = np.array([0.0, 4.0, 100.0, 104.0])
    lengths = np.full(4, 4.0)
    assert respiration_rate((starts, lengths), start=0, end=108) == pytest.approx(15.0)


def test_respiration_rate_none_is_nan_with_warning():
    with pytest.warns(SleepSignalWarning, match="NaN"):
        r = respiration_rate((np.array([100.0]), np.array([4.0])), start=0, end=60)
    assert np.isnan(r)


def test_respiration_rate_bad_arguments():
    with pytest.raises(SignalError):
        respiration_rate((np.zeros(2), np.zeros(3)), start=0, end=1)
    with pytest.raises(SignalError):
        respiration_rate((np.zeros(2), np.ones(2)), start=5, end=1)
    with pytest.raises(SignalError):
        respiration_rate(42, start=0, end=1)  # type: ignore[arg-type]


# -- real data -----------------------------------------------------------------------------
@pytest.mark.realdata
def test_sadek_breathing_floor():
    """sadek-mfos-18min (apnoea patient, 50 Hz): a plausible breathing night section.

    No breathing reference exists; the floors hold what the detector gives today
    (``python benchmarks/accuracy_tracks.py`` prints it): about 300 cycles, 16 breaths/min;
    nearly all cycles 1.5-10 s (on breath6 and breathfix: 3 of 303 under 1.5 s, one of
    15 s with an amplitude of 11 520 against a median of 755, between two movement
    bursts: the filters' ringing, not an apnoea pause; without ``exclude`` nothing marks
    the movements here, so it stays).
    """
    pd = pytest.importorskip("pandas")
    path = require_shared("sadek-mfos-18min", "sample_data.csv")
    x = pd.read_csv(path)["raw_data_sleepMat"].to_numpy()
    b = detect_breathing(x, 50.0)
    assert len(b.starts) >= 260
    rate = respiration_rate(b, start=0, end=len(x) / 50.0)
    assert 12.0 <= rate <= 20.0
    assert np.mean((b.lengths >= 1.5) & (b.lengths <= 10.0)) >= 0.97
    assert np.sum(b.lengths < 1.5) <= 4
    assert np.sum(b.lengths > 10.0) <= 1


# -- heartbeat-dominated signals: the source selection ------------------------------------
def _cardiac_like(seconds: float, *, hr_hz: float = 0.8, breath_hz: float = 0.25) -> np.ndarray:
    """Narrow heartbeat pulses (1000 counts) at ``hr_hz`` over a breathing sine of
    40 counts peak to trough: the heart-rate fundamental dominates the breathing band."""
    t = np.arange(0, seconds, 1 / FS)
    beats = np.arange(0.3, seconds, 1 / hr_hz)
    x = 2000 + 20 * np.sin(2 * np.pi * breath_hz * t)
    k = np.clip(np.round(beats * FS).astype(np.int64), 0, len(t) - 1)
    pulse = 1000 * np.exp(-0.5 * (np.arange(-21, 22) / 7.0) ** 2)
    spikes = np.zeros(len(t))
    spikes[k] = 1.0
    return x + np.convolve(spikes, pulse, mode="same")


def test_heart_rate_leak_is_rejected_by_the_smoothed_source():
    """With the heartbeat at 48/min dominating, the plain band-pass wave follows the
    beats (1.25 s cycles, which the baseline wave keeps since its shortest cycle is
    0.8 s); the detector must pick the smoothed wave and find 15 breaths/min."""
    from sleepsignal._track_kernels import _lowrate
    from sleepsignal.respiration import _breathing_from_low

    x = _cardiac_like(300.0)
    low, fs_low, _ = _lowrate(x, FS)
    plain = _breathing_from_low(low, fs_low, None, ("baseline",))
    # the trap is real: alone, the baseline wave counts the heartbeats
    assert respiration_rate(plain, start=30, end=270) == pytest.approx(48.0, abs=2.0)
    b = detect_breathing(x, FS)
    assert respiration_rate(b, start=30, end=270) == pytest.approx(15.0, abs=0.3)
    inner = (b.starts > 30) & (b.starts < 260)
    np.testing.assert_allclose(b.lengths[inner], 4.0, atol=0.25)


def _fast_shallow_breaths(depth: float) -> tuple[np.ndarray, int]:
    """Breaths of 4, 4, 4, 1 and 1 s (trough to trough, raised cosines), the 1 s ones at
    ``depth`` x the others' depth, 100 counts peak to trough, over light white noise:
    the signal and the number of true cycles."""
    lengths = np.tile([4.0, 4.0, 4.0, 1.0, 1.0], 80)
    amps = np.tile([1.0, 1.0, 1.0, depth, depth], 80)
    starts = np.concatenate([[0.0], np.cumsum(lengths)])
    t = np.arange(0, starts[-1], 1 / FS)
    k = np.searchsorted(starts, t, side="right") - 1
    wave = -amps[k] * 0.5 * np.cos(2 * np.pi * (t - starts[k]) / lengths[k])
    rng = np.random.default_rng(0)
    return 2000 + 100 * wave + 2 * rng.standard_normal(len(t)), len(lengths)


def test_plain_breath_keeps_fast_shallow_breaths(monkeypatch):
    """Where the breath plainly dominates, the wide (0.05-1.5 Hz) wave is simplified at the
    reference's own depth 0.3: 1 s breaths at 0.4 of the others' depth are breaths
    (the truth's rule on the wave itself keeps them), and so are cycles under 1.5 s.
    The 0.05-1 Hz baseline flattens them below its threshold and merges them."""
    from sleepsignal import respiration as R
    from sleepsignal._simulate_physio import belt_troughs
    from sleepsignal._track_kernels import _lowrate

    x, n_true = _fast_shallow_breaths(0.4)
    assert len(belt_troughs(x - x.mean(), FS)) >= n_true - 1  # the truth's rule keeps them
    low, fs_low, _ = _lowrate(x, FS)
    sel = R._select(low, fs_low, None, R.BREATHING_SOURCES, None, 0)
    assert sel.names == ["wide"]  # every frame: the breath plainly dominates
    b = detect_breathing(x, FS)
    assert abs(len(b.starts) - n_true) <= 3
    assert np.sum(b.lengths < 1.5) >= 150  # 160 true ones of 1 s
    # the premise: without the wide wave the 1 s breaths merge
    monkeypatch.setattr(R, "WIDE_MIN_SLOPE_RATIO", np.inf)
    monkeypatch.setattr(R, "WIDE_MIN_SLOPE_RATIO_RAW", np.inf)
    assert len(detect_breathing(x, FS).starts) < n_true - 60


def test_wide_slope_ratio_depends_on_the_beat_template(monkeypatch):
    """The wide wave's slope ratio is WIDE_MIN_SLOPE_RATIO on a view the beat template
    cleaned (31 or more usable beats) and WIDE_MIN_SLOPE_RATIO_RAW otherwise (no beat
    times, or too few for a template)."""
    from sleepsignal import respiration as R
    from sleepsignal._track_kernels import _lowrate

    x, _ = _fast_shallow_breaths(0.4)
    low, fs_low, _ = _lowrate(x, FS)
    beats = np.arange(0.5, len(low) / fs_low - 3.0, 0.9)
    monkeypatch.setattr(R, "WIDE_MIN_SLOPE_RATIO", np.inf)
    monkeypatch.setattr(R, "WIDE_MIN_SLOPE_RATIO_RAW", 0.0)
    sources = R.BREATHING_SOURCES

    def names(bt: np.ndarray | None) -> list[str]:
        return R._select(low, fs_low, None, sources, None, 0, bt).names

    assert names(None) == ["wide"]
    assert names(beats[:20]) == ["wide"]  # too few beats: no template
    assert "wide" not in names(beats)
    monkeypatch.setattr(R, "WIDE_MIN_SLOPE_RATIO", 0.0)
    monkeypatch.setattr(R, "WIDE_MIN_SLOPE_RATIO_RAW", np.inf)
    assert names(beats) == ["wide"]
    assert "wide" not in names(None)


def test_no_breath_lost_where_wide_and_baseline_alternate():
    """At a wide/baseline switch the two waves place the same trough a few tens of ms
    apart: the first cycle after the frame boundary overlaps the last one before it by
    that much, and must be kept (its start moved to the previous end), not dropped."""
    from sleepsignal import respiration as R

    fs_low = 10.0
    frame = 300  # 30 s frames
    true_starts = np.arange(1.0, 600.0, 4.0)[:-1]  # 4 s breaths
    base = Breathing(true_starts, np.full(len(true_starts), 4.0), np.ones(len(true_starts)),
                     true_starts + 2.0)  # fmt: skip
    wide = Breathing(true_starts - 0.03, base.lengths, base.amplitudes, base.peaks - 0.03)
    choice = np.arange(20) % 2  # frames alternate: baseline, wide, baseline, ...
    t = np.arange(6000) / fs_low
    band = np.sin(2 * np.pi * 0.25 * (t - 1.0) - np.pi / 2)
    sel = R._Selection(["baseline", "wide"], [base, wide], choice, frame, band)
    b = R._assemble(sel, fs_low)
    assert np.all(b.starts[1:] >= b.starts[:-1] + b.lengths[:-1] - 1e-9)  # no overlap
    gaps = b.starts[1:] - (b.starts[:-1] + b.lengths[:-1])
    assert np.all(gaps < 0.1)  # no breath lost at a seam (before: one per wide frame)
    assert len(b.starts) == len(true_starts)
    near = np.min(np.abs(b.starts[:, None] - true_starts[None, :]), axis=0)
    assert np.all(near <= 0.031)


@given(
    st.lists(
        st.tuples(
            st.floats(0, 100, allow_nan=False),
            st.floats(0.0, 12.0, allow_nan=False),
            st.floats(0.0, 1.0, allow_nan=False),
            st.sampled_from([0.8, 1.5]),
        ),
        max_size=60,
    )
)
def test_seam_kernel_matches_naive(cycles):
    """Each cycle with its own wave's minimum (0.8 s baseline / wide, 1.5 s the others)."""
    from naive_tracks import naive_seam

    from sleepsignal._track_kernels import _seam_kernel

    c = sorted(cycles)
    starts = np.array([a for a, _, _, _ in c], dtype=np.float64)
    lengths = np.array([b for _, b, _, _ in c], dtype=np.float64)
    peaks = starts + lengths * np.array([f for _, _, f, _ in c], dtype=np.float64)
    mins = np.array([m for _, _, _, m in c], dtype=np.float64)
    got = _seam_kernel(starts, lengths, peaks, mins, 0.5)
    want = naive_seam(starts, lengths, peaks, mins, 0.5)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_movement_does_not_unbury_heart_dominated_frames():
    """A movement (excluded) in a heart-dominated frame must not lift the frame's slope
    ratio over the buried line: the baseline would then count heartbeats (1.25 s
    cycles, the heart rate at 48/min) in that frame. The frame classes come from the
    slopes outside the excluded stretch."""
    x = _cardiac_like(600.0)
    t = np.arange(len(x)) / FS
    m = (t >= 302.0) & (t < 306.0)
    x[m] += 3000 * np.sin(2 * np.pi * 0.3 * (t[m] - 302.0))  # a slow 4 s movement
    b = detect_breathing(x, FS, exclude=(np.array([302.0]), np.array([306.0])))
    assert len(b.starts) > 120
    assert not np.any(b.lengths < 1.5)  # before: 20 cycles at the heart rate
    # away from the movement (the filters ring for a few s after it), the true breaths
    inner = (b.starts > 30) & (b.starts < 560) & ((b.starts < 290) | (b.starts > 320))
    np.testing.assert_allclose(b.lengths[inner], 4.0, atol=0.25)


def _breaths_with_one_long(depth: float) -> np.ndarray:
    """4 s breaths (raised cosines, 100 counts peak to trough) with one 16 s cycle at
    ``depth`` x their depth in the middle, over light white noise."""
    lengths = np.array([4.0] * 70 + [16.0] + [4.0] * 70)
    amps = np.array([1.0] * 70 + [depth] + [1.0] * 70)
    starts = np.concatenate([[0.0], np.cumsum(lengths)])
    t = np.arange(0, starts[-1], 1 / FS)
    k = np.searchsorted(starts, t, side="right") - 1
    wave = -amps[k] * 0.5 * np.cos(2 * np.pi * (t - starts[k]) / lengths[k])
    rng = np.random.default_rng(0)
    return 2000 + 100 * wave + 2 * rng.standard_normal(len(t))


def test_long_cycle_dropped_next_to_a_movement_kept_elsewhere():
    """A cycle over MAX_CYCLE_S (10 s) next to an excluded movement is the filters'
    ringing and is dropped (before: kept, as a 23.7 s cycle 8.6 s after a movement);
    the same cycle away from any exclusion is kept (the baseline's cycles reach 30 s;
    a deep one too: true long cycles on the belt nights are 0.4-45x the depth around)."""
    for depth in (0.0, 30.0):
        x = _breaths_with_one_long(depth)  # the long cycle runs 280-296 s
        free = detect_breathing(x, FS)
        assert np.sum(free.lengths > 10.0) == 1
        moved = detect_breathing(x, FS, exclude=(np.array([270.0]), np.array([274.0])))
        assert not np.any(moved.lengths > 10.0)
        assert abs(len(moved.starts) - len(free.starts)) <= 4  # only that one and the
        # cycles overlapping the excluded 4 s go


def test_selected_cycles_are_sorted_and_never_overlap():
    rng = np.random.default_rng(1)
    x = _cardiac_like(600.0) + 30 * rng.standard_normal(int(600 * FS))
    b = detect_breathing(x, FS)
    assert len(b.starts) > 50
    assert np.all(np.diff(b.starts) > 0)
    assert np.all(b.starts[1:] >= b.starts[:-1] + b.lengths[:-1] - 1e-9)
    assert np.all(b.amplitudes > 0)
    assert np.all((b.peaks > b.starts) & (b.peaks < b.starts + b.lengths))


def test_no_overlap_helper_keeps_first_of_overlapping():
    from sleepsignal.respiration import _no_overlap

    starts = np.array([0.0, 3.0, 4.0, 7.5, 8.0])
    lengths = np.array([4.0, 4.0, 4.0, 1.0, 4.0])
    np.testing.assert_array_equal(_no_overlap(starts, lengths), [True, False, True, False, True])


def _rsa_beats(seconds: float, breath_hz: float = 0.2) -> np.ndarray:
    """Beat times at 60/min whose intervals follow a breath at ``breath_hz`` (+-80 ms)."""
    t, out = 0.5, []
    while t < seconds:
        out.append(t)
        t += 1.0 + 0.08 * np.sin(2 * np.pi * breath_hz * t)
    return np.array(out)


def _beats_in_noise(beats: np.ndarray, seconds: float, seed: int = 0) -> np.ndarray:
    """Heartbeat pulses at ``beats`` in slow random noise: no breathing swing at all."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    slow = np.cumsum(rng.standard_normal(n))
    slow -= np.convolve(slow, np.ones(2801) / 2801, mode="same")  # a wandering baseline
    spikes = np.zeros(n)
    spikes[np.clip(np.round(beats * FS).astype(np.int64), 0, n - 1)] = 1.0
    pulse = 300 * np.exp(-0.5 * (np.arange(-21, 22) / 7.0) ** 2)
    return 2000 + 3 * slow + np.convolve(spikes, pulse, mode="same")


def test_beat_intervals_give_the_breathing_the_signal_hides():
    """No breathing swing in the signal, but the heart rate follows a 12/min breath
    (respiratory sinus arrhythmia): with the beat times the rate is found."""
    beats = _rsa_beats(600.0)
    x = _beats_in_noise(beats, 600.0)
    plain = detect_breathing(x, FS)
    with_beats = detect_breathing(x, FS, beat_times=beats)
    mid = (with_beats.starts > 60) & (with_beats.starts < 540)
    assert mid.sum() >= 80  # 12/min over 8 min = 96
    assert respiration_rate(with_beats, start=60, end=540) == pytest.approx(12.0, abs=0.3)
    np.testing.assert_allclose(np.median(with_beats.lengths[mid]), 5.0, atol=0.2)
    # without the beats the noise gives no such answer (the test is not vacuous)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SleepSignalWarning)
        r_plain = respiration_rate(plain, start=60, end=540)
    assert not abs(r_plain - 12.0) < 0.3


def test_beat_intervals_drop_ectopic_and_missed_beats():
    """An extra beat every 40 beats (premature) and a missed one every 50: the running
    median rule drops those intervals and the breath is still found."""
    beats = _rsa_beats(600.0)
    extra = 0.5 * (beats[20::40][:-1] + beats[21::40][: len(beats[20::40]) - 1])
    bad = np.sort(np.concatenate([np.delete(beats, np.arange(35, len(beats), 50)), extra]))
    x = _beats_in_noise(beats, 600.0)
    b = detect_breathing(x, FS, beat_times=bad)
    assert respiration_rate(b, start=60, end=540) == pytest.approx(12.0, abs=0.3)


def test_beat_intervals_do_not_override_a_clear_breath():
    """A clear breathing swing at 15/min shapes the signal: beat intervals that swing at
    10/min (here a deliberate conflict) are not consulted, the answer is the signal's."""
    t = np.arange(0, 600.0, 1 / FS)
    beats = _rsa_beats(600.0, breath_hz=1 / 6)
    x = _beats_in_noise(beats, 600.0) + 400 * np.sin(2 * np.pi * 0.25 * t)
    a = detect_breathing(x, FS)
    b = detect_breathing(x, FS, beat_times=beats)
    # the same breaths; the beat template removes the strong pulses' leak, so the
    # troughs sit nearer the sine's (3 + 4k s): median error 0.13 s without the beats,
    # 0.05 s with them (measured)
    assert len(a.starts) == len(b.starts)

    def trough_error(r: Breathing) -> float:
        e = (r.starts - 3.0) % 4.0
        return float(np.median(np.minimum(e, 4.0 - e)[(r.starts > 20) & (r.starts < 580)]))

    assert trough_error(b) < 0.08 < trough_error(a)
    assert respiration_rate(b, start=60, end=540) == pytest.approx(15.0, abs=0.3)
    # and the conflicting intervals alone would say 10/min (the test can fail)
    quiet = detect_breathing(_beats_in_noise(beats, 600.0), FS, beat_times=beats)
    assert respiration_rate(quiet, start=60, end=540) == pytest.approx(10.0, abs=0.3)


def test_beat_times_few_or_empty_change_nothing_and_bad_ones_are_refused():
    x = _cardiac_like(300.0)
    a = detect_breathing(x, FS)
    for bt in ([], [1.0, 2.0, 3.0], [np.nan] * 10):
        b = detect_breathing(x, FS, beat_times=np.asarray(bt, dtype=float))
        np.testing.assert_array_equal(a.starts, b.starts)
    with pytest.raises(SignalError, match="beat_times must be 1-D"):
        detect_breathing(x, FS, beat_times=np.ones((3, 3)))
    with pytest.raises(SignalError, match="beat_times must be a 1-D array of real times"):
        detect_breathing(x, FS, beat_times=["a", "b"])  # type: ignore[arg-type]


def test_analyze_runs_the_heartbeat_detector_once_and_feeds_breathing(monkeypatch):
    """pipeline.analyze: one detector run; its beats reach session_tracks."""
    import sleepsignal.heartbeats as hb_mod
    import sleepsignal.tracks as tracks_mod
    from sleepsignal.pipeline import analyze
    from sleepsignal.simulate import simulate_night

    session = simulate_night(0.5, seed=2).session

    calls = {"detect": 0, "beats": None}
    real_detect, real_tracks = hb_mod.detect_heartbeats, tracks_mod.session_tracks

    def counting(*a, **k):
        calls["detect"] += 1
        return real_detect(*a, **k)

    def spying(session, **k):
        calls["beats"] = k.get("beat_times")
        return real_tracks(session, **k)

    monkeypatch.setattr(hb_mod, "detect_heartbeats", counting)
    monkeypatch.setattr(tracks_mod, "session_tracks", spying)
    analyze(session)
    assert calls["detect"] == 1
    assert calls["beats"] is not None and len(calls["beats"]) > 1000  # 30 min of beats


def test_rsa_wave_is_zero_across_a_beat_gap_and_outside_the_beats():
    from sleepsignal.respiration import _rsa_wave

    beats = _rsa_beats(600.0)
    gap = (beats > 200) & (beats < 230)  # 30 s without beats (a movement, say)
    w, fs_r = _rsa_wave(beats[~gap] + 50.0, 700 * 10, 10.0)
    assert fs_r == 2.5 and len(w) == 1750
    t = np.arange(len(w)) / fs_r
    # the filters smear the step edges by a few seconds; well inside, nothing
    assert np.abs(w[(t > 258) & (t < 276)]).max() < 0.05 * np.abs(w).max()
    assert np.abs(w[t < 40]).max() < 0.05 * np.abs(w).max()
    assert np.abs(w[(t > 150) & (t < 240)]).max() > 0.5 * np.abs(w).max()  # breathing there


def _knots_before_gap_zeros(beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval knots of ``_rsa_repaired`` for ``beats`` (times s, lengths s)."""
    from sleepsignal import respiration as R
    from sleepsignal._rank_filter import median_filter

    ibi = np.diff(beats)
    med = median_filter(ibi, min(R.RSA_MEDIAN_BEATS, len(ibi)))
    ok = (np.abs(ibi - med) < R.RSA_MAX_DEVIATION * med) & (ibi >= R.RSA_INTERVAL_S[0])
    ok &= ibi <= R.RSA_INTERVAL_S[1]
    return R._rsa_repaired(beats, ibi, med, ok)


def test_rsa_repair_missed_extra_and_premature_beats():
    """Steady beats every 1 s (0-44 s, then from 46.5 s) with: at 11 s a missed beat (a
    2 s interval -> two knots of 1 s at 10.5 and 11.5 s); at 20.4 s an extra beat (0.4 +
    0.6 s -> one knot of 1 s at 20.5 s); at 29.65 s a premature beat in place of the one
    at 30 s (0.65 + 1.35 s -> two knots of 1 s at 29.5 and 30.5 s); an extra beat at
    35.5 s right before a missed one at 37 s (0.5 + 0.5 s -> one knot at 35.5 s, then 2 s
    -> two at 36.5 and 37.5 s). The 2.5 s pause 44 -> 46.5 s is no whole number of beats:
    a hole."""
    b = np.concatenate([np.arange(0.0, 45.0), np.arange(46.5, 60.0)])
    b = b[(b != 11.0) & (b != 37.0)]
    b[b == 30.0] = 29.65
    b = np.sort(np.concatenate([b, [20.4, 35.5]]))
    tm, v = _knots_before_gap_zeros(np.unique(b))
    np.testing.assert_allclose(v[(tm < 45) | (tm > 46.5)], 1.0)
    for t in (10.5, 11.5, 20.5, 29.5, 30.5, 35.5, 36.5, 37.5):
        assert np.min(np.abs(tm - t)) < 1e-9, t
    assert not np.any((tm > 44.6) & (tm < 46.4))  # the 1.5 s pause stays a hole
    # every steady second has exactly one knot (nothing counted twice)
    assert len(tm) == len(np.unique(np.floor(tm)))


def test_rsa_knots_of_repeated_or_doubled_beat_times():
    """Degenerate beat times (all equal: a zero median interval; every beat twice, as
    where two runs of the detector's chain meet) give no knots or the steady ones,
    without a numpy warning (pytest turns warnings into errors)."""
    from sleepsignal.respiration import _rsa_knots

    assert _rsa_knots(np.zeros(100)) is None
    tm, v = _rsa_knots(np.repeat(np.arange(50.0), 2))  # type: ignore[misc]
    assert len(tm) > 40
    np.testing.assert_allclose(v, 0.0)  # every knot is a 1 s interval (minus the median)
    x = _cardiac_like(300.0)
    b = detect_breathing(x, FS, beat_times=np.repeat(np.arange(0.5, 299.0), 2))
    assert np.all(np.isfinite(b.starts))


@pytest.mark.parametrize("seed", range(6))
def test_rsa_repaired_matches_naive_loop(seed):
    from sleepsignal import respiration as R

    rng = np.random.default_rng(seed)
    beats = _rsa_beats(900.0, breath_hz=rng.uniform(0.15, 0.35))
    beats = beats + rng.normal(0, 0.01, len(beats))
    drop = rng.random(len(beats)) < 0.08  # missed beats, some in a row
    extra = beats[:-1][rng.random(len(beats) - 1) < 0.06]
    extra = extra + rng.uniform(0.2, 0.8, len(extra))
    moved = rng.random(len(beats)) < 0.05  # premature / displaced beats
    beats = np.where(moved, beats - rng.uniform(0.2, 0.5, len(beats)), beats)
    beats = np.unique(np.concatenate([beats[~drop], extra]))
    tm, v = _knots_before_gap_zeros(beats)
    ibi = np.diff(beats)
    from sleepsignal._rank_filter import median_filter

    med = median_filter(ibi, min(R.RSA_MEDIAN_BEATS, len(ibi)))
    ok = (np.abs(ibi - med) < R.RSA_MAX_DEVIATION * med) & (ibi >= R.RSA_INTERVAL_S[0])
    ok &= ibi <= R.RSA_INTERVAL_S[1]
    lo, hi = R.RSA_INTERVAL_S
    tn, vn = naive_rsa_repaired(
        beats, ibi, med, ok, R.RSA_MAX_DEVIATION, lo, hi, R.RSA_REPAIR_MAX_BEATS
    )
    assert len(tm) > ok.sum()  # something was repaired (the test is not vacuous)
    np.testing.assert_allclose(tm, tn, rtol=0, atol=1e-12)
    np.testing.assert_allclose(v, vn, rtol=0, atol=1e-12)


@given(
    st.lists(
        st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0.0, 12.0, allow_nan=False)),
        max_size=60,
    )
)
def test_no_overlap_kernel_matches_naive(cycles):
    from sleepsignal._track_kernels import _no_overlap_kernel

    c = sorted(cycles)
    starts = np.array([a for a, _ in c], dtype=np.float64)
    lengths = np.array([b for _, b in c], dtype=np.float64)
    np.testing.assert_array_equal(
        _no_overlap_kernel(starts, lengths), naive_no_overlap(starts, lengths)
    )


def test_heartbeat_dominates_frames():
    from sleepsignal.respiration import _heartbeat_dominates

    fs = 10.0
    t = np.arange(int(120 * fs)) / fs
    wave = np.sin(2 * np.pi * 0.25 * t)
    beat = np.where(t < 60, 20.0, 0.0) * np.sin(2 * np.pi * 4.0 * t)
    got = _heartbeat_dominates(wave + beat, wave, 300, 4)
    np.testing.assert_array_equal(got, [True, True, False, False])
    assert not _heartbeat_dominates(wave[:1], wave[:1], 300, 1).any()


def test_session_tracks_refuses_bad_beat_times():
    from sleepsignal.session import Session
    from sleepsignal.tracks import session_tracks

    ses = Session.from_array(_cardiac_like(120.0), FS, start=1.7e9, timezone="UTC")
    with pytest.raises(SignalError, match="beat_times must be 1-D"):
        session_tracks(ses, beat_times=np.ones((2, 2)))
    with pytest.raises(SignalError, match="beat_times must be a 1-D array of real times"):
        session_tracks(ses, beat_times=["x"])  # type: ignore[arg-type]


# -- beat-template subtraction ----------------------------------------------------------
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 9),
    st.integers(1, 40),
    st.sampled_from([0.0, 0.04, 0.5, 1.25, 5.0, 40.0]),
)
def test_beat_template_kernel_matches_naive(seed, w, frame, gate):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 160))
    low = 1000 + np.cumsum(rng.standard_normal(n))
    k_n = int(rng.integers(2, 8))
    wb = int(rng.integers(1, n + 1))
    nb = int(rng.integers(0, 25))
    pos = np.sort(rng.uniform(0, n - k_n - 1, nb))
    if nb > 3:
        pos[2] = pos[1]  # two beats on one spot
        pos[3] = np.floor(pos[3])  # a beat exactly on a sample
        pos = np.sort(pos)
    got = _beat_template_kernel(low, pos, k_n, w, wb, frame, gate)
    want = naive_beat_template(low, pos, k_n, w, wb, frame, gate)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def _beat_train(fs: float, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample times, beat times (0.8-1.2 s apart, jittered) and a heartbeat of peak 1 (a
    0.6 s raised-sine pulse at each beat) over ``n`` samples at ``fs``."""
    t = np.arange(n) / fs
    beats = np.cumsum(np.random.default_rng(1).uniform(0.8, 1.2, 600)) + 0.3
    beats = beats[beats < t[-1] - 3.0]
    heart = np.zeros(n)
    for b in beats:
        o = t - b
        heart += np.where((o >= 0) & (o < 0.6), np.sin(np.pi * o / 0.6) ** 2, 0.0)
    return t, beats, heart


def test_beat_template_kernel_removes_a_periodic_beat_and_keeps_the_breath():
    """A beat shape repeated at jittered beat times on a slow breath: subtracting the
    running template leaves the breath (within the template's small averaging error)."""
    fs, n = 10.0, 6000
    t, beats, heart = _beat_train(fs, n)
    heart = 50 * heart
    breath = 200 * np.sin(2 * np.pi * 0.25 * t)
    low = 2000 + breath + heart
    out = _beat_template_kernel(low, beats * fs, 21, 31, 11, 300, 0.04)
    mid = slice(300, n - 300)
    resid = out - (2000 + breath)
    resid -= np.median(resid[mid])
    assert np.std(resid[mid]) < 0.25 * np.std(heart[mid])
    # nothing to remove where the gate is shut: the input comes back unchanged
    same = _beat_template_kernel(low, beats * fs, 21, 31, 11, 300, 1e6)
    np.testing.assert_array_equal(same, low)


def test_beat_template_left_out_where_it_is_mostly_its_own_noise():
    """The gate (TEMPLATE_GATE): a mean of 31 rows carries about 1/31 of the power of
    what is not locked to the beats. Under white noise of std 20 a beat of peak 5 (its
    template's mean square well below 1.25/31 of the noise's) is left in; one of peak 40
    is taken out in every frame; a breath 5 x larger (its residue inside the 1.1 s
    window is noise to the template too) keeps even that one in."""
    from sleepsignal.respiration import _beats_removed

    fs, n = 10.0, 6000
    t, beats, heart = _beat_train(fs, n)
    noise = 20 * np.random.default_rng(2).standard_normal(n)
    breath = 200 * np.sin(2 * np.pi * 0.25 * t)
    small = 2000 + breath + noise + 5 * heart
    np.testing.assert_array_equal(_beats_removed(small, fs, beats, 300), small)
    large = 2000 + breath + noise + 40 * heart
    out = _beats_removed(large, fs, beats, 300)
    assert (out != large).reshape(-1, 300).any(axis=1).all()  # every frame
    deep = 2000 + 5 * breath + noise + 40 * heart
    np.testing.assert_array_equal(_beats_removed(deep, fs, beats, 300), deep)


def test_beat_template_changes_nothing_without_a_heartbeat_in_the_beats():
    """A pure sine breath with beat times given: the heartbeat template is nothing but
    the boxcar's residue of the breath, below the gate, so the cycles do not change."""
    t = np.arange(0, 300.0, 1 / FS)
    x = 2000 + 300 * np.sin(2 * np.pi * 0.25 * t)
    beats = np.arange(0.5, 299.0, 0.93)
    a = detect_breathing(x, FS)
    b = detect_breathing(x, FS, beat_times=beats)
    np.testing.assert_array_equal(a.starts, b.starts)


def test_seam_kernel_drops_a_trimmed_cycle_under_the_minimum():
    """Review rv5: (6, 4, peak 8) then (9.6, 0.85, peak 10.05) kept 0.45 s after the trim;
    a trimmed cycle under its own minimum (here 0.8 s) is dropped, one at or above is
    kept."""
    from naive_tracks import naive_seam

    from sleepsignal._track_kernels import _seam_kernel

    starts = np.array([6.0, 9.6, 10.5])
    lengths = np.array([4.0, 0.85, 3.0])
    peaks = np.array([8.0, 10.05, 12.0])
    mins = np.full(3, 0.8)
    keep, s, ln = _seam_kernel(starts, lengths, peaks, mins, 0.5)
    # the 0.45 s one is dropped; 10.5 starts after the last kept end 10: kept untrimmed
    np.testing.assert_array_equal(keep, [True, False, True])
    assert s[2] == 10.5 and ln[2] == 3.0
    for g, w in zip((keep, s, ln), naive_seam(starts, lengths, peaks, mins, 0.5), strict=True):
        np.testing.assert_array_equal(g, w)
    # a longer second cycle: trimmed to 1.5 s and kept
    keep, s, ln = _seam_kernel(
        starts[:2], np.array([4.0, 1.9]), np.array([8.0, 10.5]), mins[:2], 0.5
    )
    assert keep.tolist() == [True, True] and s[1] == 10.0 and ln[1] == pytest.approx(1.5)
    # exactly the minimum is kept
    keep, s, ln = _seam_kernel(
        np.array([0.0, 3.75]), np.array([4.0, 1.05]), np.array([2.0, 4.5]), mins[:2], 0.5
    )
    assert keep.tolist() == [True, True] and ln[1] == 0.8


def test_seam_kernel_uses_each_cycles_own_minimum():
    """The same trimmed length (1.2 s) is kept for a 0.8 s-minimum cycle and dropped for
    a 1.5 s-minimum one; 1.5 s exactly is kept."""
    from naive_tracks import naive_seam

    from sleepsignal._track_kernels import _seam_kernel

    starts, lengths, peaks = np.array([0.0, 3.7]), np.array([4.0, 1.5]), np.array([2.0, 4.5])
    for lo, kept in ((0.8, True), (1.5, False), (1.2, True)):
        mins = np.array([0.8, lo])
        keep, s, ln = _seam_kernel(starts, lengths, peaks, mins, 0.5)
        assert keep.tolist() == [True, kept], lo
        for g, w in zip((keep, s, ln), naive_seam(starts, lengths, peaks, mins, 0.5), strict=True):
            np.testing.assert_array_equal(g, w)
    keep, _, ln = _seam_kernel(starts, np.array([4.0, 1.8]), peaks, np.array([0.8, 1.5]), 0.5)
    assert keep.tolist() == [True, True] and ln[1] == pytest.approx(1.5)


@pytest.mark.parametrize("name", ["smooth", "rsa", "envelope"])
def test_seam_trim_keeps_the_smoothed_and_interval_waves_minimum(name):
    """Where a baseline frame meets a frame of a wave whose shortest cycle is 1.5 s
    (MIN_CYCLE_S: the smoothed, beat-interval and envelope waves; shorter there is the
    heart rate), a cycle of that wave trimmed at the seam to 1.4 s is dropped, and one
    trimmed to 1.6 s kept; on the wide wave (0.8 s minimum) 1.4 s is kept. (Before, every
    wave's trim was held to the baseline's 0.8 s, so the 1.4 s cycle stayed.)"""
    from sleepsignal import respiration as R

    fs_low, frame = 10.0, 300
    band = np.sin(2 * np.pi * 0.25 * np.arange(1200) / fs_low)
    base = Breathing(np.array([22.0, 26.0]), np.array([4.0, 4.0]), np.ones(2),
                     np.array([24.0, 28.0]))  # fmt: skip

    def assembled(other: str, length: float) -> Breathing:
        # starts 0.3 s before the baseline's last end (30 s), peak after it, midpoint in
        # frame 1: trimmed to start at 30 s, ``length - 0.3`` s long
        c = Breathing(np.array([29.7]), np.array([length]), np.ones(1), np.array([30.5]))
        sel = R._Selection(["baseline", other], [base, c], np.array([0, 1, 1]), frame, band)
        return R._assemble(sel, fs_low)

    b = assembled(name, 1.7)
    np.testing.assert_array_equal(b.starts, [22.0, 26.0])  # 1.4 s < 1.5 s: dropped
    b = assembled(name, 1.9)
    assert b.starts.tolist() == [22.0, 26.0, 30.0] and b.lengths[2] == pytest.approx(1.6)
    b = assembled("wide", 1.7)
    assert b.starts.tolist() == [22.0, 26.0, 30.0] and b.lengths[2] == pytest.approx(1.4)


@pytest.mark.parametrize(
    "exclude, match",
    [
        ((np.array([1.0, np.nan]), np.array([3.0, 5.0])), "NaN"),
        ((np.array([1.0]), np.array([np.nan])), "NaN"),
        ((np.array([1.0, 10.0]), np.array([3.0, 9.0])), "interval 1 ends"),
        ((np.array(["a"]), np.array([3.0])), "real times"),
    ],
)
def test_detect_breathing_exclude_nan_or_backwards_is_signal_error(exclude, match):
    with pytest.raises(SignalError, match=match):
        detect_breathing(_sine(60, 4), FS, exclude=exclude)


def test_detect_breathing_exclude_infinite_ends_allowed():
    """+-inf bounds are an interval open to that side of the recording."""
    x = _sine(120, 4.0)
    none = detect_breathing(x, FS, exclude=(np.array([-np.inf]), np.array([np.inf])))
    assert len(none.starts) == 0
    tail = detect_breathing(x, FS, exclude=(np.array([60.0]), np.array([np.inf])))
    assert len(tail.starts) > 0 and np.all(tail.starts + tail.lengths <= 60.0)
    head = detect_breathing(x, FS, exclude=(np.array([-np.inf]), np.array([60.0])))
    assert len(head.starts) > 0 and np.all(head.starts >= 60.0)


def _tiles(a: float, b: float, lengths: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Cycles tiling ``[a, b)`` with lengths repeating ``lengths`` (the last one cut)."""
    reps = int((b - a) / sum(lengths)) + 2
    ln = np.tile(np.asarray(lengths, dtype=np.float64), reps)
    st_ = a + np.concatenate([[0.0], np.cumsum(ln)[:-1]])
    keep = st_ + ln <= b + 1e-9
    return st_[keep], ln[keep]


def _cycles(pieces: list[tuple[np.ndarray, np.ndarray]]) -> Breathing:
    s = np.concatenate([p[0] for p in pieces])
    ln = np.concatenate([p[1] for p in pieces])
    order = np.argsort(s)
    s, ln = s[order], ln[order]
    return Breathing(s, ln, np.ones(len(s)), s + 0.5 * ln)


@pytest.mark.parametrize("case", ["A", "B"])
@pytest.mark.parametrize("fs", [55.0, 135.0, 140.0])
def test_selection_scores_every_wave_on_the_low_rate_frames(monkeypatch, fs, case):
    """At rates where 30 s is not a whole number of low-rate samples (55 Hz: 9.17 Hz,
    the interval wave's 2.29 Hz; 135 Hz: 9.64 Hz, 289-sample frames of 29.97 s), every
    candidate is scored on the frames that ``_assemble`` and the frame classes use
    (``frame`` low-rate samples), over a whole 8 h night. Before, the beat-interval
    wave's coverage used frames of round(30 s x its rate) samples and the regularity
    frame centres of exactly 30 s: at frame 957 of 135 Hz they were ~100 s and ~28 s
    off, so the wave that is right in a frame lost it to one that is wrong there.

    The candidates' cycles are given (``_cycles_from_wave`` patched); the signal is
    white noise, so the heartbeat "buries the breath" in every frame and the smoothed
    and interval waves compete everywhere. A: the interval wave's cycles are regular 3 s
    ones exactly over the 90 s around a frame's centre (nothing elsewhere), the smoothed
    wave's irregular (2 s / 4 s) everywhere: the interval wave must win that frame.
    B: the smoothed wave's cycles are 3 s exactly over those 90 s and 2 s / 4 s around
    them, the interval wave's 2.7 s / 3.3 s everywhere: the smoothed wave must win."""
    from sleepsignal import respiration as R
    from sleepsignal._track_kernels import _lowrate

    x = np.random.default_rng(0).normal(0.0, 100.0, int(8 * 3600 * fs)) + 2000.0
    low, fs_low, _ = _lowrate(x, fs)
    dur = len(low) / fs_low
    frame = round(R.SELECT_FRAME_S * fs_low)
    nf = -(-len(low) // frame)
    t = np.arange(0.3, dur - 1.0, 0.9)
    beats = np.cumsum(np.r_[0.3, 0.9 + 0.05 * np.sin(2 * np.pi * 0.25 * t[:-1])])
    knots = R._rsa_knots(beats)
    frames = [3, nf // 2, nf - 4]
    centres = [(f + 0.5) * frame / fs_low for f in frames]
    given_cycles: dict[str, Breathing] = {}

    def fake_cycles(wave, rate, exclude, *, fraction, lengths_s):
        return given_cycles["rsa" if rate < fs_low else "smooth"]

    monkeypatch.setattr(R, "_cycles_from_wave", fake_cycles)
    window = [_tiles(c - 45.0, c + 45.0, (3.0,)) for c in centres]
    if case == "A":  # the interval wave right only around each of the frames
        given_cycles["smooth"] = _cycles([_tiles(0.0, dur, (2.0, 4.0))])
        given_cycles["rsa"] = _cycles(window)
        right = 1
    else:  # the smoothed wave steady only around each of the frames
        edges = [0.0] + [e for c in centres for e in (c - 45.0, c + 45.0)] + [dur]
        outside = [_tiles(edges[i], edges[i + 1], (2.0, 4.0)) for i in range(0, len(edges), 2)]
        given_cycles["smooth"] = _cycles(outside + window)
        given_cycles["rsa"] = _cycles([_tiles(0.0, dur, (2.7, 3.3))])
        right = 0
    sel = R._select(low, fs_low, None, ("smooth",), knots, 0)
    assert sel.names == ["smooth", "rsa"] and sel.frame == frame
    assert sel.choice[frames].tolist() == [right] * 3
    # 4 frames (2 min) on, the other wave wins: the test can tell the frames apart
    assert sel.choice[[f + 4 for f in frames[:2]]].tolist() == [1 - right] * 2


def test_accuracy_explain_reruns_the_tracks_breathing_exactly():
    """``benchmarks/accuracy_tracks.py --explain`` re-runs the breathing selection to
    break its misses down; with the tracks' exclusions passed to ``_assemble`` too (the
    long cycles next to movements dropped) its cycles are the tracks' bit for bit. This
    simulated hour (seed 1, mixed, 3x the movements) has 715 re-run cycles without them
    and 712 in the tracks."""
    import sys

    from conftest import ROOT

    from sleepsignal.heartbeats import detect_heartbeats
    from sleepsignal.simulate import simulate_night
    from sleepsignal.tracks import session_tracks

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from accuracy_tracks import _breathing_inputs, _minute_rates, explain_misses
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    night = simulate_night(1.0, seed=1, profile="mixed", movement_rate=3.0)
    beats = detect_heartbeats(*night.session.signal("normal")).beat_times
    tracks = session_tracks(night.session, beat_times=beats)
    n_min = int(night.session.duration // 60)
    t_rate, _ = _minute_rates(*night.truth.breath_cycles(), n_min)
    low, fs_low, ex = _breathing_inputs(night, tracks)
    kind, missed, b = explain_misses(low, fs_low, ex, beats, t_rate, np.isfinite(t_rate), n_min)
    det = tracks.details.breathing
    assert len(det.starts) == 712
    for got, want in zip(b, det, strict=True):
        np.testing.assert_array_equal(got, want)
    assert np.all((kind >= 0) == missed)
