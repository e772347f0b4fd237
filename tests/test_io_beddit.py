"""Beddit Session JSON + blob decoding and writing."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sleepsignal as ss
from sleepsignal.errors import DecodeError, NotLoadedError, QueryError, SleepSignalWarning
from sleepsignal.io import (
    query_sessions,
    read_session,
    read_sessions,
    write_session,
    write_sessions,
)
from sleepsignal.session import DATA_TYPES

START = 1431835725.618702

# The document's example, with a relative data_url for each blob and unknown fields and
# tracks that real sessions carry (they must survive a round trip).
DOC_EXAMPLE = {
    "id": 1431835725,
    "start_timestamp": START,
    "end_timestamp": START + 60.0,
    "timezone": "America/New_York",
    "hardware": "1.0/39bc22e bl:1.1 hw:1",
    "software": "1.11.0 (101)",
    "frame_length": 0.2,
    "error_code": 0,
    "sampled_tracks": {
        "normal": {"samples_per_frame": 28, "data_url": "normal.bin", "data_type": "uint16"},
        "noise": {"samples_per_frame": 2, "data_url": "noise.bin", "data_type": "float32"},
    },
    "time_value_tracks": {
        "actigram": {"value_data_type": "float32", "items": [[0, 29973.82]]},
        "snoring_events": {"value_data_type": "float32", "items": []},
        "respiration_cycles": {"value_data_type": "float32", "items": [[40.3, 4.1]]},
        "heart_rate": {"value_data_type": "float32", "items": [[60, 64.59961]]},
        "sensor_status": {"value_data_type": "uint8", "items": [[58.4, 1], [29316.8, 1]]},
        "signal_high_percentile": {
            "value_data_type": "float32",
            "items": [[1.5, 2.0]],
            "vendor_note": "kept",
        },
    },
    "updated": 1371482503.646541,
    "mystery_field": {"nested": [1, 2, 3]},
}


def _write_example(
    folder: Path, obj: dict | None = None, normal: bytes | None = None, noise: bytes | None = None
) -> Path:
    obj = DOC_EXAMPLE if obj is None else obj
    rng = np.random.default_rng(1)
    n_frames = 300
    if normal is None:
        normal = rng.integers(0, 65536, n_frames * 28).astype("<u2").tobytes()
    if noise is None:
        noise = rng.random(n_frames * 2).astype("<f4").tobytes()
    (folder / "normal.bin").write_bytes(normal)
    (folder / "noise.bin").write_bytes(noise)
    path = folder / "session.json"
    path.write_text(json.dumps(obj))
    return path


def test_read_document_example(tmp_path: Path) -> None:
    s = read_session(_write_example(tmp_path))
    assert s.id == 1431835725 and s.timezone == "America/New_York"
    assert s.hardware == "1.0/39bc22e bl:1.1 hw:1" and s.error_code == 0
    normal = s.sampled_tracks["normal"]
    assert normal.fs == pytest.approx(140.0) and normal.data.dtype == np.dtype("<u2")
    assert normal.n_frames == 300 and not normal.data.flags.writeable
    assert s.sampled_tracks["noise"].fs == pytest.approx(10.0)
    hr = s.time_value_tracks["heart_rate"]
    assert hr.times.tolist() == [60.0] and hr.values.dtype == np.float32
    assert s.time_value_tracks["sensor_status"].values.dtype == np.uint8
    assert s.metadata["mystery_field"] == {"nested": [1, 2, 3]}


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    src = _write_example(tmp_path / "a")
    s = read_session(src)
    out = write_session(s, tmp_path / "b" / "session.json")
    assert json.loads(out.read_text()) == json.loads(src.read_text())
    # key order too, and integers stay integers
    assert list(json.loads(out.read_text())) == list(DOC_EXAMPLE)
    assert json.loads(out.read_text())["time_value_tracks"]["sensor_status"]["items"][0][1] == 1
    for blob in ("normal.bin", "noise.bin"):
        assert (tmp_path / "b" / blob).read_bytes() == (tmp_path / "a" / blob).read_bytes()
    again = read_session(out)
    assert np.array_equal(again.sampled_tracks["normal"].data, s.sampled_tracks["normal"].data)


def test_list_of_sessions(tmp_path: Path) -> None:
    _write_example(tmp_path)
    second = dict(DOC_EXAMPLE, id=1, sampled_tracks={})
    (tmp_path / "list.json").write_text(json.dumps([DOC_EXAMPLE, second]))
    sessions = read_sessions(tmp_path / "list.json")
    assert [s.id for s in sessions] == [1431835725, 1]
    with pytest.raises(DecodeError, match="read_sessions"):
        read_session(tmp_path / "list.json")


def test_remote_data_url_is_never_fetched(tmp_path: Path) -> None:
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    obj["sampled_tracks"]["normal"]["data_url"] = "https://bedditcloud-sleepdata.example/x"
    s = read_session(_write_example(tmp_path, obj))
    track = s.sampled_tracks["normal"]
    assert not track.loaded
    with pytest.raises(NotLoadedError, match="never fetches"):
        _ = track.data
    raw = (tmp_path / "normal.bin").read_bytes()
    s2 = read_session(tmp_path / "session.json", blobs={"normal": raw})
    assert s2.sampled_tracks["normal"].loaded
    # a not-loaded track keeps its URL when written back
    out = write_session(s, tmp_path / "out" / "session.json")
    assert json.loads(out.read_text())["sampled_tracks"]["normal"]["data_url"].startswith("https")


def test_file_url_and_path_escape(tmp_path: Path) -> None:
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    obj["sampled_tracks"]["normal"]["data_url"] = "file:normal.bin"
    assert read_session(_write_example(tmp_path, obj)).sampled_tracks["normal"].loaded
    obj["sampled_tracks"]["normal"]["data_url"] = "../secret.bin"
    with pytest.raises(DecodeError, match="outside the session's folder"):
        read_session(_write_example(tmp_path, obj))


def test_truncated_blob_names_file_and_sizes(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    short = rng.integers(0, 65536, 300 * 28 - 5).astype("<u2").tobytes()
    path = _write_example(tmp_path, normal=short)
    with pytest.raises(DecodeError, match=r"normal\.bin.*16790 bytes.*56-byte frames"):
        read_session(path)
    with pytest.warns(SleepSignalWarning, match="partial last frame was dropped"):
        s = read_session(path, trim_partial_frames=True)
    assert s.sampled_tracks["normal"].n_frames == 299


def test_frame_count_disagrees_with_span(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    long = rng.integers(0, 65536, 400 * 28).astype("<u2").tobytes()
    with pytest.raises(DecodeError, match=r"holds 400 frames.*is 300 frames"):
        read_session(_write_example(tmp_path, normal=long))


def test_dtype_disagreement(tmp_path: Path) -> None:
    as_float = np.zeros(300 * 28, "<f4").tobytes()
    with pytest.raises(DecodeError, match="float32.*declares uint16"):
        read_session(_write_example(tmp_path, normal=as_float))


def test_empty_blob(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="is empty; expected 300 frames"):
        read_session(_write_example(tmp_path, normal=b""))


def test_non_finite_noise_warns_and_is_kept(tmp_path: Path) -> None:
    noise = np.ones(600, "<f4")
    noise[[3, 7]] = [np.nan, np.inf]
    with pytest.warns(SleepSignalWarning, match="2 of 600 samples are NaN or infinite"):
        s = read_session(_write_example(tmp_path, noise=noise.tobytes()))
    assert np.isnan(s.sampled_tracks["noise"].data[3])


def test_out_of_order_items(tmp_path: Path) -> None:
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    obj["time_value_tracks"]["heart_rate"]["items"] = [[60, 64.0], [30, 65.0]]
    with pytest.raises(DecodeError, match="out of order, item 1 at t=30.0"):
        read_session(_write_example(tmp_path, obj))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.pop("start_timestamp"), "required field 'start_timestamp'"),
        (lambda o: o.update(end_timestamp="late"), "end_timestamp must be a number"),
        (lambda o: o["sampled_tracks"]["normal"].update(data_type="uint12"), "uint12"),
        (lambda o: o["sampled_tracks"]["normal"].update(samples_per_frame=0), "positive integer"),
        (lambda o: o["time_value_tracks"]["heart_rate"].update(items=[[1, "x"]]), "item 0"),
        (lambda o: o["time_value_tracks"]["heart_rate"].update(items=[[1, 2, 3]]), "item 0"),
        (lambda o: o["time_value_tracks"]["sensor_status"].update(items=[[1, 2.5]]), "non-integer"),
        (lambda o: o["time_value_tracks"]["sensor_status"].update(items=[[1, 300]]), "range"),
        (lambda o: o.update(frame_length=0), "frame_length"),
    ],
)
def test_bad_fields(tmp_path: Path, mutate, message: str) -> None:
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    mutate(obj)
    with pytest.raises(DecodeError, match=message):
        read_session(_write_example(tmp_path, obj))


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DecodeError, match="not valid JSON"):
        read_session(tmp_path / "bad.json")
    with pytest.raises(DecodeError, match="no such session file"):
        read_session(tmp_path / "nope.json")
    (tmp_path / "num.json").write_text("42")
    with pytest.raises(DecodeError, match="must be a JSON object"):
        read_session(tmp_path / "num.json")


def test_frame_length_missing_assumes_documented_value(tmp_path: Path) -> None:
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    del obj["frame_length"]
    s = read_session(_write_example(tmp_path, obj))
    assert s.frame_length == 0.2 and s.sampled_tracks["normal"].fs == pytest.approx(140.0)
    rng = np.random.default_rng(3)
    long = rng.integers(0, 65536, 400 * 28).astype("<u2").tobytes()
    with pytest.raises(DecodeError, match="frame_length absent: assumed 0.2 s"):
        read_session(_write_example(tmp_path, obj, normal=long))


def test_absolute_item_times_are_made_relative(tmp_path: Path) -> None:
    # The document calls item times Unix timestamps; its examples are relative. Both read.
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    obj["time_value_tracks"]["heart_rate"]["items"] = [[START + 60, 64.5]]
    s = read_session(_write_example(tmp_path, obj))
    assert s.time_value_tracks["heart_rate"].times[0] == pytest.approx(60.0)
    out = write_session(s, tmp_path / "o" / "session.json")
    assert json.loads(out.read_text())["time_value_tracks"]["heart_rate"]["items"] == [
        [START + 60, 64.5]
    ]


@given(
    frames=st.integers(min_value=0, max_value=40),
    spf=st.integers(min_value=1, max_value=32),
    data_type=st.sampled_from(["uint16", "float32", "int16", "uint8"]),
    seed=st.integers(0, 2**16),
)
def test_any_valid_frames_round_trip_bytes(tmp_path_factory, frames, spf, data_type, seed) -> None:
    folder = tmp_path_factory.mktemp("rt")
    dtype = ss.session.DATA_TYPES[data_type]
    rng = np.random.default_rng(seed)
    if dtype.kind == "f":  # finite floats (non-finite values warn, tested above)
        raw = (rng.standard_normal(frames * spf) * 1e3).astype(dtype).view(np.uint8)
    else:
        raw = rng.integers(0, 256, frames * spf * dtype.itemsize, dtype=np.uint8)
    (folder / "t.bin").write_bytes(raw.tobytes())
    obj = {
        "start_timestamp": 1e9,
        "end_timestamp": 1e9 + frames * 0.2,
        "frame_length": 0.2,
        "sampled_tracks": {
            "t": {"samples_per_frame": spf, "data_url": "t.bin", "data_type": data_type}
        },
    }
    (folder / "s.json").write_text(json.dumps(obj))
    s = read_session(folder / "s.json")
    write_session(s, folder / "out" / "s.json")
    assert (folder / "out" / "t.bin").read_bytes() == raw.tobytes()


def test_query_rule() -> None:
    a = ss.Session({"start_timestamp": 100.0, "end_timestamp": 200.0, "updated": 500.0})
    b = ss.Session({"start_timestamp": 1000.0, "end_timestamp": 2000.0, "updated": 50.0})
    assert query_sessions([a, b], updated_after=100.0) == [a]
    assert query_sessions([a, b], start_timestamp=500.0, end_timestamp=1500.0) == [b]
    wording = "either use the updated_after or both start_timestamp and end_timestamp"
    for kwargs in (
        {},
        {"start_timestamp": 1.0},
        {"end_timestamp": 1.0},
        {"updated_after": 1.0, "start_timestamp": 1.0, "end_timestamp": 2.0},
    ):
        with pytest.raises(QueryError, match=wording):
            query_sessions([a, b], **kwargs)


def test_golden_blob_layout(tmp_path: Path) -> None:
    # Little-endian, frames back to back, no header: the bytes of a known array.
    s = ss.Session.from_array(np.arange(56, dtype=np.uint16), 140.0, start=1e9)
    write_session(s, tmp_path / "s.json")
    blob = (tmp_path / f"{s.id}_normal.bin").read_bytes()
    assert blob == struct.pack("<56H", *range(56))


def test_round_trip_keeps_absent_keys_absent_and_file_urls(tmp_path: Path) -> None:
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    obj["sampled_tracks"]["normal"]["data_url"] = "file:normal.bin"
    del obj["time_value_tracks"]["heart_rate"]["value_data_type"]
    (tmp_path / "a").mkdir()
    src = _write_example(tmp_path / "a", obj)
    out = write_session(read_session(src), tmp_path / "b" / "session.json")
    assert json.loads(out.read_text()) == obj
    bare = {"start_timestamp": 1e9, "end_timestamp": 1e9 + 1, "sampled_tracks": {}}
    (tmp_path / "bare.json").write_text(json.dumps(bare))
    out = write_session(read_session(tmp_path / "bare.json"), tmp_path / "c" / "s.json")
    assert json.loads(out.read_text()) == bare


def test_nan_in_json_is_a_decode_error(tmp_path: Path) -> None:
    (tmp_path / "nan.json").write_text('{"start_timestamp": 1, "end_timestamp": NaN}')
    with pytest.raises(DecodeError, match="NaN"):
        read_session(tmp_path / "nan.json")


@pytest.mark.parametrize("url", ["", ".", "sub", "file://evilhost/normal.bin"])
def test_data_url_must_name_a_local_file(tmp_path: Path, url: str) -> None:
    (tmp_path / "sub").mkdir()
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    obj["sampled_tracks"]["normal"]["data_url"] = url
    with pytest.raises(DecodeError, match="not a file|outside|host"):
        read_session(_write_example(tmp_path, obj))


def test_list_with_blobs_keyed_by_name_is_refused(tmp_path: Path) -> None:
    _write_example(tmp_path)
    (tmp_path / "list.json").write_text(json.dumps([DOC_EXAMPLE, dict(DOC_EXAMPLE, id=2)]))
    with pytest.raises(DecodeError, match="keyed by data_url"):
        read_sessions(tmp_path / "list.json", blobs={"normal": b""})


def test_sessions_sharing_a_data_url_get_their_own_blobs(tmp_path: Path) -> None:
    from sleepsignal.io import write_sessions

    sessions = []
    for i, value in enumerate((111, 222)):
        folder = tmp_path / f"in{i}"
        folder.mkdir()
        normal = np.full(300 * 28, value, "<u2").tobytes()
        sessions.append(read_session(_write_example(folder, normal=normal)))
    write_sessions(sessions, tmp_path / "out" / "list.json")
    back = read_sessions(tmp_path / "out" / "list.json")
    assert [int(s.sampled_tracks["normal"].data[0]) for s in back] == [111, 222]


def test_warnings_point_at_the_callers_line(tmp_path: Path) -> None:
    noise = np.ones(600, "<f4")
    noise[0] = np.nan
    path = _write_example(tmp_path, noise=noise.tobytes())
    with pytest.warns(SleepSignalWarning) as record:
        read_session(path)
    assert record[0].filename == __file__


# --- the JSON writer: bytes of the one-string writer, memory of a chunk ---------------


def _one_string_bytes(sessions: list, written: Path, *, as_list: bool) -> bytes:
    """What the writer wrote before it streamed: ``json.dumps`` of ``session_to_dict``.

    The ``data_url`` of each sampled track is the one the writer chose (read back).
    """
    from sleepsignal.io.beddit import session_to_dict

    obj = json.loads(written.read_text())
    objs = obj if as_list else [obj]
    dicts = [
        session_to_dict(
            s,
            {n: t["data_url"] for n, t in o.get("sampled_tracks", {}).items() if "data_url" in t},
        )
        for s, o in zip(sessions, objs, strict=True)
    ]
    payload = dicts if as_list else dicts[0]
    return (json.dumps(payload, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def _assert_same_bytes(session, folder: Path) -> None:
    p = write_session(session, folder / "session.json")
    assert p.read_bytes() == _one_string_bytes([session], p, as_list=False)


def _tv(name: str, times, values, data_type: str = "float32") -> ss.TimeValueTrack:
    return ss.TimeValueTrack(name, np.asarray(times, float), np.asarray(values), data_type)


def test_writer_bytes_equal_one_string_demo(tmp_path: Path) -> None:
    from conftest import FIXTURES

    session = read_session(FIXTURES / "demo_session" / "session.json")
    _assert_same_bytes(session, tmp_path)


def test_writer_bytes_equal_one_string_every_track(tmp_path: Path) -> None:
    from sleepsignal.simulate import simulate_night

    analysis = ss.analyze(simulate_night(0.5, seed=3, bed_exits=1, mains_hz=50.0).session)
    session = analysis.session
    assert {"heartbeat", "heart_rate", "respiration_cycles", "actigram", "presence"} <= set(
        session.time_value_tracks
    )
    assert all(t.source_items is None for t in session.time_value_tracks.values())
    _assert_same_bytes(session, tmp_path)


def test_writer_bytes_empty_one_item_and_non_ascii(tmp_path: Path) -> None:
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    obj["hardware"] = "Sängyn anturi (Zürich)"
    obj["note"] = {"schläft": '😴 \u2028 \x00 "quoted" \\', "ключ": [1.5e-7, -0.0, 1e16, 2**70]}
    obj["time_value_tracks"]["ünïcode track"] = {"value_data_type": "float32", "items": []}
    src = _write_example(tmp_path, obj)
    session = read_session(src).with_tracks(
        [
            _tv("empty", [], np.array([], np.float32)),
            _tv("one", [0.2], np.array([64.6], np.float32)),
            _tv("one64", [1e-5], [1e22], "float64"),
            _tv("status", [0.0, 1.5], np.array([0, 255], np.uint8), "uint8"),
            _tv("signed", [3.0], np.array([-(2**31)], np.int32), "int32"),
        ]
    )
    (tmp_path / "out").mkdir()
    _assert_same_bytes(session, tmp_path / "out")
    assert read_session(tmp_path / "out" / "session.json").metadata["note"] == obj["note"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5])
def test_writer_chunk_seams(tmp_path: Path, monkeypatch, chunk: int) -> None:
    import sleepsignal.io.beddit as beddit

    monkeypatch.setattr(beddit, "_ITEMS_PER_CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    session = read_session(_write_example(tmp_path)).with_tracks(
        [
            _tv(f"n{n}", np.sort(rng.uniform(0, 60, n)), rng.normal(60, 9, n).astype(np.float32))
            for n in range(8)
        ]
    )
    (tmp_path / "out").mkdir()
    _assert_same_bytes(session, tmp_path / "out")


def test_writer_list_of_sessions_bytes(tmp_path: Path) -> None:
    from sleepsignal.io import write_sessions

    a = read_session(_write_example(tmp_path))
    b = a.with_tracks([_tv("heart_rate", [1.0, 2.0], np.array([61.2, 62.7], np.float32))])
    p = write_sessions([a, b], tmp_path / "out" / "sessions.json")
    assert p.read_bytes() == _one_string_bytes([a, b], p, as_list=True)
    p = write_sessions([], tmp_path / "out" / "none.json")
    assert p.read_bytes() == b"[]\n"


_FLOAT_BITS = {"float32": (np.uint32, np.float32), "float64": (np.uint64, np.float64)}


@given(
    n=st.integers(0, 40),
    data_type=st.sampled_from(sorted(DATA_TYPES)),
    chunk=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
    any_times=st.booleans(),
)
def test_writer_bytes_any_arrays(
    tmp_path_factory, n: int, data_type: str, chunk: int, seed: int, any_times: bool
) -> None:
    """Random bit patterns (every finite float32/float64, every integer) and times."""
    from unittest import mock

    import sleepsignal.io.beddit as beddit

    dtype = DATA_TYPES[data_type]
    rng = np.random.default_rng(seed)
    if dtype.kind == "f":
        bits, ftype = _FLOAT_BITS[data_type]
        values = rng.integers(0, np.iinfo(bits).max, n, dtype=bits, endpoint=True).view(ftype)
        values = np.where(np.isfinite(values), values, ftype(1.5))
    else:
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    if any_times:  # any finite float64, sorted
        times = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True).view(np.float64)
        times = np.sort(times[np.isfinite(times)])
        values = values[: len(times)]
    else:
        times = np.sort(rng.uniform(0, 1, n) * 10.0 ** rng.integers(-8, 12))
    folder = tmp_path_factory.mktemp("w")
    base = ss.Session.from_array(np.zeros(28), 140.0, start=1e9)
    session = base.with_tracks([_tv("x", times, values.astype(dtype), data_type)])
    with mock.patch.object(beddit, "_ITEMS_PER_CHUNK", chunk):
        _assert_same_bytes(session, folder)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_writer_refuses_nan_naming_the_track(tmp_path: Path, bad: float) -> None:
    good = _tv("fine", [0.0], np.array([1.0], np.float32))
    track = _tv("heart_rate", [0.0, 1.0, 2.0], np.array([60.0, bad, 61.0], np.float32))
    session = ss.Session.from_array(np.zeros(2800), 140.0, start=1e9).with_tracks([good, track])
    out = tmp_path / "out"
    with pytest.raises(DecodeError, match=r"time-value track 'heart_rate': item 1 has value"):
        write_session(session, out / "session.json")
    assert not out.exists() or list(out.iterdir()) == []  # no blob, no JSON, no temp file


def test_a_failed_write_leaves_the_folder_as_it_was(tmp_path: Path, monkeypatch) -> None:
    """A disk that fills while the JSON is written: the old session's JSON and blobs stay,
    none of the new blobs is renamed in beside them, no temporary file is left."""
    import errno

    import sleepsignal.io.beddit as beddit

    path = tmp_path / "session.json"
    old = ss.Session.from_array((np.arange(2800) % 7).astype(np.uint16), 140.0, start=1e9)
    write_session(old, path)
    before = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    writer = beddit._json_writer

    def full_disk(*args, **kwargs):
        write = writer(*args, **kwargs)

        def failing(tmp: Path) -> None:
            write(tmp)
            raise OSError(errno.ENOSPC, "No space left on device")

        return failing

    monkeypatch.setattr(beddit, "_json_writer", full_disk)
    new = ss.Session.from_array((np.arange(2800) % 5).astype(np.uint16), 140.0, start=1e9)
    with pytest.raises(OSError, match="No space left"):
        write_session(new, path)
    assert {f.name: f.read_bytes() for f in tmp_path.iterdir()} == before


def test_one_session_object_needs_exactly_one_session(tmp_path: Path) -> None:
    a = ss.Session.from_array(np.zeros(2800), 140.0, start=1e9)
    for sessions in ([], [a, a]):
        with pytest.raises(DecodeError, match="as_list=False writes one session object"):
            write_sessions(sessions, tmp_path / "s.json", as_list=False)
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_nan_in_read_items_and_metadata(tmp_path: Path) -> None:
    src = read_session(_write_example(tmp_path))
    raw = ss.TimeValueTrack(
        "raw",
        np.array([0.0, 1.0]),
        np.array([1.0, 2.0]),
        "float64",
        source_items=[[0, 1], [1, float("nan")]],
    )
    out = tmp_path / "out"
    with pytest.raises(DecodeError, match=r"track 'raw': item 1 \[1, nan\]"):
        write_session(src.with_tracks([raw]), out / "session.json")
    assert not out.exists() or list(out.iterdir()) == []
    obj = json.loads(json.dumps(DOC_EXAMPLE))
    (tmp_path / "m").mkdir()
    session = read_session(_write_example(tmp_path / "m", obj))
    session.metadata["mystery_field"]["nested"].append(float("inf"))
    with pytest.raises(DecodeError, match="cannot be written as JSON"):
        write_session(session, out / "session.json")
    assert not out.exists() or list(out.iterdir()) == []
    session.metadata["mystery_field"]["nested"][-1] = np.float32(1.5)  # not a JSON type
    with pytest.raises(DecodeError, match="cannot be written as JSON"):
        write_session(session, out / "session.json")
    assert not out.exists() or list(out.iterdir()) == []


def test_writer_memory_does_not_grow_with_the_items(tmp_path: Path) -> None:
    """Writing a track of 200 000 items needs what writing 20 000 needs (a chunk)."""
    import tracemalloc

    base = ss.Session.from_array(np.zeros(28), 140.0, start=1e9)
    peaks = []
    for n in (20_000, 200_000):
        rng = np.random.default_rng(n)
        track = _tv("x", np.cumsum(rng.uniform(0.5, 1.5, n)), rng.normal(60, 9, n).astype("f4"))
        session = base.with_tracks([track])
        tracemalloc.start()
        write_session(session, tmp_path / f"{n}" / "session.json")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # the one-string writer took about 150 bytes per item: +27 MB for the larger track
    assert peaks[1] < peaks[0] + 1_000_000, peaks


def test_writer_items_as_read_any_json(tmp_path: Path) -> None:
    """Items written back verbatim: odd but legal JSON is written, bytes as before."""
    odd = [[0, "nan"], [1, 2, 3], [2, {"a": [1.5, None]}], [3, 10**400], [4.5, True], [5, -0.0]]
    track = ss.TimeValueTrack("odd", np.arange(6.0), np.zeros(6), "float64", source_items=odd)
    session = read_session(_write_example(tmp_path)).with_tracks([track])
    (tmp_path / "out").mkdir()
    _assert_same_bytes(session, tmp_path / "out")
    bad = ss.TimeValueTrack(
        "bad", np.arange(2.0), np.zeros(2), "float64", source_items=[[0, 1], [1, object()]]
    )
    with pytest.raises(DecodeError, match=r"track 'bad': item 1 \[1, <object"):
        write_session(session.with_tracks([bad]), tmp_path / "bad" / "session.json")
    assert not (tmp_path / "bad").exists() or list((tmp_path / "bad").iterdir()) == []
