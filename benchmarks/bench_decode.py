"""Decoding speed: a whole night of Beddit blobs and a BT2 capture, against reading bytes.

Run for real with ``pytest benchmarks/bench_decode.py --benchmark-enable``; in the normal
test run benchmarks are disabled and each body runs once as a smoke test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sleepsignal.io import read_bt2, read_session, write_bt2

FS = 140.0
HOURS = {"5min": 5 / 60, "1h": 1.0, "8h": 8.0}


@pytest.fixture(scope="module", params=list(HOURS), ids=list(HOURS))
def night_dir(request, tmp_path_factory) -> Path:
    hours = HOURS[request.param]
    n_frames = int(hours * 3600 / 0.2)
    folder = tmp_path_factory.mktemp(f"night{request.param}")
    rng = np.random.default_rng(0)
    (folder / "normal.bin").write_bytes(
        rng.integers(30000, 35000, n_frames * 28).astype("<u2").tobytes()
    )
    (folder / "noise.bin").write_bytes(rng.random(n_frames * 2).astype("<f4").tobytes())
    obj = {
        "id": 1,
        "start_timestamp": 1.7e9,
        "end_timestamp": 1.7e9 + n_frames * 0.2,
        "frame_length": 0.2,
        "sampled_tracks": {
            "normal": {"samples_per_frame": 28, "data_url": "normal.bin", "data_type": "uint16"},
            "noise": {"samples_per_frame": 2, "data_url": "noise.bin", "data_type": "float32"},
        },
        "time_value_tracks": {},
    }
    (folder / "session.json").write_text(json.dumps(obj))
    return folder


def test_read_bytes_floor(benchmark, night_dir: Path) -> None:
    """The floor: reading the blob bytes and nothing else."""
    benchmark(
        lambda: ((night_dir / "normal.bin").read_bytes(), (night_dir / "noise.bin").read_bytes())
    )


def test_read_session(benchmark, night_dir: Path) -> None:
    s = benchmark(read_session, night_dir / "session.json")
    assert s.sampled_tracks["normal"].fs == pytest.approx(FS)


def test_decode_to_float32(benchmark, night_dir: Path) -> None:
    s = read_session(night_dir / "session.json")
    x, fs = benchmark(s.signal)
    assert x.dtype == np.float32 and fs == pytest.approx(FS)


@pytest.mark.parametrize("minutes", [5, 60])
def test_read_bt2(benchmark, minutes: int) -> None:
    rng = np.random.default_rng(1)
    raw = write_bt2(rng.integers(0, 65536, (int(minutes * 60 * FS), 2)).astype(np.uint16))
    s = benchmark(read_bt2, raw)
    assert s.issues == ()
