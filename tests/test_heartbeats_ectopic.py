"""Heartbeats around PVC-shaped ectopic beats (premature, a wide complex of another
shape, a full compensatory pause): no reliable interval may span a true beat. An
interval that spans the ectopic beat is two beats counted as one; HRV and heart rate
from reliable intervals would take it without a sign (N-N intervals exclude ectopics)."""

from __future__ import annotations

import numpy as np
import pytest
from sim_ectopic import normal_rr, pvc_night, spanning

from sleepsignal.heartbeats import detect_heartbeats


def test_spanning_flags_an_interval_over_a_beat_and_no_other() -> None:
    beats = np.cumsum(normal_rr(0.05, 3))
    starts = beats[5:9]
    real = beats[6:10] - starts
    over = beats[7:11] - starts  # each spans one beat
    assert not spanning(starts, real, beats).any()
    assert spanning(starts, over, beats).all()


@pytest.mark.parametrize("lag", [0.0, 0.1])
def test_spanning_flags_an_interval_over_an_interpolated_beat(lag: float) -> None:
    # interpolated beats at 35 % of a normal interval, no pause: the interval over one
    # is as long as a normal interval (a length match cannot see it)
    normal = np.cumsum(normal_rr(0.05, 4))
    extra = normal[10:50:8] + 0.35 * (normal[11:51:8] - normal[10:50:8])
    beats = np.sort(np.concatenate([normal, extra]))
    # every true interval, and the normal-length ones over the extra beats, detected
    # ``lag`` s late (the detector marks a point after the beat's onset)
    true_iv = np.diff(beats)
    over_iv = normal[11:51:8] - normal[10:50:8]
    starts = np.concatenate([beats[:-1], normal[10:50:8]]) + lag
    iv = np.concatenate([true_iv, over_iv])
    want = np.concatenate([np.zeros(len(true_iv), bool), np.ones(len(over_iv), bool)])
    assert np.array_equal(spanning(starts, iv, beats), want)
    # the lag given explicitly gives the same; a wrong one of half an interval does not
    assert np.array_equal(spanning(starts, iv, beats, lag=lag), want)
    assert not np.array_equal(spanning(starts, iv, beats, lag=lag + 0.45), want)


def test_spanning_follows_a_drifting_lag_with_a_lag_window() -> None:
    # the detector's point in the complex moves from the beat to 0.38 s after it
    # (about half of the shortest intervals) 1000 s into the night, its times jitter by
    # 20 ms: with the night-wide median lag the two ends of many intervals of one part
    # map to different sides, with a 60 s window only a few where the local lag itself
    # sits at half an interval (seed 1: 172 and 1 of 2983; 1 of 2982 missed of
    # those that span one)
    rng = np.random.default_rng(1)
    beats = np.cumsum(normal_rr(0.7, 5, mean=0.8))
    beats = beats[beats < 2400]
    t = beats + np.where(beats > 1000, 0.38, 0.0) + rng.normal(0.0, 0.02, len(beats))
    assert spanning(t[:-1], np.diff(t), beats).sum() > 100
    assert spanning(t[:-1], np.diff(t), beats, lag_window=60.0).sum() <= 3
    over = spanning(t[:-2], t[2:] - t[:-2], beats, lag_window=60.0)  # each spans one
    assert over.sum() >= len(over) - 3


def test_pvc_night_has_premature_wide_beats_and_compensatory_pauses() -> None:
    night = pvc_night(0.1, 0, 0.04)
    assert len(night.ectopic) >= 8
    k = np.searchsorted(night.beats, night.ectopic)
    before = night.ectopic - night.beats[k - 1]
    after = night.beats[k + 1] - night.ectopic
    # premature (60-75 % of the normal interval) and a full compensatory pause
    assert np.all(before / ((before + after) / 2) < 0.8)
    assert np.all(after > before)
    # the N-N interval around each ectopic beat is there to be (wrongly) reported
    assert spanning(night.beats[k - 1], night.beats[k + 1] - night.beats[k - 1], night.beats).all()


@pytest.mark.parametrize(
    ("profile", "rate", "mean_rr"),
    [("cardiac", 0.03, 0.95), ("mixed", 0.05, 0.65), ("respiratory", 0.01, 0.8)],
)
def test_no_reliable_interval_spans_an_ectopic_beat(
    profile: str, rate: float, mean_rr: float
) -> None:
    night = pvc_night(0.5, 7, rate, profile=profile, mean_rr=mean_rr)
    hb = detect_heartbeats(night.x, night.fs)
    for m in (hb.reliable, hb.length_reliable):
        over = spanning(hb.interval_starts[m], hb.intervals[m], night.beats)
        assert not over.any(), hb.intervals[m][over]
    # and the detector still reports most of the night (not silent around the ectopics)
    assert hb.reliable.sum() > 0.8 * (len(night.beats) - 3 * len(night.ectopic))


@pytest.mark.xfail(
    strict=True,
    reason="interpolated premature beats (no compensatory pause, at 30-45 % of the normal "
    "interval): the interval over the extra beat is as long as a normal one, so the "
    "deviation check cannot see it, and the hidden-beat check (30-70 %, correlation >= "
    "min(0.78, ncc - 0.1)) misses it where the early complex overlaps the tail of the one "
    "before. On this night 23 of 53 (normal shape) and 52 of 53 (wide) are spanned by a "
    "reliable interval; 40-67 (normal) and 67-86 (wide) per 100 over 3 one-hour nights at "
    "1-5 % and RR 0.95 / 0.65 (python benchmarks/accuracy_heartbeats_ectopic.py; the "
    "length-matching metric before hbectopic2 said 0-14). An interval's inner power over "
    "3x (2x) its local median (--inner-power 3 2) leaves 25-47 (10-21) per 100 but drops "
    "0.5-0.7 % (2.5-2.7 %) of the reliable intervals of nights without ectopic beats, "
    "drifting ones 0.6-1.1 % (3.9-5.5 %): the drifting "
    "nights' median coverage of issue 3 (27 li2024 nights) falls from 85.19 % to 84.74 % "
    "(81.99 %) even without the streaks it would break, below the 85 % target",
)
@pytest.mark.parametrize("stretch", [1.0, 2.0])
def test_no_reliable_interval_spans_an_interpolated_premature_beat(stretch: float) -> None:
    night = pvc_night(0.5, 7, 0.03, stretch=stretch, pause=0.0, at=(0.3, 0.45))
    hb = detect_heartbeats(night.x, night.fs)
    r = hb.reliable
    assert r.sum() > 0.8 * (len(night.beats) - 3 * len(night.ectopic))
    over = spanning(hb.interval_starts[r], hb.intervals[r], night.beats)
    assert not over.any(), hb.intervals[r][over]
