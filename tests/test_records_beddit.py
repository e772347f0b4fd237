"""Beddit Sleep object, build_records, and the fixed night the golden files are built from."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepsignal.errors import RecordValidationError, SignalError
from sleepsignal.hypnogram import Hypnogram
from sleepsignal.records import build_records
from sleepsignal.records.beddit import BEDDIT_SLEEP_TRACKS, beddit_sleep
from sleepsignal.session import Session, TimeValueTrack
from sleepsignal.statistics import night_statistics, sleep_score

W, L, D, R, A, N = range(6)
START = 1431835725.618702  # the Beddit document's session start
TZ = "America/New_York"


def fixed_night() -> tuple[Session, Hypnogram]:
    """An 8 h session with every track (seeded) and a hand-written hypnogram.

    The session lasts 28815 s, not a whole number of epochs: its last 15 s are a gap (71).
    """
    blocks = [
        (A, 4),
        (W, 20),
        (L, 30),
        (D, 50),
        (L, 40),
        (R, 20),
        (W, 6),
        (L, 60),
        (D, 30),
        (A, 10),
        (W, 4),
        (L, 80),
        (R, 30),
        (L, 70),
        (N, 4),
        (L, 100),
        (D, 20),
        (R, 40),
        (W, 3),
        (L, 80),
        (R, 50),
        (L, 159),
        (W, 50),
        (A, 0),
    ]
    stages = np.concatenate([np.full(k, s) for s, k in blocks]).astype(np.int64)
    n = len(stages)
    assert n == 960
    restless = np.zeros(n, bool)
    restless[[60, 61, 300, 301, 302, 700]] = True
    hyp = Hypnogram(stages, start=START, timezone=TZ, restless=restless)
    duration = n * 30.0 + 15.0
    rng = np.random.default_rng(20261122)
    t_hr = np.arange(0.0, duration, 30.0)
    hr = (62 + 6 * np.sin(t_hr / 5400) + rng.normal(0, 1.5, len(t_hr))).astype(np.float32)
    keep = (stages[np.minimum((t_hr // 30).astype(int), n - 1)] != A) & (
        rng.random(len(t_hr)) > 0.05
    )
    iv = 60.0 / np.repeat(hr.astype(np.float64), 30) + rng.normal(0, 0.02, len(hr) * 30)
    beats = np.concatenate(([120.0], 120.0 + np.cumsum(iv)))
    ok = beats[:-1] + iv < duration
    resp_t = np.arange(60.0, duration - 10, 4.2)
    acti_t = np.arange(0.0, duration - 60, 60.0)
    tracks = [
        TimeValueTrack("heart_rate", t_hr[keep], hr[keep]),
        TimeValueTrack("heartbeat", beats[:-1][ok], iv[ok].astype(np.float32)),
        TimeValueTrack(
            "respiration_cycles", resp_t, (4.2 + rng.normal(0, 0.3, len(resp_t))).astype(np.float32)
        ),
        TimeValueTrack("actigram", acti_t, rng.poisson(1.2, len(acti_t)).astype(np.float32)),
        TimeValueTrack(
            "presence",
            [0.0, 120.0, 8100.0, 8400.0, duration - 30],
            np.array([65, 80, 65, 80, 78], np.uint8),
            "uint8",
        ),
        TimeValueTrack(
            "snoring_events",
            [4000.0, 4003.5, 4800.0, 20000.0],
            np.array([3.0, 2.5, 4.0, 6.0], np.float32),
        ),
        TimeValueTrack("events", [10.0], np.array([7], np.uint8), "uint8"),
    ]
    md = {
        "id": int(START),
        "start_timestamp": START,
        "end_timestamp": START + duration,
        "timezone": TZ,
        "software": "1.11.0 (101)",
        "frame_length": 0.2,
        "error_code": 0,
        "updated": START + duration + 42.25,
    }
    return Session(md, {}, {t.name: t for t in tracks}), hyp


def test_sleep_object_fields() -> None:
    session, hyp = fixed_night()
    stats = night_statistics(hyp, session)
    sleep = beddit_sleep(session, hyp, stats)
    assert list(sleep) == [
        "date",
        "timezone",
        "start_timestamp",
        "end_timestamp",
        "session_range_start",
        "session_range_end",
        "updated",
        "properties",
        "time_value_tracks",
    ]
    assert sleep["date"] == "2015-05-17"  # ends 08:08 on 17 May in New York
    assert sleep["start_timestamp"] == START == sleep["session_range_start"]
    assert sleep["end_timestamp"] == session.end_timestamp == sleep["session_range_end"]
    assert sleep["updated"] == session.updated
    assert list(sleep["time_value_tracks"]) == list(BEDDIT_SLEEP_TRACKS)
    p = sleep["properties"]
    durations = sum(p[f"stage_duration_{x}"] for x in "ASRWNG")
    assert durations == pytest.approx(sleep["end_timestamp"] - sleep["start_timestamp"], abs=1e-6)
    assert p["stage_duration_G"] == pytest.approx(15.0)  # the tail the hypnogram does not cover
    assert p["stage_duration_R"] == 6 * 30 and p["stage_duration_N"] == 4 * 30
    assert p["stage_duration_A"] == 14 * 30
    assert p["resting_heart_rate"] == pytest.approx(
        float(np.median(session.time_value_tracks["heart_rate"].values)), abs=1e-4
    )
    assert p["away_episode_count"] == 1
    assert p["total_snoring_episode_duration"] == 15.5
    assert p["sleep_latency"] == 20 * 30
    onset_to_final = stats.final_awakening - START
    assert p["sleep_efficiency"] == pytest.approx(stats.total_sleep_time / onset_to_final, 1e-6)
    for key in (
        "evening_HRV_index",
        "morning_HRV_index",
        "all_night_HRV_index",
        "resting_HRV_index",
    ):
        assert 0.005 < p[key] < 0.1  # RMSSD in s, ~20-30 ms from the 20 ms jitter
    score = sleep_score(stats)
    assert p["total_sleep_score"] == score.value
    assert p["sleep_score_version"] == score.version
    assert p["sleep_time_target"] == 28800
    assert None not in p.values()
    json.dumps(sleep, allow_nan=False)


def test_tracks_are_absolute_and_typed() -> None:
    session, hyp = fixed_night()
    sleep = beddit_sleep(session, hyp, night_statistics(hyp, session))
    tv = sleep["time_value_tracks"]
    stages = tv["sleep_stages"]
    assert stages["value_data_type"] == "uint8"
    items = stages["items"]
    assert items[0] == [pytest.approx(START), 65]
    assert items[-1] == [pytest.approx(START + 960 * 30), 71]  # the 15 s gap at the end
    assert all(a[1] != b[1] for a, b in itertools.pairwise(items))
    assert {c for _, c in items} == {65, 87, 83, 82, 78, 71}
    # presence: the session's own track, shifted to absolute time
    assert tv["presence"]["items"][0] == [pytest.approx(START), 65]
    assert tv["presence"]["items"][1][0] == pytest.approx(START + 120)
    acti = tv["actigram_epochwise"]["items"]
    assert acti[0][0] == pytest.approx(START) and acti[1][0] == pytest.approx(START + 60)
    cycles = tv["sleep_cycles"]["items"]
    assert cycles[0][0] == pytest.approx(START + 24 * 30)
    assert np.allclose(np.diff([c[0] for c in cycles]), 120.0)
    assert all(0.0 <= c[1] <= 1.0 for c in cycles)
    curve = tv["heart_rate_curve"]["items"]
    assert np.allclose(np.diff([c[0] for c in curve])[:-1], 300.0)
    assert curve[-1][0] == pytest.approx(START + 28800 + 7.5)  # middle of the last, 15 s bin
    assert all(c[1] > 30 or c[1] == -1.0 for c in curve)
    assert tv["snoring_episodes"]["items"] == [
        [pytest.approx(START + 3600), 5.5],
        [pytest.approx(START + 4800), 4.0],
        [pytest.approx(START + 19800), 6.0],
    ]
    assert tv["nap_periods"] == {"value_data_type": "uint8", "items": []}


def test_empty_tracks_are_present_and_properties_omitted() -> None:
    h = Hypnogram(np.array([W] * 10), start=START)
    session = Session({"start_timestamp": START, "end_timestamp": START + 300}, {}, {})
    sleep = beddit_sleep(session, h, night_statistics(h, session))
    for name in BEDDIT_SLEEP_TRACKS:
        if name != "snoring_episodes":  # no snoring_events: unknown (test below)
            assert "items" in sleep["time_value_tracks"][name]
    assert "snoring_episodes" not in sleep["time_value_tracks"]
    p = sleep["properties"]
    for key in (
        "sleep_latency",
        "sleep_efficiency",
        "resting_heart_rate",
        "activity_index",
        "average_respiration_rate",
        "total_snoring_episode_duration",
    ):
        assert key not in p
    assert p["stage_duration_W"] == 300 and p["total_sleep_score"] == 0
    assert sleep["time_value_tracks"]["sleep_cycles"]["items"] == []
    # presence derived from the hypnogram, closed by 78
    assert sleep["time_value_tracks"]["presence"]["items"] == [[START, 80], [START + 300, 78]]
    assert sleep["updated"] == START + 300  # no "updated": the session end


def test_nap_periods_for_a_nap() -> None:
    h = Hypnogram(np.array([W] * 4 + [L] * 100 + [W] * 2), start=START)
    session = Session({"start_timestamp": START, "end_timestamp": START + 106 * 30}, {}, {})
    sleep = beddit_sleep(session, h, night_statistics(h))
    assert sleep["time_value_tracks"]["nap_periods"]["items"] == [
        [pytest.approx(START + 120), 1],
        [pytest.approx(START + 104 * 30), 2],
    ]


def test_wrong_stats_refused() -> None:
    session, hyp = fixed_night()
    other = Hypnogram(np.array([L] * 5), start=START)
    with pytest.raises(SignalError, match="another hypnogram"):
        beddit_sleep(session, hyp, night_statistics(other))


@given(st.lists(st.integers(0, 5), min_size=0, max_size=120), st.integers(-3, 3))
def test_stage_durations_add_up(stages: list[int], shift_epochs: int) -> None:
    # the hypnogram may start before/after the session and end before/after it
    h = Hypnogram(np.array(stages, dtype=np.int64), start=START + shift_epochs * 30)
    session = Session({"start_timestamp": START, "end_timestamp": START + 1800.5}, {}, {})
    p = beddit_sleep(session, h, night_statistics(h))["properties"]
    assert sum(p[f"stage_duration_{x}"] for x in "ASRWNG") == pytest.approx(1800.5, abs=1e-5)


# -- build_records -------------------------------------------------------------------


def test_build_records_files_and_notes() -> None:
    session, hyp = fixed_night()
    built = build_records(session, hyp)
    assert set(built.records) == {
        "sleep.json",
        "ocariot.json",
        "jawbone.json",
        "jawbone_snapshot.json",
    }
    assert len(built.notes) == 1 and "impilo.json not written" in built.notes[0]
    with_id = build_records(session, hyp, device_id="12345", stats=built.statistics)
    assert with_id.records["impilo.json"]["deviceId"] == 12345
    assert with_id.notes == ()
    assert with_id.records["sleep.json"] == built.records["sleep.json"]
    assert with_id.records["ocariot.json"]["type"] == "stages"  # 95 % heart-rate coverage
    for obj in with_id.records.values():
        json.dumps(obj, allow_nan=False)
    with pytest.raises(RecordValidationError, match="deviceId must be an integer"):
        build_records(session, hyp, device_id="abc")


def test_build_records_without_heart_rate_or_bed() -> None:
    h = Hypnogram(np.array([W, L, L, W]), start=START)
    session = Session({"start_timestamp": START, "end_timestamp": START + 120}, {}, {})
    built = build_records(session, h, patient_id=7)
    assert "impilo.json" not in built.records
    assert "heartRate is required but could not be computed" in built.notes[0]
    away = Hypnogram(np.array([A, A]), start=START)
    built = build_records(Session({"start_timestamp": START, "end_timestamp": START + 60}), away)
    assert set(built.records) == {"sleep.json"}
    assert "no in-bed epoch" in built.notes[0]


# -- Beddit Session output (the lead's writer; checked here as the records contract) --


def test_session_output_keeps_unknowns_and_adds_derived_tracks() -> None:
    from sleepsignal.io.beddit import session_from_dict, session_to_dict

    obj = {
        "id": 1431835725,
        "start_timestamp": START,
        "end_timestamp": START + 600.0,
        "timezone": TZ,
        "software": "1.11.0 (101)",
        "vendor_extra": {"kept": [1, 2]},
        "time_value_tracks": {
            "events": {"value_data_type": "uint8", "items": [[3.5, 7]], "note": "unknown"},
            "sensor_status": {"value_data_type": "uint8", "items": [[58.4, 1]]},
        },
        "updated": 1371482503.646541,
    }
    session = session_from_dict(obj)
    derived = TimeValueTrack("heart_rate", [30.0, 60.0], np.array([64.59961, 63.0], np.float32))
    out = session_to_dict(session.with_tracks([derived]))
    assert out["vendor_extra"] == {"kept": [1, 2]} and out["updated"] == obj["updated"]
    assert out["time_value_tracks"]["events"] == obj["time_value_tracks"]["events"]
    assert out["time_value_tracks"]["sensor_status"] == obj["time_value_tracks"]["sensor_status"]
    hr = out["time_value_tracks"]["heart_rate"]
    assert hr == {"value_data_type": "float32", "items": [[30.0, 64.59961], [60.0, 63.0]]}
    again = session_to_dict(session_from_dict(json.loads(json.dumps(out))))
    assert again == out  # what we write reads back to the same object


@given(
    st.lists(st.integers(0, 5), min_size=0, max_size=80),
    st.lists(st.booleans(), min_size=80, max_size=80),
    st.booleans(),
)
def test_build_records_any_night_is_valid_json(
    stages: list[int], flags: list[bool], with_tracks: bool
) -> None:
    from sleepsignal.records import validate_impilo, validate_ocariot

    n = len(stages)
    h = Hypnogram(np.array(stages, dtype=np.int64), start=START, timezone=TZ, restless=flags[:n])
    tracks = []
    if with_tracks and n:
        t = np.arange(n) * 30.0
        tracks = [
            TimeValueTrack("heart_rate", t, np.full(n, 61.5, np.float32)),
            TimeValueTrack("respiration_cycles", t, np.full(n, 4.0, np.float32)),
            TimeValueTrack("actigram", t[::2], np.ones(len(t[::2]), np.float32)),
            TimeValueTrack("snoring_events", t[:1], np.ones(1, np.float32)),
        ]
    md = {"start_timestamp": START, "end_timestamp": START + n * 30 + 10, "timezone": TZ}
    session = Session(md, {}, {x.name: x for x in tracks})
    built = build_records(session, h, device_identifier="SN-1")
    for obj in built.records.values():
        json.dumps(obj, allow_nan=False)
    if "ocariot.json" in built.records:
        assert validate_ocariot(built.records["ocariot.json"]) == []
    if "impilo.json" in built.records:
        assert validate_impilo(built.records["impilo.json"]) == []
    else:
        assert any("impilo.json not written" in note for note in built.notes)
    assert set(built.records) >= {"sleep.json"}


def test_beddit_document_session_example_gets_absolute_times() -> None:
    # the Session example of the Beddit document: relative item times become absolute
    from sleepsignal.io.beddit import session_from_dict

    doc = {
        "id": 1431835725,
        "start_timestamp": 1431835725.618702,
        "end_timestamp": 1431865087.218702,
        "timezone": "America/New_York",
        "software": "1.11.0 (101)",
        "frame_length": 0.2,
        "error_code": 0,
        "time_value_tracks": {
            "actigram": {"value_data_type": "float32", "items": [[0, 29973.82]]},
            "snoring_events": {"value_data_type": "float32", "items": []},
            "respiration_cycles": {"value_data_type": "float32", "items": [[40.3, 4.1]]},
            "heart_rate": {"value_data_type": "float32", "items": [[60, 64.59961]]},
            "sensor_status": {"value_data_type": "uint8", "items": [[58.4, 1], [29316.8, 1]]},
        },
        "updated": 1371482503.646541,
    }
    session = session_from_dict(doc)
    n = int(session.duration // 30)
    h = Hypnogram(np.array([W] + [L] * (n - 1)), start=session.start_timestamp, timezone=TZ)
    sleep = beddit_sleep(session, h, night_statistics(h, session))
    tv = sleep["time_value_tracks"]
    assert tv["actigram_epochwise"]["items"] == [[pytest.approx(1431835725.618702), 29973.82]]
    assert tv["heart_rate_curve"]["items"][0] == [pytest.approx(1431835725.618702 + 150), 64.59961]
    assert tv["snoring_episodes"]["items"] == []
    assert sleep["updated"] == 1371482503.646541
    assert sleep["date"] == "2015-05-17"
    p = sleep["properties"]
    assert p["resting_heart_rate"] == 64.59961
    assert p["total_snoring_episode_duration"] == 0
    assert p["average_respiration_rate"] == pytest.approx(60 / 4.1, abs=1e-4)
    assert sum(p[f"stage_duration_{x}"] for x in "ASRWNG") == pytest.approx(
        doc["end_timestamp"] - doc["start_timestamp"], abs=1e-6
    )


def test_snoring_episodes_left_out_when_snoring_is_unknown() -> None:
    # no snoring_events track (no noise, or noise not a level in dB) is "unknown": the
    # Sleep object must not carry the empty track a night without snoring gives
    n = 20
    h = Hypnogram(np.array([L] * n), start=START, timezone=TZ)
    md = {"start_timestamp": START, "end_timestamp": START + n * 30, "timezone": TZ}
    unknown = Session(md, {}, {})
    sleep = beddit_sleep(unknown, h, night_statistics(h, unknown))
    tv = sleep["time_value_tracks"]
    assert "snoring_episodes" not in tv
    assert list(tv) == [x for x in BEDDIT_SLEEP_TRACKS if x != "snoring_episodes"]
    assert "total_snoring_episode_duration" not in sleep["properties"]
    assert "score_snoring" not in sleep["properties"]
    empty = TimeValueTrack("snoring_events", np.zeros(0), np.zeros(0, np.float32))
    none = Session(md, {}, {"snoring_events": empty})
    sleep = beddit_sleep(none, h, night_statistics(h, none))
    assert list(sleep["time_value_tracks"]) == list(BEDDIT_SLEEP_TRACKS)
    assert sleep["time_value_tracks"]["snoring_episodes"]["items"] == []
    assert sleep["properties"]["total_snoring_episode_duration"] == 0


def test_analyze_linear_noise_writes_no_snoring_episodes() -> None:
    # the reviewer's case, shortened: noise as amp / amp.max() (linear 0-1) is not a
    # level in dB, so snoring is unknown, and sleep.json must say so by leaving it out
    import warnings

    import sleepsignal as ss
    from sleepsignal.errors import SleepSignalWarning

    session = ss.simulate_night(0.5, seed=3).session
    noise = session.sampled_tracks["noise"]
    amp = 10 ** (np.asarray(noise.data, np.float64) / 20)
    linear = dataclasses.replace(noise, _data=(amp / amp.max()).astype(np.float32))
    session = session.with_tracks(sampled_tracks=[linear])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SleepSignalWarning)
        result = ss.analyze(session, device_id="1")
    assert "snoring_events" not in result.session.time_value_tracks
    sleep = result.records["sleep.json"]
    assert "snoring_episodes" not in sleep["time_value_tracks"]
    assert "total_snoring_episode_duration" not in sleep["properties"]


@pytest.mark.realdata
def test_hmc_nights_give_valid_records() -> None:
    """151 real expert-scored nights: every record builds, validates and adds up."""
    from conftest import require_shared

    from sleepsignal.records import validate_ocariot

    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(require_shared("hmc-hypnograms", "hmc_hypnograms.csv.gz"))
    code = {"W": W, "N1": L, "N2": L, "N3": D, "R": R}
    for patient, g in frame.groupby("patient"):
        stages = np.array([code[x] for x in g.stage], dtype=np.int64)
        start = START + 86400 * int(patient)
        h = Hypnogram(stages, start=start, timezone=TZ)
        md = {"start_timestamp": start, "end_timestamp": h.end, "timezone": TZ}
        built = build_records(Session(md), h)
        rec = built.records
        assert validate_ocariot(rec["ocariot.json"]) == []
        assert rec["ocariot.json"]["duration"] == len(stages) * 30000
        d = rec["jawbone.json"]["details"]
        assert d["duration"] == d["light"] + d["deep"] + d["rem"] + d["awake"]
        p = rec["sleep.json"]["properties"]
        assert sum(p[f"stage_duration_{x}"] for x in "ASRWNG") == pytest.approx(h.end - start)
        json.dumps(dict(rec), allow_nan=False)
