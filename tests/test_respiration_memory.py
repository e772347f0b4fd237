"""Breathing in bounded memory: the temporaries removed give the same values, and a
recording over SLICE_CORE_S is processed in overlapping slices that give the cycles of
one piece (to rounding) in memory that does not grow with the length."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sleepsignal.respiration as resp
from sleepsignal._track_kernels import _lowrate
from sleepsignal.respiration import Breathing, _breathing_from_low

FS = 140.0


@pytest.fixture(scope="module")
def cardiac_hour() -> tuple[np.ndarray, float, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """One simulated hour where the heartbeat dominates (every candidate competes, the
    beat-interval one included), its exclusions, and its true beat times."""
    from sleepsignal.simulate import simulate_night

    night = simulate_night(1.0, seed=21, profile="cardiac", sleep_onset=60.0)
    low, fs_low, _ = _lowrate(night.session.sampled_tracks["normal"].data, FS)
    mv = night.truth.movements
    exclude = (np.asarray(mv[:, 0], dtype=np.float64), np.asarray(mv[:, 1], dtype=np.float64))
    return low, fs_low, exclude, np.asarray(night.truth.beat_times, dtype=np.float64)


def _slices(monkeypatch: pytest.MonkeyPatch, core_s: float, margin_s: float) -> list[int]:
    """Shrink the slices; returns the list that records each piece's start sample."""
    starts: list[int] = []
    part = resp._breathing_part

    def spy(low, fs_low, exclude, sources, knots, s0, beats=None):  # type: ignore[no-untyped-def]
        starts.append(s0)
        return part(low, fs_low, exclude, sources, knots, s0, beats)

    monkeypatch.setattr(resp, "SLICE_CORE_S", core_s)
    monkeypatch.setattr(resp, "SLICE_MARGIN_S", margin_s)
    monkeypatch.setattr(resp, "_breathing_part", spy)
    return starts


def _assert_same_cycles(a: Breathing, b: Breathing) -> None:
    assert len(a.starts) == len(b.starts)
    np.testing.assert_allclose(b.starts, a.starts, rtol=0, atol=1e-8)
    np.testing.assert_allclose(b.lengths, a.lengths, rtol=0, atol=1e-8)
    np.testing.assert_allclose(b.peaks, a.peaks, rtol=0, atol=1e-8)
    np.testing.assert_allclose(b.amplitudes, a.amplitudes, rtol=1e-9)


def test_slices_give_the_cycles_of_one_piece(cardiac_hour, monkeypatch):
    """Spec (issue 7): a long recording is processed in pieces and gives the whole-signal
    cycles. 15-minute cores with 10 minutes of margin over one hour: 4 slices, 3 seams
    inside breathing; every cycle is there, times to 1e-8 s."""
    low, fs_low, exclude, beats = cardiac_hour
    whole = _breathing_from_low(low, fs_low, exclude, beat_times=beats)
    assert len(whole.starts) > 500
    starts = _slices(monkeypatch, 900.0, 600.0)
    sliced = _breathing_from_low(low, fs_low, exclude, beat_times=beats)
    assert starts == [0, 3000, 12000, 21000]  # the sliced path ran: 4 slices, 1 h
    _assert_same_cycles(whole, sliced)
    near_seam = np.abs(((whole.starts + 450.0) % 900.0) - 450.0) < 60.0
    assert near_seam.sum() > 40  # cycles around the seams exist, so they were compared


def test_slices_without_margin_differ(cardiac_hour, monkeypatch):
    """The margin is what makes the slices agree: without it the filters' edge transients
    and the scale's edge medians change cycles at the seams (the test above is not
    vacuous)."""
    low, fs_low, exclude, beats = cardiac_hour
    whole = _breathing_from_low(low, fs_low, exclude, beat_times=beats)
    _slices(monkeypatch, 900.0, 0.0)
    bare = _breathing_from_low(low, fs_low, exclude, beat_times=beats)
    same = len(bare.starts) == len(whole.starts) and np.allclose(
        bare.starts, whole.starts, rtol=0, atol=1e-8
    )
    assert not same


def test_a_night_is_one_piece(cardiac_hour, monkeypatch):
    """Up to SLICE_CORE_S the recording is never sliced (nights are bit for bit the
    whole-signal result)."""
    low, fs_low, exclude, beats = cardiac_hour
    starts = _slices(monkeypatch, 3600.0, 600.0)
    _breathing_from_low(low, fs_low, exclude, beat_times=beats)
    assert starts == [0]


