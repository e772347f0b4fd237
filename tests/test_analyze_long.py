"""``sleepsignal analyze`` on long recordings: streamed tracks, blobs copied, nights staged."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import sleepsignal.io.beddit as beddit
import sleepsignal.pipeline as pipeline
from sleepsignal.cli import main
from sleepsignal.errors import DecodeError, SleepSignalWarning
from sleepsignal.io.beddit import read_session, write_session
from sleepsignal.session import TimeValueTrack
from sleepsignal.simulate import simulate_night
from sleepsignal.streaming import stream_session_tracks

RECORDS = {"sleep.json", "hypnogram.csv", "ocariot.json", "jawbone.json", "jawbone_snapshot.json"}
NOTE = "no night found"  # a 20-min recording: nobody 30 min in bed


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = simulate_night(20 / 60, seed=5, mains_hz=50.0)
    return write_session(sim.session, tmp_path_factory.mktemp("long") / "session.json")


@pytest.fixture(scope="module")
def streamed_out(night: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    out = tmp_path_factory.mktemp("out")  # module-scoped: capsys is not available here
    so, se = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
        assert main(["analyze", str(night), "--out", str(out), "--stream"]) == 0
    return out, so.getvalue(), se.getvalue()


def test_streamed_tracks_equal_stream_session_tracks(night: Path, streamed_out) -> None:
    out, _, _ = streamed_out
    written = read_session(out / "session.json")
    expected = stream_session_tracks(night).as_list()
    assert expected  # heartbeats, breathing, actigram, ...
    for track in expected:
        got = written.time_value_tracks[track.name]
        np.testing.assert_array_equal(got.times, track.times, err_msg=track.name)
        np.testing.assert_array_equal(got.values, track.values, err_msg=track.name)
    assert set(written.time_value_tracks) == {t.name for t in expected}


def test_streamed_blobs_equal_the_input(night: Path, streamed_out) -> None:
    out, _, _ = streamed_out
    src, dst = read_session(night), read_session(out / "session.json")
    assert set(dst.sampled_tracks) == set(src.sampled_tracks) == {"normal", "noise"}
    for name, track in src.sampled_tracks.items():
        copy = dst.sampled_tracks[name]
        assert copy.data.dtype == track.data.dtype
        np.testing.assert_array_equal(copy.data, track.data)
        assert copy.start == track.start and copy.samples_per_frame == track.samples_per_frame
    assert dst.start_timestamp == src.start_timestamp and dst.end_timestamp == src.end_timestamp


def test_streamed_analyze_notes_and_writes_no_staging(night: Path, streamed_out) -> None:
    out, stdout, stderr = streamed_out
    urls = [t["data_url"] for t in json.loads(night.read_text())["sampled_tracks"].values()]
    assert NOTE in stderr and stderr.count("\n") == 1  # one line
    assert "not written" in stdout
    names = {p.name for p in out.iterdir()}
    assert names == {"session.json", "notes.txt", *urls} and len(urls) == 2
    assert not names & RECORDS
    assert NOTE in (out / "notes.txt").read_text().splitlines()[0]


def test_stream_never_loads_the_normal_blob_whole(
    night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    n = read_session(night).sampled_tracks["normal"].data.size
    real_resolve, real_fromfile = beddit._resolve_blob, np.fromfile
    counts: list[int] = []

    def resolve(name, *a, **k):
        assert name != "normal", "the normal blob was loaded whole"
        return real_resolve(name, *a, **k)

    def fromfile(file, *a, count=-1, **k):
        counts.append(count)
        return real_fromfile(file, *a, count=count, **k)

    monkeypatch.setattr(beddit, "_resolve_blob", resolve)
    monkeypatch.setattr(np, "fromfile", fromfile)
    monkeypatch.setattr(pipeline, "_COPY_SAMPLES", 28 * 1000)  # several chunks for 20 min
    assert main(["analyze", str(night), "--out", str(tmp_path), "--stream"]) == 0
    assert counts and all(0 < c < n for c in counts)  # chunked reads only, never count=-1
    monkeypatch.undo()
    np.testing.assert_array_equal(
        read_session(tmp_path / "session.json").sampled_tracks["normal"].data,
        read_session(night).sampled_tracks["normal"].data,
    )
    assert NOTE in capsys.readouterr().err


def test_threshold_decides_without_the_flag(
    night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert pipeline.STREAM_ABOVE_S == 24 * 3600.0
    monkeypatch.setattr(pipeline, "STREAM_ABOVE_S", 10 * 60.0)  # the night is 20 min
    assert main(["analyze", str(night), "--out", str(tmp_path / "a")]) == 0
    assert NOTE in capsys.readouterr().err
    assert not {p.name for p in (tmp_path / "a").iterdir()} & RECORDS
    monkeypatch.setattr(pipeline, "STREAM_ABOVE_S", 30 * 60.0)
    assert main(["analyze", str(night), "--out", str(tmp_path / "b")]) == 0
    assert NOTE not in capsys.readouterr().err
    assert {p.name for p in (tmp_path / "b").iterdir()} >= RECORDS


def test_stream_without_raw_bcg_is_a_clear_error(
    night: Path, tmp_path: Path, streamed_out, capsys
) -> None:
    out, _, _ = streamed_out
    obj = json.loads((out / "session.json").read_text())
    del obj["sampled_tracks"]
    path = tmp_path / "in" / "session.json"
    path.parent.mkdir()
    path.write_text(json.dumps(obj))
    assert main(["analyze", str(path), "--out", str(tmp_path / "o"), "--stream"]) == 2
    err = capsys.readouterr().err
    assert "--stream needs a raw BCG track" in err and "Traceback" not in err


def test_stream_refuses_a_list_of_sessions(night: Path, tmp_path: Path, capsys) -> None:
    obj = json.loads(night.read_text())
    second = {**obj, "id": 2}
    path = night.parent / "two.json"
    path.write_text(json.dumps([obj, second]))
    assert main(["analyze", str(path), "--out", str(tmp_path), "--stream"]) == 2
    assert "reads one session per file" in capsys.readouterr().err


def test_stream_refuses_to_overwrite_its_input(night: Path, capsys) -> None:
    assert main(["analyze", str(night), "--out", str(night.parent), "--stream"]) == 2
    assert "would overwrite the input" in capsys.readouterr().err


def test_stream_trims_a_partial_frame_like_read_session(night: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    obj = json.loads(night.read_text())
    for spec in obj["sampled_tracks"].values():
        (src / spec["data_url"]).write_bytes((night.parent / spec["data_url"]).read_bytes())
    normal = src / obj["sampled_tracks"]["normal"]["data_url"]
    with open(normal, "ab") as f:
        f.write(b"\x01\x00" * 5)  # 5 samples: a partial 28-sample frame
    (src / "session.json").write_text(json.dumps(obj))
    out = tmp_path / "out"
    assert main(["analyze", str(src / "session.json"), "--out", str(out), "--stream"]) == 2
    assert not (out / "session.json").exists()
    args = ["analyze", str(src / "session.json"), "--out", str(out), "--stream"]
    with pytest.warns(SleepSignalWarning, match="partial"):
        assert main([*args, "--trim-partial-frames"]) == 0
    with pytest.warns(SleepSignalWarning, match="partial"):
        trimmed = read_session(src / "session.json", trim_partial_frames=True)
    got = read_session(out / "session.json").sampled_tracks["normal"].data
    np.testing.assert_array_equal(got, trimmed.sampled_tracks["normal"].data)
    np.testing.assert_array_equal(got, read_session(night).sampled_tracks["normal"].data)


def test_streamed_session_json_is_the_one_string_writers_bytes(night: Path, tmp_path: Path):
    """The streamed ``session.json`` (items written from the arrays, a chunk at a time) has
    the bytes ``json.dumps(session_to_dict(...))`` gave before (issue 7)."""
    from unittest import mock

    with mock.patch.object(beddit, "_ITEMS_PER_CHUNK", 1000):  # several chunks a track
        streamed = pipeline.analyze_streamed(night, tmp_path, nights=False)
    tracks = streamed.session.time_value_tracks
    assert max(len(t) for t in tracks.values()) > 1000
    assert all(t.source_items is None for t in tracks.values())  # written from the arrays
    assert (tmp_path / "notes.txt").read_text().splitlines() == streamed.notes
    assert tmp_path / "notes.txt" in streamed.files
    text = (tmp_path / "session.json").read_bytes()
    urls = {n: t["data_url"] for n, t in json.loads(text)["sampled_tracks"].items()}
    one_string = json.dumps(
        beddit.session_to_dict(streamed.session, urls), separators=(",", ":"), allow_nan=False
    )
    assert text == (one_string + "\n").encode("utf-8")


def test_streamed_nan_track_is_refused_before_any_file(
    night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NaN that JSON cannot hold stops the writing before a blob or the JSON is written."""
    real = pipeline._add_tracks

    def add_nan(session, new, *a, **k):
        bad = next(t for t in new if t.name == "heart_rate")
        values = np.array(bad.values)
        values[len(values) // 2] = np.nan
        nan_track = TimeValueTrack(bad.name, bad.times, values, bad.value_data_type)
        return real(session, [*(t for t in new if t is not bad), nan_track], *a, **k)

    monkeypatch.setattr(pipeline, "_add_tracks", add_nan)
    out = tmp_path / "out"
    with pytest.raises(DecodeError, match=r"time-value track 'heart_rate': item \d+"):
        pipeline.analyze_streamed(night, out, nights=False)
    assert not out.exists() or list(out.iterdir()) == []
