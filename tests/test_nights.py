"""Cutting a multi-day recording into sleep periods (sleepsignal.nights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sleepsignal.errors import SignalError
from sleepsignal.nights import SleepPeriod, sleep_periods, split_nights
from sleepsignal.session import Session, TimeValueTrack

H = 3600.0
IN, AWAY, NOSIG = 80, 65, 78


def test_absences_shorter_than_the_gap_stay_inside_a_night() -> None:
    # night 1: 22:00-06:00 with a 40-min walk; day away; night 2: 23:00-07:00;
    # a 20-min lie-down in the afternoon is too short to be a period
    t = [0, 2 * H, 5 * H, 5 * H + 2400, 10 * H, 18 * H, 18 * H + 1200, 27 * H, 35 * H]
    v = [AWAY, IN, AWAY, IN, AWAY, IN, NOSIG, IN, AWAY]
    got = sleep_periods(np.array(t), np.array(v), 40 * H, pad=600)
    assert got == [
        SleepPeriod(2 * H - 600, 10 * H + 600, 8 * H - 2400),
        SleepPeriod(27 * H - 600, 35 * H + 600, 8 * H),
    ]


def test_pad_is_at_most_half_the_gap_and_stays_in_the_recording() -> None:
    t = np.array([0.0, 3 * H, 4 * H, 10 * H])
    v = np.array([IN, AWAY, IN, AWAY])
    got = sleep_periods(t, v, 11 * H, min_gap=0.5 * H, pad=H)
    assert got == [SleepPeriod(0.0, 3.5 * H, 3 * H), SleepPeriod(3.5 * H, 11 * H, 6 * H)]


def test_nobody_in_bed_gives_no_period() -> None:
    assert sleep_periods(np.array([0.0]), np.array([AWAY]), 10 * H) == []
    assert sleep_periods(np.zeros(0), np.zeros(0, np.uint8), 10 * H) == []


@pytest.mark.parametrize(
    ("times", "codes", "duration", "match"),
    [
        ([1.0, 0.0], [IN, AWAY], 10.0, "non-decreasing"),
        ([0.0], [IN, AWAY], 10.0, "one length"),
        ([np.nan], [IN], 10.0, "finite"),
        ([0.0], [IN], 0.0, "duration"),
    ],
)
def test_bad_presence_is_a_clear_error(times, codes, duration, match) -> None:
    with pytest.raises(SignalError, match=match):
        sleep_periods(np.array(times), np.array(codes), duration)


def _recording() -> Session:
    t0 = 1_700_000_000.0
    md = {"id": 7, "start_timestamp": t0, "end_timestamp": t0 + 40 * H, "timezone": "UTC"}
    pres = TimeValueTrack(
        "presence", [0, 2 * H, 10 * H, 27 * H, 35 * H], [AWAY, IN, AWAY, IN, AWAY], "uint8"
    )
    status = TimeValueTrack("sensor_status", [0.0, 20 * H], [1, 2], "uint8")
    beats = np.arange(2 * H, 35 * H, 0.9)
    heartbeat = TimeValueTrack("heartbeat", beats, np.full(len(beats), 0.9), "float32")
    return Session(md, {}, {t.name: t for t in (pres, status, heartbeat)})


def test_split_nights_cuts_every_track_and_carries_the_state() -> None:
    rec = _recording()
    nights = split_nights(rec, pad=600)
    assert [n.start_timestamp - rec.start_timestamp for n in nights] == [2 * H - 600, 27 * H - 600]
    assert [n.duration for n in nights] == [8 * H + 1200] * 2
    assert [n.id for n in nights] == [int(n.start_timestamp) for n in nights]
    first, second = nights
    # presence starts with the state in force at the cut, then its own change points
    assert first.time_value_tracks["presence"].times.tolist() == [0.0, 600.0, 8 * H + 600]
    assert first.time_value_tracks["presence"].values.tolist() == [AWAY, IN, AWAY]
    # sensor status changed to 2 during the day: the second night starts in state 2
    assert second.time_value_tracks["sensor_status"].values.tolist() == [2]
    assert second.time_value_tracks["sensor_status"].times.tolist() == [0.0]
    # event tracks: the items inside the period, times from its start
    hb = rec.time_value_tracks["heartbeat"]
    for n in nights:
        off = n.start_timestamp - rec.start_timestamp
        inside = (hb.times >= off) & (hb.times < off + n.duration)
        got = n.time_value_tracks["heartbeat"]
        assert np.array_equal(got.times, hb.times[inside] - off)
        assert got.values.dtype == np.float32 and len(got) == inside.sum()
    assert not any(n.sampled_tracks for n in nights)


def test_split_nights_needs_presence() -> None:
    rec = _recording()
    no_presence = Session(
        rec.metadata, {}, {"heartbeat": rec.time_value_tracks["heartbeat"]}, rec.key_order
    )
    with pytest.raises(SignalError, match="presence"):
        split_nights(no_presence)


def _embed(analyses: list, offsets: list[float], duration: float) -> Session:
    """One recording holding the derived tracks of each analysed night at its offset,
    away in between."""
    first = analyses[0].session
    t0 = first.start_timestamp - offsets[0]
    tracks = {}
    for name, proto in first.time_value_tracks.items():
        ts, vs = [], []
        for a, off in zip(analyses, offsets, strict=True):
            tr = a.session.time_value_tracks.get(name)
            if tr is not None:
                ts.append(tr.times + off)
                vs.append(tr.values)
            if name == "presence":  # away from the end of each night on
                ts.append(np.array([off + a.session.duration]))
                vs.append(np.array([AWAY]))
        if name == "presence":
            ts.insert(0, np.array([0.0]))
            vs.insert(0, np.array([AWAY]))
        values = np.concatenate(vs).astype(proto.values.dtype)
        tracks[name] = TimeValueTrack(name, np.concatenate(ts), values, proto.value_data_type)
    md = dict(first.metadata)
    md.update(start_timestamp=t0, end_timestamp=t0 + duration, id=int(t0))
    return Session(md, {}, tracks)


def test_each_night_stages_as_it_did_alone() -> None:
    from sleepsignal.pipeline import analyze
    from sleepsignal.simulate import simulate_night

    alone = [analyze(simulate_night(2.0, seed=s).session) for s in (1, 2)]
    offsets = [H, H + 2 * H + 6 * H]
    rec = _embed(alone, offsets, offsets[1] + 2 * H)
    nights = split_nights(rec)
    assert len(nights) == 2
    for night, a, off in zip(nights, alone, offsets, strict=True):
        lead = off - (night.start_timestamp - rec.start_timestamp)
        assert 0 <= lead <= 900 + 30 and lead % 30 == 0  # pad, on the 30 s grid
        piece = analyze(night)
        k = int(lead // 30)
        s_alone = np.asarray(a.hypnogram.stages)
        s_piece = np.asarray(piece.hypnogram.stages)[k : k + len(s_alone)]
        assert len(s_piece) == len(s_alone)
        assert (s_piece == s_alone).mean() >= 0.9
        assert "sleep.json" in piece.records


def _mirror_tile(x: np.ndarray, n: int) -> np.ndarray:
    pair = np.concatenate([x, x[::-1]])  # no jump where the copies meet
    return np.tile(pair, -(-n // len(pair)))[:n]


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory: pytest.TempPathFactory):
    """A 6.5 h recording: a 2 h night (with a bed exit), 3.5 h of empty bed, a 1 h night."""
    from sleepsignal.io.beddit import write_session
    from sleepsignal.simulate import simulate_night

    a = simulate_night(2.0, seed=1, bed_exits=1)
    b = simulate_night(1.0, seed=2)
    (xa, fs), (xb, _) = a.session.signal("normal"), b.session.signal("normal")
    (na, nfs), (nb, _) = a.session.signal("noise"), b.session.signal("noise")
    s, e = a.truth.away[0]  # the simulator's own empty bed, 5 s in from each side
    empty = xa[int((s + 5) * fs) : int((e - 5) * fs)]
    quiet = na[int((s + 5) * nfs) : int((e - 5) * nfs)]
    x = np.concatenate([xa, _mirror_tile(empty, int(3.5 * H * fs)), xb])
    noise = np.concatenate([na, _mirror_tile(quiet, int(3.5 * H * nfs)), nb])
    rec = Session.from_array(
        x.astype(np.uint16), fs, start=a.session.start_timestamp, noise=noise, noise_fs=nfs
    )
    path = write_session(rec, tmp_path_factory.mktemp("two") / "in" / "session.json")
    return path, a.session


def test_analyze_stream_stages_each_night(two_nights, tmp_path: Path, capsys) -> None:
    from sleepsignal.cli import main
    from sleepsignal.io.beddit import read_session
    from sleepsignal.pipeline import analyze

    path, night_a = two_nights
    assert main(["analyze", str(path), "--out", str(tmp_path), "--stream"]) == 0
    out, err = capsys.readouterr()
    assert "2 night(s) found" in err and out.count("\nnight ") == 2
    rec = read_session(tmp_path / "session.json")
    folders = sorted((tmp_path / "nights").iterdir())
    t0 = int(rec.start_timestamp)
    assert [int(f.name) for f in folders] == [t0, t0 + 18900]  # 15 min before night B
    for f in folders:
        assert {"sleep.json", "hypnogram.csv", "ocariot.json", "jawbone.json"} <= {
            p.name for p in f.iterdir()
        }
    # the first night staged from the recording's tracks agrees with night A analysed
    # alone (measured 0.90: the breathing detector's medians are the recording's)
    alone = np.asarray(analyze(night_a).hypnogram.stages)
    piece = read_session(folders[0] / "session.json")
    staged = np.asarray(analyze(piece).hypnogram.stages)[: len(alone)]
    assert (staged == alone).mean() >= 0.85


def test_days_in_bed_are_cut_into_parts_no_longer_than_max_period() -> None:
    # in bed for 60 h with one 15-min walk: one period of 215 400 s, cut into 3 equal
    # parts of 71 820 s (71 800 moved up to the 30 s grid), the last one shorter
    t = np.array([0.0, 600.0, 20 * H, 20 * H + 900, 60 * H])
    v = np.array([AWAY, IN, AWAY, IN, AWAY])
    got = sleep_periods(t, v, 61 * H, pad=0)
    assert got == [
        SleepPeriod(600.0, 72420.0, 20 * H - 600),  # the walk starts at 72 000 s
        SleepPeriod(72420.0, 144240.0, 144240.0 - (20 * H + 900)),
        SleepPeriod(144240.0, 60 * H, 60 * H - 144240.0),
    ]
    assert sum(p.in_bed for p in got) == 60 * H - 600 - 900
