"""Session value objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sleepsignal as ss
from sleepsignal.errors import DecodeError, SignalError, SleepSignalWarning


def test_from_array_requires_fs_and_frames_it() -> None:
    s = ss.Session.from_array(
        np.zeros(140 * 10, np.uint16), 140.0, start=1.7e9, timezone="Europe/Helsinki"
    )
    t = s.sampled_tracks["normal"]
    assert t.samples_per_frame == 28 and t.frame_length == 0.2 and t.fs == pytest.approx(140.0)
    assert s.duration == pytest.approx(10.0) and s.id == 1700000000
    with pytest.raises(TypeError):
        ss.Session.from_array(np.zeros(10), start=0.0)  # type: ignore[call-arg]
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(SignalError, match="fs must be a finite sampling rate"):
            ss.Session.from_array(np.zeros(10), bad, start=0.0)


@pytest.mark.parametrize("bad", [1e300, 2e6, 10**400, float("inf"), 0.0, -10.0, None, "10"])
@pytest.mark.parametrize("which", ["fs", "noise_fs"])
def test_from_array_rates_go_through_the_one_fs_check(which: str, bad: object) -> None:
    """fs and noise_fs get check_fs's 1e6 Hz cap and message, naming the argument
    (from_array had its own checks: fs=1e300 or noise_fs=2e6 were accepted)."""
    rates = {"fs": 140.0, "noise_fs": 10.0, which: bad}
    with pytest.raises(SignalError, match=rf"^{which} must be a (finite )?sampling rate"):
        ss.Session.from_array(
            np.zeros(280), rates["fs"], start=0.0, noise=np.ones(20), noise_fs=rates["noise_fs"]
        )
    top = ss.Session.from_array(np.zeros(200_000), 1e6, start=0.0)  # the cap is a rate
    assert top.sampled_tracks["normal"].fs == pytest.approx(1e6)


def test_from_array_odd_rates_and_partial_frames() -> None:
    s = ss.Session.from_array(np.zeros(500, np.float32), 500.0, start=0.0)
    assert s.sampled_tracks["normal"].samples_per_frame == 100
    s = ss.Session.from_array(np.zeros(77, np.float64), 7.7, start=0.0)
    assert s.sampled_tracks["normal"].fs == pytest.approx(7.7)
    with pytest.warns(SleepSignalWarning, match="last 5 samples are dropped"):
        s = ss.Session.from_array(np.zeros(61, np.uint16), 140.0, start=0.0)
    assert len(s.sampled_tracks["normal"].data) == 56
    with pytest.raises(SignalError, match="1-D"):
        ss.Session.from_array(np.zeros((2, 2)), 140.0, start=0.0)
    with pytest.raises(SignalError, match="not supported"):
        ss.Session.from_array(np.zeros(28, np.complex64), 140.0, start=0.0)


def test_arrays_are_read_only() -> None:
    s = ss.Session.from_array(np.arange(28, dtype=np.uint16), 140.0, start=0.0)
    with pytest.raises(ValueError):
        s.sampled_tracks["normal"].data[0] = 5
    t = ss.TimeValueTrack("heart_rate", [1.0], [60.0])
    with pytest.raises(ValueError):
        t.values[0] = 1


def test_pandas_views_are_tz_aware() -> None:
    s = ss.Session.from_array(
        np.arange(280, dtype=np.uint16), 140.0, start=1.7e9, timezone="America/New_York"
    )
    s = s.with_tracks([ss.TimeValueTrack("heart_rate", [30.0, 60.0], [61.0, 62.5])])
    ser = s.sampled_tracks["normal"].to_series(s.timezone)
    assert str(ser.index.tz) == "America/New_York" and len(ser) == 280
    assert ser.index[1] - ser.index[0] == pd.Timedelta(1 / 140, "s").round("ns")
    frame = s.to_frame()
    assert list(frame.columns) == ["track", "value"] and frame.index.name == "time"
    assert frame.index[0] == pd.Timestamp(1.7e9 + 30, unit="s", tz="UTC")
    assert s.to_frame("heart_rate").value.tolist() == [61.0, 62.5]
    empty = ss.Session({"start_timestamp": 0.0, "end_timestamp": 1.0}).to_frame()
    assert len(empty) == 0


def test_session_validation() -> None:
    with pytest.raises(DecodeError, match="before start_timestamp"):
        ss.Session({"start_timestamp": 10.0, "end_timestamp": 5.0})
    with pytest.raises(DecodeError, match="required field 'end_timestamp'"):
        ss.Session({"start_timestamp": 10.0})
    with pytest.raises(DecodeError, match="timezone"):
        ss.Session({"start_timestamp": 1.0, "end_timestamp": 2.0, "timezone": 5})


def test_time_value_track_validation_and_items() -> None:
    with pytest.raises(DecodeError, match="non-finite time"):
        ss.TimeValueTrack("x", [np.nan], [1.0])
    with pytest.raises(SignalError, match="one length"):
        ss.TimeValueTrack("x", [1.0, 2.0], [1.0])
    with pytest.raises(DecodeError, match="unknown data type"):
        ss.TimeValueTrack("x", [1.0], [1.0], "float16")
    t = ss.TimeValueTrack("heart_rate", [30.0], [64.59961])
    assert t.items() == [[30.0, 64.59961]]  # shortest float32 decimal, as the API writes
    u = ss.TimeValueTrack("sensor_status", [0.0, 5.5], [1, 2], "uint8")
    assert u.items() == [[0.0, 1], [5.5, 2]]


def test_with_tracks_and_metadata_are_new_objects() -> None:
    s = ss.Session({"start_timestamp": 0.0, "end_timestamp": 60.0, "custom": 1})
    s2 = s.with_tracks([ss.TimeValueTrack("a", [1.0], [2.0])]).with_metadata(updated=5.0)
    assert "a" not in s.time_value_tracks and "a" in s2.time_value_tracks
    assert s2.updated == 5.0 and s2.metadata["custom"] == 1 and s.updated is None
    with pytest.raises(KeyError, match="no sampled track 'normal'"):
        s.signal()


def test_unknown_timezone_and_non_numeric_fields() -> None:
    with pytest.raises(DecodeError, match="unknown time zone 'Mars/Olympus'"):
        ss.Session({"start_timestamp": 1.0, "end_timestamp": 2.0, "timezone": "Mars/Olympus"})
    with pytest.raises(DecodeError, match="updated must be a number"):
        ss.Session({"start_timestamp": 1.0, "end_timestamp": 2.0, "updated": "yesterday"})
    with pytest.raises(DecodeError, match="id must be a number"):
        ss.Session({"start_timestamp": 1.0, "end_timestamp": 2.0, "id": "abc"})
    with pytest.raises(SignalError, match="start must be a finite"):
        ss.Session.from_array(np.zeros(28), 140.0, start=float("nan"))
    s = ss.Session.from_array(np.zeros(28), np.float32(140.0), start=np.int64(5))
    assert s.sampled_tracks["normal"].fs == pytest.approx(140.0)
    with pytest.raises(DecodeError, match="beyond the float32 range"):
        ss.TimeValueTrack("x", [1.0], [1e40])


def test_callers_array_is_neither_frozen_nor_shared() -> None:
    mine = np.arange(28, dtype=np.uint16)
    s = ss.Session.from_array(mine, 140.0, start=0.0)
    assert mine.flags.writeable
    mine[0] = 999
    assert s.sampled_tracks["normal"].data[0] == 0


def test_with_metadata_moves_the_sampled_tracks() -> None:
    s = ss.Session.from_array(np.zeros(280, np.uint16), 140.0, start=1e9)
    moved = s.with_metadata(start_timestamp=2e9, end_timestamp=2e9 + 2)
    assert moved.sampled_tracks["normal"].start == 2e9


def test_noise_must_cover_the_samples() -> None:
    with pytest.raises(SignalError, match="same time"):
        ss.Session.from_array(np.zeros(280), 140.0, start=0.0, noise=np.ones(100), noise_fs=10.0)
    with pytest.warns(SleepSignalWarning, match="padded with NaN"):
        s = ss.Session.from_array(np.zeros(280), 140.0, start=0.0, noise=np.ones(19), noise_fs=10.0)
    assert np.isnan(s.sampled_tracks["noise"].data[-1])
    with pytest.raises(SignalError, match="noise_fs"):
        ss.Session.from_array(np.zeros(28), 140.0, start=0.0, noise=np.ones(2), noise_fs=np.nan)


def test_missing_track_error_lists_what_there_is() -> None:
    s = ss.Session.from_array(np.zeros(28), 140.0, start=0.0)
    with pytest.raises(ss.SleepSignalError, match=r"no sampled track 'noise'; it has \['normal'\]"):
        s.signal("noise")
    assert str(s.to_series().index.tz) == "UTC"
