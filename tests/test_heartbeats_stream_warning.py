"""The fast-heart (wrong fs) warning of a stream of segments: once per stream."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_heartbeats import bcg, rr_series

from sleepsignal import streaming
from sleepsignal.errors import SleepSignalWarning
from sleepsignal.heartbeats import detect_heartbeats


def test_wrong_fs_warns_once_per_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 140 Hz signal declared as 500 Hz, streamed in 100 s segments (3 of them): each
    segment's check removes intervals, the stream warns once, in ``finish()``, with the
    summed count; a segment alone (the public function) warns once too."""
    monkeypatch.setattr(streaming, "HEARTBEAT_CORE_S", 100.0)
    monkeypatch.setattr(streaming, "HEARTBEAT_OVERLAP_S", 10.0)
    x, _ = bcg(rr_series(1500, seed=0))
    fs = 500.0
    sunk: list[float] = []
    stream = streaming._HeartbeatStream(fs, lambda bt, upto: sunk.append(upto))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for block in np.array_split(x, 37):
            stream.feed(block)
        assert rec == []  # nothing before finish()
        hb = stream.finish()
    assert len(sunk) >= 4  # three segments ran (the last takes the tail), then the end
    assert [w.category for w in rec] == [SleepSignalWarning]
    assert "fs=500 Hz" in str(rec[0].message)
    assert stream.fast_heart is not None and stream.fast_heart.lost > 0
    assert f" {stream.fast_heart.lost} beat-to-beat intervals" in str(rec[0].message)
    assert hb.length_reliable.sum() <= 3
    # one segment through the public function: its own single warning
    with warnings.catch_warnings(record=True) as one:
        warnings.simplefilter("always")
        detect_heartbeats(x[: 100 * 500], fs)
    assert [w.category for w in one] == [SleepSignalWarning]


def test_right_fs_stream_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest turns a warning into an error."""
    monkeypatch.setattr(streaming, "HEARTBEAT_CORE_S", 100.0)
    monkeypatch.setattr(streaming, "HEARTBEAT_OVERLAP_S", 10.0)
    x, _ = bcg(rr_series(600, seed=0))
    stream = streaming._HeartbeatStream(140.0, lambda bt, upto: None)
    stream.feed(x)
    hb = stream.finish()
    assert stream.fast_heart is None
    assert hb.reliable.mean() > 0.9