def test_slice_starts_keep_the_frame_grid():
    assert resp._slice_unit(10.0) == 300  # 30 s frames and scale blocks, pairs, 4:1 grid
    assert resp._slice_unit(7.0) % 4 == 0
    assert resp._slice_unit(7.0) % round(30 * 7.0) == 0


def _breathing_sine(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 10.0)) / 10.0
    rate = 0.25 + 0.03 * np.sin(2 * np.pi * t / 1800.0)
    return 2000 + 40 * np.sin(2 * np.pi * np.cumsum(rate) / 10.0) + rng.standard_normal(len(t))


def _peak_mb(low: np.ndarray) -> float:
    _breathing_from_low(low[:6000], 10.0)  # compiled outside the measurement
    tracemalloc.start()
    try:
        out = _breathing_from_low(low, 10.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(out.starts) > 0.2 * len(low) / 10.0  # about 15 breaths/min found
    return peak / 1e6


def test_sliced_memory_does_not_grow_with_length(monkeypatch):
    """Spec (issue 7): memory bounded independently of length. With 15-minute cores the
    traced peak of 6 h is about that of 3 h (one slice's temporaries plus the cycles:
    measured 1.97 and 2.07 MB), while one piece grows with the length (4.0 and 7.4 MB)."""
    short, long = _breathing_sine(3 * 3600.0, 1), _breathing_sine(6 * 3600.0, 2)
    whole_short, whole_long = _peak_mb(short), _peak_mb(long)
    assert whole_long > 1.6 * whole_short  # one piece: about proportional to the length
    _slices(monkeypatch, 900.0, 600.0)
    sliced_short, sliced_long = _peak_mb(short), _peak_mb(long)
    assert sliced_long < 1.15 * sliced_short
    assert sliced_long < 0.4 * whole_long


def _coverage_per_sample(
    b: Breathing, n: int, fs_low: float, frame: int, span: int, decimate: int = 1
):
    """The per-sample coverage the run-based ``_coverage`` replaces (kept as reference);
    frame ``k`` of the grid at ``decimate`` x the wave's rate is centred on the wave's
    sample ``floor((k * frame + frame // 2) / decimate)``."""
    cov = np.zeros(n + 1)
    i0 = np.clip(np.round(b.starts * fs_low).astype(np.int64), 0, n)
    i1 = np.clip(np.round((b.starts + b.lengths) * fs_low).astype(np.int64), 0, n)
    np.add.at(cov, i0, 1.0)
    np.add.at(cov, i1, -1.0)
    c = np.concatenate([[0.0], np.cumsum(np.cumsum(cov)[:n] > 0.5)])
    nf = int(np.ceil(n * decimate / frame))
    mid = np.floor((np.arange(nf) * frame + frame // 2) / decimate).astype(np.int64)
    lo = np.clip(mid - span // 2, 0, n)
    hi = np.clip(mid + span // 2, 0, n)
    return (c[hi] - c[lo]) / span


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-5.0, 400.0), st.floats(0.01, 30.0)), min_size=0, max_size=40),
    st.integers(50, 4000),
)
def test_coverage_from_runs_equals_per_sample(cycles, n):
    """Overlapping, touching, empty-after-rounding and out-of-range cycles alike."""
    cycles = sorted(cycles)
    s = np.array([c[0] for c in cycles], dtype=np.float64)
    ln = np.array([c[1] for c in cycles], dtype=np.float64)
    b = Breathing(s, ln, np.ones(len(s)), s + 0.5 * ln)
    got = resp._coverage(b, n, 10.0, 300, 900)
    np.testing.assert_array_equal(got, _coverage_per_sample(b, n, 10.0, 300, 900))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-5.0, 400.0), st.floats(0.01, 30.0)), min_size=0, max_size=40),
    st.integers(50, 4000),
    st.sampled_from([(275, 4), (289, 4), (300, 4), (289, 1), (7, 3)]),
)
def test_coverage_on_a_decimated_wave_equals_per_sample(cycles, n, grid):
    """A wave at 1 / decimate of the frame grid's rate (the beat-interval wave: frames of
    275 or 289 low-rate samples at 55 / 135 Hz are not whole numbers of its samples)."""
    frame, d = grid
    cycles = sorted(cycles)
    s = np.array([c[0] for c in cycles], dtype=np.float64)
    ln = np.array([c[1] for c in cycles], dtype=np.float64)
    b = Breathing(s, ln, np.ones(len(s)), s + 0.5 * ln)
    got = resp._coverage(b, n, 2.5, frame, 225, d)
    np.testing.assert_array_equal(got, _coverage_per_sample(b, n, 2.5, frame, 225, d))


