"""sleepsignal batch: many sessions, failures alone, re-runs, the Parquet store, Dask."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from sleepsignal.batch import analyze_file, run_batch
from sleepsignal.simulate import simulate_night, write_simulated

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """Two short simulated nights, one with a truncated blob, and a JSON that is no session."""
    root = tmp_path_factory.mktemp("cohort")
    for i, seed in enumerate((11, 12, 13)):
        night = simulate_night(0.25, seed=seed, start=1.7e9 + i * 86400)
        path = write_simulated(night, root / f"night{i}") / "session.json"
        obj = json.loads(path.read_text())
        obj["updated"] = 1.7e9 + i * 86400 + 40000.0
        path.write_text(json.dumps(obj))
    bad = root / "night2"
    blob = next(p for p in bad.iterdir() if p.name.endswith(".bin") and "normal" in p.name)
    blob.write_bytes(blob.read_bytes()[:-100])
    (root / "notes.json").write_text(json.dumps({"hello": "world"}))
    return root


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_batch_runs_failures_alone_and_reruns_skip(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    log = io.StringIO()
    res = run_batch([cohort], out, workers=2, store=out / "tracks", progress=log)
    assert len(res.done) == 2, res.summary()
    assert len(res.failed) == 1 and "night2" in res.failed[0][0]
    assert res.failed[0][1].startswith("DecodeError:") and "bytes" in res.failed[0][1]
    assert any("notes.json" in key and "not a session" in why for key, why in res.skipped)
    sessions = sorted(p for p in out.iterdir() if p.is_dir() and p.name != "tracks")
    assert len(sessions) == 2
    for folder in sessions:
        assert {
            "session.json",
            "sleep.json",
            "hypnogram.csv",
            "ocariot.json",
            "jawbone.json",
            "jawbone_snapshot.json",
        } <= _files(folder)
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "partial output left"
    assert "[3/3] done 2 failed 1" in log.getvalue()

    from sleepsignal.store import read_track

    presence = read_track(out / "tracks", "presence")
    assert set(presence.session_id) == {int(p.name) for p in sessions}
    assert str(presence.time.dt.tz) == "UTC"
    assert set(presence.value) <= {65.0, 78.0, 80.0}

    again = run_batch([cohort], out, workers=1, progress=io.StringIO())
    assert again.done == [] and len(again.failed) == 1
    assert sum(why == "outputs are newer than the session" for _, why in again.skipped) == 2


def test_updated_after_selects_like_the_beddit_query(cohort: Path, tmp_path: Path) -> None:
    res = run_batch(
        [cohort / "night1"],
        tmp_path / "o",
        workers=1,
        updated_after=1.7e9 + 86400 + 50000.0,
        progress=io.StringIO(),
    )
    assert res.done == [] and res.skipped and "not updated after" in res.skipped[0][1]


def test_interrupted_output_is_completed_by_a_rerun(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # a half-written folder from a killed worker, and the session's final folder missing
    (out / ".1700000000.partial-999").mkdir()
    (out / ".1700000000.partial-999" / "session.json").write_text("{")
    reason = analyze_file(str(next((cohort / "night0").glob("*.json"))), str(out), 0, {})
    assert reason is None
    assert "sleep.json" in _files(out / "1700000000")


_CRASHED = "SLEEPSIGNAL_TEST_CRASH_MARKER"


def crash_once_then_analyze(*args):
    """Kill the worker process the first time it is called (a worker failing mid-job);
    fail a session whose worker was not prepared as the local pool prepares its own."""
    import gc

    marker = Path(os.environ[_CRASHED])
    if not marker.exists():
        marker.write_text("crashed")
        os._exit(1)
    if gc.get_freeze_count() == 0:
        return "the worker plugin did not run: nothing frozen"
    return analyze_file(*args)


def test_dask_cluster_with_a_worker_dying_mid_job(
    cohort: Path, tmp_path: Path, monkeypatch
) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(__import__(__name__))
    monkeypatch.setenv(_CRASHED, str(tmp_path / "crashed"))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        res = run_batch(
            [cohort / "night0", cohort / "night1"],
            tmp_path / "out",
            scheduler=cluster.scheduler_address,
            progress=io.StringIO(),
            _task=crash_once_then_analyze,
        )
        # the worker plugin lasts for the batch only: later workers are not prepared
        assert "sleepsignal-warm-worker" not in cluster.scheduler.worker_plugins
    assert (tmp_path / "crashed").exists(), "no worker was killed"
    assert len(res.done) == 2 and res.failed == [], res.summary()
    folders = [p.name for p in (tmp_path / "out").iterdir()]
    assert sorted(folders) == ["1700000000", "1700086400"]  # each once, nothing partial


def test_sessions_sharing_an_id_fail_instead_of_overwriting(cohort: Path, tmp_path: Path) -> None:
    src = next((cohort / "night0").glob("session.json"))
    twin = tmp_path / "twin"
    twin.mkdir()
    for p in (cohort / "night0").iterdir():
        (twin / p.name).write_bytes(p.read_bytes())
    res = run_batch(
        [src, twin / "session.json"], tmp_path / "out", workers=1, progress=io.StringIO()
    )
    assert len(res.done) == 1 and len(res.failed) == 1
    assert "outputs would collide" in res.failed[0][1]


def test_list_file_gives_one_output_per_session(cohort: Path, tmp_path: Path) -> None:
    from sleepsignal.io import read_session, write_sessions

    a = read_session(cohort / "night0" / "session.json")
    b = read_session(cohort / "night1" / "session.json")
    write_sessions([a, b], tmp_path / "in" / "list.json")
    res = run_batch([tmp_path / "in"], tmp_path / "out", workers=1, progress=io.StringIO())
    assert len(res.done) == 2 and res.failed == [], res.summary()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([str(a.id), str(b.id)])


# --- long sessions are streamed, as sleepsignal analyze streams them ------------------


@pytest.fixture(scope="module")
def short_night(tmp_path_factory) -> Path:
    from sleepsignal.io import write_session

    sim = simulate_night(20 / 60, seed=5, mains_hz=50.0)
    return write_session(sim.session, tmp_path_factory.mktemp("short") / "session.json")


def _analyze_cli(session: Path, out: Path) -> None:
    import contextlib

    from sleepsignal.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["analyze", str(session), "--out", str(out), "--stream"]) == 0


def _assert_same_outputs(a: Path, b: Path) -> None:
    """Same files; the session JSONs equal (tracks, metadata) and the blobs equal."""
    assert _files(a) == _files(b)
    for name in _files(a):
        if name == "session.json":
            assert json.loads((a / name).read_text()) == json.loads((b / name).read_text())
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_batch_streams_above_the_threshold_like_analyze(
    short_night: Path, tmp_path: Path, monkeypatch
) -> None:
    import sleepsignal.pipeline as pipeline

    _analyze_cli(short_night, tmp_path / "cli")
    monkeypatch.setattr(pipeline, "STREAM_ABOVE_S", 600.0)  # the 20-min night is "long"
    out = tmp_path / "out"
    assert analyze_file(str(short_night), str(out), 0, {}) is None
    (folder,) = [p for p in out.iterdir()]
    assert "sleep.json" not in _files(folder)  # streamed: tracks and blobs, no records
    _assert_same_outputs(tmp_path / "cli", folder)
    # below the threshold the same session is analysed whole, with records
    monkeypatch.setattr(pipeline, "STREAM_ABOVE_S", 24 * 3600.0)
    assert analyze_file(str(short_night), str(tmp_path / "whole"), 0, {}) is None
    assert "sleep.json" in _files(tmp_path / "whole" / folder.name)


def test_batch_stream_flag_in_a_worker_with_the_parquet_store(
    short_night: Path, tmp_path: Path
) -> None:
    _analyze_cli(short_night, tmp_path / "cli")
    out = tmp_path / "out"
    res = run_batch(
        [short_night], out, workers=1, stream=True, store=out / "tracks", progress=io.StringIO()
    )
    assert len(res.done) == 1 and res.failed == [], res.summary()
    (folder,) = [p for p in out.iterdir() if p.name != "tracks"]
    _assert_same_outputs(tmp_path / "cli", folder)
    from sleepsignal.store import read_track

    assert len(read_track(out / "tracks", "heart_rate")) > 0


def test_batch_stream_refuses_what_analyze_stream_refuses(
    short_night: Path, tmp_path: Path
) -> None:
    from sleepsignal.io import read_session, write_sessions

    s = read_session(short_night)
    write_sessions([s], tmp_path / "in" / "list.json")
    reason = analyze_file(
        str(tmp_path / "in" / "list.json"), str(tmp_path / "o"), 0, {}, None, True
    )
    assert reason is not None and "one session per file" in reason
    obj = json.loads(short_night.read_text())
    obj["sampled_tracks"] = {}  # no raw BCG to stream
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(obj))
    reason = analyze_file(str(bare), str(tmp_path / "o"), 0, {}, None, True)
    assert reason is not None and "--stream needs a raw BCG track 'normal'" in reason
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_store_drops_a_track_the_session_no_longer_has(tmp_path: Path) -> None:
    """Re-analysing a session whose snoring became unknown leaves no old
    ``snoring_events/<id>.parquet`` behind (read_track returned its old rows); the
    files of other sessions stay."""
    import numpy as np

    from sleepsignal.errors import SleepSignalError
    from sleepsignal.session import Session, TimeValueTrack
    from sleepsignal.store import read_track, write_tracks

    pytest.importorskip("pyarrow")

    def session(start: float, snoring: bool) -> Session:
        t = np.array([60.0, 120.0])
        tracks = [TimeValueTrack("heart_rate", t, np.array([60.0, 61.0], np.float32))]
        if snoring:
            tracks.append(TimeValueTrack("snoring_events", t, np.array([3.0, 4.0], np.float32)))
        md = {"start_timestamp": start, "end_timestamp": start + 600.0}
        return Session(md, {}, {x.name: x for x in tracks})

    store = tmp_path / "tracks"
    a, b = session(1.7e9, True), session(1.7e9 + 86400, True)
    write_tracks(a, store)
    write_tracks(b, store)
    assert set(read_track(store, "snoring_events")["session_id"]) == {a.id, b.id}
    written = write_tracks(session(1.7e9, False), store)  # a again: snoring now unknown
    assert written == [store / "heart_rate" / f"{a.id}.parquet"]
    assert not (store / "snoring_events" / f"{a.id}.parquet").exists()
    assert set(read_track(store, "snoring_events")["session_id"]) == {b.id}
    assert set(read_track(store, "heart_rate")["session_id"]) == {a.id, b.id}
    write_tracks(session(1.7e9 + 86400, False), store)
    with pytest.raises(SleepSignalError, match="no track 'snoring_events'"):
        read_track(store, "snoring_events")
    # only a derived track that may be unknown is ever deleted: a folder of the user's
    # own (or a track this session does not carry) keeps its file (review: any folder's
    # <id>.parquet was deleted)
    mine = store / "my_notes" / f"{a.id}.parquet"
    mine.parent.mkdir()
    mine.write_bytes(b"not ours")
    (store / "events").mkdir()
    (store / "events" / f"{a.id}.parquet").write_bytes(b"not derived")
    write_tracks(session(1.7e9, False), store)
    assert mine.read_bytes() == b"not ours"
    assert (store / "events" / f"{a.id}.parquet").read_bytes() == b"not derived"
