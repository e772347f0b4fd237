"""session_tracks: the one entry point, on short simulated nights and on bad input."""

from __future__ import annotations

import numpy as np
import pytest
from naive_tracks import synthetic_bcg

from sleepsignal.errors import SignalError, SleepSignalWarning
from sleepsignal.session import Session
from sleepsignal.tracks import SessionTracks, session_tracks

START = 1_700_000_000.0


def _session(s, noise=True) -> Session:
    return Session.from_array(
        s.signal,
        s.fs,
        start=START,
        timezone="UTC",
        noise=s.noise if noise else None,
        noise_fs=10.0 if noise else None,
    )


@pytest.fixture(scope="module")
def night():
    from sleepsignal.simulate import simulate_night

    return simulate_night(
        0.4, seed=4, bed_exits=1, sleep_onset=60.0, mains_hz=60.0, snoring_rate=6.0
    )


def test_session_tracks_names_types_and_list(night):
    r = session_tracks(night.session)
    assert isinstance(r, SessionTracks)
    names = [t.name for t in r.as_list()]
    assert names == [
        "respiration_cycles",
        "respiration_cycle_amplitudes",
        "actigram",
        "presence",
        "sensor_status",
        "snoring_events",
    ]
    assert r.respiration_cycles.values.dtype == np.float32
    assert r.actigram.values.dtype == np.float32
    assert r.presence.values.dtype == np.uint8
    assert r.sensor_status.values.dtype == np.uint8
    assert set(r.presence.values.tolist()) <= {80, 65, 78}
    assert set(r.sensor_status.values.tolist()) <= {1, 2, 3}
    assert r.presence.values[-1] == 78 and r.presence.times[-1] == pytest.approx(
        night.session.duration
    )
    # the tracks drop straight into the session
    s2 = night.session.with_tracks(r.as_list())
    assert "respiration_cycles" in s2.time_value_tracks


def test_session_tracks_follow_the_truth(night):
    r = session_tracks(night.session)
    truth = night.truth
    # cycles: about as many as the truth has where the sleeper is still and in bed
    ts, _ = truth.breath_cycles()
    assert abs(len(r.respiration_cycles) - len(ts)) < 0.2 * len(ts)
    # the bed exit is found
    ((a, b),) = truth.away
    d = r.details.presence
    t = np.arange(int(night.session.duration)) + 0.5
    away_pred = d.mask(t, 65)
    away_true = (t > a) & (t < b)
    assert np.mean(away_pred == away_true) > 0.98
    # nothing while away: no cycles, no actigram epochs
    cyc = r.respiration_cycles.times
    assert not np.any((cyc > a + 10) & (cyc < b - 10))
    ep = r.actigram.times
    assert not np.any((ep > a + 60) & (ep + 60 < b))
    # hum at 60 Hz was flagged as such
    st = r.details.sensor_status
    if len(truth.mains):
        assert 60.0 in st.mains_hz.tolist()


def test_session_tracks_without_noise_track():
    s = synthetic_bcg(300, seed=30)
    r = session_tracks(_session(s, noise=False))
    assert r.snoring_events is None
    assert any("no noise track" in n for n in r.notes)
    assert [t.name for t in r.as_list()][-1] == "sensor_status"
    assert len(r.respiration_cycles) > 50


def test_session_tracks_bad_noise_values_note_and_warning():
    s = synthetic_bcg(300, seed=31)
    noise = s.noise.copy()
    noise[10] = np.nan
    noise[20] = -5.0
    ses = Session.from_array(
        s.signal, s.fs, start=START, timezone="UTC", noise=noise, noise_fs=10.0
    )
    with pytest.warns(SleepSignalWarning, match="NaN, infinite or negative"):
        r = session_tracks(ses)
    assert r.snoring_events is not None
    assert any("NaN, infinite or negative" in n for n in r.notes)