def test_ranges_equals_a_loop_up_to_the_last_sample():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(500)
    i0 = np.array([0, 10, 25, 25, 100, 450, 499])
    i1 = np.array([10, 26, 26, 60, 101, 500, 500])  # touching, one-sample, to the end
    want = np.array([x[a:b].max() - x[a:b].min() for a, b in zip(i0, i1, strict=True)])
    np.testing.assert_array_equal(resp._ranges(x, i0, i1), want)
    assert len(resp._ranges(x, i0[:0], i1[:0])) == 0


def test_blockwise_temporaries_give_identical_values(monkeypatch):
    """The slope sums and the scale medians taken in blocks equal one whole pass."""
    rng = np.random.default_rng(4)
    low = np.cumsum(rng.standard_normal(20_000))
    wave = np.sin(np.arange(20_000) / 7.0) * (1 + rng.random(20_000))
    dom = resp._heartbeat_dominates(low, wave, 300, 67)
    scale = resp._local_scale(wave, 10.0)
    monkeypatch.setattr(resp, "DOMINATES_BLOCK", 5)
    monkeypatch.setattr(resp, "SCALE_ROWS_BYTES", 3 * 300 * 8)
    np.testing.assert_array_equal(resp._heartbeat_dominates(low, wave, 300, 67), dom)
    np.testing.assert_array_equal(resp._local_scale(wave, 10.0), scale)
    monkeypatch.setattr(resp, "DOMINATES_BLOCK", 10**6)
    monkeypatch.setattr(resp, "SCALE_ROWS_BYTES", 1 << 40)
    np.testing.assert_array_equal(resp._heartbeat_dominates(low, wave, 300, 67), dom)
    np.testing.assert_array_equal(resp._local_scale(wave, 10.0), scale)


