"""Streaming: tracks of a recording read in chunks equal those of the whole signal."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_streaming import interval_agreement, naive_extreme_counts

import sleepsignal.streaming as streaming
from sleepsignal.errors import DecodeError, SignalError
from sleepsignal.heartbeats import detect_heartbeats, heartbeat_tracks
from sleepsignal.io.beddit import open_blob, read_session, write_session
from sleepsignal.session import Session
from sleepsignal.streaming import StreamedTracks, stream_session_tracks, stream_tracks
from sleepsignal.tracks import session_tracks

FS = 140.0


@functools.cache
def _night():
    """25 min with a bed exit, 60 Hz hum and snoring: every track has items."""
    from sleepsignal.simulate import simulate_night

    return simulate_night(
        25 / 60, seed=11, bed_exits=1, sleep_onset=60.0, mains_hz=60.0, snoring_rate=6.0
    )


@functools.cache
def _whole():
    """(tracks without beats, heartbeat tracks, tracks with the beats as analyze runs it)."""
    session = _night().session
    hb = detect_heartbeats(*session.signal("normal"))
    return (
        session_tracks(session),
        heartbeat_tracks(session, heartbeats=hb),
        session_tracks(session, beat_times=hb.beat_times),
    )


# plain functions rather than fixtures for the hypothesis tests: a failing example then
# prints the chunk boundaries, not a 25-minute recording
@pytest.fixture
def night():
    return _night()


@pytest.fixture
def whole():
    return _whole()


def _cuts(n: int, fractions: list[float]) -> list[np.ndarray]:
    """Indices that cut ``n`` samples at the given fractions (any order, repeats ok)."""
    return sorted({int(f * n) for f in fractions})


def _assert_tracks_equal(a, b) -> None:
    """Exact equality: times, values and dtypes of every track, and the notes."""
    la, lb = a.as_list(), b.as_list()
    assert [t.name for t in la] == [t.name for t in lb]
    for ta, tb in zip(la, lb, strict=True):
        assert ta.values.dtype == tb.values.dtype, ta.name
        np.testing.assert_array_equal(ta.times, tb.times, err_msg=ta.name)
        np.testing.assert_array_equal(ta.values, tb.values, err_msg=ta.name)
    assert a.notes == b.notes


# --- the kernel ----------------------------------------------------------------------


def test_extreme_counts_kernel_matches_naive():
    from sleepsignal._stream_kernels import _extreme_counts_kernel
    from sleepsignal._track_kernels import _scan_kernel

    rng = np.random.default_rng(0)
    for dtype in (np.uint16, np.int16, np.int32, np.float32, np.float64, np.int64):
        for n in (0, 1, 55, 56, 57, 1000):
            x = rng.integers(0, 4, n).astype(dtype)  # few levels: many ties on the extremes
            if dtype in (np.float32, np.float64):
                x = x * dtype(0.1) - dtype(3.3)  # fractions: extremes go to float64 and back
            _, wmin, wmax = _scan_kernel(x, 2, 8)
            got = _extreme_counts_kernel(x, 8, wmin, wmax)
            for g, v in zip(got, naive_extreme_counts(x, 8, wmin, wmax), strict=True):
                np.testing.assert_array_equal(g, v)
    flat = np.full(16, 7, np.uint16)
    flat.flags.writeable = False
    _, wmin, wmax = _scan_kernel(flat, 2, 8)
    np.testing.assert_array_equal(_extreme_counts_kernel(flat, 8, wmin, wmax)[0], [8, 8])


# --- tracks: exact, whatever the chunk boundaries --------------------------------------


@settings(max_examples=25)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=0, max_size=12),
    st.sampled_from([5.0, 61.0, 600.0]),
)
def test_tracks_equal_whole_signal_for_random_chunk_boundaries(fractions, chunk_s):
    night, whole = _night(), _whole()
    x = night.session.sampled_tracks["normal"].data
    noise = night.session.sampled_tracks["noise"].data
    pieces = np.split(x, _cuts(len(x), fractions))
    out = stream_tracks(
        iter(pieces), FS, noise=noise, noise_fs=10.0, chunk_s=chunk_s, heartbeats=False
    )
    assert out.n_samples == len(x)
    assert out.heartbeat is None and out.heartbeats is None
    _assert_tracks_equal(whole[0], out.tracks)


@settings(max_examples=8)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6))
def test_heartbeats_equal_whole_signal_below_two_segments(fractions):
    night, whole = _night(), _whole()
    # 25 min < 2 heartbeat cores: one segment, so the detector sees the whole signal
    x = night.session.sampled_tracks["normal"].data
    noise = night.session.sampled_tracks["noise"].data
    pieces = iter(np.split(x, _cuts(len(x), fractions)))
    out = stream_tracks(pieces, FS, noise=noise, noise_fs=10.0, chunk_s=300.0)
    # with heartbeats, breathing weighs the beat intervals, as in analyze
    _assert_tracks_equal(whole[2], out.tracks)
    for ta, tb in zip(whole[1], [out.heartbeat, out.heart_rate], strict=True):
        assert tb is not None
        np.testing.assert_array_equal(ta.times, tb.times)
        np.testing.assert_array_equal(ta.values, tb.values)
    assert len(whole[1][0].times) > 500  # the night has beats to compare (814)


def test_memmap_source_and_array_source(night, whole, tmp_path):
    x = night.session.sampled_tracks["normal"].data
    path = tmp_path / "normal.bin"
    x.tofile(path)
    mm = np.memmap(path, dtype=np.uint16, mode="r")
    noise = night.session.sampled_tracks["noise"].data
    out = stream_tracks(mm, FS, noise=noise, noise_fs=10.0, chunk_s=123.0, heartbeats=False)
    _assert_tracks_equal(whole[0], out.tracks)
    out2 = stream_tracks(np.asarray(x), FS, noise=noise, noise_fs=10.0, heartbeats=False)
    _assert_tracks_equal(whole[0], out2.tracks)


def test_session_file_read_in_chunks_equals_whole(night, whole, tmp_path):
    path = write_session(night.session, tmp_path / "s" / "session.json")
    out = stream_session_tracks(path, chunk_s=97.0)
    assert isinstance(out, StreamedTracks)
    _assert_tracks_equal(whole[2], out.tracks)
    assert [t.name for t in out.as_list()][:2] == ["heartbeat", "heart_rate"]
    for ta, tb in zip(whole[1], out.as_list()[:2], strict=True):
        np.testing.assert_array_equal(ta.times, tb.times)
        np.testing.assert_array_equal(ta.values, tb.values)


def test_gaps_in_float_source_are_held_like_the_whole_path(night):
    x = night.session.sampled_tracks["normal"].data.astype(np.float32)
    x[:700] = np.nan  # leading gap (5 s): filled with the first finite sample
    x[50_000:60_000] = np.inf  # a gap across chunk boundaries
    x[100_001] = np.nan
    x[-3:] = np.nan
    s = Session.from_array(x, FS, start=1.7e9, timezone="UTC")
    ref = session_tracks(s)
    assert "NaN or infinite" in ref.notes[0]
    for fractions in ([0.0001, 0.002, 0.3, 0.31], [0.5], []):
        pieces = np.split(x, _cuts(len(x), fractions))
        out = stream_tracks(iter(pieces), FS, chunk_s=20.0, heartbeats=False)
        assert out.tracks.notes[0] == ref.notes[0]
        _assert_tracks_equal(ref, out.tracks)
    # the gap is no signal: presence 78 over it
    pres = ref.presence
    k = np.searchsorted(pres.times, 50_000 / FS + 10.0, side="right") - 1
    assert pres.values[k] == 78


def test_all_nan_and_tiny_and_empty_sources():
    x = np.full(3024, np.nan, np.float32)
    ref = session_tracks(Session.from_array(x, FS, start=1.7e9, timezone="UTC"))
    out = stream_tracks(iter([x[:1000], x[1000:]]), FS, chunk_s=8.0)
    _assert_tracks_equal(ref, out.tracks)
    assert out.heartbeat is not None and len(out.heartbeat.times) == 0
    tiny = np.full(112, 32768, np.uint16)
    ref = session_tracks(Session.from_array(tiny, FS, start=1.7e9, timezone="UTC"))
    _assert_tracks_equal(ref, stream_tracks(tiny, FS, heartbeats=False).tracks)
    empty = stream_tracks(iter([]), FS)
    assert empty.n_samples == 0
    assert list(empty.tracks.presence.values) == [78]


# --- heartbeats on long recordings: measured agreement ----------------------------------


@pytest.fixture(scope="module")
def long_night():
    from sleepsignal.simulate import simulate_night

    return simulate_night(1.0, seed=5, profile="cardiac")


def test_heartbeats_on_many_segments_agree_with_whole_signal(long_night, monkeypatch):
    # 10-minute cores on a 1 h night: 5 seams (a night at the default 1 h core has 7)
    monkeypatch.setattr(streaming, "HEARTBEAT_CORE_S", 600.0)
    hb_w, hr_w = heartbeat_tracks(long_night.session)
    x = long_night.session.sampled_tracks["normal"].data
    out = stream_tracks(x, FS, chunk_s=250.0)
    hb_s, hr_s = out.heartbeat, out.heart_rate
    assert hb_s is not None and hr_s is not None
    assert len(hb_w.times) > 2500
    found, same, dv, dt = interval_agreement(hb_w.times, hb_w.values, hb_s.times, hb_s.values)
    back, _, _, _ = interval_agreement(hb_s.times, hb_s.values, hb_w.times, hb_w.values)
    # measured (seed 5, 1 h, 10-min cores): 3668 whole / 3665 streamed intervals; found
    # 0.9992 / back 1.000; identical values 0.9905; largest value difference 0.13 ms;
    # largest start difference 2.3 ms; heart rate 119 / 119 windows, largest 0.17 bpm
    assert found >= 0.995 and back >= 0.995
    assert same >= 0.98
    assert dv <= 0.001
    assert dt <= 0.01  # the fiducial reference differs per segment
    assert len(hr_s.times) >= len(hr_w.times) - 2
    _, ia, ib = np.intersect1d(hr_w.times, hr_s.times, return_indices=True)
    assert np.max(np.abs(hr_w.values[ia] - hr_s.values[ib])) <= 0.5  # bpm


# --- errors and the blob reader ---------------------------------------------------------


def test_bad_input_raises_clear_errors(night):
    x = night.session.sampled_tracks["normal"].data
    with pytest.raises(SignalError, match="same sample type"):
        stream_tracks(iter([x[:1000], x[1000:2000].astype(np.float32)]), FS)
    with pytest.raises(SignalError, match="1-D"):
        stream_tracks(iter([x[:1000].reshape(10, 100)]), FS)
    with pytest.raises(SignalError, match="real numbers"):
        stream_tracks(iter([np.array(["a", "b"])]), FS)
    with pytest.raises(SignalError, match="chunk_s"):
        stream_tracks(x, FS, chunk_s=0.0)
    with pytest.raises(SignalError, match="noise_fs"):
        stream_tracks(x, FS, noise=np.zeros(10, np.float32))
    with pytest.raises(SignalError, match="fs"):
        stream_tracks(x, 0.0)
    with pytest.raises(SignalError, match="1-D"):
        stream_tracks(x.reshape(-1, 2), FS)


def test_open_blob_reads_chunks_and_checks_like_read_session(night, tmp_path):
    path = write_session(night.session, tmp_path / "s" / "session.json")
    blob = open_blob(path)
    x = night.session.sampled_tracks["normal"].data
    assert (blob.n_samples, blob.fs, blob.dtype) == (len(x), FS, np.dtype("<u2"))
    np.testing.assert_array_equal(np.concatenate(list(blob.chunks(9999))), x)
    np.testing.assert_array_equal(blob.read(len(x) - 5, 100), x[-5:])
    assert len(blob.read(len(x), 10)) == 0
    with pytest.raises(DecodeError, match="chunk_samples"):
        next(blob.chunks(0))
    lazy = read_session(path, lazy=("normal",))
    assert not lazy.sampled_tracks["normal"].loaded
    assert "open_blob" in lazy.sampled_tracks["normal"].not_loaded_reason
    assert lazy.sampled_tracks["noise"].loaded
    # writing it back elsewhere would name a blob that is not written: refused, loudly
    with pytest.raises(DecodeError, match="'normal' is not loaded"):
        write_session(lazy, tmp_path / "copy" / "session.json")
    assert not (tmp_path / "copy" / "session.json").exists()
    with pytest.raises(DecodeError, match="no sampled track 'bogus'"):
        open_blob(path, "bogus")
    # a truncated blob is refused by open_blob as by read_session, naming the sizes
    blob_path = blob.path
    blob_path.write_bytes(blob_path.read_bytes()[:-560])  # 10 frames short
    with pytest.raises(DecodeError, match="frames"):
        open_blob(path)
    obj = json.loads(path.read_text())
    obj["sampled_tracks"]["normal"]["data_url"] = "https://example.org/normal.bin"
    path.write_text(json.dumps(obj))
    with pytest.raises(DecodeError, match="not a local file"):
        open_blob(path)


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(streaming)
    assert result.attempted >= 2 and result.failed == 0


def test_noise_not_loaded_is_said(night, whole, tmp_path):
    path = write_session(night.session, tmp_path / "s" / "session.json")
    obj = json.loads(path.read_text())
    obj["sampled_tracks"]["noise"]["data_url"] = "https://example.org/noise.bin"
    path.write_text(json.dumps(obj))
    out = stream_session_tracks(path, heartbeats=False)
    assert out.tracks.snoring_events is None
    assert "snoring_events omitted: noise track not loaded" in out.tracks.notes
    ref = session_tracks(read_session(path))
    assert ref.notes == out.tracks.notes
    np.testing.assert_array_equal(ref.presence.values, out.tracks.presence.values)


def test_window_counts_rule_equals_mains_interference_rule():
    # session_tracks (and so streaming) decides "clipped" from each window's extremes and
    # their counts; mains_interference from the recording's extremes: same windows
    from sleepsignal.mains import mains_interference

    rng = np.random.default_rng(3)
    x = (32768 + 40 * rng.standard_normal(140 * 600)).astype(np.uint16)
    x[10_000:16_000] = 65535  # clipped high for 43 s (runs under 32 s are debounced)
    x[30_000:30_005] = 0  # a few samples on the low rail: under 2 % of a window
    x[40_000:46_000] = 0  # clipped low
    x[60_000:66_000] = 32768  # flat
    ref = mains_interference(x, FS)
    got = session_tracks(Session.from_array(x, FS, start=1.7e9, timezone="UTC"))
    st = got.details.sensor_status
    np.testing.assert_array_equal(ref.window_status, st.window_status)
    np.testing.assert_array_equal(ref.times, st.times)
    assert (ref.window_status == 3).sum() >= 27


@pytest.mark.realdata
@pytest.mark.parametrize("sliced", [False, True], ids=["one-piece", "sliced"])
@pytest.mark.parametrize(
    ("folder", "fs"), [("qixiuai-psg-5min", 500.0), ("sadek-mfos-18min", 50.0)]
)
def test_real_recordings_at_their_own_rates_stream_identically(folder, fs, sliced, monkeypatch):
    # other rates cut chunks at other quanta (500 Hz: 50-sample blocks, 2000-sample
    # windows; 50 Hz: 5 and 200) and slices at other units (40 s at both): the
    # equality must hold there too, on real signals (sliced: 2-minute cores, 1 min
    # of context)
    from conftest import require_shared

    if sliced:
        import sleepsignal._track_slices as slices
        import sleepsignal.tracks as tracks

        monkeypatch.setattr(tracks, "SLICED_ABOVE_S", 60.0)
        monkeypatch.setattr(slices, "SLICE_CORE_S", 120.0)
        monkeypatch.setattr(slices, "SLICE_MARGIN_S", 60.0)

    d = require_shared(folder)
    if folder.startswith("qixiuai"):
        x = np.loadtxt(d / "bcg_500hz.txt")
    else:
        import pandas as pd

        x = pd.read_csv(d / "sample_data.csv")["raw_data_sleepMat"].to_numpy(dtype=float)
    frame = round(0.2 * fs)
    x = x[: len(x) // frame * frame].astype(np.float32)
    ref = session_tracks(Session.from_array(x, fs, start=1.7e9, timezone="UTC"))
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.integers(0, len(x), 9))
    out = stream_tracks(iter(np.split(x, cuts)), fs, chunk_s=37.0, heartbeats=False)
    _assert_tracks_equal(ref, out.tracks)
    assert len(ref.respiration_cycles) > 20


def test_partial_last_frame_is_refused_or_trimmed_like_read_session(night, tmp_path):
    from sleepsignal.errors import SleepSignalWarning

    path = write_session(night.session, tmp_path / "s" / "session.json")
    blob = open_blob(path).path
    blob.write_bytes(blob.read_bytes() + b"\x00\x80" * 5)  # 5 samples of a partial frame
    with pytest.raises(DecodeError, match="trim_partial_frames=True"):
        stream_session_tracks(path)
    with pytest.warns(SleepSignalWarning, match="partial last frame"):
        out = stream_session_tracks(path, heartbeats=False, trim_partial_frames=True)
    assert out.n_samples == len(night.session.sampled_tracks["normal"].data)


def test_open_blob_leaves_every_blob_on_disk(night, tmp_path, monkeypatch):
    """Opening the noise blob checks the normal one but never reads it."""
    import sleepsignal.io.beddit as beddit

    path = write_session(night.session, tmp_path / "s" / "session.json")
    read: list[str] = []
    real = beddit._resolve_blob

    def spy(name, *args, **kwargs):
        read.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(beddit, "_resolve_blob", spy)
    blob = open_blob(path, "noise")
    assert blob.n_samples == len(night.session.sampled_tracks["noise"].data)
    assert read == []


# --- memory: joins by moving, heap release, snoring slices ----------------------


def test_move_join_and_release_leave_tracks_identical(night, whole, monkeypatch):
    """The move-join of the chunks' features with the heap released after every item,
    and the release after each day slice (slices scaled down), change no bit."""
    import sleepsignal._stream_kernels as kernels
    import sleepsignal._track_slices as slices
    import sleepsignal.tracks as tracks

    calls = []
    real = kernels._release_freed_memory
    monkeypatch.setattr(streaming, "_release_freed_memory", lambda: calls.append(1) or real())
    monkeypatch.setattr(slices, "_release_freed_memory", lambda: calls.append(2) or real())
    monkeypatch.setattr(streaming, "_TRIM_EVERY_BYTES", 1)  # release after every item
    x = night.session.sampled_tracks["normal"].data
    noise = night.session.sampled_tracks["noise"].data
    out = stream_tracks(
        iter(np.array_split(x, 9)), FS, noise=noise, noise_fs=10.0, chunk_s=9.0, heartbeats=False
    )
    _assert_tracks_equal(whole[0], out.tracks)
    assert calls.count(1) > 100  # the one piece: after each of ~170 chunk parts moved
    assert 2 not in calls
    calls.clear()
    monkeypatch.setattr(tracks, "SLICED_ABOVE_S", 300.0)
    monkeypatch.setattr(slices, "SLICE_CORE_S", 480.0)
    monkeypatch.setattr(slices, "SLICE_MARGIN_S", 120.0)
    out = stream_tracks(
        iter(np.array_split(x, 9)), FS, noise=noise, noise_fs=10.0, chunk_s=9.0, heartbeats=False
    )
    assert calls.count(2) == 4  # after each slice
    _assert_tracks_equal(session_tracks(night.session), out.tracks)


def test_move_join_equals_concatenate_and_empties_the_list():
    rng = np.random.default_rng(5)
    items = [
        (rng.normal(size=n), rng.integers(0, 9, size=n), rng.normal(size=(n // 2, 3)))
        for n in (0, 4, 1, 10)
    ]
    want = [np.concatenate([it[f] for it in items]) for f in range(3)]
    got = streaming._move_join(list(items))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    left = list(items)
    streaming._move_join(left)
    assert left == []


def test_release_freed_memory_runs_anywhere():
    from sleepsignal._stream_kernels import _release_freed_memory

    _release_freed_memory()  # glibc: malloc_trim(0); elsewhere a no-op
    _release_freed_memory()


@pytest.mark.parametrize("slice_s", [30.0, 90.0, 600.0])
def test_snoring_slices_do_not_change_the_events(night, slice_s, monkeypatch):
    """The noise track is visited SLICE_S at a time for memory only: the events, the
    per-cycle flags and the count of invalid values are the same for any slice."""
    import sleepsignal.snoring as snoring

    ref = _whole()[0].details.snoring
    assert ref is not None and len(ref.starts) > 0  # the night snores
    breathing = _whole()[0].details.breathing
    noise = night.session.sampled_tracks["noise"].data
    monkeypatch.setattr(snoring, "SLICE_S", slice_s)
    got = snoring.detect_snoring(noise, 10.0, breathing)
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_array_equal(a, b)


def test_noise_read_late_is_checked_and_trimmed_like_read_session(night, tmp_path, monkeypatch):
    """The noise blob is read only when snoring runs, but checked at the start (a bad
    blob fails before a week is streamed) and trimmed as read_session trims it."""
    from sleepsignal.errors import SleepSignalWarning

    path = write_session(night.session, tmp_path / "s" / "session.json")
    blob = open_blob(path, "noise").path
    blob.write_bytes(blob.read_bytes() + np.float32(3.0).tobytes())  # half a frame
    with monkeypatch.context() as m:
        m.setattr(streaming, "_stream", lambda *a: pytest.fail("streamed before the check"))
        with pytest.raises(DecodeError, match="noise"):
            stream_session_tracks(path, heartbeats=False)
    with pytest.warns(SleepSignalWarning, match="partial last frame"):
        out = stream_session_tracks(path, heartbeats=False, trim_partial_frames=True)
    with pytest.warns(SleepSignalWarning, match="partial last frame"):
        ref = session_tracks(read_session(path, trim_partial_frames=True))
    _assert_tracks_equal(ref, out.tracks)
    assert out.tracks.snoring_events is not None and len(out.tracks.snoring_events) > 0


# --- recordings over a day: pass 2 in day slices, lagged behind pass 1 -----------------


@pytest.fixture
def small_slices(monkeypatch):
    """Day slices scaled down so that the 25-minute night is a "long" recording: cores
    of 8 min with 2 min of context (4 slices, the last one 1 min), heartbeat cores of
    5 min, so pass 2 runs slices while the stream is still reading."""
    import sleepsignal._track_slices as slices
    import sleepsignal.tracks as tracks

    monkeypatch.setattr(tracks, "SLICED_ABOVE_S", 300.0)
    monkeypatch.setattr(slices, "SLICE_CORE_S", 480.0)
    monkeypatch.setattr(slices, "SLICE_MARGIN_S", 120.0)
    monkeypatch.setattr(streaming, "HEARTBEAT_CORE_S", 300.0)
    return slices


@settings(max_examples=15)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=0, max_size=10),
    st.sampled_from([5.0, 61.0, 300.0]),
)
def test_sliced_tracks_equal_session_tracks_for_random_chunk_boundaries(fractions, chunk_s):
    import sleepsignal._track_slices as slices
    import sleepsignal.tracks as tracks

    night = _night()
    x = night.session.sampled_tracks["normal"].data
    noise = night.session.sampled_tracks["noise"].data
    with pytest.MonkeyPatch.context() as m:  # hypothesis: no function-scoped fixture
        m.setattr(tracks, "SLICED_ABOVE_S", 300.0)
        m.setattr(slices, "SLICE_CORE_S", 480.0)
        m.setattr(slices, "SLICE_MARGIN_S", 120.0)
        whole = session_tracks(night.session)
        out = stream_tracks(
            iter(np.split(x, _cuts(len(x), fractions))),
            FS,
            noise=noise,
            noise_fs=10.0,
            chunk_s=chunk_s,
            heartbeats=False,
        )
    _assert_tracks_equal(whole, out.tracks)
    for a, b in zip(whole.details, out.tracks.details, strict=True):
        for fa, fb in zip(a, b, strict=True):
            np.testing.assert_array_equal(fa, fb)


def test_sliced_stream_with_heartbeats_runs_behind_pass_1_in_bounded_memory(
    night, small_slices, monkeypatch
):
    """With heartbeats, a slice runs once pass 1 and the beats are past its context; the
    features held never span more than a slice, its context, the heartbeats' lag and a
    chunk; the tracks equal session_tracks given the streamed beats, exactly."""
    held: list[int] = []
    ran_at: list[int] = []
    real_run = small_slices._SlicedPass2._run

    def run(self, n, last):
        held.append(self.n_scanned - self.starts[0])
        ran_at.append(self.n_scanned)
        real_run(self, n, last)

    monkeypatch.setattr(small_slices._SlicedPass2, "_run", run)
    x = night.session.sampled_tracks["normal"].data
    noise = night.session.sampled_tracks["noise"].data
    chunk_s = 60.0
    out = stream_tracks(
        iter(np.array_split(x, 13)), FS, noise=noise, noise_fs=10.0, chunk_s=chunk_s
    )
    assert out.heartbeats is not None
    assert len(ran_at) == 4  # 8-minute cores of 25 minutes
    assert ran_at[0] < len(x)  # the first slice ran while the stream was reading
    lag = 2 * 300.0 + streaming.HEARTBEAT_OVERLAP_S + small_slices.BEAT_MARGIN_S
    bound = (480.0 + 2 * 120.0 + lag + chunk_s) * FS
    assert max(held) <= bound
    ref = session_tracks(night.session, beat_times=out.heartbeats.beat_times)
    _assert_tracks_equal(ref, out.tracks)


def test_sliced_noise_with_missing_values_notes_and_warns_like_one_piece(
    night, small_slices, monkeypatch
):
    import sleepsignal.tracks as tracks
    from sleepsignal.errors import SleepSignalWarning

    x = night.session.sampled_tracks["normal"].data
    noise = night.session.sampled_tracks["noise"].data.copy()
    noise[1000:1100] = np.nan  # in the first slice's core
    noise[9000] = -1.0  # in the third
    with pytest.warns(SleepSignalWarning, match="101 of 15000") as sliced_warned:
        out = stream_tracks(x, FS, noise=noise, noise_fs=10.0, heartbeats=False)
    monkeypatch.setattr(tracks, "SLICED_ABOVE_S", 24 * 3600.0)
    with pytest.warns(SleepSignalWarning, match="101 of 15000") as one_warned:
        one = stream_tracks(x, FS, noise=noise, noise_fs=10.0, heartbeats=False)
    assert out.tracks.notes == one.tracks.notes
    # both warnings point at the caller's line, not inside the package
    assert [w.filename for w in sliced_warned] == [__file__]
    assert [w.filename for w in one_warned] == [__file__]
    assert any("101 of 15000" in note for note in out.tracks.notes)


def test_sliced_tracks_are_near_the_one_piece_tracks(night, whole, small_slices):
    """Slices of 8 min with 2 min of context (the real ones: 24 h and 1 h) still give
    nearly the tracks of one piece: the floors and medians are local enough."""
    sliced = session_tracks(night.session)
    one = whole[0]
    for name in ("presence", "sensor_status"):
        a, b = getattr(one, name), getattr(sliced, name)
        np.testing.assert_array_equal(a.values, b.values, err_msg=name)
    # the state changes may move by a window or two (measured: the return to bed
    # 755 -> 765 s), not more
    wa, wb = one.details.presence.window_states, sliced.details.presence.window_states
    assert len(wa) == len(wb) and np.sum(wa != wb) <= 3, np.sum(wa != wb)
    ca, cb = one.respiration_cycles.times, sliced.respiration_cycles.times
    i = np.clip(np.searchsorted(cb, ca), 1, len(cb) - 1)
    near = np.minimum(np.abs(cb[i] - ca), np.abs(cb[i - 1] - ca))
    assert np.mean(near < 0.01) >= 0.98, np.mean(near < 0.01)  # measured 0.995


def test_short_slices_under_the_threshold_leave_the_stream_one_piece(night, whole, monkeypatch):
    """Slices shorter than the one-piece threshold (a tuning of SLICE_CORE_S alone) must
    not run while the stream reads a recording that turns out to be one piece: it would
    have dropped the features the one piece needs."""
    import sleepsignal._track_slices as slices

    monkeypatch.setattr(slices, "SLICE_CORE_S", 480.0)
    monkeypatch.setattr(slices, "SLICE_MARGIN_S", 120.0)
    x = night.session.sampled_tracks["normal"].data
    nz = night.session.sampled_tracks["noise"].data
    out = stream_tracks(x, FS, noise=nz, noise_fs=10.0, chunk_s=60.0, heartbeats=False)
    _assert_tracks_equal(whole[0], out.tracks)


@pytest.mark.parametrize("sliced", [False, True])
@pytest.mark.parametrize("bad", ["2-D", "complex", "text", "scalar"], ids=lambda b: f"noise-{b}")
def test_bad_noise_is_a_signal_error_in_one_piece_and_in_slices(
    night, small_slices, monkeypatch, sliced, bad
):
    import sleepsignal.tracks as tracks

    if not sliced:  # the night is one piece again
        monkeypatch.setattr(tracks, "SLICED_ABOVE_S", 24 * 3600.0)
    x = night.session.sampled_tracks["normal"].data
    nz = night.session.sampled_tracks["noise"].data
    noise = {
        "2-D": nz[:, None],
        "complex": nz.astype(complex),
        "text": nz.astype(str),
        "scalar": np.float32(1.0),
    }[bad]
    with pytest.raises(SignalError, match="noise must be a 1-D array of real"):
        stream_tracks(x, FS, noise=noise, noise_fs=10.0, heartbeats=False)


@pytest.mark.parametrize("extra", [28, 560, 1120 * 7, 120 * 140 + 28])
def test_sliced_last_slice_of_any_length(night, small_slices, monkeypatch, extra):
    """A recording just past a slice core (a frame, a status window, a few chunks, the
    whole context and a frame): the last slice is tiny or cut short; stream and
    session_tracks agree exactly and every window is kept once."""
    import sleepsignal.tracks as tracks
    from sleepsignal._track_kernels import _coerce_signal

    # cores of 920 s: the last seam falls in bed (the night's bed exit is 300-755 s),
    # where breathing, snoring and movements have something to cut
    monkeypatch.setattr(small_slices, "SLICE_CORE_S", 920.0)
    x = night.session.sampled_tracks["normal"].data[: round(920 * FS) + extra]
    noise = night.session.sampled_tracks["noise"].data[: len(x) // 14]
    out = stream_tracks(
        iter(np.array_split(x, 5)), FS, noise=noise, noise_fs=10.0, heartbeats=False
    )
    # what session_tracks runs on a session holding these samples
    xc = _coerce_signal(x, "normal track")
    whole = tracks._tracks_from_scan(tracks._scan_part(xc, FS, 0), FS, len(x), (noise, 10.0), [])
    _assert_tracks_equal(whole, out.tracks)
    details = out.tracks.details
    assert len(details.sensor_status.window_status) == len(x) // 560
    assert len(details.presence.window_states) == len(x) // 14 // 50
    assert out.tracks.presence.times[-1] == pytest.approx(len(x) // 14 / 10.0)
    assert np.any(out.tracks.respiration_cycles.times > 900.0)  # cycles at the seam


# --- slices at any rate: breathing on the recording's 30 s frames ----------------------


def _cycles_matched(a: np.ndarray, b: np.ndarray, tol: float) -> float:
    """Share of the times ``a`` with a time of ``b`` within ``tol`` s."""
    i = np.clip(np.searchsorted(b, a), 1, len(b) - 1)
    near = np.minimum(np.abs(b[i] - a), np.abs(b[i - 1] - a))
    return float(np.mean(near < tol))


@pytest.mark.parametrize(("fs", "minutes"), [(55.0, 25), (75.0, 55), (135.0, 25), (140.0, 25)])
def test_sliced_breathing_keeps_the_recording_frames_at_any_rate(fs, minutes, monkeypatch):
    """Issue 7 review: slice starts are multiples of ``_slice_unit(fs)``, which at 191 of
    the rates 50-2000 Hz (55, 75, 135 Hz; not 140) are not on the 30 s breathing frames;
    breathing's frame classes then depended on where a slice starts. Each slice's
    breathing now starts on the recording's frame grid, and the cycles of small slices
    are those of one piece. Measured before the fix: slice starts off the frame grid by
    110 (55 Hz), 50 (75 Hz) and 137 / 122 / 107 (135 Hz) low-rate samples, and 0.980 /
    1.0 / 0.918 / 1.0 of the one-piece cycles had a sliced one within 1e-6 s at 55 / 75 /
    135 / 140 Hz (at 75 Hz no cycle of this night moved); after, 1.0 at all four."""
    import sleepsignal._track_slices as slices
    import sleepsignal.respiration as resp
    import sleepsignal.tracks as tracks
    from sleepsignal.mains import _scan_sizes
    from sleepsignal.simulate import simulate_night

    night = simulate_night(minutes / 60, seed=11, fs=fs, bed_exits=0, sleep_onset=60.0)
    one = session_tracks(night.session)
    monkeypatch.setattr(tracks, "SLICED_ABOVE_S", 300.0)
    monkeypatch.setattr(slices, "SLICE_CORE_S", 480.0)
    monkeypatch.setattr(slices, "SLICE_MARGIN_S", 120.0)
    starts: list[int] = []
    real = slices._breathing_part

    def spy(low, fs_low, *args):
        starts.append(args[3])  # s0: the piece's first low-rate sample in the recording
        return real(low, fs_low, *args)

    monkeypatch.setattr(slices, "_breathing_part", spy)
    sliced = session_tracks(night.session)
    q = _scan_sizes(fs)[0]
    frame = round(resp.SELECT_FRAME_S * fs / q)
    assert len(starts) >= 3  # (75 Hz: 1504 s units, so 55 min for a third slice)
    assert [s % frame for s in starts] == [0] * len(starts)
    ca, cb = one.respiration_cycles.times, sliced.respiration_cycles.times
    assert len(ca) > 250
    assert _cycles_matched(ca, cb, 1e-6) >= 0.995


@settings(max_examples=300, deadline=None)
@given(
    st.integers(10, 400).map(lambda k: 5.0 * k),  # the rates simulate_night takes
    st.floats(60.0, 30 * 3600.0),
    st.floats(0.0, 2 * 3600.0),
    st.integers(0, 30),
)
def test_every_slice_breathes_on_the_recording_frame_grid(fs, core_s, margin_s, k):
    """Property over rates and slice placements (core and context lengths, which
    slice): the windows a slice keeps tile the recording's (start on the slice unit),
    and its breathing starts inside its context, before its core, on a low-rate sample
    where the recording's 30 s frames, 30 s scale blocks and beat-interval grid start,
    with at least the context asked for minus one breathing unit (<= ~120 s) before
    the core; its noise is read from a 30 s block of snoring's baseline."""
    import sleepsignal._track_slices as slices
    import sleepsignal.respiration as resp

    with pytest.MonkeyPatch.context() as m:
        m.setattr(slices, "SLICE_CORE_S", core_s)
        m.setattr(slices, "SLICE_MARGIN_S", margin_s)
        eng = slices._SlicedPass2(fs, "no noise", False)
    q, fs_low = eng.q, eng.fs_low
    unit = slices._slice_unit(fs)
    c0, c1, a, b, ab = eng._bounds(k, (k + 2) * eng.core, last=False)
    assert c0 % unit == 0 and a % unit == 0
    assert a <= ab <= c0 < c1 <= b
    assert ab % q == 0
    s0 = ab // q
    assert s0 % round(resp.SELECT_FRAME_S * fs_low) == 0  # the frames
    assert s0 % round(30.0 * fs_low) == 0  # the scale blocks of _local_scale
    assert s0 % resp.RSA_DECIMATE == 0  # the beat-interval grid
    assert ab - a < resp._slice_unit(fs_low) * q <= 120.5 * fs
    assert c0 - ab >= min(c0, round(margin_s * fs) - resp._slice_unit(fs_low) * q)
    # snoring's 30 s baseline blocks of the noise (at 10 Hz, as Beddit writes it)
    lo = slices._noise_start(a, 10.0 / fs, 10.0)
    assert lo % 300 == 0 and 0 <= lo - round(a * 10.0 / fs) < 300