def test_session_tracks_entirely_out_of_bed():
    s = synthetic_bcg(600, seed=32, away=((0.0, 600.0),))
    r = session_tracks(_session(s))
    assert r.presence.values.tolist() == [65, 78]
    assert len(r.respiration_cycles) == 0 and len(r.actigram) == 0
    assert len(r.snoring_events) == 0
    assert any("no time in bed" in n for n in r.notes)


def test_session_tracks_hum_all_night_keeps_other_tracks():
    s = synthetic_bcg(600, seed=33, mains=((0.0, 600.0, 50.0),))
    clean = synthetic_bcg(600, seed=33)
    r = session_tracks(_session(s))
    r0 = session_tracks(_session(clean))
    assert r.sensor_status.values.tolist() == [2]
    assert r.presence.values.tolist() == [80, 78]
    # the 10 Hz view is mains-free: the same cycles with and without hum
    assert abs(len(r.respiration_cycles) - len(r0.respiration_cycles)) <= 1


def test_session_tracks_clipped_sensor():
    s = synthetic_bcg(600, seed=34)
    x = s.signal.copy()
    x[140 * 200 : 140 * 300] = 65535
    ses = Session.from_array(x, s.fs, start=START, timezone="UTC")
    r = session_tracks(ses)
    st = r.details.sensor_status
    assert 3 in r.sensor_status.values.tolist()
    p = r.details.presence
    assert p.mask(np.array([250.0]), 78)[0]
    cyc = r.respiration_cycles.times
    assert not np.any((cyc > 205) & (cyc < 295))
    assert st.window_status[int(250 // st.window_s)] == 3


def test_session_tracks_needs_normal():
    ses = Session({"start_timestamp": START, "end_timestamp": START + 10})
    with pytest.raises(SignalError, match="no 'normal'"):
        session_tracks(ses)


def _belt_night_scores(profile: str, *, beats: bool = False) -> dict[str, float]:
    """Scores (accuracy script's scorer) of two simulated hours driven by a real belt;
    with ``beats``, breathing also gets the heartbeat detector's beats (as analyze)."""
    import sys

    from conftest import ROOT, require_shared

    from sleepsignal.simulate import load_li2024_resp, simulate_night

    path = require_shared("li2024-reference", "resp", "12_20231119_resp.csv.gz")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from accuracy_tracks import score_night
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    resp, rfs = load_li2024_resp(path)
    night = simulate_night(
        2.0, seed=3, resp=resp, resp_fs=rfs, profile=profile, mains_hz=60.0, bed_exits=1
    )
    bt = None
    if beats:
        from sleepsignal.heartbeats import detect_heartbeats

        bt = detect_heartbeats(*night.session.signal("normal")).beat_times
    return score_night(night, session_tracks(night.session, beat_times=bt), baseline=False)


@pytest.mark.realdata
@pytest.mark.slow
def test_belt_driven_night_regression_floors():
    """Two hours driven by a real belt night (li2024 12_20231119, seed 3, mixed profile,
    60 Hz hum, one bed exit). Floors = today's values rounded down
    (``python benchmarks/accuracy_tracks.py`` scores whole nights the same way)."""
    r = _belt_night_scores("mixed")
    assert r["breath_within_0.5"] >= FLOORS["breath_within_0.5"]
    assert r["breath_mae"] <= FLOORS["breath_mae"]
    assert r["movement_f1"] >= FLOORS["movement_f1"]
    assert r["away_f1"] >= FLOORS["away_f1"]
    assert r["mains_f1"] >= FLOORS["mains_f1"]
    assert r["snoring_f1"] >= FLOORS["snoring_f1"]
    # as pipeline.analyze runs it (with the heartbeat detector's beats); branch breath6:
    # 0.962 and 0.0267 (main before it: 0.923 and 0.0253); branch breath7 (the template's
    # gate against its own noise): 0.952 and 0.0257, and with the wide wave from a slope
    # ratio of 0.3 on the cleaned view 0.942 and 0.0249: two of these 104 minutes, while
    # on the 22 whole nights every held-out mixed night rose (README section "tracks");
    # floor 0.95 -> 0.94. Branch breathfix (seam cycles kept), measured on breath6:
    # 0.9615 and 0.0220; on merged main (breath6 + breath7 + breathfix) 0.9519 and
    # 0.0217, unchanged by breathfix2 (a trimmed seam cycle under 0.8 s dropped):
    # floors raised to that, rounded down a little (0.94 -> 0.95, 0.03 -> 0.025).
    # Branch beltmove (the belt's own movements are movements of the night: bursts and
    # posture changes in the bed, in truth.movements; 104 -> 96 clean minutes): 0.9688
    # and 0.0287 (main at 9eb5d6e: 0.9519 and 0.0217): floor 0.95 -> 0.96; the median
    # error moved with the signal (new bursts, new postures after them, other minutes
    # clean), 0.025 -> 0.03. Branch beltmove2 split it with the same night simulated
    # with the belt's movements labelled but not rendered
    # (accuracy_tracks.simulate_belt_unrendered, bytes equal to the simulator before
    # beltmove) and scored on the same 96 clean minutes: 0.9792 and 0.0217, against
    # 0.9688 and 0.0287 rendered. So the new clean-minute set does not explain the
    # loosened ceiling (on it the old night keeps main's 0.0217); the rendering does.
    # Likely path (not isolated): a rendered belt movement's posture change holds until
    # the next posture, so it changes the bed signal of the clean minutes after it too.
    # The ceiling stays 0.03 for the night as simulated today.
    r = _belt_night_scores("mixed", beats=True)
    assert r["breath_within_0.5"] >= 0.96
    assert r["breath_mae"] <= 0.03


@pytest.mark.realdata
@pytest.mark.slow
def test_cardiac_profile_night_breathing_floor():
    """The same two belt-driven hours with the heartbeat dominating (cardiac profile):
    breathing must come from the smoothed wave, not the heart-rate leak. Measured
    2026-11-22: 0.510 of clean minutes within 0.5 breaths/min, median error 0.37
    (the band-pass-only detector before: 0.038 and 3.95); against the belt truth by
    depth simplification (branch breath): 0.740 and 0.086 without the beats, 0.731 and
    0.088 with them (on this stretch the beat intervals neither help nor hurt; on the
    whole cardiac nights they do, see README tracks). With depth simplification
    (branch breath3): 0.750 and 0.075 without the beats, 0.779 and 0.071 with them
    (the interval and smoothed waves judged by the regularity of their cycles).
    Branch beltmove (the belt's movements labelled and rendered; 104 -> 96 clean
    minutes): 0.8646 and 0.0574 without the beats (main at 9eb5d6e: 0.750 and 0.0752),
    0.9583 and 0.0351 with them (main: 0.9327 and 0.0414): floors 0.74 -> 0.85,
    0.08 -> 0.06, 0.90 -> 0.95, 0.06 -> 0.04."""
    r = _belt_night_scores("cardiac")
    assert r["breath_within_0.5"] >= 0.85
    assert r["breath_mae"] <= 0.06
    r = _belt_night_scores("cardiac", beats=True)
    # with the beats of branch hbdrift2 (more runs timed on one fiducial lobe): 0.856
    # within 0.5 (0.779 with the beats before it) but a median error of 0.0845 (0.071):
    # more minutes right, the typical minute's error up. With the beat template and the
    # interval wave's handicap 0.02 (branch breath4): 0.808 and 0.081 on this 2 h
    # stretch (5 of its 104 clean minutes fewer), while the same belt's whole 8 h night
    # rose 0.761 -> 0.795 and the 8 cardiac nights' median 0.722 -> 0.737 (README
    # tracks): floor 0.85 -> 0.80. With the chain of branch hbchain on top (edges scored
    # per second of interval): 0.808 and 0.079. With the dropped intervals repaired
    # (missed, extra and premature beats as whole numbers of intervals, branch breath5):
    # 0.923 and 0.052, floor 0.80 -> 0.90, error 0.09 -> 0.06; with the interval wave's
    # bonus 0.02 (handicap -0.02, chosen on the 8 h nights 0-5): 0.904 and 0.054 here (2
    # of 104 minutes fewer) while the 8 cardiac nights' median rose 0.762 -> 0.776.
    # Merged with branch hbspeed5 (one of the 6 929 beats moves): 0.923 and 0.0485.
    # Branch beltmove: 0.9583 and 0.0351 (see the docstring)
    assert r["breath_within_0.5"] >= 0.95
    assert r["breath_mae"] <= 0.04


#: Measured 2026-11-22 (simulator of main at be0c1df): 0.817, 0.037, 0.857, 0.996, 0.998,
#: 0.994. With the two-wave breathing selection (hysteresis 0.9): 0.817, 0.0398, 0.933,
#: 0.996, 0.993, 0.993. Against the belt truth by depth simplification (branch breath;
#: the earlier truth's own rule at +-17 % agreed with it on 0.82 of minutes):
#: breathing 0.885, 0.033. With depth simplification (branch breath3): breathing 0.904,
#: 0.043 (more minutes within 0.5, the target; the median error of the minutes rose:
#: the floor on it moves from 0.04 to 0.045), snoring 0.9895 (snoring is scored per
#: breathing cycle, so other cycles move it: floor 0.99 -> 0.985). Branch breath6
#: (baseline cycles 0.8-30 s; the 0.05-1.5 Hz wave at depth 0.3 where the breath plainly
#: dominates): breathing 0.904 (unchanged), median error 0.0428 -> 0.0455 (the wider
#: band lets a little more of the heartbeat's residue move the troughs; the share within
#: 0.5, the target, is unchanged here and rises on the 22 whole nights), floor 0.045 ->
#: 0.05; snoring 0.9895 -> 0.9927. Branch breathfix: the rise was not the heartbeat's
#: residue but breaths dropped at wide/baseline seams (the two waves place a trough tens
#: of ms apart and the later cycle was dropped whole); with the seam cycle kept: 0.904,
#: 0.0428 again (as before breath6), floor back to 0.045; snoring 0.9927. Branch
#: beltmove (the belt's own movements labelled and rendered; 104 -> 96 clean minutes;
#: main at 9eb5d6e: 0.9038, 0.0428, 0.9333, 0.9957, 0.9975, 0.9927): 0.9271, 0.0377,
#: 0.8966, 0.9957, 0.9975, 0.9927: breathing floor 0.90 -> 0.92, its error 0.045 ->
#: 0.04; movement F1 fell 0.933 -> 0.897: in bed 16 true movement epochs instead of 8
#: (the belt's movements), the detector finds 13 (7 of 8 before), no false positive in
#: either; above its floor 0.85, which stays.
FLOORS = {
    "breath_within_0.5": 0.92,
    "breath_mae": 0.04,
    "movement_f1": 0.85,
    "away_f1": 0.99,
    "mains_f1": 0.99,
    "snoring_f1": 0.985,
}


def test_nan_gap_in_the_raw_signal_is_no_signal_not_a_crash() -> None:
    """A lost stretch (NaN, as a BT2 packet loss decodes) stays a gap in every track."""
    from sleepsignal.pipeline import analyze
    from sleepsignal.session import Session
    from sleepsignal.simulate import simulate_night
    from sleepsignal.tracks import session_tracks

    night = simulate_night(0.2, seed=5, bed_exits=0, movement_rate=0.0)
    x, fs = night.session.signal("normal")
    x = x.copy()
    gap = slice(int(300 * fs), int(420 * fs))
    x[gap] = np.nan
    s = Session.from_array(x, fs, start=night.session.start_timestamp)
    tracks = session_tracks(s)
    assert any("NaN or infinite" in n for n in tracks.notes)
    p = tracks.presence
    state_at = p.values[np.searchsorted(p.times, [330.0, 360.0, 400.0], side="right") - 1]
    assert (state_at == 78).all()
    starts = tracks.respiration_cycles.times
    assert not ((starts > 300) & (starts < 420)).any()
    assert len(starts) > 50  # the rest of the night still has its breaths
    result = analyze(s)
    assert "sleep.json" in result.records