@pytest.fixture(scope="module")
def mixed_hour() -> tuple[np.ndarray, float, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Half an hour where the heartbeat dominates (baseline and buried frames, and 12 min
    excluded) followed by half an hour where the breath does (wide frames): the low-rate
    views joined, their exclusions and true beat times."""
    from sleepsignal.simulate import simulate_night

    lows, ex_s, ex_e, beats = [], [], [], []
    t0 = 0.0
    for seed, profile in ((21, "cardiac"), (4, "respiratory")):
        night = simulate_night(0.5, seed=seed, profile=profile, sleep_onset=60.0)  # type: ignore[arg-type]
        low, fs_low, _ = _lowrate(night.session.sampled_tracks["normal"].data, FS)
        mv = night.truth.movements
        lows.append(low - np.median(low))
        ex_s.append(mv[:, 0] + t0)
        ex_e.append(mv[:, 1] + t0)
        beats.append(night.truth.beat_times + t0)
        t0 += len(low) / fs_low
    ex_s.append(np.array([700.0]))  # a 12 min stretch away: whole frames excluded
    ex_e.append(np.array([1420.0]))
    exclude = (np.concatenate(ex_s).astype(np.float64), np.concatenate(ex_e).astype(np.float64))
    return np.concatenate(lows), fs_low, exclude, np.concatenate(beats).astype(np.float64)


def _band_passed(monkeypatch: pytest.MonkeyPatch, margin_s: float, hour) -> tuple[Breathing, dict]:
    """Breathing of ``hour`` with WAVE_MARGIN_S = ``margin_s``, and the samples the
    baseline and wide band-passes ran over."""
    low, fs_low, exclude, beats = hour
    seen = {resp.BASELINE_BAND_HZ: 0, resp.WIDE_BAND_HZ: 0}
    real = resp._breathing_wave

    def spy(x, fs, band=resp.BREATHING_BAND_HZ, centre=None, sos=None):  # type: ignore[no-untyped-def]
        if band in seen:
            seen[band] += len(x)
        return real(x, fs, band, centre, sos)

    monkeypatch.setattr(resp, "WAVE_MARGIN_S", margin_s)
    monkeypatch.setattr(resp, "_breathing_wave", spy)
    b = _breathing_from_low(low, fs_low, exclude, beat_times=beats)
    return b, seen


def test_baseline_and_wide_waves_only_where_used_give_the_whole_waves_cycles(
    mixed_hour, monkeypatch
):
    """The baseline and the wide waves computed over their own frames plus WAVE_MARGIN_S
    give the cycles of the whole-view waves (to rounding of the run's start time), with
    fewer samples band-passed; a margin too short to cover the filter and the local
    breath size moves cycles (so the equality is the margin's doing)."""
    n = len(mixed_hour[0])
    margin = resp.WAVE_MARGIN_S
    whole, seen_whole = _band_passed(monkeypatch, 1e9, mixed_hour)
    assert seen_whole[resp.BASELINE_BAND_HZ] == n and seen_whole[resp.WIDE_BAND_HZ] == n
    local, seen = _band_passed(monkeypatch, margin, mixed_hour)
    assert sum(seen.values()) < 2 * n  # the restriction took effect
    assert len(local.starts) == len(whole.starts) > 500
    np.testing.assert_allclose(local.starts, whole.starts, rtol=0, atol=1e-9)
    np.testing.assert_allclose(local.lengths, whole.lengths, rtol=0, atol=1e-9)
    np.testing.assert_allclose(local.amplitudes, whole.amplitudes, rtol=1e-12)
    short, _ = _band_passed(monkeypatch, 0.0, mixed_hour)
    assert len(short.starts) != len(whole.starts) or not np.allclose(
        short.starts, whole.starts, rtol=0, atol=1e-6
    )


@settings(deadline=None, max_examples=60)
@given(
    st.lists(
        st.tuples(st.floats(-50, 400, allow_nan=False), st.floats(0, 200, allow_nan=False)),
        max_size=8,
    ),
    st.integers(1, 400),
)
def test_frames_excluded_equals_a_dense_check(intervals, n):
    """A frame is excluded iff every point of its time span is inside some interval
    (checked on a 1/64 s grid, the intervals on multiples of 1/64 s)."""
    fs_low, frame = 2.0, 8  # 4 s frames
    s = np.array([round(a * 64) / 64 for a, _ in intervals], dtype=np.float64)
    e = s + np.array([round(b * 64) / 64 for _, b in intervals], dtype=np.float64)
    got = resp._frames_excluded((s, e) if len(s) else None, n, frame, fs_low)
    nf = -(-n // frame)
    assert len(got) == nf
    for k in range(nf):
        t = np.arange(k * frame / fs_low, min((k + 1) * frame, n) / fs_low, 1 / 64)
        inside = ((t[:, None] >= s[None, :]) & (t[:, None] < e[None, :])).any(axis=1)
        assert got[k] == bool(inside.all()), k


def test_band_cycles_for_no_frame_are_empty():
    """A wave that may win in no frame (the baseline where every other frame is
    buried, or excluded) is not computed at all: no cycles."""
    low = np.sin(2 * np.pi * 0.25 * np.arange(3000) / 10.0)
    b = resp._band_cycles(low, 10.0, 0.0, False, np.zeros(10, dtype=bool), 300, None)
    assert len(b.starts) == len(b.lengths) == len(b.amplitudes) == len(b.peaks) == 0
    b = resp._band_cycles(low, 10.0, 0.0, False, np.ones(10, dtype=bool), 300, None)
    assert len(b.starts) > 50  # the same call with frames to use finds the breaths


def _in_frames(b: Breathing, use: np.ndarray, frame: int, fs_low: float) -> tuple[np.ndarray, ...]:
    """The cycles of ``b`` centred in the ``use`` frames (starts, lengths, peaks)."""
    f = ((b.starts + 0.5 * b.lengths) * fs_low / frame).astype(np.int64)
    m = use[np.clip(f, 0, len(use) - 1)]
    return b.starts[m], b.lengths[m], b.peaks[m]


@pytest.fixture(scope="module")
def cardiac_hour_seed3() -> tuple[np.ndarray, float]:
    """The low-rate view of a simulated cardiac hour (seed 3) whose first frame's
    baseline cycles depend on the breath size's window span at the recording's edge."""
    from sleepsignal.simulate import simulate_night

    night = simulate_night(1.0, seed=3, profile="cardiac", bed_exits=0, sleep_onset=30.0)
    low, fs_low, _ = _lowrate(night.session.sampled_tracks["normal"].data, FS)
    return low, fs_low


@pytest.mark.parametrize("where", ["first", "last"])
@pytest.mark.parametrize("is_wide", [False, True])
def test_band_cycles_at_the_recording_edge_equal_the_whole_wave(
    cardiac_hour_seed3, monkeypatch, where, is_wide
):
    """Review breathfix4 (1): when only the first (or the last) frame may use a wave, its
    piece is cut by the recording's edge (at a 240 s margin, 9 of the 10 blocks of the
    breath size's window); the piece still uses the whole view's window span, so the cycles centred
    in that frame are the whole wave's (before the fix, frame 0 of the baseline had 13
    cycles against the whole wave's 12)."""
    low, fs_low = cardiac_hour_seed3
    frame = max(1, round(resp.SELECT_FRAME_S * fs_low))
    nf = -(-len(low) // frame)
    use = np.zeros(nf, dtype=bool)
    use[0 if where == "first" else nf - 1] = True
    centre = float(np.median(low))
    # a margin shorter than the breath size's window: only then does the recording's
    # edge cut the window (at the derived 300 s a one-sided piece still holds all of it;
    # a review found the test passing without the fix at that margin)
    monkeypatch.setattr(resp, "WAVE_MARGIN_S", 240.0)
    piece = resp._band_cycles(low, fs_low, centre, is_wide, use, frame, None)
    monkeypatch.setattr(resp, "WAVE_MARGIN_S", 1e9)
    whole = resp._band_cycles(low, fs_low, centre, is_wide, use, frame, None)
    g, w = _in_frames(piece, use, frame, fs_low), _in_frames(whole, use, frame, fs_low)
    assert len(w[0]) >= 10  # breaths in that frame, so they were compared
    assert len(g[0]) == len(w[0])
    for a, b in zip(g, w, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_a_short_wide_stretch_at_the_start_gives_the_whole_waves_cycles(monkeypatch):
    """Review breathfix4 (1), end to end: 30 s of a mixed night (seed 100, its frame 8)
    before a 30 min cardiac night (seed 0), without beats: only the first frame uses its
    wave, and :func:`detect_breathing` gives the cycles of the whole-view waves (before
    the fix, one more cycle at 28.8 s)."""
    from sleepsignal.simulate import simulate_night

    card = simulate_night(0.5, seed=0, profile="cardiac", bed_exits=0, sleep_onset=30.0)
    xc = card.session.sampled_tracks["normal"].data.astype(np.float64)
    mix = simulate_night(0.2, seed=100, profile="mixed", bed_exits=0, sleep_onset=30.0)
    xm = mix.session.sampled_tracks["normal"].data.astype(np.float64)
    seg = xm[int(8 * 30 * FS) : int(9 * 30 * FS)]
    x = np.concatenate([seg - np.median(seg) + np.median(xc), xc])
    monkeypatch.setattr(resp, "WAVE_MARGIN_S", 240.0)  # see the test above
    local = resp.detect_breathing(x, FS)
    monkeypatch.setattr(resp, "WAVE_MARGIN_S", 1e9)
    whole = resp.detect_breathing(x, FS)
    assert len(whole.starts) > 400
    _assert_same_cycles(whole, local)


@pytest.mark.parametrize("band", [resp.BASELINE_BAND_HZ, resp.WIDE_BAND_HZ])
def test_wave_margin_covers_the_transient_the_breath_size_and_a_cycle(cardiac_hour_seed3, band):
    """Review breathfix4 (2): WAVE_MARGIN_S covers, from a cycle to its piece's edge, the
    band-pass's edge transient (measured here: the first distance from a piece's edge,
    in 10 s steps, beyond which the piece's wave is the whole wave's to 1e-11 of its
    rms), the breath size's running median reaching SCALE_WINDOW_S / 2 of whole blocks
    before a block, and a cycle's reach past its frame (half the longest baseline
    cycle) rounded up to a whole block."""
    low, fs_low = cardiac_hour_seed3
    centre = float(np.median(low))
    whole = resp._breathing_wave(low, fs_low, band, centre)
    a, b = round(1200 * fs_low), round(2400 * fs_low)  # a 20 min piece inside the hour
    diff = np.abs(resp._breathing_wave(low[a:b], fs_low, band, centre) - whole[a:b])
    diff /= np.sqrt(np.mean(whole**2))

    def worst_beyond(t: float) -> float:
        k = round(t * fs_low)
        return float(diff[k : len(diff) - k].max())

    transient = next(t for t in np.arange(10.0, 300.0, 10.0) if worst_beyond(t) < 1e-11)
    assert worst_beyond(transient / 2) > 1e-9  # the edge does move the wave nearby
    assert transient <= resp.WAVE_TRANSIENT_PERIODS / band[0]
    block = resp.SCALE_BLOCK_S
    back = block * (round(resp.SCALE_WINDOW_S / block) // 2)  # median_filter's reach back
    reach = block * np.ceil(resp.BASELINE_CYCLE_S[1] / 2 / block)
    assert transient + back + reach <= resp.WAVE_MARGIN_S
