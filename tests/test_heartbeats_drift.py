"""Heartbeat fiducials on beats whose shape drifts: the time-local reference of the runs
(``_local_fiducial``) and the running template that carries the fiducial across run
breaks (``_template_fiducial``) against their slow references, and a drifting simulated
night."""

from __future__ import annotations

import numpy as np
import pytest
from naive_heartbeats import (
    naive_best_chain,
    naive_fiducial_pairs,
    naive_local_fiducial,
    naive_run_fiducial,
    naive_template_fiducial,
    score_heart_rate,
    score_intervals,
)

from sleepsignal import _heartbeat_kernels as K

FS = 140.0
HALF, SHIFT = 42, 84  # 0.3 s template half width, 0.6 s largest shift at 140 Hz


def drifting_beats(
    n_beats: int, *, seed: int = 0, noise: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Beats 0.85 s (+-3 %) apart whose side lobes grow and shrink along the record
    while the J wave (the fiducial, at the beat time) stays: the first beats' largest
    lobe is J, the last beats' the lobe 0.19 s before it."""
    rng = np.random.default_rng(seed)
    beats = 1.0 + np.cumsum(0.85 * (1 + 0.03 * rng.standard_normal(n_beats)))
    n = int((beats[-1] + 1.5) * FS)
    tt = np.arange(n) / FS
    x = noise * rng.standard_normal(n)
    u = np.linspace(0.0, 1.0, n_beats)
    for b, a in zip(beats, u, strict=True):
        for mu, amp, width in (
            (-0.19, 0.2 + 2.6 * a, 0.026),
            (-0.095, -0.46, 0.024),
            (0.0, 1.0, 0.03),
            (0.07, -0.3, 0.015),
            (0.3, 1.6 - 1.4 * a, 0.045),
        ):
            near = np.abs(tt - b - mu) < 5 * width
            x[near] += amp * np.exp(-0.5 * ((tt[near] - b - mu) / width) ** 2)
    return x, beats


def runs_on_other_lobes(beats: np.ndarray, run_len: int, seed: int = 1):
    """Raw beat times (samples) of runs of ``run_len`` beats, each run locked on the J
    wave, the lobe 0.19 s before it or the lobe 0.3 s after it (as the chain's envelope
    peaks are when the largest lobe changes), and the run starts."""
    rng = np.random.default_rng(seed)
    run_start = np.arange(0, beats.shape[0] + 1, run_len)
    if run_start[-1] != beats.shape[0]:
        run_start = np.append(run_start, beats.shape[0])
    lobe = rng.choice([-0.19, 0.0, 0.3], run_start.shape[0] - 1)
    t = beats * FS + np.repeat(lobe, np.diff(run_start)) * FS
    return t, run_start.astype(np.int64), lobe


def test_local_fiducial_matches_naive_on_drifting_runs() -> None:
    x, beats = drifting_beats(240)
    t, run_start, _ = runs_on_other_lobes(beats, 8)
    shift, quality = K._run_fiducial(x, t, run_start, HALF, HALF, 28)
    np.testing.assert_allclose(
        (shift, quality), naive_run_fiducial(x, t, run_start, HALF, HALF, 28), atol=1e-9
    )
    args = (x, t, run_start, shift, quality, HALF, SHIFT, 0.45, 120.0 * FS, 0.8)
    for min_count, min_run, max_iter in ((30, 0, 8), (0, 0, 1), (30, 8, 8)):
        got = K._local_fiducial(*args, min_count, min_run, max_iter)
        want = naive_local_fiducial(*args, min_count, min_run, max_iter)
        msg = f"{min_count} {min_run} {max_iter}"
        np.testing.assert_allclose(got[0], want[0], atol=1e-9, err_msg=msg)
        np.testing.assert_allclose(got[1], want[1], atol=1e-12, err_msg=msg)
    assert np.any(got[1] != quality)  # (30, 8, 8) above: runs of 8 beats are aligned
    # a local reference needs min_count beats, a run min_run beats: otherwise nothing moves
    for min_count, min_run in ((10_000, 0), (30, 9)):
        got = K._local_fiducial(*args, min_count, min_run, 8)
        np.testing.assert_array_equal(got[0], shift)
        np.testing.assert_array_equal(got[1], quality)


def test_local_fiducial_matches_naive_on_noise_runs() -> None:
    """Noise, empty runs, runs at the edges and polarity flips: equal to the reference."""
    rng = np.random.default_rng(7)
    for trial in range(4):
        x, beats = drifting_beats(120, seed=trial, noise=0.3)
        x[len(x) // 2 :] *= -2.0  # a posture change flips the polarity
        t, run_start, _ = runs_on_other_lobes(beats, 5, seed=trial)
        t[:3] = [2.0, 5.0, 9.0]  # windows leaving the signal are skipped
        run_start = np.insert(run_start, 2, run_start[1])  # an empty run
        shift, quality = K._run_fiducial(x, t, run_start, HALF, HALF, 28)
        quality[rng.random(quality.shape[0]) < 0.3] = 0.0  # more unmatched runs
        args = (x, t, run_start, shift, quality, HALF, SHIFT, 0.45, 30.0 * FS, 0.8, 20, 3, 8)
        got = K._local_fiducial(*args)
        want = naive_local_fiducial(*args)
        np.testing.assert_allclose(got[0], want[0], atol=1e-9, err_msg=f"trial {trial}")
        np.testing.assert_allclose(got[1], want[1], atol=1e-12, err_msg=f"trial {trial}")
        assert got[0][1] == 0.0 and got[1][1] == 0.0  # the empty run


def test_local_fiducial_without_runs_returns_empty() -> None:
    e = np.empty(0)
    got = K._local_fiducial(
        np.zeros(500), e, np.zeros(1, np.int64), e, e, 5, 10, 0.45, 1e3, 0.8, 1, 0, 8
    )
    assert got[0].shape == (0,) and got[1].shape == (0,)


def test_local_reference_follows_the_drift_onto_the_j_wave() -> None:
    """With the shape drifting, runs far from the reference run match it poorly; aligned
    to the matched runs near them, every run gets the J wave as its fiducial."""
    x, beats = drifting_beats(400)
    t, run_start, _ = runs_on_other_lobes(beats, 10)
    shift, quality = K._run_fiducial(x, t, run_start, HALF, HALF, 28)
    assert np.mean(quality >= 0.8) < 0.9  # the global reference alone loses runs
    new, new_q = K._local_fiducial(
        x, t, run_start, shift, quality, HALF, SHIFT, 0.45, 120.0 * FS, 0.8, 30, 8, 8
    )
    assert np.all(new_q >= 0.8)
    fid = (t[run_start[:-1]] + new) / FS  # fiducial of each run's first beat
    ref = int(np.argmax(np.diff(run_start)))
    lag = fid[ref] - beats[run_start[ref]]
    assert abs(lag - 0.3) < 2 / FS  # the reference run's largest lobe: 0.3 s after J
    # every run lands on that lobe; a run whose raw times sit more than half an
    # interval from it gets the lobe of the neighbouring beat (same times modulo a beat)
    j = np.clip(np.searchsorted(beats, fid - lag), 1, beats.shape[0] - 1)
    err = np.minimum(np.abs(fid - lag - beats[j - 1]), np.abs(fid - lag - beats[j]))
    # found on the neighbouring beat, the lobe is found through the interval between the
    # beats, which varies (+-3 %): up to ~40 ms off here, well inside the 0.23 s to the
    # next lobe of the same sign; the others within a few samples
    assert np.all(err < 0.05), err
    assert np.median(err) < 3 / FS, err


def _template_args(x, t, run_start, shift, timed, **kw):
    """Arguments of ``_template_fiducial`` as ``detect_heartbeats`` passes them at 140 Hz
    (0.3 s half window, shifts up to 0.6 s and 0.45 of an interval, 8 own beats, 16
    template beats within 10 s, q >= 0.7 with a margin of 0.1 over shifts >= 7 samples
    away); ``kw`` overrides."""
    p = dict(
        half=HALF,
        max_shift=SHIFT,
        shift_frac=0.45,
        n_own=8,
        n_tmpl=16,
        max_age=10.0 * FS,
        min_q=0.7,
        sep=7,
        min_margin=0.1,
    )
    p.update(kw)
    usable = p.pop("usable", np.ones(shift.shape[0], dtype=bool))
    return (x, t, run_start, shift, timed, usable, *p.values())


def test_template_fiducial_matches_naive_on_drifting_runs() -> None:
    x, beats = drifting_beats(240)
    for run_len in (3, 8):
        t, run_start, _ = runs_on_other_lobes(beats, run_len)
        shift, quality = K._run_fiducial(x, t, run_start, HALF, HALF, 28)
        timed = quality >= 0.8
        for kw in ({}, {"n_own": 2, "n_tmpl": 4}, {"max_age": 3.0 * FS}, {"min_margin": 0.0}):
            args = _template_args(x, t, run_start, shift, timed, **kw)
            got = K._template_fiducial(*args)
            want = naive_template_fiducial(*args)
            msg = f"run_len {run_len} {kw}"
            np.testing.assert_allclose(got[0], want[0], atol=1e-9, err_msg=msg)
            np.testing.assert_allclose(got[1], want[1], atol=1e-12, err_msg=msg)
            np.testing.assert_array_equal(got[2], want[2], err_msg=msg)
            assert got[2].sum() > timed.sum(), msg  # runs were carried
            np.testing.assert_array_equal(got[0][timed], shift[timed])  # timed runs stay
            assert np.all(np.isnan(got[1][timed]))


def test_template_fiducial_matches_naive_on_noise_runs() -> None:
    """Noise, empty and one-beat runs, runs at the edges and polarity flips."""
    rng = np.random.default_rng(3)
    for trial in range(4):
        x, beats = drifting_beats(150, seed=trial, noise=0.4)
        x[len(x) // 2 :] *= -1.5  # a posture change flips the polarity
        t, run_start, _ = runs_on_other_lobes(beats, 4, seed=trial)
        t[:3] = [2.0, 5.0, 9.0]  # windows leaving the signal are skipped
        run_start = np.insert(run_start, 2, run_start[1])  # an empty run
        run_start = np.insert(run_start, 5, run_start[4] + 1)  # a one-beat run
        shift = rng.uniform(-30.0, 30.0, run_start.shape[0] - 1)
        timed = rng.random(shift.shape[0]) < 0.3
        usable = rng.random(shift.shape[0]) < 0.8
        for kw in (
            {},
            {"min_q": 0.3, "min_margin": 0.0},
            {"sep": 1, "max_age": 2.0 * FS},
            {"usable": usable},
        ):
            args = _template_args(x, t, run_start, shift, timed, **kw)
            got = K._template_fiducial(*args)
            want = naive_template_fiducial(*args)
            msg = f"trial {trial} {kw}"
            np.testing.assert_allclose(got[0], want[0], atol=1e-9, err_msg=msg)
            np.testing.assert_allclose(got[1], want[1], atol=1e-12, err_msg=msg)
            np.testing.assert_array_equal(got[2], want[2], err_msg=msg)
            # the empty and the one-beat run are never aligned
            assert got[2][1] == timed[1] and got[2][4] == timed[4], msg
            assert np.isnan(got[1][1]) and np.isnan(got[1][4]), msg


def test_template_fiducial_without_runs_or_timed_beats() -> None:
    e = np.empty(0)
    got = K._template_fiducial(
        *_template_args(np.zeros(500), e, np.zeros(1, np.int64), e, np.zeros(0, bool))
    )
    assert all(g.shape == (0,) for g in got)
    x, beats = drifting_beats(60)
    t, run_start, _ = runs_on_other_lobes(beats, 5)
    shift = np.zeros(run_start.shape[0] - 1)
    none = np.zeros(shift.shape[0], bool)
    got = K._template_fiducial(*_template_args(x, t, run_start, shift, none))
    np.testing.assert_array_equal(got[0], shift)  # nothing timed: nothing to carry
    assert not got[2].any() and np.all(np.isnan(got[1]))


def test_template_carries_the_j_wave_across_run_breaks() -> None:
    """Runs of 4 beats, each locked on one of three lobes, and only the first run timed
    (on the J wave): the running template carries J to every run while the shape
    drifts, beat by beat, though the first and the last beats' largest lobes differ."""
    x, beats = drifting_beats(300)
    t, run_start, lobe = runs_on_other_lobes(beats, 4)
    shift = np.zeros(run_start.shape[0] - 1)
    shift[0] = -lobe[0] * FS  # the first run: its fiducial on J
    timed = np.zeros(shift.shape[0], bool)
    timed[0] = True
    new, q, done = K._template_fiducial(*_template_args(x, t, run_start, shift, timed))
    assert done.all() and np.all(q[1:] >= 0.7)
    fid = t + np.repeat(new, np.diff(run_start))
    err = np.abs(fid / FS - beats)
    assert np.max(err) < 0.02, np.max(err)  # every beat on J, not 0.19 s or 0.3 s away
    # the gates: nothing moves when no shift matches well enough, or all runs are too far
    for kw in ({"min_q": 1.01}, {"max_age": 0.5 * FS}, {"min_margin": 2.5}):
        got = K._template_fiducial(*_template_args(x, t, run_start, shift, timed, **kw))
        assert got[2].sum() == 1, kw
    # a run that is not usable (its beats do not match each other) is never carried;
    # the template reaches past it
    usable = np.ones(shift.shape[0], bool)
    usable[5] = False
    got = K._template_fiducial(*_template_args(x, t, run_start, shift, timed, usable=usable))
    assert not got[2][5] and got[2].sum() == shift.shape[0] - 1
    np.testing.assert_allclose(got[0][6:], new[6:], atol=2.0)
    # one timed run in the middle: the backward pass reaches the runs before it
    mid = shift.shape[0] // 2
    shift2 = np.zeros_like(shift)
    shift2[mid] = -lobe[mid] * FS
    timed2 = np.zeros_like(timed)
    timed2[mid] = True
    new2, _, done2 = K._template_fiducial(*_template_args(x, t, run_start, shift2, timed2))
    assert done2.all()
    np.testing.assert_allclose(new2, new, atol=2.0)


def test_fiducial_pairs_matches_naive() -> None:
    """Edges of the signal, a flat stretch and NaN: equal to the reference."""
    x, beats = drifting_beats(40, noise=0.2)
    x[300:500] = 0.0  # flat: windows inside it give NaN
    x[2000] = np.nan  # NaN spreads to every window that touches it
    rng = np.random.default_rng(5)
    first = np.concatenate(([3.0, 400.0, 1995.0, len(x) - 10.0], beats[:-1] * FS))
    second = np.concatenate(([120.0, 420.0, 2100.0, len(x) - 2.0], beats[1:] * FS))
    second = second + rng.uniform(-3.0, 3.0, second.shape[0])
    got = K._fiducial_pairs(x, first, second, 35, 49, 14)
    want = naive_fiducial_pairs(x, first, second, 35, 49, 14)
    np.testing.assert_allclose(got[0], want[0], atol=1e-9)
    np.testing.assert_allclose(got[1], want[1], atol=1e-12)
    assert np.all(np.isnan(got[1][[0, 1, 2, 3]]))  # edges, flat, NaN
    assert np.sum(np.isfinite(got[1][4:])) >= beats.shape[0] - 6  # the rest: clean beats


def test_fiducial_pairs_finds_the_sub_sample_offset() -> None:
    """Two copies of one beat, the second 0.4 samples later than the times say: the lag
    is the offset, refined below a sample, with correlation ~1."""
    tt = np.arange(3000) / FS

    def beat(c: float) -> np.ndarray:
        return np.exp(-(((tt - c) / 0.03) ** 2)) - 0.6 * np.exp(-(((tt - c - 0.1) / 0.04) ** 2))

    x = beat(5.0) + beat(6.0 + 0.4 / FS)
    lag, ncc = K._fiducial_pairs(x, np.array([5.0 * FS]), np.array([6.0 * FS]), 35, 49, 14)
    assert abs(lag[0] - 0.4) < 0.1 and ncc[0] > 0.99


def _chain_case(pairs: dict[tuple[int, int], float], cand: list[int]):
    """Flattened ``(lag, ncc)`` for :func:`_best_chain` with the given pair
    correlations (``(p, k): ncc``, zero lag); other pairs NaN (no edge)."""
    nc = len(cand)
    lag = np.zeros((nc, 3))
    ncc = np.full((nc, 3), np.nan)
    for (p, k), q in pairs.items():
        ncc[p, k - p - 1] = q
    return np.array(cand, dtype=np.int64), lag.ravel(), ncc.ravel(), np.full(nc, np.nan)


def test_best_chain_break_cost_keeps_a_weak_edge_over_a_break() -> None:
    """Beats 0-1-3-4 (100 samples apart) and a spurious candidate 2 that matches beat 1
    well 60 samples after it but cannot reach beat 3 (40 < 50 samples). A free break
    from 2 (score 1.2) beats the weak edge 1 -> 3 (0.6 + 0.2): the chain loses the
    interval 1 -> 3. A break cost of 0.5 keeps it."""
    cand, lag, ncc, med = _chain_case(
        {(0, 1): 0.9, (1, 2): 0.9, (1, 3): 0.5, (3, 4): 0.9}, [0, 100, 160, 200, 300]
    )
    args = (3, med, 50, 400, 0.3, 2.0)
    free = K._best_chain(cand, lag, ncc, *args, 0.0, 0.0)
    np.testing.assert_array_equal(free, [-1, 0, 1, -1, 3])  # 1 -> 2, break, 3 -> 4
    kept = K._best_chain(cand, lag, ncc, *args, 0.5, 0.0)
    np.testing.assert_array_equal(kept, [-1, 0, -2, 1, 3])
    for bc in (0.0, 0.5):
        np.testing.assert_array_equal(
            K._best_chain(cand, lag, ncc, *args, bc, 0.0),
            naive_best_chain(cand, lag.reshape(-1, 3), ncc.reshape(-1, 3), *args[1:], bc),
        )


def test_best_chain_break_cost_starts_afresh_when_cheaper() -> None:
    """Two chains apart with nothing between them: a break cost larger than the first
    chain's score starts the second afresh (score 0); the best path is the better
    chain alone, and with no cost both chains are kept."""
    cand, lag, ncc, med = _chain_case(
        {(0, 1): 0.5, (2, 3): 0.9, (3, 4): 0.9}, [0, 100, 1000, 1100, 1200]
    )
    args = (3, med, 50, 400, 0.3, 2.0)
    np.testing.assert_array_equal(K._best_chain(cand, lag, ncc, *args, 0.0, 0.0), [-1, 0, -1, 2, 3])
    np.testing.assert_array_equal(
        K._best_chain(cand, lag, ncc, *args, 0.5, 0.0), [-2, -2, -1, 2, 3]
    )


def test_best_chain_scored_per_second_prefers_beats_over_half_beats() -> None:
    """Beats 100 samples apart, each followed 50 samples later by its second lobe,
    which matches the beat before it (0.8) nearly as well as the next beat does (0.9).
    Scored per edge, the chain through every lobe collects two edges per beat
    (2 x 0.5 > 0.6) and reports half intervals; scored per 100 samples of interval
    (``unit=100``) it keeps the beats."""
    cand = list(range(0, 801, 50))
    pairs = {(i, i + 1): 0.8 for i in range(len(cand) - 1)}
    pairs.update({(i, i + 2): 0.9 for i in range(0, len(cand) - 2, 2)})
    c, lag, ncc, med = _chain_case(pairs, cand)
    args = (3, med, 40, 400, 0.3, 2.0, 0.0)
    per_edge = K._best_chain(c, lag, ncc, *args, 0.0)
    assert np.all(per_edge[1:] == np.arange(len(cand) - 1))  # every lobe
    per_time = K._best_chain(c, lag, ncc, *args, 100.0)
    np.testing.assert_array_equal(per_time[1::2], -2)  # no second lobe
    np.testing.assert_array_equal(per_time[2::2], np.arange(0, len(cand) - 2, 2))
    np.testing.assert_array_equal(
        per_time,
        naive_best_chain(c, lag.reshape(-1, 3), ncc.reshape(-1, 3), *args[1:], 100.0),
    )


def test_streak_goes_on_across_a_break_where_two_timed_runs_meet_on_one_beat() -> None:
    """Nodes 0-2 form one run, 3-5 the next (no edge into node 3). Node 3 is node 2's
    beat on the same fiducial (1 sample apart): the streak runs through the break when
    both runs are timed; not when the nodes are a beat apart, nor when a run is untimed,
    and never without the link (the old rule)."""
    from sleepsignal.heartbeats import _in_streak, _same_beat_links

    ek = np.array([1, 2, 4, 5])  # edges 0-1, 1-2 | 3-4, 4-5
    t = np.array([0.0, 100.0, 200.0, 201.0, 300.0, 400.0])
    passes = np.ones(4, dtype=bool)
    timed = np.ones(4, dtype=bool)
    link = _same_beat_links(ek, t, timed, 2.8)
    np.testing.assert_array_equal(link, [False, False, True, False])
    assert _in_streak(passes, ek, 3, link).all()  # one streak of 4
    assert not _in_streak(passes, ek, 3).any()  # two streaks of 2
    t_far = t.copy()
    t_far[3:] += 99.0  # the next run starts a beat later: a beat between the runs
    assert not _same_beat_links(ek, t_far, timed, 2.8).any()
    untimed = np.array([True, True, False, False])
    assert not _same_beat_links(ek, t, untimed, 2.8).any()
    assert not _same_beat_links(ek[:1], t, timed[:1], 2.8).any()
    assert _same_beat_links(ek[:0], t, timed[:0], 2.8).shape == (0,)


@pytest.mark.slow
def test_drifting_simulated_night_keeps_coverage_and_lobe() -> None:
    """A 3 h simulated night (built-in heart model, no real data) whose beat shape
    drifts as on the real mattress (``beat_drift=1, body_noise=0.2``), scored with the
    fiducial lag removed over 60 s (the timed point of the complex moves with the drift).

    Measured 2026-11-22 with the front end of branch hbspeed (seed 1, cardiac profile):
    coverage 45.5 %, interval MAE 5.04 ms, wrong 1.69 %, HR MAE 0.27 bpm, HR windows
    47.6 %. With the single reference run alone (before the time-local reference):
    coverage 35.6 %, MAE 4.96 ms, wrong 1.87 %, HR MAE 0.28 bpm, HR windows 35.9 %.
    Floors a little below the new values (the coverage and HR-window floors fail
    without the local reference).

    Since branch hrwin ``heart_rate`` reads the length-reliable intervals (every check
    but the fiducial one): HR windows 92.7 %, HR MAE 0.26 bpm (from the reliable
    intervals alone, as before: 47.6 %, 0.27 bpm); the interval scores are unchanged.
    The HR-window floor fails when ``heart_rate`` reads ``reliable``.

    With the running template of branch hbdrift2 (``_template_fiducial``: runs that
    match neither reference take the fiducial of the timed beats next to them):
    coverage 73.9 %, MAE 5.64 ms, wrong 2.26 %, HR MAE 0.26 bpm, HR windows 92.4 %;
    with the run breaks between timed runs bridged (``_fiducial_pairs``): coverage
    76.3 %, MAE 5.68 ms, wrong 2.10 %, HR MAE 0.23 bpm, HR windows 93.7 %; and with
    the template reaching 60 s, then 300 s, for the runs of >= 16 beats still untimed,
    and a bridged interval set by the direct alignment of its two beats: coverage 77.0
    %, MAE 5.70 ms, wrong 1.95 %, HR MAE 0.24 bpm, HR windows 93.7 %. The coverage
    floor fails without the template. Most length-reliable intervals are now timed
    (1.08x as many length-reliable as reliable, was 1.78x).

    Branch hbchain (``_best_chain`` scores edges per second of interval; runs of >= 4
    beats carried within 60 s; carry at signed cosine >= 0.65): coverage 79.0 %, MAE
    5.73 ms, wrong 2.28 %, HR MAE 0.23 bpm, HR windows 93.7 %, 1.05x as many
    length-reliable as reliable. The coverage floor (0.78) fails with the previous
    chain and carry (77.0 %).

    Branch hbdrift3 (hidden-beat cap 0.65 -> 0.75; streaks across breaks where two
    timed runs meet on one beat): coverage 87.1 %, MAE 5.76 ms, wrong 1.82 %, HR MAE
    0.18 bpm, HR windows 99.7 %, 1.04x as many length-reliable as reliable. The
    coverage floor (0.86) fails with the code before it (79.0 %).

    Branch hbdrift4 (a break between timed runs two or three intervals wide gets the
    beats the chain skipped, found by direct alignment from both sides): coverage 89.5
    %, MAE 5.82 ms, wrong 1.82 %, HR MAE 0.16 bpm, HR windows 99.7 %, 1.03x as many
    length-reliable as reliable; with the skipped beats found at 30 ms and their
    intervals each a direct alignment (the run after the gap moves): coverage 89.6 %,
    MAE 5.80 ms, wrong 1.84 %, HR MAE 0.16 bpm. The coverage floor (0.885) fails
    without it (87.1 %).

    Branch hbdrift5 (hidden-beat cap 0.75 -> 0.78; strongly matched pairs up to 1.4 x
    max_deviation, which changes nothing here: the built-in heart model has no ectopic
    beats): coverage 89.85 -> 90.8 %, MAE 5.84 -> 5.84 ms, wrong 1.81 -> 1.78 %, HR MAE
    0.16 -> 0.14 bpm, HR windows 99.7 %. The coverage floor (0.90) fails with the cap
    at 0.75 (89.85 %).
    """
    from sleepsignal.heartbeats import detect_heartbeats, heart_rate
    from sleepsignal.simulate import simulate_night

    night = simulate_night(3.0, seed=1, profile="cardiac", body_noise=0.2, beat_drift=1.0)
    x, fs = night.session.signal("normal")
    hb = detect_heartbeats(x, fs)
    b = night.truth.beat_times
    ts, tiv = night.truth.true_intervals()
    r = hb.reliable
    sc = score_intervals(
        hb.interval_starts[r], hb.intervals[r], hb.beat_times, b, np.isin(b[:-1], ts), lag_window=60
    )
    t, bpm = heart_rate(hb, duration=len(x) / fs)
    hr = score_heart_rate(t, bpm, ts, tiv, len(x) / fs)
    assert sc["coverage"] >= 0.90, sc
    assert sc["wrong"] <= 0.025, sc
    assert sc["mae_ms"] <= 6.0, sc
    assert hr["hr_coverage"] >= 0.97, hr
    assert hr["hr_mae"] <= 0.3, hr
    np.testing.assert_array_equal(hb.reliable, hb.length_reliable & hb.timed)
    # every interval joins two of the beats, bridged run breaks included
    bt = hb.beat_times
    assert np.all(np.diff(bt) >= 0)  # in time order, though runs moved onto one lobe meet
    assert np.all(np.diff(hb.interval_starts[r]) >= 0)  # the heartbeat track's times
    for v in (hb.interval_starts, hb.interval_starts + hb.intervals):
        j = np.clip(np.searchsorted(bt, v), 1, bt.shape[0] - 1)
        assert np.all(np.minimum(np.abs(bt[j] - v), np.abs(bt[j - 1] - v)) < 1e-9)
    assert hb.length_reliable.sum() <= 1.06 * hb.reliable.sum()  # measured 1.04x


def test_skipped_beats_found_from_both_sides() -> None:
    """Gaps of two and three intervals between beats of a drifting train: the missing
    beats are found at their J waves, each place from both sides as the naive pair
    alignment gives it; a gap whose middle beat is gone (noise there) is not found, nor
    one whose sides disagree (a gap that is not a whole number of intervals)."""
    from sleepsignal.heartbeats import _skipped_beats

    x, beats = drifting_beats(40, noise=0.05)
    rng = np.random.default_rng(3)
    gone = beats[31] * FS
    lo, hi = int(gone - 0.3 * FS), int(gone + 0.45 * FS)
    x[lo:hi] = 0.05 * rng.standard_normal(hi - lo)  # beat 31 erased: only noise
    ta = np.array([10, 20, 30, 35])
    tb = np.array([12, 23, 32, 37])
    k = np.array([2, 3, 2, 2])
    t = beats * FS
    t_a, t_b = t[ta], t[tb]
    t_b[3] += 0.5 * (t[37] - t[36])  # the gap is 2.5 intervals: the sides disagree
    rep, place, m_a, m_b, q_a, q_b, found = _skipped_beats(x, t_a, t_b, k, 35, 49, 14, 0.6, 2.8)
    np.testing.assert_array_equal(rep, [0, 1, 1, 2, 3])
    np.testing.assert_array_equal(place, [1, 1, 2, 1, 1])
    np.testing.assert_array_equal(found, [True, True, False, False])
    for m in (m_a, m_b):  # at the J waves, from either side, to a fraction of a sample
        assert np.all(np.abs(m[:3] - t[[11, 21, 22]]) < 0.5), m[:3] - t[[11, 21, 22]]
    assert np.all(q_a[:3] > 0.95) and np.all(q_b[:3] > 0.95)
    assert q_a[3] < 0.6 and q_b[3] < 0.6  # noise where beat 31 was
    # the places from each side, as the naive alignment gives them
    g = t_a[rep] + (t_b[rep] - t_a[rep]) * place / k[rep]
    la, qa = naive_fiducial_pairs(x, t_a[rep], g, 35, 49, 14)
    lb, qb = naive_fiducial_pairs(x, t_b[rep], g, 35, 49, 14)
    frac_a = t_a[rep] - np.floor(t_a[rep] + 0.5)  # the beats' fractions of a sample
    frac_b = t_b[rep] - np.floor(t_b[rep] + 0.5)
    np.testing.assert_allclose(m_a, np.floor(g + 0.5) + la + frac_a, atol=1e-9)
    np.testing.assert_allclose(m_b, np.floor(g + 0.5) + lb + frac_b, atol=1e-9)
    np.testing.assert_allclose(q_a, qa, atol=1e-12)
    np.testing.assert_allclose(q_b, qb, atol=1e-12)
    none = _skipped_beats(x, t_a[:0], t_b[:0], k[:0], 35, 49, 14, 0.6, 2.8)
    assert all(v.shape == (0,) for v in none)


@pytest.mark.parametrize(("seed", "floor"), [(11, 0.70), (21, 0.57)])
def test_local_template_times_sharp_noisy_nights(monkeypatch, seed: int, floor: float) -> None:
    # sharp beat shape + strong body noise (r next ~0.6): consecutive beats correlate
    # too little for the pair check, but each beat matches its neighbours' average.
    # Measured (15 min, movement_rate=0, bed_exits=0): seed 11 coverage 55.8 % -> 75.2 %,
    # seed 21 34.9 % -> 62.5 %, both 0 % wrong
    from sleepsignal import heartbeats as hb_module
    from sleepsignal.simulate import simulate_night

    night = simulate_night(0.25, seed=seed, movement_rate=0.0, bed_exits=0)
    x, fs = night.session.signal("normal")
    truth = np.asarray(night.truth.beat_times)

    def score(hb: hb_module.Heartbeats) -> dict:
        r = hb.reliable
        return score_intervals(hb.interval_starts[r], hb.intervals[r], hb.beat_times, truth)

    with_tmpl = score(hb_module.detect_heartbeats(x, fs))
    monkeypatch.setattr(hb_module, "_TEMPLATE_MIN_Q", 2.0)  # no beat passes the template
    pair_only = score(hb_module.detect_heartbeats(x, fs))
    assert with_tmpl["coverage"] >= floor
    assert with_tmpl["coverage"] >= pair_only["coverage"] + 0.15
    assert with_tmpl["wrong"] <= 0.01
