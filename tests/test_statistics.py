"""Night statistics, sleep score and Jawbone quality: hand-computed nights, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_statistics import naive_night

from sleepsignal.errors import SignalError
from sleepsignal.hypnogram import STAGES, Hypnogram
from sleepsignal.session import Session, TimeValueTrack
from sleepsignal.statistics import (
    SLEEP_SCORE_VERSION,
    jawbone_quality,
    night_statistics,
    sleep_score,
)

W, L, D, R, A, N = range(6)
T0 = 1_700_000_000.0


def hyp(stages: list[int], **kw: object) -> Hypnogram:
    return Hypnogram(np.array(stages, dtype=np.int64), start=T0, **kw)  # type: ignore[arg-type]


def session_with(tracks: list[TimeValueTrack], duration: float = 3600.0) -> Session:
    md = {"start_timestamp": T0, "end_timestamp": T0 + duration, "timezone": "UTC"}
    return Session(md, {}, {t.name: t for t in tracks})


# -- night_statistics: hand-computed nights ------------------------------------------


def test_hand_computed_night() -> None:
    # away, 2 wake, 4 light, 2 deep, 5 wake (2.5 min: an awakening), 1 away (exit),
    # 1 wake, 2 rem, 1 wake, 1 no_signal, away
    s = night_statistics(hyp([A, W, W, L, L, L, L, D, D, W, W, W, W, W, A, W, R, R, W, N, A]))
    assert s.bed_start == T0 + 30 and s.bed_end == T0 + 19 * 30  # the no_signal epoch is outside
    assert s.time_in_bed == 18 * 30
    assert s.total_sleep_time == 8 * 30
    assert s.sleep_onset == T0 + 3 * 30 and s.final_awakening == T0 + 18 * 30
    assert s.sleep_period == 15 * 30
    assert s.sleep_onset_latency == 60.0
    assert s.wake_after_sleep_onset == 7 * 30  # 5 wake + 1 away + 1 wake
    assert s.awakenings == 1  # the 6-epoch wake+away bout; the 1-epoch bout is too short
    assert s.sleep_efficiency == pytest.approx(8 / 18)
    assert s.bed_exits == 1 and s.away_time == 30.0
    assert s.stage_durations == {
        "wake": 270.0,
        "light": 120.0,
        "deep": 60.0,
        "rem": 60.0,
        "away": 30.0,
        "no_signal": 0.0,
    }
    assert s.stage_percentages == pytest.approx({"light": 0.5, "deep": 0.25, "rem": 0.25})
    assert s.stage_minutes["wake"] == 4.5 and s.stage_minutes["light"] == 2.0
    assert s.stage_latencies == {"light": 0.0, "deep": 120.0, "rem": 390.0}


def test_awakening_threshold_is_a_parameter() -> None:
    h = hyp([L, W, W, L, W, W, W, W, L])  # bouts of 60 s and 120 s
    assert night_statistics(h).awakenings == 1
    assert night_statistics(h, min_awakening=30.0).awakenings == 2
    assert night_statistics(h, min_awakening=150.0).awakenings == 0
    with pytest.raises(SignalError, match="min_awakening"):
        night_statistics(h, min_awakening=0)


def test_all_wake_night_has_no_latency_and_no_efficiency() -> None:
    s = night_statistics(hyp([W] * 20))
    assert s.total_sleep_time == 0.0 and s.time_in_bed == 600.0
    assert s.sleep_onset_latency is None and s.sleep_efficiency is None
    assert s.sleep_onset is None and s.final_awakening is None and s.sleep_period == 0.0
    assert s.stage_percentages == {} and s.stage_latencies == {}
    assert s.awakenings == 0 and s.wake_after_sleep_onset == 0.0
    assert sleep_score(s).value == 0 and jawbone_quality(s) == 0


def test_never_in_bed_and_empty_hypnogram() -> None:
    for stages in ([A, A, N], []):
        s = night_statistics(hyp(stages))
        assert s.bed_start is None and s.time_in_bed == 0.0
        assert sum(s.stage_durations.values()) == 0.0
        assert s.sleep_efficiency is None


def test_restless_time_counts_flagged_sleep_epochs() -> None:
    s = night_statistics(hyp([W, L, L, D, W], restless=[True, True, False, True, True]))
    assert s.restless_time == 60.0  # flags on wake epochs are dropped by the Hypnogram


# -- tracks --------------------------------------------------------------------------


def test_heart_rate_respiration_activity_snoring_from_tracks() -> None:
    stages = [W] * 4 + [L] * 100 + [W] * 16  # onset at 120 s, final awakening at 3120 s
    hr = TimeValueTrack("heart_rate", [30.0, 60.0, 90.0, 3000.0], np.array([50, 60, 0, 70], "f4"))
    resp = TimeValueTrack(
        "respiration_cycles", [10.0, 200.0, 204.0, 3300.0], np.array([2, 4, 5, 9], "f4")
    )
    acti = TimeValueTrack("actigram", [60.0, 120.0, 180.0, 3120.0], np.array([7, 1, 2, 9], "f4"))
    snore = TimeValueTrack("snoring_events", [500.0, 900.0], np.array([3.5, 2.5], "f4"))
    s = night_statistics(hyp(stages), session_with([hr, resp, acti, snore]))
    assert s.resting_heart_rate == 60.0  # 0 bpm is not a reading
    assert s.average_heart_rate == 60.0
    assert s.heart_rate_coverage == pytest.approx(1 / 100)  # one value (3000 s) inside sleep
    assert s.average_respiration_rate == pytest.approx(60 / 4.5)  # cycles in sleep epochs only
    # epochs starting at 120 and 180 s are inside [120, 3120): 3 movements in 50 min
    assert s.activity_index == pytest.approx(3 / (3000 / 3600))
    assert s.snoring_time == 6.0


def test_tracks_missing_give_none() -> None:
    s = night_statistics(hyp([W, L, L, W]), session_with([]))
    assert s.resting_heart_rate is None and s.average_respiration_rate is None
    assert s.activity_index is None and s.snoring_time is None and s.hrv == {}


def test_hypnogram_starting_after_session_uses_relative_times() -> None:
    # hypnogram starts 600 s after the session: track times are relative to the session
    h = Hypnogram(np.array([L] * 10), start=T0 + 600)
    hr = TimeValueTrack("heart_rate", [600.0 + 30 * i for i in range(10)], np.full(10, 55, "f4"))
    s = night_statistics(h, session_with([hr]))
    assert s.heart_rate_coverage == 1.0


def test_injected_values_win() -> None:
    h = hyp([L] * 10)
    s = night_statistics(h, hrv={"all_night_HRV_index": 0.05}, respiration_rate=13.0)
    assert s.hrv == {"all_night_HRV_index": 0.05}
    assert s.average_respiration_rate == 13.0
    with pytest.raises(SignalError, match="respiration_rate"):
        night_statistics(h, respiration_rate=math.inf)
    with pytest.raises(SignalError, match="respiration_rate"):
        night_statistics(h, respiration_rate=-2.0)
    # NaN from upstream means "not computable": unknown, not an error
    unknown = night_statistics(h, hrv={"all_night_HRV_index": math.nan}, respiration_rate=math.nan)
    assert unknown.average_respiration_rate is None and unknown.hrv == {}
    with pytest.raises(SignalError, match="hrv"):
        night_statistics(h, hrv={"all_night_HRV_index": -1.0})


# -- property tests against the naive reference --------------------------------------

stage_lists = st.lists(st.integers(0, 5), min_size=0, max_size=200)


@given(stage_lists, st.sampled_from([30.0, 60.0, 120.0, 300.0]))
def test_matches_naive_reference(stages: list[int], min_awakening: float) -> None:
    s = night_statistics(hyp(stages), min_awakening=min_awakening)
    ref = naive_night(stages, min_awakening=min_awakening)
    assert s.time_in_bed == ref["time_in_bed"]
    assert s.total_sleep_time == ref["total_sleep_time"]
    assert s.sleep_onset_latency == ref["sleep_onset_latency"]
    assert s.wake_after_sleep_onset == ref["wake_after_sleep_onset"]
    assert s.awakenings == ref["awakenings"]
    assert s.bed_exits == ref["bed_exits"]
    if ref["sleep_efficiency"] is None:
        assert s.sleep_efficiency is None
    else:
        assert s.sleep_efficiency == pytest.approx(ref["sleep_efficiency"])


@given(stage_lists)
def test_stage_minutes_add_up_to_time_in_bed(stages: list[int]) -> None:
    s = night_statistics(hyp(stages))
    assert sum(s.stage_durations.values()) == s.time_in_bed
    assert set(s.stage_durations) == set(STAGES)
    if s.total_sleep_time:
        assert sum(s.stage_percentages.values()) == pytest.approx(1.0)
        assert s.sleep_efficiency is not None and 0 < s.sleep_efficiency <= 1
        assert s.sleep_period >= s.total_sleep_time
    else:
        assert s.sleep_onset_latency is None and s.sleep_efficiency is None


@given(stage_lists)
def test_scores_are_bounded(stages: list[int]) -> None:
    s = night_statistics(hyp(stages))
    score = sleep_score(s)
    assert 0 <= score.value <= 100
    for k, v in score.items.items():
        assert 0 <= v <= score.maximum[k]
    assert 0 <= jawbone_quality(s) <= 100


# -- sleep score ---------------------------------------------------------------------


def test_sleep_score_perfect_and_items() -> None:
    # 8 h of sleep, 20 % deep + 20 % rem, 5 min latency, no awakenings
    stages = [W] * 10 + ([L] * 576 + [D] * 192 + [R] * 192)
    s = night_statistics(hyp(stages))
    score = sleep_score(s)
    assert score.version == SLEEP_SCORE_VERSION
    assert "snoring" not in score.items  # no snoring track: the item is left out
    assert score.items == {
        "amount_of_sleep": 35.0,
        "sleep_efficiency": 20.0,
        "deep_rem_share": 15.0,
        "sleep_latency": 10.0,
        "awakenings": 10.0,
        "bed_exits": 5.0,
    }
    assert score.value == 100


def test_sleep_score_half_items() -> None:
    # 4 h sleep (half of 8 h target) -> 17.5 of 35; latency 37.5 min -> 5 of 10
    stages = [W] * 75 + [L] * 480
    s = night_statistics(hyp(stages))
    score = sleep_score(s)
    assert score.items["amount_of_sleep"] == pytest.approx(17.5)
    assert score.items["sleep_latency"] == pytest.approx(5.0)
    assert score.items["deep_rem_share"] == 0.0
    eff = 480 / 555  # 0.8649 -> (0.8649 - 0.5) / 0.4 of 20 points
    assert score.items["sleep_efficiency"] == pytest.approx(20 * (eff - 0.5) / 0.4, abs=1e-6)
    assert score.value == round(sum(score.items.values()) / 95 * 100)
    assert sleep_score(s, sleep_time_target=4 * 3600).items["amount_of_sleep"] == 35.0
    with pytest.raises(SignalError, match="sleep_time_target"):
        sleep_score(s, sleep_time_target=0)


def test_jawbone_quality_formula() -> None:
    # E = 1, deep share 0.1 -> D = 0.5, TST 3.5 h -> T = 0.5: 100 * (0.5 + 0.15 + 0.1) = 75
    stages = [L] * 378 + [D] * 42
    assert jawbone_quality(night_statistics(hyp(stages))) == 75


# -- real data -----------------------------------------------------------------------


@pytest.mark.realdata
def test_hmc_hypnograms_match_the_published_distribution() -> None:
    """151 expert-scored AASM nights: our statistics against the folder's own numbers.

    The README of ``hmc-hypnograms`` gives medians computed with YASA-style definitions
    (TIB = whole recording, SOL from recording start, awakenings = wake bouts >= 2 min in
    the sleep period). The nights have no away epochs and start in bed, so our
    definitions coincide: every night must agree with the naive reference exactly and
    the medians must be the published ones.
    """
    from conftest import require_shared

    pd = pytest.importorskip("pandas")
    path = require_shared("hmc-hypnograms", "hmc_hypnograms.csv.gz")
    frame = pd.read_csv(path)
    code = {"W": W, "N1": L, "N2": L, "N3": D, "R": R}
    tst, waso, se, sol, awk = [], [], [], [], []
    for _, g in frame.groupby("patient"):
        stages = [code[x] for x in g.stage]
        s = night_statistics(hyp(stages))
        ref = naive_night(stages)
        assert s.awakenings == ref["awakenings"]
        assert s.wake_after_sleep_onset == ref["wake_after_sleep_onset"]
        assert sum(s.stage_durations.values()) == s.time_in_bed
        tst.append(s.total_sleep_time / 60)
        waso.append(s.wake_after_sleep_onset / 60)
        assert s.time_in_bed == len(stages) * 30  # every epoch is in bed
        se.append(100 * s.sleep_efficiency)
        sol.append(s.sleep_onset_latency / 60)
        awk.append(s.awakenings)
    assert len(tst) == 151
    assert np.median(tst) == 387.0
    assert np.median(waso) == 40.5
    assert round(float(np.median(se)), 1) == 87.7
    assert np.median(sol) == 6.5
    assert np.median(awk) == 4


# -- against the simulator's truth ------------------------------------------------------


def test_statistics_from_simulated_truth() -> None:
    """Tracks made from a simulated night's exact truth give the truth's statistics."""
    from sleepsignal.simulate import simulate_night

    night = simulate_night(3, seed=3, bed_exits=2)
    truth = night.truth
    start = night.session.start_timestamp
    h = Hypnogram(np.asarray(truth.stages, dtype=np.int64), start=start, timezone="UTC")
    beats = np.asarray(truth.beat_times)
    iv = np.diff(beats)
    ok = iv < 2.0  # no beats while away: the long "interval" over an exit is a gap
    breaths = np.asarray(truth.breath_starts)
    cycles = np.diff(breaths)
    snoring = np.asarray(truth.snoring).reshape(-1, 2)
    tracks = [
        TimeValueTrack("heartbeat", beats[:-1][ok], iv[ok].astype(np.float32)),
        TimeValueTrack(
            "respiration_cycles", breaths[:-1][cycles < 20], cycles[cycles < 20].astype(np.float32)
        ),
        TimeValueTrack(
            "snoring_events", snoring[:, 0], (snoring[:, 1] - snoring[:, 0]).astype(np.float32)
        ),
    ]
    session = night.session.with_tracks(tracks)
    s = night_statistics(h, session)
    away = np.asarray(truth.away).reshape(-1, 2)
    assert s.bed_exits == len(away) == 2
    # away epochs are the truth's exits on the 30 s grid: within one epoch per edge
    assert abs(s.away_time - float(np.sum(away[:, 1] - away[:, 0]))) <= 2 * 30 * len(away)
    assert s.snoring_time == pytest.approx(float(np.sum(snoring[:, 1] - snoring[:, 0])), rel=1e-6)
    # all-night RMSSD: successive true intervals inside the sleep period, computed directly
    onset, final = s.sleep_onset - start, s.final_awakening - start
    inside = (beats[:-1] >= onset) & (beats[1:] <= final) & ok
    x = iv.astype(np.float32).astype(np.float64)
    pairs = inside[:-1] & inside[1:]
    direct = float(np.sqrt(np.mean(np.diff(x)[pairs] ** 2)))
    assert s.hrv["all_night_HRV_index"] == pytest.approx(direct, rel=1e-6)
    assert 60 / 8 < s.average_respiration_rate < 60 / 2


@pytest.mark.parametrize(
    "module",
    [
        "sleepsignal.statistics",
        "sleepsignal.records.ocariot",
        "sleepsignal.records.impilo",
        "sleepsignal.records.jawbone",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_hrv_span_search_equals_the_mask_of_the_night() -> None:
    # _best_span finds a span's intervals by binary search when they do not overlap;
    # the RMSSD and pair count must be exactly those of masking the whole night
    from sleepsignal import hrv

    rng = np.random.default_rng(7)
    iv = rng.uniform(0.6, 1.2, 4000)
    gaps = np.where(rng.random(4000) < 0.05, rng.uniform(0.5, 20.0, 4000), 0.0)
    st = np.concatenate([[0.0], np.cumsum(iv + gaps)[:-1]])
    ends = st + iv
    assert np.all(np.diff(ends) >= 0)
    for lo in np.arange(0.0, st[-1], 37.0):
        for hi in (lo + 60.0, lo + hrv.HRV_SPAN):
            assert hrv._span_rmssd(iv, st, lo, hi, ends) == pytest.approx(
                hrv._span_rmssd(iv, st, lo, hi), abs=0, rel=0, nan_ok=True
            )
    # overlapping intervals (ends not monotonic) take the mask path: the evening index
    # is still the span with most pairs, searched span by span with the mask
    iv2 = iv.copy()
    iv2[::50] += 5.0
    assert np.any(np.diff(st + iv2) < 0)
    third = float(st[-1]) / 3
    best_n, best = -1, math.nan
    for s0 in np.arange(0.0, third - hrv.HRV_SPAN + 1e-9, 60.0):
        v, n = hrv._span_rmssd(iv2, st, s0, s0 + hrv.HRV_SPAN)
        if math.isfinite(v) and n > best_n:
            best_n, best = n, v
    got = hrv.night_hrv_indices(st, iv2, start=0.0, end=float(st[-1]))
    assert got["evening_HRV_index"] == best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hrv_best_span_from_pair_counts_equals_span_by_span(seed: int) -> None:
    """_best_span ranks the spans by pair counts from one cumulative count and computes
    only the winner's RMSSD: the value must be exactly that of computing every span's
    RMSSD and pair count and keeping the first with the most pairs (ties: many spans
    hold the same count on a night of long gaps)."""
    from sleepsignal import hrv

    rng = np.random.default_rng(seed)
    n = 6000
    iv = rng.uniform(0.6, 1.2, n)
    gaps = np.where(rng.random(n) < 0.02 * (seed + 1), rng.uniform(0.5, 400.0, n), 0.0)
    st = np.concatenate([[0.0], np.cumsum(iv + gaps)[:-1]])
    ends = st + iv
    assert np.all(np.diff(ends) >= 0)
    last = float(ends[-1])
    # spans past the last interval (a night outlasting its intervals: the fuzz merge's
    # IndexError) with varied intervals, so a wrong span is a wrong value, not RMSSD 0
    for lo, hi in (
        (0.0, float(st[-1]) / 3),
        (100.5, float(st[-1])),
        (0.0, 800.0),
        (last - 3000.0, last + 5000.0),
        (last - 950.0, last + 2000.0),
        (last + 10.0, last + 4000.0),
    ):
        best_n, best = -1, math.nan
        s0 = lo
        while s0 + hrv.HRV_SPAN <= hi + 1e-9:
            v, k = hrv._span_rmssd(iv, st, s0, s0 + hrv.HRV_SPAN, ends)
            if math.isfinite(v) and k > best_n:
                best_n, best = k, v
            s0 += 60.0
        got = hrv._best_span(iv, st, lo, hi)
        assert got == pytest.approx(best, abs=0, rel=0, nan_ok=True)
